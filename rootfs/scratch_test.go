package rootfs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The tests run the "container" side for real: a shell in a new user + mount namespace
// mounts ProjectMount() over the project path (like libcontainer does) and changes files
// there. As root, the namespace's root is the unprivileged host uid testRootUID (as
// phylum-box does when run by root); as an ordinary user, it is that user (rootless).
//
// Run as root and as a throwaway user:
//
//	go test -c -race -o /tmp/rt/rootfs.test ./rootfs/ && chmod 755 /tmp/rt /tmp/rt/rootfs.test
//	/tmp/rt/rootfs.test -test.v
//	setpriv --reuid=U --regid=U --init-groups /tmp/rt/rootfs.test -test.v

const testRootUID = 100000

type env struct {
	rootUID, rootGID int
	uidMap, gidMap   []specs.LinuxIDMapping
}

func testEnv() env {
	if os.Geteuid() == 0 {
		m := []specs.LinuxIDMapping{{ContainerID: 0, HostID: testRootUID, Size: 65536}}
		return env{testRootUID, testRootUID, m, m}
	}
	u, g := os.Getuid(), os.Getgid()
	return env{u, g, []specs.LinuxIDMapping{{ContainerID: 0, HostID: uint32(u), Size: 1}},
		[]specs.LinuxIDMapping{{ContainerID: 0, HostID: uint32(g), Size: 1}}}
}

// canUserns reports why new user namespaces cannot be made here, or "".
func canUserns() string {
	out, err := exec.Command("unshare", "-Urm", "true").CombinedOutput()
	if err != nil {
		return fmt.Sprintf("cannot create a user+mount namespace here (unshare -Urm: %v %s)", err, bytes.TrimSpace(out))
	}
	return ""
}

// searchableTempDir is a temp dir the container's root (an unprivileged uid when the
// tests run as root) can traverse.
func searchableTempDir(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	for _, p := range []string{filepath.Dir(d), d} {
		if err := os.Chmod(p, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// runInSandbox runs script with cwd = the project, inside a new user+mount namespace in
// which s.ProjectMounts() are mounted over the project path (like libcontainer does:
// an idmapped lower is made as real root, outside the namespace, then the overlay is
// mounted inside it). $PB_LOWER names the idmapped lower, if any. It returns the combined
// output.
func runInSandbox(t *testing.T, s *Scratch, script string) (string, error) {
	t.Helper()
	rootfsDir := filepath.Join(searchableTempDir(t), "root")
	if err := os.Mkdir(rootfsDir, 0o755); err != nil {
		t.Fatal(err)
	}
	ms := s.ProjectMounts(rootfsDir)
	var mounts []string
	lower := ""
	for _, m := range ms {
		switch {
		case m.Type == "bind" && slices.Contains(m.Options, "idmap"):
			lower = rootfsDir + m.Destination
			mountIdmapped(t, m, lower)
		case m.Type == "overlay":
			mounts = append(mounts, fmt.Sprintf("mount -t overlay overlay -o '%s' '%s'", strings.Join(m.Options, ","), m.Destination))
		case m.Type == "bind":
			mounts = append(mounts, fmt.Sprintf("mount --rbind '%s' '%s'", m.Source, m.Destination))
		default:
			t.Fatalf("unexpected mount type %q", m.Type)
		}
	}
	dest := ms[len(ms)-1].Destination
	full := "set -e; mount --make-rprivate /; " + strings.Join(mounts, "; ") + "; cd '" + dest + "'; set +e; " + script
	cmd := exec.Command("/bin/sh", "-c", full)
	cmd.Dir = "/"
	cmd.Env = append(os.Environ(), "PB_LOWER="+lower)
	e := testEnv()
	attr := &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
		Credential: &syscall.Credential{Uid: 0, Gid: 0}}
	for _, x := range e.uidMap {
		attr.UidMappings = append(attr.UidMappings, syscall.SysProcIDMap{ContainerID: int(x.ContainerID), HostID: int(x.HostID), Size: int(x.Size)})
	}
	for _, x := range e.gidMap {
		attr.GidMappings = append(attr.GidMappings, syscall.SysProcIDMap{ContainerID: int(x.ContainerID), HostID: int(x.HostID), Size: int(x.Size)})
	}
	if os.Geteuid() != 0 {
		attr.GidMappingsEnableSetgroups = false
	}
	cmd.SysProcAttr = attr
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// mountIdmapped mounts m.Source at dst (in this mount namespace, until the test ends) as
// an idmapped read-only, nosuid, nodev bind with m's id maps, as libcontainer does for a
// bind with the "idmap" option.
func mountIdmapped(t *testing.T, m specs.Mount, dst string) {
	t.Helper()
	src := m.Source
	ns, err := usernsWithMap(m.UIDMappings, m.GIDMappings)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	fd, err := unix.OpenTree(unix.AT_FDCWD, src, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := idmapDetached(fd, ns); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.MoveMount(fd, "", unix.AT_FDCWD, dst, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		t.Fatalf("move_mount %s: %v", dst, err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dst, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dst, err)
		}
	})
}

// hashTree hashes names, types, permissions, owners, symlink targets and contents of a
// tree, so "byte-identical" can be asserted.
func hashTree(t *testing.T, root string) string {
	t.Helper()
	h := sha256.New()
	var lines []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		line := fmt.Sprintf("%s %o %d:%d", rel, st.Mode, st.Uid, st.Gid)
		switch fileTypeOf(st.Mode) {
		case TypeRegular:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			line += " " + hex.EncodeToString(sum[:]) + fmt.Sprintf(" %d", st.Mtim.Nano())
		case TypeSymlink:
			l, _ := os.Readlink(p)
			line += " -> " + l
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	for _, l := range lines {
		h.Write([]byte(l + "\n"))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TestOverlayInUserns proves which overlay options work for an unprivileged mount in a
// user namespace on this kernel and how the upper dir then records deletions and
// replaced dirs, by mounting one for real and reading the upper with Changes.
func TestOverlayInUserns(t *testing.T) {
	if why := canUserns(); why != "" {
		t.Skip(why)
	}
	base := searchableTempDir(t)
	project := filepath.Join(base, "project")
	writeTree(t, project, map[string]string{
		"keep.txt": "keep", "gone.txt": "gone", "edit.txt": "old",
		"dir/a": "a", "dir/b": "b", "rmdir/x": "x", "same.txt": "same",
	})
	e := testEnv()
	chownTree(t, project, e.rootUID, e.rootGID)
	s, err := NewScratch(context.Background(), ScratchOptions{Project: project, StateDir: filepath.Join(base, "state"),
		RootUID: e.rootUID, RootGID: e.rootGID, UIDMappings: e.uidMap, GIDMappings: e.gidMap, Mode: ModeOverlay})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, err := runInSandbox(t, s, `
		grep " `+project+` " /proc/self/mounts
		rm gone.txt && echo new > edit.txt && rm -r rmdir && rm -r dir && mkdir dir && echo c > dir/c &&
		mkdir -p fresh/sub && echo n > fresh/sub/n && ln -s keep.txt link && touch same.txt && cat keep.txt >/dev/null`)
	t.Logf("inside:\n%s", out)
	if err != nil {
		t.Fatalf("sandboxed script failed: %v", err)
	}
	if !strings.Contains(out, "userxattr") {
		t.Errorf("mount options in /proc/self/mounts lack userxattr: %s", out)
	}
	// Raw upper: whiteouts are 0/0 char devices, the replaced dir carries
	// user.overlay.opaque=y (not trusted.*).
	up := s.upperDir()
	for _, w := range []string{"gone.txt", "rmdir"} {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(up, w), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
			t.Errorf("upper %s: want a 0/0 char device whiteout, got mode %o rdev %d err %v", w, st.Mode, st.Rdev, err)
		}
	}
	buf := make([]byte, 16)
	n, err := unix.Lgetxattr(filepath.Join(up, "dir"), "user.overlay.opaque", buf)
	if err != nil || string(buf[:n]) != "y" {
		t.Errorf("upper dir: want user.overlay.opaque=y, got %q %v", buf[:n], err)
	}
	if _, err := unix.Lgetxattr(filepath.Join(up, "dir"), "trusted.overlay.opaque", buf); err == nil {
		t.Errorf("upper dir has trusted.overlay.opaque: the mount did not use userxattr")
	}
	cs, err := s.Changes()
	if err != nil {
		t.Fatal(err)
	}
	got := describe(cs)
	want := []string{
		"added dir fresh", "added dir fresh/sub", "added file fresh/sub/n",
		"added symlink link -> keep.txt",
		"deleted dir rmdir", "deleted file gone.txt",
		"modified dir dir (replaces dir)", "added file dir/c",
		"modified file edit.txt",
	}
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("change set:\n got %q\nwant %q", got, want)
	}
}

func describe(cs *ChangeSet) []string {
	var out []string
	for _, c := range cs.Changes {
		out = append(out, c.String())
	}
	sort.Strings(out)
	return out
}

func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func chownTree(t *testing.T, root string, uid, gid int) {
	t.Helper()
	if os.Geteuid() != 0 {
		return
	}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestAutoMode(t *testing.T) {
	base := searchableTempDir(t)
	project := filepath.Join(base, "project")
	writeTree(t, project, map[string]string{"a": "a"})
	e := testEnv()
	s, err := NewScratch(context.Background(), ScratchOptions{Project: project, StateDir: filepath.Join(base, "state"),
		RootUID: e.rootUID, RootGID: e.rootGID, UIDMappings: e.uidMap, GIDMappings: e.gidMap})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// As root the project is root's, which is not mapped into the namespace: overlay
	// copy-up would fail with EOVERFLOW with the project itself as the lower, so Auto
	// must pick an idmapped lower.
	if s.Mode() != ModeOverlay || s.Idmapped() != (os.Geteuid() == 0) {
		t.Errorf("auto mode = %v idmapped=%v (%s), want overlay, idmapped when root", s.Mode(), s.Idmapped(), s.ModeReason())
	}
	if within(project, s.Dir()) {
		t.Errorf("scratch dir %s is inside the project", s.Dir())
	}
}

func TestNewScratchRejects(t *testing.T) {
	base := t.TempDir()
	project := filepath.Join(base, "project")
	writeTree(t, project, map[string]string{"a": "a"})
	if err := os.Symlink(project, filepath.Join(base, "link")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, project, state string }{
		{"relative", "project", ""},
		{"through symlink", filepath.Join(base, "link"), filepath.Join(base, "st")},
		{"state inside project", project, filepath.Join(project, "state")},
		{"not a dir", filepath.Join(project, "a"), filepath.Join(base, "st")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewScratch(context.Background(), ScratchOptions{Project: tc.project, StateDir: tc.state, Mode: ModeCopy,
				RootUID: os.Getuid(), RootGID: os.Getgid()})
			if err == nil {
				s.Close()
				t.Fatal("NewScratch accepted it")
			}
			t.Log(err)
		})
	}
}

// TestAutoModeUnreachableProject: as root, the container's root is an unprivileged uid
// that must be able to search every dir down to the project to mount the overlay.
func TestAutoModeUnreachableProject(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the container's root is then another uid than the caller")
	}
	base := searchableTempDir(t)
	private := filepath.Join(base, "private")
	project := filepath.Join(private, "project")
	writeTree(t, project, map[string]string{"a": "a"})
	e := testEnv()
	chownTree(t, project, e.rootUID, e.rootGID)
	if err := os.Chmod(private, 0o700); err != nil {
		t.Fatal(err)
	}
	o := ScratchOptions{Project: project, StateDir: filepath.Join(base, "state"),
		RootUID: e.rootUID, RootGID: e.rootGID, UIDMappings: e.uidMap, GIDMappings: e.gidMap}
	s, err := NewScratch(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if s.Mode() != ModeCopy || !strings.Contains(s.ModeReason(), "cannot search "+private) {
		t.Errorf("mode %v (%s), want copy because %s is private", s.Mode(), s.ModeReason(), private)
	}
	s.Close()
	if err := os.Chmod(private, 0o711); err != nil {
		t.Fatal(err)
	}
	s, err = NewScratch(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Mode() != ModeOverlay {
		t.Errorf("mode %v (%s), want overlay once %s is searchable", s.Mode(), s.ModeReason(), private)
	}
}

// TestIdmappedOverlay: as real root, a project whose owner (root, a devcontainer's 1000)
// is not mapped into the container is the overlay's lower through an idmapped read-only
// bind that shows its owner as the container's root. The run reads it, writes land in the
// upper (owned by the container's root), deletions become whiteouts, the lower cannot be
// written, the host project is untouched until SyncBack, which applies the changes with
// the owner's ids.
func TestIdmappedOverlay(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("idmapped mounts need real root")
	}
	if why := canUserns(); why != "" {
		t.Skip(why)
	}
	for _, owner := range []int{0, 1000} {
		t.Run(fmt.Sprint("owner ", owner), func(t *testing.T) { testIdmappedOverlay(t, owner) })
	}
}

func testIdmappedOverlay(t *testing.T, owner int) {
	base := searchableTempDir(t)
	project := filepath.Join(base, "project")
	writeTree(t, project, map[string]string{
		"keep.txt": "keep", "gone.txt": "gone", "edit.txt": "old", "secret": "s",
		"dir/a": "a", "rmdir/x": "x", "ro/b": "b",
	})
	if err := os.Chmod(filepath.Join(project, "secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	chownTree(t, project, owner, owner)
	e := testEnv()
	s, err := NewScratch(context.Background(), ScratchOptions{Project: project, StateDir: filepath.Join(base, "state"),
		RootUID: e.rootUID, RootGID: e.rootGID, UIDMappings: e.uidMap, GIDMappings: e.gidMap})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Mode() != ModeOverlay || !s.Idmapped() {
		t.Fatalf("mode %v idmapped=%v (%s), want the idmapped overlay", s.Mode(), s.Idmapped(), s.ModeReason())
	}
	before := hashTree(t, project)
	out, err := runInSandbox(t, s, `set -e
		grep -F "$PB_LOWER" /proc/self/mountinfo
		test "$(cat keep.txt)" = keep
		test "$(cat secret)" = s
		test "$(stat -c %u:%g keep.txt)" = 0:0
		echo new > edit.txt
		echo b2 > ro/b
		rm gone.txt
		rm -r rmdir
		echo n > fresh.txt
		mkdir newdir
		for f in "$PB_LOWER/keep.txt" "$PB_LOWER/new"; do
			if echo x 2>/dev/null > "$f"; then echo "wrote $f"; exit 1; fi
		done
		if mkdir "$PB_LOWER/d" 2>/dev/null; then echo "made a dir in the lower"; exit 1; fi
		if chmod 777 "$PB_LOWER/keep.txt" 2>/dev/null; then echo "chmod in the lower"; exit 1; fi
		echo done`)
	t.Logf("inside:\n%s", out)
	if err != nil || !strings.Contains(out, "done") {
		t.Fatalf("sandboxed script failed: %v", err)
	}
	if !strings.Contains(out, " ro,") || !strings.Contains(out, "nosuid") || !strings.Contains(out, "nodev") || !strings.Contains(out, "idmapped") {
		t.Errorf("lower mount is not ro,nosuid,nodev,idmapped: %s", out)
	}
	// A session runs several containers over one scratch, each with its own root dir:
	// the next one sees the changes so far.
	out, err = runInSandbox(t, s, `set -e; test "$(cat edit.txt)" = new; test ! -e gone.txt; test -d newdir; echo again`)
	if err != nil || !strings.Contains(out, "again") {
		t.Fatalf("second run: %v\n%s", err, out)
	}
	if after := hashTree(t, project); after != before {
		t.Fatal("the host project changed during the run")
	}
	up := s.upperDir()
	for _, name := range []string{"edit.txt", "ro/b", "fresh.txt", "newdir"} {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(up, name), &st); err != nil || int(st.Uid) != e.rootUID || int(st.Gid) != e.rootGID {
			t.Errorf("upper %s: owner %d:%d %v, want the container's root %d:%d", name, st.Uid, st.Gid, err, e.rootUID, e.rootGID)
		}
	}
	for _, w := range []string{"gone.txt", "rmdir"} {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(up, w), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
			t.Errorf("upper %s: want a whiteout, got mode %o rdev %d err %v", w, st.Mode, st.Rdev, err)
		}
	}
	rep, err := s.SyncBack(SyncOptions{OwnerUID: -1, OwnerGID: -1})
	if err != nil {
		t.Fatal(err)
	}
	got := describe(&ChangeSet{Changes: rep.Applied})
	want := []string{"added dir newdir", "added file fresh.txt", "deleted dir rmdir", "deleted file gone.txt",
		"modified file edit.txt", "modified file ro/b"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("applied:\n got %q\nwant %q", got, want)
	}
	wantAbsent(t, project, "gone.txt")
	wantAbsent(t, project, "rmdir")
	for name, content := range map[string]string{"edit.txt": "new\n", "ro/b": "b2\n", "fresh.txt": "n\n", "keep.txt": "keep", "newdir": ""} {
		p := filepath.Join(project, name)
		var st unix.Stat_t
		err := unix.Lstat(p, &st)
		var b []byte
		if err == nil && content != "" {
			b, err = os.ReadFile(p)
		}
		if err != nil || string(b) != content || int(st.Uid) != owner || int(st.Gid) != owner {
			t.Errorf("%s: %q owner %d:%d %v, want %q owned by %d:%d", name, b, st.Uid, st.Gid, err, content, owner, owner)
		}
	}
}

// TestIdmappedMixedOwners: an entry of another owner would be read-only to the
// container's root through the idmapped lower (it could write it in the copy): Auto
// takes the copy.
func TestIdmappedMixedOwners(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("idmapped mounts need real root")
	}
	base := searchableTempDir(t)
	project := filepath.Join(base, "project")
	writeTree(t, project, map[string]string{"a": "a", "node_modules/x/index.js": "x"})
	if err := os.Lchown(filepath.Join(project, "node_modules", "x"), 1000, 1000); err != nil {
		t.Fatal(err)
	}
	e := testEnv()
	s, err := NewScratch(context.Background(), ScratchOptions{Project: project, StateDir: filepath.Join(base, "state"),
		RootUID: e.rootUID, RootGID: e.rootGID, UIDMappings: e.uidMap, GIDMappings: e.gidMap})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Mode() != ModeCopy || !strings.Contains(s.ModeReason(), "node_modules/x is owned by 1000:1000") {
		t.Errorf("mode %v (%s), want copy because node_modules/x is 1000's", s.Mode(), s.ModeReason())
	}
}

func TestOwnerAsRoot(t *testing.T) {
	m := func(c, h, n uint32) specs.LinuxIDMapping {
		return specs.LinuxIDMapping{ContainerID: c, HostID: h, Size: n}
	}
	for _, tc := range []struct {
		name  string
		in    []specs.LinuxIDMapping
		owner uint32
		ok    bool
		want  []specs.LinuxIDMapping
	}{
		{"root owner keeps the map", []specs.LinuxIDMapping{m(0, 2e9, 65536)}, 0, true, []specs.LinuxIDMapping{m(0, 2e9, 65536)}},
		{"1000 trades with 0", []specs.LinuxIDMapping{m(0, 2e9, 65536)}, 1000, true,
			[]specs.LinuxIDMapping{m(1, 2e9+1, 999), m(1001, 2e9+1001, 64535), m(1000, 2e9, 1), m(0, 2e9+1000, 1)}},
		{"last id", []specs.LinuxIDMapping{m(0, 2e9, 3)}, 2, true, []specs.LinuxIDMapping{m(1, 2e9+1, 1), m(2, 2e9, 1), m(0, 2e9+2, 1)}},
		{"two extents", []specs.LinuxIDMapping{m(0, 500, 1), m(1, 7000, 10)}, 5, true,
			[]specs.LinuxIDMapping{m(1, 7000, 4), m(6, 7005, 5), m(5, 500, 1), m(0, 7004, 1)}},
		{"owner outside", []specs.LinuxIDMapping{m(0, 2e9, 65536)}, 70000, false, nil},
		{"root only", []specs.LinuxIDMapping{m(0, 100, 1)}, 1000, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ownerAsRoot(tc.in, tc.owner)
			if ok != tc.ok || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v %v, want %v %v", got, ok, tc.want, tc.ok)
			}
			// A bijection: every host id of the input exactly once.
			seen := map[uint32]bool{}
			for _, e := range got {
				for i := uint32(0); i < e.Size; i++ {
					if seen[e.HostID+i] {
						t.Fatalf("host id %d twice", e.HostID+i)
					}
					seen[e.HostID+i] = true
				}
			}
		})
	}
}

// TestIdmappedFallbacks: one mount cannot express the idmapped overlay, so ProjectMount
// (and ProjectMounts given an unusable root dir) switch to the copy before anything ran;
// once the overlay was handed out the mode stays.
func TestIdmappedFallbacks(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("idmapped mounts need real root")
	}
	base := searchableTempDir(t)
	project := filepath.Join(base, "project")
	writeTree(t, project, map[string]string{"a": "a", "d/b": "b"})
	e := testEnv()
	o := ScratchOptions{Project: project, StateDir: filepath.Join(base, "state"),
		RootUID: e.rootUID, RootGID: e.rootGID, UIDMappings: e.uidMap, GIDMappings: e.gidMap}
	for _, tc := range []struct {
		name  string
		mount func(s *Scratch) []specs.Mount
		copy  bool
	}{
		{"ProjectMount", func(s *Scratch) []specs.Mount { return []specs.Mount{s.ProjectMount()} }, true},
		{"relative root", func(s *Scratch) []specs.Mount { return s.ProjectMounts("root") }, true},
		{"colon in root", func(s *Scratch) []specs.Mount { return s.ProjectMounts("/tmp/a:b/root") }, true},
		{"handed out", func(s *Scratch) []specs.Mount {
			s.ProjectMounts("/run/x/root")
			return []specs.Mount{s.ProjectMount()}
		}, false},
		{"ProjectMounts", func(s *Scratch) []specs.Mount { return s.ProjectMounts("/run/x/root") }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewScratch(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if !s.Idmapped() {
				t.Fatalf("want an idmapped overlay, got %v (%s)", s.Mode(), s.ModeReason())
			}
			ms := tc.mount(s)
			if tc.copy {
				if s.Mode() != ModeCopy || len(ms) != 1 || ms[0].Type != "bind" || ms[0].Source != s.stagingDir() {
					t.Fatalf("want the staging copy, got %v %+v", s.Mode(), ms)
				}
				t.Log(s.ModeReason())
				if b, err := os.ReadFile(filepath.Join(s.stagingDir(), "d", "b")); err != nil || string(b) != "b" {
					t.Errorf("staging copy: %q %v", b, err)
				}
				if cs, err := s.Changes(); err != nil || len(cs.Changes) != 0 {
					t.Errorf("changes of an untouched copy: %v %v", cs, err)
				}
				return
			}
			if s.Mode() != ModeOverlay || ms[len(ms)-1].Type != "overlay" {
				t.Fatalf("want the overlay kept, got %v %+v", s.Mode(), ms)
			}
			if tc.name == "ProjectMounts" {
				wantLower := specs.Mount{Destination: IdmappedLower, Type: "bind", Source: project,
					Options: []string{"bind", "ro", "nosuid", "nodev", "idmap"}, UIDMappings: e.uidMap, GIDMappings: e.gidMap}
				if len(ms) != 2 || !reflect.DeepEqual(ms[0], wantLower) || !slices.Contains(ms[1].Options, "lowerdir=/run/x/root"+IdmappedLower) {
					t.Errorf("mounts %+v", ms)
				}
			}
		})
	}
}

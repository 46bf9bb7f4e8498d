package rootfs

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/moby/sys/mountinfo"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Mode says how the project is presented to the container.
type Mode int

const (
	// ModeAuto picks ModeOverlay when this kernel and file system can do it, else ModeCopy.
	ModeAuto Mode = iota
	// ModeOverlay mounts an overlay: lower = the host project (never written), upper = a
	// scratch dir whose content is the run's change set. When phylum-box runs as real root
	// and the project's owner is not mapped into the container, the lower is an idmapped
	// read-only bind of the project (see Idmapped and ProjectMounts).
	ModeOverlay
	// ModeCopy bind-mounts a staging copy of the project; changes are found by comparing
	// the staging tree with a snapshot taken right after the copy.
	ModeCopy
)

func (m Mode) String() string {
	switch m {
	case ModeAuto:
		return "auto"
	case ModeOverlay:
		return "overlay"
	case ModeCopy:
		return "copy"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// OverlayOptions are the overlay mount options besides lowerdir/upperdir/workdir. The
// mount is made by libcontainer inside the container's user namespace, which (measured on
// 6.18, see scratch_test.go) requires:
//   - userxattr: overlay keeps its metadata in user.overlay.* xattrs; trusted.* cannot be
//     set from a user namespace (without it the kernel falls back and cannot mark opaque dirs);
//   - redirect_dir=nofollow: "on"/"follow" (and "off", which still follows) conflict with
//     userxattr; nofollow also means a renamed lower dir is copied up whole (EXDEV to the
//     renamer), so the upper never depends on redirects;
//   - metacopy=off: every copied-up file carries its data in the upper;
//   - index=off: no hard-link index in the workdir (needs file handles anyway).
var OverlayOptions = []string{"userxattr", "index=off", "metacopy=off", "redirect_dir=nofollow"}

// ScratchOptions configure NewScratch.
type ScratchOptions struct {
	Project  string // absolute path, symlinks resolved
	StateDir string // "" = default under the user's cache dir ($XDG_CACHE_HOME/phylum-box/scratch; root: /var/cache/phylum-box/scratch)
	// RootUID and RootGID are the host ids of the container's root; upper, work and
	// staging dirs are chowned to them.
	RootUID, RootGID int
	// UIDMappings and GIDMappings are the container's id maps. nil means only
	// RootUID/RootGID are mapped (to 0). ModeAuto uses them to see whether overlay copy-up
	// can work: it fails (EOVERFLOW) for files whose owner is not mapped.
	UIDMappings, GIDMappings []specs.LinuxIDMapping
	Mode                     Mode
	OnWait                   func(holderPID int) // called once if another run holds this project's lock
}

// Scratch is the per-run scratch state of one project: the overlay upper/work dirs or a
// staging copy, held under the project's lock until Close.
type Scratch struct {
	project  string
	stateDir string
	dir      string // this run's scratch dir: <root>/<key>-<pid>-<rand>
	mode     Mode
	rootUID  int
	rootGID  int
	lock     *projectLock
	snap     map[string]snapEntry // ModeCopy: staging state right after the copy
	why      string               // why ModeAuto chose copy mode ("" for overlay)
	// idmap: ModeOverlay whose lower is an idmapped bind of the project (ProjectMounts),
	// with these maps (on-disk id -> host id).
	idmap                bool
	lowerUIDs, lowerGIDs []specs.LinuxIDMapping
	// handedOut: a project mount was returned, so a container may have written to the
	// upper; the mode must not change any more.
	handedOut bool
	// broken: the late switch to ModeCopy failed; Changes and SyncBack refuse.
	broken error
	// started is the ctime of the scratch dir, taken before the project is looked
	// at: SyncBack refuses to replace or delete a host file changed since then.
	started unix.Timespec
}

func (s *Scratch) upperDir() string   { return filepath.Join(s.dir, "upper") }
func (s *Scratch) workDir() string    { return filepath.Join(s.dir, "work") }
func (s *Scratch) stagingDir() string { return filepath.Join(s.dir, "staging") }

// sourceDir is the tree holding the run's results: the upper dir or the staging copy.
func (s *Scratch) sourceDir() string {
	if s.mode == ModeOverlay {
		return s.upperDir()
	}
	return s.stagingDir()
}

// Mode reports the mode in use (never ModeAuto).
func (s *Scratch) Mode() Mode { return s.mode }

// ModeReason says why ModeAuto, or ProjectMount(s) later (see ProjectMount), fell back to
// ModeCopy ("" when neither did).
func (s *Scratch) ModeReason() string { return s.why }

// Idmapped reports whether the overlay's lower is an idmapped bind of the project (only
// ProjectMounts can express it).
func (s *Scratch) Idmapped() bool { return s.mode == ModeOverlay && s.idmap }

// Dir is this run's scratch dir (for logs).
func (s *Scratch) Dir() string { return s.dir }

// NewScratch takes the project's lock (waiting while another run holds it, until ctx is
// done), removes scratch left by killed runs and prepares this run's scratch dirs.
func NewScratch(ctx context.Context, o ScratchOptions) (*Scratch, error) {
	if !filepath.IsAbs(o.Project) || filepath.Clean(o.Project) != o.Project {
		return nil, fmt.Errorf("project path %q must be absolute and clean", o.Project)
	}
	if real, err := filepath.EvalSymlinks(o.Project); err != nil {
		return nil, fmt.Errorf("project dir: %w", err)
	} else if real != o.Project {
		return nil, fmt.Errorf("project path %s goes through a symlink (it is %s): pass the resolved path", o.Project, real)
	}
	pfi, err := os.Lstat(o.Project)
	if err != nil {
		return nil, fmt.Errorf("project dir: %w", err)
	}
	if !pfi.IsDir() {
		return nil, fmt.Errorf("project %s is not a directory", o.Project)
	}
	stateDir := o.StateDir
	if stateDir == "" {
		if stateDir, err = defaultStateDir(); err != nil {
			return nil, err
		}
	}
	stateDir = filepath.Clean(stateDir)
	if within(o.Project, stateDir) {
		return nil, fmt.Errorf("scratch state dir %s is inside the project %s, where the container would see it: choose another", stateDir, o.Project)
	}
	if err := ensureStateDir(stateDir); err != nil {
		return nil, err
	}
	lock, prev, err := acquireProjectLock(ctx, stateDir, o.Project, o.OnWait)
	if err != nil {
		return nil, err
	}
	s := &Scratch{project: o.Project, stateDir: stateDir, rootUID: o.RootUID, rootGID: o.RootGID, lock: lock}
	ok := false
	defer func() {
		if !ok {
			_ = removeScratchDir(s.dir)
			_ = lock.release()
		}
	}()
	root, _ := scratchRoot(stateDir, o.Project)
	// Both possible roots: an earlier run may have used the other one.
	if err := cleanStale(stateDir, lock.key, prev, o.Project, uniq(stateDir, siblingRoot(o.Project))); err != nil {
		return nil, fmt.Errorf("remove scratch left by an earlier run: %w", err)
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	s.dir = filepath.Join(root, fmt.Sprintf("%s-%d-%s", lock.key, os.Getpid(), hex.EncodeToString(rnd[:])))
	if err := os.Mkdir(s.dir, 0o711); err != nil {
		return nil, fmt.Errorf("create scratch dir: %w", err)
	}
	if err := os.Chmod(s.dir, 0o711); err != nil { // umask
		return nil, err
	}
	// The kernel's own timestamp of that chmod marks the start of the run: a host
	// entry whose ctime is not before it was changed while the run went on.
	var st unix.Stat_t
	if err := unix.Stat(s.dir, &st); err != nil {
		return nil, err
	}
	s.started = st.Ctim
	if err := lock.record(s.dir); err != nil {
		return nil, err
	}

	s.mode = o.Mode
	switch o.Mode {
	case ModeAuto, ModeOverlay:
		why, lowerOnly := overlayObstacle(o, s.dir)
		if why != "" && lowerOnly {
			// The project as it is cannot be the lower, but an idmapped view of it can.
			if uids, gids, iwhy := idmapObstacle(o); iwhy == "" {
				why, s.idmap, s.lowerUIDs, s.lowerGIDs = "", true, uids, gids
			} else {
				why += "; " + iwhy
			}
		}
		switch {
		case why == "":
			s.mode = ModeOverlay
		case o.Mode == ModeAuto:
			s.mode, s.why = ModeCopy, why
		default:
			return nil, fmt.Errorf("cannot use an overlay for %s: %s (use the copy mode)", o.Project, why)
		}
	case ModeCopy:
	default:
		return nil, fmt.Errorf("unknown scratch mode %d", o.Mode)
	}
	if s.mode == ModeOverlay {
		for _, d := range []string{s.upperDir(), s.workDir()} {
			if err := os.Mkdir(d, 0o755); err != nil {
				return nil, fmt.Errorf("create overlay dir: %w", err)
			}
			if err := os.Lchown(d, o.RootUID, o.RootGID); err != nil {
				return nil, fmt.Errorf("give overlay dir %s to the container's root (%d:%d): %w", d, o.RootUID, o.RootGID, err)
			}
		}
		// The merged root takes its attributes from the upper root: give it the project's
		// permissions so the project looks the same inside; work stays private.
		if err := os.Chmod(s.upperDir(), pfi.Mode().Perm()); err != nil {
			return nil, err
		}
		if err := os.Chmod(s.workDir(), 0o700); err != nil {
			return nil, err
		}
	} else {
		snap, err := stageCopy(o.Project, s.stagingDir(), o.RootUID, o.RootGID)
		if err != nil {
			return nil, fmt.Errorf("make the staging copy of %s: %w", o.Project, err)
		}
		s.snap = snap
	}
	ok = true
	return s, nil
}

// scratchRoot picks the dir that holds per-run scratch dirs: the state dir when it is on
// the project's file system (so SyncBack moves instead of copying), else a private
// ".phylum-box-scratch" dir beside the project (never inside it: the container must not
// see it), else the state dir anyway.
func scratchRoot(stateDir, project string) (string, bool) {
	if sameDevice(stateDir, project) || !siblingScratch {
		return stateDir, sameDevice(stateDir, project)
	}
	parent := filepath.Dir(project)
	if parent == project {
		return stateDir, false
	}
	sib := siblingRoot(project)
	if err := os.Mkdir(sib, 0o711); err != nil && !errors.Is(err, fs.ErrExist) {
		return stateDir, false
	}
	fi, err := os.Lstat(sib)
	if err != nil || !fi.IsDir() || int(fi.Sys().(*syscall.Stat_t).Uid) != os.Geteuid() || fi.Mode().Perm()&0o022 != 0 {
		return stateDir, false
	}
	if !sameDevice(sib, project) {
		return stateDir, false
	}
	return sib, true
}

func siblingRoot(project string) string {
	return filepath.Join(filepath.Dir(project), ".phylum-box-scratch")
}

func sameDevice(a, b string) bool {
	var sa, sb unix.Stat_t
	if unix.Stat(a, &sa) != nil || unix.Stat(b, &sb) != nil {
		return false
	}
	return sa.Dev == sb.Dev
}

func uniq(a, b string) []string {
	if a == b {
		return []string{a}
	}
	return []string{a, b}
}

// within reports whether p is root or below it.
func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// siblingScratch enables the scratch dir beside the project (tests turn it off to
// exercise the cross-file-system copy).
var siblingScratch = true

// overlayUpperFS are file systems known to work as an overlay upper from a user
// namespace (whiteouts, user xattrs, O_TMPFILE/RENAME_WHITEOUT). overlayfs itself, NFS,
// FUSE and others are not.
var overlayUpperFS = map[int64]string{
	unix.EXT4_SUPER_MAGIC:  "ext4",
	unix.XFS_SUPER_MAGIC:   "xfs",
	unix.BTRFS_SUPER_MAGIC: "btrfs",
	unix.TMPFS_MAGIC:       "tmpfs",
	unix.F2FS_SUPER_MAGIC:  "f2fs",
}

// overlayObstacle returns why an overlay with the host project as its lower cannot be
// used, or "". lowerOnly is true when every problem is the project's (its owner is not
// mapped, the container's root cannot reach it): an idmapped lower avoids those.
func overlayObstacle(o ScratchOptions, scratchDir string) (why string, lowerOnly bool) {
	if rel, ok := kernelBefore(5, 11); ok {
		return "kernel " + rel + " cannot mount overlayfs in a user namespace (needs 5.11)", false
	}
	// libcontainer splits mount options on ","; overlay itself splits lowerdir on ":".
	for _, p := range []string{o.Project, scratchDir} {
		if why := optionUnsafe(p); why != "" {
			return why, false
		}
	}
	var st unix.Statfs_t
	if err := unix.Statfs(scratchDir, &st); err != nil {
		return "statfs scratch dir: " + err.Error(), false
	}
	if _, ok := overlayUpperFS[int64(st.Type)]; !ok {
		return fmt.Sprintf("the scratch dir %s is on a file system (magic %#x) that cannot be an overlay upper", scratchDir, st.Type), false
	}
	if err := unix.Setxattr(scratchDir, "user.phylum-box.probe", []byte("1"), 0); err != nil {
		return "the scratch file system has no user xattrs (overlay's userxattr needs them): " + err.Error(), false
	}
	_ = unix.Removexattr(scratchDir, "user.phylum-box.probe")
	// overlayfs clones the lower path privately; from a user namespace that fails
	// ("failed to clone lowerpath", EINVAL) when mounts below it are locked, i.e. when the
	// project has anything mounted inside it. (An idmapped lower, a non-recursive bind,
	// would silently hide them instead: also refused.)
	if mounts, err := mountinfo.GetMounts(mountinfo.PrefixFilter(o.Project)); err == nil {
		for _, m := range mounts {
			if m.Mountpoint != o.Project {
				return fmt.Sprintf("%s is mounted inside the project; an overlay cannot be mounted over it from a user namespace", m.Mountpoint), false
			}
		}
	}
	// The kernel resolves lowerdir/upperdir/workdir with the credentials of the
	// container's root, whose capabilities only count for inodes it owns in its namespace:
	// every dir on the way must be searchable by it.
	if dir := unreachable(o, scratchDir); dir != "" {
		return fmt.Sprintf("the container's root (host uid %d) cannot search %s, so it cannot mount the overlay", o.RootUID, dir), false
	}
	if dir := unreachable(o, o.Project); dir != "" {
		return fmt.Sprintf("the container's root (host uid %d) cannot search %s, so it cannot mount the overlay", o.RootUID, dir), true
	}
	// Copy-up chowns the upper copy to the lower file's owner; an owner not mapped into
	// the container's user namespace makes every write to that file fail with EOVERFLOW.
	fi, err := os.Lstat(o.Project)
	if err != nil {
		return err.Error(), false
	}
	st2 := fi.Sys().(*syscall.Stat_t)
	if !idMapped(o.UIDMappings, o.RootUID, int(st2.Uid)) || !idMapped(o.GIDMappings, o.RootGID, int(st2.Gid)) {
		return fmt.Sprintf("the project's owner %d:%d is not mapped into the container's user namespace, so overlay copy-up would fail", st2.Uid, st2.Gid), true
	}
	return "", false
}

// optionUnsafe says why path p cannot be carried in overlay mount options, or "".
func optionUnsafe(p string) string {
	if strings.ContainsAny(p, ",:\\\n") {
		return fmt.Sprintf("path %q contains a character (, : \\ or newline) that overlay mount options cannot carry", p)
	}
	return ""
}

// kernelBefore reports the running kernel's release when it is older than maj.min.
func kernelBefore(maj, min int) (string, bool) {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return "", false
	}
	rel := unix.ByteSliceToString(u.Release[:])
	var a, b int
	if _, err := fmt.Sscanf(rel, "%d.%d", &a, &b); err != nil {
		return "", false
	}
	return rel, a < maj || a == maj && b < min
}

// idmapObstacle returns why the project cannot be the overlay's lower through an
// idmapped bind (as ProjectMounts mounts it), or "" and the bind's id maps. The maps show
// the project's owner as the container's root, so the run can write the project as in
// the copy mode, where the container's root owns everything. Every entry must have that
// owner: a file of another owner would show as that owner and be read-only to the
// container's root (no capabilities), where the copy let it write; such projects get the
// copy. A walk with lstat costs a fraction of the copy.
func idmapObstacle(o ScratchOptions) (uids, gids []specs.LinuxIDMapping, why string) {
	if os.Geteuid() != 0 {
		return nil, nil, "an idmapped lower needs phylum-box to run as real root"
	}
	// Overlay accepts idmapped layers since 5.19.
	if rel, old := kernelBefore(5, 19); old {
		return nil, nil, "kernel " + rel + " cannot use an idmapped overlay lower (needs 5.19)"
	}
	fi, err := os.Lstat(o.Project)
	if err != nil {
		return nil, nil, err.Error()
	}
	st := fi.Sys().(*syscall.Stat_t)
	uids, uok := ownerAsRoot(mapsOrRoot(o.UIDMappings, o.RootUID), st.Uid)
	gids, gok := ownerAsRoot(mapsOrRoot(o.GIDMappings, o.RootGID), st.Gid)
	if !uok || !gok {
		return nil, nil, fmt.Sprintf("the project's owner %d:%d is outside the container's id range, so an idmapped lower cannot map it", st.Uid, st.Gid)
	}
	if p, u, g := foreignEntry(o.Project, st.Uid, st.Gid); p != "" {
		return nil, nil, fmt.Sprintf("%s is owned by %d:%d, not by the project's owner %d:%d, so through an idmapped lower the container could not write it", p, u, g, st.Uid, st.Gid)
	}
	if err := probeIdmap(o.Project, uint64(st.Dev), uids, gids); err != nil {
		return nil, nil, "cannot make an idmapped mount of the project here (kernel or file system): " + err.Error()
	}
	return uids, gids, ""
}

// foreignEntry returns the first entry below root (not following symlinks) whose owner is
// not uid:gid, or "" (also when the walk fails: the copy would then fail the same way
// and report it).
func foreignEntry(root string, uid, gid uint32) (string, uint32, uint32) {
	var found string
	var fu, fg uint32
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		var st unix.Stat_t
		if unix.Lstat(p, &st) != nil {
			return nil
		}
		if st.Uid != uid || st.Gid != gid {
			found, fu, fg = p, st.Uid, st.Gid
			return filepath.SkipAll
		}
		return nil
	})
	return found, fu, fg
}

// ownerAsRoot turns the container's id map m (container id -> host id) into the map of
// an idmapped mount (on-disk id -> host id) that shows on-disk id owner as the
// container's root: on-disk ids are taken as container ids, except that owner and 0 trade
// places. ok is false when owner is not a container id of m.
func ownerAsRoot(m []specs.LinuxIDMapping, owner uint32) (out []specs.LinuxIDMapping, ok bool) {
	if !containerIDMapped(m, owner) || !containerIDMapped(m, 0) {
		return nil, false
	}
	hostOf := func(c uint32) uint32 {
		for _, e := range m {
			if c >= e.ContainerID && uint64(c) < uint64(e.ContainerID)+uint64(e.Size) {
				return e.HostID + (c - e.ContainerID)
			}
		}
		return 0
	}
	if owner == 0 {
		return append([]specs.LinuxIDMapping(nil), m...), true
	}
	// Cut 0 and owner out of their extents, then add them back swapped.
	for _, e := range m {
		pieces := []specs.LinuxIDMapping{e}
		for _, cut := range []uint32{0, owner} {
			var next []specs.LinuxIDMapping
			for _, p := range pieces {
				if cut < p.ContainerID || uint64(cut) >= uint64(p.ContainerID)+uint64(p.Size) {
					next = append(next, p)
					continue
				}
				if n := cut - p.ContainerID; n > 0 {
					next = append(next, specs.LinuxIDMapping{ContainerID: p.ContainerID, HostID: p.HostID, Size: n})
				}
				if n := p.ContainerID + p.Size - cut - 1; n > 0 {
					next = append(next, specs.LinuxIDMapping{ContainerID: cut + 1, HostID: p.HostID + (cut + 1 - p.ContainerID), Size: n})
				}
			}
			pieces = next
		}
		out = append(out, pieces...)
	}
	out = append(out,
		specs.LinuxIDMapping{ContainerID: owner, HostID: hostOf(0), Size: 1},
		specs.LinuxIDMapping{ContainerID: 0, HostID: hostOf(owner), Size: 1})
	return out, true
}

func mapsOrRoot(m []specs.LinuxIDMapping, root int) []specs.LinuxIDMapping {
	if m == nil {
		return []specs.LinuxIDMapping{{ContainerID: 0, HostID: uint32(root), Size: 1}}
	}
	return m
}

// containerIDMapped reports whether id is a container-side id of map m.
func containerIDMapped(m []specs.LinuxIDMapping, id uint32) bool {
	for _, e := range m {
		if id >= e.ContainerID && uint64(id) < uint64(e.ContainerID)+uint64(e.Size) {
			return true
		}
	}
	return false
}

// idmapProbes caches probeIdmap's answer per file system and id map: the probe costs a
// process.
var idmapProbes sync.Map // string -> error (nil stored as errNone)

var errNone = errors.New("")

// probeIdmap checks that an idmapped mount of project with the container's id map can be
// made, the way libcontainer makes it: a detached clone of the project's mount
// (open_tree), then mount_setattr(MOUNT_ATTR_IDMAP) with a user namespace holding the
// map. The clone is never attached anywhere and goes away with its fd.
func probeIdmap(project string, dev uint64, uids, gids []specs.LinuxIDMapping) error {
	key := fmt.Sprint(dev, uids, gids)
	if v, ok := idmapProbes.Load(key); ok {
		if v.(error) == errNone {
			return nil
		}
		return v.(error)
	}
	err := func() error {
		ns, err := usernsWithMap(uids, gids)
		if err != nil {
			return err
		}
		defer ns.Close()
		fd, err := unix.OpenTree(unix.AT_FDCWD, project, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_SYMLINK_NOFOLLOW)
		if err != nil {
			return &os.PathError{Op: "open_tree", Path: project, Err: err}
		}
		defer unix.Close(fd)
		return idmapDetached(fd, ns)
	}()
	if err == nil {
		idmapProbes.Store(key, errNone)
	} else {
		idmapProbes.Store(key, err)
	}
	return err
}

// idmapDetached makes the detached mount fd read-only, nosuid, nodev and idmapped with
// the map of user namespace ns.
func idmapDetached(fd int, ns *os.File) error {
	err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, &unix.MountAttr{
		Attr_set:  unix.MOUNT_ATTR_IDMAP | unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV,
		Userns_fd: uint64(ns.Fd()),
	})
	if err != nil {
		return os.NewSyscallError("mount_setattr(MOUNT_ATTR_IDMAP)", err)
	}
	return nil
}

// usernsWithMap returns a user namespace (an nsfs file) with the given maps. A process
// must create it: one is started in a new user namespace and stopped before it runs
// anything (PTRACE_TRACEME stops it at its exec), its namespace opened, and the process
// killed. The thread stays locked so the tracer (this thread) outlives the stopped child:
// a tracer's exit would let the child run.
func usernsWithMap(uids, gids []specs.LinuxIDMapping) (*os.File, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	attr := &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: sysIDMap(uids),
		GidMappings: sysIDMap(gids),
		Ptrace:      true,
		Pdeathsig:   syscall.SIGKILL,
	}
	p, err := os.StartProcess("/proc/self/exe", []string{"phylum-box-userns-probe"}, &os.ProcAttr{Sys: attr})
	if err != nil {
		return nil, fmt.Errorf("start a process in a new user namespace: %w", err)
	}
	defer func() {
		_ = p.Kill()
		_, _ = p.Wait()
	}()
	f, err := os.Open(fmt.Sprintf("/proc/%d/ns/user", p.Pid))
	if err != nil {
		return nil, fmt.Errorf("open the probe's user namespace: %w", err)
	}
	return f, nil
}

func sysIDMap(m []specs.LinuxIDMapping) []syscall.SysProcIDMap {
	out := make([]syscall.SysProcIDMap, 0, len(m))
	for _, e := range m {
		out = append(out, syscall.SysProcIDMap{ContainerID: int(e.ContainerID), HostID: int(e.HostID), Size: int(e.Size)})
	}
	return out
}

// unreachable returns the first dir from / down to p that the container's root cannot
// search, or "".
func unreachable(o ScratchOptions, p string) string {
	for d := p; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return d
		}
		st := fi.Sys().(*syscall.Stat_t)
		perm := st.Mode
		ok := perm&0o001 != 0 ||
			(idMapped(o.UIDMappings, o.RootUID, int(st.Uid)) && idMapped(o.GIDMappings, o.RootGID, int(st.Gid))) ||
			(int(st.Uid) == o.RootUID && perm&0o100 != 0) ||
			(int(st.Gid) == o.RootGID && perm&0o010 != 0)
		if !ok {
			return d
		}
		if d == "/" {
			return ""
		}
	}
}

func idMapped(m []specs.LinuxIDMapping, root, id int) bool {
	if m == nil {
		return id == root
	}
	for _, e := range m {
		if id >= int(e.HostID) && id < int(e.HostID)+int(e.Size) {
			return true
		}
	}
	return false
}

// IdmappedLower is where ProjectMounts puts the idmapped read-only bind of the project in
// the container's root, for the overlay to use as its lower. The container sees it: it is
// the unchanged project, read-only, nosuid and nodev, which the container could read
// through the overlay anyway. It must stay read-only: through the idmap, the container's
// root owns the host project's root-owned files.
const IdmappedLower = "/.pb-lower"

// ProjectMounts are the runtime-spec mounts that put the project at its own path inside
// the container, in mount order, for a container whose root dir (the skeleton dir, see
// SkeletonOptions.Dir) is rootfsDir: add them to SkeletonOptions.Extra. For an idmapped
// overlay (Idmapped) they are the idmapped read-only bind of the project at IdmappedLower
// and the overlay over it; libcontainer makes its mounts before pivot_root, so the
// overlay names its lower by the host path rootfsDir+IdmappedLower. Otherwise the one
// mount of ProjectMount.
//
// A rootfsDir that overlay options cannot carry (not absolute and clean, or with ",", ":"
// or a backslash) turns an idmapped overlay not yet handed out into ModeCopy, as
// ProjectMount does.
func (s *Scratch) ProjectMounts(rootfsDir string) []specs.Mount {
	if s.Idmapped() {
		why := optionUnsafe(rootfsDir)
		if !filepath.IsAbs(rootfsDir) || filepath.Clean(rootfsDir) != rootfsDir {
			why = fmt.Sprintf("container root dir %q is not absolute and clean", rootfsDir)
		}
		if why == "" {
			s.handedOut = true
			lower := rootfsDir + IdmappedLower
			// nosuid, nodev: nothing on the lower is honoured as setuid or a device even
			// where the overlay would look through to it.
			return []specs.Mount{
				{Destination: IdmappedLower, Type: "bind", Source: s.project, Options: []string{"bind", "ro", "nosuid", "nodev", "idmap"},
					UIDMappings: s.lowerUIDs, GIDMappings: s.lowerGIDs},
				s.overlayMount(lower),
			}
		}
		s.dropIdmap(why)
	}
	return []specs.Mount{s.ProjectMount()}
}

// ProjectMount is the runtime-spec mount that puts the project at its own path inside the
// container: the overlay, or a bind of the staging copy. Callers should move to
// ProjectMounts: one mount cannot carry an idmapped overlay, so for one (Idmapped) that
// has not been handed out by ProjectMounts, ProjectMount makes the staging copy then and
// switches to ModeCopy (slow but correct; a failed copy makes the mount's source absent
// and Changes fail). After ProjectMounts has handed out the idmapped overlay, the
// container may have written to the upper, so the mode stays: ProjectMount then returns
// the overlay with the plain project as its lower (copy-up of files whose owner is
// unmapped fails with EOVERFLOW).
func (s *Scratch) ProjectMount() specs.Mount {
	if s.Idmapped() {
		s.dropIdmap("ProjectMount cannot express the idmapped overlay lower (use ProjectMounts)")
	}
	s.handedOut = true
	if s.mode == ModeOverlay {
		return s.overlayMount(s.project)
	}
	return specs.Mount{Destination: s.project, Type: "bind", Source: s.stagingDir(),
		Options: []string{"bind", "rw", "nosuid", "nodev"}}
}

// overlayMount is the overlay at the project's path with the given lower dir.
func (s *Scratch) overlayMount(lower string) specs.Mount {
	opts := append([]string{
		"lowerdir=" + lower,
		"upperdir=" + s.upperDir(),
		"workdir=" + s.workDir(),
	}, OverlayOptions...)
	return specs.Mount{Destination: s.project, Type: "overlay", Source: "overlay", Options: append(opts, "nosuid", "nodev")}
}

// dropIdmap turns an idmapped overlay into ModeCopy, unless the overlay was handed out
// already (the container may have written to the upper).
func (s *Scratch) dropIdmap(why string) {
	if s.handedOut || !s.Idmapped() {
		return
	}
	s.idmap = false
	s.mode, s.why = ModeCopy, why
	for _, d := range []string{s.upperDir(), s.workDir()} {
		_ = os.Remove(d) // empty: nothing ran
	}
	snap, err := stageCopy(s.project, s.stagingDir(), s.rootUID, s.rootGID)
	if err != nil {
		s.broken = fmt.Errorf("make the staging copy of %s: %w", s.project, err)
		_ = os.RemoveAll(s.stagingDir()) // the bind then fails: no run on a partial copy
		return
	}
	s.snap = snap
}

// Close removes this run's scratch dir and releases the project lock.
func (s *Scratch) Close() error {
	if s == nil || s.lock == nil {
		return nil
	}
	err := removeScratchDir(s.dir)
	if rerr := s.lock.release(); err == nil {
		err = rerr
	}
	s.lock = nil
	return err
}

// FileType is the kind of a file system entry.
type FileType int

const (
	TypeNone    FileType = iota // absent
	TypeRegular                 // regular file
	TypeDir                     // directory
	TypeSymlink                 // symbolic link
	TypeDevice                  // character or block device
	TypeFifo                    // named pipe
	TypeSocket                  // unix socket
)

func (t FileType) String() string {
	return [...]string{"none", "file", "dir", "symlink", "device", "fifo", "socket"}[t]
}

func fileTypeOf(m uint32) FileType {
	switch m & unix.S_IFMT {
	case unix.S_IFREG:
		return TypeRegular
	case unix.S_IFDIR:
		return TypeDir
	case unix.S_IFLNK:
		return TypeSymlink
	case unix.S_IFCHR, unix.S_IFBLK:
		return TypeDevice
	case unix.S_IFIFO:
		return TypeFifo
	case unix.S_IFSOCK:
		return TypeSocket
	}
	return TypeNone
}

// ChangeKind says what happened to a path.
type ChangeKind int

const (
	Added    ChangeKind = iota // did not exist on the host
	Modified                   // existed: new content, mode, type, or (Opaque) replaced dir
	Deleted                    // removed by the run
)

func (k ChangeKind) String() string { return [...]string{"added", "modified", "deleted"}[k] }

// Change is one entry of a run's change set.
type Change struct {
	Path     string     // slash-separated, relative to the project, clean
	Kind     ChangeKind //
	Type     FileType   // the entry's type after the run (for Deleted: TypeNone)
	Prev     FileType   // the host entry's type when the change set was read (TypeNone: absent)
	Perm     uint32     // permission and setuid/setgid/sticky bits (07777) after the run
	Size     int64      // regular files
	Linkname string     // symlinks: the target, never dereferenced
	Opaque   bool       // dir replaces the host dir: host entries not in the run's dir go
	Rdev     uint64     // devices

	source   string // absolute path of the entry in the upper/staging tree
	nlink    uint64
	ino      uint64
	uid, gid uint32   // owner in the upper/staging tree
	strip    []string // overlay xattrs to remove before the entry goes into the project
	refuse   string   // a problem found while reading (overlay metadata we do not follow)
}

func (c Change) String() string {
	s := c.Kind.String() + " " + c.Type.String() + " " + c.Path
	if c.Kind == Deleted {
		s = "deleted " + c.Prev.String() + " " + c.Path
	}
	if c.Type == TypeSymlink {
		s += " -> " + c.Linkname
	}
	if c.Opaque {
		s += " (replaces dir)"
	}
	return Printable(s)
}

// ChangeSet is what a run changed, sorted by path (parents before children).
type ChangeSet struct {
	Changes []Change
	names   map[uint64]int  // names per regular-file inode seen in the source tree
	skipped map[string]bool // dirs holding a source entry that is not in Changes
}

// skip records that the source entry p is not a change (a no-op copy-up, a whiteout), so
// its dirs cannot be moved into the project whole.
func (cs *ChangeSet) skip(p string) {
	for d := path.Dir(p); d != "."; d = path.Dir(d) {
		if cs.skipped[d] {
			return
		}
		cs.skipped[d] = true
	}
}

// Changes reads what the run changed. Call it after every process of the container has
// exited; the source tree is then static.
func (s *Scratch) Changes() (*ChangeSet, error) {
	if s.broken != nil {
		return nil, s.broken
	}
	cs := &ChangeSet{names: map[uint64]int{}, skipped: map[string]bool{}}
	var err error
	if s.mode == ModeOverlay {
		err = s.overlayChanges(cs, "", false)
	} else {
		err = s.copyChanges(cs)
	}
	if err != nil {
		return nil, err
	}
	sort.Slice(cs.Changes, func(i, j int) bool { return pathLess(cs.Changes[i].Path, cs.Changes[j].Path) })
	return cs, nil
}

// pathLess orders paths component-wise, so a dir sorts right before its children
// ("a/b" < "a/b/c" < "a/b-c").
func pathLess(a, b string) bool {
	ac, bc := strings.Split(a, "/"), strings.Split(b, "/")
	for i := 0; i < len(ac) && i < len(bc); i++ {
		if ac[i] != bc[i] {
			return ac[i] < bc[i]
		}
	}
	return len(ac) < len(bc)
}

// listXattrs returns the names of an entry's extended attributes (never following a
// symlink). One llistxattr per entry instead of one getxattr per attribute we care about.
func listXattrs(p string) []string {
	buf := make([]byte, 512)
	for {
		n, err := unix.Llistxattr(p, buf)
		if errors.Is(err, unix.ERANGE) {
			sz, err := unix.Llistxattr(p, nil)
			if err != nil {
				return nil
			}
			buf = make([]byte, sz+64)
			continue
		}
		if err != nil || n == 0 {
			return nil
		}
		return strings.Split(strings.TrimRight(string(buf[:n]), "\x00"), "\x00")
	}
}

// overlayXattr finds overlay's attribute named key: user.overlay.* with userxattr (our
// mounts), trusted.overlay.* for uppers made by a privileged mount. Both are honoured, so
// the change set matches what the merged view showed.
func overlayXattr(names []string, key string) (string, bool) {
	for _, n := range names {
		if n == "user.overlay."+key || n == "trusted.overlay."+key {
			return n, true
		}
	}
	return "", false
}

// xattrMeta reads what the change set needs from an entry's xattrs: overlay attributes,
// which must not travel into the project (a project dir with user.overlay.opaque, or a
// file marked as a whiteout, would change how the next run's overlay shows it), and file
// capabilities, which are refused like setuid bits.
func xattrMeta(p string, names []string, c *Change) {
	for _, n := range names {
		if strings.HasPrefix(n, "user.overlay.") || strings.HasPrefix(n, "trusted.overlay.") {
			c.strip = append(c.strip, n)
		}
		if n == "security.capability" && c.refuse == "" {
			c.refuse = "file capabilities (security.capability)"
		}
	}
	if _, ok := overlayXattr(names, "metacopy"); ok {
		c.refuse = "overlay metacopy file (its data lives elsewhere)"
	}
	if _, ok := overlayXattr(names, "redirect"); ok {
		c.refuse = "overlay redirect (renamed dir) is not followed"
	}
}

// overlayChanges walks the upper dir. rel is the dir being walked ("" = root); fresh
// means the host's dir at rel is hidden (opaque, new or replacing a non-dir), so host
// entries below it are not consulted.
func (s *Scratch) overlayChanges(cs *ChangeSet, rel string, fresh bool) error {
	upper := filepath.Join(s.upperDir(), filepath.FromSlash(rel))
	ents, err := os.ReadDir(upper)
	if err != nil {
		return fmt.Errorf("read the overlay upper dir: %w", err)
	}
	for _, e := range ents {
		p := path.Join(rel, e.Name())
		src := filepath.Join(upper, e.Name())
		var st unix.Stat_t
		if err := unix.Lstat(src, &st); err != nil {
			return fmt.Errorf("read the overlay upper dir: %w", err)
		}
		typ := fileTypeOf(st.Mode)
		prev, hst := TypeNone, unix.Stat_t{}
		if !fresh {
			if err := unix.Lstat(filepath.Join(s.project, filepath.FromSlash(p)), &hst); err == nil {
				prev = fileTypeOf(hst.Mode)
			}
		}
		c := Change{Path: p, Type: typ, Prev: prev, Perm: st.Mode & 0o7777, Size: st.Size,
			source: src, nlink: uint64(st.Nlink), ino: st.Ino, Rdev: st.Rdev, uid: st.Uid, gid: st.Gid}
		xnames := listXattrs(src)
		whiteout := typ == TypeDevice && st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == 0
		if !whiteout && typ == TypeRegular && st.Size == 0 {
			_, whiteout = overlayXattr(xnames, "whiteout")
		}
		if whiteout {
			if prev != TypeNone {
				cs.Changes = append(cs.Changes, Change{Path: p, Kind: Deleted, Prev: prev, source: src})
			}
			cs.skip(p)
			continue
		}
		if typ == TypeRegular {
			cs.names[st.Ino]++
		}
		xattrMeta(src, xnames, &c)
		switch {
		case prev == TypeNone:
			c.Kind = Added
		default:
			c.Kind = Modified
		}
		switch typ {
		case TypeDir:
			opaque := false
			if n, ok := overlayXattr(xnames, "opaque"); ok {
				buf := make([]byte, 8)
				sz, err := unix.Lgetxattr(src, n, buf)
				opaque = err == nil && string(buf[:sz]) == "y"
			}
			childFresh := fresh || prev != TypeDir || opaque
			if prev == TypeDir && opaque {
				c.Opaque = true
				cs.Changes = append(cs.Changes, c)
			} else if prev != TypeDir || hst.Mode&0o7777 != c.Perm || c.refuse != "" {
				cs.Changes = append(cs.Changes, c)
			}
			if err := s.overlayChanges(cs, p, childFresh); err != nil {
				return err
			}
		case TypeSymlink:
			target, err := os.Readlink(src)
			if err != nil {
				return fmt.Errorf("read the overlay upper dir: %w", err)
			}
			c.Linkname = target
			if prev == TypeSymlink {
				if old, err := os.Readlink(filepath.Join(s.project, filepath.FromSlash(p))); err == nil && old == target {
					cs.skip(p)
					continue
				}
			}
			cs.Changes = append(cs.Changes, c)
		case TypeRegular:
			// A copy-up happens on open for writing and on chmod/chown, so an upper file
			// may equal the host file; such no-op copies are not changes.
			if prev == TypeRegular && c.refuse == "" && hst.Mode&0o7777 == c.Perm && hst.Size == c.Size {
				if same, err := sameContent(src, filepath.Join(s.project, filepath.FromSlash(p))); err == nil && same {
					cs.skip(p)
					continue
				}
			}
			cs.Changes = append(cs.Changes, c)
		default:
			cs.Changes = append(cs.Changes, c)
		}
	}
	return nil
}

// sameContent compares two regular files byte by byte (never following a final symlink).
func sameContent(a, b string) (bool, error) {
	fa, err := os.OpenFile(a, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return false, err
	}
	defer fa.Close()
	fb, err := os.OpenFile(b, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return false, err
	}
	defer fb.Close()
	ba, bb := make([]byte, 64<<10), make([]byte, 64<<10)
	for {
		na, ea := io.ReadFull(fa, ba)
		nb, eb := io.ReadFull(fb, bb)
		if na != nb || !bytes.Equal(ba[:na], bb[:nb]) {
			return false, nil
		}
		if ea == io.EOF || ea == io.ErrUnexpectedEOF {
			return eb == io.EOF || eb == io.ErrUnexpectedEOF, nil
		}
		if ea != nil {
			return false, ea
		}
		if eb != nil {
			return false, eb
		}
	}
}

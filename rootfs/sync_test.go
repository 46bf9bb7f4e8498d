package rootfs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// testOwner is who synced files must belong to: a distinct uid as root (so the chown is
// visible), the user itself otherwise.
func testOwner() (int, int) {
	if os.Geteuid() == 0 {
		return 1234, 1235
	}
	return os.Getuid(), os.Getgid()
}

type syncCase struct {
	name     string
	files    map[string]string                           // host project before the run
	setup    func(t *testing.T, project, outside string) // more host setup (symlinks, ...)
	script   string                                      // the run, inside the sandbox, cwd = project
	tamper   func(t *testing.T, s *Scratch)              // hostile edits of the upper/staging after the run
	between  func(t *testing.T, project, outside string) // host changes after Changes, before the apply
	rootOnly string                                      // skip unless root, with this reason
	stateDir func(t *testing.T) string                   // the scratch state dir; nil = beside the project
	opts     SyncOptions
	stop     bool     // the sync must be stopped (ErrRefused), host byte-identical
	refused  []string // refused paths, sorted
	check    func(t *testing.T, project, outside string)
}

var syncCases = []syncCase{
	{
		name:   "a host edit made during the run is not overwritten",
		files:  map[string]string{"edit": "old", "gone": "gone", "other": "o"},
		script: `echo sandbox > edit; rm gone; echo new > added`,
		between: func(t *testing.T, p, _ string) {
			for _, f := range []string{"edit", "gone"} {
				if err := os.WriteFile(filepath.Join(p, f), []byte("the user's edit"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		},
		stop:    true,
		refused: []string{"edit"},
		check: func(t *testing.T, p, _ string) {
			wantFile(t, p, "edit", "the user's edit")
			wantFile(t, p, "gone", "the user's edit")
			wantAbsent(t, p, "added")
		},
	},
	{
		name:  "new modified and deleted files",
		files: map[string]string{"keep": "keep", "edit": "old", "gone": "gone", "d/x": "x"},
		script: `echo new > edit; rm gone; rm -r d; mkdir -p node_modules/a/lib;
			echo m > node_modules/a/index.js; echo z > node_modules/a/lib/z.js`,
		check: func(t *testing.T, p, _ string) {
			wantFile(t, p, "edit", "new\n")
			wantFile(t, p, "keep", "keep")
			wantFile(t, p, "node_modules/a/lib/z.js", "z\n")
			wantAbsent(t, p, "gone")
			wantAbsent(t, p, "d")
			wantOwner(t, p, "node_modules")
			wantOwner(t, p, "node_modules/a/index.js")
			wantOwner(t, p, "edit")
		},
	},
	{
		name:   "opaque dir replaces the host dir",
		files:  map[string]string{"d/a": "a", "d/b": "b", "d/sub/c": "c"},
		script: `rm -rf d && mkdir d && echo c > d/c`,
		check: func(t *testing.T, p, _ string) {
			wantFile(t, p, "d/c", "c\n")
			wantAbsent(t, p, "d/a")
			wantAbsent(t, p, "d/sub")
		},
	},
	{
		name:   "file replaced by dir and dir mode change",
		files:  map[string]string{"x": "x", "m/f": "f"},
		script: `rm x && mkdir x && echo 1 > x/y && chmod 700 m`,
		check: func(t *testing.T, p, _ string) {
			wantFile(t, p, "x/y", "1\n")
			if fi, err := os.Lstat(filepath.Join(p, "m")); err != nil || fi.Mode().Perm() != 0o700 {
				t.Errorf("m: want mode 0700, got %v %v", fi.Mode(), err)
			}
		},
	},
	{
		name:   "symlink inside the project is synced as a symlink",
		script: `mkdir -p node_modules/.bin node_modules/pkg && echo js > node_modules/pkg/cli.js && ln -s ../pkg/cli.js node_modules/.bin/cli && ln -s ./node_modules top`,
		check: func(t *testing.T, p, _ string) {
			wantLink(t, p, "node_modules/.bin/cli", "../pkg/cli.js")
			wantLink(t, p, "top", "./node_modules")
			wantOwner(t, p, "node_modules/.bin/cli")
		},
	},
	{
		name:    "run-created symlinks escaping the project are refused",
		files:   map[string]string{"keep": "k"},
		script:  `mkdir node_modules && ln -s /etc/passwd node_modules/pw && ln -s ../../../../../../../../etc node_modules/esc && mkdir -p a/b && ln -s b/../../.. a/l && echo ok > fine`,
		stop:    true,
		refused: []string{"a/l", "node_modules/esc", "node_modules/pw"},
	},
	{
		name:  "symlink planted on the host to HOME is replaced not written through",
		files: map[string]string{"keep": "k"},
		setup: func(t *testing.T, p, out string) {
			writeTree(t, filepath.Join(out, "home"), map[string]string{".bashrc": "orig"})
			symlink(t, filepath.Join(out, "home"), filepath.Join(p, "home"))
			symlink(t, filepath.Join(out, "home", ".bashrc"), filepath.Join(p, "rc"))
		},
		script: `rm home && mkdir home && echo pwned > home/.bashrc && rm rc && echo pwned > rc`,
		check: func(t *testing.T, p, out string) {
			wantFile(t, out, "home/.bashrc", "orig")
			wantFile(t, p, "home/.bashrc", "pwned\n")
			wantFile(t, p, "rc", "pwned\n")
		},
	},
	{
		name: "dir forged in the upper over a host symlink to /etc lands in the project",
		setup: func(t *testing.T, p, out string) {
			symlink(t, "/etc", filepath.Join(p, "conf"))
		},
		tamper: func(t *testing.T, s *Scratch) {
			src := s.sourceDir()
			_ = os.Remove(filepath.Join(src, "conf"))
			writeTree(t, filepath.Join(src, "conf"), map[string]string{"phylum-box-canary": "pwned"})
		},
		check: func(t *testing.T, p, _ string) {
			if _, err := os.Lstat("/etc/phylum-box-canary"); err == nil {
				t.Fatal("SyncBack wrote /etc/phylum-box-canary")
			}
			wantFile(t, p, "conf/phylum-box-canary", "pwned")
		},
	},
	{
		name:   "host dir swapped for a symlink after the run is a conflict",
		files:  map[string]string{"sub/f": "f", "keep": "k"},
		script: `echo a > aaa && echo x > sub/new`,
		between: func(t *testing.T, p, out string) {
			if err := os.Rename(filepath.Join(p, "sub"), filepath.Join(out, "sub")); err != nil {
				t.Fatal(err)
			}
			symlink(t, filepath.Join(out, "sub"), filepath.Join(p, "sub"))
		},
		stop:    true,
		refused: []string{"sub/new"},
		check: func(t *testing.T, p, out string) {
			wantAbsent(t, out, "sub/new")
			wantAbsent(t, p, "aaa") // applied before the conflict, rolled back
		},
	},
	{
		name:     "device node refused",
		rootOnly: "only root can make a device node to plant in the upper",
		tamper: func(t *testing.T, s *Scratch) {
			if err := unix.Mknod(filepath.Join(s.sourceDir(), "null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
				t.Fatal(err)
			}
		},
		script:  `echo ok > fine`,
		stop:    true,
		refused: []string{"null"},
	},
	{
		name:    "fifo refused",
		script:  `mkfifo p && echo ok > fine`,
		stop:    true,
		refused: []string{"p"},
	},
	{
		name:    "setuid file and setgid dir refused",
		script:  `echo x > s && chmod 4755 s && mkdir g && chmod 2755 g && echo y > g/y && echo ok > fine`,
		stop:    true,
		refused: []string{"g", "g/y", "s"},
	},
	{
		name:    ".git/hooks refused",
		files:   map[string]string{".git/HEAD": "ref: refs/heads/main\n"},
		script:  `mkdir -p .git/hooks && echo evil > .git/hooks/pre-commit && chmod +x .git/hooks/pre-commit && echo '{}' > package.json`,
		stop:    true,
		refused: []string{".git/hooks", ".git/hooks/pre-commit"},
	},
	{
		name:   ".git synced when allowed",
		files:  map[string]string{".git/HEAD": "ref: refs/heads/main\n"},
		script: `mkdir -p .git/hooks && echo hook > .git/hooks/pre-commit`,
		opts:   SyncOptions{AllowGit: true},
		check: func(t *testing.T, p, _ string) {
			wantFile(t, p, ".git/hooks/pre-commit", "hook\n")
		},
	},
	{
		name:  "only limits the sync and lists the rest",
		files: map[string]string{"src/index.js": "code", "package.json": "{}", ".git/HEAD": "x"},
		script: `echo evil >> src/index.js && mkdir -p node_modules/a && echo a > node_modules/a/i.js &&
			echo '{"a":1}' > package.json && mkdir -p .git/hooks && echo x > .git/hooks/post-checkout && echo z > zzz`,
		opts:    SyncOptions{Only: []string{"node_modules", "package.json"}},
		refused: []string{".git/hooks", ".git/hooks/post-checkout", "src/index.js", "zzz"},
		check: func(t *testing.T, p, _ string) {
			wantFile(t, p, "src/index.js", "code")
			wantFile(t, p, "node_modules/a/i.js", "a\n")
			wantFile(t, p, "package.json", "{\"a\":1}\n")
			wantAbsent(t, p, ".git/hooks")
		},
	},
	{
		name:    "only makes a new parent dir of an allowed path",
		script:  `mkdir -p vendor/cache vendor/other && echo a > vendor/cache/a && echo b > vendor/other/b`,
		opts:    SyncOptions{Only: []string{"vendor/cache"}},
		refused: []string{"vendor/other", "vendor/other/b"},
		check: func(t *testing.T, p, _ string) {
			wantFile(t, p, "vendor/cache/a", "a\n")
			wantAbsent(t, p, "vendor/other")
		},
	},
	{
		name:   "hard links inside the run are kept",
		script: `echo x > a && ln a b`,
		check: func(t *testing.T, p, _ string) {
			var sa, sb unix.Stat_t
			if unix.Lstat(filepath.Join(p, "a"), &sa) != nil || unix.Lstat(filepath.Join(p, "b"), &sb) != nil || sa.Ino != sb.Ino {
				t.Errorf("a and b should be one inode on the host")
			}
		},
	},
	{
		name:   "hard link to a file outside the run's tree refused",
		script: `echo ok > fine`,
		tamper: func(t *testing.T, s *Scratch) {
			outside := filepath.Join(s.Dir(), "outside")
			if err := os.WriteFile(outside, []byte("secret"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Link(outside, filepath.Join(s.sourceDir(), "hl")); err != nil {
				t.Fatal(err)
			}
		},
		stop:    true,
		refused: []string{"hl"},
	},
	{
		name:   "no-op rewrites are not changes",
		files:  map[string]string{"f": "same", "g": "same"},
		script: `touch f && cat g > g.tmp && mv g.tmp g`,
		opts:   SyncOptions{Only: []string{"node_modules"}},
	},
}

func TestSyncBack(t *testing.T) {
	usernsWhy := canUserns()
	if usernsWhy != "" {
		t.Skip(usernsWhy + ": the runs need one")
	}
	for _, mode := range []Mode{ModeOverlay, ModeCopy} {
		for _, tc := range syncCases {
			t.Run(mode.String()+"/"+tc.name, func(t *testing.T) {
				if tc.rootOnly != "" && os.Geteuid() != 0 {
					t.Skip(tc.rootOnly)
				}
				runSyncCase(t, tc, mode)
			})
		}
	}
}

func runSyncCase(t *testing.T, tc syncCase, mode Mode) {
	base := searchableTempDir(t)
	project, outside := filepath.Join(base, "project"), filepath.Join(base, "outside")
	writeTree(t, project, tc.files)
	if err := os.MkdirAll(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	if tc.setup != nil {
		tc.setup(t, project, outside)
	}
	e := testEnv()
	if mode == ModeOverlay {
		chownTree(t, project, e.rootUID, e.rootGID) // copy-up needs a mapped owner
	}
	stateDir := filepath.Join(base, "state")
	if tc.stateDir != nil {
		stateDir = tc.stateDir(t)
	}
	s, err := NewScratch(context.Background(), ScratchOptions{Project: project, StateDir: stateDir,
		RootUID: e.rootUID, RootGID: e.rootGID, UIDMappings: e.uidMap, GIDMappings: e.gidMap, Mode: mode})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if out, err := runInSandbox(t, s, "set -e; "+tc.script); err != nil {
		t.Fatalf("the run failed: %v\n%s", err, out)
	}
	if tc.tamper != nil {
		tc.tamper(t, s)
	}
	cs, err := s.Changes()
	if err != nil {
		t.Fatal(err)
	}
	if tc.between != nil {
		tc.between(t, project, outside)
	}
	before := hashTree(t, project)
	o := tc.opts
	o.OwnerUID, o.OwnerGID = testOwner()
	rep, err := s.apply(cs, o)
	if tc.stop {
		if !errors.Is(err, ErrRefused) || rep == nil || !rep.Stopped {
			t.Fatalf("want the sync stopped with ErrRefused, got %v (report %+v)", err, rep)
		}
		t.Logf("stopped: %v", err)
		if strings.Contains(err.Error(), "roll back") {
			t.Errorf("a rollback that undid everything reported a failure: %v", err)
		}
		if after := hashTree(t, project); after != before {
			t.Errorf("host project changed although the sync was stopped")
		}
	} else if err != nil {
		t.Fatalf("SyncBack: %v (changes %q)", err, describe(cs))
	}
	var refused []string
	for _, r := range rep.Refused {
		refused = append(refused, r.Path)
		t.Logf("refused %s", r)
	}
	sort.Strings(refused)
	if strings.Join(refused, ",") != strings.Join(tc.refused, ",") {
		t.Errorf("refused %q, want %q", refused, tc.refused)
	}
	if !tc.stop && tc.refused == nil && tc.check == nil && len(rep.Applied) != 0 {
		t.Errorf("applied %v, want nothing", rep.Applied)
	}
	if tc.check != nil {
		tc.check(t, project, outside)
	}
}

func symlink(t *testing.T, target, name string) {
	t.Helper()
	if err := os.Symlink(target, name); err != nil {
		t.Fatal(err)
	}
}

func wantFile(t *testing.T, root, rel, content string) {
	t.Helper()
	fi, err := os.Lstat(filepath.Join(root, rel))
	if err != nil || !fi.Mode().IsRegular() {
		t.Errorf("%s: want a regular file, got %v %v", rel, fi, err)
		return
	}
	b, _ := os.ReadFile(filepath.Join(root, rel))
	if string(b) != content {
		t.Errorf("%s = %q, want %q", rel, b, content)
	}
}

func wantAbsent(t *testing.T, root, rel string) {
	t.Helper()
	if _, err := os.Lstat(filepath.Join(root, rel)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s: want absent, got %v", rel, err)
	}
}

func wantLink(t *testing.T, root, rel, target string) {
	t.Helper()
	got, err := os.Readlink(filepath.Join(root, rel))
	if err != nil || got != target {
		t.Errorf("%s: want symlink to %q, got %q %v", rel, target, got, err)
	}
}

func wantOwner(t *testing.T, root, rel string) {
	t.Helper()
	uid, gid := testOwner()
	fi, err := os.Lstat(filepath.Join(root, rel))
	if err != nil {
		t.Errorf("%s: %v", rel, err)
		return
	}
	st := fi.Sys().(*syscall.Stat_t)
	if int(st.Uid) != uid || int(st.Gid) != gid {
		t.Errorf("%s owned by %d:%d, want %d:%d", rel, st.Uid, st.Gid, uid, gid)
	}
}

func TestSymlinkProblem(t *testing.T) {
	for _, tc := range []struct {
		link, target string
		ok           bool
	}{
		{"node_modules/.bin/x", "../pkg/x.js", true},
		{"node_modules/.bin/x", "../../x", true},
		{"node_modules/.bin/x", "../../../x", false},
		{"l", "..", false},
		{"l", "./a/b", true},
		{"l", "/etc/passwd", false},
		{"a/l", "b/../../x", false},
		{"a/l", "", false},
		{"a/l", ".", true},
	} {
		if got := symlinkProblem(tc.link, tc.target) == ""; got != tc.ok {
			t.Errorf("symlink %s -> %s: ok=%v, want %v", tc.link, tc.target, got, tc.ok)
		}
	}
}

func TestBadNames(t *testing.T) {
	cs := &ChangeSet{names: map[uint64]int{}}
	for _, p := range []string{"../x", "a/../../x", "/abs", "a//b", "a/./b", "", "a/\x00b"} {
		cs.Changes = []Change{{Path: p, Kind: Added, Type: TypeRegular, Perm: 0o644}}
		allowed, refused := validate(cs, nil, false)
		if len(allowed) != 0 || len(refused) != 1 || refused[0].OutsideOnly {
			t.Errorf("path %q: allowed %v refused %v", p, allowed, refused)
		}
	}
	if _, err := cleanOnly([]string{"../x"}); err == nil {
		t.Error("--only ../x accepted")
	}
	if _, err := cleanOnly([]string{"/etc"}); err == nil {
		t.Error("--only /etc accepted")
	}
}

// TestSyncBackRefusesMountPoints: an overlay cannot be mounted from a user namespace over
// a project with mounts inside (the kernel cannot clone the lower path), so Auto picks the
// copy; and a change below the mount point is never written onto the mounted file system.
func TestSyncBackRefusesMountPoints(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs inside the project")
	}
	if why := canUserns(); why != "" {
		t.Skip(why)
	}
	base := searchableTempDir(t)
	project := filepath.Join(base, "project")
	writeTree(t, project, map[string]string{"mnt/.keep": ""})
	e := testEnv()
	chownTree(t, project, e.rootUID, e.rootGID)
	mnt := filepath.Join(project, "mnt")
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=1m,mode=0777"); err != nil {
		t.Skipf("cannot mount a tmpfs: %v", err)
	}
	defer unix.Unmount(mnt, unix.MNT_DETACH)
	o := ScratchOptions{Project: project, StateDir: filepath.Join(base, "state"),
		RootUID: e.rootUID, RootGID: e.rootGID, UIDMappings: e.uidMap, GIDMappings: e.gidMap, Mode: ModeOverlay}
	if s, err := NewScratch(context.Background(), o); err == nil {
		s.Close()
		t.Fatal("ModeOverlay accepted a project with a mount inside")
	}
	o.Mode = ModeAuto
	s, err := NewScratch(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Mode() != ModeCopy {
		t.Fatalf("auto mode = %v, want copy", s.Mode())
	}
	t.Log("auto chose copy: ", s.ModeReason())
	if out, err := runInSandbox(t, s, "set -e; echo x > mnt/x; echo y > y"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	uid, gid := testOwner()
	rep, err := s.SyncBack(SyncOptions{OwnerUID: uid, OwnerGID: gid})
	if !errors.Is(err, ErrRefused) || !rep.Stopped {
		t.Fatalf("want a stopped sync, got %v", err)
	}
	t.Log(err)
	wantAbsent(t, mnt, "x")
	wantAbsent(t, project, "y")
}

func TestDefaultStateDir(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", "/somewhere/cache")
	got, err := defaultStateDir()
	if err != nil {
		t.Fatal(err)
	}
	want := "/somewhere/cache/phylum-box/scratch"
	if os.Geteuid() == 0 {
		want = "/var/cache/phylum-box/scratch"
	}
	if got != want {
		t.Errorf("defaultStateDir() = %s, want %s", got, want)
	}
}

package rootfs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// otherFSDir returns a searchable temp dir on a file system other than the one t.TempDir
// uses, or skips saying why.
func otherFSDir(t *testing.T, than string) string {
	t.Helper()
	d, err := os.MkdirTemp("/dev/shm", "phylum-rootfs-")
	if err != nil {
		t.Skipf("no /dev/shm to put scratch on another file system: %v", err)
	}
	t.Cleanup(func() { _ = removeScratchDir(d) })
	if err := os.Chmod(d, 0o711); err != nil {
		t.Fatal(err)
	}
	if sameDevice(d, than) {
		t.Skipf("/dev/shm and %s are one file system here; cannot test the cross-file-system copy", than)
	}
	return d
}

// TestSyncBackAcrossFileSystems: with scratch on another file system, rename fails with
// EXDEV and SyncBack copies (copy_file_range) to a temporary name beside the target.
func TestSyncBackAcrossFileSystems(t *testing.T) {
	if why := canUserns(); why != "" {
		t.Skip(why)
	}
	siblingScratch = false
	defer func() { siblingScratch = true }()
	for _, mode := range []Mode{ModeOverlay, ModeCopy} {
		t.Run(mode.String(), func(t *testing.T) {
			base := searchableTempDir(t)
			project := filepath.Join(base, "project")
			writeTree(t, project, map[string]string{"edit": "old", "gone": "g"})
			e := testEnv()
			if mode == ModeOverlay {
				chownTree(t, project, e.rootUID, e.rootGID)
			}
			s, err := NewScratch(context.Background(), ScratchOptions{Project: project, StateDir: otherFSDir(t, base),
				RootUID: e.rootUID, RootGID: e.rootGID, UIDMappings: e.uidMap, GIDMappings: e.gidMap, Mode: mode})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if sameDevice(s.Dir(), project) {
				t.Fatal("scratch is on the project's file system")
			}
			if out, err := runInSandbox(t, s, "set -e; echo new > edit; rm gone; mkdir -p node_modules/x; echo x > node_modules/x/i.js; ln -s x node_modules/y"); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			uid, gid := testOwner()
			rep, err := s.SyncBack(SyncOptions{OwnerUID: uid, OwnerGID: gid})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Applied) != 6 {
				t.Errorf("applied %v", rep.Applied)
			}
			wantFile(t, project, "edit", "new\n")
			wantFile(t, project, "node_modules/x/i.js", "x\n")
			wantLink(t, project, "node_modules/y", "x")
			wantAbsent(t, project, "gone")
			wantOwner(t, project, "node_modules/x/i.js")
			matches, _ := filepath.Glob(filepath.Join(project, "*", ".phylum-box-*"))
			more, _ := filepath.Glob(filepath.Join(project, ".phylum-box-*"))
			if len(matches)+len(more) != 0 {
				t.Errorf("temporary files left: %v %v", matches, more)
			}
		})
	}
}

// TestFailedRunLeavesHostIdentical: a run that fails is not synced; Close removes the
// scratch and the host tree is byte-identical.
func TestFailedRunLeavesHostIdentical(t *testing.T) {
	if why := canUserns(); why != "" {
		t.Skip(why)
	}
	for _, mode := range []Mode{ModeOverlay, ModeCopy} {
		t.Run(mode.String(), func(t *testing.T) {
			base := searchableTempDir(t)
			project := filepath.Join(base, "project")
			writeTree(t, project, map[string]string{"a": "a", "d/b": "b", "package.json": "{}"})
			e := testEnv()
			if mode == ModeOverlay {
				chownTree(t, project, e.rootUID, e.rootGID)
			}
			before := hashTree(t, project)
			s, err := NewScratch(context.Background(), ScratchOptions{Project: project, StateDir: filepath.Join(base, "state"),
				RootUID: e.rootUID, RootGID: e.rootGID, UIDMappings: e.uidMap, GIDMappings: e.gidMap, Mode: mode})
			if err != nil {
				t.Fatal(err)
			}
			out, err := runInSandbox(t, s, "rm -r d; echo x > a; chmod 600 package.json; mkdir node_modules; echo n > node_modules/n; exit 3")
			if err == nil {
				t.Fatalf("the run should fail: %s", out)
			}
			dir := s.Dir()
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Lstat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("scratch %s left: %v", dir, err)
			}
			if hashTree(t, project) != before {
				t.Error("host project changed")
			}
		})
	}
}

// TestCopyModeSeesRestoredMtime: an edit that restores size and mtime is still a change
// (the ctime/inode snapshot cannot be faked).
func TestCopyModeSeesRestoredMtime(t *testing.T) {
	if why := canUserns(); why != "" {
		t.Skip(why)
	}
	base := searchableTempDir(t)
	project := filepath.Join(base, "project")
	writeTree(t, project, map[string]string{"f": "aaaa", "untouched": "u"})
	e := testEnv()
	s, err := NewScratch(context.Background(), ScratchOptions{Project: project, StateDir: filepath.Join(base, "state"),
		RootUID: e.rootUID, RootGID: e.rootGID, Mode: ModeCopy})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if out, err := runInSandbox(t, s, "set -e; m=$(stat -c %Y f); printf bbbb > f; touch -d @$m f"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	cs, err := s.Changes()
	if err != nil {
		t.Fatal(err)
	}
	if got := describe(cs); len(got) != 1 || got[0] != "modified file f" {
		t.Errorf("changes %q, want [modified file f]", got)
	}
}

// TestRollback: a conflict found late undoes every change already applied.
func TestRollback(t *testing.T) {
	if why := canUserns(); why != "" {
		t.Skip(why)
	}
	base := searchableTempDir(t)
	project := filepath.Join(base, "project")
	writeTree(t, project, map[string]string{"a": "a", "b": "b", "d/x": "x", "m/y": "y"})
	e := testEnv()
	s, err := NewScratch(context.Background(), ScratchOptions{Project: project, StateDir: filepath.Join(base, "state"),
		RootUID: e.rootUID, RootGID: e.rootGID, Mode: ModeCopy})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if out, err := runInSandbox(t, s, "set -e; rm a; echo 2 > b; rm -r d; rm -r m; mkdir m; echo z > m/z; mkdir n; echo n > n/n; chmod 700 n"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	cs, err := s.Changes()
	if err != nil {
		t.Fatal(err)
	}
	before := hashTree(t, project)
	// The last change expects a host file that is not there: a conflict after the others
	// were applied.
	cs.Changes = append(cs.Changes, Change{Path: "zzz", Kind: Modified, Type: TypeRegular, Prev: TypeRegular, Perm: 0o644})
	uid, gid := testOwner()
	rep, err := s.apply(cs, SyncOptions{OwnerUID: uid, OwnerGID: gid})
	if !errors.Is(err, ErrRefused) || !rep.Stopped {
		t.Fatalf("want a stopped sync, got %v", err)
	}
	t.Log(err)
	if hashTree(t, project) != before {
		t.Error("host project not restored after the rollback")
	}
	var st unix.Stat_t
	if unix.Lstat(filepath.Join(s.stagingDir(), "b"), &st) != nil {
		t.Error("rolled-back file not returned to the staging dir")
	}
}

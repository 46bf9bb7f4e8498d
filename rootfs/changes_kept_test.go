package rootfs

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/phylum-box/phylum-box/internal/topdir"
)

// TestChangesKeptUntilNextContainer: a second Changes with no container in
// between returns the first one's list (a file put into the scratch behind its
// back is not seen, which is how the test knows no walk was made), a caller's
// edits to a returned list reach no later caller, and handing the project to
// the next container, or syncing, makes the next call walk again.
func TestChangesKeptUntilNextContainer(t *testing.T) {
	if why := canUserns(); why != "" {
		t.Skip(why)
	}
	for _, mode := range []Mode{ModeOverlay, ModeCopy} {
		t.Run(mode.String(), func(t *testing.T) {
			base := searchableTempDir(t)
			project := filepath.Join(base, "project")
			writeTree(t, project, map[string]string{"keep": "k"})
			if err := os.Chmod(project, 0o755); err != nil {
				t.Fatal(err)
			}
			e := testEnv()
			if mode == ModeOverlay {
				chownTree(t, project, e.rootUID, e.rootGID)
			}
			s, err := NewScratch(context.Background(), ScratchOptions{Project: project, StateDir: filepath.Join(base, "state"),
				RootUID: e.rootUID, RootGID: e.rootGID, UIDMappings: e.uidMap, GIDMappings: e.gidMap, Mode: mode})
			if err != nil {
				t.Skip(err)
			}
			defer s.Close()
			if out, err := runInSandbox(t, s, "set -e; mkdir -p node_modules/a; echo a > node_modules/a/i.js"); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			want := []string{"added dir node_modules", "added dir node_modules/a", "added file node_modules/a/i.js"}
			cs, err := s.Changes()
			if err != nil {
				t.Fatal(err)
			}
			if got := describe(cs); !slices.Equal(got, want) {
				t.Fatalf("changes %q, want %q", got, want)
			}
			cs.Changes[0].Path = "elsewhere"
			cs.Changes = cs.Changes[:1]
			// Behind the list's back (no container does this: they have all exited).
			if err := os.WriteFile(filepath.Join(s.sourceDir(), "node_modules", "a", "late.js"), []byte("late"), 0o644); err != nil {
				t.Fatal(err)
			}
			again, err := s.Changes()
			if err != nil {
				t.Fatal(err)
			}
			if got := describe(again); !slices.Equal(got, want) {
				t.Errorf("second Changes %q, want the first list %q unchanged", got, want)
			}
			if err := os.Remove(filepath.Join(s.sourceDir(), "node_modules", "a", "late.js")); err != nil {
				t.Fatal(err)
			}
			if out, err := runInSandbox(t, s, "set -e; echo b > node_modules/a/b.js"); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			after, err := s.Changes()
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, "added file node_modules/a/b.js")
			slices.Sort(want)
			got := describe(after)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("after the next container: changes %q, want %q", got, want)
			}
			uid, gid := testOwner()
			if _, err := s.SyncBack(SyncOptions{OwnerUID: uid, OwnerGID: gid}); err != nil {
				t.Fatal(err)
			}
			wantFile(t, project, "node_modules/a/b.js", "b\n")
			if mode == ModeOverlay {
				synced, err := s.Changes()
				if err != nil {
					t.Fatal(err)
				}
				if got := describe(synced); len(got) != 0 {
					t.Errorf("after the sync: changes %q, want none (everything moved into the project)", got)
				}
			}
		})
	}
}

// TestStateDirMarkedTopdir: the scratch state dir carries ext4's top-of-hierarchy
// flag, so each run's scratch dir is placed away from what earlier runs freed
// (internal/topdir); where the file system has no such flag, NewScratch works
// without it.
func TestStateDirMarkedTopdir(t *testing.T) {
	base := searchableTempDir(t)
	project := filepath.Join(base, "project")
	writeTree(t, project, map[string]string{"f": "x"})
	probe := filepath.Join(base, "probe")
	if err := os.Mkdir(probe, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := topdir.Mark(probe); err != nil {
		t.Skipf("the file system of %s has no top-of-hierarchy flag: %v", base, err)
	}
	state := filepath.Join(base, "state")
	e := testEnv()
	s, err := NewScratch(context.Background(), ScratchOptions{Project: project, StateDir: state,
		RootUID: e.rootUID, RootGID: e.rootGID, Mode: ModeCopy})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !topdir.Marked(state) {
		t.Errorf("state dir %s is not marked", state)
	}
	if topdir.Marked(s.Dir()) {
		t.Errorf("the run's own scratch dir %s is marked: only its parent should be", s.Dir())
	}
}

package rootfs

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestDiscard: what a container wrote before Discard is gone for the next one and
// for the sync (overlay and copy), and what it writes after is kept.
func TestDiscard(t *testing.T) {
	if why := canUserns(); why != "" {
		t.Skip(why)
	}
	for _, mode := range []Mode{ModeOverlay, ModeCopy} {
		t.Run(mode.String(), func(t *testing.T) {
			base := searchableTempDir(t)
			project := filepath.Join(base, "project")
			writeTree(t, project, map[string]string{"f": "orig", "d/x": "x"})
			if err := os.Chmod(project, 0o755); err != nil {
				t.Fatal(err)
			}
			e := testEnv()
			s, err := NewScratch(context.Background(), ScratchOptions{Project: project, StateDir: filepath.Join(base, "state"),
				RootUID: e.rootUID, RootGID: e.rootGID, Mode: mode})
			if err != nil {
				t.Skip(err)
			}
			defer s.Close()
			if out, err := runInSandbox(t, s, "set -e; printf planted > f; mkdir -p .venv; printf evil > .venv/x.pth; rm d/x; chmod 0777 ."); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if err := s.Discard(); err != nil {
				t.Fatal(err)
			}
			if out, err := runInSandbox(t, s, `set -e; [ "$(cat f)" = orig ]; [ ! -e .venv ]; [ -e d/x ]; [ "$(stat -c %a .)" = 755 ]; printf new > g`); err != nil {
				t.Fatalf("the next container saw the discarded writes: %v\n%s", err, out)
			}
			cs, err := s.Changes()
			if err != nil {
				t.Fatal(err)
			}
			if got := describe(cs); len(got) != 1 || got[0] != "added file g" {
				t.Errorf("changes %q, want only the write made after Discard", got)
			}
		})
	}
}

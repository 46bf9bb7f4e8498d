package rootfs

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// HostDir finds a directory the run wrote (upper dir or staging copy) and one it
// did not (the project), and refuses a path through a symlink, on either side.
func TestHostDir(t *testing.T) {
	for _, mode := range []Mode{ModeOverlay, ModeCopy} {
		t.Run(mode.String(), func(t *testing.T) {
			base := searchableTempDir(t)
			project := filepath.Join(base, "project")
			outside := filepath.Join(base, "outside")
			writeTree(t, project, map[string]string{"old/index.js": "old", "f": "x"})
			writeTree(t, outside, map[string]string{"secret": "s"})
			if err := os.Symlink(outside, filepath.Join(project, "link")); err != nil {
				t.Fatal(err)
			}
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
			if out, err := runInSandbox(t, s, "set -e; mkdir -p node_modules/a; printf new > node_modules/a/index.js; ln -s /etc node_modules/b"); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			d, err := s.HostDir("node_modules/a")
			if err != nil {
				t.Fatal(err)
			}
			if data, err := os.ReadFile(filepath.Join(d, "index.js")); err != nil || string(data) != "new" {
				t.Errorf("the run's new dir at %s: %q %v", d, data, err)
			}
			d, err = s.HostDir("old")
			if err != nil {
				t.Fatal(err)
			}
			if data, err := os.ReadFile(filepath.Join(d, "index.js")); err != nil || string(data) != "old" {
				t.Errorf("an untouched dir at %s: %q %v", d, data, err)
			}
			for _, rel := range []string{"link", "link/x", "node_modules/b", "node_modules/b/ssl", "f", "../outside", "/etc"} {
				if d, err := s.HostDir(rel); err == nil {
					t.Errorf("HostDir(%q) = %s, want refused", rel, d)
				} else if strings.Contains(d, "outside") {
					t.Errorf("HostDir(%q) returned %s", rel, d)
				}
			}
		})
	}
}

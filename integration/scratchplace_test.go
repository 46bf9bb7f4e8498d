package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/phylum-box/phylum-box/internal/topdir"
)

// TestScratchPlacedAsTopLevel: after a run, the dirs that hold every run's scratch
// (the overlay's upper, where npm ci writes its 5,800 files) and every container's
// skeleton root carry ext4's top-of-hierarchy flag, so each run's dirs are placed
// like top-level ones, away from the groups earlier runs freed trees in
// (internal/topdir); and the run's change is synced as ever — the flag changes
// where inodes go, nothing else. Skipped where the file system has no such flag.
func TestScratchPlacedAsTopLevel(t *testing.T) {
	probe := filepath.Join(suite.base, fmt.Sprintf("topdir-probe-%d", os.Getpid()))
	if err := os.Mkdir(probe, 0o755); err != nil && !os.IsExist(err) {
		t.Fatal(err)
	}
	defer os.Remove(probe)
	if err := topdir.Mark(probe); err != nil {
		t.Skipf("the file system of %s has no top-of-hierarchy flag: %v", suite.base, err)
	}
	forEachMode(t, func(t *testing.T, m mode) {
		b := newBox(t, m)
		r := b.sh(nil, `mkdir -p node_modules/a && echo x > node_modules/a/i.js`)
		wantCode(t, r, 0, "a run that writes a tree")
		if got, err := os.ReadFile(filepath.Join(b.Project, "node_modules", "a", "i.js")); err != nil || string(got) != "x\n" {
			t.Errorf("the run's tree was not synced: %q, %v", got, err)
		}
		scratch, containers := "/var/cache/phylum-box/scratch", "/run/phylum-box"
		if m.rootless() {
			scratch = filepath.Join(b.Home, ".cache", "phylum-box", "scratch")
			containers = filepath.Join(os.TempDir(), fmt.Sprintf("phylum-box-%d", m.uid()))
		}
		for _, d := range []string{scratch, containers} {
			if fi, err := os.Lstat(d); err != nil || !fi.IsDir() {
				t.Errorf("state dir %s: %v", d, err)
				continue
			}
			if !topdir.Marked(d) {
				t.Errorf("state dir %s is not marked as the top of unrelated hierarchies", d)
			}
		}
	})
}

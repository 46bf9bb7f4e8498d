package managers

import (
	"os"
	"path/filepath"
	"testing"
)

// readNoLink reads the directory the os.Root holds, not whatever its name
// names now: after the project directory is moved and another put in its
// place, the moved one's file is read (the twin: before the swap, the same).
func TestReadNoLinkReadsThroughTheRoot(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "p")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"name":"real"}`), 0o644)
	r, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got, err := readNoLink(r, "package.json"); err != nil || string(got) != `{"name":"real"}` {
		t.Fatalf("before: %q, %v", got, err)
	}
	if err := os.Rename(dir, filepath.Join(base, "moved")); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"name":"swapped"}`), 0o644)
	if got, err := readNoLink(r, "package.json"); err != nil || string(got) != `{"name":"real"}` {
		t.Errorf("after the swap: %q, %v; want the root's own file", got, err)
	}
}

package rootfs

import (
	"os"
	"path/filepath"
	"testing"
)

// inUpper takes only entries the walk in locate would also find in the upper
// dir at their last component: through real directories, not a whiteout.
func TestInUpperShortCut(t *testing.T) {
	up := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(up, "node_modules/a"), 0o755))
	must(os.WriteFile(filepath.Join(up, "node_modules/a/package.json"), []byte("{}"), 0o644))
	must(os.WriteFile(filepath.Join(up, "node_modules/a/empty"), nil, 0o644))
	must(os.Symlink("a", filepath.Join(up, "node_modules/link")))
	must(os.Symlink("/etc", filepath.Join(up, "node_modules/out")))
	must(os.WriteFile(filepath.Join(up, "file"), []byte("x"), 0o644))
	for rel, want := range map[string]bool{
		"node_modules/a/package.json":    true,
		"node_modules/a":                 true,
		"node_modules/link":              true,  // the link itself: ReadFile refuses it after
		"node_modules/link/package.json": false, // through a symlink: the walk says why
		"node_modules/out/passwd":        false,
		"node_modules/a/empty":           false, // may be a whiteout: the walk reads its xattrs
		"node_modules/a/missing":         false,
		"file/below":                     false, // a file on the way
	} {
		if got := inUpper(up, rel); got != want {
			t.Errorf("inUpper(%q) = %v, want %v", rel, got, want)
		}
	}
}

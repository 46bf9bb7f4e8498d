package topdir

import (
	"os"
	"path/filepath"
	"testing"
)

func TestMark(t *testing.T) {
	d := t.TempDir()
	if Marked(d) {
		t.Fatalf("%s is marked before Mark", d)
	}
	if err := Mark(d); err != nil {
		t.Skipf("the file system of %s has no top-of-hierarchy flag: %v", d, err)
	}
	if !Marked(d) {
		t.Fatalf("%s is not marked after Mark", d)
	}
	if err := Mark(d); err != nil {
		t.Errorf("Mark of a marked dir: %v", err)
	}
	// Only placement changes: the dir still takes files and subdirs as before.
	if err := os.MkdirAll(filepath.Join(d, "a", "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d, "a", "b", "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if Marked(filepath.Join(d, "a")) {
		t.Errorf("a subdir inherited the flag")
	}
}

// TestMarkFollowsNoSymlink: a symlink to a dir is refused, and its target is left
// as it was.
func TestMarkFollowsNoSymlink(t *testing.T) {
	d := t.TempDir()
	target := filepath.Join(d, "target")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(d, "link")
	if err := os.Symlink("target", link); err != nil {
		t.Fatal(err)
	}
	if err := Mark(link); err == nil {
		t.Errorf("Mark followed the symlink %s", link)
	}
	if Marked(target) {
		t.Errorf("the symlink's target was marked")
	}
	if err := Mark(filepath.Join(d, "absent")); err == nil {
		t.Errorf("Mark of an absent dir: no error")
	}
}

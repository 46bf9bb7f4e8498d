package safefs

import (
	"os"
	"path/filepath"
	"testing"
)

func TestReplaceFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sub", "f.json")
	for _, want := range []string{"first", "second"} {
		if err := ReplaceFile(p, []byte(want)); err != nil {
			t.Fatal(err)
		}
		if got, err := os.ReadFile(p); err != nil || string(got) != want {
			t.Fatalf("read %q, %v; want %q", got, err, want)
		}
	}
	if st, err := os.Stat(filepath.Dir(p)); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v, %v; want 0700", st.Mode().Perm(), err)
	}
	// A rename that cannot happen (a directory in the way) leaves no temporary file.
	in := filepath.Join(dir, "in-the-way")
	if err := os.MkdirAll(filepath.Join(in, "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := ReplaceFile(in, []byte("x")); err == nil {
		t.Error("replaced a non-empty directory")
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".tmp-*")); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
}

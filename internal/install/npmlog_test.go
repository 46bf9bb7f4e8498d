package install

import (
	"os"
	"path/filepath"
	"testing"
)

// After a failed build only the debug log npm named stays: not a link, not another
// file a script put there; with no log named, nothing stays.
func TestNpmLogsKeep(t *testing.T) {
	dir := t.TempDir()
	l := &npmLogs{dir: filepath.Join(dir, "npm-x")}
	if err := os.Mkdir(l.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	named := filepath.Join(l.dir, "2026-12-03T05_00_00_000Z-debug-0.log")
	for _, f := range []string{named, filepath.Join(l.dir, "planted.log"), filepath.Join(l.dir, "sub", "x")} {
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte("log"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(l.dir, "link.log")); err != nil {
		t.Fatal(err)
	}
	got := l.keep("npm error A complete log of this run can be found in: " + named + "\n")
	if got != named {
		t.Fatalf("kept %q, want %q", got, named)
	}
	ents, _ := os.ReadDir(l.dir)
	if len(ents) != 1 {
		t.Errorf("%d entries left, want only the log", len(ents))
	}

	// A "log" that is a link: nothing is kept.
	l2 := &npmLogs{dir: filepath.Join(dir, "npm-y")}
	if err := os.Mkdir(l2.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(l2.dir, "a-debug-0.log")
	if err := os.Symlink("/etc/passwd", link); err != nil {
		t.Fatal(err)
	}
	if got := l2.keep("complete log of this run can be found in: " + link); got != "" || pathExistsL(l2.dir) {
		t.Errorf("a linked log was kept (%q) or the dir left", got)
	}
	var nilLogs *npmLogs
	if nilLogs.keep("x") != "" {
		t.Error("nil keeps nothing")
	}
	nilLogs.remove()
}

func pathExistsL(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

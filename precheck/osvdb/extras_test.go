package osvdb

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUpdateExtras(t *testing.T) {
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "lists", "adir"), 0o755)
	os.WriteFile(filepath.Join(src, "lists", "good.txt"), []byte("good\n"), 0o644)
	os.WriteFile(filepath.Join(src, "lists", "bad.txt"), []byte("bad\n"), 0o644)
	os.WriteFile(filepath.Join(src, "lists", "big.txt"), []byte(strings.Repeat("x", 101)), 0o644)
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "osv.db")
	accept := func(data []byte, from ExtraSource) ([]byte, error) {
		if string(data) == "bad\n" {
			return nil, errors.New("refused")
		}
		return append([]byte(from.Location+" "+from.SHA256[:8]+"\n"), data...), nil
	}
	x := func(p, dest string) Extra {
		return Extra{Path: p, Dest: filepath.Join(dir, dest), MaxBytes: 100, Accept: accept}
	}
	for _, d := range []string{"osv.db.bad", "osv.db.big", "osv.db.adir", "osv.db.missing"} {
		os.WriteFile(filepath.Join(dir, d), []byte("old\n"), 0o644)
	}
	res, err := UpdateExtras(context.Background(), dbPath, "file://"+src, []Extra{
		x("lists/good.txt", "osv.db.good"), x("lists/bad.txt", "osv.db.bad"), x("lists/big.txt", "osv.db.big"),
		x("lists/adir", "osv.db.adir"), x("lists/missing.txt", "osv.db.missing"),
		{Path: "lists/good.txt", Dest: filepath.Join(t.TempDir(), "elsewhere"), MaxBytes: 100, Accept: accept},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"", "refused", "more than 100 bytes", "not a regular file", "missing", "not next to the database"}
	for i, r := range res {
		got := ""
		switch {
		case r.Missing:
			got = "missing"
		case r.Err != nil:
			got = r.Err.Error()
		}
		if want[i] == "" && got != "" || !strings.Contains(got, want[i]) {
			t.Errorf("%s: %q, want %q", r.Path, got, want[i])
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "osv.db.good")); !strings.HasPrefix(string(b), filepath.Join(src, "lists", "good.txt")+" ") || !strings.HasSuffix(string(b), "\ngood\n") {
		t.Errorf("stored: %q", b)
	}
	for _, d := range []string{"osv.db.bad", "osv.db.big", "osv.db.adir", "osv.db.missing"} {
		if b, _ := os.ReadFile(filepath.Join(dir, d)); string(b) != "old\n" {
			t.Errorf("%s changed: %q", d, b)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".osv.db.*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

package osvdb

import (
	"archive/zip"
	"os"
	"path/filepath"
	"testing"

	"github.com/phylum-box/phylum-box/internal/testutil/corpus"
)

// corpusDir is ../shared/corpus relative to the repository root (the directory
// holding go.mod), where CI also has it.
func corpusDir(t testing.TB) string {
	t.Helper()
	c, err := corpus.Find()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func corpusRecords(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(corpusDir(t), "osv", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no OSV records in the corpus: %v", err)
	}
	return files
}

// writeZip builds an OSV-style zip (flat <ID>.json entries, like all.zip) from files.
func writeZip(t testing.TB, path string, files []string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for _, src := range files {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		w, err := zw.Create(filepath.Base(src))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func mustOpen(t testing.TB, path string) *DB {
	t.Helper()
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

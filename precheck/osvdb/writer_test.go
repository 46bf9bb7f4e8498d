package osvdb

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestWriterSpillsAndMerges forces the external-sort path (many run files, many
// small transactions) and checks it yields the same database contents as the
// in-memory path, including a later withdrawal overriding an earlier record across
// runs and an Update that carries another ecosystem over in many transactions.
func TestWriterSpillsAndMerges(t *testing.T) {
	tmp := t.TempDir()
	zipPath := filepath.Join(tmp, "all.zip")
	writeZip(t, zipPath, corpusRecords(t))
	withdraw := writeRecord(t, t.TempDir(), "MAL-2025-46969", "npm", "chalk", `"withdrawn":"2026-01-01T00:00:00Z",`)

	dump := func(path string) []string {
		db := mustOpen(t, path)
		var out []string
		for _, eco := range Ecosystems {
			for _, p := range []struct{ name, v string }{{"chalk", "5.6.1"}, {"ws", "8.0.0"}, {"jinja2", "3.1.2"}, {"rack", "3.0.9"}, {"tokio", "1.8.3"}, {"debug", "4.4.2"}} {
				fs, _ := db.Lookup(eco, p.name, p.v)
				for _, f := range fs {
					out = append(out, eco+" "+p.name+" "+f.ID)
				}
			}
		}
		st, _ := db.Status()
		for _, e := range st.Ecosystems {
			out = append(out, fmt.Sprint(e.Name, " ", e.Records, " ", e.Packages))
		}
		return out
	}
	build := func() string {
		path := filepath.Join(t.TempDir(), "osv.db")
		if err := Import(context.Background(), path, []string{zipPath, filepath.Join(corpusDir(t), "osv"), withdraw}, nil); err != nil {
			t.Fatal(err)
		}
		return path
	}
	normal := dump(build())

	oldRun, oldTx := runBytes, txOps
	runBytes, txOps = 512, 3
	t.Cleanup(func() { runBytes, txOps = oldRun, oldTx })
	spilled := build()
	if got := dump(spilled); !slices.Equal(got, normal) {
		t.Errorf("spilled import differs:\n got %v\nwant %v", got, normal)
	}
	if slices.Contains(normal, "npm chalk MAL-2025-46969") {
		t.Error("the withdrawal in the last source did not win")
	}
	if !slices.Contains(normal, "npm debug MAL-2025-46974") {
		t.Errorf("dump lacks debug: %v", normal)
	}
	// Carry-over in many small transactions: update PyPI only, keep the rest.
	base := t.TempDir()
	os.MkdirAll(filepath.Join(base, "PyPI"), 0o755)
	writeZip(t, filepath.Join(base, "PyPI", "all.zip"), corpusByEcosystem(t)["PyPI"])
	if err := Update(context.Background(), spilled, base, []string{"PyPI"}, nil); err != nil {
		t.Fatal(err)
	}
	if got := dump(spilled); !slices.Equal(got, normal) {
		t.Errorf("after a PyPI-only update:\n got %v\nwant %v", got, normal)
	}
	ents, _ := os.ReadDir(filepath.Dir(spilled))
	for _, e := range ents {
		if e.Name() != "osv.db" && e.Name() != "osv.db.lock" {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

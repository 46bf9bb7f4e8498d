package osvdb

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/phylum-box/phylum-box/precheck"
)

// corpusCounts computes, independently of the importer, how many non-withdrawn
// advisories and distinct packages each ecosystem has in the corpus.
func corpusCounts(t *testing.T) map[string][2]int {
	t.Helper()
	ids := map[string]map[string]bool{}
	names := map[string]map[string]bool{}
	for _, p := range corpusRecords(t) {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var r struct {
			ID        string `json:"id"`
			Withdrawn string `json:"withdrawn"`
			Affected  []struct {
				Package struct{ Ecosystem, Name string } `json:"package"`
			} `json:"affected"`
		}
		if err := json.Unmarshal(data, &r); err != nil {
			t.Fatal(err)
		}
		if r.Withdrawn != "" {
			continue
		}
		for _, a := range r.Affected {
			eco := a.Package.Ecosystem
			if ids[eco] == nil {
				ids[eco], names[eco] = map[string]bool{}, map[string]bool{}
			}
			ids[eco][r.ID] = true
			names[eco][NormalizeName(eco, a.Package.Name)] = true
		}
	}
	out := map[string][2]int{}
	for eco := range ids {
		out[eco] = [2]int{len(ids[eco]), len(names[eco])}
	}
	return out
}

func checkStatus(t *testing.T, db *DB, want map[string][2]int) Status {
	t.Helper()
	st, err := db.Status()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][2]int{}
	for _, e := range st.Ecosystems {
		got[e.Name] = [2]int{e.Records, e.Packages}
		if e.Updated.IsZero() {
			t.Errorf("%s: no update time", e.Name)
		}
	}
	if len(got) != len(want) {
		t.Errorf("status ecosystems = %v, want %v", got, want)
	}
	for eco, w := range want {
		if got[eco] != w {
			t.Errorf("%s: (records, packages) = %v, want %v", eco, got[eco], w)
		}
	}
	if st.Updated.IsZero() || st.Format != formatVersion {
		t.Errorf("status: %+v", st)
	}
	return st
}

func TestImportDirectoryZipAndFiles(t *testing.T) {
	want := corpusCounts(t)
	if len(want) != 4 {
		t.Fatalf("corpus should cover 4 ecosystems, got %v", want)
	}
	tmp := t.TempDir()
	zipPath := filepath.Join(tmp, "all.zip")
	writeZip(t, zipPath, corpusRecords(t))

	for _, tc := range []struct {
		name    string
		sources []string
	}{
		{"directory", []string{filepath.Join(corpusDir(t), "osv")}},
		{"zip", []string{zipPath}},
		{"json files", corpusRecords(t)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "sub", "osv.db")
			var logs []string
			p := &Progress{Logf: func(f string, a ...any) { logs = append(logs, f) }}
			if err := Import(context.Background(), path, tc.sources, p); err != nil {
				t.Fatal(err)
			}
			if len(logs) == 0 {
				t.Error("no status lines logged")
			}
			db := mustOpen(t, path)
			checkStatus(t, db, want)
			fs, err := db.Lookup("npm", "chalk", "5.6.1")
			if err != nil || len(fs) != 1 || fs[0].Kind != precheck.Malicious {
				t.Fatalf("chalk@5.6.1: %v %v", fs, err)
			}
			fi, err := os.Stat(path)
			if err != nil || fi.Mode().Perm() != 0o644 {
				t.Errorf("database mode: %v %v", fi.Mode(), err)
			}
			assertNoLeftovers(t, filepath.Dir(path))
		})
	}
}

// assertNoLeftovers checks that only the database and its lock file remain.
func assertNoLeftovers(t *testing.T, dir string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if n := e.Name(); n != "osv.db" && n != "osv.db.lock" {
			t.Errorf("left behind in %s: %s", dir, n)
		}
	}
}

func writeRecord(t *testing.T, dir, id, eco, name string, extra string) string {
	t.Helper()
	doc := `{"id":"` + id + `","summary":"s",` + extra + `"affected":[{"package":{"ecosystem":"` + eco + `","name":"` + name + `"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}]}]}`
	p := filepath.Join(dir, id+".json")
	if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func ids(t *testing.T, db *DB, eco, name, version string) []string {
	t.Helper()
	fs, err := db.Lookup(eco, name, version)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range fs {
		out = append(out, f.ID)
	}
	slices.Sort(out)
	return out
}

// TestImportMerges: import adds to and updates the current database; a withdrawn
// record removes the advisory; other data is kept.
func TestImportMerges(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "osv.db")
	a := writeRecord(t, t.TempDir(), "MAL-1", "npm", "evil", "")
	b := writeRecord(t, t.TempDir(), "MAL-2", "PyPI", "Bad_Pkg", "")
	if err := Import(context.Background(), path, []string{a}, nil); err != nil {
		t.Fatal(err)
	}
	if err := Import(context.Background(), path, []string{b}, nil); err != nil {
		t.Fatal(err)
	}
	db := mustOpen(t, path)
	if got := ids(t, db, "npm", "evil", "1.0.0"); !slices.Equal(got, []string{"MAL-1"}) {
		t.Errorf("after second import, npm evil = %v", got)
	}
	if got := ids(t, db, "pypi", "bad-pkg", "1.0"); !slices.Equal(got, []string{"MAL-2"}) {
		t.Errorf("PyPI bad-pkg = %v", got)
	}
	db.Close()

	w := writeRecord(t, t.TempDir(), "MAL-1", "npm", "evil", `"withdrawn":"2026-01-01T00:00:00Z",`)
	if err := Import(context.Background(), path, []string{w}, nil); err != nil {
		t.Fatal(err)
	}
	db = mustOpen(t, path)
	if got := ids(t, db, "npm", "evil", "1.0.0"); got != nil {
		t.Errorf("withdrawn MAL-1 still matches: %v", got)
	}
	st, _ := db.Status()
	if es, _ := st.Ecosystem("npm"); es.Withdrawn != 1 || es.Records != 0 {
		t.Errorf("npm status after withdrawal: %+v", es)
	}
	if es, _ := st.Ecosystem("PyPI"); es.Records != 1 {
		t.Errorf("PyPI status kept: %+v", es)
	}
}

// TestImportFailureKeepsDatabase: a broken source fails the import with an error
// naming it, and the current database is byte-for-byte unchanged.
func TestImportFailureKeepsDatabase(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "osv.db")
	if err := Import(context.Background(), path, []string{filepath.Join(corpusDir(t), "osv")}, nil); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	bad := t.TempDir()
	writeRecord(t, bad, "MAL-9", "npm", "x", "")
	if err := os.WriteFile(filepath.Join(bad, "broken.json"), []byte(`{"id": "X", "affected": [`), 0o644); err != nil {
		t.Fatal(err)
	}
	notZip := filepath.Join(t.TempDir(), "all.zip")
	os.WriteFile(notZip, []byte("PK\x03\x04 this is not a zip"), 0o644)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name    string
		ctx     context.Context
		sources []string
		want    []string
	}{
		{"malformed json", context.Background(), []string{bad}, []string{"broken.json", "not a valid OSV record", "unchanged"}},
		{"not a zip", context.Background(), []string{notZip}, []string{notZip, "not a readable zip"}},
		{"missing source", context.Background(), []string{filepath.Join(dir, "nope")}, []string{"nope"}},
		{"cancelled", ctx, []string{filepath.Join(corpusDir(t), "osv")}, []string{"context canceled"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Import(tc.ctx, path, tc.sources, nil)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			after, _ := os.ReadFile(path)
			if string(after) != string(before) {
				t.Error("database changed")
			}
			assertNoLeftovers(t, dir)
		})
	}
	if err := Import(context.Background(), path, nil, nil); err == nil {
		t.Error("Import with no sources: no error")
	}
}

// TestReadersSurviveSwap: an open reader keeps answering from the old file while an
// import renames a new one into place; a new Open sees the new data.
func TestReadersSurviveSwap(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "osv.db")
	a := writeRecord(t, t.TempDir(), "MAL-1", "npm", "evil", "")
	if err := Import(context.Background(), path, []string{a}, nil); err != nil {
		t.Fatal(err)
	}
	old := mustOpen(t, path)
	b := writeRecord(t, t.TempDir(), "MAL-2", "npm", "evil", "")
	if err := Import(context.Background(), path, []string{b}, nil); err != nil {
		t.Fatal(err)
	}
	if got := ids(t, old, "npm", "evil", "1.0.0"); !slices.Equal(got, []string{"MAL-1"}) {
		t.Errorf("old reader: %v", got)
	}
	if got := ids(t, mustOpen(t, path), "npm", "evil", "1.0.0"); !slices.Equal(got, []string{"MAL-1", "MAL-2"}) {
		t.Errorf("new reader: %v", got)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := Open(filepath.Join(dir, "missing.db"))
	if !errors.Is(err, ErrNoDatabase) || !strings.Contains(err.Error(), "phylum-box db update") {
		t.Errorf("missing database: %v", err)
	}
	junk := filepath.Join(dir, "junk.db")
	os.WriteFile(junk, []byte(strings.Repeat("x", 8192)), 0o644)
	if _, err := Open(junk); err == nil || !strings.Contains(err.Error(), "db update") {
		t.Errorf("junk database: %v", err)
	}
}

func TestLookupErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "osv.db")
	a := writeRecord(t, t.TempDir(), "MAL-1", "npm", "evil", "")
	if err := Import(context.Background(), path, []string{a}, nil); err != nil {
		t.Fatal(err)
	}
	db := mustOpen(t, path)
	res, err := db.LookupBatch([]precheck.Package{
		{Ecosystem: "npm", Name: "evil", Version: "1.0.0"},
		{Ecosystem: "Go", Name: "x", Version: "1"},
		{Ecosystem: "PyPI", Name: "requests", Version: "2.0"},
		{Ecosystem: "npm", Name: "evil", Version: "", Uncheckable: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res[0].Findings) != 1 || res[0].Err != nil {
		t.Errorf("evil: %+v", res[0])
	}
	if res[1].Err == nil {
		t.Error("unsupported ecosystem: no error")
	}
	if res[2].Err == nil || !strings.Contains(res[2].Err.Error(), "db update --ecosystem PyPI") {
		t.Errorf("ecosystem not imported: %v", res[2].Err)
	}
	if res[3].Err != nil || res[3].Findings != nil {
		t.Errorf("uncheckable: %+v", res[3])
	}
}

func TestDefaultPath(t *testing.T) {
	t.Setenv(EnvDB, "")
	t.Setenv("XDG_DATA_HOME", "/xdg/data")
	if p, _ := DefaultPath(); p != "/xdg/data/phylum-box/osv.db" {
		t.Errorf("XDG_DATA_HOME: %s", p)
	}
	t.Setenv("XDG_DATA_HOME", "relative/ignored")
	t.Setenv("HOME", "/home/u")
	if p, _ := DefaultPath(); p != "/home/u/.local/share/phylum-box/osv.db" {
		t.Errorf("fallback: %s", p)
	}
	t.Setenv(EnvDB, "/custom/osv.db")
	if p, _ := DefaultPath(); p != "/custom/osv.db" {
		t.Errorf("%s: %s", EnvDB, p)
	}
}

// TestStaleTemporaryFilesRemoved: files a killed update left next to the database
// are removed by the next one (under the update lock); unrelated files are not.
func TestStaleTemporaryFilesRemoved(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "osv.db")
	for _, n := range []string{".osv.db.new-123", ".osv.db.run-9", ".osv.db.download-npm-1.zip", "keep.txt"} {
		os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o644)
	}
	var logs []string
	p := &Progress{Logf: func(f string, a ...any) { logs = append(logs, f) }}
	if err := Import(context.Background(), path, []string{filepath.Join(corpusDir(t), "osv")}, p); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"keep.txt", "osv.db", "osv.db.lock"}) {
		t.Errorf("directory after import: %v", names)
	}
	if !slices.ContainsFunc(logs, func(s string) bool { return strings.Contains(s, "left by an interrupted update") }) {
		t.Errorf("no log line about the removed files: %v", logs)
	}
}

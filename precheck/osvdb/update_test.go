package osvdb

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// corpusByEcosystem groups the corpus records by the ecosystem of their first
// affected package, the way OSV splits its exports.
func corpusByEcosystem(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, p := range corpusRecords(t) {
		data, _ := os.ReadFile(p)
		var r osvRecord
		if err := json.Unmarshal(data, &r); err != nil {
			t.Fatal(err)
		}
		eco := r.Affected[0].Package.Ecosystem
		out[eco] = append(out[eco], p)
	}
	return out
}

// exportServer serves <eco>/all.zip on 127.0.0.1 from zips built from the corpus;
// tests swap individual responses.
type exportServer struct {
	*httptest.Server
	mu    sync.Mutex
	zips  map[string][]byte
	hooks map[string]http.HandlerFunc
	hits  map[string]int
}

func newExportServer(t *testing.T) *exportServer {
	t.Helper()
	s := &exportServer{zips: map[string][]byte{}, hooks: map[string]http.HandlerFunc{}, hits: map[string]int{}}
	dir := t.TempDir()
	for eco, files := range corpusByEcosystem(t) {
		p := filepath.Join(dir, eco+".zip")
		writeZip(t, p, files)
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		s.zips["/"+eco+"/all.zip"] = data
	}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hits[r.URL.Path]++
		hook, data := s.hooks[r.URL.Path], s.zips[r.URL.Path]
		s.mu.Unlock()
		if hook != nil {
			hook(w, r)
			return
		}
		if data == nil {
			http.NotFound(w, r)
			return
		}
		http.ServeContent(w, r, "all.zip", time.Time{}, bytes.NewReader(data))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *exportServer) hook(path string, h http.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hooks[path] = h
}

func TestUpdateFromHTTP(t *testing.T) {
	srv := newExportServer(t)
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("test server must listen on 127.0.0.1, got %s", srv.URL)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "osv.db")
	var logs []string
	p := &Progress{Logf: func(f string, a ...any) { logs = append(logs, f) }}
	if err := Update(context.Background(), path, srv.URL, nil, p); err != nil {
		t.Fatal(err)
	}
	db := mustOpen(t, path)
	st := checkStatus(t, db, corpusCounts(t))
	for _, e := range st.Ecosystems {
		if len(e.Source) != 1 || !strings.HasPrefix(e.Source[0], srv.URL+"/") {
			t.Errorf("%s source = %v", e.Name, e.Source)
		}
	}
	if got := ids(t, db, "crates.io", "tokio", "1.8.3"); len(got) != 1 {
		t.Errorf("tokio: %v", got)
	}
	db.Close()
	assertNoLeftovers(t, dir)

	// Updating only npm, from an export that has lost every GHSA record, replaces
	// npm and keeps the other ecosystems (and their update times) as they were.
	var malOnly []string
	for _, f := range corpusByEcosystem(t)["npm"] {
		if strings.HasPrefix(filepath.Base(f), "MAL-") {
			malOnly = append(malOnly, f)
		}
	}
	zp := filepath.Join(t.TempDir(), "npm.zip")
	writeZip(t, zp, malOnly)
	data, _ := os.ReadFile(zp)
	srv.mu.Lock()
	srv.zips["/npm/all.zip"] = data
	srv.mu.Unlock()
	if err := Update(context.Background(), path, srv.URL+"/", []string{"npm"}, nil); err != nil {
		t.Fatal(err)
	}
	db = mustOpen(t, path)
	if got := ids(t, db, "npm", "ws", "8.0.0"); got != nil {
		t.Errorf("npm not replaced: ws still has %v", got)
	}
	if got := ids(t, db, "npm", "chalk", "5.6.1"); len(got) != 1 {
		t.Errorf("npm chalk: %v", got)
	}
	if got := ids(t, db, "PyPI", "jinja2", "3.1.2"); len(got) != 1 {
		t.Errorf("PyPI not kept: %v", got)
	}
	st2, _ := db.Status()
	for _, eco := range []string{"PyPI", "RubyGems", "crates.io"} {
		a, _ := st.Ecosystem(eco)
		b, _ := st2.Ecosystem(eco)
		if !a.Updated.Equal(b.Updated) || a.Records != b.Records {
			t.Errorf("%s status changed by an npm-only update: %+v → %+v", eco, a, b)
		}
	}
	if srv.hits["/PyPI/all.zip"] != 1 {
		t.Errorf("PyPI downloaded %d times, want 1", srv.hits["/PyPI/all.zip"])
	}
}

// TestUpdateBrokenDownloads: every way a download can be broken fails with an error
// naming the URL, leaves the database exactly as it was and no temporary files.
func TestUpdateBrokenDownloads(t *testing.T) {
	srv := newExportServer(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "osv.db")
	if err := Update(context.Background(), path, srv.URL, nil, nil); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	good := srv.zips["/npm/all.zip"]
	url := srv.URL + "/npm/all.zip"

	// A stored (uncompressed) zip, so one flipped byte inside a record keeps the
	// JSON valid and only the CRC-32 can catch it.
	storedZip := func(mutate func([]byte), entry func(name string, d []byte) []byte) []byte {
		var buf bytes.Buffer
		zw := newStoredZip(&buf)
		for _, f := range corpusByEcosystem(t)["npm"] {
			d, _ := os.ReadFile(f)
			zw.add(filepath.Base(f), entry(filepath.Base(f), d))
		}
		zw.close()
		b := buf.Bytes()
		mutate(b)
		return b
	}
	same := func(_ string, d []byte) []byte { return d }
	corrupt := storedZip(func(b []byte) {
		i := bytes.Index(b, []byte(`Malicious code in chalk`))
		b[i] = 'm'
	}, same)
	invalidJSON := storedZip(func([]byte) {}, func(name string, d []byte) []byte {
		if name == "MAL-2025-46969.json" {
			return d[:len(d)/2]
		}
		return d
	})

	serve := func(data []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { w.Write(data) }
	}
	tests := []struct {
		name string
		h    http.HandlerFunc
		want []string
	}{
		{"truncated zip", serve(good[:len(good)/2]), []string{url, "not a readable zip"}},
		{"corrupt entry (checksum)", serve(corrupt), []string{url, "MAL-2025-46969.json", "checksum"}},
		{"entry is not JSON", serve(invalidJSON), []string{url, "MAL-2025-46969.json", "not a valid OSV record"}},
		{"connection cut short", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "1000000")
			w.Write(good[:1000])
		}, []string{url, "1000000"}},
		{"not found", http.NotFound, []string{url, "404"}},
		{"larger than any export", func(w http.ResponseWriter, r *http.Request) {
			w.Write(make([]byte, 2<<20)) // streamed without Content-Length
			w.(http.Flusher).Flush()
			w.Write(make([]byte, 2<<20))
		}, []string{url, "more than any OSV export"}},
		{"empty body", serve(nil), []string{url, "not a readable zip"}},
	}
	defer func(old int64) { maxDownload = old }(maxDownload)
	maxDownload = 3 << 20
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.hook("/npm/all.zip", tt.h)
			defer srv.hook("/npm/all.zip", nil)
			err := Update(context.Background(), path, srv.URL, nil, nil)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if !strings.Contains(err.Error(), "unchanged") {
				t.Errorf("error %q does not say the database is unchanged", err)
			}
			after, _ := os.ReadFile(path)
			if !bytes.Equal(before, after) {
				t.Error("database changed")
			}
			assertNoLeftovers(t, dir)
		})
	}
}

func TestUpdateFromLocalDirectory(t *testing.T) {
	base := t.TempDir()
	for eco, files := range corpusByEcosystem(t) {
		os.MkdirAll(filepath.Join(base, eco), 0o755)
		writeZip(t, filepath.Join(base, eco, "all.zip"), files)
	}
	for _, b := range []string{base, "file://" + base} {
		path := filepath.Join(t.TempDir(), "osv.db")
		if err := Update(context.Background(), path, b, []string{"pypi", "cargo"}, nil); err != nil {
			t.Fatal(err)
		}
		db := mustOpen(t, path)
		st, _ := db.Status()
		if len(st.Ecosystems) != 2 {
			t.Errorf("%s: ecosystems %+v", b, st.Ecosystems)
		}
		if _, err := db.Lookup("npm", "chalk", "5.6.1"); err == nil {
			t.Error("npm was not requested but answers")
		}
	}
	err := Update(context.Background(), filepath.Join(t.TempDir(), "osv.db"), filepath.Join(base, "missing"), []string{"npm"}, nil)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(base, "missing", "npm", "all.zip")) {
		t.Errorf("missing local export: %v", err)
	}
	if err := Update(context.Background(), filepath.Join(t.TempDir(), "osv.db"), base, []string{"Go"}, nil); err == nil || !strings.Contains(err.Error(), "unknown ecosystem") {
		t.Errorf("unknown ecosystem: %v", err)
	}
}

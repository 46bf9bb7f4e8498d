package registry

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// is-number@7.0.0's dist as registry.npmjs.org publishes it.
const isNumberDoc = `{"name":"is-number","versions":{"7.0.0":{"name":"is-number","version":"7.0.0",
 "dist":{"integrity":"sha512-41Cifkg6e8TylSpdtTpeLVMqvSBEVzTttHvERD741+pnZ8ANv0004MRL43QKPDlK9cGvNp6NZWZUBlbGXYxxng==",
  "shasum":"7535345b896734d5f80c4d06c50955527a14f12b",
  "tarball":"https://registry.npmjs.org/is-number/-/is-number-7.0.0.tgz"}},
 "1.0.0":{"name":"is-number","version":"1.0.0","dist":{"shasum":"c0a5fbf1a6ee0e3f1b8cdf5b3b10dbec3e8d4fe7"}}},
 "time":{"7.0.0":"2018-07-04T15:08:03.539Z"}}`

func TestIntegrityFromDist(t *testing.T) {
	var accept atomic.Value
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		accept.Store(r.Header.Get("Accept"))
		w.Header().Set("ETag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Write([]byte(isNumberDoc))
	}))
	defer srv.Close()
	ctx := context.Background()
	dir := t.TempDir()

	full := &Client{Registry: srv.URL, CacheDir: dir}
	v, err := full.Version(ctx, "is-number", "7.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if v.Integrity != "sha512-41Cifkg6e8TylSpdtTpeLVMqvSBEVzTttHvERD741+pnZ8ANv0004MRL43QKPDlK9cGvNp6NZWZUBlbGXYxxng== sha1-dTU0W4lnNNX4DE0GxQlVUnoU8Ss=" {
		t.Errorf("7.0.0: Integrity %q", v.Integrity)
	}
	if v.Published.IsZero() || accept.Load() != "application/json" {
		t.Errorf("the full packument: published %v, Accept %q", v.Published, accept.Load())
	}
	if v, _ := full.Version(ctx, "is-number", "1.0.0"); v.Integrity != "sha1-wKX78abuDj8bjN9bOxDb7D6NT+c=" {
		t.Errorf("1.0.0 (shasum only): Integrity %q", v.Integrity)
	}

	// The install document has a cache of its own: one more request, then none.
	abbr := &Client{Registry: srv.URL, CacheDir: dir, Abbreviated: true}
	if v, err := abbr.Version(ctx, "is-number", "7.0.0"); err != nil || !strings.HasPrefix(v.Integrity, "sha512-41Cifk") {
		t.Fatalf("abbreviated: %+v, %v", v, err)
	}
	if !strings.HasPrefix(accept.Load().(string), "application/vnd.npm.install-v1+json") || requests.Load() != 2 {
		t.Errorf("Accept %q after %d requests", accept.Load(), requests.Load())
	}
	if _, err := abbr.Version(ctx, "is-number", "7.0.0"); err != nil || requests.Load() != 2 {
		t.Errorf("a cached version made a request (%d): %v", requests.Load(), err)
	}

	// An entry a phylum-box without hashes wrote is read again in full, not
	// revalidated (a 304 would keep the entry without hashes).
	files, _ := filepath.Glob(filepath.Join(dir, "*", "is-number.json"))
	for _, f := range files {
		if err := os.WriteFile(f, []byte(`{"etag":"\"v1\"","versions":{"7.0.0":{"t":"2018-07-04T15:08:03.539Z"}}}`), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if len(files) != 2 {
		t.Fatalf("cache files %q", files)
	}
	if v, err := full.Version(ctx, "is-number", "7.0.0"); err != nil || v.Integrity == "" {
		t.Errorf("an old cache entry was kept: %+v, %v", v, err)
	}
}

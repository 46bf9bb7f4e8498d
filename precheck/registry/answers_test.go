package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// A registry whose package gains a version when told to.
func growingRegistry(t *testing.T) (*httptest.Server, *atomic.Bool, *atomic.Int32) {
	var grown atomic.Bool
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		name := strings.Replace(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "%2f", "/", 1)
		versions := `"1.0.0":{"version":"1.0.0"},"2.0.0":{"version":"2.0.0","scripts":{"postinstall":"node x"}},"2.0.0+build.1":{"version":"2.0.0+build.1"}`
		etag := `"a"`
		if grown.Load() {
			// A backport published later sits below 2.0.0.
			versions += `,"1.5.0":{"version":"1.5.0"}`
			etag = `"b"`
		}
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		fmt.Fprintf(w, `{"name":%q,"versions":{%s}}`, name, versions)
	}))
	t.Cleanup(srv.Close)
	return srv, &grown, &requests
}

func previousOf(t *testing.T, c *Client, name, version string) History {
	t.Helper()
	res := c.Lookup(context.Background(), []Spec{{name, version}})
	if res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	if res[0].Info.Version != version {
		t.Fatalf("answer for %s, want %s", res[0].Info.Version, version)
	}
	return res[0].Info.History
}

func TestAnswersKeptAndInvalidated(t *testing.T) {
	srv, grown, requests := growingRegistry(t)
	c := &Client{Registry: srv.URL, CacheDir: t.TempDir()}
	for _, name := range []string{"pkg", "@scope/pkg"} {
		t.Run(name, func(t *testing.T) {
			grown.Store(false)
			if h := previousOf(t, c, name, "2.0.0"); h.Previous != "1.0.0" || !h.ScriptsAdded {
				t.Fatalf("history from the registry: %+v", h)
			}
			ep := c.endpoint(name)
			path := answerPath(c.cachePath(ep.URL, name), name, "2.0.0")
			if filepath.Dir(path) != filepath.Dir(c.cachePath(ep.URL, name)) {
				t.Fatalf("answer %s is not beside its entry", path)
			}
			// The kept answer is what the next lookup reads: edited, the edit shows.
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("no answer kept: %v", err)
			}
			var a answer
			if err := json.Unmarshal(b, &a); err != nil {
				t.Fatal(err)
			}
			a.History.Previous = "0.0.1"
			b, _ = json.Marshal(a)
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			if h := previousOf(t, c, name, "2.0.0"); h.Previous != "0.0.1" {
				t.Fatalf("the kept answer was not read: %+v", h)
			}
			// The entry rewritten: the answer no longer matches it.
			entry := c.cachePath(ep.URL, name)
			later := time.Now().Add(time.Second)
			if err := os.Chtimes(entry, later, later); err != nil {
				t.Fatal(err)
			}
			if h := previousOf(t, c, name, "2.0.0"); h.Previous != "1.0.0" {
				t.Fatalf("a stale answer was used: %+v", h)
			}
			// Damaged: worked out again from the entry.
			if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
				t.Fatal(err)
			}
			if h := previousOf(t, c, name, "2.0.0"); h.Previous != "1.0.0" {
				t.Fatalf("after a damaged answer: %+v", h)
			}
			// A version the cache lacks fetches the grown packument, whose
			// backport is now 2.0.0's previous version.
			grown.Store(true)
			before := requests.Load()
			res := c.Lookup(context.Background(), []Spec{{name, "2.0.0"}, {name, "1.5.0"}, {name, "2.0.0+build.1"}})
			for _, r := range res {
				if r.Err != nil {
					t.Fatal(r.Err)
				}
			}
			if requests.Load() != before+1 || res[0].Info.History.Previous != "1.5.0" {
				t.Fatalf("after the registry grew: %d request(s), history %+v", requests.Load()-before, res[0].Info.History)
			}
			if h := previousOf(t, c, name, "2.0.0"); h.Previous != "1.5.0" || requests.Load() != before+1 {
				t.Fatalf("answer after the fetch: %+v, %d request(s)", h, requests.Load()-before)
			}
		})
	}
	// Each answer is one file of its own, its name escaped.
	var names []string
	filepath.WalkDir(c.CacheDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".answer") {
			names = append(names, filepath.Base(p))
		}
		return nil
	})
	want := map[string]bool{"pkg@2.0.0.answer": true, "%40scope%2Fpkg@2.0.0%2Bbuild.1.answer": true}
	for _, n := range names {
		delete(want, n)
	}
	if len(want) > 0 {
		t.Errorf("answers kept: %v; missing %v", names, want)
	}
}

// An answer whose name would be too long for a file system is not kept; the
// lookup still answers.
func TestAnswerNameTooLong(t *testing.T) {
	c := &Client{Registry: "http://127.0.0.1:9", CacheDir: t.TempDir()}
	if p := answerPath(c.cachePath("r", "a"), strings.Repeat("a", 200), "1.0.0-"+strings.Repeat("b", 60)); p != "" {
		t.Errorf("kept at %s", p)
	}
}

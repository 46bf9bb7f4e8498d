package registry

import (
	"context"
	"encoding/json"
	"errors"
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

// Live tests against the npm registry (reachable from CI): few packages, small ones.

func liveClient(t *testing.T) *Client {
	t.Helper()
	if testing.Short() {
		t.Skip("live npm registry test (-short)")
	}
	return &Client{HTTP: &http.Client{Timeout: 30 * time.Second}, CacheDir: t.TempDir()}
}

func TestLiveLookup(t *testing.T) {
	c := liveClient(t)
	ctx := context.Background()
	res := c.Lookup(ctx, []Spec{
		{"lodash", "4.17.21"},
		{"esbuild", "0.21.5"},
		{"@babel/core", "7.24.0"},
		{"lodash", "4.17.20"},
	})
	for _, r := range res {
		if r.Err != nil {
			t.Fatalf("%s@%s: %v", r.Name, r.Version, r.Err)
		}
	}
	lodash := res[0].Info
	// npmjs.org says 2021-02-20T15:42:16.891Z; mirrors may re-stamp later, never earlier.
	if lodash.Published.Before(time.Date(2021, 2, 20, 0, 0, 0, 0, time.UTC)) || lodash.Published.After(time.Now()) {
		t.Errorf("lodash@4.17.21 published %v", lodash.Published)
	}
	if lodash.InstallScripts {
		t.Errorf("lodash has no install scripts, got %v", lodash.Scripts)
	}
	if es := res[1].Info; !es.InstallScripts || !contains(es.Scripts, "postinstall") {
		t.Errorf("esbuild@0.21.5 runs a postinstall, got %+v", es)
	}
	if b := res[2].Info; b.Published.IsZero() || b.InstallScripts {
		t.Errorf("@babel/core@7.24.0: %+v", b)
	}

	// Everything asked for is now cached: a second lookup needs no network at all.
	offline := &Client{HTTP: &http.Client{Transport: failingTransport{}}, CacheDir: c.CacheDir}
	again := offline.Lookup(ctx, []Spec{{"lodash", "4.17.21"}, {"@babel/core", "7.24.0"}})
	for i, r := range again {
		if r.Err != nil || !r.Info.Published.Equal(res[[]int{0, 2}[i]].Info.Published) {
			t.Errorf("cached %s: %+v %v", r.Name, r.Info, r.Err)
		}
	}
}

func TestLiveNotFound(t *testing.T) {
	c := liveClient(t)
	_, err := c.Versions(context.Background(), "phylum-box-no-such-package-7f3a9c")
	var nf *NotFoundError
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("want NotFoundError, got %v", err)
	}
	_, err = c.Version(context.Background(), "lodash", "0.0.0-nope")
	if !errors.As(err, &nf) || nf.Version != "0.0.0-nope" {
		t.Fatalf("want version NotFoundError, got %v", err)
	}
}

type failingTransport struct{}

func (failingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("network used although the cache had the answer")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// A local registry on 127.0.0.1 for what the public one cannot show on demand:
// conditional requests, credentials, scoped routing, errors.

const packumentJSON = `{"name":%q,"dist-tags":{"latest":"1.1.0"},
 "time":{"created":"2020-01-01T00:00:00.000Z","1.0.0":"2020-01-02T03:04:05.678Z","1.1.0":"2024-02-23T22:24:08.672000+00:00","2.0.0":"2025-01-01T00:00:00+00:00"},
 "versions":{
  "1.0.0":{"name":%[1]q,"version":"1.0.0","scripts":{"test":"tap"}},
  "1.1.0":{"name":%[1]q,"version":"1.1.0","scripts":{"preinstall":"node x.js"}},
  "2.0.0":{"name":%[1]q,"version":"2.0.0","gypfile":true,"scripts":{"install":""}},
  "3.0.0":{"name":%[1]q,"version":"3.0.0","hasInstallScript":true}}}`

type fakeRegistry struct {
	*httptest.Server
	requests, notModified atomic.Int32
	lastPath, lastAuth    atomic.Value
}

func newFakeRegistry(t *testing.T) *fakeRegistry {
	f := &fakeRegistry{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.requests.Add(1)
		f.lastPath.Store(r.URL.EscapedPath())
		f.lastAuth.Store(r.Header.Get("Authorization"))
		name := strings.Replace(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "%2f", "/", 1)
		switch {
		case strings.HasPrefix(name, "private"):
			if r.Header.Get("Authorization") != "Bearer s3cret" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
		case name == "missing":
			w.WriteHeader(http.StatusNotFound)
			return
		case name == "flaky":
			if f.requests.Load() < 2 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
		case name == "liar":
			fmt.Fprintf(w, packumentJSON, "someone-else")
			return
		}
		if r.Header.Get("If-None-Match") == `"v1"` {
			f.notModified.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"v1"`)
		fmt.Fprintf(w, packumentJSON, name)
	}))
	t.Cleanup(f.Close)
	return f
}

func TestFactsFromPackument(t *testing.T) {
	f := newFakeRegistry(t)
	c := &Client{Registry: f.URL}
	p, err := c.Versions(context.Background(), "pkg")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		version string
		when    string
		scripts []string
	}{
		{"1.0.0", "2020-01-02T03:04:05.678Z", nil},
		{"1.1.0", "2024-02-23T22:24:08.672Z", []string{"preinstall"}},
		{"2.0.0", "2025-01-01T00:00:00Z", []string{"gypfile"}}, // an empty install script is no script
		{"3.0.0", "", []string{"hasInstallScript"}},            // no time entry: unknown age
	}
	for _, tt := range tests {
		v := p.Versions[tt.version]
		got := ""
		if !v.Published.IsZero() {
			got = v.Published.Format(time.RFC3339Nano)
		}
		if got != tt.when || v.InstallScripts != (len(tt.scripts) > 0) || fmt.Sprint(v.Scripts) != fmt.Sprint(tt.scripts) {
			t.Errorf("%s: published %q scripts %v %v; want %q %v", tt.version, got, v.InstallScripts, v.Scripts, tt.when, tt.scripts)
		}
	}
	if sv := p.SortedVersions(); sv[0].Version != "3.0.0" || sv[len(sv)-1].Version != "2.0.0" {
		t.Errorf("sorted by publish time: %v", sv)
	}
}

func TestCacheAndConditionalRequests(t *testing.T) {
	f := newFakeRegistry(t)
	c := &Client{Registry: f.URL, CacheDir: t.TempDir()}
	ctx := context.Background()
	if _, err := c.Version(ctx, "pkg", "1.0.0"); err != nil {
		t.Fatal(err)
	}
	// Cached version: no request.
	if _, err := c.Version(ctx, "pkg", "1.1.0"); err != nil || f.requests.Load() != 1 {
		t.Fatalf("cached lookup made a request (%d) or failed: %v", f.requests.Load(), err)
	}
	// Unknown version: one conditional request, answered 304, reported as not published.
	_, err := c.Version(ctx, "pkg", "9.9.9")
	var nf *NotFoundError
	if !errors.As(err, &nf) || f.notModified.Load() != 1 {
		t.Fatalf("want a 304 revalidation and NotFound, got %v (304s: %d)", err, f.notModified.Load())
	}
}

func TestScopesAuthAndErrors(t *testing.T) {
	public := newFakeRegistry(t)
	private := newFakeRegistry(t)
	c := &Client{Registry: public.URL, Token: "public-token",
		Scopes: map[string]Endpoint{"@corp": {URL: private.URL, Token: "s3cret"}}}
	ctx := context.Background()

	if _, err := c.Versions(ctx, "@corp/private-lib"); err != nil {
		t.Fatal(err)
	}
	if got := private.lastPath.Load(); got != "/@corp%2fprivate-lib" {
		t.Errorf("scoped name sent as %v, want /@corp%%2fprivate-lib", got)
	}
	if public.requests.Load() != 0 {
		t.Error("a scoped package went to the default registry")
	}
	if got := public.lastAuth.Load(); got != nil {
		t.Errorf("unexpected auth %v", got)
	}
	if _, err := c.Versions(ctx, "@other/x"); err != nil || public.lastAuth.Load() != "Bearer public-token" {
		t.Errorf("default registry auth: %v %v", public.lastAuth.Load(), err)
	}

	// Wrong credentials: an AuthError that names the fix and never the token.
	bad := &Client{Registry: private.URL, Token: "wrong-token"}
	_, err := bad.Versions(ctx, "private-x")
	var ae *AuthError
	if !errors.As(err, &ae) || !strings.Contains(err.Error(), "_authToken") || strings.Contains(err.Error(), "wrong-token") {
		t.Errorf("want AuthError with advice and no token, got %v", err)
	}
	if s := fmt.Sprintf("%v %+v %v %#v %+v %v", bad.endpoint("x"), c.Scopes, c, c, bad, *bad); strings.Contains(s, "s3cret") || strings.Contains(s, "wrong-token") || strings.Contains(s, "public-token") {
		t.Errorf("endpoint printed a token: %s", s)
	}

	_, err = c.Versions(ctx, "missing")
	var nf *NotFoundError
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), "HTTP 404") {
		t.Errorf("want NotFoundError, got %v", err)
	}
	if _, err := c.Versions(ctx, "liar"); err == nil || !strings.Contains(err.Error(), "someone-else") {
		t.Errorf("a packument for another name must be rejected, got %v", err)
	}
	for _, name := range []string{"../etc/passwd", "a/b", "@s/../x", "x?y", "", "a b"} {
		if _, err := c.Versions(ctx, name); err == nil || !strings.Contains(err.Error(), "not a valid npm package name") {
			t.Errorf("%q: want invalid-name error, got %v", name, err)
		}
	}
}

func TestRetryAndLimits(t *testing.T) {
	f := newFakeRegistry(t)
	c := &Client{Registry: f.URL}
	if _, err := c.Versions(context.Background(), "flaky"); err != nil {
		t.Errorf("a 503 then 200 must succeed: %v", err)
	}
	small := &Client{Registry: f.URL, MaxBytes: 100}
	if _, err := small.Versions(context.Background(), "pkg"); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("want size limit error, got %v", err)
	}
}

func TestLookupConcurrencyAndOrder(t *testing.T) {
	var inFlight, peak atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
		fmt.Fprintf(w, packumentJSON, strings.TrimPrefix(r.URL.Path, "/"))
	}))
	defer srv.Close()
	c := &Client{Registry: srv.URL, Concurrency: 4}
	var specs []Spec
	for i := range 20 {
		specs = append(specs, Spec{fmt.Sprintf("p%02d", i), "1.1.0"}, Spec{fmt.Sprintf("p%02d", i), "1.0.0"})
	}
	res := c.Lookup(context.Background(), specs)
	for i, r := range res {
		if r.Err != nil || r.Spec != specs[i] {
			t.Fatalf("result %d: %+v", i, r)
		}
	}
	if peak.Load() > 4 || peak.Load() < 2 {
		t.Errorf("peak concurrency %d, want 2..4", peak.Load())
	}
	if !res[0].Info.InstallScripts || res[1].Info.InstallScripts {
		t.Errorf("facts mixed up: %+v %+v", res[0].Info, res[1].Info)
	}
}

func BenchmarkLivePackument(b *testing.B) {
	for _, name := range []string{"lodash", "typescript"} {
		b.Run(name, func(b *testing.B) {
			c := &Client{}
			for b.Loop() {
				if _, err := c.Versions(context.Background(), name); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestRedirectDowngradeRefused(t *testing.T) {
	var leaked atomic.Value
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked.Store(r.Header.Get("Authorization"))
		fmt.Fprintf(w, packumentJSON, "pkg")
	}))
	defer plain.Close()
	tls := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL+r.URL.Path, http.StatusFound)
	}))
	defer tls.Close()
	hc := tls.Client()
	hc.CheckRedirect = RefuseDowngrade
	c := &Client{Registry: tls.URL, Token: "s3cret", HTTP: hc}
	_, err := c.Versions(context.Background(), "pkg")
	if err == nil || !strings.Contains(err.Error(), "drop TLS") {
		t.Errorf("want the downgrade refused, got %v", err)
	}
	if v, _ := leaked.Load().(string); v != "" {
		t.Errorf("token reached the plain-http server: %q", v)
	}
}

// BenchmarkLiveLookupLockfile looks up every package of a real 106-package
// package-lock.json (the corpus), cold (empty cache: one packument per name, 16 at a
// time) and warm (everything cached: no request; the versions the registry has).
func BenchmarkLiveLookupLockfile(b *testing.B) {
	specs := corpusSpecs(b, "lockfiles/real/npm-osv-scanner-fix-example.package-lock.json")
	for _, mode := range []string{"cold", "warm"} {
		b.Run(mode, func(b *testing.B) {
			dir := b.TempDir()
			specs := specs
			if mode == "warm" {
				// Warm: every version is cached, so no request at all (a
				// version the registry does not have would ask again each time).
				var have []Spec
				for _, r := range (&Client{CacheDir: dir}).Lookup(context.Background(), specs) {
					if r.Err == nil {
						have = append(have, r.Spec)
					}
				}
				specs = have
			}
			for b.Loop() {
				cache := dir
				if mode == "cold" {
					cache = b.TempDir()
				}
				missing := 0
				for _, r := range (&Client{CacheDir: cache}).Lookup(context.Background(), specs) {
					var nf *NotFoundError
					if errors.As(r.Err, &nf) {
						missing++ // a partial mirror lacks old versions; that is an answer too
					} else if r.Err != nil {
						b.Fatalf("%s@%s: %v", r.Name, r.Version, r.Err)
					}
				}
				b.ReportMetric(float64(missing), "unpublished")
			}
			b.ReportMetric(float64(len(specs)), "packages")
		})
	}
}

// corpusSpecs reads name@version pairs from a package-lock v2/v3 in ../shared/corpus
// (found from the module root).
func corpusSpecs(tb testing.TB, rel string) []Spec {
	tb.Helper()
	dir, _ := os.Getwd()
	for ; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		if dir == filepath.Dir(dir) {
			tb.Skip("module root not found")
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "..", "shared", "corpus", rel))
	if err != nil {
		tb.Skipf("corpus not here: %v", err)
	}
	var lock struct {
		Packages map[string]struct {
			Version string `json:"version"`
			Name    string `json:"name"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(b, &lock); err != nil {
		tb.Fatal(err)
	}
	var specs []Spec
	for path, p := range lock.Packages {
		i := strings.LastIndex(path, "node_modules/")
		if i < 0 || p.Version == "" {
			continue
		}
		name := path[i+len("node_modules/"):]
		if p.Name != "" {
			name = p.Name
		}
		specs = append(specs, Spec{name, p.Version})
	}
	return specs
}

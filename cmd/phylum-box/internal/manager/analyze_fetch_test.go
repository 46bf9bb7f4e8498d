package manager

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestDownloadPyPIReadsBothIndexForms: analyze reads a PEP 691 JSON page and a
// PEP 503 HTML page the way the pip plan does, sends the index's credentials to
// the index's host, and refuses a file whose bytes differ from the listed hash.
func TestDownloadPyPIReadsBothIndexForms(t *testing.T) {
	sdist := []byte("sdist bytes")
	wheel := []byte("wheel bytes")
	sum := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	for _, c := range []struct {
		name     string
		json     bool
		wheelSum string
		wantErr  string
	}{
		{name: "json", json: true, wheelSum: sum(wheel)},
		{name: "html", wheelSum: sum(wheel)},
		{name: "json-bad-hash", json: true, wheelSum: sum([]byte("other")), wantErr: "demo_pkg-1.0-py3-none-any.whl: sha256 differs"},
		{name: "html-bad-hash", wheelSum: sum([]byte("other")), wantErr: "demo_pkg-1.0-py3-none-any.whl: sha256 differs"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var unauth []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if u, p, ok := r.BasicAuth(); !ok || u != "bob" || p != "s3cret" {
					unauth = append(unauth, r.URL.Path)
					http.Error(w, "no", http.StatusUnauthorized)
					return
				}
				switch r.URL.Path {
				case "/simple/demo-pkg/":
					if c.json {
						if !strings.Contains(r.Header.Get("Accept"), "application/vnd.pypi.simple.v1+json") {
							t.Errorf("Accept = %q, want PEP 691 JSON asked for", r.Header.Get("Accept"))
						}
						w.Header().Set("Content-Type", "application/vnd.pypi.simple.v1+json")
						fmt.Fprintf(w, `{"meta":{"api-version":"1.0"},"name":"demo-pkg","files":[`+
							`{"filename":"demo-pkg-1.0.tar.gz","url":"../../files/demo-pkg-1.0.tar.gz","hashes":{"sha256":%q}},`+
							`{"filename":"demo_pkg-1.0-py3-none-any.whl","url":"/files/demo_pkg-1.0-py3-none-any.whl","hashes":{"sha256":%q}},`+
							`{"filename":"demo-pkg-0.9.tar.gz","url":"/files/demo-pkg-0.9.tar.gz","hashes":{}}]}`, sum(sdist), c.wheelSum)
						return
					}
					w.Header().Set("Content-Type", "text/html")
					fmt.Fprintf(w, `<html><body><a href="../../files/demo-pkg-1.0.tar.gz#sha256=%s">demo-pkg-1.0.tar.gz</a>
<a href="/files/demo_pkg-1.0-py3-none-any.whl#sha256=%s">demo_pkg-1.0-py3-none-any.whl</a></body></html>`, sum(sdist), c.wheelSum)
				case "/files/demo-pkg-1.0.tar.gz":
					w.Write(sdist)
				case "/files/demo_pkg-1.0-py3-none-any.whl":
					w.Write(wheel)
				default:
					http.NotFound(w, r)
				}
			}))
			defer srv.Close()
			index := strings.Replace(srv.URL, "http://", "http://bob:s3cret@", 1) + "/simple/"
			files, err := downloadPyPI(context.Background(), index, "Demo_Pkg", "1.0")
			if len(unauth) > 0 {
				t.Errorf("requests without the index's credentials: %v", unauth)
			}
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, f := range files {
				got[f.name] = string(f.data)
			}
			if len(got) != 2 || got["demo-pkg-1.0.tar.gz"] != string(sdist) || got["demo_pkg-1.0-py3-none-any.whl"] != string(wheel) {
				t.Errorf("files = %v", got)
			}
		})
	}
}

// TestHTTPGetNeverPrintsCredentials: a failed fetch names the URL without its
// user info.
func TestHTTPGetNeverPrintsCredentials(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	for _, raw := range []string{
		strings.Replace(srv.URL, "http://", "http://bob:s3cret@", 1) + "/x",
		"ftp://bob:s3cret@example.test/x",
		"http://bob:s3cret@example.test/%zz",
	} {
		_, err := httpGet(context.Background(), raw, 1<<20)
		if err == nil {
			t.Fatalf("%s: no error", raw)
		}
		if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "bob") {
			t.Errorf("error keeps the credentials: %v", err)
		}
	}
}

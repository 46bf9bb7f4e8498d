package managers

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/phylum-box/phylum-box/internal/lazyre"
	"github.com/phylum-box/phylum-box/internal/redact"
)

// Reading the configured indexes on the host: simple-API pages (PEP 503 HTML, PEP 691
// JSON), file names, and the user's credentials and CA bundle for each index host (split
// out of pipfetch.go, code moved unchanged).

// pages4 are the pages that may list name's files: each index's project page and
// every find-links page.
func (pr *pipResolver) pages4(name string) []string {
	var out []string
	for _, ix := range pr.src.indexes {
		out = append(out, strings.TrimSuffix(ix, "/")+"/"+pipNormName(name)+"/")
	}
	return append(out, pr.src.findLinks...)
}

// maxIndexPage caps one simple-API page.
const maxIndexPage = 64 << 20

// page fetches and parses one simple-API page (PEP 503 HTML or PEP 691 JSON) on
// the host, with the user's credentials for that host only.
func (pr *pipResolver) page(ctx context.Context, raw string) ([]pipLink, error) {
	pr.mu.Lock()
	links, ok := pr.pages[raw]
	pr.mu.Unlock()
	if ok {
		return links, nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("not an http(s) URL: %q", raw)
	}
	var user *url.Userinfo
	user, u.User = u.User, nil
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", PyPISimpleAccept)
	if user != nil {
		pw, _ := user.Password()
		req.SetBasicAuth(user.Username(), pw) // the page URL's own user info (not in the request's URL)
	} else if h := pr.auth.header(u.String()); h != "" {
		req.Header.Set("Authorization", h)
	}
	resp, err := pr.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		pr.mu.Lock()
		pr.pages[raw] = nil
		pr.mu.Unlock()
		return nil, fmt.Errorf("%s: %s", redact.URL(raw), resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxIndexPage+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxIndexPage {
		return nil, fmt.Errorf("%s: page larger than %d bytes", redact.URL(raw), maxIndexPage)
	}
	links = pipParseSimple(resp.Request.URL, resp.Header.Get("Content-Type"), body)
	pr.mu.Lock()
	pr.pages[raw] = links
	pr.mu.Unlock()
	return links, nil
}

// pipParseSimple reads a simple-API page by its Content-Type: PEP 691 JSON or
// PEP 503 HTML.
func pipParseSimple(base *url.URL, contentType string, body []byte) []pipLink {
	if strings.Contains(contentType, "json") {
		return pipParseSimpleJSON(base, body)
	}
	return pipParseSimpleHTML(base, body)
}

func pipParseSimpleJSON(base *url.URL, body []byte) []pipLink {
	var doc struct {
		Files []struct {
			Filename string            `json:"filename"`
			URL      string            `json:"url"`
			Hashes   map[string]string `json:"hashes"`
		} `json:"files"`
	}
	if json.Unmarshal(body, &doc) != nil {
		return nil
	}
	var out []pipLink
	for _, f := range doc.Files {
		ref, err := base.Parse(f.URL)
		if err != nil {
			continue
		}
		key, frag := pipURLKey(ref.String())
		l := pipLink{url: key, file: f.Filename, hashes: map[string]string{}}
		for alg, v := range f.Hashes {
			if pipStrongHash[alg] {
				l.hashes[alg] = strings.ToLower(v)
			}
		}
		if alg, v, ok := strings.Cut(frag, "="); ok && pipStrongHash[alg] && len(l.hashes) == 0 {
			l.hashes[alg] = strings.ToLower(v)
		}
		out = append(out, l)
	}
	return out
}

var (
	pipAnchorRE = lazyre.New(`(?is)<a\s[^>]*?href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))`)
	pipBaseRE   = lazyre.New(`(?is)<base\s[^>]*?href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))`)
)

func pipParseSimpleHTML(base *url.URL, body []byte) []pipLink {
	if m := pipBaseRE().FindSubmatch(body); m != nil {
		if b, err := base.Parse(html.UnescapeString(string(m[1]) + string(m[2]) + string(m[3]))); err == nil {
			base = b
		}
	}
	var out []pipLink
	for _, m := range pipAnchorRE().FindAllSubmatch(body, -1) {
		href := html.UnescapeString(string(m[1]) + string(m[2]) + string(m[3]))
		ref, err := base.Parse(href)
		if err != nil {
			continue
		}
		key, frag := pipURLKey(ref.String())
		l := pipLink{url: key, file: path.Base(ref.Path), hashes: map[string]string{}}
		if alg, v, ok := strings.Cut(frag, "="); ok && pipStrongHash[alg] {
			l.hashes[alg] = strings.ToLower(v)
		}
		out = append(out, l)
	}
	return out
}

// pipFileRE is a distribution file's name: nothing a path could hide in.
var pipFileRE = lazyre.New(`^[A-Za-z0-9][A-Za-z0-9._+!-]*\.(whl|tar\.gz|zip|tar\.bz2|tar\.xz|tgz|tar)$`)

// pipFileIs reports whether a wheel or sdist file name is name's at version.
func pipFileIs(file, name, version string) bool {
	if stem, ok := strings.CutSuffix(file, ".whl"); ok {
		parts := strings.Split(stem, "-")
		return len(parts) >= 5 && pipNormName(parts[0]) == pipNormName(name) && pipNormName(parts[1]) == pipNormName(version)
	}
	for _, ext := range []string{".tar.gz", ".zip", ".tar.bz2", ".tar.xz", ".tgz", ".tar"} {
		if stem, ok := strings.CutSuffix(file, ext); ok {
			return pipNormName(stem) == pipNormName(name+"-"+version)
		}
	}
	return false
}

func pipURLPath(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	p, err := url.PathUnescape(u.EscapedPath())
	if err != nil {
		return u.Path
	}
	return p
}

// pipPrintable keeps control characters out of messages.
func pipPrintable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

// pipAuth are the user's credentials by host ("host" or "host:port"), from the
// user's own pip settings (config files under $HOME, PIP_INDEX_URL and
// PIP_EXTRA_INDEX_URL, PIP_CONFIG_FILE) and ~/.netrc — never from a project file.
// A credential goes only to the host it was configured for.
type pipAuth struct {
	byHost map[string]string    // host → "Basic …"
	netrc  map[string][2]string // machine → login, password (from ~/.netrc)
}

func pipUserAuth(env Env) pipAuth {
	a := pipAuth{byHost: map[string]string{}}
	var urls []string
	urls = append(urls, strings.Fields(env.Getenv("PIP_INDEX_URL"))...)
	urls = append(urls, strings.Fields(env.Getenv("PIP_EXTRA_INDEX_URL"))...)
	for _, f := range append(pipUserConfigFiles(env), pipConfigFileEnv(env)...) {
		for _, kv := range pipConfigValues(f) {
			switch kv[0] {
			case "index-url", "index", "i", "extra-index-url":
				urls = append(urls, strings.Fields(kv[1])...)
			}
		}
	}
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil || u.User == nil {
			continue
		}
		pw, _ := u.User.Password()
		host := strings.ToLower(u.Host)
		if _, have := a.byHost[host]; !have {
			a.byHost[host] = "Basic " + base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+pw))
		}
	}
	if data, err := os.ReadFile(env.Home + "/.netrc"); err == nil {
		a.netrc = pipParseNetrc(string(data))
	}
	return a
}

// header is the Authorization header for a URL, "" for none.
func (a pipAuth) header(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	if h, ok := a.byHost[strings.ToLower(u.Host)]; ok {
		return h
	}
	if m, ok := a.netrc[strings.ToLower(u.Hostname())]; ok && m[0] != "" {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(m[0]+":"+m[1]))
	}
	return ""
}

// pipUserCert is the CA bundle the user's pip settings name (PIP_CERT, then the
// user's config files), read on the host; nil when none.
func pipUserCert(env Env) []byte {
	file := env.Getenv("PIP_CERT")
	if file == "" {
		for _, f := range append(pipUserConfigFiles(env), pipConfigFileEnv(env)...) {
			for _, kv := range pipConfigValues(f) {
				if kv[0] == "cert" {
					file = kv[1]
				}
			}
		}
	}
	if file == "" {
		return nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	return data
}

// pipHTTPClient is the host's client for index pages: the user's CA bundle when
// pip is given one, the user's proxy settings, credentials dropped on a redirect
// to another host (net/http does so).
func pipHTTPClient(certPEM []byte) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if certPEM != nil {
		pool := x509.NewCertPool()
		if pool.AppendCertsFromPEM(certPEM) {
			tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		}
	}
	return &http.Client{Transport: tr, Timeout: 2 * time.Minute}
}

// pipFetchProgram downloads the fetch list phylum-box wrote (fetch.json: URL, file
// name, the index's hashes, the Authorization for that URL's host) into the dist
// dir, checking each file's hash. It runs under the system python with -I -S (no
// site, no .pth files, no user or project directory on sys.path), from /, and
// imports only the standard library. A file whose bytes do not match exits 3.
const pipFetchProgram = `import hashlib, json, os, shutil, ssl, stat, sys, urllib.request
os.chdir("/")
listfile, dest = sys.argv[1], sys.argv[2]
cafile = sys.argv[3] if len(sys.argv) > 3 else None
try:
    st = os.lstat(dest)
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(dest)
    else:
        os.unlink(dest)
except FileNotFoundError:
    pass
os.makedirs(dest)
with open(listfile) as f:
    items = json.load(f)
ctx = ssl.create_default_context(cafile=cafile) if cafile else None
for it in items:
    req = urllib.request.Request(it["url"])
    if it.get("auth"):
        req.add_unredirected_header("Authorization", it["auth"])
    hs = {alg: hashlib.new(alg) for alg in it["hashes"]}
    out = os.path.join(dest, it["file"])
    try:
        with urllib.request.urlopen(req, timeout=300, context=ctx) as r, open(out, "xb") as f:
            while True:
                chunk = r.read(1 << 20)
                if not chunk:
                    break
                for h in hs.values():
                    h.update(chunk)
                f.write(chunk)
    except OSError as e:
        hint = ""
        if getattr(e, "code", None) in (401, 403):
            hint = " (credentials come only from your own pip config, PIP_INDEX_URL/PIP_EXTRA_INDEX_URL and ~/.netrc, and go only to the host they are set for)"
        sys.stderr.write("phylum-box: %s: fetching %s failed: %s%s; nothing was installed\n" % (it["name"], it["url"], e, hint))
        sys.exit(1)
    if not any(h.hexdigest() == it["hashes"][alg] for alg, h in hs.items()):
        os.unlink(out)
        sys.stderr.write("phylum-box: %s: %s does not have the hash the index lists for it; nothing was installed\n" % (it["name"], it["url"]))
        sys.exit(3)
    print("fetched", it["file"])
`

// pipSystemPython is the interpreter of the download step: the system's python3,
// chosen on the host — a file under /usr (bound read-only into every step), never
// one from the project, a virtualenv or the PATH a project could shadow.
func pipSystemPython(env Env) (string, error) {
	for _, c := range []string{"/usr/bin/python3", "/usr/local/bin/python3"} {
		real, err := filepath.EvalSymlinks(c)
		if err != nil || !strings.HasPrefix(real, "/usr/") {
			continue
		}
		if st, err := os.Stat(real); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return c, nil
		}
	}
	return "", &Refusal{Manager: "pip", Reason: "there is no system python3 (/usr/bin/python3) for phylum-box's download step, which must not run a virtualenv's or the project's interpreter",
		Advice: "install your distribution's python3 package (e.g. `apt install python3`)"}
}

// pipParseNetrc reads the machine entries of a .netrc (login and password; macdef
// bodies and the default entry are skipped: a default would send its password to
// any host).
func pipParseNetrc(data string) map[string][2]string {
	out := map[string][2]string{}
	f := strings.Fields(data)
	machine := ""
	var cur [2]string
	flush := func() {
		if machine != "" {
			if _, have := out[machine]; !have {
				out[machine] = cur
			}
		}
		machine, cur = "", [2]string{}
	}
	for i := 0; i < len(f); i++ {
		switch f[i] {
		case "machine":
			flush()
			if i+1 < len(f) {
				i++
				machine = strings.ToLower(f[i])
			}
		case "default":
			flush()
		case "login", "password", "account":
			if i+1 < len(f) {
				i++
				if f[i-1] == "login" {
					cur[0] = f[i]
				} else if f[i-1] == "password" {
					cur[1] = f[i]
				}
			}
		case "macdef":
			flush()
			// a macro body runs to the next blank line; the fields lost that, so stop here
			return out
		}
	}
	flush()
	return out
}

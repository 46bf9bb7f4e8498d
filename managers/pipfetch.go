package managers

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/phylum-box/phylum-box/internal/exitcode"
	"github.com/phylum-box/phylum-box/precheck"
)

// pip's resolve runs package code (an sdist's metadata hook) and its report is
// therefore untrusted data: pipResolution parses it on the host, checks every
// download against the configured indexes (the file must be listed there for that
// name and version; the hash is the index's, never the report's) and hands the
// download step phylum-box's own fetch list, which the system python, isolated,
// fetches and checks by hash. Nothing the resolve step wrote reaches a later step.

// Where the download step finds its program and list, below the sandbox's $HOME.
const (
	pipFetchDir    = ".phylum-box-pip"
	pipFetchScript = pipFetchDir + "/fetch.py"
	pipFetchList   = pipFetchDir + "/fetch.json"
	pipFetchCert   = pipFetchDir + "/cert.pem"
)

// pipFetchItem is one file the download step fetches.
type pipFetchItem struct {
	Name   string            `json:"name"`
	URL    string            `json:"url"`
	File   string            `json:"file"`
	Hashes map[string]string `json:"hashes"` // alg → hex; one must match
	Auth   string            `json:"auth,omitempty"`
}

// pipReportDoc is the part of pip's installation report read here.
type pipReportDoc struct {
	Version string `json:"version"`
	Install []struct {
		Metadata struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		} `json:"metadata"`
		IsDirect     bool `json:"is_direct"`
		Requested    bool `json:"requested"`
		DownloadInfo struct {
			URL         string          `json:"url"`
			VCSInfo     json.RawMessage `json:"vcs_info"`
			DirInfo     json.RawMessage `json:"dir_info"`
			ArchiveInfo *struct {
				Hash   string            `json:"hash"`
				Hashes map[string]string `json:"hashes"`
			} `json:"archive_info"`
		} `json:"download_info"`
	} `json:"install"`
}

var pipVersionRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.+!_-]{0,99}$`)

// pipResolver checks one resolve's report.
type pipResolver struct {
	src     *pipSources
	auth    pipAuth
	home    string // the user's home (the fetch files' place inside)
	plan    *Plan
	certPEM []byte // the user's pip cert (CA bundle), if any
	client  *http.Client
	pages   map[string][]pipLink
	mu      sync.Mutex // guards pages while prefetch runs
}

// pipLink is one file a simple-API page lists.
type pipLink struct {
	url, file string
	hashes    map[string]string
}

// maxPipReportItems bounds the distributions one report may name: each costs an
// index page read on the host.
const maxPipReportItems = 5000

// parsePipReportOutput finds the report in the resolve's standard output (pip
// prints nothing else there with --quiet; anything before the JSON is skipped).
func parsePipReportOutput(out []byte) (*pipReportDoc, error) {
	i := bytes.Index(out, []byte("{"))
	if i < 0 {
		return nil, errors.New("pip printed no installation report")
	}
	var doc pipReportDoc
	dec := json.NewDecoder(bytes.NewReader(out[i:]))
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("pip's installation report does not parse: %w", err)
	}
	if doc.Install == nil {
		return nil, errors.New(`pip's installation report has no "install" list`)
	}
	if len(doc.Install) > maxPipReportItems {
		return nil, fmt.Errorf("pip's installation report names %d distributions, more than phylum-box checks (%d)", len(doc.Install), maxPipReportItems)
	}
	return &doc, nil
}

// resolve is Plan.ResolveOutput for pip.
func (pr *pipResolver) resolve(ctx context.Context, out []byte) ([]precheck.Package, error) {
	doc, err := parsePipReportOutput(out)
	if err != nil {
		return nil, exitcode.With(exitcode.Incomplete, err)
	}
	pr.prefetch(ctx, doc)
	var pkgs []precheck.Package
	// Never nil: an install of local directories alone fetches nothing, and the
	// fetch program needs a list ("null" made it fail on a TypeError).
	fetch := []pipFetchItem{}
	for i, it := range doc.Install {
		name, version := it.Metadata.Name, it.Metadata.Version
		if !pipNameRE.MatchString(name) || pipNameRE.FindString(name) != name || len(name) > 200 {
			return nil, exitcode.With(exitcode.Incomplete, fmt.Errorf("pip's report: install[%d] has no usable name (%q)", i, pipPrintable(name)))
		}
		if version != "" && !pipVersionRE.MatchString(version) {
			return nil, exitcode.With(exitcode.Incomplete, fmt.Errorf("pip's report: %s has no usable version (%q)", name, pipPrintable(version)))
		}
		p := precheck.Package{Ecosystem: precheck.PyPI, Name: name, Version: version, Source: pr.source(name)}
		di := it.DownloadInfo
		u := di.URL
		switch {
		case len(di.VCSInfo) > 0 && string(di.VCSInfo) != "null":
			p.Uncheckable, p.Reason = true, "VCS dependency ("+pipPrintable(u)+")"
		case len(di.DirInfo) > 0 && string(di.DirInfo) != "null":
			p.Uncheckable, p.Reason = true, "local directory ("+pipPrintable(u)+")"
		case di.ArchiveInfo == nil:
			p.Mismatch = "pip's report names no archive for it (" + pipPrintable(u) + ")"
		case strings.HasPrefix(u, "file:"):
			p.Uncheckable, p.Reason = true, "local file, not from an index ("+pipPrintable(u)+")"
		case !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://"):
			p.Mismatch = "pip's report names an unusable URL (" + pipPrintable(u) + ")"
		case version == "":
			p.Mismatch = "pip's report gives no version for " + pipPrintable(u)
		default:
			item, why := pr.check(ctx, name, version, u, it.IsDirect)
			if why != "" {
				p.Mismatch = why
				break
			}
			p.Resolved = item.URL
			if it.IsDirect {
				p.Uncheckable, p.Reason = true, "direct URL, not from an index ("+pipPrintable(item.URL)+")"
			}
			fetch = append(fetch, item)
		}
		pkgs = append(pkgs, p)
	}
	list, err := json.Marshal(fetch)
	if err != nil {
		return nil, err
	}
	if pr.plan.Credentials == nil {
		pr.plan.Credentials = &Credentials{}
	}
	files := []ConfigFile{{Home: pipFetchList, Secret: list}, {Home: pipFetchScript, Secret: []byte(pipFetchProgram)}}
	if pr.certPEM != nil {
		files = append(files, ConfigFile{Home: pipFetchCert, Secret: pr.certPEM})
	}
	pr.plan.Credentials.Files = append(pr.plan.Credentials.Files, files...)
	return pkgs, nil
}

// prefetch reads the index pages of the report's packages a few at a time (a
// large environment names hundreds).
func (pr *pipResolver) prefetch(ctx context.Context, doc *pipReportDoc) {
	var pages []string
	seen := map[string]bool{}
	for _, it := range doc.Install {
		if it.IsDirect || !pipNameRE.MatchString(it.Metadata.Name) {
			continue
		}
		for _, pg := range pr.pages4(it.Metadata.Name) {
			if !seen[pg] {
				seen[pg] = true
				pages = append(pages, pg)
			}
		}
	}
	work := make(chan string)
	var wg sync.WaitGroup
	for range min(8, len(pages)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for pg := range work {
				_, _ = pr.page(ctx, pg)
			}
		}()
	}
	for _, pg := range pages {
		work <- pg
	}
	close(work)
	wg.Wait()
}

// source names where a project was asked for: the user's requirement line, or
// pip's resolution of the command.
func (pr *pipResolver) source(name string) string {
	if w, ok := pr.src.named[pipNormName(name)]; ok {
		return w
	}
	return "pip's resolution of the command"
}

// check finds url among the files the configured indexes list for name and
// version, and returns what to fetch, or why it may not be fetched.
func (pr *pipResolver) check(ctx context.Context, name, version, raw string, direct bool) (pipFetchItem, string) {
	key, _ := pipURLKey(raw)
	shown := pipPrintable(key)
	item := pipFetchItem{Name: name, URL: key, File: path.Base(pipURLPath(key)), Hashes: map[string]string{}}
	if !pipFileRE.MatchString(item.File) {
		return item, "its file name in " + shown + " is not a distribution's"
	}
	if direct {
		hs, ok := pr.src.direct[key]
		if !ok {
			return item, shown + " is not a URL your command line or requirements files name"
		}
		pr.addHashes(&item, hs)
		pr.addHashes(&item, pr.src.hashes[pipNormName(name)])
		if len(item.Hashes) == 0 {
			return item, "no hash for " + shown + ": add #sha256=… to the URL or --hash to its requirement"
		}
		item.Auth = pr.auth.header(key)
		return item, ""
	}
	if !pipFileIs(item.File, name, version) {
		return item, fmt.Sprintf("%s is not a file of %s %s", shown, name, version)
	}
	var looked []string
	for _, page := range pr.pages4(name) {
		looked = append(looked, pipPrintable(pipRedactURL(page)))
		links, err := pr.page(ctx, page)
		if err != nil {
			continue
		}
		for _, l := range links {
			if l.url != key {
				continue
			}
			for alg, v := range l.hashes {
				item.Hashes[alg] = v
			}
			pr.addHashes(&item, pr.src.hashes[pipNormName(name)])
			if len(item.Hashes) == 0 {
				return item, "the index gives no sha256 for " + shown + " (and no --hash pins it)"
			}
			item.Auth = pr.auth.header(key)
			return item, ""
		}
	}
	if len(looked) == 0 {
		return item, shown + " comes from no configured index (--no-index)"
	}
	return item, fmt.Sprintf("%s is not listed for %s on the configured index (%s)", shown, name, strings.Join(looked, ", "))
}

func (pr *pipResolver) addHashes(item *pipFetchItem, hs []string) {
	for _, h := range hs {
		if alg, v, ok := strings.Cut(h, ":"); ok && pipStrongHash[alg] {
			if _, have := item.Hashes[alg]; !have {
				item.Hashes[alg] = v
			}
		}
	}
}

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
	req.Header.Set("Accept", "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01")
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
		return nil, fmt.Errorf("%s: %s", pipRedactURL(raw), resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxIndexPage+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxIndexPage {
		return nil, fmt.Errorf("%s: page larger than %d bytes", pipRedactURL(raw), maxIndexPage)
	}
	base := resp.Request.URL
	if strings.Contains(resp.Header.Get("Content-Type"), "json") {
		links = pipParseSimpleJSON(base, body)
	} else {
		links = pipParseSimpleHTML(base, body)
	}
	pr.mu.Lock()
	pr.pages[raw] = links
	pr.mu.Unlock()
	return links, nil
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
	pipAnchorRE = regexp.MustCompile(`(?is)<a\s[^>]*?href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))`)
	pipBaseRE   = regexp.MustCompile(`(?is)<base\s[^>]*?href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))`)
)

func pipParseSimpleHTML(base *url.URL, body []byte) []pipLink {
	if m := pipBaseRE.FindSubmatch(body); m != nil {
		if b, err := base.Parse(html.UnescapeString(string(m[1]) + string(m[2]) + string(m[3]))); err == nil {
			base = b
		}
	}
	var out []pipLink
	for _, m := range pipAnchorRE.FindAllSubmatch(body, -1) {
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
var pipFileRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+!-]*\.(whl|tar\.gz|zip|tar\.bz2|tar\.xz|tgz|tar)$`)

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

// pipRedactURL drops a URL's user info, for messages.
func pipRedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	u.User = nil
	return u.String()
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

// pipHomeInterpreters are the layouts of Python installations under $HOME that a
// virtualenv's base interpreter may be in (relative to $HOME, "*" one name):
// pyenv, asdf, mise, uv, rye, conda and its relatives.
var pipHomeInterpreters = [][]string{
	{".pyenv", "versions", "*"},
	{".asdf", "installs", "python", "*"},
	{".local", "share", "mise", "installs", "python", "*"},
	{".local", "share", "uv", "python", "*"},
	{".rye", "py", "*"},
	{"miniconda3"}, {"anaconda3"}, {"miniforge3"}, {"mambaforge"}, {"micromamba"},
	{"miniconda3", "envs", "*"}, {"anaconda3", "envs", "*"}, {"miniforge3", "envs", "*"},
	{"mambaforge", "envs", "*"}, {"micromamba", "envs", "*"}, {".conda", "envs", "*"},
}

// pipInterpreterPaths is what the steps need to run the virtualenv's interpreter
// when it lives under $HOME, which the sandbox replaces with an empty tmpfs: that
// installation's directory (bound read-only), never more of $HOME. The path comes
// from the venv's python link, a project file, so only a directory of a known
// installation layout is accepted; any other place under $HOME is refused.
func pipInterpreterPaths(env Env, python string) ([]string, error) {
	real, err := filepath.EvalSymlinks(python)
	if err != nil {
		return nil, nil // pip fails on it itself, naming it
	}
	home := filepath.Clean(env.Home)
	if h, err := filepath.EvalSymlinks(home); err == nil {
		home = h
	}
	if !within(home, real) {
		return nil, nil
	}
	rel, _ := filepath.Rel(home, filepath.Dir(filepath.Dir(real))) // <install>/bin/python3.X
	parts := strings.Split(filepath.ToSlash(rel), "/")
	for _, layout := range pipHomeInterpreters {
		if len(layout) != len(parts) {
			continue
		}
		ok := true
		for i, l := range layout {
			if parts[i] == "." || parts[i] == ".." || (l != "*" && l != parts[i]) {
				ok = false
			}
		}
		if ok && filepath.Base(filepath.Dir(real)) == "bin" {
			return []string{filepath.Join(home, rel)}, nil
		}
	}
	return nil, &Refusal{Manager: "pip", Reason: fmt.Sprintf("the virtualenv's interpreter %s lives in your home directory, which the sandbox hides, and is not in a Python installation phylum-box knows (pyenv, asdf, mise, uv, rye, conda)", real),
		Advice: "recreate the virtualenv with the system python3 or one of those (`python3 -m venv --clear .venv`)"}
}

package integration

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Local registries for the pip, poetry, bundle and cargo tests: PyPI, RubyGems and
// crates.io are not reachable from CI, so each test serves packages it built itself
// from 127.0.0.1. The sandbox's network steps share the host's network namespace
// and reach them; its build step gets a fresh one and must not.

// regServer serves a directory over HTTP on 127.0.0.1 and logs every request.
type regServer struct {
	URL  string // http://127.0.0.1:PORT
	Port int
	Dir  string
	mu   sync.Mutex
	hits []string
}

// regServe starts a file server for dir; handler, when set, answers first (it
// returns false to fall through to the files).
func regServe(t testing.TB, dir string, handler func(s *regServer, w http.ResponseWriter, r *http.Request) bool) *regServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &regServer{Dir: dir, Port: ln.Addr().(*net.TCPAddr).Port}
	s.URL = fmt.Sprintf("http://127.0.0.1:%d", s.Port)
	files := http.FileServer(http.Dir(dir))
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hits = append(s.hits, r.Method+" "+r.URL.String())
		s.mu.Unlock()
		if handler != nil && handler(s, w, r) {
			return
		}
		files.ServeHTTP(w, r)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

func (s *regServer) Hits() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.hits...)
}

// regCanary is a loopback listener that records what connects to it: build code
// must never reach it.
type regCanary struct {
	Port int
	mu   sync.Mutex
	got  []string
}

func regStartCanary(t testing.TB) *regCanary {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &regCanary{Port: ln.Addr().(*net.TCPAddr).Port}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				b, _ := io.ReadAll(io.LimitReader(conn, 4096))
				c.mu.Lock()
				c.got = append(c.got, string(b))
				c.mu.Unlock()
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return c
}

func (c *regCanary) Got() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.got...)
}

// ---- PyPI: a PEP 503 simple index ----

var pyNormRE = regexp.MustCompile(`[-_.]+`)

func pyNorm(name string) string { return strings.ToLower(pyNormRE.ReplaceAllString(name, "-")) }

// pyIndex is a PEP 503 index: Dir/files/<file>, pages generated from the listing.
type pyIndex struct {
	*regServer
	t testing.TB
}

func regStartPyIndex(t testing.TB) *pyIndex {
	t.Helper()
	dir := filepath.Join(newScratch(t), "pypi")
	if err := os.MkdirAll(filepath.Join(dir, "files"), 0o755); err != nil {
		t.Fatal(err)
	}
	ix := &pyIndex{t: t}
	ix.regServer = regServe(t, dir, func(s *regServer, w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasPrefix(r.URL.Path, "/simple/") {
			return false
		}
		project := strings.Trim(strings.TrimPrefix(r.URL.Path, "/simple/"), "/")
		ents, _ := os.ReadDir(filepath.Join(dir, "files"))
		var b strings.Builder
		b.WriteString("<!DOCTYPE html><html><body>\n")
		n := 0
		for _, e := range ents {
			name := e.Name()
			dist := name
			if i := strings.Index(name, "-"); i > 0 {
				dist = name[:i]
			}
			if project == "" {
				continue
			}
			if pyNorm(dist) != project {
				continue
			}
			data, _ := os.ReadFile(filepath.Join(dir, "files", name))
			sum := sha256.Sum256(data)
			fmt.Fprintf(&b, "<a href=\"/files/%s#sha256=%s\">%s</a><br/>\n", name, hex.EncodeToString(sum[:]), name)
			n++
		}
		b.WriteString("</body></html>\n")
		if project != "" && n == 0 {
			http.NotFound(w, r)
			return true
		}
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, b.String())
		return true
	})
	return ix
}

// AddSystemWheel copies a wheel shipped by Debian (setuptools, wheel: the default
// build backend an sdist needs offline) into the index.
func (ix *pyIndex) AddSystemWheel(prefix string) {
	ix.t.Helper()
	matches, _ := filepath.Glob("/usr/share/python-wheels/" + prefix + "-*.whl")
	if len(matches) == 0 {
		skipf(ix.t, "no %s wheel in /usr/share/python-wheels (install python3-pip-whl: hack/install-deps.d/python.sh)", prefix)
	}
	data, err := os.ReadFile(matches[0])
	if err != nil {
		ix.t.Fatal(err)
	}
	ix.put(filepath.Base(matches[0]), data)
}

func (ix *pyIndex) put(name string, data []byte) {
	ix.t.Helper()
	if err := os.WriteFile(filepath.Join(ix.Dir, "files", name), data, 0o644); err != nil {
		ix.t.Fatal(err)
	}
}

// AddWheel writes a pure-Python wheel: files (path → content) plus the dist-info.
func (ix *pyIndex) AddWheel(name, version string, requires []string, files map[string]string) {
	ix.t.Helper()
	dist := strings.ReplaceAll(name, "-", "_")
	info := fmt.Sprintf("%s-%s.dist-info/", dist, version)
	meta := fmt.Sprintf("Metadata-Version: 2.1\nName: %s\nVersion: %s\n", name, version)
	for _, r := range requires {
		meta += "Requires-Dist: " + r + "\n"
	}
	all := map[string]string{}
	for k, v := range files {
		all[k] = v
	}
	all[info+"METADATA"] = meta
	all[info+"WHEEL"] = "Wheel-Version: 1.0\nGenerator: pbox-it\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
	names := make([]string, 0, len(all))
	for k := range all {
		names = append(names, k)
	}
	sort.Strings(names)
	var record strings.Builder
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, k := range names {
		w, _ := zw.Create(k)
		io.WriteString(w, all[k])
		sum := sha256.Sum256([]byte(all[k]))
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", k, base64.RawURLEncoding.EncodeToString(sum[:]), len(all[k]))
	}
	record.WriteString(info + "RECORD,,\n")
	w, _ := zw.Create(info + "RECORD")
	io.WriteString(w, record.String())
	if err := zw.Close(); err != nil {
		ix.t.Fatal(err)
	}
	ix.put(fmt.Sprintf("%s-%s-py3-none-any.whl", dist, version), buf.Bytes())
}

// AddSdist writes a setuptools source distribution (PEP 517, setuptools backend).
func (ix *pyIndex) AddSdist(name, version string, files map[string]string) {
	ix.t.Helper()
	dist := strings.ReplaceAll(name, "-", "_")
	all := map[string]string{
		"PKG-INFO":       fmt.Sprintf("Metadata-Version: 2.1\nName: %s\nVersion: %s\n", name, version),
		"pyproject.toml": "[build-system]\nrequires = [\"setuptools>=40.8.0\", \"wheel\"]\nbuild-backend = \"setuptools.build_meta\"\n",
	}
	for k, v := range files {
		all[k] = v
	}
	ix.put(fmt.Sprintf("%s-%s.tar.gz", dist, version), regTarGz(ix.t, fmt.Sprintf("%s-%s/", dist, version), all))
}

// regTarGz builds a gzipped tar of files under prefix.
func regTarGz(t testing.TB, prefix string, files map[string]string) []byte {
	t.Helper()
	names := make([]string, 0, len(files))
	for k := range files {
		names = append(names, k)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, k := range names {
		mode := int64(0o644)
		if strings.HasSuffix(k, ".sh") {
			mode = 0o755
		}
		if err := tw.WriteHeader(&tar.Header{Name: prefix + k, Mode: mode, Size: int64(len(files[k])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		io.WriteString(tw, files[k])
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// ---- OSV: a per-test database ----

// regMalDB imports MAL records for the named packages into a fresh database and
// returns its path (readable by the mode's user).
func regMalDB(t testing.TB, m mode, ecosystem string, names ...string) string {
	t.Helper()
	dir := newScratch(t)
	src := filepath.Join(dir, "osv")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	names = append(names, "pbox-never-installed") // a database is never empty
	for i, n := range names {
		rec := fmt.Sprintf(`{"schema_version":"1.5.0","id":"MAL-2099-%d","modified":"2025-01-01T00:00:00Z","published":"2025-01-01T00:00:00Z",`+
			`"summary":"Malicious code in %s (test record)","affected":[{"package":{"ecosystem":%q,"name":%q},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}]}]}`,
			1000+i, n, ecosystem, n)
		writeFile(t, filepath.Join(src, fmt.Sprintf("MAL-2099-%d.json", 1000+i)), rec, 0o644)
	}
	mkdirOwned(t, m, filepath.Join(dir, "db"), 0o755)
	db := filepath.Join(dir, "db", "osv.db")
	r := invocation{Mode: m, Args: []string{"db", "import", "--db", db, src}, Dir: dir, Home: newHome(t, m)}.exec(t)
	wantCode(t, r, 0, "db import")
	return db
}

// regNewBox is newBox with the caller's home outside /var/tmp: the container root
// cannot hold a project below /var/tmp (BuildSkeleton makes /var/tmp a symlink to
// /tmp: "symlink /tmp …/var/tmp: file exists"), and the suite's base is there for
// root. Remove this once the skeleton mounts such projects.
func regNewBox(t testing.TB, m mode) *box {
	t.Helper()
	base, err := os.MkdirTemp("", "pbox-reg-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	if !*keepScratch {
		t.Cleanup(func() { os.RemoveAll(base) })
	}
	home := filepath.Join(base, "home")
	mkdirOwned(t, m, home, 0o700)
	b := &box{t: t, Mode: m, Home: home, Project: filepath.Join(home, "src", "proj"),
		Mark: fmt.Sprintf("PBOXSECRET%d", time.Now().UnixNano())}
	for rel, tmpl := range homeSecrets {
		writeFile(t, filepath.Join(home, rel), fmt.Sprintf(tmpl, b.Mark), 0o600)
	}
	for rel, content := range projectFiles {
		writeFile(t, filepath.Join(b.Project, rel), content, 0o644)
	}
	chownTree(t, m, home)
	return b
}

// regHomeHash is the caller's home without the project and without phylum-box's
// own state (~/.cache/phylum-box: its locks and the managers' download caches).
func regHomeHash(b *box) tree {
	h := b.homeHash()
	for p := range h {
		if p == ".cache" || p == ".cache/phylum-box" || strings.HasPrefix(p, ".cache/phylum-box/") {
			delete(h, p)
		}
	}
	return h
}

// ---- crates.io: a git index served by git-http-backend, .crate downloads ----

// cargoRegistry is a cargo registry whose index is a git repository (served with
// git's smart HTTP, which every cargo reads; Debian's cargo 1.65 predates stable
// sparse indexes) and whose crates are plain files.
type cargoRegistry struct {
	*regServer
	t     testing.TB
	index string // the index repository's work tree
	Index string // its URL for cargo
}

func regStartCargo(t testing.TB) *cargoRegistry {
	t.Helper()
	backend := "/usr/lib/git-core/git-http-backend"
	if _, err := os.Stat(backend); err != nil {
		skipf(t, "git-http-backend is missing (apt-get install git): %v", err)
	}
	dir := filepath.Join(newScratch(t), "crates")
	gitRoot := filepath.Join(dir, "git")
	index := filepath.Join(gitRoot, "index")
	for _, d := range []string{index, filepath.Join(dir, "dl")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cgiHandler := &cgi.Handler{Path: backend, Root: "/git",
		Env: []string{"GIT_PROJECT_ROOT=" + gitRoot, "GIT_HTTP_EXPORT_ALL=1"}}
	reg := &cargoRegistry{t: t, index: index}
	reg.regServer = regServe(t, dir, func(s *regServer, w http.ResponseWriter, r *http.Request) bool {
		if strings.HasPrefix(r.URL.Path, "/git/") {
			cgiHandler.ServeHTTP(w, r)
			return true
		}
		if strings.HasPrefix(r.URL.Path, "/sparse/") {
			// The same index files, read one by one (cargo's sparse protocol).
			http.StripPrefix("/sparse", http.FileServer(http.Dir(index))).ServeHTTP(w, r)
			return true
		}
		return false
	})
	reg.Index = reg.URL + "/git/index"
	writeFile(t, filepath.Join(index, "config.json"), fmt.Sprintf(`{"dl":"%s/dl/{crate}/{crate}-{version}.crate"}`, reg.URL), 0o644)
	regGit(t, index, "init", "-q", "-b", "master")
	return reg
}

func regGit(t testing.TB, dir string, args ...string) {
	t.Helper()
	c := exec.Command("git", append([]string{"-c", "user.name=pbox", "-c", "user.email=pbox@example.invalid", "-c", "safe.directory=*"}, args...)...)
	c.Dir = dir
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// AddCrate packs a crate (Cargo.toml generated; files are the rest) and adds it to
// the index; deps are names of crates in this registry ("^1" each).
func (reg *cargoRegistry) AddCrate(name, version string, deps []string, files map[string]string) {
	t := reg.t
	t.Helper()
	manifest := fmt.Sprintf("[package]\nname = %q\nversion = %q\nedition = \"2021\"\n", name, version)
	if _, ok := files["build.rs"]; ok {
		manifest += "build = \"build.rs\"\n"
	}
	manifest += "\n[dependencies]\n"
	var depJSON []string
	for _, d := range deps {
		manifest += fmt.Sprintf("%s = \"1\"\n", d)
		depJSON = append(depJSON, fmt.Sprintf(`{"name":%q,"req":"^1","features":[],"optional":false,"default_features":true,"target":null,"kind":"normal"}`, d))
	}
	all := map[string]string{"Cargo.toml": manifest}
	for k, v := range files {
		all[k] = v
	}
	data := regTarGz(t, name+"-"+version+"/", all)
	writeFile(t, filepath.Join(reg.Dir, "dl", name, name+"-"+version+".crate"), string(data), 0o644)
	sum := sha256.Sum256(data)
	line := fmt.Sprintf(`{"name":%q,"vers":%q,"deps":[%s],"cksum":%q,"features":{},"yanked":false}`, name, version, strings.Join(depJSON, ","), hex.EncodeToString(sum[:]))
	var rel string
	switch len(name) {
	case 1, 2:
		rel = filepath.Join(strconv.Itoa(len(name)), name)
	case 3:
		rel = filepath.Join("3", name[:1], name)
	default:
		rel = filepath.Join(name[:2], name[2:4], name)
	}
	p := filepath.Join(reg.index, rel)
	prev, _ := os.ReadFile(p)
	writeFile(t, p, string(prev)+line+"\n", 0o644)
	regGit(t, reg.index, "add", "-A")
	regGit(t, reg.index, "commit", "-q", "-m", "add "+name+" "+version)
	regGit(t, reg.index, "update-server-info")
}

// ConfigToml replaces crates.io with this registry (cargo's source replacement).
func (reg *cargoRegistry) ConfigToml() string {
	return fmt.Sprintf("[source.crates-io]\nreplace-with = \"pbox\"\n\n[source.pbox]\nregistry = %q\n\n[net]\nretry = 0\n", reg.Index)
}

// ---- RubyGems: `gem build` + `gem generate_index`, served as static files ----

type gemSource struct {
	*regServer
	t   testing.TB
	src string
}

func regStartGems(t testing.TB) *gemSource {
	t.Helper()
	if _, err := exec.LookPath("gem"); err != nil {
		skipf(t, "gem is missing (hack/install-deps.d/ruby.sh installs ruby ruby-bundler ruby-dev)")
	}
	dir := filepath.Join(newScratch(t), "gems")
	for _, d := range []string{filepath.Join(dir, "srv", "gems"), filepath.Join(dir, "src")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	gs := &gemSource{t: t, src: filepath.Join(dir, "src")}
	gs.regServer = regServe(t, filepath.Join(dir, "srv"), nil)
	return gs
}

// AddGem builds a gem from files (path → content) with `gem build`; deps are gem
// names ("~> 1.0"); ext names an extconf.rb among files.
func (gs *gemSource) AddGem(name, version string, deps []string, files map[string]string, ext string) {
	t := gs.t
	t.Helper()
	dir := filepath.Join(gs.src, name+"-"+version)
	var list []string
	for k, v := range files {
		writeFile(t, filepath.Join(dir, k), v, 0o644)
		list = append(list, k)
	}
	sort.Strings(list)
	spec := fmt.Sprintf("Gem::Specification.new do |s|\n  s.name = %q\n  s.version = %q\n  s.summary = \"phylum-box test gem\"\n  s.authors = [\"pbox\"]\n  s.license = \"MIT\"\n  s.files = %s\n",
		name, version, rubyList(list))
	for _, d := range deps {
		spec += fmt.Sprintf("  s.add_dependency %q, \"~> 1.0\"\n", d)
	}
	if ext != "" {
		spec += fmt.Sprintf("  s.extensions = [%q]\n", ext)
	}
	spec += "end\n"
	writeFile(t, filepath.Join(dir, name+".gemspec"), spec, 0o644)
	c := exec.Command("gem", "build", name+".gemspec", "--output", filepath.Join(gs.Dir, "gems", name+"-"+version+".gem"))
	c.Dir = dir
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("gem build %s: %v\n%s", name, err, out)
	}
	if out, err := exec.Command("gem", "generate_index", "-d", gs.Dir).CombinedOutput(); err != nil {
		t.Fatalf("gem generate_index: %v\n%s", err, out)
	}
}

func rubyList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// SparseConfigToml is ConfigToml for cargo's sparse protocol (cargo 1.68 and later).
func (reg *cargoRegistry) SparseConfigToml() string {
	return fmt.Sprintf("[source.crates-io]\nreplace-with = \"pbox\"\n\n[source.pbox]\nregistry = \"sparse+%s/sparse/\"\n\n[net]\nretry = 0\n", reg.URL)
}

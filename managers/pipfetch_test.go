package managers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// pipTestIndex serves a simple index: /simple/<name>/ lists the files of files
// (name → bytes) as HTML (or JSON with ?json in the page URL), each with its
// sha256 unless nohash; it records the Authorization headers it got.
type pipTestIndex struct {
	*httptest.Server
	files  map[string][]byte
	nohash bool
	mu     sync.Mutex
	auth   []string
}

func newPipTestIndex(t *testing.T, files map[string][]byte) *pipTestIndex {
	ix := &pipTestIndex{files: files}
	ix.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ix.mu.Lock()
		ix.auth = append(ix.auth, r.Header.Get("Authorization"))
		ix.mu.Unlock()
		if name, ok := strings.CutPrefix(r.URL.Path, "/files/"); ok {
			w.Write(ix.files[name])
			return
		}
		project := strings.Trim(strings.TrimPrefix(r.URL.Path, "/simple/"), "/")
		if strings.Contains(r.Header.Get("Accept"), "json") && strings.HasPrefix(project, "json-") {
			var files []map[string]any
			for name, data := range ix.files {
				if strings.HasPrefix(pipNormName(name), project) {
					sum := sha256.Sum256(data)
					files = append(files, map[string]any{"filename": name, "url": "../../files/" + name, "hashes": map[string]string{"sha256": hex.EncodeToString(sum[:])}})
				}
			}
			w.Header().Set("Content-Type", "application/vnd.pypi.simple.v1+json")
			json.NewEncoder(w).Encode(map[string]any{"files": files})
			return
		}
		var b strings.Builder
		for name, data := range ix.files {
			if !strings.HasPrefix(pipNormName(name), project+"-") {
				continue
			}
			sum := sha256.Sum256(data)
			frag := "#sha256=" + hex.EncodeToString(sum[:])
			if ix.nohash {
				frag = ""
			}
			fmt.Fprintf(&b, "<a href=\"/files/%s%s\">%s</a>\n", name, frag, name)
		}
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, b.String())
	}))
	t.Cleanup(ix.Close)
	return ix
}

func pipTestReport(items ...string) []byte {
	return []byte(`{"version":"1","install":[` + strings.Join(items, ",") + `]}`)
}

func pipTestItem(name, version, url string, direct bool) string {
	return fmt.Sprintf(`{"metadata":{"name":%q,"version":%q},"is_direct":%v,"download_info":{"url":%q,"archive_info":{"hashes":{"sha256":"00"}}}}`, name, version, direct, url)
}

func TestPipResolverChecksReportAgainstIndex(t *testing.T) {
	good := []byte("good wheel")
	ix := newPipTestIndex(t, map[string][]byte{"demo-1.0-py3-none-any.whl": good, "json_demo-2.0-py3-none-any.whl": []byte("j"), "other-1.0-py3-none-any.whl": []byte("o")})
	sum := sha256.Sum256(good)
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the attacker's server was contacted: %s", r.URL)
	}))
	defer attacker.Close()
	for _, tc := range []struct {
		name, item string
		mismatch   string // substring; "" = fetched
	}{
		{"listed file, the index's hash", pipTestItem("demo", "1.0", ix.URL+"/files/demo-1.0-py3-none-any.whl", false), ""},
		{"JSON page (PEP 691)", pipTestItem("json-demo", "2.0", ix.URL+"/files/json_demo-2.0-py3-none-any.whl", false), ""},
		{"URL swapped to another server", pipTestItem("demo", "1.0", attacker.URL+"/files/demo-1.0-py3-none-any.whl", false), "is not listed for demo"},
		{"another package's file", pipTestItem("demo", "1.0", ix.URL+"/files/other-1.0-py3-none-any.whl", false), "is not a file of demo 1.0"},
		{"direct URL the user never named", pipTestItem("demo", "1.0", attacker.URL+"/demo-1.0-py3-none-any.whl", true), "is not a URL your command line"},
		{"a path in the file name", pipTestItem("demo", "1.0", ix.URL+"/files/..%2Fdemo-1.0.tar.gz%0A", false), "not a distribution"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &Plan{}
			pr := &pipResolver{src: &pipSources{indexes: []string{ix.URL + "/simple/"}, direct: map[string][]string{}, hashes: map[string][]string{}, named: map[string]string{"demo": "requirements.txt:1"}},
				plan: p, client: ix.Client(), pages: map[string][]pipLink{}}
			pkgs, err := pr.resolve(context.Background(), append([]byte("noise before\n"), pipTestReport(tc.item)...))
			if err != nil {
				t.Fatal(err)
			}
			if len(pkgs) != 1 || !strings.Contains(pkgs[0].Mismatch, tc.mismatch) || (tc.mismatch == "") != (pkgs[0].Mismatch == "") {
				t.Fatalf("packages = %+v, want mismatch %q", pkgs, tc.mismatch)
			}
			var list []pipFetchItem
			json.Unmarshal(p.Sandbox.Credentials.Files[0].Secret, &list)
			if tc.mismatch != "" {
				if len(list) != 0 {
					t.Errorf("a refused file is in the fetch list: %+v", list)
				}
				return
			}
			if len(list) != 1 || list[0].Hashes["sha256"] == "00" {
				t.Fatalf("fetch list %+v must carry the index's hash, not the report's", list)
			}
			if pkgs[0].Name == "demo" && (list[0].Hashes["sha256"] != hex.EncodeToString(sum[:]) || pkgs[0].Source != "requirements.txt:1") {
				t.Errorf("hash %s source %q", list[0].Hashes["sha256"], pkgs[0].Source)
			}
		})
	}
}

func TestPipResolverNeedsAHash(t *testing.T) {
	ix := newPipTestIndex(t, map[string][]byte{"demo-1.0-py3-none-any.whl": []byte("w")})
	ix.nohash = true
	src := &pipSources{indexes: []string{ix.URL + "/simple/"}, direct: map[string][]string{}, hashes: map[string][]string{}, named: map[string]string{}}
	pr := &pipResolver{src: src, plan: &Plan{}, client: ix.Client(), pages: map[string][]pipLink{}}
	pkgs, _ := pr.resolve(context.Background(), pipTestReport(pipTestItem("demo", "1.0", ix.URL+"/files/demo-1.0-py3-none-any.whl", false)))
	if len(pkgs) != 1 || !strings.Contains(pkgs[0].Mismatch, "no sha256") {
		t.Fatalf("an index without hashes must block: %+v", pkgs)
	}
	// The user's requirements file pins it: that hash is used.
	src.hashes["demo"] = []string{"sha256:abc"}
	pr = &pipResolver{src: src, plan: &Plan{}, client: ix.Client(), pages: map[string][]pipLink{}}
	pkgs, _ = pr.resolve(context.Background(), pipTestReport(pipTestItem("demo", "1.0", ix.URL+"/files/demo-1.0-py3-none-any.whl", false)))
	if len(pkgs) != 1 || pkgs[0].Mismatch != "" {
		t.Fatalf("a --hash pin must do: %+v", pkgs)
	}
}

func TestPipResolverCredentialsOnlyForTheirHost(t *testing.T) {
	ix := newPipTestIndex(t, map[string][]byte{"demo-1.0-py3-none-any.whl": []byte("w")})
	home := t.TempDir()
	host := strings.TrimPrefix(ix.URL, "http://")
	writeFile(t, filepath.Join(home, ".config", "pip", "pip.conf"), "[global]\nextra-index-url = http://u:s3cret@"+host+"/simple/\n")
	writeFile(t, filepath.Join(home, ".netrc"), "machine elsewhere.example login x password netrc-secret\n")
	auth := pipUserAuth(Env{Home: home})
	if h := auth.header(ix.URL + "/files/x.whl"); h == "" {
		t.Error("the configured index's credentials are not used for its host")
	}
	if h := auth.header("http://127.0.0.1:1/files/x.whl"); h != "" {
		t.Errorf("credentials sent to another host: %q", h)
	}
	if h := auth.header("https://elsewhere.example/x"); h == "" {
		t.Error(".netrc credentials are not used for their machine")
	}
	// A project requirements file naming the same host with its own index does not
	// change whose credentials go there; one naming another host gets none.
	pr := &pipResolver{src: &pipSources{indexes: []string{ix.URL + "/simple/"}, direct: map[string][]string{}, hashes: map[string][]string{}, named: map[string]string{}},
		auth: auth, plan: &Plan{}, client: ix.Client(), pages: map[string][]pipLink{}}
	if _, err := pr.resolve(context.Background(), pipTestReport(pipTestItem("demo", "1.0", ix.URL+"/files/demo-1.0-py3-none-any.whl", false))); err != nil {
		t.Fatal(err)
	}
	var list []pipFetchItem
	json.Unmarshal(pr.plan.Sandbox.Credentials.Files[0].Secret, &list)
	if len(list) != 1 || list[0].Auth == "" {
		t.Errorf("the fetch list must carry the index host's credentials: %+v", list)
	}
}

func TestPipReportOutputRejectsJunk(t *testing.T) {
	for _, out := range []string{"", "no json here", `{"install":null}`, `{"install":[{"metadata":{"name":"../x","version":"1"}}]}`} {
		pr := &pipResolver{src: &pipSources{}, plan: &Plan{}, pages: map[string][]pipLink{}}
		if _, err := pr.resolve(context.Background(), []byte(out)); err == nil {
			t.Errorf("%q: accepted", out)
		}
	}
}

// TestPipFetchProgram runs the download step's program under the system python,
// isolated as the step runs it: it fetches the list and refuses bytes whose hash
// is not the listed one (exit 3, the file removed).
func TestPipFetchProgram(t *testing.T) {
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Skip("no /usr/bin/python3")
	}
	body := []byte("wheel bytes")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
	defer srv.Close()
	sum := sha256.Sum256(body)
	for _, tc := range []struct {
		name, hash string
		ok         bool
	}{
		{"matching hash", hex.EncodeToString(sum[:]), true},
		{"other bytes", strings.Repeat("0", 64), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			list, _ := json.Marshal([]pipFetchItem{{Name: "x", URL: srv.URL + "/x-1-py3-none-any.whl", File: "x-1-py3-none-any.whl", Hashes: map[string]string{"sha256": tc.hash}}})
			writeFile(t, filepath.Join(dir, "fetch.json"), string(list))
			writeFile(t, filepath.Join(dir, "fetch.py"), pipFetchProgram)
			// A stale file in the dist dir is removed first.
			writeFile(t, filepath.Join(dir, "dist", "planted-1-py3-none-any.whl"), "planted")
			cmd := exec.Command("/usr/bin/python3", "-I", "-S", filepath.Join(dir, "fetch.py"), filepath.Join(dir, "fetch.json"), filepath.Join(dir, "dist"))
			cmd.Env = []string{"HOME=" + dir, "PATH=/usr/bin:/bin"}
			out, err := cmd.CombinedOutput()
			got, rerr := os.ReadFile(filepath.Join(dir, "dist", "x-1-py3-none-any.whl"))
			if _, perr := os.Stat(filepath.Join(dir, "dist", "planted-1-py3-none-any.whl")); perr == nil {
				t.Error("a file already in the dist dir survived the download")
			}
			if tc.ok {
				if err != nil || rerr != nil || string(got) != string(body) {
					t.Fatalf("fetch failed: %v %v\n%s", err, rerr, out)
				}
				return
			}
			if exitCodeOf(err) != 3 || rerr == nil || !strings.Contains(string(out), "does not have the hash") {
				t.Fatalf("a wrong hash must exit 3 and leave nothing: %v\n%s", err, out)
			}
		})
	}
}

func exitCodeOf(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}

func TestPipInterpreterPaths(t *testing.T) {
	home := t.TempDir()
	mk := func(rel string) string {
		p := filepath.Join(home, rel)
		writeFile(t, p, "")
		return p
	}
	pyenv := mk(".pyenv/versions/3.11.2/bin/python3.11")
	odd := mk("tools/py/bin/python3")
	proj := t.TempDir()
	link := func(target string) string {
		l := filepath.Join(proj, filepath.Base(filepath.Dir(filepath.Dir(target)))+"-python")
		os.Symlink(target, l)
		return l
	}
	env := Env{Home: home}
	got, err := pipInterpreterPaths(env, link(pyenv))
	if err != nil || len(got) != 1 || got[0] != filepath.Join(home, ".pyenv/versions/3.11.2") {
		t.Errorf("pyenv venv: %q %v, want the one installation dir", got, err)
	}
	if got, err := pipInterpreterPaths(env, link(odd)); err == nil {
		t.Errorf("an interpreter elsewhere in $HOME (a path the venv link chose) must be refused, got %q", got)
	}
	if got, err := pipInterpreterPaths(env, "/usr/bin/python3"); err != nil || len(got) != 0 {
		t.Errorf("a system interpreter needs nothing: %q %v", got, err)
	}
}

func TestPipGatherSources(t *testing.T) {
	env := testEnv(t, map[string]string{
		".venv/pyvenv.cfg": "",
		"requirements.txt": "--extra-index-url https://extra.example/simple\n# c\ndemo==1.0 \\\n    --hash=sha256:AB\nother @ https://files.example/other-1.0.tar.gz#sha256=cd\n",
	})
	env.Environ = append(env.Environ, "PIP_INDEX_URL=https://idx.example/simple/")
	s := pipGatherSources(parsePipArgv([]string{"install", "-r", "requirements.txt", "cli-pkg"}), env, filepath.Join(env.Dir, ".venv"))
	if strings.Join(s.indexes, " ") != "https://idx.example/simple/ https://extra.example/simple" {
		t.Errorf("indexes = %q", s.indexes)
	}
	if s.named["demo"] != "requirements.txt:3" || s.named["cli-pkg"] != "the command line" || s.named["other"] != "requirements.txt:5" {
		t.Errorf("named = %q", s.named)
	}
	if strings.Join(s.hashes["demo"], ",") != "sha256:ab" {
		t.Errorf("hashes = %q", s.hashes)
	}
	if strings.Join(s.direct["https://files.example/other-1.0.tar.gz"], ",") != "sha256:cd" {
		t.Errorf("direct = %q", s.direct)
	}
}

func TestPipByproducts(t *testing.T) {
	env := testEnv(t, map[string]string{
		".venv/pyvenv.cfg":     "",
		"pyproject.toml":       "[project]\nname = \"my-pkg\"\n",
		"lib/setup.py":         "from setuptools import setup\nsetup(\n    name='other.pkg',\n)\n",
		"lib/build/keep.txt":   "mine\n",
		"requirements.txt":     "-e ./lib\nrequests\n",
		"notaproject/file.txt": "",
	})
	a := parsePipArgv([]string{"install", "-e", ".", "-r", "requirements.txt", "./missing"})
	out, rm := pipByproducts(a, env, env.Dir)
	want := []string{"my_pkg.egg-info/", "src/my_pkg.egg-info/", "lib/other.pkg.egg-info/", "lib/src/other.pkg.egg-info/", "lib/build/"}
	if strings.Join(out, " ") != strings.Join(want, " ") {
		t.Errorf("outputs = %q, want %q", out, want)
	}
	if len(rm) != 1 || rm[0] != filepath.Join(env.Dir, "build") {
		t.Errorf("removed = %q, want the new build/ of the project only", rm)
	}
}

func TestPipResolverDirectURLNamedByTheUser(t *testing.T) {
	url := "https://files.example/pkgs/demo-1.0.tar.gz"
	for _, tc := range []struct {
		name   string
		direct map[string][]string
		want   string
	}{
		{"named with #sha256", map[string][]string{url: {"sha256:ab"}}, ""},
		{"named without a hash", map[string][]string{url: nil}, "no hash for"},
		{"not named", map[string][]string{}, "is not a URL your command line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pr := &pipResolver{src: &pipSources{direct: tc.direct, hashes: map[string][]string{}, named: map[string]string{}}, plan: &Plan{}, pages: map[string][]pipLink{}}
			pkgs, err := pr.resolve(context.Background(), pipTestReport(pipTestItem("demo", "1.0", "https://user:****@files.example/pkgs/demo-1.0.tar.gz", true)))
			if err != nil {
				t.Fatal(err)
			}
			if len(pkgs) != 1 || !strings.Contains(pkgs[0].Mismatch, tc.want) || (tc.want == "") != (pkgs[0].Mismatch == "") {
				t.Fatalf("packages = %+v, want mismatch %q", pkgs, tc.want)
			}
		})
	}
}

func TestPipURLKey(t *testing.T) {
	for in, want := range map[string]string{
		"HTTPS://u:p@Files.Example:443/a/x-1.0%2Blocal.whl#sha256=ab": "https://files.example/a/x-1.0+local.whl",
		"http://h:80/x.whl":       "http://h/x.whl",
		"http://h:8080/x.whl?q=1": "http://h:8080/x.whl?q=1",
	} {
		if got, _ := pipURLKey(in); got != want {
			t.Errorf("pipURLKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPipFetchProgramNamesAFailedFetch(t *testing.T) {
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Skip("no /usr/bin/python3")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusUnauthorized) }))
	defer srv.Close()
	dir := t.TempDir()
	list, _ := json.Marshal([]pipFetchItem{{Name: "x", URL: srv.URL + "/x-1-py3-none-any.whl", File: "x-1-py3-none-any.whl", Hashes: map[string]string{"sha256": "00"}}})
	writeFile(t, filepath.Join(dir, "fetch.json"), string(list))
	writeFile(t, filepath.Join(dir, "fetch.py"), pipFetchProgram)
	out, err := exec.Command("/usr/bin/python3", "-I", "-S", filepath.Join(dir, "fetch.py"), filepath.Join(dir, "fetch.json"), filepath.Join(dir, "dist")).CombinedOutput()
	if exitCodeOf(err) != 1 || !strings.Contains(string(out), "x: fetching") || !strings.Contains(string(out), "your own pip config") || strings.Contains(string(out), "Traceback") {
		t.Errorf("a 401 must be one line naming the package and where credentials come from: %v\n%s", err, out)
	}
}

// TestPipFetchNothingToFetch: a report naming only a local directory (`pip install
// --no-index ./pkg`) gives the download step an empty list, which the fetch program
// takes as nothing to fetch (exit 0, an empty dist dir), not a TypeError on null.
func TestPipFetchNothingToFetch(t *testing.T) {
	p := &Plan{}
	pr := &pipResolver{src: &pipSources{direct: map[string][]string{}, hashes: map[string][]string{}, named: map[string]string{}}, plan: p, pages: map[string][]pipLink{}}
	local := `{"metadata":{"name":"localpkg","version":"0.1"},"is_direct":true,"download_info":{"url":"file:///work/p/pkg","dir_info":{}}}`
	pkgs, err := pr.resolve(context.Background(), pipTestReport(local))
	if err != nil || len(pkgs) != 1 || !pkgs[0].Uncheckable {
		t.Fatalf("packages = %+v, %v", pkgs, err)
	}
	list := p.Sandbox.Credentials.Files[0].Secret
	if string(list) != "[]" {
		t.Fatalf("fetch list = %s, want []", list)
	}
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Skip("no /usr/bin/python3")
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "fetch.json"), string(list))
	writeFile(t, filepath.Join(dir, "fetch.py"), pipFetchProgram)
	out, err := exec.Command("/usr/bin/python3", "-I", "-S", filepath.Join(dir, "fetch.py"), filepath.Join(dir, "fetch.json"), filepath.Join(dir, "dist")).CombinedOutput()
	if err != nil {
		t.Fatalf("an empty fetch list must do nothing: %v\n%s", err, out)
	}
	if ents, err := os.ReadDir(filepath.Join(dir, "dist")); err != nil || len(ents) != 0 {
		t.Errorf("dist dir: %v %v, want it empty", ents, err)
	}
}

// TestPipProjectNameForms: the local project's name (its egg-info dir is an output)
// as setuptools reads it from setup.cfg (unquoted) and from a one-line setup(...);
// before, both were missed and the install exited 4 on the refused egg-info.
func TestPipProjectNameForms(t *testing.T) {
	for _, tc := range []struct {
		files map[string]string
		want  string
	}{
		{map[string]string{"setup.cfg": "[options]\nname = no\n[metadata]\nname = cfg-proj\nversion = 0.1\n", "setup.py": "from setuptools import setup\nsetup()\n"}, "cfg-proj"},
		{map[string]string{"setup.py": "from setuptools import setup\nsetup(name=\"projx\", version=\"0.1\")\n"}, "projx"},
		{map[string]string{"setup.py": "setup(\n    name='multi.line',\n)\n"}, "multi.line"},
		{map[string]string{"setup.cfg": "[metadata]\nname = \"quoted\"\n", "setup.py": "x = 1\n"}, ""},
		{map[string]string{"setup.py": "setup(author_name='nobody')\n"}, ""},
		{map[string]string{"pyproject.toml": "[project]\nname = \"pyproj\"\n", "setup.cfg": "[metadata]\nname = other\n"}, "pyproj"},
	} {
		dir := t.TempDir()
		for name, body := range tc.files {
			writeFile(t, filepath.Join(dir, name), body)
		}
		if got := pipProjectName(dir); got != tc.want {
			t.Errorf("%v: name %q, want %q", tc.files, got, tc.want)
		}
	}
}

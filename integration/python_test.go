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

// pyNeed skips unless Debian's python3 with venv and pip is there (the sandbox sees
// /usr, not a pyenv under /root).
func pyNeed(t testing.TB) {
	t.Helper()
	if out, err := exec.Command("/usr/bin/python3", "-c", "import venv, ensurepip").CombinedOutput(); err != nil {
		skipf(t, "/usr/bin/python3 with venv and ensurepip is missing (hack/install-deps.d/python.sh installs python3-venv python3-pip): %v %s", err, out)
	}
}

// pyProject is a box whose project has a .venv made by the host's python3.
func pyProject(t testing.TB, m mode) *box {
	t.Helper()
	b := regNewBox(t, m)
	hostSh(t, m, b.Project, "/usr/bin/python3 -m venv .venv")
	return b
}

func (b *box) pip(ix *pyIndex, db string, args ...string) result {
	b.t.Helper()
	return invocation{Mode: b.Mode, Args: append([]string{"pip"}, args...), Dir: b.Project, Home: b.Home,
		Env:     []string{"PIP_INDEX_URL=" + ix.URL + "/simple/", "PHYLUM_BOX_DB=" + db, "PIP_DISABLE_PIP_VERSION_CHECK=1"},
		Timeout: 4 * time.Minute}.exec(b.t)
}

func sitePackages(t testing.TB, venv string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(venv, "lib", "python3*", "site-packages"))
	if len(m) != 1 {
		t.Fatalf("no site-packages in %s: %v", venv, m)
	}
	return m[0]
}

func pyGreetIndex(t testing.TB) *pyIndex {
	ix := regStartPyIndex(t)
	ix.AddSystemWheel("setuptools")
	ix.AddSystemWheel("wheel")
	ix.AddWheel("pbox-dep", "1.0", nil, map[string]string{"pbox_dep/__init__.py": "VALUE = 'dep'\n"})
	ix.AddWheel("pbox-greet", "1.0", []string{"pbox-dep>=1.0"}, map[string]string{"pbox_greet/__init__.py": "from pbox_dep import VALUE\nGREETING = 'hello ' + VALUE\n"})
	return ix
}

func TestPipInstallFromLocalIndex(t *testing.T) {
	t.Parallel()
	pyNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		ix := pyGreetIndex(t)
		db := regMalDB(t, m, "PyPI")
		b := pyProject(t, m)
		r := b.pip(ix, db, "install", "pbox-greet")
		wantCode(t, r, 0, "pip install pbox-greet")
		site := sitePackages(t, filepath.Join(b.Project, ".venv"))
		for _, f := range []string{"pbox_greet/__init__.py", "pbox_dep/__init__.py"} {
			if !pathExists(filepath.Join(site, f)) {
				t.Errorf("%s was not installed into the project's venv\n%s", f, r)
			}
		}
		if pathExists(filepath.Join(b.Project, ".phylum-box-pip")) {
			t.Error("the download dir was synced back into the project")
		}
		out, err := exec.Command(filepath.Join(b.Project, ".venv", "bin", "python"), "-c", "import pbox_greet; print(pbox_greet.GREETING)").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "hello dep" {
			t.Errorf("the installed package does not import: %v %s", err, out)
		}
	})
}

func TestPipMaliciousDependencyBlocked(t *testing.T) {
	t.Parallel()
	pyNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		ix := pyGreetIndex(t)
		db := regMalDB(t, m, "PyPI", "pbox-dep")
		b := pyProject(t, m)
		before := treeHash(t, b.Project, true)
		r := b.pip(ix, db, "install", "pbox-greet")
		wantCode(t, r, 3, "a malicious dependency must block the install")
		wantStderr(t, r, "pbox-dep")
		assertSameTree(t, before, treeHash(t, b.Project, true), "a blocked install")
	})
}

func TestPipHostileSetupPyContained(t *testing.T) {
	t.Parallel()
	pyNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		ix := pyGreetIndex(t)
		canary := regStartCanary(t)
		db := regMalDB(t, m, "PyPI")
		b := pyProject(t, m)
		containmentOnly(t, m, b.Home) // the sandbox alone: a hostile fixture
		outside := filepath.Join(filepath.Dir(b.Project), "pbox-evil-escaped.txt")
		tmpl, err := os.ReadFile(filepath.Join("testdata", "python", "evil_setup.py"))
		if err != nil {
			t.Fatal(err)
		}
		setupPy := strings.NewReplacer("@OUTSIDE@", outside, "@REGISTRY_PORT@", strconv.Itoa(ix.Port), "@CANARY_PORT@", strconv.Itoa(canary.Port)).Replace(string(tmpl))
		ix.AddSdist("pbox-evil", "1.0", map[string]string{"setup.py": setupPy})
		homeBefore := regHomeHash(b)
		before := treeHash(t, b.Project, true)
		r := b.pip(ix, db, "install", "pbox-evil")
		if r.Code == 0 {
			t.Fatalf("the hostile build must fail (it exits when it cannot steal anything)\n%s", r)
		}
		if strings.Contains(r.Stdout+r.Stderr, b.Mark) {
			t.Errorf("the SSH key reached the build\n%s", r)
		}
		if !strings.Contains(r.Stdout+r.Stderr, "PBOX-EVIL phase=bdist_wheel") {
			t.Fatalf("the build step did not run the hostile setup.py\n%s", r)
		}
		wantStderr(t, r, "pbox-evil")
		for _, line := range strings.Split(r.Stdout+r.Stderr, "\n") {
			if strings.Contains(line, "PBOX-EVIL phase=bdist_wheel") {
				// write=OK is expected: the home path inside is a tmpfs; the host file is
				// checked below.
				for _, bad := range []string{"ssh=OK", "registry=OK", "canary=OK"} {
					if strings.Contains(line, bad) {
						t.Errorf("the offline build step could do %s: %s", bad, line)
					}
				}
			}
		}
		for _, got := range canary.Got() {
			if strings.Contains(got, "bdist_wheel") {
				t.Errorf("the build step reached a loopback listener: %q", got)
			}
			if strings.Contains(got, b.Mark) {
				t.Errorf("the SSH key was sent out: %q", got)
			}
		}
		if pathExists(outside) {
			t.Errorf("setup.py wrote outside the project: %s", outside)
		}
		assertSameTree(t, before, treeHash(t, b.Project, true), "a failed build")
		assertSameTree(t, homeBefore, regHomeHash(b), "the caller's home")
	})
}

// egressSdist adds pbox-egress, whose setup.py tries to get out while its metadata
// is built (see testdata/python/egress_setup.py), to ix.
func egressSdist(t *testing.T, ix *pyIndex, canary *regCanary) {
	t.Helper()
	tmpl, err := os.ReadFile(filepath.Join("testdata", "python", "egress_setup.py"))
	if err != nil {
		t.Fatal(err)
	}
	setupPy := strings.NewReplacer("@REGISTRY_PORT@", strconv.Itoa(ix.Port), "@CANARY_PORT@", strconv.Itoa(canary.Port)).Replace(string(tmpl))
	ix.AddSdist("pbox-egress", "1.0", map[string]string{"setup.py": setupPy})
}

// checkEgressContained asserts that the metadata hook of pbox-egress ran while
// resolving, behind the egress proxy, and got nowhere: the proxy refused the
// canary (so the hook did run, and tried), the canary heard nothing, the key stayed home.
func checkEgressContained(t *testing.T, r result, b *box, canary *regCanary) {
	t.Helper()
	all := r.Stdout + r.Stderr
	if strings.Contains(all, "the setup code got out") {
		t.Errorf("the metadata hook got out\n%s", r)
	}
	wantStderr(t, r, "refused network access to", "127.0.0.1:"+strconv.Itoa(canary.Port))
	for _, got := range canary.Got() {
		t.Errorf("the host's loopback listener was reached: %q", got)
	}
	if strings.Contains(all, b.Mark) {
		t.Errorf("the SSH key reached the output\n%s", r)
	}
}

// TestPipResolveSdistMetadataHookHasNoNetwork: resolving a source distribution runs
// its metadata hook (PEP 517 prepare_metadata / setup.py egg_info). The resolve step
// has no network of its own, only phylum-box's proxy to the index: the hook can
// reach neither a host loopback service nor any other server, and the install of
// what it declares still works.
func TestPipResolveSdistMetadataHookHasNoNetwork(t *testing.T) {
	t.Parallel()
	pyNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		ix := pyGreetIndex(t)
		canary := regStartCanary(t)
		db := regMalDB(t, m, "PyPI")
		egressSdist(t, ix, canary)
		b := pyProject(t, m)
		containmentOnly(t, m, b.Home) // the sandbox alone: a hostile fixture
		r := b.pip(ix, db, "install", "pbox-egress", "pbox-greet")
		wantCode(t, r, 0, "pip install of an sdist whose metadata hook tries to get out")
		checkEgressContained(t, r, b, canary)
		site := sitePackages(t, filepath.Join(b.Project, ".venv"))
		if m, _ := filepath.Glob(filepath.Join(site, "pbox_egress-1.0*-info")); len(m) == 0 {
			t.Errorf("pbox-egress was not installed\n%s", r)
		}
		for _, f := range []string{"pbox_dep/__init__.py", "pbox_greet/__init__.py"} {
			if !pathExists(filepath.Join(site, f)) {
				t.Errorf("%s (a dependency read from the hook's metadata, or a wheel) was not installed\n%s", f, r)
			}
		}
	})
}

func TestPipNativeExtensionBuildsOffline(t *testing.T) {
	t.Parallel()
	pyNeed(t)
	if _, err := os.Stat("/usr/include/python3.11/Python.h"); err != nil {
		if m, _ := filepath.Glob("/usr/include/python3*/Python.h"); len(m) == 0 {
			skipf(t, "no Python.h (install python3-dev: hack/install-deps.d/python.sh)")
		}
	}
	forEachMode(t, func(t *testing.T, m mode) {
		ix := pyGreetIndex(t)
		db := regMalDB(t, m, "PyPI")
		setupPy, err := os.ReadFile(filepath.Join("testdata", "python", "cext_setup.py"))
		if err != nil {
			t.Fatal(err)
		}
		src, err := os.ReadFile(filepath.Join("testdata", "python", "pbox_cext.c"))
		if err != nil {
			t.Fatal(err)
		}
		ix.AddSdist("pbox-cext", "1.0", map[string]string{"setup.py": string(setupPy), "pbox_cext.c": string(src)})
		b := pyProject(t, m)
		r := b.pip(ix, db, "install", "pbox-cext")
		wantCode(t, r, 0, "pip install pbox-cext (a C extension built offline)")
		out, err := exec.Command(filepath.Join(b.Project, ".venv", "bin", "python"), "-c", "import pbox_cext; print(pbox_cext.hello())").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "built offline" {
			t.Errorf("the compiled extension does not import: %v %s\n%s", err, out, r)
		}
	})
}

func TestPipRefusesSystemAndUserInstalls(t *testing.T) {
	t.Parallel()
	pyNeed(t)
	m := requireMode(t, "root")
	b := regNewBox(t, m)
	ix := regStartPyIndex(t)
	db := regMalDB(t, m, "PyPI")
	r := b.pip(ix, db, "install", "pbox-greet")
	wantCode(t, r, 2, "no venv: system site-packages")
	wantStderr(t, r, "python3 -m venv .venv")
	hostSh(t, m, b.Project, "/usr/bin/python3 -m venv .venv")
	r = b.pip(ix, db, "install", "--user", "pbox-greet")
	wantCode(t, r, 2, "--user")
	wantStderr(t, r, "--user")
	r = b.pip(ix, db, "install", "--target", "/tmp/elsewhere", "pbox-greet")
	wantCode(t, r, 2, "--target outside the project")
}

// ---- poetry ----

func poetryNeed(t testing.TB) {
	t.Helper()
	pyNeed(t)
	if _, err := os.Stat("/usr/bin/poetry"); err != nil {
		skipf(t, "/usr/bin/poetry is missing (hack/install-deps.d/python.sh installs python3-poetry)")
	}
}

// poetryProject is a box with a Poetry project whose only source is ix.
func poetryProject(t testing.TB, m mode, ix *pyIndex, deps ...string) *box {
	t.Helper()
	b := regNewBox(t, m)
	py := "[tool.poetry]\nname = \"proj\"\nversion = \"0.1.0\"\ndescription = \"\"\nauthors = [\"pbox <pbox@example.invalid>\"]\npackages = []\n\n" +
		"[tool.poetry.dependencies]\npython = \"^3.9\"\n"
	for _, d := range deps {
		py += d + " = \"*\"\n"
	}
	py += "\n[[tool.poetry.source]]\nname = \"pbox\"\nurl = \"" + ix.URL + "/simple/\"\ndefault = true\n\n" +
		"[build-system]\nrequires = [\"poetry-core\"]\nbuild-backend = \"poetry.core.masonry.api\"\n"
	writeFile(t, filepath.Join(b.Project, "pyproject.toml"), py, 0o644)
	chownTree(t, m, b.Home)
	return b
}

func (b *box) poetry(db string, args ...string) result {
	b.t.Helper()
	return invocation{Mode: b.Mode, Args: append([]string{"poetry"}, args...), Dir: b.Project, Home: b.Home,
		Env: []string{"PHYLUM_BOX_DB=" + db}, Timeout: 5 * time.Minute}.exec(b.t)
}

func TestPoetryInstallFromLocalIndex(t *testing.T) {
	t.Parallel()
	poetryNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		ix := pyGreetIndex(t)
		db := regMalDB(t, m, "PyPI")
		b := poetryProject(t, m, ix, "pbox-greet")
		r := b.poetry(db, "install", "--no-root")
		wantCode(t, r, 0, "poetry install")
		lock, err := os.ReadFile(filepath.Join(b.Project, "poetry.lock"))
		if err != nil || !strings.Contains(string(lock), "pbox-dep") {
			t.Fatalf("poetry.lock was not synced back with pbox-dep: %v\n%s", err, r)
		}
		out, err := exec.Command(filepath.Join(b.Project, ".venv", "bin", "python"), "-c", "import pbox_greet; print(pbox_greet.GREETING)").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "hello dep" {
			t.Errorf("the installed package does not import: %v %s\n%s", err, out, r)
		}
		if pathExists(filepath.Join(b.Project, ".phylum-box-poetry")) {
			t.Error("the download dir was synced back")
		}
	})
}

// TestPoetryInstallsTheRootPackageOffline: `poetry install` without --no-root also
// installs the project itself (poetry install --only-root, in the offline step).
func TestPoetryInstallsTheRootPackageOffline(t *testing.T) {
	t.Parallel()
	poetryNeed(t)
	m := requireMode(t, "root")
	ix := pyGreetIndex(t)
	db := regMalDB(t, m, "PyPI")
	b := poetryProject(t, m, ix, "pbox-greet")
	py, err := os.ReadFile(filepath.Join(b.Project, "pyproject.toml"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(b.Project, "pyproject.toml"), strings.Replace(string(py), "packages = []", "packages = [{ include = \"proj\" }]", 1), 0o644)
	writeFile(t, filepath.Join(b.Project, "proj", "__init__.py"), "from pbox_greet import GREETING\n", 0o644)
	r := b.poetry(db, "install")
	wantCode(t, r, 0, "poetry install with the root package")
	out, err := exec.Command(filepath.Join(b.Project, ".venv", "bin", "python"), "-c", "import proj; print(proj.GREETING)").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "hello dep" {
		t.Errorf("the root package is not installed: %v %s\n%s", err, out, r)
	}
}

func TestPoetryAddMaliciousBlocked(t *testing.T) {
	t.Parallel()
	poetryNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		ix := pyGreetIndex(t)
		db := regMalDB(t, m, "PyPI", "pbox-dep")
		b := poetryProject(t, m, ix)
		before := treeHash(t, b.Project, true)
		r := b.poetry(db, "add", "pbox-greet")
		wantCode(t, r, 3, "a malicious dependency must block poetry add")
		wantStderr(t, r, "pbox-dep", "MAL-2099")
		assertSameTree(t, before, treeHash(t, b.Project, true), "a blocked add")
	})
}

func TestPoetryHostileSetupPyContained(t *testing.T) {
	t.Parallel()
	poetryNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		ix := pyGreetIndex(t)
		canary := regStartCanary(t)
		db := regMalDB(t, m, "PyPI")
		b := poetryProject(t, m, ix, "pbox-evil")
		containmentOnly(t, m, b.Home) // the sandbox alone: a hostile fixture
		outside := filepath.Join(filepath.Dir(b.Project), "pbox-evil-escaped.txt")
		tmpl, err := os.ReadFile(filepath.Join("testdata", "python", "evil_setup.py"))
		if err != nil {
			t.Fatal(err)
		}
		setupPy := strings.NewReplacer("@OUTSIDE@", outside, "@REGISTRY_PORT@", strconv.Itoa(ix.Port), "@CANARY_PORT@", strconv.Itoa(canary.Port)).Replace(string(tmpl))
		ix.AddSdist("pbox-evil", "1.0", map[string]string{"setup.py": setupPy})
		homeBefore := regHomeHash(b)
		before := treeHash(t, b.Project, true)
		r := b.poetry(db, "install", "--no-root")
		if r.Code == 0 {
			t.Fatalf("the hostile build must fail\n%s", r)
		}
		all := r.Stdout + r.Stderr
		if !strings.Contains(all, "PBOX-EVIL phase=bdist_wheel") {
			t.Fatalf("the build step did not run the hostile setup.py\n%s", r)
		}
		wantStderr(t, r, "pbox-evil")
		if strings.Contains(all, b.Mark) {
			t.Errorf("the SSH key reached the build\n%s", r)
		}
		for _, line := range strings.Split(all, "\n") {
			if strings.Contains(line, "PBOX-EVIL phase=bdist_wheel") {
				for _, bad := range []string{"ssh=OK", "registry=OK", "canary=OK"} {
					if strings.Contains(line, bad) {
						t.Errorf("the offline build step could do %s: %s", bad, line)
					}
				}
			}
		}
		for _, got := range canary.Got() {
			if strings.Contains(got, "bdist_wheel") || strings.Contains(got, b.Mark) {
				t.Errorf("the build step reached a loopback listener: %q", got)
			}
		}
		if pathExists(outside) {
			t.Errorf("setup.py wrote outside the project: %s", outside)
		}
		assertSameTree(t, before, treeHash(t, b.Project, true), "a failed build")
		assertSameTree(t, homeBefore, regHomeHash(b), "the caller's home")
	})
}

// TestPoetryLockSdistMetadataHookHasNoNetwork: `poetry lock` builds the metadata of
// an sdist it cannot read statically (setup.py egg_info); the resolve step reaches
// only the project's source.
func TestPoetryLockSdistMetadataHookHasNoNetwork(t *testing.T) {
	t.Parallel()
	poetryNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		ix := pyGreetIndex(t)
		canary := regStartCanary(t)
		db := regMalDB(t, m, "PyPI")
		egressSdist(t, ix, canary)
		b := poetryProject(t, m, ix, "pbox-egress")
		containmentOnly(t, m, b.Home) // the sandbox alone: a hostile fixture
		r := b.poetry(db, "install", "--no-root")
		wantCode(t, r, 0, "poetry install of an sdist whose metadata hook tries to get out")
		checkEgressContained(t, r, b, canary)
		lock, err := os.ReadFile(filepath.Join(b.Project, "poetry.lock"))
		if err != nil || !strings.Contains(string(lock), "pbox-dep") {
			t.Errorf("poetry.lock lacks pbox-dep, which only the hook's metadata declares: %v\n%s", err, r)
		}
	})
}

func TestPoetryNativeExtensionBuildsOffline(t *testing.T) {
	t.Parallel()
	poetryNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		ix := pyGreetIndex(t)
		db := regMalDB(t, m, "PyPI")
		setupPy, err := os.ReadFile(filepath.Join("testdata", "python", "cext_setup.py"))
		if err != nil {
			t.Fatal(err)
		}
		src, err := os.ReadFile(filepath.Join("testdata", "python", "pbox_cext.c"))
		if err != nil {
			t.Fatal(err)
		}
		ix.AddSdist("pbox-cext", "1.0", map[string]string{"setup.py": string(setupPy), "pbox_cext.c": string(src)})
		b := poetryProject(t, m, ix, "pbox-cext")
		r := b.poetry(db, "install", "--no-root")
		wantCode(t, r, 0, "poetry install of a C extension")
		out, err := exec.Command(filepath.Join(b.Project, ".venv", "bin", "python"), "-c", "import pbox_cext; print(pbox_cext.hello())").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "built offline" {
			t.Errorf("the compiled extension does not import: %v %s\n%s", err, out, r)
		}
	})
}

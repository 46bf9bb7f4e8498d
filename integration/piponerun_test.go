package integration

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pip's one-run install (managers/piponerun.go): `pip install NAME` into an
// existing venv is one pip run restricted to wheels, checked before the sync
// back; a requirement with no wheel, or a newer version the run did not take,
// throws the attempt away and runs the three steps.

// pipV runs `phylum-box -v pip ARGS` (the steps it ran are in its log).
func (b *box) pipV(ix *pyIndex, db string, args ...string) result {
	b.t.Helper()
	return invocation{Mode: b.Mode, Args: append([]string{"-v", "pip"}, args...), Dir: b.Project, Home: b.Home,
		Env:     []string{"PIP_INDEX_URL=" + ix.URL + "/simple/", "PHYLUM_BOX_DB=" + db, "PIP_DISABLE_PIP_VERSION_CHECK=1"},
		Timeout: 4 * time.Minute}.exec(b.t)
}

// pipOneRunTaken: the run was the one pip run (wheels only), no download or
// build step, and not thrown away.
func pipOneRunTaken(t *testing.T, r result) {
	t.Helper()
	if !strings.Contains(r.Stderr, "--only-binary :all: --report -") {
		t.Errorf("the one-run install was not tried:\n%s", r)
	}
	for _, s := range []string{"download step runs", "build step runs", "running every step"} {
		if strings.Contains(r.Stderr, s) {
			t.Errorf("the one-run install fell back (%q):\n%s", s, r)
		}
	}
}

// pipFellBack: the attempt was thrown away and the three steps ran.
func pipFellBack(t *testing.T, r result) {
	t.Helper()
	for _, s := range []string{"--only-binary :all: --report -", "running every step", "download step runs", "build step runs"} {
		if !strings.Contains(r.Stderr, s) {
			t.Errorf("no fallback to the three steps (%q missing):\n%s", s, r)
		}
	}
}

// TestPipOneRunAdd: a wheel and its dependency from the local index, installed
// into the venv by the one run, importable, nothing else synced.
func TestPipOneRunAdd(t *testing.T) {
	t.Parallel()
	pyNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		ix := pyGreetIndex(t)
		db := regMalDB(t, m, "PyPI")
		b := pyProject(t, m)
		r := b.pipV(ix, db, "install", "pbox-greet")
		wantCode(t, r, 0, "pip install pbox-greet (one run)")
		pipOneRunTaken(t, r)
		if got := pipVenvImport(t, b, "import pbox_greet; print(pbox_greet.GREETING)"); got != "hello dep" {
			t.Errorf("pbox-greet is not installed: %q\n%s", got, r)
		}
		if pathExists(filepath.Join(b.Project, ".phylum-box-pip")) {
			t.Error("a download dir was synced back")
		}
		// Already there: pip has nothing to install, nothing is synced.
		r = b.pipV(ix, db, "install", "pbox-greet")
		wantCode(t, r, 0, "pip install pbox-greet again")
		pipOneRunTaken(t, r)
	})
}

// TestPipOneRunMaliciousBlocked: a MAL-listed dependency installed by the one
// run (fetched, never run: wheels only) blocks the install, and the venv is as
// it was; the same install with a database that does not list it works.
func TestPipOneRunMaliciousBlocked(t *testing.T) {
	t.Parallel()
	pyNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		ix := pyGreetIndex(t)
		mal := regMalDB(t, m, "PyPI", "pbox-dep")
		b := pyProject(t, m)
		before := treeHash(t, b.Project, true)
		r := b.pipV(ix, mal, "install", "pbox-greet")
		wantCode(t, r, 3, "a malicious dependency in the one run must block the install")
		wantStderr(t, r, "pbox-dep", "--only-binary :all:")
		if strings.Contains(r.Stderr, "running every step") {
			t.Errorf("a blocked one run fell back to the three steps:\n%s", r)
		}
		assertSameTree(t, before, treeHash(t, b.Project, true), "a blocked one-run install")
		// The legitimate twin.
		clean := regMalDB(t, m, "PyPI")
		r = b.pipV(ix, clean, "install", "pbox-greet")
		wantCode(t, r, 0, "the same install, nothing listed")
		pipOneRunTaken(t, r)
		if got := pipVenvImport(t, b, "import pbox_greet; print(pbox_greet.GREETING)"); got != "hello dep" {
			t.Errorf("pbox-greet is not installed: %q\n%s", got, r)
		}
	})
}

// TestPipOneRunSdistFallsBack: a package with only an sdist makes the one run
// fail (--only-binary): that attempt is thrown away and the three steps build it.
func TestPipOneRunSdistFallsBack(t *testing.T) {
	t.Parallel()
	pyNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		ix := pyGreetIndex(t)
		ix.AddSdist("pbox-src", "1.0", map[string]string{"pbox_src/__init__.py": "VALUE = 'src'\n",
			"setup.py": "from setuptools import setup\nsetup(name='pbox-src', version='1.0', packages=['pbox_src'])\n"})
		db := regMalDB(t, m, "PyPI")
		b := pyProject(t, m)
		r := b.pipV(ix, db, "install", "pbox-src")
		wantCode(t, r, 0, "pip install of an sdist-only package")
		pipFellBack(t, r)
		if got := pipVenvImport(t, b, "import pbox_src; print(pbox_src.VALUE)"); got != "src" {
			t.Errorf("pbox-src is not installed: %q\n%s", got, r)
		}
		if strings.Contains(r.Stderr, "ERROR: Could not find a version") {
			t.Errorf("the thrown-away attempt's error was shown:\n%s", r)
		}
	})
}

// TestPipOneRunNewerSdistWins: 1.0 has a wheel, 2.0 only an sdist. Bare pip
// installs 2.0 (built from the sdist); --only-binary would take the 1.0 wheel,
// which the host sees on the index page and throws away: the three steps
// install 2.0, as bare pip does (its premise checked with bare pip).
func TestPipOneRunNewerSdistWins(t *testing.T) {
	t.Parallel()
	pyNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		ix := pyGreetIndex(t)
		ix.AddWheel("pbox-multi", "1.0", nil, map[string]string{"pbox_multi/__init__.py": "VERSION = '1.0'\n"})
		ix.AddSdist("pbox-multi", "2.0", map[string]string{"pbox_multi/__init__.py": "VERSION = '2.0'\n",
			"setup.py": "from setuptools import setup\nsetup(name='pbox-multi', version='2.0', packages=['pbox_multi'])\n"})
		db := regMalDB(t, m, "PyPI")
		bare := pyProject(t, m)
		hostSh(t, m, bare.Project, ".venv/bin/python -m pip install -q --disable-pip-version-check --index-url "+ix.URL+"/simple/ pbox-multi")
		if got := pipVenvImport(t, bare, "import pbox_multi; print(pbox_multi.VERSION)"); got != "2.0" {
			t.Fatalf("premise: bare pip installs pbox-multi %q, not 2.0", got)
		}
		b := pyProject(t, m)
		r := b.pipV(ix, db, "install", "pbox-multi")
		wantCode(t, r, 0, "pip install pbox-multi")
		pipFellBack(t, r)
		wantStderr(t, r, "newer than the 1.0 the run installed")
		if got := pipVenvImport(t, b, "import pbox_multi; print(pbox_multi.VERSION)"); got != "2.0" {
			t.Errorf("phylum-box installed pbox-multi %q, bare pip 2.0\n%s", got, r)
		}
		// Pinned to the wheel's version: one run.
		b2 := pyProject(t, m)
		r = b2.pipV(ix, db, "install", "pbox-multi==1.0")
		wantCode(t, r, 0, "pip install pbox-multi==1.0")
		pipOneRunTaken(t, r)
		if got := pipVenvImport(t, b2, "import pbox_multi; print(pbox_multi.VERSION)"); got != "1.0" {
			t.Errorf("pbox-multi==1.0 installed %q\n%s", got, r)
		}
	})
}

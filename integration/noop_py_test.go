package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Nothing to do for pip (issue 12): `pip install -r requirements.txt` in a venv
// that already holds every pinned requirement prechecks the requirements and runs
// no step; with a requirement added it runs every step; a venv consistent with
// its requirements but holding a blocked package is still blocked.

// pipReport runs `phylum-box --report FILE pip ARGS...` against the index.
func (b *box) pipReport(ix *pyIndex, db, report string, args ...string) result {
	b.t.Helper()
	return invocation{Mode: b.Mode, Args: append([]string{"--report", report, "pip"}, args...), Dir: b.Project, Home: b.Home,
		Env:     []string{"PIP_INDEX_URL=" + ix.URL + "/simple/", "PHYLUM_BOX_DB=" + db, "PIP_DISABLE_PIP_VERSION_CHECK=1"},
		Timeout: 4 * time.Minute}.exec(b.t)
}

// reportFile is a path the caller (root or the test user) may write.
func noopReportFile(t *testing.T, m mode, name string) string {
	dir := newScratch(t)
	mkdirOwned(t, m, filepath.Join(dir, "r"), 0o755)
	return filepath.Join(dir, "r", name)
}

func TestNoopPipNothingToDo(t *testing.T) {
	t.Parallel()
	pyNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		ix := pyGreetIndex(t)
		ix.AddWheel("pbox-extra", "1.0", nil, map[string]string{"pbox_extra/__init__.py": "X = 1\n"})
		db := regMalDB(t, m, "PyPI")
		b := pyProject(t, m)
		reqs := filepath.Join(b.Project, "requirements.txt")
		writeFile(t, reqs, "pbox-greet==1.0\npbox-dep==1.0  # via pbox-greet\n", 0o644)
		chownTree(t, m, b.Project)
		wantCode(t, b.pip(ix, db, "install", "-r", "requirements.txt"), 0, "pip install -r requirements.txt")

		before := treeHash(t, b.Project, true)
		rep := noopReportFile(t, m, "noop.json")
		r := b.pipReport(ix, db, rep, "install", "-r", "requirements.txt")
		wantCode(t, r, 0, "pip install -r with nothing to do")
		wantStderr(t, r, "up to date")
		if strings.Contains(r.Stderr, "resolving:") {
			t.Errorf("nothing to do resolved:\n%s", r.Stderr)
		}
		pr := readSpeedReport(t, rep)
		if pr.UpToDate == "" || len(pr.Steps) != 0 {
			t.Errorf("nothing to do ran steps %v (up_to_date %q)\n%s", pr.phases(), pr.UpToDate, r.Stderr)
		}
		if pr.Precheck == nil || pr.Precheck.Verdict != "pass" || len(pr.Precheck.Packages) != 2 {
			t.Errorf("nothing to do must still precheck the requirements: %+v", pr.Precheck)
		}
		assertSameTree(t, before, treeHash(t, b.Project, true), "an install with nothing to do")

		// The twin: a requirement added, the full steps, then up to date again.
		writeFile(t, reqs, "pbox-greet==1.0\npbox-dep==1.0\npbox-extra==1.0\n", 0o644)
		chownTree(t, m, b.Project)
		rep = noopReportFile(t, m, "added.json")
		r = b.pipReport(ix, db, rep, "install", "-r", "requirements.txt")
		wantCode(t, r, 0, "pip install -r after adding a requirement")
		if pr := readSpeedReport(t, rep); pr.UpToDate != "" || len(pr.Steps) == 0 {
			t.Errorf("a new requirement must get the full steps, ran %v (up_to_date %q)", pr.phases(), pr.UpToDate)
		}
		if !pathExists(filepath.Join(sitePackages(t, filepath.Join(b.Project, ".venv")), "pbox_extra", "__init__.py")) {
			t.Errorf("pbox-extra was not installed\n%s", r)
		}
		rep = noopReportFile(t, m, "noop2.json")
		wantCode(t, b.pipReport(ix, db, rep, "install", "-r", "requirements.txt"), 0, "pip install -r after that")
		if pr := readSpeedReport(t, rep); pr.UpToDate == "" || len(pr.Steps) != 0 {
			t.Errorf("after installing pbox-extra, pip ran %v (up_to_date %q)", pr.phases(), pr.UpToDate)
		}
	})
}

// A venv that holds exactly its pinned requirements, one of them with a MAL
// record in today's database, is blocked (exit 3) with no step run and nothing
// changed: looking up to date skips the steps, never the precheck. Its twin, the
// same venv with a clean database, is up to date.
func TestNoopPipStillPrechecked(t *testing.T) {
	t.Parallel()
	pyNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		ix := pyGreetIndex(t)
		clean := regMalDB(t, m, "PyPI")
		mal := regMalDB(t, m, "PyPI", "pbox-dep")
		b := pyProject(t, m)
		writeFile(t, filepath.Join(b.Project, "requirements.txt"), "pbox-greet==1.0\npbox-dep==1.0\n", 0o644)
		chownTree(t, m, b.Project)
		wantCode(t, b.pip(ix, clean, "install", "-r", "requirements.txt"), 0, "pip install -r requirements.txt")

		rep := noopReportFile(t, m, "clean.json")
		wantCode(t, b.pipReport(ix, clean, rep, "install", "-r", "requirements.txt"), 0, "an up-to-date venv")
		if pr := readSpeedReport(t, rep); pr.UpToDate == "" || len(pr.Steps) != 0 {
			t.Errorf("not up to date: ran %v", pr.phases())
		}

		before := treeHash(t, b.Project, true)
		rep = noopReportFile(t, m, "mal.json")
		r := b.pipReport(ix, mal, rep, "install", "-r", "requirements.txt")
		wantCode(t, r, 3, "an up-to-date venv holding a package with a MAL record")
		wantStderr(t, r, "pbox-dep")
		pr := readSpeedReport(t, rep)
		if len(pr.Steps) != 0 || pr.UpToDate != "" || pr.Precheck == nil || pr.Precheck.Verdict != "blocked" {
			t.Errorf("the blocked package must be reported, no step run: %+v", pr)
		}
		assertSameTree(t, before, treeHash(t, b.Project, true), "a blocked up-to-date venv")
		if _, err := os.Stat(filepath.Join(b.Project, ".phylum-box-pip")); err == nil {
			t.Error("a download dir appeared in the project")
		}
	})
}

// poetryReport runs `phylum-box --report FILE poetry ARGS...`.
func (b *box) poetryReport(db, report string, args ...string) result {
	b.t.Helper()
	return invocation{Mode: b.Mode, Args: append([]string{"--report", report, "poetry"}, args...), Dir: b.Project, Home: b.Home,
		Env: []string{"PHYLUM_BOX_DB=" + db}, Timeout: 5 * time.Minute}.exec(b.t)
}

// `poetry install --no-root` after an install is up to date: no step, poetry.lock
// prechecked, the tree as it was. Its twin: with a dependency added to
// pyproject.toml (the lock's content-hash no longer matches) every step runs and
// installs it; then up to date again. With a MAL record for a locked package in
// the database, the up-to-date project is blocked (exit 3), nothing changed.
func TestNoopPoetryNothingToDo(t *testing.T) {
	t.Parallel()
	poetryNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		ix := pyGreetIndex(t)
		ix.AddWheel("pbox-extra", "1.0", nil, map[string]string{"pbox_extra/__init__.py": "X = 1\n"})
		db := regMalDB(t, m, "PyPI")
		mal := regMalDB(t, m, "PyPI", "pbox-dep")
		b := poetryProject(t, m, ix, "pbox-greet")
		wantCode(t, b.poetry(db, "install", "--no-root"), 0, "poetry install --no-root")

		before := treeHash(t, b.Project, true)
		rep := noopReportFile(t, m, "noop.json")
		r := b.poetryReport(db, rep, "install", "--no-root")
		wantCode(t, r, 0, "poetry install with nothing to do")
		wantStderr(t, r, "up to date")
		pr := readSpeedReport(t, rep)
		if pr.UpToDate == "" || len(pr.Steps) != 0 {
			t.Errorf("nothing to do ran steps %v (up_to_date %q)\n%s", pr.phases(), pr.UpToDate, r.Stderr)
		}
		if pr.Precheck == nil || pr.Precheck.Verdict != "pass" || len(pr.Precheck.Packages) < 2 {
			t.Errorf("nothing to do must still precheck poetry.lock: %+v", pr.Precheck)
		}
		assertSameTree(t, before, treeHash(t, b.Project, true), "an install with nothing to do")

		rep = noopReportFile(t, m, "mal.json")
		r = b.poetryReport(mal, rep, "install", "--no-root")
		wantCode(t, r, 3, "an up-to-date project holding a package with a MAL record")
		wantStderr(t, r, "pbox-dep")
		if pr := readSpeedReport(t, rep); len(pr.Steps) != 0 || pr.UpToDate != "" {
			t.Errorf("a blocked up-to-date project ran %v (up_to_date %q)", pr.phases(), pr.UpToDate)
		}
		assertSameTree(t, before, treeHash(t, b.Project, true), "a blocked up-to-date project")

		py := filepath.Join(b.Project, "pyproject.toml")
		data, err := os.ReadFile(py)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, py, strings.Replace(string(data), "pbox-greet = \"*\"\n", "pbox-greet = \"*\"\npbox-extra = \"*\"\n", 1), 0o644)
		chownTree(t, m, b.Project)
		rep = noopReportFile(t, m, "added.json")
		r = b.poetryReport(db, rep, "install", "--no-root")
		wantCode(t, r, 0, "poetry install after adding a dependency")
		if pr := readSpeedReport(t, rep); pr.UpToDate != "" || len(pr.Steps) == 0 {
			t.Errorf("a changed pyproject.toml must get the full steps, ran %v (up_to_date %q)", pr.phases(), pr.UpToDate)
		}
		if !pathExists(filepath.Join(sitePackages(t, filepath.Join(b.Project, ".venv")), "pbox_extra", "__init__.py")) {
			t.Errorf("pbox-extra was not installed\n%s", r)
		}
		rep = noopReportFile(t, m, "noop2.json")
		wantCode(t, b.poetryReport(db, rep, "install", "--no-root"), 0, "poetry install after that")
		if pr := readSpeedReport(t, rep); pr.UpToDate == "" || len(pr.Steps) != 0 {
			t.Errorf("after installing pbox-extra, poetry ran %v (up_to_date %q)", pr.phases(), pr.UpToDate)
		}
	})
}

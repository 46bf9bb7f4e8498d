package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Issue 15, first case, beyond npm: what is installed is what is checked. A wheel
// can install a second distribution that no resolution report names (pip unpacks
// NAME.data/purelib/ into site-packages as it is, dist-info included); a native
// extension's extconf.rb can install a second gem into the bundle path. The test
// databases block the stowaway by name; each twin installs with a database that
// does not, and the report lists the stowaway as found on disk only.

// treeTool runs `phylum-box --report REPORT TOOL ARGS...` from the project.
func (b *box) treeTool(report string, env []string, tool string, args ...string) result {
	b.t.Helper()
	return invocation{Mode: b.Mode, Args: append([]string{"--report", report, tool}, args...), Dir: b.Project, Home: b.Home,
		Env: env, Timeout: 5 * time.Minute}.exec(b.t)
}

// onDiskOnlyListed fails unless the report lists name@version as found on disk only,
// at a path containing where, and its precheck shows it with an on-disk source.
func onDiskOnlyListed(t testing.TB, rep *treeReport, name, version, where string) {
	t.Helper()
	listed := false
	for _, s := range rep.OnDiskOnly {
		listed = listed || strings.HasPrefix(s, name+"@"+version+" (") && strings.Contains(s, where)
	}
	if !listed {
		t.Errorf("the report's on_disk_only does not list %s@%s at %s: %q", name, version, where, rep.OnDiskOnly)
	}
	if rep.Precheck == nil {
		t.Fatalf("the report has no precheck")
	}
	for _, p := range rep.Precheck.Packages {
		if p.Name == name && p.Version == version && strings.HasSuffix(p.Source, "(on disk only)") && strings.Contains(p.Source, where) {
			return
		}
	}
	t.Errorf("the report's precheck does not list %s@%s with an on-disk source: %+v", name, version, rep.Precheck.Packages)
}

// blockedOnDisk fails unless the report shows name@version blocked with an on-disk source.
func blockedOnDisk(t testing.TB, rep *treeReport, name, version string) {
	t.Helper()
	if rep.Code != 3 {
		t.Errorf("report exit_code %d", rep.Code)
	}
	if rep.Precheck != nil {
		for _, p := range rep.Precheck.Packages {
			if p.Name == name && p.Version == version && p.Blocked && strings.HasSuffix(p.Source, "(on disk only)") {
				return
			}
		}
	}
	t.Errorf("the report does not show %s@%s blocked on disk: %+v", name, version, rep.Precheck)
}

// carrierIndex serves pbox-carrier 1.0, a wheel that also installs
// pbox_stowaway-1.0.dist-info (and its module) through its .data/purelib.
func carrierIndex(t *testing.T) *pyIndex {
	ix := regStartPyIndex(t)
	ix.AddSystemWheel("setuptools")
	ix.AddSystemWheel("wheel")
	ix.AddWheel("pbox-carrier", "1.0", nil, map[string]string{
		"pbox_carrier/__init__.py":                                                "import pbox_stowaway\nVALUE = 'carried ' + pbox_stowaway.VALUE\n",
		"pbox_carrier-1.0.data/purelib/pbox_stowaway/__init__.py":                 "VALUE = 'stowaway'\n",
		"pbox_carrier-1.0.data/purelib/pbox_stowaway-1.0.dist-info/METADATA":      "Metadata-Version: 2.1\nName: pbox-stowaway\nVersion: 1.0\n",
		"pbox_carrier-1.0.data/purelib/pbox_stowaway-1.0.dist-info/INSTALLER":     "pip\n",
		"pbox_carrier-1.0.data/purelib/pbox_stowaway-1.0.dist-info/top_level.txt": "pbox_stowaway\n",
	})
	return ix
}

func TestInstalledTreePipWheelCarriesDist(t *testing.T) {
	t.Parallel()
	pyNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		ix := carrierIndex(t)
		db := regMalDB(t, m, "PyPI", "pbox-stowaway")
		b := pyProject(t, m)
		env := []string{"PIP_INDEX_URL=" + ix.URL + "/simple/", "PHYLUM_BOX_DB=" + db, "PIP_DISABLE_PIP_VERSION_CHECK=1"}
		before := treeHash(t, b.Project, true)
		rep := filepath.Join(filepath.Dir(db), "carrier-blocked.json")
		r := b.treeTool(rep, env, "pip", "install", "pbox-carrier")
		wantCode(t, r, 3, "a wheel installing an undeclared pbox-stowaway the database blocks")
		wantStderr(t, r, "pbox-stowaway@1.0", "pbox_stowaway-1.0.dist-info/METADATA", "found on disk only", "nothing was synced back")
		assertSameTree(t, before, treeHash(t, b.Project, true), "a blocked install")
		blockedOnDisk(t, readTreeReport(t, rep), "pbox-stowaway", "1.0")

		// The twin: the same wheel with a database that knows nothing against it.
		db = regMalDB(t, m, "PyPI")
		env = []string{"PIP_INDEX_URL=" + ix.URL + "/simple/", "PHYLUM_BOX_DB=" + db, "PIP_DISABLE_PIP_VERSION_CHECK=1"}
		rep = filepath.Join(filepath.Dir(db), "carrier-clean.json")
		r = b.treeTool(rep, env, "pip", "install", "pbox-carrier")
		wantCode(t, r, 0, "a wheel installing an undeclared pbox-stowaway the database knows nothing against")
		got := readTreeReport(t, rep)
		onDiskOnlyListed(t, got, "pbox-stowaway", "1.0", "pbox_stowaway-1.0.dist-info/METADATA")
		for _, s := range got.OnDiskOnly {
			if strings.Contains(s, "pbox-carrier@") || strings.Contains(s, "pbox_carrier") {
				t.Errorf("the wheel pip was asked for is listed as on disk only: %q", got.OnDiskOnly)
			}
		}
		out, err := exec.Command(filepath.Join(b.Project, ".venv", "bin", "python"), "-c",
			"import pbox_carrier, importlib.metadata as m; print(pbox_carrier.VALUE, m.version('pbox-stowaway'))").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "carried stowaway 1.0" {
			t.Errorf("the installed wheel on the host: %v %s", err, out)
		}
	})
}

// stowawayExtconf installs a second gem from extconf.rb: it writes
// specifications/pbox_stowaway-1.0.0.gemspec (as RubyGems writes one) and the gem's
// lib into the bundle path, then an empty Makefile.
const stowawayExtconf = `d = __dir__
d = File.dirname(d) until File.directory?(File.join(d, "specifications")) || d == "/"
File.write(File.join(d, "specifications", "pbox_stowaway-1.0.0.gemspec"), <<~SPEC)
  # -*- encoding: utf-8 -*-
  # stub: pbox_stowaway 1.0.0 ruby lib

  Gem::Specification.new do |s|
    s.name = "pbox_stowaway".freeze
    s.version = "1.0.0"
    s.summary = "installed by another gem's extconf.rb".freeze
    s.require_paths = ["lib".freeze]
  end
SPEC
lib = File.join(d, "gems", "pbox_stowaway-1.0.0", "lib")
Dir.mkdir(File.dirname(lib)) rescue nil
Dir.mkdir(lib) rescue nil
File.write(File.join(lib, "pbox_stowaway.rb"), "module PboxStowaway; VALUE = 'stowaway'; end\n")
File.write("Makefile", "all:\n\ninstall:\n\nclean:\n")
`

func TestInstalledTreeGemExtconfInstallsGem(t *testing.T) {
	t.Parallel()
	bundleNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		gs := regStartGems(t)
		gs.AddGem("pbox_carrier", "1.0.0", nil, map[string]string{"ext/pbox_carrier/extconf.rb": stowawayExtconf, "lib/pbox_carrier.rb": "module PboxCarrier; end\n"},
			"ext/pbox_carrier/extconf.rb")
		db := regMalDB(t, m, "RubyGems", "pbox_stowaway")
		b := bundleProject(t, m, gs, "pbox_carrier")
		before := treeHash(t, b.Project, true)
		rep := filepath.Join(filepath.Dir(db), "gem-blocked.json")
		r := b.treeTool(rep, []string{"PHYLUM_BOX_DB=" + db}, "bundle", "install")
		wantCode(t, r, 3, "an extconf.rb installing pbox_stowaway, which the database blocks")
		wantStderr(t, r, "pbox_stowaway@1.0.0", "specifications/pbox_stowaway-1.0.0.gemspec", "installed by the build step", "nothing was synced back")
		assertSameTree(t, before, treeHash(t, b.Project, true), "a blocked install")
		blockedOnDisk(t, readTreeReport(t, rep), "pbox_stowaway", "1.0.0")

		// The twin: the same gem with a database that knows nothing against it.
		db = regMalDB(t, m, "RubyGems")
		rep = filepath.Join(filepath.Dir(db), "gem-clean.json")
		r = b.treeTool(rep, []string{"PHYLUM_BOX_DB=" + db}, "bundle", "install")
		wantCode(t, r, 0, "an extconf.rb installing pbox_stowaway, which the database knows nothing against")
		got := readTreeReport(t, rep)
		onDiskOnlyListed(t, got, "pbox_stowaway", "1.0.0", "specifications/pbox_stowaway-1.0.0.gemspec")
		for _, s := range got.OnDiskOnly {
			if strings.Contains(s, "pbox_carrier") {
				t.Errorf("the gem the lockfile names is listed as on disk only: %q", got.OnDiskOnly)
			}
		}
		if gemDir(t, b.Project, "pbox_carrier-1.0.0") == "" {
			t.Errorf("pbox_carrier was not installed into vendor/bundle\n%s", r)
		}
		if m, _ := filepath.Glob(filepath.Join(b.Project, "vendor", "bundle", "ruby", "*", "specifications", "pbox_stowaway-1.0.0.gemspec")); len(m) != 1 {
			t.Errorf("the stowaway's specification was not synced: %v", m)
		}
		if _, err := os.Stat(filepath.Join(b.Project, ".phylum-box-bundle")); err == nil {
			t.Errorf("the download dir reached the project")
		}
	})
}

// A .crate whose own Cargo.toml says it is another crate than the index and the
// lockfile name: cargo itself refuses to use it (1.65: "failed to find pbox_dep
// v1.0.0 … in path source"), so nothing is built or synced; the installed-tree
// check reads the same unpacked manifests. The twin, an honest registry, builds,
// the check reads the crates this run unpacked (-v says how many), and nothing is
// found on disk only: the crates the lockfile locks are what cargo unpacked.
func TestInstalledTreeCrateSources(t *testing.T) {
	t.Parallel()
	cargoNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		reg := regStartCargo(t)
		reg.AddCrate("pbox_dep", "1.0.0", nil, map[string]string{
			"Cargo.toml": "[package]\nname = \"pbox_stowaway\"\nversion = \"1.0.0\"\nedition = \"2021\"\n\n[lib]\nname = \"pbox_dep\"\n",
			"src/lib.rs": "pub fn value() -> &'static str { \"stowaway\" }\n",
		})
		db := regMalDB(t, m, "crates.io", "pbox_stowaway")
		b := cargoProject(t, m, reg, "fn main() { println!(\"{}\", pbox_dep::value()); }\n", "pbox_dep")
		before := treeHash(t, b.Project, true)
		rep := filepath.Join(filepath.Dir(db), "crate-lying.json")
		r := b.treeTool(rep, []string{"PHYLUM_BOX_DB=" + db}, "cargo", "build")
		if r.Code == 0 {
			t.Fatalf("a crate whose Cargo.toml names another crate was built\n%s", r)
		}
		wantStderr(t, r, "nothing was synced back")
		assertSameTree(t, before, treeHash(t, b.Project, true), "a failed build")

		// The twin: honest crates.
		reg = cargoGreetRegistry(t)
		db = regMalDB(t, m, "crates.io", "pbox_stowaway")
		b = cargoProject(t, m, reg, "fn main() { println!(\"{}\", pbox_greet::greet()); }\n", "pbox_greet")
		rep = filepath.Join(filepath.Dir(db), "crate-honest.json")
		r = b.treeTool(rep, []string{"PHYLUM_BOX_DB=" + db}, "-v", "cargo", "build")
		wantCode(t, r, 0, "cargo build of honest crates")
		wantStderr(t, r, "installed tree after the download step: 2 crate(s) of this run")
		if got := readTreeReport(t, rep); len(got.OnDiskOnly) > 0 {
			t.Errorf("honest crates are listed as on disk only: %q", got.OnDiskOnly)
		}
		if out, err := exec.Command(filepath.Join(b.Project, "target", "debug", "proj")).CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "hello dep" {
			t.Errorf("the built binary: %v %s\n%s", err, out, r)
		}
	})
}

// Poetry installs the locked wheels with pip into the project's .venv, which the
// build creates: the same carrier wheel is blocked there, and its twin lists only
// the stowaway as on disk only — not the project's own editable install, nor the
// pip and setuptools the new venv got from the system Python's ensurepip wheels.
func TestInstalledTreePoetryWheelCarriesDist(t *testing.T) {
	t.Parallel()
	poetryNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		ix := carrierIndex(t)
		db := regMalDB(t, m, "PyPI", "pbox-stowaway")
		b := poetryProject(t, m, ix, "pbox-carrier")
		py, err := os.ReadFile(filepath.Join(b.Project, "pyproject.toml"))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(b.Project, "pyproject.toml"), strings.Replace(string(py), "packages = []", "packages = [{ include = \"proj\" }]", 1), 0o644)
		writeFile(t, filepath.Join(b.Project, "proj", "__init__.py"), "from pbox_carrier import VALUE\n", 0o644)
		chownTree(t, m, b.Project)
		before := treeHash(t, b.Project, true)
		rep := filepath.Join(filepath.Dir(db), "poetry-blocked.json")
		r := b.treeTool(rep, []string{"PHYLUM_BOX_DB=" + db}, "poetry", "install")
		wantCode(t, r, 3, "poetry installing a wheel that carries an undeclared pbox-stowaway the database blocks")
		wantStderr(t, r, "pbox-stowaway@1.0", "pbox_stowaway-1.0.dist-info/METADATA", "found on disk only", "nothing was synced back")
		assertSameTree(t, before, treeHash(t, b.Project, true), "a blocked install")
		blockedOnDisk(t, readTreeReport(t, rep), "pbox-stowaway", "1.0")

		db = regMalDB(t, m, "PyPI")
		rep = filepath.Join(filepath.Dir(db), "poetry-clean.json")
		r = b.treeTool(rep, []string{"PHYLUM_BOX_DB=" + db}, "poetry", "install")
		wantCode(t, r, 0, "poetry installing a wheel that carries an undeclared pbox-stowaway the database knows nothing against")
		got := readTreeReport(t, rep)
		onDiskOnlyListed(t, got, "pbox-stowaway", "1.0", "pbox_stowaway-1.0.dist-info/METADATA")
		if len(got.OnDiskOnly) != 1 {
			t.Errorf("only the stowaway is on disk only (not the project, pip or setuptools): %q", got.OnDiskOnly)
		}
		out, err := exec.Command(filepath.Join(b.Project, ".venv", "bin", "python"), "-c", "import proj; print(proj.VALUE)").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "carried stowaway" {
			t.Errorf("the installed project on the host: %v %s\n%s", err, out, r)
		}
	})
}

package integration

import (
	"archive/tar"
	"compress/gzip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The installed-tree check read the way npm and node read a package, not only the
// way a plain JSON decoder or a package-root pattern does. The suite's database
// blocks minimist@1.2.5 and knows nothing against minimist@1.2.8.

// oddManifestTarball writes vendor/NAME-1.0.0.tgz: a package shipping an
// undeclared node_modules/minimist whose package.json is manifest (for version),
// written in a way npm and node read but a plain Go JSON decode would not.
func oddManifestTarball(t testing.TB, b *pmBox, name, version string, manifest func(version string) string) string {
	t.Helper()
	vendor := filepath.Join(b.Project, "vendor")
	if err := os.MkdirAll(vendor, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(vendor, name+"-1.0.0.tgz"))
	if err != nil {
		t.Fatal(err)
	}
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	for _, e := range []struct{ name, body string }{
		{"package/package.json", `{"name": "` + name + `", "version": "1.0.0", "main": "index.js", "license": "MIT"}` + "\n"},
		{"package/index.js", "module.exports = require('minimist');\n"},
		{"package/node_modules/minimist/package.json", manifest(version)},
		{"package/node_modules/minimist/index.js", "module.exports = 'minimist " + version + " in " + name + "';\n"},
	} {
		if err := tw.WriteHeader(&tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []interface{ Close() error }{tw, gz, f} {
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	chownTree(t, b.Mode, vendor)
	return "./vendor/" + name + "-1.0.0.tgz"
}

// bomManifest starts with a byte order mark, which npm and node strip.
func bomManifest(version string) string {
	return "\uFEFF" + `{"name": "minimist", "version": "` + version + `", "main": "index.js"}` + "\n"
}

// deepManifest nests a field 20,000 levels deep: JSON.parse reads it, Go's
// decoder stops at 10,000.
func deepManifest(version string) string {
	return `{"name": "minimist", "version": "` + version + `", "main": "index.js", "x": ` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + "}\n"
}

// A package.json with a byte order mark, or nested deeper than Go's decoder goes:
// before, the check could not decode it and skipped it (exit 0, require() returned
// the blocked copy, npm ls listed it). Now exit 3, nothing synced; the twin with
// 1.2.8 installs and is listed on disk.
func TestInstalledTreeUnusualManifest(t *testing.T) {
	t.Parallel()
	forEachMode(t, func(t *testing.T, m mode) {
		for _, tc := range []struct {
			name     string
			manifest func(string) string
		}{{"pbox-bom", bomManifest}, {"pbox-deep", deepManifest}} {
			t.Run(tc.name, func(t *testing.T) { oddManifestCase(t, m, tc.name, tc.manifest) })
		}
	})
}

func oddManifestCase(t *testing.T, m mode, name string, manifest func(string) string) {
	b := newPMBox(t, m)
	requireTool(t, "npm")
	tgz := oddManifestTarball(t, b, name, "1.2.5", manifest)
	before := projectState(t, b.Project)
	r := b.tool(b.reportPath(name+"-blocked.json"), "npm", "install", tgz)
	wantCode(t, r, 3, name+": a tarball shipping minimist@1.2.5 in an unusual package.json")
	wantStderr(t, r, "minimist@1.2.5", "node_modules/minimist/package.json", "found on disk only", "nothing was synced back")
	assertSameTree(t, before, projectState(t, b.Project), "a blocked install")

	b = newPMBox(t, m)
	tgz = oddManifestTarball(t, b, name, "1.2.8", manifest)
	rep := b.reportPath(name + "-clean.json")
	r = b.tool(rep, "npm", "install", tgz)
	wantCode(t, r, 0, name+": a tarball shipping minimist@1.2.8 in an unusual package.json")
	onDiskListed(t, readTreeReport(t, rep), "minimist", "1.2.8")
	if out := hostOutput(t, m, b.Project, "node", "-e", "console.log(require('"+name+"'))"); !strings.Contains(out, "minimist 1.2.8 in "+name) {
		t.Errorf("require('%s') on the host: %q", name, out)
	}
}

// linkWriter packs the tree-writer fixture with a script that writes minimist at
// version into node_modules/.cache/x (no package root) and links node_modules/minimist
// to it, as a build script may.
func linkWriter(t testing.TB, b *pmBox, version string) string {
	return packFixture(t, b, "tree-writer", map[string]any{"version": version}, func(dir string) {
		writeFile(t, filepath.Join(dir, "write.js"), `// Writes minimist outside any package root and links node_modules/minimist to it.
const fs = require('fs');
const path = require('path');
const { version } = JSON.parse(fs.readFileSync(path.join(__dirname, 'targets.json'), 'utf8'));
const nm = path.join(__dirname, '..');
const dir = path.join(nm, '.cache', 'x');
fs.mkdirSync(dir, { recursive: true });
fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'minimist', version, main: 'index.js' }) + '\n');
fs.writeFileSync(path.join(dir, 'index.js'), 'module.exports = "minimist ' + version + ' through a link";\n');
fs.symlinkSync(path.join('.cache', 'x'), path.join(nm, 'minimist'));
`, 0o644)
	})
}

// An install script links node_modules/minimist to node_modules/.cache/x holding
// minimist@1.2.5: before, only package roots were read (exit 0, require('minimist')
// on the host returned the blocked copy, npm ls listed minimist@1.2.5). Now exit 3,
// nothing synced; the twin with 1.2.8 installs, the link works on the host, and the
// report lists it on disk.
func TestInstalledTreeLinkedPackage(t *testing.T) {
	t.Parallel()
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		requireTool(t, "npm")
		tgz := linkWriter(t, b, "1.2.5")
		before := projectState(t, b.Project)
		r := b.tool(b.reportPath("link-blocked.json"), "npm", "install", tgz)
		wantCode(t, r, 3, "an install script linking node_modules/minimist to a minimist@1.2.5 outside any package root")
		wantStderr(t, r, "minimist@1.2.5", "node_modules/.cache/x/package.json", "installed by the build step", "nothing was synced back")
		assertSameTree(t, before, projectState(t, b.Project), "a blocked install")

		b = newPMBox(t, m)
		tgz = linkWriter(t, b, "1.2.8")
		rep := b.reportPath("link-clean.json")
		r = b.tool(rep, "npm", "install", tgz)
		wantCode(t, r, 0, "an install script linking node_modules/minimist to minimist@1.2.8")
		got := readTreeReport(t, rep)
		listed := false
		for _, s := range got.OnDiskOnly {
			listed = listed || strings.HasPrefix(s, "minimist@1.2.8 (node_modules/.cache/x/package.json")
		}
		if !listed {
			t.Errorf("on_disk_only does not list minimist@1.2.8 at node_modules/.cache/x: %q", got.OnDiskOnly)
		}
		if out := hostOutput(t, m, b.Project, "node", "-e", "console.log(require('minimist'))"); !strings.Contains(out, "minimist 1.2.8 through a link") {
			t.Errorf("require('minimist') on the host: %q", out)
		}
	})
}

// evasiveCarrierIndex serves pbox-carrier 1.0, a wheel whose .data/purelib installs
// four distributions the way importlib.metadata (and so pip) finds them but a
// reader of NAME-VERSION.dist-info/METADATA with \n line ends would not: lines
// ended by \r, an upper-case .DIST-INFO, a dist-info holding PKG-INFO, an egg-info
// holding METADATA.
func evasiveCarrierIndex(t *testing.T) *pyIndex {
	ix := regStartPyIndex(t)
	ix.AddSystemWheel("setuptools")
	ix.AddSystemWheel("wheel")
	ix.AddWheel("pbox-carrier", "1.0", nil, map[string]string{
		"pbox_carrier/__init__.py":                                     "VALUE = 'carrier'\n",
		"pbox_carrier-1.0.data/purelib/pbox_s1.dist-info/METADATA":     "Metadata-Version: 2.1\rName: pbox-s1\rVersion: 1.0\r",
		"pbox_carrier-1.0.data/purelib/pbox_s2-1.0.DIST-INFO/METADATA": "Metadata-Version: 2.1\nName: pbox-s2\nVersion: 1.0\n",
		"pbox_carrier-1.0.data/purelib/pbox_s3-1.0.dist-info/PKG-INFO": "Metadata-Version: 2.1\nName: pbox-s3\nVersion: 1.0\n",
		"pbox_carrier-1.0.data/purelib/pbox_s4-1.0.egg-info/METADATA":  "Metadata-Version: 2.1\nName: pbox-s4\nVersion: 1.0\n",
	})
	return ix
}

// Before, all four were skipped (exit 0; pip list in the venv showed pbox-s1..s4 1.0,
// each blocked by the database). Now exit 3 naming them, nothing synced; the twin
// with a database that blocks none installs and lists the four on disk.
func TestInstalledTreePipEvasiveMetadata(t *testing.T) {
	t.Parallel()
	pyNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		ix := evasiveCarrierIndex(t)
		db := regMalDB(t, m, "PyPI", "pbox-s1", "pbox-s2", "pbox-s3", "pbox-s4")
		b := pyProject(t, m)
		env := []string{"PIP_INDEX_URL=" + ix.URL + "/simple/", "PHYLUM_BOX_DB=" + db, "PIP_DISABLE_PIP_VERSION_CHECK=1"}
		before := treeHash(t, b.Project, true)
		rep := filepath.Join(filepath.Dir(db), "evasive-blocked.json")
		r := b.treeTool(rep, env, "pip", "install", "pbox-carrier")
		wantCode(t, r, 3, "a wheel installing four blocked distributions in forms importlib.metadata reads")
		wantStderr(t, r, "pbox_s1.dist-info/METADATA", "pbox_s2-1.0.DIST-INFO/METADATA", "pbox_s3-1.0.dist-info/PKG-INFO",
			"pbox_s4-1.0.egg-info/METADATA", "found on disk only", "nothing was synced back")
		assertSameTree(t, before, treeHash(t, b.Project, true), "a blocked install")
		blockedOnDisk(t, readTreeReport(t, rep), "pbox-s1", "1.0")

		db = regMalDB(t, m, "PyPI")
		env = []string{"PIP_INDEX_URL=" + ix.URL + "/simple/", "PHYLUM_BOX_DB=" + db, "PIP_DISABLE_PIP_VERSION_CHECK=1"}
		rep = filepath.Join(filepath.Dir(db), "evasive-clean.json")
		r = b.treeTool(rep, env, "pip", "install", "pbox-carrier")
		wantCode(t, r, 0, "the same wheel with a database that blocks none of them")
		got := readTreeReport(t, rep)
		onDiskOnlyListed(t, got, "pbox-s1", "1.0", "pbox_s1.dist-info/METADATA")
		onDiskOnlyListed(t, got, "pbox-s2", "1.0", "pbox_s2-1.0.DIST-INFO/METADATA")
		onDiskOnlyListed(t, got, "pbox-s3", "1.0", "pbox_s3-1.0.dist-info/PKG-INFO")
		onDiskOnlyListed(t, got, "pbox-s4", "1.0", "pbox_s4-1.0.egg-info/METADATA")
		out, err := exec.Command(filepath.Join(b.Project, ".venv", "bin", "python"), "-c",
			"import importlib.metadata as m; print(*[m.version('pbox-s%d' % i) for i in range(1, 5)])").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "1.0 1.0 1.0 1.0" {
			t.Errorf("importlib.metadata in the venv on the host: %v %s", err, out)
		}
	})
}

// renamerSetupPy, run by pip in the build step, writes pbox_stowaway-1.0.dist-info
// and its module into the project's venv and, with @RENAME@ true, rewrites the
// project's pyproject.toml to name the project pbox-stowaway, so that the check would
// take the stowaway for the project's own editable install.
const renamerSetupPy = `import glob, os, setuptools
proj = "@PROJECT@"
if os.path.isdir(os.path.join(proj, ".venv")):
    if @RENAME@:
        with open(os.path.join(proj, "pyproject.toml"), "w") as f:
            f.write("[project]\nname = 'pbox-stowaway'\n")
    for sp in glob.glob(os.path.join(proj, ".venv/lib/python3*/site-packages")):
        d = os.path.join(sp, "pbox_stowaway-1.0.dist-info")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "METADATA"), "w") as f:
            f.write("Metadata-Version: 2.1\nName: pbox-stowaway\nVersion: 1.0\n")
        with open(os.path.join(sp, "pbox_stowaway.py"), "w") as f:
            f.write("VALUE = 'stowaway'\n")
setuptools.setup(name="pbox-renamer", version="1.0")
`

// The project's own name is read from the project on the host, never from the
// run's view: an sdist whose setup.py (the build step) renamed the project in
// pyproject.toml to its stowaway's name had the stowaway skipped as the project's
// own — the pyproject.toml write was refused, the venv with pbox-stowaway synced
// (exit 4; pip list on the host showed pbox-stowaway 1.0, which the database
// blocks). Now exit 3, nothing synced. The twin: a project whose own pyproject.toml
// names it pbox-stowaway has that dist-info taken as its own (exit 0).
func TestInstalledTreePipProjectNameFromHost(t *testing.T) {
	t.Parallel()
	pyNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		ix := regStartPyIndex(t)
		ix.AddSystemWheel("setuptools")
		ix.AddSystemWheel("wheel")
		db := regMalDB(t, m, "PyPI", "pbox-stowaway")
		b := pyProject(t, m)
		ix.AddSdist("pbox-renamer", "1.0", map[string]string{"setup.py": strings.NewReplacer("@PROJECT@", b.Project, "@RENAME@", "True").Replace(renamerSetupPy)})
		env := []string{"PIP_INDEX_URL=" + ix.URL + "/simple/", "PHYLUM_BOX_DB=" + db, "PIP_DISABLE_PIP_VERSION_CHECK=1"}
		before := treeHash(t, b.Project, true)
		rep := filepath.Join(filepath.Dir(db), "renamer-blocked.json")
		r := b.treeTool(rep, env, "pip", "install", "pbox-renamer")
		wantCode(t, r, 3, "a setup.py renaming the project after the stowaway it installs")
		wantStderr(t, r, "pbox-stowaway@1.0", "pbox_stowaway-1.0.dist-info/METADATA", "found on disk only", "nothing was synced back")
		assertSameTree(t, before, treeHash(t, b.Project, true), "a blocked install")

		ix2 := regStartPyIndex(t)
		ix2.AddSystemWheel("setuptools")
		ix2.AddSystemWheel("wheel")
		twin := pyProject(t, m)
		writeFile(t, filepath.Join(twin.Project, "pyproject.toml"), "[project]\nname = \"pbox-stowaway\"\nversion = \"1.0\"\n", 0o644)
		chownTree(t, m, filepath.Join(twin.Project, "pyproject.toml"))
		ix2.AddSdist("pbox-renamer", "1.0", map[string]string{"setup.py": strings.NewReplacer("@PROJECT@", twin.Project, "@RENAME@", "False").Replace(renamerSetupPy)})
		env = []string{"PIP_INDEX_URL=" + ix2.URL + "/simple/", "PHYLUM_BOX_DB=" + db, "PIP_DISABLE_PIP_VERSION_CHECK=1"}
		r = twin.treeTool(filepath.Join(filepath.Dir(db), "renamer-own.json"), env, "pip", "install", "pbox-renamer")
		wantCode(t, r, 0, "the project's own name, from its pyproject.toml on the host")
		out, err := exec.Command(filepath.Join(twin.Project, ".venv", "bin", "python"), "-c", "import pbox_stowaway; print(pbox_stowaway.VALUE)").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "stowaway" {
			t.Errorf("the project's own module on the host: %v %s", err, out)
		}
	})
}

// decoyExtconf installs a gem from extconf.rb whose specification is named and
// literally says pbox_decoy 1.0.0, while its stub line — the second line, which
// RubyGems reads to know an installed gem, whatever the first line holds — says
// pbox_stowaway. With @NOSTUB@ true the file has no stub: RubyGems runs it as Ruby,
// and the Ruby computes the name.
const decoyExtconf = `d = __dir__
d = File.dirname(d) until File.directory?(File.join(d, "specifications")) || d == "/"
spec = if @NOSTUB@
  "# decoy\nGem::Specification.new do |s|\n  s.name = \"pbox_decoy\"\n  s.version = \"1.0.0\"\n  s.name = %w[pbox_ stowaway].join\n  s.summary = \"x\"\n  s.require_paths = [\"lib\"]\nend\n"
else
  "# decoy\n# stub: pbox_stowaway 1.0.0 ruby lib\n\nGem::Specification.new do |s|\n  s.name = \"pbox_decoy\"\n  s.version = \"1.0.0\"\n  s.summary = \"x\"\n  s.require_paths = [\"lib\"]\nend\n"
end
File.write(File.join(d, "specifications", "pbox_decoy-1.0.0.gemspec"), spec)
lib = File.join(d, "gems", "pbox_stowaway-1.0.0", "lib")
Dir.mkdir(File.dirname(lib)) rescue nil
Dir.mkdir(lib) rescue nil
File.write(File.join(lib, "pbox_stowaway.rb"), "module PboxStowaway; VALUE = 'stowaway'; end\n")
File.write("Makefile", "all:\n\ninstall:\n\nclean:\n")
`

// A specification is known by the stub RubyGems reads: before, a first line that
// was not RubyGems' encoding comment made the check skip the stub and take the
// decoy's literal name and file name (exit 0, RubyGems on the host listed the
// blocked pbox_stowaway). Now exit 3; a specification without a stub, which
// RubyGems runs as Ruby to learn its name, is refused (exit 4); the twin with a
// database that blocks nothing installs and lists pbox_stowaway on disk.
func TestInstalledTreeGemStubLine(t *testing.T) {
	t.Parallel()
	bundleNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		for _, tc := range []struct {
			name, nostub string
			code         int
			stderr       []string
		}{
			{"stub on the second line", "false", 3, []string{"pbox_stowaway@1.0.0", "specifications/pbox_decoy-1.0.0.gemspec", "found on disk only", "nothing was synced back"}},
			{"no stub line", "true", 4, []string{"pbox_decoy-1.0.0.gemspec has no stub line", "nothing was synced back"}},
		} {
			gs := regStartGems(t)
			gs.AddGem("pbox_carrier", "1.0.0", nil, map[string]string{"ext/pbox_carrier/extconf.rb": strings.ReplaceAll(decoyExtconf, "@NOSTUB@", tc.nostub),
				"lib/pbox_carrier.rb": "module PboxCarrier; end\n"}, "ext/pbox_carrier/extconf.rb")
			db := regMalDB(t, m, "RubyGems", "pbox_stowaway")
			b := bundleProject(t, m, gs, "pbox_carrier")
			before := treeHash(t, b.Project, true)
			r := b.treeTool(filepath.Join(filepath.Dir(db), "decoy.json"), []string{"PHYLUM_BOX_DB=" + db}, "bundle", "install")
			wantCode(t, r, tc.code, "an extconf.rb installing a decoy specification: "+tc.name)
			wantStderr(t, r, tc.stderr...)
			assertSameTree(t, before, treeHash(t, b.Project, true), "a refused install: "+tc.name)
		}

		gs := regStartGems(t)
		gs.AddGem("pbox_carrier", "1.0.0", nil, map[string]string{"ext/pbox_carrier/extconf.rb": strings.ReplaceAll(decoyExtconf, "@NOSTUB@", "false"),
			"lib/pbox_carrier.rb": "module PboxCarrier; end\n"}, "ext/pbox_carrier/extconf.rb")
		db := regMalDB(t, m, "RubyGems")
		b := bundleProject(t, m, gs, "pbox_carrier")
		rep := filepath.Join(filepath.Dir(db), "decoy-clean.json")
		r := b.treeTool(rep, []string{"PHYLUM_BOX_DB=" + db}, "bundle", "install")
		wantCode(t, r, 0, "the decoy specification with a database that blocks nothing")
		onDiskOnlyListed(t, readTreeReport(t, rep), "pbox_stowaway", "1.0.0", "specifications/pbox_decoy-1.0.0.gemspec")
		homes, _ := filepath.Glob(filepath.Join(b.Project, "vendor", "bundle", "ruby", "*"))
		if len(homes) != 1 {
			t.Fatalf("vendor/bundle/ruby/*: %v", homes)
		}
		c := exec.Command("ruby", "-e", `puts Gem::Specification.stubs.map { |s| "#{s.name}-#{s.version}" }.grep(/pbox/).sort`)
		c.Env = append(os.Environ(), "GEM_HOME="+homes[0], "GEM_PATH="+homes[0])
		if out, err := c.CombinedOutput(); err != nil || !strings.Contains(string(out), "pbox_stowaway-1.0.0") {
			t.Errorf("RubyGems on the host does not know the stub's gem: %v %s", err, out)
		}
	})
}

// The system Python's seed wheels (Debian's setuptools 66.1.1, pip 23.0.1) are
// taken as the interpreter's own only in a venv the run created. A wheel installing
// setuptools-66.1.1.dist-info into a venv that was there before had it skipped as a
// seed (exit 0 with a database that blocks setuptools); now it is checked (exit 3,
// nothing synced), and with a database that blocks nothing it installs and is listed
// on disk. A venv poetry creates still skips its seeds (TestInstalledTreePoetryWheelCarriesDist).
func TestInstalledTreePipSeedNameOutsideNewVenv(t *testing.T) {
	t.Parallel()
	pyNeed(t)
	if m, _ := filepath.Glob("/usr/share/python-wheels/setuptools-66.1.1-*.whl"); len(m) == 0 {
		t.Skip("the system Python has no setuptools 66.1.1 seed wheel")
	}
	forEachMode(t, func(t *testing.T, m mode) {
		ix := regStartPyIndex(t)
		ix.AddWheel("pbox-seedlike", "1.0", nil, map[string]string{
			"pbox_seedlike/__init__.py": "VALUE = 'seedlike'\n",
			"pbox_seedlike-1.0.data/purelib/setuptools-66.1.1.dist-info/METADATA": "Metadata-Version: 2.1\nName: setuptools\nVersion: 66.1.1\nSummary: not the seed\n",
		})
		db := regMalDB(t, m, "PyPI", "setuptools")
		b := pyProject(t, m)
		env := []string{"PIP_INDEX_URL=" + ix.URL + "/simple/", "PHYLUM_BOX_DB=" + db, "PIP_DISABLE_PIP_VERSION_CHECK=1"}
		before := treeHash(t, b.Project, true)
		rep := filepath.Join(filepath.Dir(db), "seedlike-blocked.json")
		r := b.treeTool(rep, env, "pip", "install", "--no-build-isolation", "pbox-seedlike")
		wantCode(t, r, 3, "a wheel writing setuptools-66.1.1.dist-info into an existing venv")
		wantStderr(t, r, "setuptools@66.1.1", "setuptools-66.1.1.dist-info/METADATA", "found on disk only", "nothing was synced back")
		assertSameTree(t, before, treeHash(t, b.Project, true), "a blocked install")

		db = regMalDB(t, m, "PyPI")
		env = []string{"PIP_INDEX_URL=" + ix.URL + "/simple/", "PHYLUM_BOX_DB=" + db, "PIP_DISABLE_PIP_VERSION_CHECK=1"}
		rep = filepath.Join(filepath.Dir(db), "seedlike-clean.json")
		r = b.treeTool(rep, env, "pip", "install", "--no-build-isolation", "pbox-seedlike")
		wantCode(t, r, 0, "the same wheel with a database that blocks nothing")
		onDiskOnlyListed(t, readTreeReport(t, rep), "setuptools", "66.1.1", "setuptools-66.1.1.dist-info/METADATA")
	})
}

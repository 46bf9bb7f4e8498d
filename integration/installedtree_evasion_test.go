package integration

import (
	"archive/tar"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The installed-tree check read the way npm and node read a package, not only the
// way a plain JSON decoder or a package-root pattern does. The suite's database
// blocks minimist@1.2.5 and knows nothing against minimist@1.2.8.

// bomTarball writes vendor/pbox-bom-1.0.0.tgz: a package shipping an undeclared
// node_modules/minimist whose package.json starts with a byte order mark, which
// npm and node read past.
func bomTarball(t testing.TB, b *pmBox, version string) string {
	t.Helper()
	vendor := filepath.Join(b.Project, "vendor")
	if err := os.MkdirAll(vendor, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(vendor, "pbox-bom-1.0.0.tgz"))
	if err != nil {
		t.Fatal(err)
	}
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	for _, e := range []struct{ name, body string }{
		{"package/package.json", `{"name": "pbox-bom", "version": "1.0.0", "main": "index.js", "license": "MIT"}` + "\n"},
		{"package/index.js", "module.exports = require('minimist');\n"},
		{"package/node_modules/minimist/package.json", "\uFEFF" + `{"name": "minimist", "version": "` + version + `", "main": "index.js"}` + "\n"},
		{"package/node_modules/minimist/index.js", "module.exports = 'minimist " + version + " behind a BOM';\n"},
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
	return "./vendor/pbox-bom-1.0.0.tgz"
}

// A package.json with a byte order mark: before, the check could not decode it and
// skipped it (exit 0, require() returned the blocked copy, npm ls listed it). Now
// exit 3, nothing synced; the twin with 1.2.8 installs and is listed on disk.
func TestInstalledTreeManifestBOM(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		requireTool(t, "npm")
		tgz := bomTarball(t, b, "1.2.5")
		before := projectState(t, b.Project)
		r := b.tool(b.reportPath("bom-blocked.json"), "npm", "install", tgz)
		wantCode(t, r, 3, "a tarball shipping minimist@1.2.5 whose package.json starts with a BOM")
		wantStderr(t, r, "minimist@1.2.5", "node_modules/minimist/package.json", "found on disk only", "nothing was synced back")
		assertSameTree(t, before, projectState(t, b.Project), "a blocked install")

		b = newPMBox(t, m)
		tgz = bomTarball(t, b, "1.2.8")
		rep := b.reportPath("bom-clean.json")
		r = b.tool(rep, "npm", "install", tgz)
		wantCode(t, r, 0, "a tarball shipping minimist@1.2.8 whose package.json starts with a BOM")
		onDiskListed(t, readTreeReport(t, rep), "minimist", "1.2.8")
		if out := hostOutput(t, m, b.Project, "node", "-e", "console.log(require('pbox-bom'))"); !strings.Contains(out, "minimist 1.2.8 behind a BOM") {
			t.Errorf("require('pbox-bom') on the host: %q", out)
		}
	})
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

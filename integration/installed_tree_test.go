package integration

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 15, first case: what is installed is what is checked. A tarball may carry
// package/node_modules/<dep> without declaring it in bundleDependencies; npm
// extracts it and no lockfile entry names it. An install script may write a package
// into node_modules too. The suite's database blocks minimist@1.2.5 and knows
// nothing against minimist@1.2.8.

// treeReport is the --report JSON, the parts these tests read.
type treeReport struct {
	Code       int      `json:"exit_code"`
	Reason     string   `json:"reason"`
	OnDiskOnly []string `json:"on_disk_only"`
	Precheck   *struct {
		Packages []struct {
			Name    string `json:"name"`
			Version string `json:"version"`
			Source  string `json:"source"`
			Blocked bool   `json:"blocked"`
		} `json:"packages"`
	} `json:"precheck"`
}

func readTreeReport(t testing.TB, path string) *treeReport {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("--report: %v", err)
	}
	var r treeReport
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("--report is not JSON: %v\n%s", err, data)
	}
	return &r
}

// nestedTarball writes vendor/pbox-nested-1.0.0.tgz: a package whose tarball holds
// node_modules/minimist (at version) that its package.json does not declare.
func nestedTarball(t testing.TB, b *pmBox, version string) string {
	t.Helper()
	vendor := filepath.Join(b.Project, "vendor")
	if err := os.MkdirAll(vendor, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(vendor, "pbox-nested-1.0.0.tgz"))
	if err != nil {
		t.Fatal(err)
	}
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	for _, e := range []struct{ name, body string }{
		{"package/package.json", `{"name": "pbox-nested", "version": "1.0.0", "main": "index.js", "license": "MIT",
  "description": "phylum-box integration fixture: ships node_modules/minimist without declaring it"}` + "\n"},
		{"package/index.js", "module.exports = require('minimist');\n"},
		{"package/node_modules/minimist/package.json", `{"name": "minimist", "version": "` + version + `", "main": "index.js"}` + "\n"},
		{"package/node_modules/minimist/index.js", "module.exports = 'minimist " + version + " shipped inside pbox-nested';\n"},
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
	return "./vendor/pbox-nested-1.0.0.tgz"
}

// onDiskListed fails unless the report lists name@version as found on disk only.
func onDiskListed(t testing.TB, rep *treeReport, name, version string) {
	t.Helper()
	listed := false
	for _, s := range rep.OnDiskOnly {
		listed = listed || strings.HasPrefix(s, name+"@"+version+" (")
	}
	if !listed {
		t.Errorf("the report's on_disk_only does not list %s@%s: %q", name, version, rep.OnDiskOnly)
	}
	if rep.Precheck == nil {
		t.Fatalf("the report has no precheck")
	}
	for _, p := range rep.Precheck.Packages {
		if p.Name == name && p.Version == version && strings.HasSuffix(p.Source, "(on disk only)") && strings.Contains(p.Source, "node_modules/minimist/package.json") {
			return
		}
	}
	t.Errorf("the report's precheck does not list %s@%s with an on-disk source: %+v", name, version, rep.Precheck.Packages)
}

// An undeclared node_modules/minimist@1.2.5 inside a local tarball: exit 3, minimist
// and where it was found are named, nothing is synced. The twin with minimist@1.2.8
// installs, and the report lists it as found on disk. npm, yarn classic and pnpm.
func TestInstalledTreeUndeclaredNested(t *testing.T) {
	t.Parallel()
	for _, fl := range binFlavours() {
		t.Run(fl.name, func(t *testing.T) {
			forEachMode(t, func(t *testing.T, m mode) {
				b := newPMBox(t, m)
				fl.setup(t, b)
				tgz := nestedTarball(t, b, "1.2.5")
				before := projectState(t, b.Project)
				rep := b.reportPath("nested-blocked.json")
				r := b.tool(rep, fl.tool, fl.add(tgz)...)
				wantCode(t, r, 3, fl.name+": a tarball shipping an undeclared minimist@1.2.5")
				wantStderr(t, r, "minimist@1.2.5", "node_modules/minimist/package.json", "found on disk only", "nothing was synced back")
				assertSameTree(t, before, projectState(t, b.Project), "a blocked install")
				if pathExists(filepath.Join(b.Project, "node_modules")) {
					t.Errorf("node_modules reached the project")
				}
				got := readTreeReport(t, rep)
				if got.Code != 3 {
					t.Errorf("report exit_code %d", got.Code)
				}
				blocked := false
				for _, p := range got.Precheck.Packages {
					blocked = blocked || p.Name == "minimist" && p.Version == "1.2.5" && p.Blocked && strings.HasSuffix(p.Source, "(on disk only)")
				}
				if !blocked {
					t.Errorf("the report does not show minimist@1.2.5 blocked on disk: %+v", got.Precheck.Packages)
				}

				// The twin: a clean version inside the same package installs (in a box
				// of its own: yarn 1 caches a local tarball by name and version).
				b = newPMBox(t, m)
				fl.setup(t, b)
				tgz = nestedTarball(t, b, "1.2.8")
				rep = b.reportPath("nested-clean.json")
				r = b.tool(rep, fl.tool, fl.add(tgz)...)
				wantCode(t, r, 0, fl.name+": a tarball shipping an undeclared minimist@1.2.8")
				onDiskListed(t, readTreeReport(t, rep), "minimist", "1.2.8")
				if fl.name == "npm" {
					out := hostOutput(t, m, b.Project, "node", "-e", "console.log(require('pbox-nested'))")
					if !strings.Contains(out, "minimist 1.2.8 shipped inside pbox-nested") {
						t.Errorf("require('pbox-nested') on the host: %q", out)
					}
				}
			})
		})
	}
}

// An install script writes node_modules/minimist with version 1.2.5 in the build
// step: exit 3, nothing synced. Its twin writing 1.2.8 installs and is listed on disk.
func TestInstalledTreeWrittenByScript(t *testing.T) {
	t.Parallel()
	for _, fl := range binFlavours() {
		t.Run(fl.name, func(t *testing.T) {
			forEachMode(t, func(t *testing.T, m mode) {
				b := newPMBox(t, m)
				fl.setup(t, b)
				if fl.name == "pnpm" { // pnpm 10 runs only the build scripts it is told to
					setManifest(t, b, map[string]any{"name": "pbox-it", "version": "1.0.0",
						"pnpm": map[string]any{"onlyBuiltDependencies": []string{"pbox-tree-writer@file:vendor/pbox-tree-writer-1.0.0.tgz"}}})
				}
				tgz := packFixture(t, b, "tree-writer", map[string]any{"version": "1.2.5"})
				before := projectState(t, b.Project)
				rep := b.reportPath("writer-blocked.json")
				r := b.tool(rep, fl.tool, fl.add(tgz)...)
				wantCode(t, r, 3, fl.name+": an install script writing node_modules/minimist@1.2.5")
				wantStderr(t, r, "minimist@1.2.5", "node_modules/minimist/package.json", "installed by the build step", "nothing was synced back")
				assertSameTree(t, before, projectState(t, b.Project), "a blocked install")
				if pathExists(filepath.Join(b.Project, "node_modules")) {
					t.Errorf("node_modules reached the project")
				}

				// The twin: the script writes a version the database does not block (a
				// box of its own: yarn 1 caches a local tarball by name and version).
				b = newPMBox(t, m)
				fl.setup(t, b)
				if fl.name == "pnpm" {
					setManifest(t, b, map[string]any{"name": "pbox-it", "version": "1.0.0",
						"pnpm": map[string]any{"onlyBuiltDependencies": []string{"pbox-tree-writer@file:vendor/pbox-tree-writer-1.0.0.tgz"}}})
				}
				tgz = packFixture(t, b, "tree-writer", map[string]any{"version": "1.2.8"})
				rep = b.reportPath("writer-clean.json")
				r = b.tool(rep, fl.tool, fl.add(tgz)...)
				wantCode(t, r, 0, fl.name+": an install script writing node_modules/minimist@1.2.8")
				onDiskListed(t, readTreeReport(t, rep), "minimist", "1.2.8")
			})
		})
	}
}

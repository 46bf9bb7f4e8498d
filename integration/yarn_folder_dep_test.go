package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A yarn classic project with a folder dependency (`"vend": "file:vendor"`) installs
// as it does with bare yarn: yarn 1 copies a folder dependency into its cache again
// on every install, the offline build too, and the build step's cache is read-only
// (package code must not change what the next install trusts). The build sees the
// cache through an overlay thrown away with the step (managers.Cache.Throwaway).
// The attack: the folder package's own postinstall writes into that cache — a new
// file and over the cached copy of a registry package — and the host cache is
// unchanged after the install. The legitimate path: the install succeeds, the
// postinstall ran (its output is synced), and a later install is up to date.
func TestYarnClassicFolderDependency(t *testing.T) {
	t.Parallel()
	classic := pmFlavours()[0]
	if classic.name != "yarn-classic" {
		t.Fatalf("pmFlavours()[0] is %s, want yarn-classic", classic.name)
	}
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		classic.setup(t, b)
		cache := filepath.Join(b.Home, ".cache", "yarn")
		// is-odd first, so the cache holds a registry package to poison.
		r := b.tool("", "yarn", "add", "is-odd@3.0.1")
		wantCode(t, r, 0, "yarn add is-odd")
		var cached string
		_ = filepath.WalkDir(cache, func(p string, d os.DirEntry, err error) error {
			if err == nil && cached == "" && d.Name() == "package.json" && strings.Contains(p, "npm-is-odd-3.0.1-") &&
				filepath.Base(filepath.Dir(p)) == "is-odd" {
				cached = p
			}
			return nil
		})
		if cached == "" {
			t.Fatalf("no cached copy of is-odd in %s", cache)
		}
		rel, err := filepath.Rel(cache, cached)
		if err != nil {
			t.Fatal(err)
		}
		before := treeHash(t, cache, false)

		writeFile(t, filepath.Join(b.Project, "vendor", "package.json"),
			`{"name":"vend","version":"1.0.0","license":"MIT","scripts":{"postinstall":"node build.js"}}`, 0o644)
		writeFile(t, filepath.Join(b.Project, "vendor", "build.js"), `const fs = require("fs"), path = require("path");
fs.writeFileSync("built.txt", "built offline\n");
const cache = process.env.YARN_CACHE_FOLDER;
const tries = [[path.join(cache, "pbox-poison.txt"), "x"], [path.join(cache, `+jsString(rel)+`), "{\"name\":\"is-odd\",\"version\":\"3.0.1\",\"main\":\"pbox-evil.js\"}"]];
for (const [p, data] of tries) {
  try { fs.writeFileSync(p, data); fs.appendFileSync("built.txt", "PBOX-WROTE " + p + "\n"); } catch (e) { fs.appendFileSync("built.txt", "PBOX-REFUSED " + p + " " + e.code + "\n"); }
}
`, 0o644)
		chownTree(t, m, b.Project)
		pj := readJSONFile(t, filepath.Join(b.Project, "package.json"))
		deps, _ := pj["dependencies"].(map[string]any)
		deps["vend"] = "file:vendor"
		setManifest(t, b, pj)

		r = b.tool("", "yarn", "install")
		wantCode(t, r, 0, "yarn install with a folder dependency whose postinstall writes to the cache")
		wantFile(t, filepath.Join(b.Project, "node_modules", "vend", "built.txt"), "the folder dependency's postinstall output")
		// The script's writes succeed (in the throwaway view): the checks below are
		// of writes that were made, not of writes refused.
		if built, err := os.ReadFile(filepath.Join(b.Project, "node_modules", "vend", "built.txt")); err != nil ||
			strings.Count(string(built), "PBOX-WROTE ") != 2 {
			t.Errorf("the postinstall did not write into the cache it sees: %v\n%s", err, built)
		}
		wantFile(t, filepath.Join(b.Project, "node_modules", "is-odd", "package.json"), "is-odd still installed")
		if data, err := os.ReadFile(filepath.Join(b.Project, "node_modules", "is-odd", "package.json")); err != nil || strings.Contains(string(data), "pbox-evil") {
			t.Errorf("the installed is-odd came from a poisoned cache: %v\n%s", err, data)
		}
		if _, err := os.Lstat(filepath.Join(cache, "pbox-poison.txt")); err == nil {
			t.Errorf("the build step's script wrote a new file into the host's yarn cache")
		}
		if data, err := os.ReadFile(cached); err != nil || strings.Contains(string(data), "pbox-evil") {
			t.Errorf("the build step's script changed the cached is-odd: %v\n%s", err, data)
		}
		// Only yarn's own copies of the folder dependency (made by the networked
		// download step) may be new in the cache; nothing else changed.
		after := treeHash(t, cache, false)
		for p, h := range before {
			if after[p] != h {
				t.Errorf("cache entry %s changed during the install", p)
			}
		}
		for p := range after {
			if _, ok := before[p]; !ok && !strings.Contains(p, "npm-vend-1.0.0-") {
				t.Errorf("cache entry %s appeared during the install", p)
			}
		}

		r = b.tool("", "yarn", "install")
		wantCode(t, r, 0, "yarn install again")
	})
}

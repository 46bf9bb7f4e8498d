package integration

import (
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// Issue 9, class 4: a committed lockfile is project input. An entry may claim a clean
// name and version while its URL or its hash is another package's; the precheck must
// judge what will be fetched. Live npm registry; the suite's database blocks
// minimist@1.2.5 (GHSA-xvch-5gv4-984h, critical) and knows nothing against
// is-number@6.0.0.

const (
	liIsNumberURL       = "https://registry.npmjs.org/is-number/-/is-number-6.0.0.tgz"
	liIsNumberIntegrity = "sha512-Wu1VHeILBK8KAWJUAiSZQX94GmOE45Rg6/538fKwiloUu21KncEkYGPqob2oSZ5mUT73vLGrHQjKw3KMPwfDzg=="
	liMinimistURL       = "https://registry.npmjs.org/minimist/-/minimist-1.2.5.tgz"
	liMinimistIntegrity = "sha512-FM9nNUYrRBAELZQT3xeZQ7fmMOBg6nWNmJKTcgsJeaLstP/UODVpGsr5OhXhhXg6f+qtJ8uiZ+PUxkDWcgIXLw=="
)

// liProject writes package.json and a package-lock.json (v3, as npm 10 writes it)
// whose is-number@6.0.0 entry has the given URL and hash, on line 14, plus extra
// "packages" entries. deps are extra dependencies of the root.
func liProject(t *testing.T, b *pmBox, resolved, integrity string, deps map[string]string, extra ...string) {
	t.Helper()
	rootDeps := `        "is-number": "6.0.0"`
	pkgDeps := `"is-number": "6.0.0"`
	for name, spec := range deps {
		rootDeps += fmt.Sprintf(",\n        %q: %q", name, spec)
		pkgDeps += fmt.Sprintf(", %q: %q", name, spec)
	}
	lock := `{
  "name": "app",
  "version": "1.0.0",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": {
      "name": "app",
      "version": "1.0.0",
      "dependencies": {
` + rootDeps + `
      }
    },
    "node_modules/is-number": {
      "version": "6.0.0",
      "resolved": "` + resolved + `",
      "integrity": "` + integrity + `"
    }` + strings.Join(append([]string{""}, extra...), ",\n") + `
  }
}
`
	writeFile(t, filepath.Join(b.Project, "package.json"), `{"name": "app", "version": "1.0.0", "dependencies": {`+pkgDeps+`}}`+"\n", 0o644)
	writeFile(t, filepath.Join(b.Project, "package-lock.json"), lock, 0o644)
	chownTree(t, b.Mode, b.Project)
}

// liNoDownload fails when the report shows a download or build step.
func liNoDownload(t *testing.T, rep string) {
	t.Helper()
	for _, s := range readPMReport(t, rep).Steps {
		if s.Phase != "resolve" {
			t.Errorf("a blocked install ran the %s step", s.Phase)
		}
	}
}

// liNoStep fails when the report shows any step: the committed lockfile was judged
// before the resolve step, which has the network and may fetch what it names.
func liNoStep(t *testing.T, rep string) {
	t.Helper()
	for _, s := range readPMReport(t, rep).Steps {
		t.Errorf("an install blocked on its committed lockfile ran the %s step", s.Phase)
	}
}

// An is-number@6.0.0 entry whose resolved URL is minimist-1.2.5's tarball: npm would
// install minimist under the clean name. Blocked for `npm ci` and `npm install` and by
// `phylum-box check`, naming the entry; the untouched lockfile installs.
func TestLockfileSmuggledTarball(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		liProject(t, b, liMinimistURL, liMinimistIntegrity, nil)
		before := projectState(t, b.Project)
		for _, sub := range []string{"ci", "install"} {
			rep := b.reportPath(sub + ".json")
			r := b.tool(rep, "npm", sub)
			wantCode(t, r, 3, "npm "+sub+" with is-number's entry pointing at minimist's tarball")
			wantStderr(t, r, "is-number@6.0.0 (npm) BLOCKED", "package-lock.json:14",
				"lockfile mismatch: its URL "+liMinimistURL+" is not the registry's tarball of is-number@6.0.0")
			assertSameTree(t, before, projectState(t, b.Project), "a blocked npm "+sub)
			liNoStep(t, rep)
		}
		r := b.tool("", "check")
		wantCode(t, r, 3, "phylum-box check of the smuggled entry")
		if !strings.Contains(r.Stdout, "package-lock.json:14") || !strings.Contains(r.Stdout, "lockfile mismatch") {
			t.Errorf("check does not name the entry:\n%s", r)
		}

		// The legitimate twin: the registry's URL and hash install.
		liProject(t, b, liIsNumberURL, liIsNumberIntegrity, nil)
		r = b.tool("", "npm", "ci")
		wantCode(t, r, 0, "npm ci with an untouched lockfile")
		manifest := readJSONFile(t, filepath.Join(b.Project, "node_modules", "is-number", "package.json"))
		if manifest["name"] != "is-number" || manifest["version"] != "6.0.0" {
			t.Errorf("node_modules/is-number is %v@%v", manifest["name"], manifest["version"])
		}
		if _, err := os.Stat(filepath.Join(b.Project, "node_modules", "minimist")); err == nil {
			t.Error("minimist was installed")
		}
		wantCode(t, b.tool("", "check"), 0, "phylum-box check of the untouched lockfile")
	})
}

// The registry's URL with another package's hash: npm and pnpm take a tarball out of
// their cache by that hash alone, so the hash must be the registry's for the name and
// version. Blocked by the precheck, before any download.
func TestLockfileWrongIntegrity(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		liProject(t, b, liIsNumberURL, liMinimistIntegrity, nil)
		before := projectState(t, b.Project)
		rep := b.reportPath("ci.json")
		r := b.tool(rep, "npm", "ci")
		wantCode(t, r, 3, "npm ci with is-number's entry pinning minimist's hash")
		wantStderr(t, r, "is-number@6.0.0 (npm) BLOCKED", "package-lock.json:14",
			"lockfile mismatch: the lockfile pins sha512-FM9nNUYrRBAELZQT3xeZQ7f… for is-number@6.0.0, but the registry's tarball of that version is sha512-Wu1VHeILBK8KAWJUAiSZQX9…")
		assertSameTree(t, before, projectState(t, b.Project), "a blocked npm ci")
		liNoDownload(t, rep)

		// The twin: the registry's hash, in its old sha1 form too.
		sha1 := "sha1-5tFa0x/CYoh8zPIXrl+TFvgbGZU="
		liProject(t, b, liIsNumberURL, sha1, nil)
		r = b.tool("", "npm", "ci")
		wantCode(t, r, 0, "npm ci with the registry's sha1")
		wantFile(t, filepath.Join(b.Project, "node_modules", "is-number", "package.json"), "is-number installed")
	})
}

// A tarball URL dependency cannot be judged by name and version: a wrapped install
// lists it (name, source, file:line) before the download, and `uncheckable: fail`
// blocks it without fetching it.
func TestLockfileUncheckableListed(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	tgz := regTarGz(t, "package/", map[string]string{
		"package.json": `{"name": "pbox-local-dep", "version": "1.0.0"}`,
		"index.js":     "module.exports = 1\n",
	})
	sum := sha512.Sum512(tgz)
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write(tgz)
	}))
	t.Cleanup(srv.Close)
	url := srv.URL + "/builds/pbox-local-dep.tgz"
	entry := fmt.Sprintf(`    "node_modules/pbox-local-dep": {
      "version": "1.0.0",
      "resolved": %q,
      "integrity": "sha512-%s"
    }`, url, base64.StdEncoding.EncodeToString(sum[:]))
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		deps := map[string]string{"pbox-local-dep": url}
		liProject(t, b, liIsNumberURL, liIsNumberIntegrity, deps, entry)
		writeFile(t, filepath.Join(b.Project, ".phylum-box.yaml"), "uncheckable: fail\n", 0o644)
		chownTree(t, m, b.Project)
		before := projectState(t, b.Project)
		hits.Store(0)
		rep := b.reportPath("fail.json")
		r := b.tool(rep, "npm", "ci")
		wantCode(t, r, 5, "npm ci with a tarball URL dependency under uncheckable: fail")
		wantStderr(t, r, "pbox-local-dep@1.0.0", "tarball URL dependency ("+url+")", "package-lock.json:20", "uncheckable: fail")
		assertSameTree(t, before, projectState(t, b.Project), "a blocked npm ci")
		liNoDownload(t, rep)
		if n := hits.Load(); n != 0 {
			t.Errorf("the tarball was fetched %d time(s) by a blocked install", n)
		}

		// The default policy (uncheckable: warn) installs it, and says so first.
		if err := os.Remove(filepath.Join(b.Project, ".phylum-box.yaml")); err != nil {
			t.Fatal(err)
		}
		r = b.tool("", "npm", "ci")
		wantCode(t, r, 0, "npm ci with a tarball URL dependency under the default policy")
		listed := strings.Index(r.Stderr, "not checked, installed as its source serves it: pbox-local-dep@1.0.0 — tarball URL dependency ("+url+") (package-lock.json:20)")
		download := strings.Index(r.Stderr, "downloading:")
		if listed < 0 || download < 0 || listed > download {
			t.Errorf("the uncheckable dependency is not listed before the download (at %d, download at %d):\n%s", listed, download, r)
		}
		wantFile(t, filepath.Join(b.Project, "node_modules", "pbox-local-dep", "index.js"), "the tarball dependency installed")
	})
}

// The same two smuggles in a pnpm-lock.yaml (resolution tarball, resolution
// integrity) and a yarn.lock (resolved URL), each with its untouched twin.
func TestLockfileSmuggledPnpmYarn(t *testing.T) {
	t.Parallel()
	pnpmLock := func(resolution string) string {
		return `lockfileVersion: '9.0'

settings:
  autoInstallPeers: true
  excludeLinksFromLockfile: false

importers:

  .:
    dependencies:
      is-number:
        specifier: 6.0.0
        version: 6.0.0

packages:

  is-number@6.0.0:
    resolution: {` + resolution + `}
    engines: {node: '>=0.10.0'}

snapshots:

  is-number@6.0.0: {}
`
	}
	yarnLock := func(resolved, integrity string) string {
		return `# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.
# yarn lockfile v1


is-number@6.0.0:
  version "6.0.0"
  resolved "` + resolved + `"
  integrity ` + integrity + `
`
	}
	cases := []struct {
		name, tool, file, lock string
		args                   []string
		blocked                string // stderr of the block; "" for the legitimate twin
		// early: blocked on the committed lockfile, before the resolve step
		early bool
	}{
		{"pnpm tarball", "pnpm", "pnpm-lock.yaml", pnpmLock("integrity: " + liMinimistIntegrity + ", tarball: " + liMinimistURL),
			[]string{"install", "--frozen-lockfile"}, "pnpm-lock.yaml:17", true},
		{"pnpm integrity", "pnpm", "pnpm-lock.yaml", pnpmLock("integrity: " + liMinimistIntegrity),
			[]string{"install", "--frozen-lockfile"}, "the lockfile pins sha512-FM9nNUYrRBAELZQT3xeZQ7f…", false},
		{"pnpm untouched", "pnpm", "pnpm-lock.yaml", pnpmLock("integrity: " + liIsNumberIntegrity),
			[]string{"install", "--frozen-lockfile"}, "", false},
		{"yarn resolved", "yarn", "yarn.lock", yarnLock(strings.Replace(liMinimistURL, "npmjs.org", "yarnpkg.com", 1)+"#67d66014b66a6a8aaa0c083c5fd58df4e4e97602", liMinimistIntegrity),
			[]string{"install", "--frozen-lockfile"}, "yarn.lock:5", true},
		{"yarn untouched", "yarn", "yarn.lock", yarnLock("https://registry.yarnpkg.com/is-number/-/is-number-6.0.0.tgz#e6d15ad31fc262887cccf217ae5f9316f81b1995", liIsNumberIntegrity),
			[]string{"install", "--frozen-lockfile"}, "", false},
	}
	forEachMode(t, func(t *testing.T, m mode) {
		for _, tc := range cases {
			t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
				requireTool(t, tc.tool)
				b := newPMBox(t, m)
				writeFile(t, filepath.Join(b.Project, "package.json"), `{"name": "app", "version": "1.0.0", "dependencies": {"is-number": "6.0.0"}}`+"\n", 0o644)
				writeFile(t, filepath.Join(b.Project, tc.file), tc.lock, 0o644)
				chownTree(t, m, b.Project)
				if tc.blocked == "" {
					r := b.tool("", tc.tool, tc.args...)
					wantCode(t, r, 0, tc.tool+" with an untouched lockfile")
					manifest := readJSONFile(t, filepath.Join(b.Project, "node_modules", "is-number", "package.json"))
					if manifest["name"] != "is-number" || manifest["version"] != "6.0.0" {
						t.Errorf("node_modules/is-number is %v@%v", manifest["name"], manifest["version"])
					}
					return
				}
				before := projectState(t, b.Project)
				rep := b.reportPath("blocked.json")
				r := b.tool(rep, tc.tool, tc.args...)
				wantCode(t, r, 3, tc.tool+" with a smuggled lockfile entry")
				wantStderr(t, r, "is-number@6.0.0 (npm) BLOCKED", "lockfile mismatch", tc.blocked)
				assertSameTree(t, before, projectState(t, b.Project), "a blocked "+tc.tool+" install")
				if tc.early {
					liNoStep(t, rep)
				} else {
					liNoDownload(t, rep)
				}
			})
		}
	})
}

// Why the hash must be the registry's even when the URL is: npm takes a tarball out of
// its cache by the lockfile's hash alone. Once left-pad@1.3.0 is in the cache (any
// earlier install), an is-number@6.0.0 entry with the registry's URL and left-pad's hash
// installs left-pad's files as node_modules/is-number (phylum-box before this check did
// exactly that). Blocked; the entry with is-number's own hash installs is-number.
func TestLockfileCacheSubstitution(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	const leftPadIntegrity = "sha512-XI5MPzVNApjAyhQzphX8BkmKsKUxD4LdyK24iZeQGinBN9yTQT3bFlCBy/aVx2HrNcqQGsdot8ghrjyrvMCoEA=="
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		wantCode(t, b.tool("", "npm", "install", "left-pad@1.3.0"), 0, "npm install left-pad (fills the cache)")
		if err := os.RemoveAll(filepath.Join(b.Project, "node_modules")); err != nil {
			t.Fatal(err)
		}
		liProject(t, b, liIsNumberURL, leftPadIntegrity, nil)
		before := projectState(t, b.Project)
		rep := b.reportPath("ci.json")
		r := b.tool(rep, "npm", "ci")
		wantCode(t, r, 3, "npm ci with is-number's entry pinning left-pad's (cached) hash")
		wantStderr(t, r, "is-number@6.0.0 (npm) BLOCKED", "package-lock.json:14", "the lockfile pins sha512-XI5MPzVNApjAyhQzphX8Bkm…")
		assertSameTree(t, before, projectState(t, b.Project), "a blocked npm ci")
		liNoDownload(t, rep)

		liProject(t, b, liIsNumberURL, liIsNumberIntegrity, nil)
		wantCode(t, b.tool("", "npm", "ci"), 0, "npm ci with is-number's own hash")
		if manifest := readJSONFile(t, filepath.Join(b.Project, "node_modules", "is-number", "package.json")); manifest["name"] != "is-number" {
			t.Errorf("node_modules/is-number holds %v", manifest["name"])
		}
	})
}

package managers

import (
	"archive/zip"
	"bytes"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
)

// testdata/berrypnp is a project yarn 4.18.1 installed with Plug'n'Play (global
// cache at ../home/.yarn/berry/cache): is-odd@3.0.1 needs is-number@^6, the
// project needs is-number@7.0.0 too (two references of one name) and a scoped
// package. pnp-head.cjs is its .pnp.cjs up to the runtime, as yarn wrote it.

// berryPnpHook stands for the runtime a release carries.
const berryPnpHook = "const fs = require('fs');\n$$SETUP_STATE(hydrateRuntimeState);\n// the runtime\n"

// berryPnpLoader stands for the ESM loader a release carries.
const berryPnpLoader = berryPnpLoaderHead + "fs from 'fs';\n// the loader\n"

// berryPnpProject lays the fixture out in a temporary dir: the project (with a
// release carrying hook among other compressed texts), the global cache with an
// archive per package (files as given, package.json by default) and yarn.lock's
// checksums made theirs. It returns the project root and the cache dir.
func berryPnpProject(t *testing.T, extra map[string]map[string]string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	root, cache := filepath.Join(dir, "proj"), filepath.Join(dir, "home", ".yarn", "berry", "cache")
	for _, d := range []string{root, cache, filepath.Join(root, ".yarn", "releases")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	read := func(name string) string {
		data, err := os.ReadFile(filepath.Join("testdata", "berrypnp", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	lock := read("yarn.lock")
	for _, p := range []struct{ name, version string }{{"is-odd", "3.0.1"}, {"is-number", "6.0.0"}, {"is-number", "7.0.0"}, {"@isaacs/string-locale-compare", "1.1.0"}} {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		files := map[string]string{"package.json": `{"name":"` + p.name + `","version":"` + p.version + `","main":"index.js"}`, "index.js": "module.exports = 1\n"}
		for k, v := range extra[p.name+"@"+p.version] {
			files[k] = v
		}
		for name, content := range files {
			w, err := zw.Create("node_modules/" + p.name + "/" + name)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = w.Write([]byte(content))
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		writeTestFile(t, filepath.Join(cache, berryZipName(p.name, p.version, "10c0")), buf.String())
		sum := sha512.Sum512(buf.Bytes())
		entry := regexp.MustCompile(`(?s)(resolution: "` + regexp.QuoteMeta(p.name+"@npm:"+p.version) + `"\n.*?checksum: )10c0/[0-9a-f]+`)
		if !entry.MatchString(lock) {
			t.Fatalf("no checksum for %s@%s in the fixture", p.name, p.version)
		}
		lock = entry.ReplaceAllString(lock, "${1}10c0/"+hex.EncodeToString(sum[:]))
	}
	writeTestFile(t, filepath.Join(root, "yarn.lock"), lock)
	writeTestFile(t, filepath.Join(root, "package.json"), read("package.json"))
	writeTestFile(t, filepath.Join(root, ".yarn", "install-state.gz"), "state")
	writeTestFile(t, filepath.Join(root, ".pnp.cjs"), read("pnp-head.cjs")+berryPnpHook)
	writeTestFile(t, filepath.Join(root, ".yarn", "releases", "yarn.cjs"),
		"#!/usr/bin/env node\nvar a=()=>"+berryBrotliJS(t, berryPnpLoader)+";var b=()=>"+berryBrotliJS(t, berryPnpHook)+";\n")
	return root, cache
}

// berryBrotliJS is text as a yarn release embeds it.
func berryBrotliJS(t *testing.T, text string) string {
	var buf bytes.Buffer
	w := brotli.NewWriter(&buf)
	_, _ = w.Write([]byte(text))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return `Ae("zlib").brotliDecompressSync(Buffer.from("` + base64.StdEncoding.EncodeToString(buf.Bytes()) + `","base64")).toString()`
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// The state phylum-box computes is, byte for byte, the one yarn wrote.
func TestBerryPnpStateIsYarns(t *testing.T) {
	root, cache := berryPnpProject(t, nil)
	ok, why := BerryPnpUpToDate(root, cache, ".yarn/releases/yarn.cjs", true)
	if !ok {
		t.Fatalf("the fixture as yarn left it is not up to date: %s", why)
	}
	if !strings.Contains(why, "4 package(s)") {
		t.Errorf("why = %q", why)
	}
	// Scripts on: no package has a build, still up to date.
	if ok, why := BerryPnpUpToDate(root, cache, ".yarn/releases/yarn.cjs", false); !ok {
		t.Errorf("scripts on, no build: %s", why)
	}
}

func TestBerryZipName(t *testing.T) {
	for _, c := range []struct{ name, version, want string }{
		{"is-number", "6.0.0", "is-number-npm-6.0.0-30881e83e6-10c0.zip"},
		{"@esbuild/linux-x64", "0.24.2", "@esbuild-linux-x64-npm-0.24.2-eb2f35022c-10c0.zip"},
		{"@isaacs/string-locale-compare", "1.1.0", "@isaacs-string-locale-compare-npm-1.1.0-3911094464-10c0.zip"},
	} {
		if got := berryZipName(c.name, c.version, "10c0"); got != c.want {
			t.Errorf("berryZipName(%s@%s) = %s, want %s", c.name, c.version, got, c.want)
		}
	}
	for v, want := range map[string]bool{"1.2.3": true, "1.0.0-beta.1": true, "0.0.0-x-y": true, "01.0.0": false, "1.0": false,
		"1.0.0+build": false, "1.0.0-01": false, "v1.0.0": false, "1.0.0-": false, "1.0.0-a..b": false} {
		if berrySemver(v) != want {
			t.Errorf("berrySemver(%q) = %v", v, !want)
		}
	}
}

// Each way a checkout may differ from what yarn would leave runs every step.
func TestBerryPnpNotUpToDate(t *testing.T) {
	edit := func(rel, old, new string) func(t *testing.T, root, cache string) {
		return func(t *testing.T, root, cache string) {
			p := filepath.Join(root, rel)
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(data), old) {
				t.Fatalf("%s has no %q", rel, old)
			}
			writeTestFile(t, p, strings.Replace(string(data), old, new, 1))
		}
	}
	for _, c := range []struct {
		name       string
		extra      map[string]map[string]string
		change     func(t *testing.T, root, cache string)
		scriptsOn  bool
		wantReason string
	}{
		{name: "a location pointing into the project", wantReason: ".pnp.cjs is not what yarn would write",
			change: edit(".pnp.cjs", `../home/.yarn/berry/cache/is-odd-npm-3.0.1-93c3c3f41b-10c0.zip/node_modules/is-odd/`, `./evil/is-odd/`)},
		{name: "a dependency resolved elsewhere", wantReason: ".pnp.cjs is not what yarn would write",
			change: edit(".pnp.cjs", `["is-number", "npm:6.0.0"],\`+"\n"+`          ["is-odd", "npm:3.0.1"]`, `["is-number", "npm:7.0.0"],\`+"\n"+`          ["is-odd", "npm:3.0.1"]`)},
		{name: "a runtime that is not the release's", wantReason: "runtime is not the one",
			change: edit(".pnp.cjs", "// the runtime\n", "// the runtime\nrequire('child_process').execSync('id');\n")},
		{name: "a runtime cut short", wantReason: "runtime is not the one",
			change: edit(".pnp.cjs", "// the runtime\n", "")},
		{name: "another compressed text of the release as the runtime", wantReason: "runtime is not the one",
			change: func(t *testing.T, root, cache string) {
				edit(".pnp.cjs", berryPnpHook, berryPnpLoader)(t, root, cache)
			}},
		{name: "a state after the literal", wantReason: ".pnp.cjs is not what yarn would write",
			change: edit(".pnp.cjs", "const RAW_RUNTIME_STATE =\n'{", "const RAW_RUNTIME_STATE =\n'{\\\n  \"x\": 1,")},
		{name: "an archive changed in the cache", wantReason: "not the one yarn.lock records",
			change: func(t *testing.T, root, cache string) {
				p := filepath.Join(cache, berryZipName("is-odd", "3.0.1", "10c0"))
				data, _ := os.ReadFile(p)
				writeTestFile(t, p, string(append(data, 0)))
			}},
		{name: "an archive missing", wantReason: "is not in the yarn cache",
			change: func(t *testing.T, root, cache string) {
				_ = os.Remove(filepath.Join(cache, berryZipName("is-number", "7.0.0", "10c0")))
			}},
		{name: "an archive that is a link", wantReason: "is not in the yarn cache",
			change: func(t *testing.T, root, cache string) {
				p := filepath.Join(cache, berryZipName("is-number", "7.0.0", "10c0"))
				_ = os.Rename(p, p+".real")
				_ = os.Symlink(p+".real", p)
			}},
		{name: "a dependency added to package.json", wantReason: "package.json",
			change: edit("package.json", `"is-odd": "3.0.1"`, `"is-odd": "3.0.1", "ms": "2.1.3"`)},
		{name: "an ES module project without the loader", wantReason: "yarn would write it",
			change: edit("package.json", `"version": "1.0.0"`, `"version": "1.0.0", "type": "module"`)},
		{name: "an ES module project with a loader of its own", wantReason: "not the ESM loader",
			change: func(t *testing.T, root, cache string) {
				edit("package.json", `"version": "1.0.0"`, `"version": "1.0.0", "type": "module"`)(t, root, cache)
				writeTestFile(t, filepath.Join(root, ".pnp.loader.mjs"), berryPnpLoader+"import('child_process');\n")
			}},
		{name: "the runtime as the loader", wantReason: "not the ESM loader",
			change: func(t *testing.T, root, cache string) {
				edit("package.json", `"version": "1.0.0"`, `"version": "1.0.0", "type": "module"`)(t, root, cache)
				writeTestFile(t, filepath.Join(root, ".pnp.loader.mjs"), berryPnpHook)
			}},
		{name: "a project type this check does not read", wantReason: "type",
			change: edit("package.json", `"version": "1.0.0"`, `"version": "1.0.0", "type": 1`)},
		{name: "an unused lockfile entry", wantReason: "not used",
			change: edit("yarn.lock", `"is-number@npm:7.0.0":`, `"is-number@npm:7.0.0, is-number@npm:^7.0.0":`)},
		{name: "node_modules present", wantReason: "node_modules exists",
			change: func(t *testing.T, root, cache string) { writeTestFile(t, filepath.Join(root, "node_modules", "x"), "") }},
		{name: "unplugged packages", wantReason: ".yarn/unplugged exists",
			change: func(t *testing.T, root, cache string) {
				writeTestFile(t, filepath.Join(root, ".yarn", "unplugged", "x"), "")
			}},
		{name: "the ESM loader and no ES module", wantReason: ".pnp.loader.mjs exists",
			change: func(t *testing.T, root, cache string) { writeTestFile(t, filepath.Join(root, ".pnp.loader.mjs"), "") }},
		{name: "no install state", wantReason: "install-state.gz",
			change: func(t *testing.T, root, cache string) {
				_ = os.Remove(filepath.Join(root, ".yarn", "install-state.gz"))
			}},
		{name: ".pnp.cjs a link", wantReason: ".pnp.cjs",
			change: func(t *testing.T, root, cache string) {
				p := filepath.Join(root, ".pnp.cjs")
				_ = os.Rename(p, filepath.Join(root, "..", "pnp.cjs"))
				_ = os.Symlink(filepath.Join(root, "..", "pnp.cjs"), p)
			}},
		{name: "a package with a build, scripts on", scriptsOn: true, wantReason: "has a build",
			extra: map[string]map[string]string{"is-number@7.0.0": {"package.json": `{"name":"is-number","version":"7.0.0","scripts":{"postinstall":"node x"}}`}}},
		{name: "a package with a binding.gyp, scripts on", scriptsOn: true, wantReason: "has a build",
			extra: map[string]map[string]string{"is-number@7.0.0": {"binding.gyp": "{}"}}},
		{name: "a package with a native file", wantReason: "yarn unplugs it",
			extra: map[string]map[string]string{"is-number@7.0.0": {"build/x.node": "ELF"}}},
		{name: "a package preferring to be unplugged", wantReason: "prefers to be unplugged",
			extra: map[string]map[string]string{"is-odd@3.0.1": {"package.json": `{"name":"is-odd","version":"3.0.1","preferUnplugged":true}`}}},
		{name: "an ES module package without the loader", wantReason: "yarn would write it",
			extra: map[string]map[string]string{"is-odd@3.0.1": {"package.json": `{"name":"is-odd","version":"3.0.1","type":"module"}`}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			root, cache := berryPnpProject(t, c.extra)
			if c.change != nil {
				c.change(t, root, cache)
			}
			ok, why := BerryPnpUpToDate(root, cache, ".yarn/releases/yarn.cjs", !c.scriptsOn)
			if ok || !strings.Contains(why, c.wantReason) {
				t.Errorf("up to date %v (%s), want not, because %q", ok, why, c.wantReason)
			}
		})
	}
	// The twins of the ES module cases: the release's loader, up to date.
	for _, c := range []struct {
		name  string
		extra map[string]map[string]string
		man   bool
	}{
		{"an ES module package", map[string]map[string]string{"is-odd@3.0.1": {"package.json": `{"name":"is-odd","version":"3.0.1","type":"module"}`}}, false},
		{"an ES module project", nil, true},
	} {
		root, cache := berryPnpProject(t, c.extra)
		if c.man {
			edit("package.json", `"version": "1.0.0"`, `"version": "1.0.0", "type": "module"`)(t, root, cache)
		}
		writeTestFile(t, filepath.Join(root, ".pnp.loader.mjs"), berryPnpLoader)
		if ok, why := BerryPnpUpToDate(root, cache, ".yarn/releases/yarn.cjs", true); !ok {
			t.Errorf("%s with the release's loader: %s", c.name, why)
		}
	}
	// The twins of the build cases: with scripts off, a build is skipped and the
	// install is up to date.
	root, cache := berryPnpProject(t, map[string]map[string]string{"is-number@7.0.0": {"package.json": `{"name":"is-number","version":"7.0.0","scripts":{"postinstall":"node x"}}`}})
	if ok, why := BerryPnpUpToDate(root, cache, ".yarn/releases/yarn.cjs", true); !ok {
		t.Errorf("scripts off, a package with a build: %s", why)
	}
}

func TestBerryPnpLiteral(t *testing.T) {
	got := berryPnpLiteral("{\n  \"a\": \"it's \\\\x\"\n}")
	want := "'{\\\n  \"a\": \"it\\'s \\\\\\\\x\"\\\n}'"
	if got != want {
		t.Errorf("literal = %q, want %q", got, want)
	}
	if s := berryJSString("a\"\\\x01\t<é>"); s != `"a\"\\\u0001\t<é>"` {
		t.Errorf("berryJSString = %s", s)
	}
}

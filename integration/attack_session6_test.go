package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Attacks on session 6's changes (issue 12): yarn 1's one-run builds, the
// Plug'n'Play nothing-to-do check, the throwaway cache.

// publishSecond adds version of name to the local registry next to the versions
// already published (Add replaces the packument).
func (reg *npmLocalRegistry) publishSecond(name, version string, manifest map[string]any, files map[string]string) {
	reg.t.Helper()
	reg.mu.Lock()
	old := reg.docs[name]
	reg.mu.Unlock()
	reg.Add(name, version, manifest, files)
	if old == nil {
		return
	}
	reg.mu.Lock()
	defer reg.mu.Unlock()
	for v, doc := range old["versions"].(map[string]any) {
		reg.docs[name]["versions"].(map[string]any)[v] = doc
	}
}

// yarn 1 gives a package with a binding.gyp and no install script the install
// script `node-gyp rebuild` whatever its package.json's gypfile says (its manifest
// normalisation reads only the file list; npm honours "gypfile": false, yarn 1 does
// not). The one-run yarn classic build builds only the packages it finds install
// scripts in (yarnClassicChangedNames), with npm's test, which took gypfile: false
// for "no build": phylum-box exited 0 having skipped a build bare yarn runs.
// Asserted: a package with binding.gyp and "gypfile": false is built (its
// node-gyp, a bin of a dependency nested under it, runs and writes built.txt),
// like its twin without the gypfile field. Root and rootless.
func TestAttackSession6YarnGypfileFalse(t *testing.T) {
	t.Parallel()
	classic := pmFlavours()[0]
	if classic.name != "yarn-classic" {
		t.Fatalf("pmFlavours()[0] is %s, want yarn-classic", classic.name)
	}
	forEachMode(t, func(t *testing.T, m mode) {
		reg := startNpmLocalRegistry(t, "")
		// A fake node-gyp: yarn 1 puts the package's own node_modules/.bin first in
		// PATH, so the nested one (version 1, the project has version 2) is the one run.
		gyp := map[string]string{"gyp.js": "#!/usr/bin/env node\nrequire('fs').writeFileSync('built.txt', 'node-gyp ' + process.argv.slice(2).join(' '))\n"}
		reg.Add("pbox-s6-fakegyp", "1.0.0", map[string]any{"bin": map[string]string{"node-gyp": "gyp.js"}}, gyp)
		reg.publishSecond("pbox-s6-fakegyp", "2.0.0", nil, map[string]string{"index.js": "module.exports = 2\n"})
		for _, c := range []struct {
			name string
			pkg  string
			man  map[string]any
		}{
			{"gypfile-false", "pbox-s6-gypoff", map[string]any{"gypfile": false}},
			{"twin-no-gypfile", "pbox-s6-gypon", nil},
		} {
			man := map[string]any{"dependencies": map[string]string{"pbox-s6-fakegyp": "1.0.0"}}
			for k, v := range c.man {
				man[k] = v
			}
			reg.Add(c.pkg, "1.0.0", man, map[string]string{"binding.gyp": "{\"targets\": []}\n", "index.js": "module.exports = 1\n"})
		}
		for _, c := range []string{"pbox-s6-gypoff", "pbox-s6-gypon"} {
			t.Run(c, func(t *testing.T) {
				if !m.rootless() {
					// The premise: bare yarn 1 builds both.
					bare := t.TempDir()
					writeFile(t, filepath.Join(bare, "package.json"), `{"name":"bare","version":"1.0.0","license":"MIT"}`, 0o644)
					hostSh(t, m, bare, "HOME="+bare+" yarn add --non-interactive --cache-folder "+bare+"/.cache --registry "+reg.URL+"/ pbox-s6-fakegyp@2.0.0 "+c+"@1.0.0 >/dev/null")
					if !pathExists(filepath.Join(bare, "node_modules", c, "built.txt")) {
						t.Fatalf("bare yarn did not run node-gyp for %s", c)
					}
				}
				b := newPMBox(t, m)
				classic.setup(t, b)
				writeProjectFile(t, b, ".yarnrc", "registry \""+reg.URL+"/\"\n")
				r := b.tool("", "yarn", "add", "pbox-s6-fakegyp@2.0.0", c+"@1.0.0")
				wantCode(t, r, 0, "yarn add "+c)
				wantFile(t, filepath.Join(b.Project, "node_modules", c, "node_modules", "pbox-s6-fakegyp", "gyp.js"), "the nested fake node-gyp")
				built := filepath.Join(b.Project, "node_modules", c, "built.txt")
				if !pathExists(built) {
					t.Fatalf("%s has a binding.gyp: yarn 1 runs node-gyp rebuild for it (gypfile is not read), phylum-box did not build it\n%s", c, r)
				}
				if got := string(readFileT(t, built)); !strings.Contains(got, "node-gyp rebuild") {
					t.Errorf("built.txt = %q, want node-gyp rebuild's", got)
				}
				// The install from the registry-only yarn.lock (no resolve step) builds
				// it too.
				if err := os.RemoveAll(filepath.Join(b.Project, "node_modules")); err != nil {
					t.Fatal(err)
				}
				r = b.tool("", "yarn", "install", "--frozen-lockfile")
				wantCode(t, r, 0, "yarn install --frozen-lockfile with "+c)
				if strings.Contains(r.Stderr, "resolving:") {
					t.Errorf("yarn install --frozen-lockfile from a registry-only yarn.lock ran a resolve step:\n%s", r)
				}
				if !pathExists(built) {
					t.Fatalf("yarn install --frozen-lockfile: %s (binding.gyp) was not built\n%s", c, r)
				}
			})
		}
	})
}

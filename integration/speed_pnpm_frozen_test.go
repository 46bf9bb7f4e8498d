package integration

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// `pnpm install` from the committed lockfile (issue 12, managers/pnpmfrozen.go):
// with --frozen-lockfile, in CI, or when pnpm-lock.yaml is already what
// package.json asks for, there is no resolve step — the committed lockfile is
// prechecked, the download is `pnpm install --frozen-lockfile` with scripts off,
// and the build is `pnpm rebuild --pending`, only when pnpm left something to
// build. Asserted here: the steps the report lists; an allowed postinstall runs
// once, offline, and a package the project does not allow is not built; an
// out-of-date lockfile fails as bare pnpm fails (its error, exit 1, nothing
// synced) while the plain install of the same project resolves again (the twin);
// a known-malicious lockfile entry blocks before any step; a tree with nothing to
// build starts no build step.

// pnpmFrozenScript is a postinstall that records the network interfaces it saw.
func pnpmFrozenScript(file string) map[string]any {
	return map[string]any{"scripts": map[string]string{"postinstall": `node -e "require('fs').appendFileSync('` + file +
		`', 'built ' + Object.keys(require('os').networkInterfaces()).sort().join(',') + '\n')"`}}
}

func TestSpeedPnpmFrozenInstall(t *testing.T) {
	t.Parallel()
	requireTool(t, "pnpm")
	forEachMode(t, func(t *testing.T, m mode) {
		reg := startNpmLocalRegistry(t, "")
		reg.Add("pbox-frozen-built", "1.0.0", pnpmFrozenScript("built.txt"), map[string]string{"index.js": "module.exports = 1\n"})
		reg.Add("pbox-frozen-ignored", "1.0.0", pnpmFrozenScript("ignored.txt"), map[string]string{"index.js": "module.exports = 2\n"})
		reg.Add("pbox-frozen-plain", "1.0.0", nil, map[string]string{"index.js": "module.exports = 3\n"})

		b := newPMBox(t, m)
		deps := map[string]any{"pbox-frozen-built": "1.0.0", "pbox-frozen-ignored": "1.0.0"}
		setManifest(t, b, map[string]any{"name": "pbox-it", "version": "1.0.0", "dependencies": deps,
			"pnpm": map[string]any{"onlyBuiltDependencies": []string{"pbox-frozen-built"}}})
		writeProjectFile(t, b, ".npmrc", "registry="+reg.URL+"/\n")
		// The project's first install writes the lockfile: every step.
		rep := b.reportPath("first.json")
		wantCode(t, b.tool(rep, "pnpm", "install"), 0, "the project's first pnpm install")
		if got := readPnpmAddReport(t, rep).phases(); !slices.Equal(got, []string{"resolve", "download", "build"}) {
			t.Errorf("a first install (no lockfile) ran %v, want resolve, download, build", got)
		}
		built := filepath.Join(b.Project, "node_modules", "pbox-frozen-built", "built.txt")

		for _, tc := range []struct {
			name string
			env  []string
			args []string
		}{
			{"--frozen-lockfile", nil, []string{"install", "--frozen-lockfile"}},
			{"CI", []string{"CI=true"}, []string{"install"}},
			{"lockfile up to date", nil, []string{"install"}},
		} {
			// A fresh clone: the committed lockfile, no node_modules.
			if err := os.RemoveAll(filepath.Join(b.Project, "node_modules")); err != nil {
				t.Fatal(err)
			}
			b.Env = tc.env
			rep = b.reportPath("frozen.json")
			r := b.tool(rep, "pnpm", tc.args...)
			wantCode(t, r, 0, tc.name)
			pr := readPnpmAddReport(t, rep)
			if got := pr.phases(); !slices.Equal(got, []string{"download", "build"}) {
				t.Errorf("%s ran %v, want download, build (no resolve step)", tc.name, got)
			}
			for _, s := range pr.Steps {
				if s.Network != (s.Phase == "download") {
					t.Errorf("%s: the %s step ran with network=%v", tc.name, s.Phase, s.Network)
				}
				a := strings.Join(s.Args, " ")
				if s.Phase == "download" && (!strings.Contains(a, "--frozen-lockfile") || !strings.Contains(a, "--ignore-scripts")) {
					t.Errorf("%s: the download step %q is not frozen with scripts off", tc.name, a)
				}
				if s.Phase == "build" && !strings.Contains(a, "rebuild --pending") {
					t.Errorf("%s: the build step %q does not build only what pnpm left pending", tc.name, a)
				}
			}
			if got := string(readFileT(t, built)); got != "built lo\n" {
				t.Errorf("%s: pbox-frozen-built's postinstall: want one run that saw only lo, got %q", tc.name, got)
			}
			if pathExists(filepath.Join(b.Project, "node_modules", "pbox-frozen-ignored", "ignored.txt")) {
				t.Errorf("%s: the script of a package the project does not allow to build ran", tc.name)
			}
			wantFile(t, filepath.Join(b.Project, "node_modules", "pbox-frozen-ignored", "index.js"), tc.name+": pbox-frozen-ignored installed")
			wantStderr(t, r, "Ignored build scripts", "pbox-frozen-ignored@1.0.0")
			// pnpm's record is what a bare install leaves: nothing pending.
			mods := string(readFileT(t, filepath.Join(b.Project, "node_modules", ".modules.yaml")))
			if !strings.Contains(mods, `"pendingBuilds": []`) {
				t.Errorf("%s: node_modules/.modules.yaml still lists pending builds:\n%s", tc.name, mods)
			}
		}
		b.Env = nil

		// An out-of-date lockfile: --frozen-lockfile fails as bare pnpm does, before
		// fetching anything, and nothing reaches the project.
		deps["pbox-frozen-plain"] = "1.0.0"
		setManifest(t, b, map[string]any{"name": "pbox-it", "version": "1.0.0", "dependencies": deps,
			"pnpm": map[string]any{"onlyBuiltDependencies": []string{"pbox-frozen-built"}}})
		if err := os.RemoveAll(filepath.Join(b.Project, "node_modules")); err != nil {
			t.Fatal(err)
		}
		before := projectState(t, b.Project)
		rep = b.reportPath("outdated.json")
		r := b.tool(rep, "pnpm", "install", "--frozen-lockfile")
		wantCode(t, r, 1, "pnpm install --frozen-lockfile with an out-of-date lockfile")
		if !strings.Contains(r.Stdout, "ERR_PNPM_OUTDATED_LOCKFILE") { // pnpm prints its errors on stdout
			t.Errorf("the frozen install did not fail with pnpm's own error:\n%s", r)
		}
		assertSameTree(t, before, projectState(t, b.Project), "a frozen install of an out-of-date lockfile")
		if got := readPnpmAddReport(t, rep).phases(); !slices.Equal(got, []string{"download"}) {
			t.Errorf("the out-of-date frozen install ran %v, want the failed download alone", got)
		}
		// The twin: the plain install of the same project resolves again and succeeds.
		rep = b.reportPath("resolve.json")
		wantCode(t, b.tool(rep, "pnpm", "install"), 0, "pnpm install with an out-of-date lockfile")
		if got := readPnpmAddReport(t, rep).phases(); !slices.Equal(got, []string{"resolve", "download", "build"}) {
			t.Errorf("a plain install of an out-of-date lockfile ran %v, want resolve, download, build", got)
		}
		wantFile(t, filepath.Join(b.Project, "node_modules", "pbox-frozen-plain", "index.js"), "pbox-frozen-plain installed")

		// Nothing to build: a project whose packages have no install scripts.
		b2 := newPMBox(t, m)
		setManifest(t, b2, map[string]any{"name": "pbox-it2", "version": "1.0.0", "dependencies": map[string]any{"pbox-frozen-plain": "1.0.0"}})
		writeProjectFile(t, b2, ".npmrc", "registry="+reg.URL+"/\n")
		wantCode(t, b2.tool("", "pnpm", "install"), 0, "the plain project's first install")
		if err := os.RemoveAll(filepath.Join(b2.Project, "node_modules")); err != nil {
			t.Fatal(err)
		}
		rep = b2.reportPath("plain.json")
		r = b2.tool(rep, "pnpm", "install", "--frozen-lockfile")
		wantCode(t, r, 0, "pnpm install --frozen-lockfile of packages without scripts")
		if got := readPnpmAddReport(t, rep).phases(); !slices.Equal(got, []string{"download"}) {
			t.Errorf("a frozen install with nothing to build ran %v, want the download alone", got)
		}
		wantStderr(t, r, "nothing to build")
		wantFile(t, filepath.Join(b2.Project, "node_modules", "pbox-frozen-plain", "index.js"), "pbox-frozen-plain installed")
	})
}

// pnpmMalLock is a committed lockfile whose one entry is is-number@7.0.0, which the
// test database records as malware (MAL-0000-PBOXIT1).
const pnpmMalLock = `lockfileVersion: '9.0'

settings:
  autoInstallPeers: true
  excludeLinksFromLockfile: false

importers:

  .:
    dependencies:
      is-number:
        specifier: 7.0.0
        version: 7.0.0

packages:

  is-number@7.0.0:
    resolution: {integrity: sha512-41Cifkg6e8TylSpdtTpeLVMqvSBEVzTttHvERD741+pnZ8ANv0004MRL43QKPDlK9cGvNp6NZWZUBlbGXYxxng==}
    engines: {node: '>=0.12.0'}

snapshots:

  is-number@7.0.0: {}
`

// The committed lockfile is what the frozen install prechecks: a malicious entry
// blocks before any step runs (no download, nothing synced), with the flag and in
// CI alike.
func TestSpeedPnpmFrozenBlocksLockfileEntry(t *testing.T) {
	t.Parallel()
	requireTool(t, "pnpm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		setManifest(t, b, map[string]any{"name": "pbox-it", "version": "1.0.0", "dependencies": map[string]any{"is-number": "7.0.0"}})
		writeProjectFile(t, b, "pnpm-lock.yaml", pnpmMalLock)
		for _, tc := range []struct {
			name string
			env  []string
			args []string
		}{
			{"--frozen-lockfile", nil, []string{"install", "--frozen-lockfile"}},
			{"CI", []string{"CI=true"}, []string{"install"}},
		} {
			b.Env = tc.env
			before := projectState(t, b.Project)
			rep := b.reportPath("blocked.json")
			r := b.tool(rep, "pnpm", tc.args...)
			wantCode(t, r, 3, tc.name+": a committed lockfile with a MAL entry")
			wantStderr(t, r, "is-number", "MAL-0000-PBOXIT1")
			assertSameTree(t, before, projectState(t, b.Project), tc.name+": a blocked frozen install")
			if got := readPnpmAddReport(t, rep).phases(); len(got) != 0 {
				t.Errorf("%s: the blocked frozen install ran %v, want no step", tc.name, got)
			}
		}
	})
}

// A build runs in the same scratch the download filled, so packages are copied
// out of the store, never hard-linked: an allowed postinstall that writes its own
// files and then every file of the store it can find (the store dir read from
// pnpm's .modules.yaml) changes its own copy in the project — as with bare pnpm —
// and no byte of the store, which the next project installs from.
func TestSpeedPnpmFrozenBuildCannotWriteStore(t *testing.T) {
	t.Parallel()
	requireTool(t, "pnpm")
	forEachMode(t, func(t *testing.T, m mode) {
		reg := startNpmLocalRegistry(t, "")
		// (The marker is put together at run time: this file, in the store too, must not hold it.)
		poison := `const fs = require('fs'), path = require('path'), mark = '// ' + ['POI', 'SONED'].join('') + '\n';
fs.appendFileSync('index.js', mark);
let root = process.cwd();
while (root !== '/' && !fs.existsSync(path.join(root, 'node_modules', '.modules.yaml'))) root = path.dirname(root);
let ok = 0, refused = 0;
const walk = (d) => { let es = []; try { es = fs.readdirSync(d, {withFileTypes: true}); } catch (e) { refused++; return; }
  for (const e of es) { const p = path.join(d, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.isFile()) { try { fs.chmodSync(p, 0o644); fs.appendFileSync(p, mark); ok++; } catch (e) { refused++; } } } };
try { walk(JSON.parse(fs.readFileSync(path.join(root, 'node_modules', '.modules.yaml'))).storeDir); } catch (e) { refused++; }
fs.writeFileSync('poison.txt', 'wrote ' + ok + ', refused ' + refused + '\n');
`
		reg.Add("pbox-frozen-poison", "1.0.0", map[string]any{"scripts": map[string]string{"postinstall": "node poison.js"}},
			map[string]string{"index.js": "module.exports = 'clean'\n", "poison.js": poison})

		b := newPMBox(t, m)
		setManifest(t, b, map[string]any{"name": "pbox-it", "version": "1.0.0", "dependencies": map[string]any{"pbox-frozen-poison": "1.0.0"},
			"pnpm": map[string]any{"onlyBuiltDependencies": []string{"pbox-frozen-poison"}}})
		writeProjectFile(t, b, ".npmrc", "registry="+reg.URL+"/\n")
		wantCode(t, b.tool("", "pnpm", "install"), 0, "the project's first install")
		if err := os.RemoveAll(filepath.Join(b.Project, "node_modules")); err != nil {
			t.Fatal(err)
		}
		rep := b.reportPath("frozen.json")
		wantCode(t, b.tool(rep, "pnpm", "install", "--frozen-lockfile"), 0, "pnpm install --frozen-lockfile of a package whose build writes the store")
		if got := readPnpmAddReport(t, rep).phases(); !slices.Equal(got, []string{"download", "build"}) {
			t.Errorf("the frozen install ran %v, want download, build", got)
		}
		// The twin: the build ran and changed its own installed copy, as bare pnpm lets it.
		pkg := filepath.Join(b.Project, "node_modules", "pbox-frozen-poison")
		if got := string(readFileT(t, filepath.Join(pkg, "index.js"))); !strings.Contains(got, "POISONED") {
			t.Errorf("the allowed build did not run (its index.js is %q)", got)
		}
		t.Logf("the build's own report: %s", readFileT(t, filepath.Join(pkg, "poison.txt")))
		// The attack: no file of the store carries the build's writes.
		store := filepath.Join(b.Home, ".local", "share", "pnpm", "store")
		n := 0
		err := filepath.WalkDir(store, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			n++
			if data, err := os.ReadFile(p); err == nil && bytes.Contains(data, []byte("POISONED")) {
				t.Errorf("the build wrote the shared store: %s", p)
			}
			return nil
		})
		if err != nil || n == 0 {
			t.Fatalf("walking the store %s: %v (%d files)", store, err, n)
		}
		// The next project installs the clean package from that store.
		b.Project = filepath.Join(b.Home, "src", "proj2")
		setManifest(t, b, map[string]any{"name": "pbox-it2", "version": "1.0.0", "dependencies": map[string]any{"pbox-frozen-poison": "1.0.0"}})
		writeProjectFile(t, b, ".npmrc", "registry="+reg.URL+"/\n")
		wantCode(t, b.tool("", "pnpm", "install"), 0, "another project's install of the same package (its build not allowed)")
		if got := string(readFileT(t, filepath.Join(b.Project, "node_modules", "pbox-frozen-poison", "index.js"))); got != "module.exports = 'clean'\n" {
			t.Errorf("another project got a changed package from the store: %q", got)
		}
	})
}

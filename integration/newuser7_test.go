package integration

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// A build pnpm 10 left out, allowed later (found trying phylum-box as a new user,
// session 7): `pnpm add esbuild` ignores esbuild's postinstall, the developer then
// allows it (onlyBuiltDependencies in pnpm-workspace.yaml, as `pnpm approve-builds`
// writes it, or in package.json's pnpm field) and runs `pnpm install`. Bare pnpm
// builds it then. The wrapped install took the committed-lockfile path, whose
// download with scripts off drops .modules.yaml's ignoredBuilds and leaves nothing
// pending, so `pnpm rebuild --pending` was skipped ("nothing to build") and the
// package stayed unbuilt (esbuild's bin a JS shim). Asserted: the build runs, once,
// offline; a package still not allowed stays unbuilt and recorded as left out; the
// next install builds nothing again.
func TestNewuser7PnpmBuildAllowedLater(t *testing.T) {
	t.Parallel()
	requireTool(t, "pnpm")
	forEachMode(t, func(t *testing.T, m mode) {
		reg := startNpmLocalRegistry(t, "")
		reg.Add("pbox-nu-late", "1.0.0", pnpmFrozenScript("built.txt"), map[string]string{"index.js": "module.exports = 1\n"})
		reg.Add("pbox-nu-still", "1.0.0", pnpmFrozenScript("built.txt"), map[string]string{"index.js": "module.exports = 2\n"})
		for _, where := range []string{"pnpm-workspace.yaml", "package.json"} {
			t.Run(where, func(t *testing.T) {
				b := newPMBox(t, m)
				deps := map[string]any{"pbox-nu-late": "1.0.0", "pbox-nu-still": "1.0.0"}
				setManifest(t, b, map[string]any{"name": "pbox-it", "version": "1.0.0", "dependencies": deps})
				writeProjectFile(t, b, ".npmrc", "registry="+reg.URL+"/\n")
				r := b.tool("", "pnpm", "install")
				wantCode(t, r, 0, "the first pnpm install, no build allowed")
				late := filepath.Join(b.Project, "node_modules", "pbox-nu-late", "built.txt")
				still := filepath.Join(b.Project, "node_modules", "pbox-nu-still", "built.txt")
				if pathExists(late) || pathExists(still) {
					t.Fatalf("a build the project does not allow ran in the first install")
				}
				wantStderr(t, r, "Ignored build scripts", "pbox-nu-late@1.0.0")

				// The developer allows pbox-nu-late's build.
				if where == "package.json" {
					setManifest(t, b, map[string]any{"name": "pbox-it", "version": "1.0.0", "dependencies": deps,
						"pnpm": map[string]any{"onlyBuiltDependencies": []string{"pbox-nu-late"}}})
				} else {
					writeProjectFile(t, b, "pnpm-workspace.yaml", "onlyBuiltDependencies:\n  - pbox-nu-late\n")
				}
				rep := b.reportPath("allowed.json")
				r = b.tool(rep, "pnpm", "install")
				wantCode(t, r, 0, "pnpm install after allowing the build")
				pr := readPnpmAddReport(t, rep)
				if !slices.Contains(pr.phases(), "build") {
					t.Errorf("the install after allowing a build ran %v: no build step", pr.phases())
				}
				for _, s := range pr.Steps {
					if s.Phase == "build" && s.Network {
						t.Errorf("the build step ran with network: %v", s.Args)
					}
				}
				if got := string(readFileT(t, late)); got != "built lo\n" {
					t.Errorf("pbox-nu-late's postinstall after it was allowed: want one run that saw only lo, got %q\n%s", got, r)
				}
				if pathExists(still) {
					t.Errorf("the build of pbox-nu-still, still not allowed, ran")
				}
				wantFile(t, filepath.Join(b.Project, "node_modules", "pbox-nu-still", "index.js"), "pbox-nu-still installed")

				// Nothing changed since: nothing runs again, the build stays one run.
				rep = b.reportPath("again.json")
				r = b.tool(rep, "pnpm", "install")
				wantCode(t, r, 0, "pnpm install again")
				// (a package.json with a pnpm field is never "up to date": the install
				// runs, its build names only what is still left out, and runs nothing)
				if got := readPnpmAddReport(t, rep).phases(); where == "pnpm-workspace.yaml" && slices.Contains(got, "build") {
					t.Errorf("the install after that ran %v, want no build step", got)
				}
				if mods := string(readFileT(t, filepath.Join(b.Project, "node_modules", ".modules.yaml"))); !strings.Contains(mods, "pbox-nu-still@1.0.0") {
					t.Errorf("pnpm's record no longer lists pbox-nu-still's build as left out (pnpm approve-builds reads it):\n%s", mods)
				}
				if got := string(readFileT(t, late)); got != "built lo\n" {
					t.Errorf("pbox-nu-late built again: %q", got)
				}
				if _, err := os.Stat(filepath.Join(b.Project, "pnpm-lock.yaml")); err != nil || strings.Contains(r.Stderr, "error:") {
					t.Errorf("pnpm install again: %v\n%s", err, r)
				}
			})
		}
	})
}

// yarn berry's `yarn install --immutable` (found trying phylum-box as a new user,
// session 7): the resolve step added --mode=update-lockfile, which yarn refuses
// with --immutable, --frozen-lockfile and --immutable-cache (a usage error, exit
// 1) where bare yarn installs. Asserted: a
// Plug'n'Play project whose .pnp.cjs is gone installs with no resolve step and
// yarn's .pnp.cjs back; a package.json the lockfile does not cover fails as bare
// yarn fails (YN0028, exit 1) with nothing synced, and the plain install of it (the
// twin) resolves and succeeds.
func TestNewuser7BerryImmutable(t *testing.T) {
	t.Parallel()
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		pnp := berryPnpSetup(t, b)
		if err := os.Remove(pnp); err != nil {
			t.Fatal(err)
		}
		rep := b.reportPath("immutable.json")
		r := b.tool(rep, "yarn", "install", "--immutable")
		wantCode(t, r, 0, "yarn install --immutable")
		if got := readSpeedReport(t, rep).phases(); slices.Contains(got, "resolve") || !slices.Contains(got, "download") {
			t.Errorf("yarn install --immutable ran %v, want no resolve step and the download", got)
		}
		if data, err := os.ReadFile(pnp); err != nil || !strings.Contains(string(data), `"is-odd"`) {
			t.Errorf("no .pnp.cjs with is-odd after yarn install --immutable: %v", err)
		}
		// --frozen-lockfile, yarn's deprecated spelling of --immutable, too.
		if err := os.Remove(pnp); err != nil {
			t.Fatal(err)
		}
		rep = b.reportPath("frozen.json")
		r = b.tool(rep, "yarn", "install", "--frozen-lockfile")
		wantCode(t, r, 0, "yarn install --frozen-lockfile")
		if got := readSpeedReport(t, rep).phases(); slices.Contains(got, "resolve") || !slices.Contains(got, "download") {
			t.Errorf("yarn install --frozen-lockfile ran %v, want no resolve step and the download", got)
		}
		if _, err := os.Stat(pnp); err != nil {
			t.Errorf("no .pnp.cjs after yarn install --frozen-lockfile: %v", err)
		}

		// A dependency yarn.lock lacks: --immutable fails, nothing reaches the project.
		data, err := os.ReadFile(filepath.Join(b.Project, "package.json"))
		if err != nil {
			t.Fatal(err)
		}
		grown := strings.Replace(string(data), `"is-odd": "3.0.1"`, `"is-odd": "3.0.1", "is-number": "6.0.0"`, 1)
		if grown == string(data) {
			t.Fatalf("package.json has no is-odd 3.0.1 to add beside:\n%s", data)
		}
		writeProjectFile(t, b, "package.json", grown)
		before := projectState(t, b.Project)
		r = b.tool("", "yarn", "install", "--immutable")
		wantCode(t, r, 1, "yarn install --immutable with a lockfile that lacks a dependency")
		if !strings.Contains(r.Stdout+r.Stderr, "YN0028") {
			t.Errorf("the immutable install did not fail with yarn's own YN0028:\n%s", r)
		}
		assertSameTree(t, before, projectState(t, b.Project), "a failed yarn install --immutable")
		r = b.tool("", "yarn", "install")
		wantCode(t, r, 0, "yarn install of the same project (the twin)")
		if lock, _ := os.ReadFile(filepath.Join(b.Project, "yarn.lock")); !strings.Contains(string(lock), "is-number@npm:6.0.0") {
			t.Errorf("the twin's yarn.lock lacks is-number 6.0.0")
		}
		// --immutable-cache alone, over a yarn.lock that lacks a new dependency: the
		// attempt over the committed lockfile (berryfirst.go) is thrown away, the
		// resolve step goes without the flag (yarn refuses it with
		// --mode=update-lockfile), the download keeps it.
		if err := os.Remove(pnp); err != nil {
			t.Fatal(err)
		}
		data, err = os.ReadFile(filepath.Join(b.Project, "package.json"))
		if err != nil {
			t.Fatal(err)
		}
		writeProjectFile(t, b, "package.json", strings.Replace(string(data), `"is-odd": "3.0.1"`, `"is-odd": "3.0.1", "ms": "2.1.3"`, 1))
		rep = b.reportPath("immutable-cache.json")
		r = b.tool(rep, "yarn", "install", "--immutable-cache")
		wantCode(t, r, 0, "yarn install --immutable-cache")
		if got := readSpeedReport(t, rep).phases(); !slices.Contains(got, "resolve") || !slices.Contains(got, "download") {
			t.Errorf("yarn install --immutable-cache ran %v, want the resolve step and the download", got)
		}
		if data, err := os.ReadFile(pnp); err != nil || !strings.Contains(string(data), `"is-number"`) || !strings.Contains(string(data), `"ms"`) {
			t.Errorf("no .pnp.cjs with is-number and ms after yarn install --immutable-cache: %v", err)
		}
		// The same over the lockfile it left: the attempt is the install, no resolve step.
		if err := os.Remove(pnp); err != nil {
			t.Fatal(err)
		}
		rep = b.reportPath("immutable-cache-again.json")
		r = b.tool(rep, "yarn", "install", "--immutable-cache")
		wantCode(t, r, 0, "yarn install --immutable-cache over a complete yarn.lock")
		if got := readSpeedReport(t, rep).phases(); slices.Contains(got, "resolve") || !slices.Contains(got, "download") {
			t.Errorf("yarn install --immutable-cache over a complete yarn.lock ran %v, want the download alone (no resolve step)", got)
		}
		if _, err := os.Stat(pnp); err != nil {
			t.Errorf("no .pnp.cjs after yarn install --immutable-cache over a complete yarn.lock: %v", err)
		}
	})
}

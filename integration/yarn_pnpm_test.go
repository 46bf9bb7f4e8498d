package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The npm flows of npm_test.go with yarn classic, yarn berry and pnpm: add from the
// registry, blocked by a MAL record, an attacking install script from a local
// tarball, and a node-gyp addon built offline.

// berryRelease is where hack/install-deps.d/node.sh puts yarn berry.
const berryRelease = "/usr/local/lib/yarn-berry/node_modules/@yarnpkg/cli-dist"

type pmFlavour struct {
	name string
	tool string
	// setup prepares a fresh project for the flavour (manifest fields, yarnPath).
	setup func(t testing.TB, b *pmBox)
	// addLocal is the argv that adds a local tarball (relative "./vendor/x.tgz").
	addLocal func(tgz string) []string
	lockfile string
	// nativeAdd adds the native addon tarball: berry needs node-gyp as a project
	// dependency (its own rule: a package built with node-gyp that does not depend
	// on it fails with "Couldn't find a script name node-gyp"); pnpm rebuild skips
	// a package whose only build is an implicit binding.gyp, so its copy declares
	// the install script.
	nativeAdd func(t testing.TB, b *pmBox) []string
	// installed returns the directory of an installed package, or "".
	installed func(b *pmBox, name string) string
}

func pmFlavours() []pmFlavour {
	nodeModules := func(b *pmBox, name string) string {
		d := filepath.Join(b.Project, "node_modules", name)
		if _, err := os.Stat(filepath.Join(d, "package.json")); err != nil {
			return ""
		}
		return d
	}
	return []pmFlavour{
		{
			name: "yarn-classic", tool: "yarn", lockfile: "yarn.lock",
			setup: func(t testing.TB, b *pmBox) {
				requireTool(t, "yarn")
				if out, err := exec.Command("yarn", "--version").Output(); err != nil || !strings.HasPrefix(string(out), "1.") {
					skipf(t, "the yarn in PATH is not yarn classic (1.x): %s %v", out, err)
				}
				setManifest(t, b, map[string]any{"name": "pbox-it", "version": "1.0.0", "license": "MIT"})
				// root's yarn 1 cache is /usr/local/share/.cache/yarn, shared by every
				// test; yarn 1 keys a local tarball by name and version, so another
				// test's tarball would be used. One cache per box.
				cache := filepath.Join(b.Home, ".cache", "yarn")
				mkdirOwned(t, b.Mode, cache, 0o755)
				chownTree(t, b.Mode, b.Home)
				b.Env = append(b.Env, "YARN_CACHE_FOLDER="+cache)
			},
			addLocal: func(tgz string) []string { return []string{"add", "file:" + tgz} },
			nativeAdd: func(t testing.TB, b *pmBox) []string {
				return []string{"add", "file:" + packFixture(t, b, "native-addon", nil)}
			},
			installed: nodeModules,
		},
		{
			name: "yarn-berry", tool: "yarn", lockfile: "yarn.lock",
			setup: func(t testing.TB, b *pmBox) {
				requireTool(t, "yarn")
				rel := filepath.Join(berryRelease, "bin", "yarn.js")
				data, err := os.ReadFile(rel)
				if err != nil {
					skipf(t, "yarn berry is not installed (%v); run hack/install-deps.d/node.sh as root", err)
				}
				var pkg struct{ Version string }
				if pj, err := os.ReadFile(filepath.Join(berryRelease, "package.json")); err == nil {
					_ = json.Unmarshal(pj, &pkg)
				}
				// A berry project commits its release and points yarnPath at it; in
				// the offline build step the global yarn 1 hands over to it. Yarn 4.18 runs no build script unless
				// enableScripts is on.
				writeFile(t, filepath.Join(b.Project, ".yarn", "releases", "yarn-berry.cjs"), string(data), 0o755)
				writeFile(t, filepath.Join(b.Project, ".yarnrc.yml"), "yarnPath: .yarn/releases/yarn-berry.cjs\nenableTelemetry: false\nenableScripts: true\n", 0o644)
				setManifest(t, b, map[string]any{"name": "pbox-it", "version": "1.0.0", "packageManager": "yarn@" + pkg.Version})
				// The resolve and download steps never run the project's release:
				// the caller names the berry they trust (the PATH's yarn is classic).
				b.Env = append(b.Env, "PHYLUM_BOX_YARN_BERRY="+rel)
			},
			addLocal: func(tgz string) []string {
				name := strings.TrimSuffix(filepath.Base(tgz), "-1.0.0.tgz")
				return []string{"add", name + "@file:" + tgz}
			},
			nativeAdd: func(t testing.TB, b *pmBox) []string {
				return []string{"add", "pbox-native-addon@file:" + packFixture(t, b, "native-addon", nil), "node-gyp@11"}
			},
			installed: func(b *pmBox, name string) string {
				// PnP: packages with build scripts are unplugged; the rest stay zipped
				// (then the lockfile and .pnp.cjs are the evidence).
				m, _ := filepath.Glob(filepath.Join(b.Project, ".yarn", "unplugged", name+"-*", "node_modules", name))
				if len(m) == 1 {
					return m[0]
				}
				if pnp, err := os.ReadFile(filepath.Join(b.Project, ".pnp.cjs")); err == nil && strings.Contains(string(pnp), `"`+name+`"`) {
					return filepath.Join(b.Project, ".pnp.cjs")
				}
				return ""
			},
		},
		{
			name: "pnpm", tool: "pnpm", lockfile: "pnpm-lock.yaml",
			setup: func(t testing.TB, b *pmBox) {
				requireTool(t, "pnpm")
				// pnpm 10 runs no dependency's build script unless allowed; a tarball
				// dependency (no semver version) is allowed by its full dep path only.
				setManifest(t, b, map[string]any{"name": "pbox-it", "version": "1.0.0",
					"pnpm": map[string]any{"onlyBuiltDependencies": []string{
						"pbox-evil-pkg@file:vendor/pbox-evil-pkg-1.0.0.tgz",
						"pbox-native-addon@file:vendor/pbox-native-addon-1.0.0.tgz",
					}}})
			},
			addLocal: func(tgz string) []string { return []string{"add", tgz} },
			nativeAdd: func(t testing.TB, b *pmBox) []string {
				return []string{"add", packFixture(t, b, "native-addon", nil, func(dir string) {
					pj := filepath.Join(dir, "package.json")
					data, err := os.ReadFile(pj)
					if err != nil {
						t.Fatal(err)
					}
					var m map[string]any
					if err := json.Unmarshal(data, &m); err != nil {
						t.Fatal(err)
					}
					m["scripts"] = map[string]string{"install": "node-gyp rebuild"}
					out, _ := json.Marshal(m)
					writeFile(t, pj, string(out), 0o644)
				})}
			},
			installed: nodeModules,
		},
	}
}

func setManifest(t testing.TB, b *pmBox, m map[string]any) {
	t.Helper()
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(b.Project, "package.json"), string(data)+"\n", 0o644)
	chownTree(t, b.Mode, b.Project)
}

func forEachFlavour(t *testing.T, f func(t *testing.T, m mode, fl pmFlavour, b *pmBox)) {
	t.Helper()
	for _, fl := range pmFlavours() {
		t.Run(fl.name, func(t *testing.T) {
			forEachMode(t, func(t *testing.T, m mode) {
				b := newPMBox(t, m)
				fl.setup(t, b)
				f(t, m, fl, b)
			})
		})
	}
}

func TestYarnPnpmAddThenBlockedAdd(t *testing.T) {
	t.Parallel()
	forEachFlavour(t, func(t *testing.T, m mode, fl pmFlavour, b *pmBox) {
		rep := b.reportPath("add.json")
		r := b.tool(rep, fl.tool, "add", "lodash")
		wantCode(t, r, 0, fl.name+" add lodash")
		if fl.installed(b, "lodash") == "" {
			t.Errorf("lodash is not installed\n%s", r)
		}
		lock, err := os.ReadFile(filepath.Join(b.Project, fl.lockfile))
		if err != nil || !strings.Contains(string(lock), "lodash") {
			t.Errorf("%s does not list lodash: %v", fl.lockfile, err)
		}
		if pr := readPMReport(t, rep); pr.Precheck == nil || pr.Precheck.Verdict != "pass" {
			t.Errorf("report: %+v", pr)
		}

		before := projectState(t, b.Project)
		rep = b.reportPath("blocked.json")
		r = b.tool(rep, fl.tool, "add", "is-number@7.0.0")
		wantCode(t, r, 3, fl.name+" add of a package with a MAL record")
		assertSameTree(t, before, projectState(t, b.Project), "a blocked add")
		wantStderr(t, r, "is-number", "MAL-0000-PBOXIT1")
		if pr := readPMReport(t, rep); pr.Precheck == nil || pr.Precheck.Verdict != "blocked" {
			t.Errorf("report: %+v", pr)
		}
	})
}

func TestYarnPnpmInstallScriptAttacks(t *testing.T) {
	t.Parallel()
	forEachFlavour(t, func(t *testing.T, m mode, fl pmFlavour, b *pmBox) {
		containmentOnly(t, m, b.Home) // the sandbox alone: a hostile fixture
		port, accepted := loopbackListener(t)
		tgz := evilTarball(t, b, port, false)
		homeBefore, gitBefore := pmHomeHash(b), treeHash(t, filepath.Join(b.Project, ".git"), true)
		rep := b.reportPath("evil.json")
		r := b.tool(rep, fl.tool, fl.addLocal(tgz)...)
		// The script's .git/hooks write is refused at the sync: exit 4.
		wantCode(t, r, 4, fl.name+": an install script that writes .git/hooks")
		checkEvilOutcomes(t, b, r.Stdout+r.Stderr, fl.installed(b, "pbox-evil-pkg"), homeBefore, gitBefore, accepted)
		pr := readPMReport(t, rep)
		if !strings.Contains(strings.Join(pr.Refused, "\n"), ".git/hooks/post-checkout") {
			t.Errorf("the report does not list the refused .git/hooks write: %v", pr.Refused)
		}
		if pr.Precheck == nil || len(pr.Precheck.Warnings) == 0 {
			t.Errorf("the local tarball is not reported uncheckable: %+v", pr.Precheck)
		}
	})
}

func TestYarnPnpmNativeAddonBuildsOffline(t *testing.T) {
	t.Parallel()
	requireTool(t, "g++")
	requireTool(t, "python3")
	requireNodeHeaders(t)
	forEachFlavour(t, func(t *testing.T, m mode, fl pmFlavour, b *pmBox) {
		r := b.tool("", fl.tool, fl.nativeAdd(t, b)...)
		wantCode(t, r, 0, fl.name+": adding a native addon")
		dir := fl.installed(b, "pbox-native-addon")
		if dir == "" || strings.HasSuffix(dir, ".pnp.cjs") {
			t.Fatalf("the addon's package dir is not on disk\n%s", r)
		}
		wantAddonLoads(t, b, dir)
	})
}

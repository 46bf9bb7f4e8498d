package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Nothing to do for pnpm and yarn classic (issue 12), asserted by what ran: a
// second `pnpm install` / `yarn` in a synced project prechecks the lockfile and
// runs no step; after a dependency is added to package.json the install runs
// every step; a checkout that is consistent but holds a blocked package is still
// blocked.

// noopFlavour is a node package manager whose nothing-to-do install is cheap.
type noopFlavour struct {
	name, tool string
	setup      func(t testing.TB, b *pmBox)
	install    []string // the bare install command's argv, after the tool
}

func noopFlavours() []noopFlavour {
	var yarnSetup func(t testing.TB, b *pmBox)
	for _, fl := range pmFlavours() {
		if fl.name == "yarn-classic" {
			yarnSetup = fl.setup
		}
	}
	return []noopFlavour{
		{name: "pnpm", tool: "pnpm", install: []string{"install"}, setup: func(t testing.TB, b *pmBox) {
			requireTool(t, "pnpm")
			setManifest(t, b, map[string]any{"name": "pbox-it", "version": "1.0.0"})
		}},
		{name: "yarn-classic", tool: "yarn", install: nil, setup: yarnSetup},
	}
}

func forEachNoopFlavour(t *testing.T, f func(t *testing.T, m mode, fl noopFlavour, b *pmBox)) {
	t.Helper()
	for _, fl := range noopFlavours() {
		t.Run(fl.name, func(t *testing.T) {
			forEachMode(t, func(t *testing.T, m mode) {
				b := newPMBox(t, m)
				fl.setup(t, b)
				f(t, m, fl, b)
			})
		})
	}
}

// addToManifest adds a dependency to the project's package.json.
func addToManifest(t testing.TB, b *pmBox, name, spec string) {
	t.Helper()
	m := readJSONFile(t, filepath.Join(b.Project, "package.json"))
	deps, _ := m["dependencies"].(map[string]any)
	if deps == nil {
		deps = map[string]any{}
	}
	deps[name] = spec
	m["dependencies"] = deps
	setManifest(t, b, m)
}

// The install after an install is up to date: no step, the lockfile prechecked,
// the tree as it was (times included). Its twin: with a dependency added to
// package.json, the same command runs every step and installs it; the next one
// is up to date again.
func TestNoopPnpmYarnNothingToDo(t *testing.T) {
	t.Parallel()
	forEachNoopFlavour(t, func(t *testing.T, m mode, fl noopFlavour, b *pmBox) {
		wantCode(t, b.tool("", fl.tool, "add", "is-odd@3.0.1"), 0, fl.name+" add is-odd")

		before := projectState(t, b.Project)
		rep := b.reportPath("noop.json")
		r := b.tool(rep, fl.tool, fl.install...)
		wantCode(t, r, 0, fl.name+" install with nothing to do")
		wantStderr(t, r, "up to date")
		if strings.Contains(r.Stderr, "resolving:") {
			t.Errorf("nothing to do resolved:\n%s", r.Stderr)
		}
		pr := readSpeedReport(t, rep)
		if pr.UpToDate == "" || len(pr.Steps) != 0 {
			t.Errorf("nothing to do ran steps %v (up_to_date %q)\n%s", pr.phases(), pr.UpToDate, r.Stderr)
		}
		if pr.Precheck == nil || pr.Precheck.Verdict != "pass" || len(pr.Precheck.Packages) < 2 {
			t.Errorf("nothing to do must still precheck the lockfile: %+v", pr.Precheck)
		}
		assertSameTree(t, before, projectState(t, b.Project), "an install with nothing to do")

		addToManifest(t, b, "ms", "2.1.3")
		rep = b.reportPath("added.json")
		r = b.tool(rep, fl.tool, fl.install...)
		wantCode(t, r, 0, fl.name+" install after adding ms to package.json")
		pr = readSpeedReport(t, rep)
		// (Yarn classic's install of a registry package yarn.lock lacks is one
		// networked run that installs, as an add: managers/yarnfetchinstall.go.)
		if pr.UpToDate != "" || !slices.Contains(pr.phases(), "resolve") || !slices.Contains(pr.phases(), "download") && fl.name != "yarn-classic" {
			t.Errorf("a changed package.json must get the full steps, ran %v (up_to_date %q)", pr.phases(), pr.UpToDate)
		}
		wantFile(t, filepath.Join(b.Project, "node_modules", "ms", "package.json"), "ms installed")

		rep = b.reportPath("noop2.json")
		wantCode(t, b.tool(rep, fl.tool, fl.install...), 0, fl.name+" install after that")
		if pr := readSpeedReport(t, rep); pr.UpToDate == "" || len(pr.Steps) != 0 {
			t.Errorf("after installing ms, the install ran %v (up_to_date %q)", pr.phases(), pr.UpToDate)
		}
		if fl.name != "pnpm" {
			return
		}
		// pnpm 10's build allowlist in package.json (where many projects keep it)
		// changes nothing installed: still nothing to do. An override there would:
		// every step.
		man := readJSONFile(t, filepath.Join(b.Project, "package.json"))
		man["pnpm"] = map[string]any{"onlyBuiltDependencies": []string{"esbuild"}}
		setManifest(t, b, man)
		rep = b.reportPath("noop3.json")
		wantCode(t, b.tool(rep, fl.tool, fl.install...), 0, "pnpm install with pnpm.onlyBuiltDependencies in package.json")
		if pr := readSpeedReport(t, rep); pr.UpToDate == "" || len(pr.Steps) != 0 {
			t.Errorf("pnpm.onlyBuiltDependencies in package.json: the install ran %v (up_to_date %q)", pr.phases(), pr.UpToDate)
		}
		man["pnpm"] = map[string]any{"onlyBuiltDependencies": []string{"esbuild"}, "overrides": map[string]string{"is-number": "6.0.0"}}
		setManifest(t, b, man)
		rep = b.reportPath("override.json")
		wantCode(t, b.tool(rep, fl.tool, fl.install...), 0, "pnpm install with an override in package.json")
		if pr := readSpeedReport(t, rep); pr.UpToDate != "" || len(pr.Steps) == 0 {
			t.Errorf("an override in package.json was taken for nothing to do: ran %v (up_to_date %q)", pr.phases(), pr.UpToDate)
		}
	})
}

// A checkout that is consistent — lockfile, package.json and node_modules made by
// the bare manager — but holds is-number@7.0.0 (a MAL record in the test
// database) is blocked, exit 3, with no step run and nothing changed: looking up
// to date skips the steps, never the precheck. The twin with is-number@6.0.0 is
// up to date and exits 0.
func TestNoopPnpmYarnStillPrechecked(t *testing.T) {
	t.Parallel()
	forEachNoopFlavour(t, func(t *testing.T, m mode, fl noopFlavour, b *pmBox) {
		for _, tc := range []struct {
			version string
			code    int
		}{{"6.0.0", 0}, {"7.0.0", 3}} {
			t.Run(tc.version, func(t *testing.T) {
				for _, f := range []string{"node_modules", "pnpm-lock.yaml", "yarn.lock"} {
					_ = os.RemoveAll(filepath.Join(b.Project, f))
				}
				m0 := readJSONFile(t, filepath.Join(b.Project, "package.json"))
				m0["dependencies"] = map[string]any{"is-number": tc.version}
				setManifest(t, b, m0)
				// The checkout as its author committed it: installed by the bare
				// manager, with the caller's home (pnpm records its store there).
				// (is-number has no install script.)
				c := exec.Command(fl.tool, fl.install...)
				c.Dir = b.Project
				c.Env = append(append(os.Environ(), "HOME="+b.Home, "npm_config_update_notifier=false"), b.Env...)
				if out, err := c.CombinedOutput(); err != nil {
					t.Fatalf("bare %s: %v\n%s", fl.tool, err, out)
				}
				chownTree(t, m, b.Home)
				before := projectState(t, b.Project)
				rep := b.reportPath("report-" + tc.version + ".json")
				r := b.tool(rep, fl.tool, fl.install...)
				wantCode(t, r, tc.code, fl.name+" install in a project that is up to date")
				pr := readSpeedReport(t, rep)
				if len(pr.Steps) != 0 {
					t.Errorf("ran steps %v", pr.phases())
				}
				assertSameTree(t, before, projectState(t, b.Project), "an up-to-date project")
				if tc.code == 0 {
					if pr.UpToDate == "" {
						t.Errorf("not up to date: %s", r.Stderr)
					}
					return
				}
				wantStderr(t, r, "is-number", "MAL-0000-PBOXIT1")
				if pr.Precheck == nil || pr.Precheck.Verdict != "blocked" || pr.UpToDate != "" {
					t.Errorf("is-number@7.0.0 is not reported blocked: %+v", pr)
				}
			})
		}
	})
}

package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Nothing to do for yarn berry with the node-modules linker (issue 12), asserted
// by what ran: a second `yarn install` in a synced project prechecks yarn.lock
// and runs no step; a project whose record only pretends to be up to date (a
// changed yarn.lock, a deleted package directory, a new dependency in
// package.json, a state file that is a link out of the project) gets every step
// and ends installed; a consistent checkout holding a blocked package is still
// blocked.

// berryNoopSetup prepares a berry project (yarn_pnpm_test.go's yarn-berry
// flavour) with the node-modules linker.
func berryNoopSetup(t testing.TB, b *pmBox) {
	t.Helper()
	for _, fl := range pmFlavours() {
		if fl.name == "yarn-berry" {
			fl.setup(t, b)
		}
	}
	rc := filepath.Join(b.Project, ".yarnrc.yml")
	data, err := os.ReadFile(rc)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, rc, string(data)+"nodeLinker: node-modules\n", 0o644)
	chownTree(t, b.Mode, b.Project)
}

// berryNoop runs `yarn install` and asserts it was up to date: no step, yarn.lock
// prechecked, the tree as it was (times included).
func berryNoop(t *testing.T, b *pmBox, name string) {
	t.Helper()
	before := projectState(t, b.Project)
	rep := b.reportPath(name + ".json")
	r := b.tool(rep, "yarn", "install")
	wantCode(t, r, 0, "yarn install with nothing to do ("+name+")")
	wantStderr(t, r, "up to date")
	pr := readSpeedReport(t, rep)
	if pr.UpToDate == "" || len(pr.Steps) != 0 {
		t.Errorf("%s: nothing to do ran steps %v (up_to_date %q)\n%s", name, pr.phases(), pr.UpToDate, r.Stderr)
	}
	if pr.Precheck == nil || pr.Precheck.Verdict != "pass" || len(pr.Precheck.Packages) < 2 {
		t.Errorf("%s: nothing to do must still precheck yarn.lock: %+v", name, pr.Precheck)
	}
	assertSameTree(t, before, projectState(t, b.Project), "a berry install with nothing to do ("+name+")")
}

// berryFull runs `yarn install` and asserts it was not taken for up to date: it
// installed (a download step ran) and succeeded. resolve says whether yarn.lock
// needed changing: then the attempt over the committed lockfile (berryfirst.go)
// was thrown away and every step ran, resolve included; else that attempt was the
// install, with no resolve step.
func berryFull(t *testing.T, b *pmBox, name string, resolve bool) {
	t.Helper()
	rep := b.reportPath(name + ".json")
	r := b.tool(rep, "yarn", "install")
	wantCode(t, r, 0, "yarn install ("+name+")")
	pr := readSpeedReport(t, rep)
	if pr.UpToDate != "" || !slices.Contains(pr.phases(), "download") || slices.Contains(pr.phases(), "resolve") != resolve {
		t.Errorf("%s must install (resolve step: %v), ran %v (up_to_date %q)\n%s", name, resolve, pr.phases(), pr.UpToDate, r.Stderr)
	}
	if thrown := strings.Contains(r.Stderr, "thrown away, running every step"); thrown != resolve {
		t.Errorf("%s: the attempt over the committed yarn.lock thrown away: %v, want %v\n%s", name, thrown, resolve, r.Stderr)
	}
	if strings.Contains(r.Stdout+r.Stderr, "lockfile would have been modified") {
		t.Errorf("%s: the thrown-away attempt's output was shown:\n%s\n%s", name, r.Stdout, r.Stderr)
	}
}

// The install after an install is up to date; each way of only looking up to date
// gets the full steps, ends installed, and the install after it is up to date
// again.
func TestNoopBerryNothingToDo(t *testing.T) {
	t.Parallel()
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		berryNoopSetup(t, b)
		wantCode(t, b.tool("", "yarn", "add", "is-odd@3.0.1"), 0, "yarn add is-odd")
		wantFile(t, filepath.Join(b.Project, "node_modules", ".yarn-state.yml"), "the node-modules linker's state")
		berryNoop(t, b, "noop")

		// yarn.lock changed (an entry gone, as a merge may leave it).
		lock := filepath.Join(b.Project, "yarn.lock")
		data, err := os.ReadFile(lock)
		if err != nil {
			t.Fatal(err)
		}
		var kept []string
		skip := false
		for _, l := range strings.SplitAfter(string(data), "\n") {
			if strings.HasPrefix(l, `"is-number@`) {
				skip = true
			} else if l != "\n" && !strings.HasPrefix(l, " ") {
				skip = false
			}
			if !skip {
				kept = append(kept, l)
			}
		}
		if len(kept) == len(strings.SplitAfter(string(data), "\n")) {
			t.Fatalf("yarn.lock has no is-number entry:\n%s", data)
		}
		writeFile(t, lock, strings.Join(kept, ""), 0o644)
		chownTree(t, m, b.Project)
		berryFull(t, b, "lock-changed", true)
		if got, _ := os.ReadFile(lock); !strings.Contains(string(got), `"is-number@npm:^6.0.0"`) {
			t.Errorf("the install did not put is-number back in yarn.lock:\n%s", got)
		}
		berryNoop(t, b, "noop-after-lock")

		// A package directory deleted.
		if err := os.RemoveAll(filepath.Join(b.Project, "node_modules", "is-number")); err != nil {
			t.Fatal(err)
		}
		berryFull(t, b, "dir-deleted", false)
		wantFile(t, filepath.Join(b.Project, "node_modules", "is-number", "package.json"), "is-number reinstalled")
		berryNoop(t, b, "noop-after-dir")

		// package.json gained a dependency.
		addToManifest(t, b, "ms", "2.1.3")
		chownTree(t, m, b.Project)
		berryFull(t, b, "manifest-changed", true)
		wantFile(t, filepath.Join(b.Project, "node_modules", "ms", "package.json"), "ms installed")
		berryNoop(t, b, "noop-after-manifest")

		// The state file is a link to a copy outside the project: never read.
		state := filepath.Join(b.Project, "node_modules", ".yarn-state.yml")
		outside := filepath.Join(b.Home, "yarn-state.yml")
		data, err = os.ReadFile(state)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, outside, string(data), 0o644)
		if err := os.Remove(state); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(outside, state); err != nil {
			t.Fatal(err)
		}
		chownTree(t, m, b.Home)
		berryFull(t, b, "state-linked", false)
		if got, err := os.ReadFile(outside); err != nil || string(got) != string(data) {
			t.Errorf("the file outside the project changed: %v\n%s", err, got)
		}
		if st, err := os.Lstat(state); err != nil || !st.Mode().IsRegular() {
			t.Errorf("after the install, the state file is not yarn's own: %v %v", st, err)
		}
		berryNoop(t, b, "noop-after-link")
	})
}

// A checkout that is consistent — yarn.lock, package.json and node_modules made
// by bare yarn berry — but holds is-number@7.0.0 (a MAL record in the test
// database) is blocked, exit 3, with no step run and nothing changed. The twin
// with is-number@6.0.0 is up to date and exits 0.
func TestNoopBerryStillPrechecked(t *testing.T) {
	t.Parallel()
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		berryNoopSetup(t, b)
		for _, tc := range []struct {
			version string
			code    int
		}{{"6.0.0", 0}, {"7.0.0", 3}} {
			t.Run(tc.version, func(t *testing.T) {
				for _, f := range []string{"node_modules", "yarn.lock", ".yarn/install-state.gz"} {
					_ = os.RemoveAll(filepath.Join(b.Project, f))
				}
				m0 := readJSONFile(t, filepath.Join(b.Project, "package.json"))
				m0["dependencies"] = map[string]any{"is-number": tc.version}
				setManifest(t, b, m0)
				writeFile(t, filepath.Join(b.Project, "yarn.lock"), "", 0o644)
				// The checkout as its author committed it: installed by bare berry.
				c := exec.Command("node", filepath.Join(berryRelease, "bin", "yarn.js"), "install", "--no-immutable")
				c.Dir = b.Project
				c.Env = append(append(os.Environ(), "HOME="+b.Home), b.Env...)
				if out, err := c.CombinedOutput(); err != nil {
					t.Fatalf("bare yarn berry: %v\n%s", err, out)
				}
				chownTree(t, m, b.Home)
				before := projectState(t, b.Project)
				rep := b.reportPath("report-" + tc.version + ".json")
				r := b.tool(rep, "yarn", "install")
				wantCode(t, r, tc.code, "yarn install in a project that is up to date")
				pr := readSpeedReport(t, rep)
				if len(pr.Steps) != 0 {
					t.Errorf("ran steps %v", pr.phases())
				}
				assertSameTree(t, before, projectState(t, b.Project), "an up-to-date berry project")
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

// Plug'n'Play, berry's default linker: .pnp.cjs is code node runs, so the check
// rebuilds it from yarn.lock and compares it byte for byte (managers/berrypnp.go).

// berryPnpSetup prepares a berry project (the yarn-berry flavour: Plug'n'Play,
// its release committed, scripts on) with is-odd installed by phylum-box.
func berryPnpSetup(t *testing.T, b *pmBox) string {
	t.Helper()
	for _, fl := range pmFlavours() {
		if fl.name == "yarn-berry" {
			fl.setup(t, b)
		}
	}
	chownTree(t, b.Mode, b.Project)
	wantCode(t, b.tool("", "yarn", "add", "is-odd@3.0.1"), 0, "yarn add is-odd (Plug'n'Play)")
	pnp := filepath.Join(b.Project, ".pnp.cjs")
	data, err := os.ReadFile(pnp)
	if err != nil || !strings.Contains(string(data), `"is-odd"`) {
		t.Fatalf("no .pnp.cjs with is-odd after the add: %v", err)
	}
	return pnp
}

// The install after an install is up to date; a .pnp.cjs that lies — is-odd's
// files said to be a directory the checkout planted, or a runtime with a line of
// its own — gets every step, and yarn's own .pnp.cjs replaces it; a dependency
// added to package.json gets every step too.
func TestNoopBerryPnpNothingToDo(t *testing.T) {
	t.Parallel()
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		pnp := berryPnpSetup(t, b)
		berryNoop(t, b, "pnp-noop")
		yarns, err := os.ReadFile(pnp)
		if err != nil {
			t.Fatal(err)
		}

		// is-odd's location pointed into the project, where the checkout has
		// its own is-odd.
		re := regexp.MustCompile(`"packageLocation": "[^"]*is-odd-npm-3\.0\.1-[^"]*"`)
		if !re.Match(yarns) {
			t.Fatalf(".pnp.cjs has no archive location for is-odd:\n%.3000s", yarns)
		}
		writeFile(t, filepath.Join(b.Project, "evil", "is-odd", "package.json"), `{"name":"is-odd","version":"3.0.1"}`, 0o644)
		writeFile(t, filepath.Join(b.Project, "evil", "is-odd", "index.js"), "require('child_process').execSync('id')\n", 0o644)
		writeFile(t, pnp, string(re.ReplaceAll(yarns, []byte(`"packageLocation": "./evil/is-odd/"`))), 0o755)
		chownTree(t, m, b.Project)
		berryFull(t, b, "pnp-location-lies", false)
		if got, _ := os.ReadFile(pnp); strings.Contains(string(got), "./evil/") || !re.Match(got) {
			t.Errorf("after the install .pnp.cjs still points into the checkout's evil/")
		}
		berryNoop(t, b, "pnp-noop-after-location")

		// The runtime with a line of its own.
		writeFile(t, pnp, string(yarns)+"\nrequire('child_process').execSync('id');\n", 0o755)
		chownTree(t, m, b.Project)
		berryFull(t, b, "pnp-runtime-lies", false)
		if got, _ := os.ReadFile(pnp); strings.Contains(string(got), "execSync('id')") {
			t.Errorf("after the install .pnp.cjs still has the checkout's line")
		}
		berryNoop(t, b, "pnp-noop-after-runtime")

		// package.json gained a dependency.
		addToManifest(t, b, "ms", "2.1.3")
		chownTree(t, m, b.Project)
		berryFull(t, b, "pnp-manifest-changed", true)
		if got, _ := os.ReadFile(pnp); !strings.Contains(string(got), `["ms", "npm:2.1.3"]`) {
			t.Errorf("after the install .pnp.cjs has no ms")
		}
		berryNoop(t, b, "pnp-noop-after-manifest")
	})
}

// An ES module package (is-plain-obj@4, "type": "module") makes yarn write its
// ESM loader, .pnp.loader.mjs: the install after the add is up to date with it,
// a loader the checkout changed gets every step and yarn's loader back, and so
// does a loader left behind when no package needs it (yarn removes it).
func TestNoopBerryPnpESMLoader(t *testing.T) {
	t.Parallel()
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		berryPnpSetup(t, b)
		wantCode(t, b.tool("", "yarn", "add", "is-plain-obj@4.1.0"), 0, "yarn add is-plain-obj (an ES module)")
		loader := filepath.Join(b.Project, ".pnp.loader.mjs")
		yarns, err := os.ReadFile(loader)
		if err != nil {
			t.Fatalf("no ESM loader after adding an ES module: %v", err)
		}
		berryNoop(t, b, "esm-noop")

		writeFile(t, loader, string(yarns)+"\nimport('node:child_process').then(c => c.execSync('id'));\n", 0o644)
		chownTree(t, m, b.Project)
		berryFull(t, b, "esm-loader-lies", false)
		if got, _ := os.ReadFile(loader); string(got) != string(yarns) {
			t.Errorf("after the install .pnp.loader.mjs is not yarn's")
		}
		berryNoop(t, b, "esm-noop-after-loader")

		// No ES module left: the loader must go.
		wantCode(t, b.tool("", "yarn", "remove", "is-plain-obj"), 0, "yarn remove is-plain-obj")
		if _, err := os.Stat(loader); err == nil {
			t.Fatalf("yarn left .pnp.loader.mjs after the last ES module went")
		}
		berryNoop(t, b, "esm-noop-after-remove")
		writeFile(t, loader, string(yarns), 0o644)
		chownTree(t, m, b.Project)
		berryFull(t, b, "esm-loader-left", false)
		if _, err := os.Stat(loader); err == nil {
			t.Errorf("after the install the stale .pnp.loader.mjs is still there")
		}
	})
}

// A Plug'n'Play checkout installed by bare yarn berry holding is-number@7.0.0 (a
// MAL record in the test database) is blocked, exit 3, no step run, nothing
// changed; the twin with is-number@6.0.0 is up to date.
func TestNoopBerryPnpStillPrechecked(t *testing.T) {
	t.Parallel()
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		for _, fl := range pmFlavours() {
			if fl.name == "yarn-berry" {
				fl.setup(t, b)
			}
		}
		for _, tc := range []struct {
			version string
			code    int
		}{{"6.0.0", 0}, {"7.0.0", 3}} {
			t.Run(tc.version, func(t *testing.T) {
				for _, f := range []string{".pnp.cjs", "yarn.lock", ".yarn/install-state.gz"} {
					_ = os.RemoveAll(filepath.Join(b.Project, f))
				}
				m0 := readJSONFile(t, filepath.Join(b.Project, "package.json"))
				m0["dependencies"] = map[string]any{"is-number": tc.version}
				setManifest(t, b, m0)
				writeFile(t, filepath.Join(b.Project, "yarn.lock"), "", 0o644)
				c := exec.Command("node", filepath.Join(berryRelease, "bin", "yarn.js"), "install", "--no-immutable")
				c.Dir = b.Project
				c.Env = append(append(os.Environ(), "HOME="+b.Home), b.Env...)
				if out, err := c.CombinedOutput(); err != nil {
					t.Fatalf("bare yarn berry: %v\n%s", err, out)
				}
				chownTree(t, m, b.Home)
				before := projectState(t, b.Project)
				rep := b.reportPath("pnp-report-" + tc.version + ".json")
				r := b.tool(rep, "yarn", "install")
				wantCode(t, r, tc.code, "yarn install in a Plug'n'Play project that is up to date")
				pr := readSpeedReport(t, rep)
				if len(pr.Steps) != 0 {
					t.Errorf("ran steps %v", pr.phases())
				}
				assertSameTree(t, before, projectState(t, b.Project), "an up-to-date Plug'n'Play project")
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

package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// `pnpm add PKG` of registry packages resolves and fetches in one pnpm run (issue
// 12, managers/pnpmfetch.go): the resolve step is `pnpm add … --config.ignore-
// scripts=true` itself and there is no download step. Asserted in that path: what
// it installed is in the prechecked lockfile and synced; `pnpm update` and
// `pnpm remove` take the same path; a package with a MAL record it fetched is blocked before anything is
// synced (the project byte-identical, exit 3, no build); a package with an install
// script is built afterwards, once, with no network, and pnpm's notice of a build
// it did not allow still shows. The twin: a file: tarball keeps resolve
// --lockfile-only, then the download, then the build — and so do adding and
// removing a registry package next to it.

// pnpmAddReport is the part of --report these tests read.
type pnpmAddReport struct {
	Code  int `json:"exit_code"`
	Steps []struct {
		Phase   string   `json:"phase"`
		Args    []string `json:"args"`
		Network bool     `json:"network"`
	} `json:"steps"`
	Precheck *struct {
		Packages []struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		} `json:"packages"`
	} `json:"precheck"`
}

func (r *pnpmAddReport) phases() []string {
	var out []string
	for _, s := range r.Steps {
		out = append(out, s.Phase)
	}
	return out
}

// resolveArgs is the resolve step's argv, joined.
func (r *pnpmAddReport) resolveArgs() string {
	for _, s := range r.Steps {
		if s.Phase == "resolve" {
			return strings.Join(s.Args, " ")
		}
	}
	return ""
}

// oneNetworkedRun: the resolve step alone had the network, and it was pnpm CMD
// itself with scripts off, not --lockfile-only; no download step.
func (r *pnpmAddReport) oneNetworkedRun(t testing.TB, cmd, what string) {
	t.Helper()
	a := r.resolveArgs()
	// (An add's step is pnpm's command line in a wrapper that then puts pnpm's
	// ignored-builds record back: managers/pnpmfetch.go.)
	if slices.Contains(r.phases(), "download") || !strings.HasPrefix(a, "pnpm "+cmd+" ") && !strings.Contains(a, " pnpm "+cmd+" ") || strings.Contains(a, "--lockfile-only") || !strings.Contains(a, "--config.ignore-scripts=true") {
		t.Errorf("%s ran %v (resolve %q): want one pnpm %s with scripts off, no download step", what, r.phases(), a, cmd)
	}
	for _, s := range r.Steps {
		if s.Network != (s.Phase == "resolve") {
			t.Errorf("%s: the %s step ran with network=%v", what, s.Phase, s.Network)
		}
	}
}

func readPnpmAddReport(t testing.TB, path string) *pnpmAddReport {
	t.Helper()
	var r pnpmAddReport
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("--report: %v", err)
	}
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("--report is not JSON: %v\n%s", err, data)
	}
	return &r
}

// readFileT reads path, failing the test when it cannot.
func readFileT(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("reading %s: %v", path, err)
	}
	return data
}

func TestSpeedPnpmAddOneFetchesInResolve(t *testing.T) {
	t.Parallel()
	requireTool(t, "pnpm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		// The first add of a project has no record of the pnpm that installed it
		// (node_modules/.modules.yaml): the two steps (managers/pnpmfetch.go).
		rep := b.reportPath("first.json")
		wantCode(t, b.tool(rep, "pnpm", "add", "ms@2.1.3"), 0, "pnpm add ms, the project's first")
		if got := readPnpmAddReport(t, rep).phases(); !slices.Contains(got, "download") {
			t.Errorf("the project's first add ran %v, want the two steps", got)
		}

		rep = b.reportPath("add.json")
		r := b.tool(rep, "pnpm", "add", "is-odd@3.0.1")
		wantCode(t, r, 0, "pnpm add is-odd")
		pr := readPnpmAddReport(t, rep)
		pr.oneNetworkedRun(t, "add", "adding a registry package")
		wantFile(t, filepath.Join(b.Project, "node_modules", "is-odd", "package.json"), "is-odd installed")
		wantFile(t, filepath.Join(b.Project, "node_modules", ".pnpm", "is-number@6.0.0", "node_modules", "is-number", "package.json"), "is-odd's dependency installed")
		if lock, err := os.ReadFile(filepath.Join(b.Project, "pnpm-lock.yaml")); err != nil || !strings.Contains(string(lock), "is-odd@3.0.1:") {
			t.Errorf("pnpm-lock.yaml does not list is-odd@3.0.1 (%v)", err)
		}
		if !strings.Contains(r.Stdout, "is-odd 3.0.1") {
			t.Errorf("pnpm's report of what it added was not printed once checked:\n%s", r.Stdout)
		}
		checked := map[string]bool{}
		for _, p := range pr.Precheck.Packages {
			checked[p.Name+"@"+p.Version] = true
		}
		if !checked["is-odd@3.0.1"] || !checked["is-number@6.0.0"] {
			t.Errorf("the precheck did not see what the resolve step installed: %v", checked)
		}

		// update takes the same path.
		rep = b.reportPath("update.json")
		wantCode(t, b.tool(rep, "pnpm", "update", "is-odd"), 0, "pnpm update is-odd")
		readPnpmAddReport(t, rep).oneNetworkedRun(t, "update", "updating a registry package")
		wantFile(t, filepath.Join(b.Project, "node_modules", "is-odd", "package.json"), "is-odd still installed after pnpm update")

		// The attack in the same path: a package with a MAL record, fetched by the
		// resolve step, is blocked, nothing is built and nothing reaches the project.
		before := projectState(t, b.Project)
		rep = b.reportPath("blocked.json")
		r = b.tool(rep, "pnpm", "add", "is-number@7.0.0")
		wantCode(t, r, 3, "adding a package with a MAL record")
		wantStderr(t, r, "is-number", "MAL-0000-PBOXIT1")
		assertSameTree(t, before, projectState(t, b.Project), "a blocked pnpm add that fetched in its resolve step")
		pr = readPnpmAddReport(t, rep)
		if got := pr.phases(); !slices.Equal(got, []string{"resolve"}) {
			t.Errorf("the blocked add ran %v, want the fetching resolve step alone", got)
		}
		pr.oneNetworkedRun(t, "add", "the blocked add")
		if strings.Contains(r.Stdout, "+ is-number") {
			t.Errorf("pnpm's report of an add that was blocked was printed:\n%s", r.Stdout)
		}

		// remove takes the same path (pnpm remove refuses --ignore-scripts as an option).
		rep = b.reportPath("remove.json")
		wantCode(t, b.tool(rep, "pnpm", "remove", "is-odd"), 0, "pnpm remove is-odd")
		readPnpmAddReport(t, rep).oneNetworkedRun(t, "remove", "removing a registry package")
		if pathExists(filepath.Join(b.Project, "node_modules", "is-odd")) {
			t.Errorf("node_modules/is-odd is still there after pnpm remove")
		}
		if strings.Contains(string(readFileT(t, filepath.Join(b.Project, "package.json"))), "is-odd") {
			t.Errorf("package.json still names is-odd after pnpm remove")
		}

		// The twin: a file: tarball keeps the two networked steps and builds what it added.
		a := packSpeedFixture(t, b, "built-a")
		rep = b.reportPath("file.json")
		wantCode(t, b.tool(rep, "pnpm", "add", a), 0, "pnpm add of a file: tarball")
		pr = readPnpmAddReport(t, rep)
		if got := pr.phases(); !slices.Contains(got, "download") || !strings.Contains(pr.resolveArgs(), "--lockfile-only") {
			t.Errorf("a file: tarball must resolve --lockfile-only, then download: ran %v (%q)", got, pr.resolveArgs())
		}
		rep = b.reportPath("twin.json")
		wantCode(t, b.tool(rep, "pnpm", "add", "is-even@1.0.0"), 0, "pnpm add is-even next to a file: dependency")
		pr = readPnpmAddReport(t, rep)
		if got := pr.phases(); !slices.Contains(got, "download") || !strings.Contains(pr.resolveArgs(), "--lockfile-only") {
			t.Errorf("a project with a file: dependency must resolve --lockfile-only, then download: ran %v (%q)", got, pr.resolveArgs())
		}
		wantFile(t, filepath.Join(b.Project, "node_modules", "is-even", "package.json"), "is-even installed")
		// remove in the two steps works too (its resolve took --ignore-pnpmfile,
		// which pnpm remove refuses as an option).
		rep = b.reportPath("twin-remove.json")
		wantCode(t, b.tool(rep, "pnpm", "remove", "is-even"), 0, "pnpm remove is-even next to a file: dependency")
		if got := readPnpmAddReport(t, rep).phases(); !slices.Contains(got, "download") {
			t.Errorf("pnpm remove next to a file: dependency ran %v, want the two steps", got)
		}
		if pathExists(filepath.Join(b.Project, "node_modules", "is-even")) {
			t.Errorf("node_modules/is-even is still there after pnpm remove")
		}
	})
}

// A project that lets a dependency build takes the one run too (after its first
// add, which has no record of the pnpm that installed it): the build step is
// `pnpm rebuild` of exactly the packages the add wrote with install scripts, and
// pnpm runs only those the project allows: an allowed postinstall runs exactly
// once, offline (it sees only the loopback interface), a package the project does
// not allow is not built, pnpm's notice says so, and `pnpm ignored-builds` (what
// approve-builds offers) lists it. A project that allows no build (pnpm 10's
// default) takes the one run: a package with a script is installed, not built,
// and recorded as pnpm records it; adding a package without scripts after it
// builds nothing and keeps that record (the notice still names the package,
// approve-builds would still offer it).
func TestSpeedPnpmAddOneBuildsOffline(t *testing.T) {
	t.Parallel()
	requireTool(t, "pnpm")
	forEachMode(t, func(t *testing.T, m mode) {
		reg := startNpmLocalRegistry(t, "")
		script := func(file string) map[string]any {
			return map[string]any{"scripts": map[string]string{"postinstall": `node -e "require('fs').appendFileSync('` + file +
				`', 'built ' + Object.keys(require('os').networkInterfaces()).sort().join(',') + '\n')"`}}
		}
		reg.Add("pbox-pnpm-built", "1.0.0", script("built.txt"), map[string]string{"index.js": "module.exports = 1\n"})
		reg.Add("pbox-pnpm-ignored", "1.0.0", script("ignored.txt"), map[string]string{"index.js": "module.exports = 2\n"})
		reg.Add("pbox-pnpm-plain", "1.0.0", nil, map[string]string{"index.js": "module.exports = 3\n"})

		// An allowlist: after the first add, the one run, then a build of what it added.
		b := newPMBox(t, m)
		setManifest(t, b, map[string]any{"name": "pbox-it", "version": "1.0.0", "pnpm": map[string]any{"onlyBuiltDependencies": []string{"pbox-pnpm-built"}}})
		writeProjectFile(t, b, ".npmrc", "registry="+reg.URL+"/\n")
		wantCode(t, b.tool("", "pnpm", "add", "pbox-pnpm-plain@1.0.0"), 0, "the project's first add")
		rep := b.reportPath("add.json")
		r := b.tool(rep, "pnpm", "add", "pbox-pnpm-built@1.0.0", "pbox-pnpm-ignored@1.0.0")
		wantCode(t, r, 0, "pnpm add of two packages with install scripts")
		pr := readPnpmAddReport(t, rep)
		pr.oneNetworkedRun(t, "add", "an add in a project that allows a build")
		if got := pr.phases(); !slices.Equal(got, []string{"resolve", "build"}) {
			t.Errorf("an add in a project that allows a build ran %v, want resolve, build", got)
		}
		for _, s := range pr.Steps {
			if a := strings.Join(s.Args, " "); s.Phase == "build" && (!strings.Contains(a, " pnpm rebuild ") || !strings.HasSuffix(a, " pbox-pnpm-built pbox-pnpm-ignored")) {
				t.Errorf("the build step ran %q, want pnpm rebuild of the two packages the add wrote with scripts", a)
			}
		}
		built := filepath.Join(b.Project, "node_modules", "pbox-pnpm-built", "built.txt")
		if got := string(readFileT(t, built)); got != "built lo\n" {
			t.Errorf("pbox-pnpm-built's postinstall: want one run that saw only lo, got %q", got)
		}
		if pathExists(filepath.Join(b.Project, "node_modules", "pbox-pnpm-ignored", "ignored.txt")) {
			t.Errorf("the script of a package the project does not allow to build ran")
		}
		wantStderr(t, r, "Ignored build scripts", "pbox-pnpm-ignored@1.0.0")
		wantFile(t, filepath.Join(b.Project, "node_modules", "pbox-pnpm-ignored", "index.js"), "pbox-pnpm-ignored installed")
		// What approve-builds offers: pnpm's own list of the builds it ignored.
		r = b.tool("", "pnpm", "ignored-builds")
		wantCode(t, r, 0, "pnpm ignored-builds")
		if !strings.Contains(r.Stdout, "pbox-pnpm-ignored") || strings.Contains(r.Stdout, "pbox-pnpm-built") {
			t.Errorf("pnpm ignored-builds should list pbox-pnpm-ignored alone:\n%s", r.Stdout)
		}

		// No allowlist (pnpm 10 builds nothing): after the first add, the one run.
		b = newPMBox(t, m)
		writeProjectFile(t, b, ".npmrc", "registry="+reg.URL+"/\n")
		wantCode(t, b.tool("", "pnpm", "add", "pbox-pnpm-plain@1.0.0"), 0, "the project's first add")
		rep = b.reportPath("ignored.json")
		r = b.tool(rep, "pnpm", "add", "pbox-pnpm-ignored@1.0.0")
		wantCode(t, r, 0, "pnpm add of a package whose build pnpm ignores")
		pr = readPnpmAddReport(t, rep)
		pr.oneNetworkedRun(t, "add", "adding a package with a script, no build allowed")
		if pathExists(filepath.Join(b.Project, "node_modules", "pbox-pnpm-ignored", "ignored.txt")) {
			t.Errorf("the script of a package the project does not allow to build ran")
		}
		wantStderr(t, r, "Ignored build scripts", "pbox-pnpm-ignored@1.0.0")
		reg.Add("pbox-pnpm-plain2", "1.0.0", nil, map[string]string{"index.js": "module.exports = 4\n"})
		rep = b.reportPath("plain.json")
		r = b.tool(rep, "pnpm", "add", "pbox-pnpm-plain2@1.0.0")
		wantCode(t, r, 0, "pnpm add of a package without install scripts")
		pr = readPnpmAddReport(t, rep)
		pr.oneNetworkedRun(t, "add", "adding a registry package without scripts")
		if got := pr.phases(); !slices.Equal(got, []string{"resolve"}) {
			t.Errorf("adding a package without install scripts ran %v, want the resolve step alone (nothing to build)", got)
		}
		wantStderr(t, r, "nothing to build")
		wantFile(t, filepath.Join(b.Project, "node_modules", "pbox-pnpm-plain2", "index.js"), "pbox-pnpm-plain2 installed")
		if mods := string(readFileT(t, filepath.Join(b.Project, "node_modules", ".modules.yaml"))); !strings.Contains(mods, "pbox-pnpm-ignored@1.0.0") || !strings.Contains(mods, "ignoredBuilds") {
			t.Errorf("node_modules/.modules.yaml lost pnpm's record of the ignored build:\n%s", mods)
		}
		wantStderr(t, r, "Ignored build scripts", "pbox-pnpm-ignored@1.0.0")
	})
}

// readHead is the first bytes of a file (what a shim runs is decided by them).
func readHead(t testing.TB, path string) string {
	t.Helper()
	data := readFileT(t, path)
	if len(data) > 4 {
		data = data[:4]
	}
	return string(data)
}

// `pnpm add esbuild` where esbuild may build is one networked run, then its build:
// pnpm links esbuild's bins in that run for the JavaScript bin/esbuild, the
// postinstall puts the native binary there, and pnpm's rebuild does not relink the
// package's own node_modules/.bin, so phylum-box relinks the shims the build made
// stale (managers/pnpmbins.go) and the sync back accepts them: the bin works from
// the project. The twin without an allowlist takes the one run too, and pnpm
// leaves esbuild unbuilt (its bin still the JavaScript file, pnpm's notice says so).
func TestSpeedPnpmAddOneRelinksBins(t *testing.T) {
	t.Parallel()
	requireTool(t, "pnpm")
	forEachMode(t, func(t *testing.T, m mode) {
		for _, allowed := range []bool{true, false} {
			b := newPMBox(t, m)
			man := map[string]any{"name": "pbox-it", "version": "1.0.0"}
			if allowed {
				man["pnpm"] = map[string]any{"onlyBuiltDependencies": []string{"esbuild"}}
			}
			setManifest(t, b, man)
			wantCode(t, b.tool("", "pnpm", "add", "is-odd@3.0.1"), 0, "the project's first add")
			rep := b.reportPath("esbuild.json")
			r := b.tool(rep, "pnpm", "add", "esbuild@0.24.2")
			wantCode(t, r, 0, fmt.Sprintf("pnpm add esbuild (build allowed: %v)", allowed))
			pr := readPnpmAddReport(t, rep)
			pr.oneNetworkedRun(t, "add", "adding esbuild")
			if got := pr.phases(); !slices.Equal(got, []string{"resolve", "build"}) {
				t.Errorf("adding esbuild ran %v, want resolve, then the build of what it added", got)
			}
			pkg := filepath.Join(b.Project, "node_modules", ".pnpm", "esbuild@0.24.2", "node_modules", "esbuild")
			head := readHead(t, filepath.Join(pkg, "bin", "esbuild"))
			own := string(readFileT(t, filepath.Join(pkg, "node_modules", ".bin", "esbuild")))
			if allowed {
				if head != "\x7fELF" {
					t.Errorf("esbuild's postinstall did not put its binary in place (bin/esbuild starts %q)", head)
				}
				if strings.Contains(own, "exec node") {
					t.Errorf("esbuild's own .bin shim still runs its binary with node:\n%s", own)
				}
			} else {
				if !strings.HasPrefix(head, "#!") {
					t.Errorf("esbuild was built in a project that does not allow it (bin/esbuild starts %q)", head)
				}
				wantStderr(t, r, "Ignored build scripts", "esbuild@0.24.2")
			}
			out, err := exec.Command(filepath.Join(b.Project, "node_modules", ".bin", "esbuild"), "--version").CombinedOutput()
			if err != nil || strings.TrimSpace(string(out)) != "0.24.2" {
				t.Errorf("node_modules/.bin/esbuild --version (build allowed: %v): %v\n%s", allowed, err, out)
			}
		}
	})
}

// The attack: an allowed package's install script replaces its bin with a link out
// of node_modules — to an absolute path, or to the project's own file — after pnpm
// linked the bin. The relink reads what the link points to and the sync back
// refuses the link: exit 4, nothing synced. The twin: a script that replaces its
// bin with a shell script (as a native build replaces a JavaScript bin) is relinked
// the way bare pnpm writes it, and the bin runs from the project.
func TestSpeedPnpmAddOneBinAttack(t *testing.T) {
	t.Parallel()
	requireTool(t, "pnpm")
	forEachMode(t, func(t *testing.T, m mode) {
		reg := startNpmLocalRegistry(t, "")
		pkg := func(name, swap string) {
			reg.Add(name, "1.0.0", map[string]any{"bin": map[string]string{name: "bin/tool"}, "scripts": map[string]string{"postinstall": "node swap.js"}},
				map[string]string{"bin/tool": "#!/usr/bin/env node\nconsole.log('js')\n", "swap.js": "const fs = require('fs');\nfs.unlinkSync('bin/tool');\n" + swap})
		}
		pkg("pbox-pnpm-native", "fs.writeFileSync('bin/tool', '#!/bin/sh\\necho native\\n', {mode: 0o755});\n")
		pkg("pbox-pnpm-swapabs", "fs.symlinkSync('/etc/passwd', 'bin/tool');\n")
		pkg("pbox-pnpm-swaprel", "fs.symlinkSync('../../../../../../package.json', 'bin/tool');\n")
		reg.Add("pbox-pnpm-plain", "1.0.0", nil, map[string]string{"index.js": "module.exports = 3\n"})

		b := newPMBox(t, m)
		setManifest(t, b, map[string]any{"name": "pbox-it", "version": "1.0.0",
			"pnpm": map[string]any{"onlyBuiltDependencies": []string{"pbox-pnpm-native", "pbox-pnpm-swapabs", "pbox-pnpm-swaprel"}}})
		writeProjectFile(t, b, ".npmrc", "registry="+reg.URL+"/\n")
		wantCode(t, b.tool("", "pnpm", "add", "pbox-pnpm-plain@1.0.0"), 0, "the project's first add")

		rep := b.reportPath("native.json")
		wantCode(t, b.tool(rep, "pnpm", "add", "pbox-pnpm-native@1.0.0"), 0, "adding a package whose build replaces its bin")
		readPnpmAddReport(t, rep).oneNetworkedRun(t, "add", "adding a package whose build replaces its bin")
		out, err := exec.Command(filepath.Join(b.Project, "node_modules", ".bin", "pbox-pnpm-native")).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "native" {
			t.Errorf("the relinked bin: %v\n%s", err, out)
		}

		for _, tc := range []struct{ name, want string }{
			{"pbox-pnpm-swapabs", "/etc/passwd"},
			{"pbox-pnpm-swaprel", "outside"},
		} {
			before := projectState(t, b.Project)
			rep = b.reportPath(tc.name + ".json")
			r := b.tool(rep, "pnpm", "add", tc.name+"@1.0.0")
			wantCode(t, r, 4, tc.name+": a build that links its bin out of node_modules")
			wantStderr(t, r, "refused", "bin/tool", tc.want)
			assertSameTree(t, before, projectState(t, b.Project), tc.name+": a refused build")
			readPnpmAddReport(t, rep).oneNetworkedRun(t, "add", tc.name)
		}
	})
}

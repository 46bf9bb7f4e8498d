package integration

import (
	"encoding/json"
	"os"
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

// pnpm relinks no bin after a rebuild, so a project that lets a dependency build
// keeps the two steps, whose install does what bare pnpm does: an allowed
// postinstall runs exactly once, offline (it sees only the loopback interface), a
// package the project does not allow is not built, and pnpm's notice says so. A
// project that allows no build (pnpm 10's default) takes the one run: a package
// with a script is installed, not built, and recorded as pnpm records it; adding a
// package without scripts after it builds nothing and keeps that record (the
// notice still names the package, approve-builds would still offer it).
func TestSpeedPnpmAddOneBuildsOffline(t *testing.T) {
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

		// An allowlist: the two steps.
		b := newPMBox(t, m)
		setManifest(t, b, map[string]any{"name": "pbox-it", "version": "1.0.0", "pnpm": map[string]any{"onlyBuiltDependencies": []string{"pbox-pnpm-built"}}})
		writeProjectFile(t, b, ".npmrc", "registry="+reg.URL+"/\n")
		rep := b.reportPath("add.json")
		r := b.tool(rep, "pnpm", "add", "pbox-pnpm-built@1.0.0", "pbox-pnpm-ignored@1.0.0")
		wantCode(t, r, 0, "pnpm add of two packages with install scripts")
		pr := readPnpmAddReport(t, rep)
		if got := pr.phases(); !slices.Equal(got, []string{"resolve", "download", "build"}) {
			t.Errorf("an add in a project that allows a build ran %v, want resolve, download, build", got)
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

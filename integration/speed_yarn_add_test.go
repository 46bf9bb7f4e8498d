package integration

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// `yarn add PKG` with yarn classic, registry packages only, resolves and fetches in
// one yarn run (issue 12, managers/yarnfetch.go): the resolve step is `yarn add …
// --ignore-scripts` and no download step follows. Asserted here in that path: what
// it installed is prechecked and synced with yarn's integrity file; a package with
// a MAL record it fetched is blocked before anything is built or synced (the
// project byte-identical); a registry package's install script still runs once, in
// the offline build. The twin: a file: dependency keeps the resolve, the download
// and the build, and so does the next add in that project.
func TestSpeedYarnClassicAddFetchesInResolve(t *testing.T) {
	t.Parallel()
	classic := pmFlavours()[0]
	if classic.name != "yarn-classic" {
		t.Fatalf("pmFlavours()[0] is %s, want yarn-classic", classic.name)
	}
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		classic.setup(t, b)
		resolveArgs := func(pr *speedReport) string {
			for _, s := range pr.Steps {
				if s.Phase == "resolve" {
					return strings.Join(s.Args, " ")
				}
			}
			return ""
		}
		wantOneRun := func(pr *speedReport, what string, phases ...string) {
			t.Helper()
			if got := pr.phases(); !slices.Equal(got, phases) {
				t.Errorf("%s ran %v, want %v (the resolve step fetches too)", what, got, phases)
			}
			// (The step is yarn's command line in a wrapper that then takes the
			// ignoreScripts mark out of .yarn-integrity: managers/yarnfetch.go.)
			if a := resolveArgs(pr); !strings.Contains(a, " yarn add ") || !strings.Contains(a, "--ignore-scripts") {
				t.Errorf("%s: the resolve step that fetches must run yarn add with scripts off: %q", what, a)
			}
		}

		// 1. A registry package without install scripts: one networked run, and
		// nothing to build, as bare yarn builds only what it added.
		rep := b.reportPath("add.json")
		r := b.tool(rep, "yarn", "add", "is-odd@3.0.1")
		wantCode(t, r, 0, "yarn add is-odd")
		pr := readSpeedReport(t, rep)
		wantOneRun(pr, "adding a registry package", "resolve")
		wantStderr(t, r, "nothing to build")
		for _, a := range pr.buildArgs() {
			if !strings.Contains(a, "--offline") {
				t.Errorf("the build step must stay offline: %q", a)
			}
		}
		wantFile(t, filepath.Join(b.Project, "node_modules", "is-odd", "package.json"), "is-odd installed")
		wantFile(t, filepath.Join(b.Project, "node_modules", "is-number", "package.json"), "is-odd's dependency installed")
		if lock, err := os.ReadFile(filepath.Join(b.Project, "yarn.lock")); err != nil || !strings.Contains(string(lock), "is-odd@3.0.1") {
			t.Errorf("yarn.lock does not list is-odd: %v", err)
		}
		if integ, err := os.ReadFile(filepath.Join(b.Project, "node_modules", ".yarn-integrity")); err != nil || !strings.Contains(string(integ), "is-odd@3.0.1") {
			t.Errorf("node_modules/.yarn-integrity was not synced back with is-odd: %v\n%s", err, integ)
		} else if strings.Contains(string(integ), "ignoreScripts") {
			// Synced with the mark, yarn would take the tree for one installed
			// without scripts and relink it all on the next install.
			t.Errorf("node_modules/.yarn-integrity keeps the resolve run's ignoreScripts mark:\n%s", integ)
		}
		r = b.tool("", "yarn", "install")
		wantCode(t, r, 0, "yarn install after the add")
		wantStderr(t, r, "up to date")
		checked := map[string]bool{}
		for _, p := range pr.Precheck.Packages {
			checked[p.Name+"@"+p.Version] = true
		}
		if !checked["is-odd@3.0.1"] || !checked["is-number@6.0.0"] {
			t.Errorf("the precheck did not see what the resolve step installed: %v", checked)
		}

		// 2. The attack in the same path: a package with a MAL record, fetched by
		// the resolve step, is blocked; nothing is built, nothing reaches the project.
		before := projectState(t, b.Project)
		rep = b.reportPath("blocked.json")
		r = b.tool(rep, "yarn", "add", "is-number@7.0.0")
		wantCode(t, r, 3, "adding a package with a MAL record")
		wantStderr(t, r, "is-number", "MAL-0000-PBOXIT1")
		assertSameTree(t, before, projectState(t, b.Project), "a blocked add that fetched in its resolve step")
		wantOneRun(readSpeedReport(t, rep), "the blocked add", "resolve")
		if strings.Contains(r.Stdout, "Saved lockfile") || strings.Contains(r.Stdout, "success Saved") {
			t.Errorf("yarn's report of an add that was blocked was printed:\n%s", r.Stdout)
		}

		// 3. A registry package with an install script: not run by the networked
		// resolve, run once by the build, which has no network (its probe of the
		// registry, reachable from the resolve step, fails).
		reg := startNpmLocalRegistry(t, "")
		script := `node -e "const fs=require('fs');fs.appendFileSync('built.txt','built\n');` +
			`require('http').get('` + reg.URL + `/pbox-probe',()=>fs.writeFileSync('net.txt','reached')).on('error',()=>fs.writeFileSync('net.txt','none'))"`
		reg.Add("pbox-yarn-built", "1.0.0", map[string]any{"scripts": map[string]string{"postinstall": script}}, nil)
		writeProjectFile(t, b, ".yarnrc", "registry \""+reg.URL+"/\"\n")
		rep = b.reportPath("script.json")
		r = b.tool(rep, "yarn", "add", "pbox-yarn-built@1.0.0")
		wantCode(t, r, 0, "yarn add of a registry package with an install script")
		pr = readSpeedReport(t, rep)
		wantOneRun(pr, "adding a package with an install script", "resolve", "build")
		// Only that package is built: yarn's offline install with its name, not the
		// whole-tree --force (managers/yarnfetchbuild.go).
		for _, a := range pr.buildArgs() {
			if !strings.HasSuffix(a, " pbox-yarn-built") || strings.Contains(a, " --force ") {
				t.Errorf("the build must be of only the package with a script: %q", a)
			}
		}
		if integ, err := os.ReadFile(filepath.Join(b.Project, "node_modules", ".yarn-integrity")); err != nil || strings.Contains(string(integ), "ignoreScripts") || !strings.Contains(string(integ), `"pbox-yarn-built@1.0.0": [`) {
			t.Errorf("node_modules/.yarn-integrity must be yarn's after the build, with what the script built as artifacts and no ignoreScripts mark: %v\n%s", err, integ)
		}
		dir := filepath.Join(b.Project, "node_modules", "pbox-yarn-built")
		if got, err := os.ReadFile(filepath.Join(dir, "built.txt")); err != nil || string(got) != "built\n" {
			t.Errorf("the install script must run exactly once, in the build: built.txt %q, %v", got, err)
		}
		if got, err := os.ReadFile(filepath.Join(dir, "net.txt")); err != nil || string(got) != "none" {
			t.Errorf("the install script must run without the network: net.txt %q, %v", got, err)
		}
		wantFile(t, filepath.Join(b.Project, "node_modules", "is-odd", "package.json"), "is-odd still installed")

		// 4. The twin: a file: dependency keeps the two networked steps, for its own
		// add and for the next add of a registry package next to it.
		tgz := packSpeedFixture(t, b, "built-a")
		rep = b.reportPath("file.json")
		wantCode(t, b.tool(rep, "yarn", "add", "file:"+tgz), 0, "yarn add of a file: tarball")
		if got := readSpeedReport(t, rep).phases(); !slices.Equal(got, []string{"resolve", "download", "build"}) {
			t.Errorf("adding a file: tarball ran %v, want resolve, download, build", got)
		}
		rep = b.reportPath("twin.json")
		reg.Add("pbox-yarn-plain", "1.0.0", nil, map[string]string{"index.js": "module.exports = 1\n"})
		wantCode(t, b.tool(rep, "yarn", "add", "pbox-yarn-plain@1.0.0"), 0, "yarn add of a registry package next to a file: dependency")
		if got := readSpeedReport(t, rep).phases(); !slices.Equal(got, []string{"resolve", "download", "build"}) {
			t.Errorf("a project with a file: dependency must keep resolve, download, build: ran %v", got)
		}
		wantFile(t, filepath.Join(b.Project, "node_modules", "pbox-yarn-plain", "package.json"), "pbox-yarn-plain installed")
		if _, err := os.Stat(filepath.Join(b.Project, "node_modules", "pbox-built-a", "built.txt")); err != nil {
			t.Errorf("built-a's install script did not run in the build: %v", err)
		}
	})
}

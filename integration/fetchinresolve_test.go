package integration

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// `npm install PKG` of registry packages resolves and fetches in one npm run
// (issue 12, managers/npmfetch.go): the resolve step is `npm install …
// --ignore-scripts` and there is no download step. Its guarantees, asserted here in
// that path: what it installed is in the prechecked lockfile, a malicious package
// it fetched is blocked before anything is synced (the project byte-identical, no
// build), the next `npm install` finds nothing to do. The twin: a project that
// names a non-registry source (a file: tarball) keeps resolve --package-lock-only,
// then the download, then the build of what it added.
func TestSpeedNpmAddOneFetchesInResolve(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		resolveArgs := func(pr *speedReport) string {
			for _, s := range pr.Steps {
				if s.Phase == "resolve" {
					return strings.Join(s.Args, " ")
				}
			}
			return ""
		}

		rep := b.reportPath("add.json")
		r := b.tool(rep, "npm", "install", "is-odd@3.0.1")
		wantCode(t, r, 0, "npm install is-odd")
		pr := readSpeedReport(t, rep)
		if got := pr.phases(); !slices.Equal(got, []string{"resolve"}) {
			t.Errorf("adding a registry package ran %v, want the resolve step alone (it fetches too)", got)
		}
		if a := resolveArgs(pr); !strings.Contains(a, "--ignore-scripts") || strings.Contains(a, "--package-lock-only") {
			t.Errorf("the resolve step that fetches must run npm install with scripts off: %q", a)
		}
		wantFile(t, filepath.Join(b.Project, "node_modules", "is-odd", "package.json"), "is-odd installed")
		wantFile(t, filepath.Join(b.Project, "node_modules", "is-number", "package.json"), "is-odd's dependency installed")
		if pk, _ := readJSONFile(t, filepath.Join(b.Project, "package-lock.json"))["packages"].(map[string]any); pk["node_modules/is-odd"] == nil {
			t.Errorf("package-lock.json does not list is-odd")
		}
		checked := map[string]bool{}
		for _, p := range pr.Precheck.Packages {
			checked[p.Name+"@"+p.Version] = true
		}
		if !checked["is-odd@3.0.1"] || !checked["is-number@6.0.0"] {
			t.Errorf("the precheck did not see what the resolve step installed: %v", checked)
		}

		// Nothing to do after it: the hidden lockfile npm wrote is trusted.
		rep = b.reportPath("noop.json")
		wantCode(t, b.tool(rep, "npm", "install"), 0, "npm install after the add")
		if pr := readSpeedReport(t, rep); pr.UpToDate == "" || len(pr.Steps) != 0 {
			t.Errorf("after the add, npm install ran %v (up_to_date %q)", pr.phases(), pr.UpToDate)
		}

		// The attack in the same path: a package with a MAL record, fetched by the
		// resolve step, is blocked and nothing reaches the project.
		before := projectState(t, b.Project)
		rep = b.reportPath("blocked.json")
		r = b.tool(rep, "npm", "install", "is-number@7.0.0")
		wantCode(t, r, 3, "adding a package with a MAL record")
		wantStderr(t, r, "is-number", "MAL-0000-PBOXIT1")
		assertSameTree(t, before, projectState(t, b.Project), "a blocked install that fetched in its resolve step")
		pr = readSpeedReport(t, rep)
		if got := pr.phases(); !slices.Equal(got, []string{"resolve"}) || strings.Contains(resolveArgs(pr), "--package-lock-only") {
			t.Errorf("the blocked install ran %v (%q), want the fetching resolve step alone", got, resolveArgs(pr))
		}
		if strings.Contains(r.Stdout, "added ") || strings.Contains(r.Stdout, "changed ") {
			t.Errorf("npm's report of an install that was blocked was printed:\n%s", r.Stdout)
		}

		// The twin: a file: dependency in package.json keeps the two networked steps.
		a := packSpeedFixture(t, b, "built-a")
		wantCode(t, b.tool("", "npm", "install", a), 0, "npm install of a file: tarball")
		rep = b.reportPath("twin.json")
		wantCode(t, b.tool(rep, "npm", "install", "is-even@1.0.0"), 0, "npm install is-even next to a file: dependency")
		pr = readSpeedReport(t, rep)
		if got := pr.phases(); !slices.Contains(got, "download") || !strings.Contains(resolveArgs(pr), "--package-lock-only") {
			t.Errorf("a project with a file: dependency must resolve --package-lock-only, then download: ran %v (%q)", got, resolveArgs(pr))
		}
		wantFile(t, filepath.Join(b.Project, "node_modules", "is-even", "package.json"), "is-even installed")
		if _, err := os.Stat(filepath.Join(b.Project, "node_modules", "pbox-built-a", "built.txt")); err != nil {
			t.Errorf("built-a's install script did not run in the build: %v", err)
		}
	})
}

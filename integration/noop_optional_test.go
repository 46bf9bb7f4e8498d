package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// npm's nothing-to-do check agrees with npm on what npm leaves out (issue 12): a
// project with sharp, whose lockfile lists optional packages for other platforms
// (@img/sharp-wasm32 with @emnapi/runtime and tslib, which only it needs) that npm
// does not install here, is up to date on the second `npm install`: no step runs.
// A tool's dot dir created in node_modules afterwards (vite's .vite) changes
// nothing either; a package dir changed after the hidden lockfile still gets the
// full steps.
func TestNoopNpmSkippedOptional(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		wantCode(t, b.tool("", "npm", "install", "--no-audit", "--no-fund", "sharp@0.33.5"), 0, "npm install sharp")

		// The case this is about: locked for another platform, not installed.
		var lock, hidden struct {
			Packages map[string]json.RawMessage `json:"packages"`
		}
		for p, v := range map[string]any{"package-lock.json": &lock, "node_modules/.package-lock.json": &hidden} {
			data, err := os.ReadFile(filepath.Join(b.Project, p))
			if err != nil || json.Unmarshal(data, v) != nil {
				t.Fatalf("%s: %v", p, err)
			}
		}
		for _, loc := range []string{"node_modules/@img/sharp-wasm32", "node_modules/tslib"} {
			if _, ok := lock.Packages[loc]; !ok {
				t.Fatalf("package-lock.json has no %s", loc)
			}
			if _, ok := hidden.Packages[loc]; ok {
				t.Fatalf("%s is installed on this platform", loc)
			}
		}

		rep := b.reportPath("noop.json")
		r := b.tool(rep, "-v", "npm", "install")
		wantCode(t, r, 0, "npm install with sharp installed")
		if pr := readSpeedReport(t, rep); pr.UpToDate == "" || len(pr.Steps) != 0 {
			t.Errorf("second npm install ran %v (up_to_date %q)\n%s", pr.phases(), pr.UpToDate, r.Stderr)
		}

		vite := filepath.Join(b.Project, "node_modules", ".vite", "deps", "_metadata.json")
		writeFile(t, vite, "{}", 0o644)
		chownTree(t, m, filepath.Join(b.Project, "node_modules", ".vite"))
		rep = b.reportPath("vite.json")
		r = b.tool(rep, "-v", "npm", "install")
		wantCode(t, r, 0, "npm install after vite wrote node_modules/.vite")
		if pr := readSpeedReport(t, rep); pr.UpToDate == "" || len(pr.Steps) != 0 {
			t.Errorf("npm install after node_modules/.vite ran %v (up_to_date %q)\n%s", pr.phases(), pr.UpToDate, r.Stderr)
		}

		// The twin: a file added to a package dir after the hidden lockfile.
		writeFile(t, filepath.Join(b.Project, "node_modules", "sharp", "extra.js"), "", 0o644)
		chownTree(t, m, filepath.Join(b.Project, "node_modules", "sharp"))
		rep = b.reportPath("changed.json")
		wantCode(t, b.tool(rep, "npm", "install"), 0, "npm install after node_modules/sharp changed")
		if pr := readSpeedReport(t, rep); pr.UpToDate != "" || len(pr.Steps) == 0 {
			t.Errorf("a changed package dir must get the full steps, ran %v (up_to_date %q)", pr.phases(), pr.UpToDate)
		}
	})
}

package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// A version change installs the new version. npm's resolve (--package-lock-only)
// rewrites node_modules/.package-lock.json, and the download's npm trusted that
// rewrite: `phylum-box npm install is-odd@3.0.0` over 3.0.1 exited 0 with both
// lockfiles saying 3.0.0 and node_modules holding 3.0.1, and no later install
// repaired it. Now the change installs either way, and the twin, `npm install` with
// nothing changed, is still up to date with no step run.
func TestNpmVersionChangeInstalled(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		installed := func() string {
			t.Helper()
			data, err := os.ReadFile(filepath.Join(b.Project, "node_modules", "is-odd", "package.json"))
			var pj struct {
				Version string `json:"version"`
			}
			if err != nil || json.Unmarshal(data, &pj) != nil {
				t.Fatalf("node_modules/is-odd/package.json: %v", err)
			}
			return pj.Version
		}
		wantCode(t, b.tool("", "npm", "install", "is-odd@3.0.1"), 0, "npm install is-odd@3.0.1")
		for _, v := range []string{"3.0.0", "3.0.1"} {
			wantCode(t, b.tool("", "npm", "install", "is-odd@"+v), 0, "npm install is-odd@"+v)
			if got := installed(); got != v {
				t.Errorf("after npm install is-odd@%s node_modules holds is-odd %s", v, got)
			}
		}
		rep := b.reportPath("noop.json")
		wantCode(t, b.tool(rep, "npm", "install"), 0, "npm install with nothing to do")
		if pr := readSpeedReport(t, rep); pr.UpToDate == "" || len(pr.Steps) != 0 {
			t.Errorf("nothing to do ran %v (up_to_date %q)", pr.phases(), pr.UpToDate)
		}
	})
}

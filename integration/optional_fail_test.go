package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// packNpm packs a package made of files (name → content) into the project's
// vendor/ and returns the spec to depend on it ("file:vendor/NAME-1.0.0.tgz").
func packNpm(t testing.TB, b *pmBox, name string, pkg map[string]any) string {
	t.Helper()
	work := filepath.Join(filepath.Dir(b.DB), "pack-"+name)
	pkg["name"], pkg["version"], pkg["license"] = name, "1.0.0", "MIT"
	data, err := json.Marshal(pkg)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(work, "package.json"), string(data), 0o644)
	vendor := filepath.Join(b.Project, "vendor")
	if err := os.MkdirAll(vendor, 0o755); err != nil {
		t.Fatal(err)
	}
	c := exec.Command("npm", "pack", "--pack-destination", vendor, "--silent")
	c.Dir = work
	c.Env = append(os.Environ(), "HOME="+filepath.Dir(b.DB), "npm_config_update_notifier=false")
	if out, err := c.Output(); err != nil {
		t.Fatalf("npm pack %s: %v\n%s", name, err, out)
	}
	chownTree(t, b.Mode, vendor)
	return "file:vendor/" + name + "-1.0.0.tgz"
}

// An optional dependency whose install script fails is dropped, as bare npm
// drops it: exit 0, the package absent from node_modules and npm's hidden
// lockfile (package-lock.json keeps it, as npm's does), a warning naming it, and
// the rest installed and built. The twin: the same package as a regular
// dependency fails the install, and the project is left as it was.
func TestOptionalDependencyFails(t *testing.T) {
	t.Parallel()
	forEachMode(t, func(t *testing.T, m mode) {
		failing := map[string]any{"scripts": map[string]any{"install": "echo pbox-opt-fail-script; exit 1"}}
		builds := map[string]any{"scripts": map[string]any{"postinstall": "node -e \"require('fs').writeFileSync('built.txt', 'built')\""}}

		b := newPMBox(t, m)
		fail := packNpm(t, b, "pbox-opt-fail", failing)
		ok := packNpm(t, b, "pbox-opt-builds", builds)
		setManifest(t, b, map[string]any{"name": "pbox-it", "version": "1.0.0",
			"dependencies":         map[string]any{"pbox-opt-builds": ok},
			"optionalDependencies": map[string]any{"pbox-opt-fail": fail}})
		r := b.tool("", "npm", "install")
		wantCode(t, r, 0, "an optional dependency whose install script fails")
		wantStderr(t, r, "optional dependency pbox-opt-fail failed to build", "removing node_modules/pbox-opt-fail")
		nm := filepath.Join(b.Project, "node_modules")
		if pathExists(filepath.Join(nm, "pbox-opt-fail")) {
			t.Errorf("node_modules/pbox-opt-fail was installed")
		}
		if data, err := os.ReadFile(filepath.Join(nm, "pbox-opt-builds", "built.txt")); err != nil || string(data) != "built" {
			t.Errorf("pbox-opt-builds was not built: %q, %v", data, err)
		}
		hidden, err := os.ReadFile(filepath.Join(nm, ".package-lock.json"))
		if err != nil || strings.Contains(string(hidden), "pbox-opt-fail") || !strings.Contains(string(hidden), "node_modules/pbox-opt-builds") {
			t.Errorf("hidden lockfile should list pbox-opt-builds only: %v\n%s", err, hidden)
		}
		lock, err := os.ReadFile(filepath.Join(b.Project, "package-lock.json"))
		if err != nil || !strings.Contains(string(lock), `"node_modules/pbox-opt-fail"`) {
			t.Errorf("package-lock.json should keep the optional entry, as npm does: %v", err)
		}

		// The failed build's npm debug log is not kept: the install succeeded.
		if logs, _ := filepath.Glob(filepath.Join(b.Home, ".cache", "phylum-box", "logs", "npm-*")); len(logs) > 0 {
			t.Errorf("npm logs kept after a successful install: %v", logs)
		}

		// The twin: a regular dependency whose script fails fails the install, also
		// when its output names an optional package as npm's failure line would.
		b = newPMBox(t, m)
		fail = packNpm(t, b, "pbox-opt-fail", map[string]any{"scripts": map[string]any{
			"install": "echo \"npm error path $(cd ..; pwd)/pbox-opt-other\"; exit 1"}})
		ok = packNpm(t, b, "pbox-opt-builds", builds)
		other := packNpm(t, b, "pbox-opt-other", map[string]any{})
		setManifest(t, b, map[string]any{"name": "pbox-it", "version": "1.0.0",
			"dependencies":         map[string]any{"pbox-opt-builds": ok, "pbox-opt-fail": fail},
			"optionalDependencies": map[string]any{"pbox-opt-other": other}})
		before := projectState(t, b.Project)
		r = b.tool("", "npm", "install")
		if r.Code == 0 {
			t.Fatalf("a regular dependency whose install script fails: exit 0\n%s", r)
		}
		wantStderr(t, r, "pbox-opt-fail", "nothing was synced back")
		if strings.Contains(r.Stderr, "optional dependency") {
			t.Errorf("a regular dependency was treated as optional:\n%s", r)
		}
		// (The place the first half found empty: a failed build's log is kept there.)
		if logs, _ := filepath.Glob(filepath.Join(b.Home, ".cache", "phylum-box", "logs", "npm-*")); len(logs) == 0 {
			t.Errorf("no npm log kept after a failed build")
		}
		assertSameTree(t, before, projectState(t, b.Project), "a failed install")
	})
}

package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A project that names another pnpm release (package.json's packageManager) and
// turns pnpm 10's switch on in both its .npmrc and pnpm-workspace.yaml: bare pnpm
// would download that release and run it in place of the user's, in the steps
// that have the network and the credentials. Wrapped, every step runs the user's
// pnpm (the command line's --config.manage-package-manager-versions=false outranks
// the project's files), the install works, and the user is told what the project
// asked for. The project's registry also offers a "pnpm" that would leave a mark
// if it ever ran.
func TestPnpmProjectReleaseNotRun(t *testing.T) {
	t.Parallel()
	requireTool(t, "pnpm")
	out, err := exec.Command("pnpm", "--version").Output()
	if err != nil {
		t.Fatalf("pnpm --version: %v", err)
	}
	host := strings.TrimSpace(string(out))
	forEachMode(t, func(t *testing.T, m mode) {
		reg := startNpmLocalRegistry(t, "")
		reg.Add("pbox-sw-dep", "1.0.0", nil, map[string]string{"index.js": "module.exports = 1\n"})
		mark := filepath.Join(pmScratch(t), "project-pnpm-ran")
		fake := "#!/usr/bin/env node\nrequire('fs').writeFileSync(" + jsString(mark) + ", 'ran')\n"
		reg.Add("pnpm", "10.0.0", map[string]any{"bin": map[string]string{"pnpm": "bin/pnpm.cjs"}},
			map[string]string{"bin/pnpm.cjs": fake, "dist/pnpm.cjs": fake})

		b := newPMBox(t, m)
		setManifest(t, b, map[string]any{"name": "pbox-it", "version": "1.0.0", "packageManager": "pnpm@10.0.0",
			"dependencies": map[string]any{"pbox-sw-dep": "1.0.0"}})
		writeProjectFile(t, b, ".npmrc", "registry="+reg.URL+"/\nmanage-package-manager-versions=true\n")
		writeProjectFile(t, b, "pnpm-workspace.yaml", "managePackageManagerVersions: true\n")
		for i, args := range [][]string{{"install"}, {"install", "--frozen-lockfile"}} {
			name := "pnpm " + strings.Join(args, " ")
			if i > 0 {
				if err := os.RemoveAll(filepath.Join(b.Project, "node_modules")); err != nil {
					t.Fatal(err)
				}
			}
			r := b.tool("", "pnpm", args...)
			wantCode(t, r, 0, name+" in a project that names pnpm 10.0.0")
			if strings.Contains(r.Stdout+r.Stderr, "Refusing to run pnpm") || strings.Contains(r.Stdout, "using pnpm v10.0.0") {
				t.Errorf("%s: pnpm switched to the project's release:\n%s", name, r)
			}
			if !strings.Contains(r.Stdout, "using pnpm v"+host) {
				t.Errorf("%s: not the user's pnpm %s:\n%s", name, host, r)
			}
			wantStderr(t, r, "packageManager asks for pnpm 10.0.0", "ran your pnpm "+host)
			if pathExists(mark) {
				t.Errorf("%s: the project registry's pnpm ran", name)
			}
			wantFile(t, filepath.Join(b.Project, "node_modules", "pbox-sw-dep", "index.js"), name+": pbox-sw-dep installed")
		}
	})
}

package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// npm run in a workspace's own directory installs at the workspace root, as npm
// does (found trying phylum-box as a new user: the member got a lockfile and a
// node_modules of its own, and the root's lockfile went stale). The first install
// of a new workspace links it (its package.json, which the command changes, was
// refused the link before). The root's own prepare runs at the root after a plain
// npm install there (not after npm install PKG, as bare).
func TestNpmWorkspaceMemberInstall(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		setManifest(t, b, map[string]any{"name": "pbox-it", "version": "1.0.0", "workspaces": []string{"packages/*"},
			"scripts": map[string]string{"prepare": "node -e \"require('fs').writeFileSync('prepared.txt','root')\""}})
		writeFile(t, filepath.Join(b.Project, "packages", "a", "package.json"), `{"name":"pbox-ws-a","version":"1.0.0"}`+"\n", 0o644)
		chownTree(t, m, b.Project)
		inv := b.toolInv("", "npm", "install", "left-pad@1.3.0")
		inv.Dir = filepath.Join(b.Project, "packages", "a")
		r := inv.exec(t)
		wantCode(t, r, 0, "npm install left-pad in packages/a of a new workspace")
		if pathExists(filepath.Join(b.Project, "packages", "a", "package-lock.json")) || pathExists(filepath.Join(b.Project, "packages", "a", "node_modules", "left-pad")) {
			t.Errorf("the workspace got a lockfile or a node_modules of its own")
		}
		if lock := string(readFileT(t, filepath.Join(b.Project, "package-lock.json"))); !strings.Contains(lock, `"node_modules/left-pad"`) {
			t.Errorf("the root's lockfile lacks left-pad:\n%s", lock)
		}
		if man := string(readFileT(t, filepath.Join(b.Project, "packages", "a", "package.json"))); !strings.Contains(man, `"left-pad"`) {
			t.Errorf("packages/a/package.json lacks left-pad:\n%s", man)
		}
		if target, err := os.Readlink(filepath.Join(b.Project, "node_modules", "pbox-ws-a")); err != nil || target != "../packages/a" {
			t.Errorf("node_modules/pbox-ws-a: %q, %v", target, err)
		}
		if pathExists(filepath.Join(b.Project, "prepared.txt")) {
			t.Errorf("npm install PKG ran the root's prepare, which bare npm does not")
		}
		// A plain npm install there runs the root's own scripts, at the root.
		inv = b.toolInv("", "npm", "install")
		inv.Dir = filepath.Join(b.Project, "packages", "a")
		wantCode(t, inv.exec(t), 0, "npm install in packages/a")
		if got := string(readFileT(t, filepath.Join(b.Project, "prepared.txt"))); got != "root" {
			t.Errorf("the root's prepare: prepared.txt = %q", got)
		}
	})
}

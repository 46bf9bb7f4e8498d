package managers

import (
	"os"
	"path/filepath"
	"testing"
)

// The walks that pick a project stop at a directory others may write to (or, as
// root, one another user owns): a pnpm-workspace.yaml, package.json, Cargo.toml
// or .venv planted there is not the project's; the user's own ancestors are
// walked as before.
func TestWalksStopAtUntrustedAncestors(t *testing.T) {
	for _, shared := range []bool{false, true} {
		base := t.TempDir()
		top := filepath.Join(base, "top")
		proj := filepath.Join(top, "proj")
		if err := os.MkdirAll(filepath.Join(proj, "src"), 0o755); err != nil {
			t.Fatal(err)
		}
		for name, body := range map[string]string{
			"pnpm-workspace.yaml": "packages: [proj]\n",
			"package.json":        `{"workspaces":["proj"]}`,
			"Cargo.toml":          "[workspace]\nmembers = [\"proj\"]\n",
			".venv/pyvenv.cfg":    "home = /usr/bin\n",
			"proj/package.json":   `{"name":"proj"}`,
			"proj/Cargo.toml":     "[package]\nname = \"proj\"\n",
		} {
			p := filepath.Join(top, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if shared {
			if err := os.Chmod(top, 0o1777); err != nil {
				t.Fatal(err)
			}
		}
		want := func(got, ifTrusted, ifShared, what string) {
			t.Helper()
			w := ifTrusted
			if shared {
				w = ifShared
			}
			if got != w {
				t.Errorf("shared=%v: %s = %q, want %q", shared, what, got, w)
			}
		}
		want(findUp(proj, "pnpm-workspace.yaml"), top, "", "findUp pnpm-workspace.yaml")
		want(npmWorkspaceRoot(proj), top, "", "npmWorkspaceRoot")
		want(cargoWorkspaceRoot(proj), top, proj, "cargoWorkspaceRoot")
		want(findUpDir(proj, ".venv", "pyvenv.cfg"), filepath.Join(top, ".venv"), "", "findUpDir .venv")
		// The project's own dirs are walked either way: src up to proj.
		if got := findNodeRoot(filepath.Join(proj, "src")); got != proj {
			t.Errorf("shared=%v: findNodeRoot(proj/src) = %q, want %q", shared, got, proj)
		}
		if err := os.Remove(filepath.Join(proj, "package.json")); err != nil {
			t.Fatal(err)
		}
		want(findNodeRoot(proj), top, proj, "findNodeRoot without the project's package.json")
	}
}

package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A build pnpm left out, run later (found trying phylum-box as a new user): after
// `pnpm add esbuild` in a project that does not allow its build, pnpm linked the
// .bin shims for esbuild's JavaScript bin/esbuild. Allowing it later — `pnpm
// approve-builds --all`, or the allowlist written into pnpm-workspace.yaml and
// `pnpm install` — runs the postinstall, which puts the native binary there, and
// pnpm's rebuild relinks neither the project's shim nor esbuild's own. Before, the
// first exited 0 and left a shim that ran the binary with node, and the second was
// refused at the sync back (exit 4). Now every pnpm build relinks the shims it made
// stale (managers/pnpmbins.go), and esbuild runs from the project. In a project
// moved since its install, approve-builds failed with EROFS (pnpm registers the
// new place in its store, read-only in the build); the store is a throwaway view
// there now, and the relinked shims name the new place.
func TestPnpmApprovedBuildRelinksBins(t *testing.T) {
	t.Parallel()
	requireTool(t, "pnpm")
	forEachMode(t, func(t *testing.T, m mode) {
		for _, how := range []string{"approve-builds", "allowlist", "moved"} {
			b := newPMBox(t, m)
			setManifest(t, b, map[string]any{"name": "pbox-it", "version": "1.0.0"})
			r := b.tool("", "pnpm", "add", "esbuild@0.24.2")
			wantCode(t, r, 0, "pnpm add esbuild, its build not allowed")
			wantStderr(t, r, "Ignored build scripts", "esbuild@0.24.2")
			pkg := filepath.Join(b.Project, "node_modules", ".pnpm", "esbuild@0.24.2", "node_modules", "esbuild")
			if head := readHead(t, filepath.Join(pkg, "bin", "esbuild")); !strings.HasPrefix(head, "#!") {
				t.Fatalf("esbuild was built without being allowed (bin/esbuild starts %q)", head)
			}
			switch how {
			case "approve-builds":
				wantCode(t, b.tool("", "pnpm", "approve-builds", "--all"), 0, "pnpm approve-builds --all")
			case "moved":
				// The project moved since its install: pnpm's store has no entry for
				// the new place, which approve-builds writes, and the shims name the
				// old one.
				old := b.Project
				b.Project += "-moved"
				if err := os.Rename(old, b.Project); err != nil {
					t.Fatal(err)
				}
				pkg = strings.Replace(pkg, old, b.Project, 1)
				wantCode(t, b.tool("", "pnpm", "approve-builds", "--all"), 0, "pnpm approve-builds --all in the moved project")
				if data, err := os.ReadFile(filepath.Join(b.Project, "node_modules", ".bin", "esbuild")); err != nil || strings.Contains(string(data), old+"/") {
					t.Errorf("the relinked shim still names the project's old place %s: %v\n%s", old, err, data)
				}
			default:
				writeFile(t, filepath.Join(b.Project, "pnpm-workspace.yaml"), "onlyBuiltDependencies:\n  - esbuild\n", 0o644)
				chownTree(t, b.Mode, b.Project)
				wantCode(t, b.tool("", "pnpm", "install"), 0, "pnpm install after allowing esbuild's build")
			}
			if head := readHead(t, filepath.Join(pkg, "bin", "esbuild")); head != "\x7fELF" {
				t.Errorf("%s: esbuild's postinstall did not put its binary in place (bin/esbuild starts %q)", how, head)
			}
			for _, shim := range []string{filepath.Join(b.Project, "node_modules", ".bin", "esbuild"), filepath.Join(pkg, "node_modules", ".bin", "esbuild")} {
				if data, err := os.ReadFile(shim); err == nil && strings.Contains(string(data), "exec node") {
					t.Errorf("%s: %s still runs the native binary with node:\n%s", how, shim, data)
				}
			}
			out, err := exec.Command(filepath.Join(b.Project, "node_modules", ".bin", "esbuild"), "--version").CombinedOutput()
			if err != nil || strings.TrimSpace(string(out)) != "0.24.2" {
				t.Errorf("%s: node_modules/.bin/esbuild --version: %v\n%s", how, err, out)
			}
		}
	})
}

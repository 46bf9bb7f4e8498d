package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// node_modules/.bin shims (issue 9, class 7): npm, yarn and pnpm put
// node_modules/.bin first in PATH for every script, so an install script that plants
// node_modules/.bin/node, or a link from node_modules into .git, would take over the
// next plain `npm test` on the host. Only the links the manager makes for the bins
// installed packages declare are synced; a bin shadowing a system command needs the
// policy's allow_bins.

// hostOutput runs argv on the host (no sandbox) as the mode's user in dir and returns
// its combined output; the test fails when it does not exit 0.
func hostOutput(t testing.TB, m mode, dir string, argv ...string) string {
	t.Helper()
	if m.rootless() && suite.isRoot {
		argv = append([]string{"setpriv"}, asUserArgs(m.User, argv...)...)
	}
	c := exec.Command(argv[0], argv[1:]...)
	c.Dir = dir
	c.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	out, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("host: %s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return string(out)
}

// An install script plants node_modules/.bin/node and node_modules/evil -> ../.git:
// the install stops at the sync (exit 4), both are named, nothing is synced. With
// npm, yarn classic and pnpm.
func TestBinShimPlantedByScriptRefused(t *testing.T) {
	t.Parallel()
	for _, fl := range binFlavours() {
		t.Run(fl.name, func(t *testing.T) {
			forEachMode(t, func(t *testing.T, m mode) {
				b := newPMBox(t, m)
				fl.setup(t, b)
				if fl.name == "pnpm" { // pnpm 10 runs only the build scripts it is told to
					setManifest(t, b, map[string]any{"name": "pbox-it", "version": "1.0.0",
						"pnpm": map[string]any{"onlyBuiltDependencies": []string{"pbox-bin-evil@file:vendor/pbox-bin-evil-1.0.0.tgz"}}})
				}
				tgz := packFixture(t, b, "bin-evil", nil)
				before := projectState(t, b.Project)
				rep := b.reportPath("bin-evil.json")
				r := b.tool(rep, fl.tool, fl.add(tgz)...)
				wantCode(t, r, 4, fl.name+": an install script that plants node_modules/.bin/node and a link into .git")
				wantStderr(t, r, "node_modules/.bin/node", "shadow the system command node", "node_modules/evil", "symlink to ../.git", "nothing was synced")
				refused := strings.Join(readPMReport(t, rep).Refused, "\n")
				for _, p := range []string{"node_modules/.bin/node", "node_modules/evil"} {
					if !strings.Contains(refused, p) {
						t.Errorf("the report's refused list does not name %s: %s", p, refused)
					}
				}
				assertSameTree(t, before, projectState(t, b.Project), "a refused sync")
				if pathExists(filepath.Join(b.Project, "node_modules")) {
					t.Errorf("node_modules reached the project")
				}
			})
		})
	}
}

type binFlavour struct {
	name, tool string
	setup      func(t testing.TB, b *pmBox)
	add        func(tgz string, more ...string) []string
}

// binFlavours are the managers that make node_modules/.bin: npm, yarn classic and
// pnpm (berry's default is Plug'n'Play, without node_modules).
func binFlavours() []binFlavour {
	out := []binFlavour{{
		name: "npm", tool: "npm",
		setup: func(t testing.TB, b *pmBox) { requireTool(t, "npm") },
		add:   func(tgz string, more ...string) []string { return append([]string{"install", tgz}, more...) },
	}}
	for _, fl := range pmFlavours() {
		if fl.name == "yarn-berry" {
			continue
		}
		out = append(out, binFlavour{name: fl.name, tool: fl.tool, setup: fl.setup,
			add: func(tgz string, more ...string) []string { return append(fl.addLocal(tgz), more...) }})
	}
	return out
}

// The legitimate twin: a registry package with a bin (semver) and a local package
// declaring one install with npm, yarn classic and pnpm; their .bin entries (links,
// or pnpm's shims) are synced and run on the host afterwards.
func TestBinShimDeclaredBinsSynced(t *testing.T) {
	t.Parallel()
	for _, fl := range binFlavours() {
		t.Run(fl.name, func(t *testing.T) {
			forEachMode(t, func(t *testing.T, m mode) {
				b := newPMBox(t, m)
				fl.setup(t, b)
				tgz := packFixture(t, b, "bin-hello", nil)
				r := b.tool("", fl.tool, fl.add(tgz, "semver@7.6.0")...)
				wantCode(t, r, 0, fl.name+": packages with declared bins")
				if out := hostOutput(t, m, b.Project, "node_modules/.bin/semver", "-i", "minor", "7.6.0"); strings.TrimSpace(out) != "7.7.0" {
					t.Errorf("node_modules/.bin/semver -i minor 7.6.0 on the host: %q, want 7.7.0", out)
				}
				if out := hostOutput(t, m, b.Project, "node_modules/.bin/pbox-hello"); !strings.Contains(out, "pbox-hello ran") {
					t.Errorf("node_modules/.bin/pbox-hello on the host: %q", out)
				}
			})
		})
	}
}

// A package whose bin is named node (as the npm package node's is) is refused by
// default, with the policy entry to add; with allow_bins it installs and its bin is
// the project's node.
func TestBinShimShadowingBinNeedsPolicy(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		tgz := packFixture(t, b, "bin-node", nil)
		before := projectState(t, b.Project)
		r := b.tool("", "npm", "install", tgz)
		wantCode(t, r, 4, "a bin named node, by default")
		wantStderr(t, r, "node_modules/.bin/node", `bin "node" of pbox-bin-node@1.0.0 shadows the system command node`, `allow_bins: ["pbox-bin-node@1.0.0"]`)
		assertSameTree(t, before, projectState(t, b.Project), "a refused shadowing bin")

		writeFile(t, filepath.Join(b.Project, ".phylum-box.yaml"), "allow_bins: [\"pbox-bin-node@1.0.0\"]\n", 0o644)
		chownTree(t, m, b.Project)
		r = b.tool("", "npm", "install", tgz)
		wantCode(t, r, 0, "a bin named node, with allow_bins")
		wantStderr(t, r, "allow_bins") // the project's loosening is reported
		if out := hostOutput(t, m, b.Project, "node_modules/.bin/node"); !strings.Contains(out, "pbox-fake-node") {
			t.Errorf("node_modules/.bin/node on the host: %q", out)
		}
	})
}

// Links to the project's own packages are legitimate: a workspace is linked into
// node_modules (npm, yarn classic, pnpm) and its bin into node_modules/.bin (yarn
// classic links it straight into the workspace); both are synced and the bin runs
// on the host.
func TestBinShimWorkspaceLinksSynced(t *testing.T) {
	t.Parallel()
	for _, fl := range binFlavours() {
		t.Run(fl.name, func(t *testing.T) {
			forEachMode(t, func(t *testing.T, m mode) {
				b := newPMBox(t, m)
				fl.setup(t, b)
				manifest := map[string]any{"name": "pbox-it", "version": "1.0.0", "private": true, "workspaces": []string{"packages/*"}}
				if fl.name == "pnpm" {
					manifest["dependencies"] = map[string]string{"pbox-ws-a": "workspace:*"}
					writeFile(t, filepath.Join(b.Project, "pnpm-workspace.yaml"), "packages:\n  - packages/*\n", 0o644)
				}
				setManifest(t, b, manifest)
				writeFile(t, filepath.Join(b.Project, "packages", "a", "package.json"),
					`{"name":"pbox-ws-a","version":"1.0.0","bin":{"pbox-ws-tool":"cli.js"},"dependencies":{"semver":"7.6.0"}}`+"\n", 0o644)
				writeFile(t, filepath.Join(b.Project, "packages", "a", "cli.js"), "#!/usr/bin/env node\nconsole.log(\"pbox-ws-tool ran\");\n", 0o755)
				chownTree(t, m, b.Project)
				r := b.tool("", fl.tool, "install")
				wantCode(t, r, 0, fl.name+": a workspace with a bin")
				if target, err := os.Readlink(filepath.Join(b.Project, "node_modules", "pbox-ws-a")); err != nil || target != "../packages/a" {
					t.Errorf("node_modules/pbox-ws-a: link to %q (%v), want ../packages/a", target, err)
				}
				if out := hostOutput(t, m, b.Project, "node_modules/.bin/pbox-ws-tool"); !strings.Contains(out, "pbox-ws-tool ran") {
					t.Errorf("node_modules/.bin/pbox-ws-tool on the host: %q", out)
				}
			})
		})
	}
}

// An install script rewrites the legitimate bin entries of semver (the project's
// node_modules/.bin/semver and, with pnpm, the one in its own package's
// node_modules/.bin): npm's and yarn's link now points at the script's payload,
// pnpm's shims run one more command (pnpm rebuild rewrites the project's shims
// itself afterwards; the package's own is left as the script made it). Refused,
// nothing synced.
func TestBinShimRewrittenBinRefused(t *testing.T) {
	t.Parallel()
	for _, fl := range binFlavours() {
		t.Run(fl.name, func(t *testing.T) {
			forEachMode(t, func(t *testing.T, m mode) {
				b := newPMBox(t, m)
				fl.setup(t, b)
				if fl.name == "pnpm" {
					setManifest(t, b, map[string]any{"name": "pbox-it", "version": "1.0.0",
						"pnpm": map[string]any{"onlyBuiltDependencies": []string{"pbox-bin-tamper@file:vendor/pbox-bin-tamper-1.0.0.tgz"}}})
				}
				tgz := packFixture(t, b, "bin-tamper", nil)
				before := projectState(t, b.Project)
				r := b.tool("", fl.tool, fl.add(tgz, "semver@7.6.0")...)
				wantCode(t, r, 4, fl.name+": an install script that rewrites node_modules/.bin/semver")
				want := "not a bin that pbox-bin-tamper@1.0.0 declares"
				if fl.name == "pnpm" {
					want = "not the shim pnpm writes for ../../../semver/bin/semver.js (it runs something else)"
				}
				wantStderr(t, r, "node_modules/.bin/semver", want, "nothing was synced")
				assertSameTree(t, before, projectState(t, b.Project), "a refused sync")
			})
		})
	}
}

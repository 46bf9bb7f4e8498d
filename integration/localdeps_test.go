package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Local dependencies outside the project (issue 11 item 3): a package beside the
// project, named on the command line or by the manifest, is visible read-only at
// its own path in the steps; a path that leads to a secret is refused before any
// step runs.

// localLib writes the npm package pbox-local-lib at dir.
func localLib(t testing.TB, dir string) {
	t.Helper()
	writeFile(t, filepath.Join(dir, "package.json"), `{"name":"pbox-local-lib","version":"1.0.0","main":"index.js"}`+"\n", 0o644)
	writeFile(t, filepath.Join(dir, "index.js"), "module.exports = 'from-the-local-lib';\n", 0o644)
}

// nodeRequire runs node on the host in dir as the mode's user and returns what it prints.
func nodeRequire(t testing.TB, m mode, dir, pkg string) string {
	t.Helper()
	argv := []string{"node", "-e", "console.log(require(" + strconvQuote(pkg) + "))"}
	if m.rootless() && suite.isRoot {
		argv = append([]string{"setpriv"}, asUserArgs(m.User, argv...)...)
	}
	c := exec.Command(argv[0], argv[1:]...)
	c.Dir = dir
	out, err := c.CombinedOutput()
	if err != nil {
		t.Errorf("node -e require(%q): %v\n%s", pkg, err, out)
	}
	return strings.TrimSpace(string(out))
}

func strconvQuote(s string) string { b, _ := json.Marshal(s); return string(b) }

// TestLocalDepsNpmSibling: `npm install ../lib` (the advice phylum-box gives for
// `npm link`) and "file:../lib" in package.json install the sibling package (before:
// ENOENT, the directory was not in the sandbox); node requires it afterwards; the
// run says what it showed of the host; the sibling itself is not written.
func TestLocalDepsNpmSibling(t *testing.T) {
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		lib := filepath.Join(filepath.Dir(b.Project), "lib")
		localLib(t, lib)
		chownTree(t, m, b.Home)
		libBefore := treeHash(t, lib, true)

		rep := b.reportPath("cli.json")
		r := b.tool(rep, "npm", "install", "../lib")
		wantCode(t, r, 0, "npm install ../lib")
		wantStderr(t, r, "visible read-only in the sandbox: "+lib)
		if got := nodeRequire(t, m, b.Project, "pbox-local-lib"); got != "from-the-local-lib" {
			t.Errorf("node cannot require the local lib after the install: %q", got)
		}
		if target, err := os.Readlink(filepath.Join(b.Project, "node_modules", "pbox-local-lib")); err != nil || target != "../../lib" {
			t.Errorf("node_modules/pbox-local-lib: %q, %v; want a link to ../../lib as bare npm makes", target, err)
		}
		deps, _ := readJSONFile(t, filepath.Join(b.Project, "package.json"))["dependencies"].(map[string]any)
		if deps["pbox-local-lib"] != "file:../lib" {
			t.Errorf("package.json dependencies: %v", deps)
		}
		assertSameTree(t, libBefore, treeHash(t, lib, true), "the local lib")
		var hp struct {
			HostPaths []string `json:"host_paths_read_only"`
		}
		data, _ := os.ReadFile(rep)
		_ = json.Unmarshal(data, &hp)
		if !strings.Contains(strings.Join(hp.HostPaths, "\n"), lib) {
			t.Errorf("the report does not list %s among host_paths_read_only: %s", lib, data)
		}

		// The manifest alone, in a fresh checkout: npm install reads file:../lib.
		if err := os.RemoveAll(filepath.Join(b.Project, "node_modules")); err != nil {
			t.Fatal(err)
		}
		_ = os.Remove(filepath.Join(b.Project, "package-lock.json"))
		r = b.tool("", "npm", "install")
		wantCode(t, r, 0, "npm install with file:../lib in package.json")
		if got := nodeRequire(t, m, b.Project, "pbox-local-lib"); got != "from-the-local-lib" {
			t.Errorf("node cannot require the local lib after the manifest's install: %q", got)
		}
		// And the committed lockfile, as npm ci reads it.
		if err := os.RemoveAll(filepath.Join(b.Project, "node_modules")); err != nil {
			t.Fatal(err)
		}
		r = b.tool("", "npm", "ci")
		wantCode(t, r, 0, "npm ci with ../lib in the lockfile")
		if got := nodeRequire(t, m, b.Project, "pbox-local-lib"); got != "from-the-local-lib" {
			t.Errorf("node cannot require the local lib after npm ci: %q", got)
		}
	})
}

// TestLocalDepsNpmHostileManifest: a checkout whose package.json names the
// caller's ~/.ssh (planted with a key, and made to look like a package), the home
// itself, the root, or a symlink in the project leading to the home is refused
// with exit 2 before any step runs: no secret in any output, the project and the
// home as they were. Its twin, the same project naming a real sibling package,
// installs (TestLocalDepsNpmSibling).
func TestLocalDepsNpmHostileManifest(t *testing.T) {
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		// A package.json in ~/.ssh, so that only the location gives it away.
		writeFile(t, filepath.Join(b.Home, ".ssh", "package.json"), `{"name":"keys","version":"1.0.0"}`, 0o644)
		if err := os.Symlink(b.Home, filepath.Join(b.Project, "vendor-lib")); err != nil {
			t.Fatal(err)
		}
		chownTree(t, m, b.Home)
		for _, tc := range []struct{ spec, why string }{
			{"file:../../.ssh", "hidden directory of your home"},
			{"file:" + filepath.Join(b.Home, ".ssh"), "hidden directory of your home"},
			{"file:~/", "your home directory"},
			{"link:/", "root directory"},
			{"file:vendor-lib", "symbolic link in the project"},
			{"file:vendor-lib/.ssh", "hidden directory"},
			{"file:..", "holds the project"},
		} {
			writeFile(t, filepath.Join(b.Project, "package.json"), `{"name":"pbox-it","version":"1.0.0","dependencies":{"x":"`+tc.spec+`"}}`+"\n", 0o644)
			chownTree(t, m, b.Project)
			before := projectState(t, b.Project)
			homeBefore := pmHomeHash(b)
			rep := b.reportPath("hostile.json")
			_ = os.Remove(rep)
			r := b.tool(rep, "npm", "install")
			wantCode(t, r, 2, "npm install with "+tc.spec)
			wantStderr(t, r, tc.why, "project file")
			if strings.Contains(r.Stdout+r.Stderr, b.Mark) {
				t.Errorf("%s: a secret is in the output:\n%s", tc.spec, r)
			}
			if strings.Contains(r.Stderr, "resolving") {
				t.Errorf("%s: a step ran before the refusal:\n%s", tc.spec, r)
			}
			assertSameTree(t, before, projectState(t, b.Project), tc.spec)
			assertSameTree(t, homeBefore, pmHomeHash(b), tc.spec)
		}
		// The user cannot name the home's hidden dirs either.
		r := b.tool("", "npm", "install", "../../.ssh")
		wantCode(t, r, 2, "npm install ../../.ssh")
		wantStderr(t, r, "hidden directory of your home")
	})
}

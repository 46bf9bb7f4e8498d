package integration

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Scaffolders and write-back tools (issue 11, item 1): `npm create`, `npx
// create-*`, `npx prettier --write` run prechecked, sandboxed and offline, and what
// they write to the project is synced back through the validated, all-or-nothing
// sync (managers/writeback.go): a scaffolder may only add files, .git is never
// synced, nothing outside the project is kept, and from the home directory the one
// new directory becomes the project. Each hostile scaffolder has its legitimate twin.

// scaffoldScript is the bin of every create-pbox-* test package; what it does
// besides scaffolding depends on the package's name. It asks a question on stdin
// (the caller's stdin is a pipe that never closes: only the sandbox's empty stdin
// lets it finish) and starts `npm install` in the new project, as create-* tools do.
const scaffoldScript = `#!/usr/bin/env node
const fs = require('fs'), path = require('path'), cp = require('child_process');
const kind = require('./package.json').name.replace('create-pbox-', '');
const rl = require('readline').createInterface({ input: process.stdin, output: process.stdout });
let done = false;
rl.question('Project name? ', (a) => { if (!done) { done = true; rl.close(); go('answer') } });
rl.on('close', () => { if (!done) { done = true; go('EOF') } });
function go(how) {
  const dir = process.argv[2] || 'pbox-app';
  fs.mkdirSync(path.join(dir, 'src'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'pbox-app', version: '1.0.0', private: true }) + '\n');
  fs.writeFileSync(path.join(dir, 'src', 'index.js'), 'module.exports = 1\n');
  fs.mkdirSync(path.join(dir, '.git'), { recursive: true });
  fs.writeFileSync(path.join(dir, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  if (kind === 'githook') {
    fs.mkdirSync('.git/hooks', { recursive: true });
    fs.writeFileSync('.git/hooks/pre-commit', '#!/bin/sh\necho PWNED\n', { mode: 0o755 });
  }
  if (kind === 'edit') fs.appendFileSync('README.md', 'PWNED\n');
  if (kind === 'outside') fs.writeFileSync('../pbox-outside', 'PWNED\n');
  if (kind === 'dotfiles') {
    fs.writeFileSync('.bashrc', 'echo PWNED\n');
    fs.mkdirSync(path.join(process.env.HOME, '.ssh'), { recursive: true });
    fs.writeFileSync(path.join(process.env.HOME, '.ssh', 'authorized_keys'), 'ssh-ed25519 PWNED\n');
  }
  const r = cp.spawnSync('npm', ['install'], { cwd: dir, stdio: 'inherit' });
  console.log('PBOX-SCAFFOLD stdin=' + how + ' install=' + r.status);
}
`

func scaffoldRegistry(t *testing.T) *npmLocalRegistry {
	reg := startNpmLocalRegistry(t, "")
	for _, kind := range []string{"ok", "githook", "edit", "outside", "dotfiles"} {
		name := "create-pbox-" + kind
		reg.Add(name, "1.0.0", map[string]any{"bin": map[string]string{name: "index.js"}}, map[string]string{"index.js": scaffoldScript})
	}
	return reg
}

// scaffold runs `phylum-box npm create pbox-KIND DIR` in dir with a caller stdin
// that never reaches EOF.
func scaffold(t *testing.T, b *pmBox, dir, kind, target string) result {
	t.Helper()
	return scaffoldWith(t, b, "npm", dir, kind, target)
}

func scaffoldWith(t *testing.T, b *pmBox, tool, dir, kind, target string) result {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close() // held open for the whole run: a read of it would never end
	inv := b.toolInv("", tool, "create", "pbox-"+kind, target)
	inv.Dir, inv.Stdin, inv.Timeout = dir, r, 3*time.Minute
	return inv.exec(t)
}

func TestScaffoldWritesBackNewFilesOnly(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		reg := scaffoldRegistry(t)
		writeProjectFile(t, b, ".npmrc", "registry="+reg.URL+"/\n")
		before := treeHash(t, b.Project, true)

		// The hostile twins first: each is refused with exit 4 and leaves the
		// project exactly as it was — not even the new directory is synced.
		for _, c := range []struct{ kind, what string }{
			{"githook", ".git/hooks/pre-commit"},
			{"edit", "README.md"},
			{"outside", "pbox-outside"},
		} {
			r := scaffold(t, b, b.Project, c.kind, "app")
			wantCode(t, r, 4, "a scaffolder that also writes "+c.what)
			wantStderr(t, r, "refused: ", c.what, "nothing was synced back")
			assertSameTree(t, before, treeHash(t, b.Project, true), "the project after create-pbox-"+c.kind)
			if pathExists(filepath.Join(filepath.Dir(b.Project), "pbox-outside")) {
				t.Fatalf("create-pbox-%s wrote next to the project", c.kind)
			}
		}

		// The legitimate scaffolder: the new directory arrives, its own git
		// repository is left out, the install it started was skipped, and the
		// question on stdin read EOF.
		r := scaffold(t, b, b.Project, "ok", "app")
		wantCode(t, r, 0, "npm create pbox-ok app")
		if !strings.Contains(r.Stdout, "PBOX-SCAFFOLD stdin=EOF install=0") {
			t.Errorf("the scaffolder did not run to its end with an empty stdin:\n%s", r)
		}
		wantStderr(t, r, "skipped 'npm install'", "synced back: A app/ (2 file(s))", "not synced: app/.git", "next: cd app && phylum-box npm install")
		wantFile(t, filepath.Join(b.Project, "app", "package.json"), "the scaffolded package.json")
		wantFile(t, filepath.Join(b.Project, "app", "src", "index.js"), "the scaffolded source")
		if pathExists(filepath.Join(b.Project, "app", ".git")) || pathExists(filepath.Join(b.Project, "app", "node_modules")) {
			t.Errorf("app/.git or app/node_modules was synced")
		}
		after := treeHash(t, b.Project, true)
		for p := range after {
			if p == "app" || strings.HasPrefix(p, "app/") {
				delete(after, p)
			}
		}
		assertSameTree(t, before, after, "the project besides app/")
		if st, err := os.Stat(filepath.Join(b.Project, "app", "package.json")); err != nil || st.Sys().(*syscall.Stat_t).Uid != uint32(m.uid()) {
			t.Errorf("app/package.json is not the caller's: %v", err)
		}
	})
}

// pnpm create and yarn create are write-back runs too: the same scaffolders, the
// same rules, and the next step names the manager.
func TestScaffoldPnpmYarnCreate(t *testing.T) {
	t.Parallel()
	requireTool(t, "pnpm")
	requireTool(t, "yarn")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		reg := scaffoldRegistry(t)
		writeProjectFile(t, b, ".npmrc", "registry="+reg.URL+"/\n")
		for _, tool := range []string{"pnpm", "yarn"} {
			before := treeHash(t, b.Project, true)
			r := scaffoldWith(t, b, tool, b.Project, "githook", "bad")
			wantCode(t, r, 4, tool+" create of a scaffolder writing .git/hooks")
			wantStderr(t, r, "refused: .git/hooks/pre-commit", "nothing was synced back")
			assertSameTree(t, before, treeHash(t, b.Project, true), "the project after "+tool+" create pbox-githook")

			app := tool + "app"
			r = scaffoldWith(t, b, tool, b.Project, "ok", app)
			wantCode(t, r, 0, tool+" create pbox-ok")
			if !strings.Contains(r.Stdout+r.Stderr, "PBOX-SCAFFOLD stdin=EOF install=0") {
				t.Errorf("the scaffolder did not run to its end with an empty stdin:\n%s", r)
			}
			wantStderr(t, r, "synced back: A "+app+"/", "next: cd "+app+" && phylum-box "+tool+" install")
			wantFile(t, filepath.Join(b.Project, app, "src", "index.js"), tool+" create's new project")
		}
	})
}

// From the home directory the scaffolder runs in an empty directory standing for
// it: its one new directory becomes the project; a dotfile or ~/.ssh key written
// beside it stops everything.
func TestScaffoldFromHome(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		reg := scaffoldRegistry(t)
		npmrc, err := os.ReadFile(filepath.Join(b.Home, ".npmrc"))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(b.Home, ".npmrc"), string(npmrc)+"registry="+reg.URL+"/\n", 0o600)
		chownTree(t, m, b.Home)
		home := pmHomeHash(b)

		r := scaffold(t, b, b.Home, "dotfiles", "evilapp")
		wantCode(t, r, 4, "a scaffolder writing ~/.bashrc and ~/.ssh/authorized_keys from $HOME")
		wantStderr(t, r, "refused: .bashrc", "refused: ~/.ssh/authorized_keys", "nothing was synced back")
		assertSameTree(t, home, pmHomeHash(b), "the home directory after a hostile scaffolder")

		r = scaffold(t, b, b.Home, "ok", "myapp")
		wantCode(t, r, 0, "npm create pbox-ok myapp from $HOME")
		wantStderr(t, r, "synced back: A myapp/", "next: cd myapp && phylum-box npm install")
		wantFile(t, filepath.Join(b.Home, "myapp", "package.json"), "the new project")
		after := pmHomeHash(b)
		for p := range after {
			if p == "myapp" || strings.HasPrefix(p, "myapp/") {
				delete(after, p)
			}
		}
		assertSameTree(t, home, after, "the home directory besides myapp/")

		// A second run cannot replace it.
		r = scaffold(t, b, b.Home, "ok", "myapp")
		wantCode(t, r, 4, "npm create into an existing directory from $HOME")
		wantStderr(t, r, "myapp", "already exists")
	})
}

// The live registry: create-vite scaffolds a React project that phylum-box then
// installs; prettier, not installed in the project, formats a file in place.
func TestScaffoldViteThenInstall(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		r := scaffoldLive(t, b, b.Project, "npm", "create", "vite@latest", "app", "--", "--template", "react-ts")
		wantCode(t, r, 0, "npm create vite@latest app -- --template react-ts")
		wantStderr(t, r, "synced back: A app/", "next: cd app && phylum-box npm install")
		wantFile(t, filepath.Join(b.Project, "app", "package.json"), "app/package.json")
		wantFile(t, filepath.Join(b.Project, "app", "src", "main.tsx"), "app/src/main.tsx")

		r = scaffoldLive(t, b, filepath.Join(b.Project, "app"), "npm", "install")
		wantCode(t, r, 0, "cd app && phylum-box npm install")
		wantFile(t, filepath.Join(b.Project, "app", "node_modules", "vite", "package.json"), "vite installed in app")
		wantFile(t, filepath.Join(b.Project, "app", "package-lock.json"), "app's lockfile")
	})
}

// A starter kit run by pnpm or yarn sees their user agent, as bare (found trying
// phylum-box as a new user): create-vite's closing instructions name the manager
// that ran it, not npm.
func TestScaffoldUserAgent(t *testing.T) {
	t.Parallel()
	requireTool(t, "pnpm")
	requireTool(t, "yarn")
	forEachMode(t, func(t *testing.T, m mode) {
		for _, tc := range []struct{ tool, want string }{{"pnpm", "pnpm install"}, {"yarn", "yarn dev"}} {
			b := newPMBox(t, m)
			r := scaffoldLive(t, b, b.Project, tc.tool, "create", "vite@9.3.0", "app", "--template", "vanilla", "--no-interactive")
			wantCode(t, r, 0, tc.tool+" create vite app --template vanilla")
			if !strings.Contains(r.Stdout, "\n  "+tc.want+"\n") || strings.Contains(r.Stdout, "\n  npm ") {
				t.Errorf("%s create vite: the instructions do not name %s:\n%s", tc.tool, tc.tool, r.Stdout)
			}
			wantFile(t, filepath.Join(b.Project, "app", "package.json"), "app/package.json")
		}
	})
}

func TestNpxPrettierWritesBack(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		writeProjectFile(t, b, "src/x.ts", "const   x  =  {a:1}\n")
		r := scaffoldLive(t, b, b.Project, "npx", "prettier@3", "--write", "src/x.ts")
		wantCode(t, r, 0, "npx prettier@3 --write src/x.ts")
		wantStderr(t, r, "synced back: M src/x.ts")
		if data, _ := os.ReadFile(filepath.Join(b.Project, "src", "x.ts")); string(data) != "const x = { a: 1 };\n" {
			t.Errorf("src/x.ts was not formatted: %q", data)
		}
		if pathExists(filepath.Join(b.Project, "node_modules")) {
			t.Errorf("prettier was installed into the project")
		}
	})
}

func scaffoldLive(t *testing.T, b *pmBox, dir string, tool string, args ...string) result {
	t.Helper()
	inv := b.toolInv("", tool, args...)
	inv.Dir, inv.Timeout = dir, 6*time.Minute
	return inv.exec(t)
}

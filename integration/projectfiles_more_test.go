package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 15: a project file is read only as itself, and no config copy given to a
// step without credentials holds a line that looks like a credential. A cloned
// project's .cargo/config.toml, .bundle/config or lockfile that is a symbolic link
// to a file of the caller's $HOME is refused before anything runs, naming the file
// and where it points; the same file linking inside the project is read. Each case
// root and rootless.

// plantHomeFile writes a file with a password into the caller's $HOME (the kind a
// link committed in a checkout would lead to) and returns its path.
func plantHomeFile(t *testing.T, b *box) string {
	t.Helper()
	p := filepath.Join(b.Home, ".pypirc")
	writeFile(t, p, "[pypi]\nusername = __token__\npassword = "+b.Mark+"\n", 0o600)
	chownTree(t, b.Mode, b.Home)
	return p
}

// linkProjectFile replaces the project's rel by a symbolic link to target.
func linkProjectFile(t *testing.T, b *box, rel, target string) {
	t.Helper()
	p := filepath.Join(b.Project, rel)
	os.Remove(p)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
	chownTree(t, b.Mode, b.Project)
}

// wantLinkRefused: exit 2 naming the file and the link's target, the planted
// secret printed nowhere, the project as it was.
func wantLinkRefused(t *testing.T, b *box, r result, before tree, rel, target string) {
	t.Helper()
	wantCode(t, r, 2, rel+" linked out of the project")
	wantStderr(t, r, rel, "symbolic link", target)
	if strings.Contains(r.Stdout+r.Stderr, b.Mark) {
		t.Errorf("the linked file's content was printed:\n%s", r)
	}
	assertSameTree(t, before, treeHash(t, b.Project, true), "a refused "+rel)
}

func TestProjectFileLinkedOutCargo(t *testing.T) {
	t.Parallel()
	cargoNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		reg := cargoGreetRegistry(t)
		db := regMalDB(t, m, "crates.io")
		b := cargoProject(t, m, reg, "fn main() { println!(\"{}\", pbox_greet::greet()); }\n", "pbox_greet")
		secret := plantHomeFile(t, b)
		cfg := reg.ConfigToml()

		// .cargo/config.toml -> ~/.pypirc: refused, nothing fetched.
		linkProjectFile(t, b, ".cargo/config.toml", secret)
		before := treeHash(t, b.Project, true)
		r := b.cargo(db, "build")
		wantLinkRefused(t, b, r, before, ".cargo/config.toml", secret)
		if hits := reg.Hits(); len(hits) > 0 {
			t.Errorf("a refused build reached the registry: %q", hits)
		}

		// The twin: .cargo/config.toml -> ../config/cargo.toml inside the project.
		writeFile(t, filepath.Join(b.Project, "config", "cargo.toml"), cfg, 0o644)
		linkProjectFile(t, b, ".cargo/config.toml", "../config/cargo.toml")
		r = b.cargo(db, "build")
		wantCode(t, r, 0, "cargo build with .cargo/config.toml linking inside the project")
		out, err := exec.Command(filepath.Join(b.Project, "target", "debug", "proj")).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "hello dep" {
			t.Errorf("the built binary: %v %s\n%s", err, out, r)
		}
		if target, err := os.Readlink(filepath.Join(b.Project, ".cargo", "config.toml")); err != nil || target != "../config/cargo.toml" {
			t.Errorf("the project's link was changed: %q %v", target, err)
		}

		// Cargo.lock -> the home file: refused, naming it.
		linkProjectFile(t, b, "Cargo.lock", secret)
		before = treeHash(t, b.Project, true)
		r = b.cargo(db, "build")
		wantLinkRefused(t, b, r, before, "Cargo.lock", secret)
	})
}

func TestProjectFileLinkedOutBundle(t *testing.T) {
	t.Parallel()
	bundleNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		gs := bundleGreetSource(t)
		db := regMalDB(t, m, "RubyGems")
		b := bundleProject(t, m, gs, "pbox_greet")
		secret := plantHomeFile(t, b)

		linkProjectFile(t, b, ".bundle/config", secret)
		before := treeHash(t, b.Project, true)
		r := b.bundle(db, "install")
		wantLinkRefused(t, b, r, before, ".bundle/config", secret)
		if hits := gs.Hits(); len(hits) > 0 {
			t.Errorf("a refused install reached the gem server: %q", hits)
		}

		os.Remove(filepath.Join(b.Project, ".bundle", "config"))
		linkProjectFile(t, b, "Gemfile.lock", secret)
		before = treeHash(t, b.Project, true)
		r = b.bundle(db, "install")
		wantLinkRefused(t, b, r, before, "Gemfile.lock", secret)

		// The twin: the same project with a plain .bundle/config installs.
		os.Remove(filepath.Join(b.Project, "Gemfile.lock"))
		writeFile(t, filepath.Join(b.Project, ".bundle", "config"), "---\nBUNDLE_JOBS: \"2\"\n", 0o644)
		chownTree(t, m, b.Home)
		r = b.bundle(db, "install")
		wantCode(t, r, 0, "bundle install with a plain .bundle/config")
		if gemDir(t, b.Project, "pbox_greet-1.0.0") == "" {
			t.Errorf("pbox_greet is not installed\n%s", r)
		}
	})
}

// npmPeekRegistry serves pbox-peek, whose install script reports whether the
// ~/.npmrc it can read holds the planted mark, and whether it is there at all.
func npmPeekRegistry(t *testing.T) *npmLocalRegistry {
	reg := startNpmLocalRegistry(t, "")
	// The needle is spelt in two halves: the script is in the packument.
	script := `node -e "const fs=require('fs');let d='';try{d=fs.readFileSync(process.env.HOME+'/.npmrc','utf8')}catch(e){}` +
		`console.log('PBOX-HOME-NPMRC secret='+d.includes('PBOX'+'SECRET')+' kept='+d.includes('fund'))"`
	reg.Add("pbox-peek", "1.0.0", map[string]any{"scripts": map[string]string{"postinstall": script}}, nil)
	return reg
}

// npm: a package-lock.json linked to a home file is refused; an .npmrc linking
// inside the project works.
func TestProjectFileLinkedOutNpm(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		secret := plantHomeFile(t, b.box)
		reg := npmPeekRegistry(t)
		writeProjectFile(t, b, "config/npmrc", "registry="+reg.URL+"/\n")

		linkProjectFile(t, b.box, "package-lock.json", secret)
		before := treeHash(t, b.Project, true)
		r := b.tool("", "npm", "install", "pbox-peek@1.0.0")
		wantLinkRefused(t, b.box, r, before, "package-lock.json", secret)
		os.Remove(filepath.Join(b.Project, "package-lock.json"))

		// The twin.
		linkProjectFile(t, b.box, ".npmrc", "config/npmrc")
		r = b.tool("", "npm", "install", "pbox-peek@1.0.0")
		wantCode(t, r, 0, "npm install with .npmrc linking inside the project")
		wantFile(t, filepath.Join(b.Project, "node_modules", "pbox-peek", "package.json"), "pbox-peek installed")
	})
}

// The caller's own ~/.npmrc lines that only look like secrets to a reader (an
// unusual key, a password for a host npm is not asked about, a commented-out
// token) are not in the copy an install script can read; the install still works
// and the copy keeps the settings (fund=false).
func TestUserNpmrcUnusualSecretsScrubbed(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		reg := npmPeekRegistry(t)
		writeProjectFile(t, b, ".npmrc", "registry="+reg.URL+"/\n")
		writeFile(t, filepath.Join(b.Home, ".npmrc"), "fund=false\n//npm.pbox-it.invalid/:_password="+b.Mark+"\nsome-api-key="+b.Mark+"\n# deploy_token="+b.Mark+"\n", 0o600)
		chownTree(t, m, b.Home)
		r := b.tool("", "npm", "install", "pbox-peek@1.0.0")
		wantCode(t, r, 0, "npm install with unusual secret lines in ~/.npmrc")
		wantFile(t, filepath.Join(b.Project, "node_modules", "pbox-peek", "package.json"), "pbox-peek installed")
		if !strings.Contains(r.Stdout+r.Stderr, "PBOX-HOME-NPMRC secret=false kept=true") {
			t.Errorf("the install script saw a secret line of ~/.npmrc (or no copy of it):\n%s", r)
		}
	})
}

// A project .npmrc or .yarnrc.yml linking to a home file with a password is
// refused before anything runs, naming it and its target; a .yarnrc.yml linking to
// config/yarnrc.yml inside the project is read, and yarn add works.
func TestProjectFileLinkedOutNpmrcYarnrc(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		containmentOnly(t, m, b.Home) // the sandbox alone: a hostile fixture
		secret := plantHomeFile(t, b.box)
		linkProjectFile(t, b.box, ".npmrc", secret)
		before := treeHash(t, b.Project, true)
		r := b.tool("", "npm", "install", "lodash@4.17.21")
		wantLinkRefused(t, b.box, r, before, ".npmrc", secret)
		os.Remove(filepath.Join(b.Project, ".npmrc"))

		port, accepted := loopbackListener(t)
		berryProject(t, b, "nodeLinker: node-modules\n", port)
		rc, err := os.ReadFile(filepath.Join(b.Project, ".yarnrc.yml"))
		if err != nil {
			t.Fatal(err)
		}
		linkProjectFile(t, b.box, ".yarnrc.yml", secret)
		before = treeHash(t, b.Project, true)
		r = b.tool("", "yarn", "add", "lodash")
		wantLinkRefused(t, b.box, r, before, ".yarnrc.yml", secret)
		if strings.Contains(r.Stderr, "pbox-yarnPath: ran") {
			t.Errorf("the project's release ran for a refused install\n%s", r)
		}

		// The twin.
		writeProjectFile(t, b, "config/yarnrc.yml", string(rc))
		linkProjectFile(t, b.box, ".yarnrc.yml", "config/yarnrc.yml")
		r = b.tool("", "yarn", "add", "lodash")
		wantCode(t, r, 0, "yarn add with .yarnrc.yml linking inside the project")
		if b.installedLodash() == "" {
			t.Errorf("lodash is not installed\n%s", r)
		}
		if accepted() != 0 {
			t.Error("project code reached the listener")
		}
	})
}

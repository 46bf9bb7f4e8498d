package managers

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A project config file is read as itself: a link out of the project (to a home
// file with a password) or a hard link is refused; a link inside is followed.
func TestProjectFileProblem(t *testing.T) {
	root, outside := t.TempDir(), t.TempDir()
	secret := filepath.Join(outside, ".pypirc")
	writeFile(t, secret, "[pypi]\npassword = hunter2\n")
	writeFile(t, filepath.Join(root, "config", "rc"), "network-timeout 60000\n")
	writeFile(t, filepath.Join(root, "plain"), "x\n")
	link := func(target, name string) string {
		p := filepath.Join(root, name)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	hard := filepath.Join(root, "hard")
	if err := os.Link(secret, hard); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path, want string
	}{
		{filepath.Join(root, "plain"), ""},
		{filepath.Join(root, "absent"), ""},
		{link("config/rc", "inside"), ""},
		{link(secret, "out-abs"), "symbolic link out of the project (to " + secret + ")"},
		{link("../"+filepath.Base(outside)+"/.pypirc", "out-rel"), "symbolic link out of the project"},
		{link("inside", "chain"), ""},
		{link("/nonexistent/x", "dangling"), "symbolic link out of the project"},
		{filepath.Join(root, "config"), "not a regular file"},
		{hard, "2 hard links"},
	} {
		got := projectFileProblem(root, tc.path)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: %q, want %q", filepath.Base(tc.path), got, tc.want)
		}
	}
}

// yarn refuses a project .yarnrc or .yarnrc.yml that links to a home file (read on
// the host, it was rendered into the steps as the project's settings).
func TestYarnRCSymlinkedOut(t *testing.T) {
	home := t.TempDir()
	writeFile(t, filepath.Join(home, "secrets"), "npmAuthToken: from-home\n")
	for _, tc := range []struct{ pm, rc string }{{"yarn@1.22.22", ".yarnrc"}, {"yarn@4.9.0", ".yarnrc.yml"}} {
		env := testEnv(t, map[string]string{"package.json": `{"name":"c","packageManager":"` + tc.pm + `"}`})
		if err := os.Symlink(filepath.Join(home, "secrets"), filepath.Join(env.Dir, tc.rc)); err != nil {
			t.Fatal(err)
		}
		_, err := planYarn(t, env, "install")
		wantYarnRefusal(t, err, tc.rc, "symbolic link out of the project")
	}
}

// readProjectFile opens a project file as itself: beneath the project root, a link
// elsewhere in the project is followed, a link out of it (the file's or a
// directory's), a hard link, a directory or a FIFO is refused naming it.
func TestReadProjectFile(t *testing.T) {
	root, outside := t.TempDir(), t.TempDir()
	secret := filepath.Join(outside, ".pypirc")
	writeFile(t, secret, "[pypi]\npassword = hunter2\n")
	writeFile(t, filepath.Join(root, "config", "cargo.toml"), "[build]\njobs = 2\n")
	writeFile(t, filepath.Join(root, "plain"), "x\n")
	link := func(target, name string) string {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	hard := filepath.Join(root, "hard")
	if err := os.Link(secret, hard); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(root, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path, want, refused string
		missing             bool
	}{
		{path: filepath.Join(root, "plain"), want: "x\n"},
		{path: filepath.Join(root, "absent"), missing: true},
		{path: link("../config/cargo.toml", ".cargo/config.toml"), want: "[build]\njobs = 2\n"},
		{path: link(root+"/config/cargo.toml", "abs-inside"), want: "[build]\njobs = 2\n"},
		{path: link(secret, "out-abs"), refused: "symbolic link out of the project (to " + secret + ")"},
		{path: link("../"+filepath.Base(outside)+"/.pypirc", "out-rel"), refused: "symbolic link out of the project"},
		{path: filepath.Join(link(outside, "dirlink"), ".pypirc"), refused: filepath.Join(root, "dirlink") + " is a symbolic link out of the project (to " + outside + ")"},
		{path: hard, refused: "2 hard links"},
		{path: fifo, refused: "not a regular file"},
		{path: filepath.Join(root, "config"), refused: "not a regular file"},
		{path: secret, refused: "not inside the project"},
	} {
		got, err := readProjectFile(root, tc.path)
		var pe *ProjectFileError
		switch {
		case tc.missing:
			if !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s: %v, want not exist", tc.path, err)
			}
		case tc.refused != "":
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), tc.refused) || strings.Contains(string(got), "hunter2") {
				t.Errorf("%s: %q %v, want a refusal with %q", tc.path, got, err, tc.refused)
			}
		case err != nil || string(got) != tc.want:
			t.Errorf("%s: %q %v, want %q", tc.path, got, err, tc.want)
		}
	}
}

// Every manager's plan refuses its manifests, lockfiles and configs when they link
// out of the project or are hard links, naming the file and where it points; the
// same files as plain files or links inside the project plan, and the user's own
// dotfiles at $HOME (links into a dotfiles checkout) are not the project's.
func TestCheckedPlanProjectFiles(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "planted")
	writeFile(t, secret, "password = hunter2\n")
	for _, tc := range []struct{ manager, file string }{
		{"npm", "package-lock.json"}, {"npm", "package.json"}, {"npx", "npm-shrinkwrap.json"},
		{"yarn", "yarn.lock"}, {"pnpm", "pnpm-lock.yaml"}, {"pnpm", "pnpm-workspace.yaml"}, {"pnpm", ".pnpmfile.cjs"},
		{"cargo", "Cargo.lock"}, {"cargo", "Cargo.toml"}, {"cargo", "rust-toolchain.toml"}, {"cargo", ".cargo/config.toml"},
		{"bundle", "Gemfile.lock"}, {"bundle", ".bundle/config"}, {"poetry", "poetry.lock"},
		{"poetry", "pyproject.toml"}, {"poetry", "poetry.toml"}, {"pip", "requirements.txt"}, {"pip", ".venv/pip.conf"}, {"pip", "pyproject.toml"},
	} {
		t.Run(tc.manager+" "+tc.file, func(t *testing.T) {
			root := t.TempDir()
			env := Env{Dir: root, Home: t.TempDir()}
			p := filepath.Join(root, filepath.FromSlash(tc.file))
			plan := &Plan{Manager: tc.manager, Project: Project{Root: root, Cwd: "."}}
			writeFile(t, p, "plain\n")
			if _, err := env.checkedPlan(plan, nil); err != nil {
				t.Fatalf("plain file refused: %v", err)
			}
			os.Remove(p)
			writeFile(t, filepath.Join(root, "shared", "f"), "in the project\n")
			if err := os.Symlink(filepath.Join("..", strings.Repeat("../", strings.Count(tc.file, "/")), "shared", "f")[3:], p); err != nil {
				t.Fatal(err)
			}
			if _, err := env.checkedPlan(plan, nil); err != nil {
				t.Fatalf("link inside the project refused: %v", err)
			}
			os.Remove(p)
			if err := os.Symlink(secret, p); err != nil {
				t.Fatal(err)
			}
			_, err := env.checkedPlan(plan, nil)
			var ref *Refusal
			if !errors.As(err, &ref) || ref.Manager != tc.manager || !strings.Contains(err.Error(), tc.file) || !strings.Contains(err.Error(), "(to "+secret+")") {
				t.Fatalf("link out: %v, want a %s refusal naming %s and %s", err, tc.manager, tc.file, secret)
			}
			os.Remove(p)
			if err := os.Link(secret, p); err != nil {
				t.Fatal(err)
			}
			if _, err := env.checkedPlan(plan, nil); err == nil || !strings.Contains(err.Error(), "hard links") {
				t.Fatalf("hard link: %v", err)
			}
			os.Remove(p)
			if passthrough := (&Plan{Manager: tc.manager, Project: Project{Root: root}, Passthrough: true}); true {
				if err := os.Symlink(secret, p); err != nil {
					t.Fatal(err)
				}
				if _, err := env.checkedPlan(passthrough, nil); err != nil {
					t.Fatalf("a passthrough plan reads nothing: %v", err)
				}
			}
		})
	}
	// A project at $HOME: the user's own dotfiles are theirs.
	home := t.TempDir()
	writeFile(t, filepath.Join(outside, "dotfiles", "npmrc"), "registry=https://r.example/\n")
	if err := os.Symlink(filepath.Join(outside, "dotfiles", "npmrc"), filepath.Join(home, ".npmrc")); err != nil {
		t.Fatal(err)
	}
	env := Env{Dir: home, Home: home}
	if _, err := env.checkedPlan(&Plan{Manager: "npm", Project: Project{Root: home, Cwd: "."}}, nil); err != nil {
		t.Fatalf("~/.npmrc linked into dotfiles refused for a project at $HOME: %v", err)
	}
}

// The real plans refuse a lockfile linked out of the project (npm, and cargo's
// .cargo/config.toml, which is rendered into the steps); a .cargo/config.toml
// linking to a file inside the project is read.
func TestPlansRefuseLinkedProjectFiles(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "planted")
	writeFile(t, secret, "password = hunter2\n")
	env := testEnv(t, nil)
	if err := os.Symlink(secret, filepath.Join(env.Dir, "package-lock.json")); err != nil {
		t.Fatal(err)
	}
	m, _ := Lookup("npm")
	if _, err := m.Plan([]string{"install"}, env); err == nil || !strings.Contains(err.Error(), "package-lock.json") || !strings.Contains(err.Error(), secret) {
		t.Errorf("npm install with package-lock.json linked out: %v", err)
	}

	proj := t.TempDir()
	writeFile(t, filepath.Join(proj, "Cargo.toml"), "[package]\nname = \"p\"\nversion = \"0.1.0\"\nedition = \"2021\"\n")
	writeFile(t, filepath.Join(proj, "src", "main.rs"), "fn main() {}\n")
	writeFile(t, filepath.Join(proj, "config", "cargo.toml"), "[build]\njobs = 2\n")
	if err := os.MkdirAll(filepath.Join(proj, ".cargo"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(proj, ".cargo", "config.toml")
	if err := os.Symlink("../config/cargo.toml", cfg); err != nil {
		t.Fatal(err)
	}
	cenv := Env{Dir: proj, Home: t.TempDir(), Environ: []string{"PATH=" + os.Getenv("PATH")}}
	cm, _ := Lookup("cargo")
	p, err := cm.Plan([]string{"build"}, cenv)
	if err != nil {
		t.Fatalf("cargo build with .cargo/config.toml linked inside the project: %v", err)
	}
	found := false
	for _, f := range p.Sandbox.Credentials.Files {
		found = found || f.Project == ".cargo/config.toml" && string(f.Public) == "[build]\njobs = 2\n"
	}
	if !found {
		t.Errorf("the linked config is not carried: %+v", p.Sandbox.Credentials)
	}
	os.Remove(cfg)
	if err := os.Symlink(secret, cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := cm.Plan([]string{"build"}, cenv); err == nil || !strings.Contains(err.Error(), ".cargo/config.toml is a symbolic link out of the project (to "+secret+")") {
		t.Errorf("cargo build with .cargo/config.toml linked out: %v", err)
	}
}

// The build copy of a config is scrubbed whatever its format; a Gemfile's build
// copy is the project's Ruby as it is; credentials files have none.
func TestConfigFileBuildCopy(t *testing.T) {
	for _, tc := range []struct {
		f    ConfigFile
		want []byte
	}{
		{ConfigFile{Home: ".npmrc", Public: []byte("registry=https://r/\n//host/:_password=aHVudGVy\nsome-api-key=k\n")}, []byte("registry=https://r/\n")},
		{ConfigFile{Project: ".cargo/config.toml", Public: []byte("[registries.x]\nindex = \"https://u:p@x/\"\ntoken = \"t\"\n")}, []byte("[registries.x]\nindex = \"https://x/\"\n")},
		{ConfigFile{Home: ".config/pypoetry/config.toml", Public: []byte("[http-basic.x]\npassword = \"p\"\n")}, []byte("")},
		{ConfigFile{Project: "Gemfile", Public: []byte("source 'https://rubygems.org'\ntoken = ENV['X'] # Ruby\n")}, []byte("source 'https://rubygems.org'\ntoken = ENV['X'] # Ruby\n")},
		{ConfigFile{Home: ".netrc", Public: []byte("machine x password p\n")}, nil},
		{ConfigFile{Project: ".netrc", Public: []byte("machine x password p\n")}, []byte{}},
		{ConfigFile{Home: ".npmrc"}, nil},
	} {
		got := tc.f.BuildCopy()
		if string(got) != string(tc.want) || (got == nil) != (tc.want == nil) {
			t.Errorf("%s%s: %q, want %q", tc.f.Home, tc.f.Project, got, tc.want)
		}
	}
}

// pip's and poetry's real plans refuse a project file linked out of the project
// (a requirements.txt or pyproject.toml pointing at ~/.pypirc), naming it and
// where it points; the same files as plain files plan.
func TestPythonPlansRefuseLinkedProjectFiles(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "pypirc")
	writeFile(t, secret, "[pypi]\npassword = hunter2\n")
	for _, tc := range []struct {
		m    Manager
		file string
		args []string
	}{
		{pipManager{name: "pip"}, "requirements.txt", []string{"install", "-r", "requirements.txt"}},
		{poetryManager{}, "pyproject.toml", []string{"lock"}},
	} {
		t.Run(tc.m.Name(), func(t *testing.T) {
			root := t.TempDir()
			writeFile(t, filepath.Join(root, ".venv", "pyvenv.cfg"), "home = /usr/bin\n")
			env := Env{Dir: root, Home: t.TempDir(), Environ: []string{"PATH=/usr/bin:/bin"}}
			if err := os.Symlink(secret, filepath.Join(root, tc.file)); err != nil {
				t.Fatal(err)
			}
			_, err := tc.m.Plan(tc.args, env)
			if err == nil || !strings.Contains(err.Error(), tc.file) || !strings.Contains(err.Error(), "(to "+secret+")") {
				t.Fatalf("%s linked out: %v, want a refusal naming it and %s", tc.file, err, secret)
			}
		})
	}
}

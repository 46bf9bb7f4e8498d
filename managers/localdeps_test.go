package managers

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phylum-box/phylum-box/precheck"
)

// localTree is a home with a hidden dir of secrets, a project and a sibling
// package beside it.
func localTree(t *testing.T) (home, project, lib string) {
	t.Helper()
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	home = filepath.Join(base, "home", "u")
	project = filepath.Join(home, "src", "app")
	lib = filepath.Join(home, "src", "lib")
	for _, f := range []string{
		filepath.Join(home, ".ssh", "id_rsa"), filepath.Join(home, ".ssh", "package.json"),
		filepath.Join(lib, "package.json"), filepath.Join(lib, "Cargo.toml"), filepath.Join(lib, "setup.py"),
		filepath.Join(home, "src", "notapkg", "README"),
	} {
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(project, 0o755); err != nil {
		t.Fatal(err)
	}
	return home, project, lib
}

func writeManifest(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestOutsideDirsNode(t *testing.T) {
	home, project, lib := localTree(t)
	if err := os.WriteFile(filepath.Join(filepath.Dir(project), "pkg-1.0.0.tgz"), []byte("not read"), 0o644); err != nil {
		t.Fatal(err)
	}
	npmPlan := func(args ...string) *Plan {
		return &Plan{Manager: "npm", Ecosystem: precheck.NPM, Project: Project{Root: project, Cwd: "."}, Args: args}
	}
	for _, tc := range []struct {
		name, manifest string
		args           []string
		link           string // vendor/lib -> link
		want           string // the dir bound, "" none
		refused        string // part of the refusal
	}{
		{name: "cli sibling", args: []string{"install", "../lib"}, want: lib},
		{name: "cli file: alias", args: []string{"i", "mylib@file:../lib"}, want: lib},
		{name: "manifest file:", manifest: `{"dependencies":{"lib":"file:../lib"}}`, want: lib},
		{name: "manifest link: absolute", manifest: `{"devDependencies":{"lib":"link:` + lib + `"}}`, want: lib},
		{name: "registry names only", manifest: `{"dependencies":{"lodash":"^4","x":"github:a/b","y":"npm:z@1"}}`},
		{name: "inside the project", manifest: `{"dependencies":{"lib":"file:./packages/lib"}}`},
		{name: "missing sibling", manifest: `{"dependencies":{"lib":"file:../nothere"}}`},
		{name: "ssh dir", manifest: `{"dependencies":{"x":"file:../../.ssh"}}`, refused: "hidden directory of your home"},
		{name: "ssh dir climbing", manifest: `{"dependencies":{"x":"file:../../../../../../../../..` + home + `/.ssh"}}`, refused: "hidden directory"},
		{name: "home tilde", manifest: `{"dependencies":{"x":"file:~/"}}`, refused: "your home directory"},
		{name: "root", manifest: `{"optionalDependencies":{"x":"link:/"}}`, refused: "root directory"},
		{name: "holds the project", manifest: `{"dependencies":{"x":"file:.."}}`, refused: "holds the project"},
		{name: "not a package", manifest: `{"dependencies":{"x":"file:../notapkg"}}`, refused: "not a package"},
		{name: "run dir", manifest: `{"dependencies":{"x":"portal:/run/user/0"}}`, refused: "/run"},
		{name: "tmp itself", manifest: `{"dependencies":{"x":"file:/tmp"}}`, refused: "/tmp"},
		{name: "override", manifest: `{"overrides":{"a":{"b":"file:../../.aws"}}}`, refused: "hidden directory"},
		{name: "symlink to home", manifest: `{"dependencies":{"x":"file:vendor/lib"}}`, link: home, refused: "symbolic link in the project"},
		{name: "symlink to sibling", manifest: `{"dependencies":{"x":"file:vendor/lib"}}`, link: lib, want: lib},
		{name: "cli home", args: []string{"install", "~"}, refused: "your home directory"},
		{name: "cli ssh", args: []string{"install", "../../.ssh"}, refused: "hidden directory"},
		// A tarball outside the project: refused with what to do when the user names
		// it; one a project file names is left to the manager, as before.
		{name: "cli tarball", args: []string{"install", "../pkg-1.0.0.tgz"}, refused: "is a file outside the project"},
		{name: "manifest tarball", manifest: `{"dependencies":{"pkg":"file:../pkg-1.0.0.tgz"}}`},
		{name: "cli link in the project to a file", args: []string{"install", "./vendor/lib"}, link: "../../pkg-1.0.0.tgz"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.RemoveAll(filepath.Join(project, "vendor"))
			os.Remove(filepath.Join(project, "package.json"))
			if tc.manifest != "" {
				writeManifest(t, project, "package.json", tc.manifest)
			}
			if tc.link != "" {
				if err := os.MkdirAll(filepath.Join(project, "vendor"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(tc.link, filepath.Join(project, "vendor", "lib")); err != nil {
					t.Fatal(err)
				}
			}
			args := tc.args
			if args == nil {
				args = []string{"install"}
			}
			dirs, err := OutsideDirs(npmPlan(args...), home)
			if tc.refused != "" {
				var ref *Refusal
				if !errors.As(err, &ref) || !strings.Contains(err.Error(), tc.refused) {
					t.Fatalf("want a refusal containing %q, got %v (dirs %v)", tc.refused, err, dirs)
				}
				if strings.Contains(err.Error(), "id_rsa") {
					t.Errorf("the refusal names a file in the refused dir: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got string
			if len(dirs) > 0 {
				got = dirs[0].Path
			}
			if got != tc.want || len(dirs) > 1 {
				t.Errorf("dirs = %v, want %q", dirs, tc.want)
			}
		})
	}
}

func TestOutsideDirsCargoFollowsPathCrates(t *testing.T) {
	home, project, lib := localTree(t)
	other := filepath.Join(home, "src", "other")
	writeManifest(t, project, "Cargo.toml", "[package]\nname = \"app\"\n[dependencies]\nlib = { path = \"../lib\" }\nserde = \"1\"\n")
	writeManifest(t, lib, "Cargo.toml", "[package]\nname = \"lib\"\n[dependencies]\nother = { path = \"../other\" }\n")
	writeManifest(t, other, "Cargo.toml", "[package]\nname = \"other\"\n")
	p := &Plan{Manager: "cargo", Ecosystem: precheck.CratesIO, Project: Project{Root: project, Cwd: "."}, Args: []string{"build"}}
	dirs, err := OutsideDirs(p, home)
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) != 2 || dirs[0].Path != lib || dirs[1].Path != other {
		t.Fatalf("dirs = %+v, want %s then %s", dirs, lib, other)
	}
	// A path crate may not lead on to a secret either.
	writeManifest(t, other, "Cargo.toml", "[package]\nname = \"other\"\n[patch.crates-io]\nx = { path = \"../../.ssh\" }\n")
	if _, err := OutsideDirs(p, home); err == nil || !strings.Contains(err.Error(), "hidden directory") {
		t.Fatalf("want the .ssh path refused, got %v", err)
	}
}

func TestOutsideDirsPip(t *testing.T) {
	home, project, lib := localTree(t)
	p := &Plan{Manager: "pip", Ecosystem: precheck.PyPI, Project: Project{Root: project, Cwd: "."}, Args: []string{"install", "-e", "../lib"}}
	dirs, err := OutsideDirs(p, home)
	if err != nil || len(dirs) != 1 || dirs[0].Path != lib || !dirs[0].User {
		t.Fatalf("dirs = %+v, %v", dirs, err)
	}
	writeManifest(t, project, "requirements.txt", "requests\n-e ../../.ssh\n")
	p.Args = []string{"install", "-r", "requirements.txt"}
	if _, err := OutsideDirs(p, home); err == nil || !strings.Contains(err.Error(), "requirements.txt") {
		t.Fatalf("want the requirements line refused, got %v", err)
	}
}

// A dependency name is the project's text: printed escaped in the refusal.
func TestOutsideRefusalEscapesNames(t *testing.T) {
	home, project, _ := localTree(t)
	writeManifest(t, project, "package.json", `{"dependencies":{"x\u001b[2J":"file:../../.ssh"}}`)
	_, err := OutsideDirs(&Plan{Manager: "npm", Ecosystem: precheck.NPM, Project: Project{Root: project, Cwd: "."}, Args: []string{"install"}}, home)
	if err == nil || strings.ContainsRune(err.Error(), 0x1b) {
		t.Fatalf("want a refusal without the raw escape, got %q", err)
	}
}

// A project that itself lies in a hidden directory outside the home may name a
// sibling there; a hidden directory of its own choosing it may not.
func TestOutsideDirsHiddenOutsideHome(t *testing.T) {
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	project, lib, secret := filepath.Join(base, ".builds", "app"), filepath.Join(base, ".builds", "lib"), filepath.Join(base, ".builds", ".keys")
	writeManifest(t, lib, "package.json", "{}")
	writeManifest(t, secret, "package.json", "{}")
	home := filepath.Join(base, "home", "u")
	p := &Plan{Manager: "npm", Ecosystem: precheck.NPM, Project: Project{Root: project, Cwd: "."}, Args: []string{"install"}}
	writeManifest(t, project, "package.json", `{"dependencies":{"lib":"file:../lib"}}`)
	if dirs, err := OutsideDirs(p, home); err != nil || len(dirs) != 1 || dirs[0].Path != lib {
		t.Fatalf("the sibling in the project's own hidden dir: %+v, %v", dirs, err)
	}
	writeManifest(t, project, "package.json", `{"dependencies":{"k":"file:../.keys"}}`)
	if _, err := OutsideDirs(p, home); err == nil || !strings.Contains(err.Error(), "hidden directory .keys") {
		t.Fatalf("want ../.keys refused, got %v", err)
	}
	writeManifest(t, project, "package.json", `{"dependencies":{"k":"file:/var/lib"}}`)
	if _, err := OutsideDirs(p, home); err == nil || !strings.Contains(err.Error(), "/var/lib") {
		t.Fatalf("want /var/lib refused, got %v", err)
	}
}

// Workspace members given by a glob are followed to their own path dependencies;
// pip's `name @ file:///path` names a directory too.
func TestOutsideDirsGlobMembersAndPEP508(t *testing.T) {
	home, project, lib := localTree(t)
	writeManifest(t, project, "Cargo.toml", "[workspace]\nmembers = [\"crates/*\"]\n")
	writeManifest(t, filepath.Join(project, "crates", "a"), "Cargo.toml", "[package]\nname = \"a\"\n[dependencies]\nlib = { path = \"../../../lib\" }\n")
	writeManifest(t, filepath.Join(project, "crates", "notes"), "README", "")
	dirs, err := OutsideDirs(&Plan{Manager: "cargo", Ecosystem: precheck.CratesIO, Project: Project{Root: project, Cwd: "."}, Args: []string{"build"}}, home)
	if err != nil || len(dirs) != 1 || dirs[0].Path != lib {
		t.Fatalf("dirs = %+v, %v; want %s", dirs, err, lib)
	}
	dirs, err = OutsideDirs(&Plan{Manager: "pip", Ecosystem: precheck.PyPI, Project: Project{Root: project, Cwd: "."}, Args: []string{"install", "lib @ file://" + lib}}, home)
	if err != nil || len(dirs) != 1 || dirs[0].Path != lib {
		t.Fatalf("dirs = %+v, %v; want %s", dirs, err, lib)
	}
}

// pnpm 10's overrides in pnpm-workspace.yaml are project input like package.json's.
func TestOutsideDirsPnpmWorkspaceOverrides(t *testing.T) {
	home, project, lib := localTree(t)
	writeManifest(t, project, "package.json", `{"name":"app"}`)
	p := &Plan{Manager: "pnpm", Ecosystem: precheck.NPM, Project: Project{Root: project, Cwd: "."}, Args: []string{"install"}}
	writeManifest(t, project, "pnpm-workspace.yaml", "overrides:\n  lib: link:../lib\n  lodash: ^4\n")
	if dirs, err := OutsideDirs(p, home); err != nil || len(dirs) != 1 || dirs[0].Path != lib {
		t.Fatalf("dirs = %+v, %v; want %s", dirs, err, lib)
	}
	writeManifest(t, project, "pnpm-workspace.yaml", "overrides:\n  x: file:../../.ssh\n")
	if _, err := OutsideDirs(p, home); err == nil || !strings.Contains(err.Error(), "pnpm-workspace.yaml overrides.x") {
		t.Fatalf("want the override refused, got %v", err)
	}
}

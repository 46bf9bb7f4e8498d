package managers

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestCargoPlan(t *testing.T) {
	crate := map[string]string{"Cargo.toml": "[package]\nname = \"p\"\nversion = \"0.1.0\"\n", "src/main.rs": "fn main() {}\n"}
	tests := []struct {
		name  string
		args  []string
		want  string
		build []string // Build.Args, nil for no build
	}{
		{"build", []string{"build", "--release"}, "plan", []string{"cargo", "build", "--frozen", "--release"}},
		{"alias b", []string{"b"}, "plan", []string{"cargo", "build", "--frozen"}},
		{"global option before the command", []string{"--color", "never", "t", "--", "--nocapture"}, "plan", []string{"cargo", "--color", "never", "test", "--frozen", "--", "--nocapture"}},
		{"run passes the program's args", []string{"run", "--", "a"}, "plan", []string{"cargo", "run", "--frozen", "--", "a"}},
		{"add resolves only", []string{"add", "serde"}, "plan", nil},
		{"update", []string{"update", "-p", "x"}, "plan", nil},
		{"fetch", []string{"fetch"}, "plan", nil},
		{"tree passes through", []string{"tree"}, "passthrough", nil},
		{"help", []string{"build", "--help"}, "passthrough", nil},
		{"install into ~/.cargo", []string{"install", "ripgrep"}, "refused: cargo install writes", nil},
		{"install --root outside", []string{"install", "--root", "/usr/local", "ripgrep"}, "refused: --root", nil},
		{"install --git", []string{"install", "--root", "t", "--git", "https://x/y"}, "refused: cargo install --git", nil},
		{"--manifest-path", []string{"build", "--manifest-path", "/x/Cargo.toml"}, "refused: --manifest-path", nil},
	}
	cargo, _ := Lookup("cargo")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := testEnv(t, crate)
			p, err := cargo.Plan(tc.args, env)
			got := planOutcome(p, err)
			if !strings.HasPrefix(got, tc.want) {
				t.Fatalf("Plan(%q) = %s, want %s…", tc.args, got, tc.want)
			}
			if tc.want != "plan" {
				return
			}
			if (p.Steps.Build == nil) != (tc.build == nil) || p.Steps.Build != nil && !slices.Equal(p.Steps.Build.Args, tc.build) {
				t.Errorf("Build = %+v, want args %q", p.Steps.Build, tc.build)
			}
			if p.Steps.Build != nil && (p.Steps.Build.Network || p.Steps.Build.Credentials) {
				t.Error("the build has the network or credentials")
			}
			if !slices.Equal(p.Steps.Download.Args[len(p.Steps.Download.Args)-2:], []string{"fetch", "--locked"}) || !p.Steps.Download.Network {
				t.Errorf("Download = %+v", p.Steps.Download)
			}
			if !slices.Contains(p.Project.Outputs, "target/") || !slices.Contains(p.Project.Outputs, "Cargo.lock") || !slices.Contains(p.Project.Sealed, "Cargo.lock") {
				t.Errorf("Outputs %q Sealed %q", p.Project.Outputs, p.Project.Sealed)
			}
			c := p.Sandbox.Caches[0]
			if m, w := c.MountedIn(PhaseBuild); !m || w {
				t.Error("CARGO_HOME must be read-only in the build")
			}
			if !strings.HasPrefix(c.Path, env.Home) || strings.HasSuffix(c.Path, "/.cargo") {
				t.Errorf("CARGO_HOME cache %s must be phylum-box's, not ~/.cargo", c.Path)
			}
		})
	}
}

func TestCargoWorkspaceRootAndConfig(t *testing.T) {
	env := testEnv(t, map[string]string{
		"Cargo.toml":   "[workspace]\nmembers = [\"a\"]\n",
		"a/Cargo.toml": "[package]\nname = \"a\"\nversion = \"0.1.0\"\n",
		"a/src/lib.rs": "",
	})
	writeFile(t, filepath.Join(env.Home, ".cargo", "config.toml"), "[registries.corp]\nindex = \"sparse+https://corp.example/index/\"\ntoken = \"s3cret\"\n")
	writeFile(t, filepath.Join(env.Home, ".cargo", "credentials.toml"), "[registries.my-corp]\ntoken = \"tok3n\"\n")
	root := env.Dir
	env.Dir = filepath.Join(root, "a")
	cargo, _ := Lookup("cargo")
	p, err := cargo.Plan([]string{"add", "serde"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if p.Project.Root != root || p.Project.Cwd != "a" {
		t.Errorf("Root %s Cwd %s: want the workspace root", p.Project.Root, p.Project.Cwd)
	}
	if !slices.Contains(p.Project.Outputs, "a/Cargo.toml") {
		t.Errorf("cargo add in a member changes its manifest: %q", p.Project.Outputs)
	}
	if !slices.Contains(p.Sandbox.Credentials.Env, "CARGO_REGISTRIES_MY_CORP_TOKEN=tok3n") {
		t.Errorf("credentials.toml tokens: %q", p.Sandbox.Credentials.Env)
	}
	cf := p.Sandbox.Credentials.Files[0]
	if strings.Contains(string(cf.Public), "s3cret") || !strings.Contains(string(cf.Public), "corp.example") {
		t.Errorf("public config: %q", cf.Public)
	}
	if !slices.Contains(p.Steps.Download.Args, "--config") {
		t.Errorf("the user's config must be named: %q", p.Steps.Download.Args)
	}
}

func TestCargoInstallPlan(t *testing.T) {
	env := testEnv(t, map[string]string{"README": ""})
	cargo, _ := Lookup("cargo")
	p, err := cargo.Plan([]string{"install", "ripgrep@14.1.0", "--root", "tools", "--locked", "--features", "pcre2"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Project.Outputs, []string{"tools/"}) || !slices.Equal(p.Project.Lockfiles, []string{".phylum-box-cargo-install/check/Cargo.lock"}) {
		t.Errorf("Outputs %q Lockfiles %q", p.Project.Outputs, p.Project.Lockfiles)
	}
	for _, want := range []string{"PHYLUM_BOX_CRATE=ripgrep", "PHYLUM_BOX_REQ=14.1.0", "PHYLUM_BOX_LOCKED=1"} {
		if !slices.Contains(p.Steps.Resolve.Env, want) {
			t.Errorf("resolve env lacks %s: %q", want, p.Steps.Resolve.Env)
		}
	}
	build := strings.Join(p.Steps.Build.Args, " ")
	for _, want := range []string{"install --path " + filepath.Join(env.Dir, ".phylum-box-cargo-install", "src"), "--root " + filepath.Join(env.Dir, "tools"), "--frozen", "--locked", "--features pcre2"} {
		if !strings.Contains(build, want) {
			t.Errorf("build %q lacks %q", build, want)
		}
	}
	if p.Steps.Build.Network || p.Steps.Build.Credentials {
		t.Error("the build has the network or credentials")
	}
}

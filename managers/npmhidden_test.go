package managers

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// The resolve's rewrite of node_modules/.package-lock.json never reaches the
// download: the project's hidden lockfile is put back, time stamp included; one
// the project did not have (or a link) is removed; the resolve's exit status stays.
func TestNpmKeepHidden(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	old := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		before   string // "file", "link", "" (none)
		exit     string
		wantCode int
	}{
		{"kept", "file", "0", 0},
		{"kept after a failure", "file", "3", 3},
		{"none before", "", "0", 0},
		{"a link before", "link", "0", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			nm := filepath.Join(root, "node_modules")
			hidden := filepath.Join(nm, ".package-lock.json")
			if err := os.MkdirAll(nm, 0o755); err != nil {
				t.Fatal(err)
			}
			switch tc.before {
			case "file":
				if err := os.WriteFile(hidden, []byte("project's"), 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.Chtimes(hidden, old, old); err != nil {
					t.Fatal(err)
				}
			case "link":
				if err := os.WriteFile(filepath.Join(root, "elsewhere"), []byte("elsewhere"), 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink("../elsewhere", hidden); err != nil {
					t.Fatal(err)
				}
			}
			// A stand-in for npm install --package-lock-only: rewrites the hidden lockfile.
			inner := &Step{Args: []string{"npm", "install", "x"}, Network: true}
			s := npmKeepHidden(inner, root)
			if s.Name != "npm install x" || !slices.Equal(npmResolveArgv(s), inner.Args) || !s.Network {
				t.Fatalf("wrapped step %+v", s)
			}
			args := append(slices.Clone(s.Args[:4]), "sh", "-c", `rm -f "$0"; echo resolved > "$0"; exit $1`, hidden, tc.exit)
			cmd := exec.Command(args[0], args[1:]...)
			cmd.Dir = root
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d", code, tc.wantCode)
			}
			st, err := os.Lstat(hidden)
			if tc.before != "file" {
				if err == nil {
					t.Errorf("a hidden lockfile the resolve wrote is left (%v)", st.Mode())
				}
				if b, _ := os.ReadFile(filepath.Join(root, "elsewhere")); tc.before == "link" && string(b) != "elsewhere" {
					t.Errorf("the link's target was written: %q", b)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(hidden); string(b) != "project's" {
				t.Errorf("hidden lockfile holds %q, want the project's", b)
			}
			if !st.ModTime().Equal(old) {
				t.Errorf("hidden lockfile time %v, want %v (npm trusts a fresh one)", st.ModTime(), old)
			}
		})
	}
	if npmKeepHidden(nil, "/x") != nil {
		t.Error("no resolve step stays none")
	}
	cargo := &Step{Args: []string{"sh", "-c", "x"}}
	if npmKeepHidden(cargo, "/x") != cargo {
		t.Error("a step that is not npm's own is left alone")
	}
}

// nameSteps names resolve and download (and a build that is phylum-box's shell
// line) by the user's command; a manager's own name is kept except npm's, and a
// passthrough or failed plan is left alone.
func TestNameSteps(t *testing.T) {
	p := &Plan{
		Steps: Steps{
			Resolve:  &Step{Args: []string{"sh", "-c", "if [ -e Cargo.lock ]; then …"}},
			Download: &Step{Args: []string{"cargo", "fetch", "--locked"}, Name: "kept"},
			Build:    &Step{Args: []string{"sh", "-c", "exec cargo build --offline"}},
		},
	}
	nameSteps(p, nil, "cargo", []string{"build", "--release"})
	if p.Steps.Resolve.Name != "cargo build --release" || p.Steps.Download.Name != "kept" || p.Steps.Build.Name != "cargo build --release" {
		t.Errorf("cargo: %q %q %q", p.Steps.Resolve.Name, p.Steps.Download.Name, p.Steps.Build.Name)
	}
	n := &Plan{Steps: Steps{Resolve: &Step{Args: []string{"npm", "install"}, Name: "npm install x --package-lock-only"}, Build: &Step{Args: []string{"npm", "rebuild", "esbuild"}}}}
	nameSteps(n, nil, "npm", []string{"i", "x"})
	if n.Steps.Resolve.Name != "npm i x" || n.Steps.Build.Name != "" {
		t.Errorf("npm: %q %q", n.Steps.Resolve.Name, n.Steps.Build.Name)
	}
	pt := &Plan{Passthrough: true, Steps: Steps{Resolve: &Step{Args: []string{"x"}}}}
	nameSteps(pt, nil, "npm", []string{"ls"})
	if pt.Steps.Resolve.Name != "" {
		t.Errorf("a passthrough plan was named")
	}
}

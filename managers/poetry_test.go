package managers

import (
	"slices"
	"strings"
	"testing"
)

func TestPoetryPlan(t *testing.T) {
	project := map[string]string{"pyproject.toml": "[tool.poetry]\nname = \"p\"\nversion = \"0.1.0\"\n"}
	tests := []struct {
		name    string
		args    []string
		want    string
		resolve string // substring of Resolve.Args
		outputs []string
		build   bool
	}{
		{"install", []string{"install"}, "plan", "poetry lock --no-update", []string{"poetry.lock", ".venv/"}, true},
		{"sync", []string{"sync"}, "plan", "poetry lock --no-update", []string{"poetry.lock", ".venv/"}, true},
		{"add", []string{"add", "requests"}, "plan", "poetry add requests --lock", []string{"poetry.lock", ".venv/", "pyproject.toml"}, true},
		{"remove", []string{"remove", "requests"}, "plan", "poetry remove requests --lock", []string{"poetry.lock", ".venv/", "pyproject.toml"}, true},
		{"update", []string{"update"}, "plan", "poetry update --lock", []string{"poetry.lock", ".venv/"}, true},
		{"lock", []string{"lock"}, "plan", "poetry lock", []string{"poetry.lock"}, false},
		{"show passes through", []string{"show"}, "passthrough", "", nil, false},
		{"run passes through", []string{"run", "pytest"}, "passthrough", "", nil, false},
		{"dry run passes through", []string{"install", "--dry-run"}, "passthrough", "", nil, false},
		{"--directory", []string{"-C", "x", "install"}, "refused: -C", "", nil, false},
	}
	poetry, _ := Lookup("poetry")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := testEnv(t, project)
			p, err := poetry.Plan(tc.args, env)
			got := planOutcome(p, err)
			if !strings.HasPrefix(got, tc.want) {
				t.Fatalf("Plan(%q) = %s, want %s…", tc.args, got, tc.want)
			}
			if tc.want != "plan" {
				return
			}
			if r := strings.Join(p.Resolve.Args, " "); !strings.Contains(r, tc.resolve) {
				t.Errorf("Resolve = %s, want %s", r, tc.resolve)
			}
			if !slices.Equal(p.Outputs, tc.outputs) {
				t.Errorf("Outputs = %q, want %q", p.Outputs, tc.outputs)
			}
			if (p.Build != nil) != tc.build {
				t.Fatalf("Build = %+v", p.Build)
			}
			if p.Build != nil && (p.Build.Network || p.Build.Credentials || !p.Download.Network || !p.Download.Credentials) {
				t.Error("network and credentials belong to the download only")
			}
			if !slices.Contains(p.Resolve.Env, "POETRY_VIRTUALENVS_CREATE=false") {
				t.Error("the resolve step must not create a venv")
			}
		})
	}
}

func TestPoetryActiveVenvOutside(t *testing.T) {
	env := testEnv(t, map[string]string{"pyproject.toml": ""})
	env.Environ = append(env.Environ, "VIRTUAL_ENV=/home/x/.cache/pypoetry/virtualenvs/p-abc")
	poetry, _ := Lookup("poetry")
	if got := planOutcome(poetry.Plan([]string{"install"}, env)); !strings.HasPrefix(got, "refused: the active virtualenv") {
		t.Errorf("got %s", got)
	}
}

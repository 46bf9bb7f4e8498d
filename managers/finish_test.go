package managers

import (
	"strings"
	"testing"
)

// TestFinishCarriesOnlyTheManagersOwnSettings: each manager's steps get the
// user's variables for that manager and no other manager's (a cargo run used to
// receive PIP_*, pip's CARGO_*).
func TestFinishCarriesOnlyTheManagersOwnSettings(t *testing.T) {
	user := []string{
		"PIP_DISABLE_PIP_VERSION_CHECK=1", "POETRY_INSTALLER_MAX_WORKERS=2", "BUNDLE_JOBS=4",
		"CARGO_NET_RETRY=3", "RUSTUP_MAX_RETRIES=3", "npm_config_fetch_retries=5",
		"YARN_ENABLE_TELEMETRY=0", "pnpm_config_x=1",
	}
	for _, tc := range []struct {
		tool  string
		files map[string]string
		args  []string
		own   []string // the prefixes the tool reads
	}{
		{"cargo", map[string]string{"Cargo.toml": "[package]\nname = \"p\"\nversion = \"0.1.0\"\n", "src/main.rs": "fn main() {}\n"},
			[]string{"add", "serde"}, []string{"CARGO_", "RUSTUP_"}},
		{"pip", map[string]string{"requirements.txt": "x==1\n"}, []string{"install", "--target", "vendor", "x"}, []string{"PIP_"}},
		{"poetry", map[string]string{"pyproject.toml": "[tool.poetry]\nname = \"p\"\nversion = \"0.1.0\"\n"},
			[]string{"add", "x"}, []string{"POETRY_", "PIP_"}},
		{"bundle", map[string]string{"Gemfile": "source \"https://rubygems.org\"\ngem \"rake\"\n"}, []string{"install"}, []string{"BUNDLE_", "GEM_"}},
		{"npm", nil, []string{"install", "left-pad"}, []string{"npm_config_"}},
	} {
		t.Run(tc.tool, func(t *testing.T) {
			env := testEnv(t, tc.files)
			env.Environ = append(env.Environ, user...)
			m, _ := Lookup(tc.tool)
			p, err := m.Plan(tc.args, env)
			if err != nil || p.Passthrough {
				t.Fatalf("Plan(%q): %v (passthrough %v)", tc.args, err, p != nil && p.Passthrough)
			}
			var got []string
			for _, s := range []*Step{p.Steps.Evaluate, p.Steps.Resolve, p.Steps.Hooks, p.Steps.Download, p.Steps.Build, p.Steps.ProjectScripts, p.Steps.Run} {
				if s != nil {
					got = append(got, s.Env...)
				}
			}
			if p.Sandbox.Credentials != nil {
				got = append(got, p.Sandbox.Credentials.Env...)
			}
			ownCount := 0
			for _, kv := range user {
				mine := false
				for _, pre := range tc.own {
					mine = mine || strings.HasPrefix(strings.ToLower(kv), strings.ToLower(pre))
				}
				carried := false
				for _, g := range got {
					carried = carried || g == kv
				}
				switch {
				case mine && carried:
					ownCount++
				case mine:
					t.Errorf("%s's own %s not carried into its steps", tc.tool, kv)
				case carried:
					t.Errorf("%s's steps got another manager's %s", tc.tool, kv)
				}
			}
			if ownCount == 0 {
				t.Errorf("no variable of %s was carried (test set lacks one?)", tc.tool)
			}
		})
	}
}

// TestRegisteredManagersHaveSettings: every command has its own settingsEnv.
func TestRegisteredManagersHaveSettings(t *testing.T) {
	for _, n := range Names() {
		if _, ok := managerSettings[n]; !ok {
			t.Errorf("%s has no settingsEnv", n)
		}
	}
}

package managers

import (
	"slices"
	"strings"
	"testing"
)

// stepPATH is the last PATH= of a step's environment ("" when the step sets none).
func stepPATH(s *Step) string {
	path := ""
	for _, kv := range s.Env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	return path
}

// TestPipOneRunPATHNamesNoProgram: pip's one run (wheels only) gets a PATH
// without programs, so pip starts none of its User-Agent probes (rustc,
// lsb_release, uname); the three steps keep the user's PATH (an sdist's
// metadata hook and its build may need a compiler), and so does a one run
// whose user asked for pip's keyring program.
func TestPipOneRunPATHNamesNoProgram(t *testing.T) {
	venv := map[string]string{".venv/pyvenv.cfg": "home = /usr/bin\n"}
	tests := []struct {
		name     string
		files    map[string]string
		environ  []string
		args     []string
		programs bool // the one run keeps the user's PATH
	}{
		{"a name", venv, nil, []string{"install", "x"}, false},
		{"keyring-provider import", venv, nil, []string{"install", "--keyring-provider", "import", "x"}, false},
		{"keyring-provider disabled", venv, []string{"PIP_KEYRING_PROVIDER=disabled"}, []string{"install", "x"}, false},
		{"--keyring-provider subprocess", venv, nil, []string{"install", "--keyring-provider", "subprocess", "x"}, true},
		{"--keyring-provider=auto", venv, nil, []string{"install", "--keyring-provider=auto", "x"}, true},
		{"PIP_KEYRING_PROVIDER", venv, []string{"PIP_KEYRING_PROVIDER=subprocess"}, []string{"install", "x"}, true},
		{"the venv's pip.conf", map[string]string{".venv/pyvenv.cfg": "", ".venv/pip.conf": "[global]\nkeyring-provider = subprocess\n"}, nil, []string{"install", "x"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := pipTestPlan(t, tc.files, tc.environ, tc.args)
			if p.TryFirst == nil {
				t.Fatalf("Plan(%q): no one run; notes %q", tc.args, p.Notes)
			}
			for _, s := range []*Step{p.Steps.Resolve, p.Steps.Download, p.Steps.Build} {
				if stepPATH(s) == pipNoProgramsPATH {
					t.Errorf("the three-step plan's %q step lost the user's PATH", s.Name)
				}
			}
			got := stepPATH(p.TryFirst.Steps.Resolve)
			if tc.programs && got != "" {
				t.Errorf("the one run sets PATH=%s although the user asked for pip's keyring program", got)
			}
			if !tc.programs && got != pipNoProgramsPATH {
				t.Errorf("the one run's PATH is %q, want %s (env %q)", got, pipNoProgramsPATH, p.TryFirst.Steps.Resolve.Env)
			}
			if !slices.Contains(p.TryFirst.Steps.Resolve.Env, "PIP_NO_CACHE_DIR=1") {
				t.Errorf("the one run's environment lost its own settings: %q", p.TryFirst.Steps.Resolve.Env)
			}
		})
	}
}

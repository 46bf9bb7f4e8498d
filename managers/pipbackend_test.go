package managers

import (
	"slices"
	"testing"
)

// Bare pip resolves no setuptools/wheel for --no-build-isolation (the installed
// backend builds) or without an index (it could not fetch them): neither may the
// resolve step, or an offline install of a local package fails where pip works.
func TestPipNoIsolationOrNoIndexResolvesNoBackend(t *testing.T) {
	pip, _ := Lookup("pip")
	for _, tc := range []struct {
		args    []string
		env     []string
		backend bool
	}{
		{[]string{"install", "-r", "requirements.txt"}, nil, true},
		{[]string{"install", "--no-build-isolation", "-r", "requirements.txt"}, nil, false},
		{[]string{"install", "--no-index", "--find-links", "wheels", "-r", "requirements.txt"}, nil, false},
		{[]string{"install", "--find-links", "wheels", "-r", "requirements.txt"}, []string{"PIP_NO_INDEX=1"}, false},
	} {
		env := testEnv(t, map[string]string{".venv/pyvenv.cfg": "", "requirements.txt": "x==1\n", "wheels/.keep": ""})
		env.Environ = append(env.Environ, tc.env...)
		p, err := pip.Plan(tc.args, env)
		if err != nil {
			t.Fatalf("%q: %v", tc.args, err)
		}
		if got := slices.Contains(p.Steps.Resolve.Args, "setuptools"); got != tc.backend {
			t.Errorf("%q %q: setuptools resolved = %v, want %v", tc.args, tc.env, got, tc.backend)
		}
	}
}

package managers

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// planOutcome classifies a Plan call for the table tests: "refused: …",
// "passthrough", or "plan".
func planOutcome(p *Plan, err error) string {
	var ref *Refusal
	switch {
	case errors.As(err, &ref):
		return "refused: " + ref.Reason
	case err != nil:
		return "error: " + err.Error()
	case p.Passthrough:
		return "passthrough"
	}
	return "plan"
}

func TestPipPlan(t *testing.T) {
	venvFiles := map[string]string{".venv/pyvenv.cfg": "home = /usr/bin\n", "requirements.txt": "x\n"}
	tests := []struct {
		name    string
		files   map[string]string
		environ []string
		args    []string
		want    string // prefix of planOutcome
		outputs []string
	}{
		{"list passes through", nil, nil, []string{"list"}, "passthrough", nil},
		{"uninstall passes through", nil, nil, []string{"uninstall", "-y", "x"}, "passthrough", nil},
		{"help", venvFiles, nil, []string{"install", "--help"}, "passthrough", nil},
		{"no venv: system site-packages", nil, nil, []string{"install", "x"}, "refused: no virtualenv", nil},
		{"--user", venvFiles, nil, []string{"install", "--user", "x"}, "refused: --user", nil},
		{"venv", venvFiles, nil, []string{"install", "x"}, "plan", []string{".venv/"}},
		{"-r file", venvFiles, nil, []string{"install", "-r", "requirements.txt"}, "plan", []string{".venv/"}},
		{"global option first", venvFiles, nil, []string{"-q", "install", "x"}, "plan", []string{".venv/"}},
		{"--target inside", nil, nil, []string{"install", "--target", "lib/py", "x"}, "plan", []string{"lib/py/"}},
		{"-t glued", nil, nil, []string{"install", "-tlib/py", "x"}, "plan", []string{"lib/py/"}},
		{"--prefix=", nil, nil, []string{"install", "--prefix=inst", "x"}, "plan", []string{"inst/"}},
		{"--target outside", nil, nil, []string{"install", "--target", "/usr/lib/python3/dist-packages", "x"}, "refused: --target", nil},
		{"--target ..", nil, nil, []string{"install", "--target=../x", "x"}, "refused: --target", nil},
		{"--root /", venvFiles, nil, []string{"install", "--root", "/", "x"}, "refused: --root", nil},
		{"active venv outside", nil, []string{"VIRTUAL_ENV=/opt/venv"}, []string{"install", "x"}, "refused: the active virtualenv", nil},
		{"download builds sdists", venvFiles, nil, []string{"download", "x"}, "refused: `pip download`", nil},
		{"dry run", venvFiles, nil, []string{"install", "--dry-run", "x"}, "refused: `pip install --dry-run`", nil},
	}
	pip, _ := Lookup("pip")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := testEnv(t, tc.files)
			env.Environ = append(env.Environ, tc.environ...)
			p, err := pip.Plan(tc.args, env)
			got := planOutcome(p, err)
			if !strings.HasPrefix(got, tc.want) {
				t.Fatalf("Plan(%q) = %s, want %s…", tc.args, got, tc.want)
			}
			if tc.want != "plan" {
				return
			}
			if !slices.Equal(p.Project.Outputs, tc.outputs) {
				t.Errorf("Outputs = %q, want %q", p.Project.Outputs, tc.outputs)
			}
			if p.Steps.Resolve.Network || !p.Steps.Download.Network || p.Steps.Build.Network {
				t.Error("network: download on, resolve (sdist metadata hooks) and build off")
			}
			if !slices.Equal(p.Steps.Resolve.Egress, []string{"pypi.org:443", "files.pythonhosted.org:443"}) {
				t.Errorf("resolve egress = %q, want PyPI only", p.Steps.Resolve.Egress)
			}
			if !p.Steps.Download.Credentials || p.Steps.Build.Credentials {
				t.Error("credentials: download only")
			}
			if !slices.Contains(p.Steps.Resolve.Args, "--dry-run") || !slices.Contains(p.Steps.Resolve.Args, "--report") {
				t.Errorf("resolve is not a dry run with a report: %q", p.Steps.Resolve.Args)
			}
			if p.Steps.ResolveOutput == nil || len(p.Project.Lockfiles) != 0 || !slices.Contains(p.Steps.Resolve.Args, "-") {
				t.Errorf("the resolve's report must come out on stdout, for the host to check: %q %q", p.Project.Lockfiles, p.Steps.Resolve.Args)
			}
			if dl := p.Steps.Download.Args; dl[0] != "/usr/bin/python3" || dl[1] != "-I" || dl[2] != "-S" {
				t.Errorf("download must run the system python isolated: %q", dl)
			}
			build := strings.Join(p.Steps.Build.Args, " ")
			if !strings.Contains(build, "--no-index --find-links") || !strings.Contains(build, `rm -rf "$PHYLUM_BOX_PIP_WORK"`) {
				t.Errorf("build is not an offline install that cleans up: %s", build)
			}
		})
	}
}

func TestPipSecretsOnlyInNetworkSteps(t *testing.T) {
	env := testEnv(t, map[string]string{".venv/pyvenv.cfg": ""})
	writeFile(t, filepath.Join(env.Home, ".config", "pip", "pip.conf"), "[global]\nindex-url = https://u:s3cret@idx.example/simple\n")
	env.Environ = append(env.Environ, "PIP_EXTRA_INDEX_URL=https://u:env-s3cret@x.example/simple", "PIP_TIMEOUT=5")
	pip, _ := Lookup("pip")
	p, err := pip.Plan([]string{"install", "x"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if p.Sandbox.Credentials == nil || len(p.Sandbox.Credentials.Files) != 1 {
		t.Fatalf("pip.conf not carried: %v", p.Sandbox.Credentials)
	}
	f := p.Sandbox.Credentials.Files[0]
	if f.Home != ".config/pip/pip.conf" || !strings.Contains(string(f.Secret), "s3cret") || strings.Contains(string(f.Public), "s3cret") {
		t.Errorf("pip.conf versions wrong: home %q public %q", f.Home, f.Public)
	}
	if !slices.Contains(p.Sandbox.Credentials.Env, "PIP_EXTRA_INDEX_URL=https://u:env-s3cret@x.example/simple") {
		t.Errorf("a URL with a password must travel as a credential: %q", p.Sandbox.Credentials.Env)
	}
	for _, s := range []*Step{p.Steps.Resolve, p.Steps.Download, p.Steps.Build} {
		for _, kv := range s.Env {
			if strings.Contains(kv, "s3cret") {
				t.Errorf("a secret is in a step's plain env: %s", kv)
			}
		}
	}
	if !slices.Contains(p.Steps.Build.Env, "PIP_TIMEOUT=5") {
		t.Errorf("plain PIP_ settings must reach every step: %q", p.Steps.Build.Env)
	}
}

func TestParsePipArgv(t *testing.T) {
	a := parsePipArgv([]string{"--isolated", "install", "-Ur", "req.txt", "--tar=t", "-e", ".", "x", "--", "-y"})
	if a.cmd != "install" || !a.flags["upgrade"] || !a.flags["isolated"] {
		t.Errorf("cmd/flags: %+v", a)
	}
	if v, _ := a.last("requirement"); v != "req.txt" {
		t.Errorf("-Ur req.txt: requirement = %q", v)
	}
	if v, _ := a.last("target"); v != "t" {
		t.Errorf("--tar=t: target = %q", v)
	}
	if !slices.Equal(a.args, []string{"x", "-y"}) {
		t.Errorf("positionals = %q", a.args)
	}
	if got := stripPipOpts([]string{"install", "-t", "d", "--report=r", "--index-url", "u", "-q", "x"}, "target", "report", "index-url", "quiet"); !slices.Equal(got, []string{"install", "x"}) {
		t.Errorf("stripPipOpts = %q", got)
	}
}

func TestPipHashModeResolvesNoExtraBackend(t *testing.T) {
	pip, _ := Lookup("pip")
	for _, tc := range []struct {
		req     string
		args    []string
		backend bool
	}{
		{"x==1\n", []string{"install", "-r", "requirements.txt"}, true},
		{"x==1 --hash=sha256:00\n", []string{"install", "-r", "requirements.txt"}, false},
		{"x==1\n", []string{"install", "--require-hashes", "-r", "requirements.txt"}, false},
	} {
		env := testEnv(t, map[string]string{".venv/pyvenv.cfg": "", "requirements.txt": tc.req})
		p, err := pip.Plan(tc.args, env)
		if err != nil {
			t.Fatal(err)
		}
		if got := slices.Contains(p.Steps.Resolve.Args, "setuptools"); got != tc.backend {
			t.Errorf("%q with %q: setuptools resolved = %v, want %v", tc.args, tc.req, got, tc.backend)
		}
	}
}

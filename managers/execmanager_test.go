package managers

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// execManagerEnv is a classic-yarn project with yarn and pnpm installed in its
// node_modules/.bin, and this machine's PATH (node, npm, yarn, pnpm outside it).
func execManagerEnv(t *testing.T) Env {
	t.Helper()
	env := testEnv(t, map[string]string{
		"package.json":            `{"name":"p","packageManager":"yarn@1.22.22","scripts":{"pnpm":"echo script"}}`,
		"yarn.lock":               classicLock,
		"node_modules/.bin/yarn":  "#!/bin/sh\ntouch HOST-RAN\n",
		"node_modules/.bin/pnpm":  "#!/bin/sh\ntouch HOST-RAN\n",
		"node_modules/.bin/tsc":   "#!/bin/sh\n",
		"node_modules/.bin/cargo": "#!/bin/sh\n",
	})
	needNodeHeaders(t, env)
	for _, tool := range []string{"yarn", "pnpm"} {
		if _, err := env.LookPath(tool); err != nil {
			t.Skipf("no %s here", tool)
		}
	}
	return env
}

func TestExecOfManagerPlansTheManager(t *testing.T) {
	env := execManagerEnv(t)
	tests := []struct {
		tool string
		args []string
		mgr  string // the plan's manager; "" = passthrough as before
		sub  string
	}{
		{"npx", []string{"yarn", "add", "lodash@4.17.11"}, "yarn", "add"},
		{"npx", []string{"yarn"}, "yarn", ""},
		{"npx", []string{"--yes", "yarnpkg", "add", "x"}, "yarn", "add"},
		{"npx", []string{"-p", "yarn", "yarn", "add", "x"}, "yarn", "add"},
		{"npx", []string{"-p", "yarn"}, "yarn", ""},
		{"npx", []string{"-c", "yarn add x"}, "yarn", "add"},
		{"npx", []string{"corepack", "yarn", "add", "x"}, "yarn", "add"},
		{"npx", []string{"pnpm", "add", "x"}, "pnpm", "add"},
		{"npm", []string{"exec", "yarn", "--", "add", "x"}, "yarn", "add"},
		{"npm", []string{"x", "--", "yarn", "add", "x"}, "yarn", "add"},
		{"pnpm", []string{"exec", "yarn", "add", "x"}, "yarn", "add"},
		{"pnpm", []string{"dlx", "yarn", "add", "x"}, "yarn", "add"},
		{"pnpx", []string{"yarn", "add", "x"}, "yarn", "add"},
		{"pnpm", []string{"yarn", "add", "x"}, "yarn", "add"},
		{"yarn", []string{"exec", "pnpm", "add", "x"}, "pnpm", "add"},
		{"yarn", []string{"run", "npm", "install", "x"}, "npm", "install"},
		{"yarn", []string{"npm", "install", "x"}, "npm", "install"},
		{"yarn", []string{"dlx", "pnpm", "add", "x"}, "pnpm", "add"},
		// Not managers, or a manager's command that installs nothing: as before.
		{"npx", []string{"tsc", "--version"}, "", ""},
		{"npx", []string{"yarn", "run", "build"}, "", ""},
		{"pnpm", []string{"exec", "tsc"}, "", ""},
		{"yarn", []string{"run", "pnpm"}, "", ""}, // the project's script named pnpm
		{"yarn", []string{"pnpm"}, "", ""},
		{"yarn", []string{"exec", "tsc"}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.tool+" "+strings.Join(tt.args, " "), func(t *testing.T) {
			m, _ := Lookup(tt.tool)
			p, err := m.Plan(tt.args, env)
			if err != nil {
				t.Fatal(err)
			}
			if tt.mgr == "" {
				if p.Manager == tt.tool && !p.Passthrough && p.Scratch == nil {
					t.Fatalf("planned as %s %s, want as before", p.Manager, p.Subcommand)
				}
				return
			}
			if p.Passthrough || p.Scratch != nil || p.Manager != tt.mgr {
				t.Fatalf("planned as %s %q (passthrough %v, scratch %v), want the %s manager", p.Manager, p.Subcommand, p.Passthrough, p.Scratch != nil, tt.mgr)
			}
			if tt.sub != "" && p.Subcommand != tt.sub {
				t.Errorf("subcommand %q, want %q", p.Subcommand, tt.sub)
			}
			if p.Steps.Resolve == nil && p.Steps.Download == nil {
				t.Errorf("no networked step: %+v", p)
			}
		})
	}
}

func TestExecOfManagerRefusals(t *testing.T) {
	env := execManagerEnv(t)
	tests := []struct {
		tool    string
		args    []string
		instead string
	}{
		{"npx", []string{"yarn@1.22.19", "add", "x"}, "phylum-box yarn add x"},
		{"npx", []string{"-p", "pnpm@9", "pnpm", "add", "x"}, "phylum-box pnpm add x"},
		{"npx", []string{"-c", "yarn add x && echo done"}, "phylum-box yarn add x"},
		{"npx", []string{"corepack", "pnpm@9.0.0", "add", "x"}, "phylum-box pnpm add x"},
		{"pnpm", []string{"dlx", "yarn@latest", "add", "x"}, "phylum-box yarn add x"},
		{"yarn", []string{"dlx", "-p", "pnpm@9", "pnpm", "add", "x"}, "phylum-box pnpm add x"},
		{"yarn", []string{"workspace", "web", "exec", "pnpm", "add", "x"}, "phylum-box pnpm add x"},
	}
	for _, tt := range tests {
		t.Run(tt.tool+" "+strings.Join(tt.args, " "), func(t *testing.T) {
			m, _ := Lookup(tt.tool)
			p, err := m.Plan(tt.args, env)
			var ref *Refusal
			if !errors.As(err, &ref) {
				t.Fatalf("plan %+v, err %v; want a refusal", p, err)
			}
			if !strings.Contains(ref.Advice, tt.instead) {
				t.Errorf("advice %q does not name %q", ref.Advice, tt.instead)
			}
		})
	}
}

// The project's own yarn first in PATH, or no yarn outside the project: refused,
// never run.
func TestExecOfManagerNeedsAManagerOutsideTheProject(t *testing.T) {
	env := execManagerEnv(t)
	for _, tool := range []string{"yarn", "pnpm"} {
		if err := os.Chmod(filepath.Join(env.Dir, "node_modules", ".bin", tool), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	env.Environ = []string{"PATH=" + filepath.Join(env.Dir, "node_modules", ".bin") + ":" + os.Getenv("PATH"), "HOME=" + env.Home}
	npx, _ := Lookup("npx")
	_, err := npx.Plan([]string{"yarn", "add", "x"}, env)
	var ref *Refusal
	if !errors.As(err, &ref) || !strings.Contains(ref.Reason, "project's own yarn") {
		t.Fatalf("project yarn first in PATH: %v", err)
	}
	env.Environ = []string{"PATH=" + t.TempDir(), "HOME=" + env.Home}
	_, err = npx.Plan([]string{"pnpm", "add", "x"}, env)
	if !errors.As(err, &ref) || !strings.Contains(ref.Advice, "phylum-box pnpm add x") {
		t.Fatalf("no pnpm outside the project: %v", err)
	}
}

func TestShellJoin(t *testing.T) {
	got := shellJoin([]string{"yarn", "add", "a b", "it's", "x@^1"})
	if want := `yarn add 'a b' 'it'\''s' x@^1`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if !slices.Contains([]string{"yarn"}, "yarn") {
		t.Fatal()
	}
}

// `poetry run pip install x` would run the virtualenv's pip on the host: it is
// planned as `phylum-box pip install x` (into the project's .venv).
func TestPoetryRunOfManager(t *testing.T) {
	env := testEnv(t, map[string]string{"pyproject.toml": "[tool.poetry]\nname = \"p\"\n", ".venv/pyvenv.cfg": "", "requirements.txt": "x==1\n"})
	poetry, _ := Lookup("poetry")
	p, err := poetry.Plan([]string{"run", "pip", "install", "-r", "requirements.txt"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if p.Passthrough || p.Manager != "pip" || p.Steps.Resolve == nil {
		t.Fatalf("planned as %s %s (passthrough %v), want pip's protected install", p.Manager, p.Subcommand, p.Passthrough)
	}
	p, err = poetry.Plan([]string{"run", "pytest"}, env)
	if err != nil || !p.Passthrough {
		t.Fatalf("poetry run pytest: %+v %v, want a pass-through", p, err)
	}
}

// npx-cli.js reads its options with every leading dash dropped and the value after
// "=": -p=yarn, --p yarn and -package yarn are --package, -c=CMD and --c CMD are
// --call. Read as npm reads them (-p is --parseable), `npx -p=yarn yarn add x` in a
// project with a script named yarn passed through, and the host ran the project's
// yarn (or one fetched from the registry) with the network.
func TestNpxOptionSpellings(t *testing.T) {
	env := testEnv(t, map[string]string{
		"package.json":           `{"name":"p","packageManager":"yarn@1.22.22","scripts":{"yarn":"echo script"}}`,
		"yarn.lock":              classicLock,
		"node_modules/.bin/yarn": "#!/bin/sh\ntouch HOST-RAN\n",
		"node_modules/.bin/tsc":  "#!/bin/sh\n",
	})
	needNodeHeaders(t, env)
	if _, err := env.LookPath("yarn"); err != nil {
		t.Skip("no yarn here")
	}
	m, _ := Lookup("npx")
	for _, args := range [][]string{
		{"-p=yarn", "yarn", "add", "x"},
		{"--p=yarn", "yarn", "add", "x"},
		{"--p", "yarn", "yarn", "add", "x"},
		{"-package", "yarn", "yarn", "add", "x"},
		{"--package", "yarn", "yarn", "add", "x"},
		{"-c=yarn add x"},
		{"--c", "yarn add x"},
	} {
		p, err := m.Plan(args, env)
		if err != nil {
			t.Fatalf("npx %q: %v", args, err)
		}
		if p.Passthrough || p.Scratch != nil || p.Manager != "yarn" || p.Subcommand != "add" {
			t.Errorf("npx %q: planned as %s %s (passthrough %v), want yarn add", args, p.Manager, p.Subcommand, p.Passthrough)
		}
	}
	// The twin: options that are not npx's own keep their meaning.
	for _, args := range [][]string{{"tsc", "-p", "tsconfig.json"}, {"--yes", "tsc", "-c=x"}} {
		p, err := m.Plan(args, env)
		if err != nil {
			t.Fatalf("npx %q: %v", args, err)
		}
		if !p.Passthrough {
			t.Errorf("npx %q: planned as %s %s, want the local tsc passed through", args, p.Manager, p.Subcommand)
		}
	}
}

// Classic's `yarn workspaces run CMD` is `yarn run CMD` in every workspace: with
// the project's own node_modules/.bin/yarn, `yarn workspaces run yarn add x` ran it
// on the host, where `yarn run yarn add x` is planned. A manager there is refused
// with the command to run; a script passes through as before.
func TestYarnWorkspacesRunOfManager(t *testing.T) {
	env := execManagerEnv(t)
	m, _ := Lookup("yarn")
	for _, args := range [][]string{
		{"workspaces", "run", "yarn", "add", "x"},
		{"workspaces", "run", "npm", "install", "x"},
		{"workspaces", "run", "pnpm@9", "add", "x"},
	} {
		_, err := m.Plan(args, env)
		var ref *Refusal
		if !errors.As(err, &ref) || !strings.Contains(err.Error(), "every workspace") || !strings.Contains(err.Error(), "run phylum-box "+strings.TrimSuffix(args[2], "@9")) {
			t.Errorf("yarn %q: %v, want a refusal naming the command to run", args, err)
		}
	}
	for _, args := range [][]string{{"workspaces", "run", "build"}, {"workspaces", "info"}, {"workspaces", "run", "tsc"}} {
		p, err := m.Plan(args, env)
		if err != nil || !p.Passthrough {
			t.Errorf("yarn %q: %v, %+v: want a passthrough as before", args, err, p)
		}
	}
}

// `poetry run python -m pip install x` is pip's own recommended spelling of the
// same install: it ran the virtualenv's pip on the host, unchecked. It is planned as
// `phylum-box pip install x` too; python running anything else passes through.
func TestPoetryRunPythonMPip(t *testing.T) {
	env := testEnv(t, map[string]string{"pyproject.toml": "[tool.poetry]\nname = \"p\"\n", ".venv/pyvenv.cfg": "", "requirements.txt": "x==1\n"})
	poetry, _ := Lookup("poetry")
	for _, args := range [][]string{
		{"run", "python", "-m", "pip", "install", "-r", "requirements.txt"},
		{"run", "python3", "-I", "-m", "pip", "install", "-r", "requirements.txt"},
		{"run", "python3.11", "-mpip", "install", "-r", "requirements.txt"},
	} {
		p, err := poetry.Plan(args, env)
		if err != nil {
			t.Fatalf("poetry %q: %v", args, err)
		}
		if p.Passthrough || p.Manager != "pip" || p.Steps.Resolve == nil {
			t.Errorf("poetry %q: planned as %s %s (passthrough %v), want pip's protected install", args, p.Manager, p.Subcommand, p.Passthrough)
		}
	}
	for _, args := range [][]string{
		{"run", "python", "-m", "pytest"},
		{"run", "python", "-c", "import pip"},
		{"run", "python", "script.py", "-m", "pip", "install", "x"},
		{"run", "pythonista", "-m", "pip"},
	} {
		p, err := poetry.Plan(args, env)
		if err != nil || !p.Passthrough {
			t.Errorf("poetry %q: %+v %v, want a pass-through", args, p, err)
		}
	}
}

// A manager's command that installs nothing (npx yarn why x, pnpm exec yarn
// --version, yarn run pnpm ls) ran the project's node_modules/.bin copy on the host:
// the plan now passes it through to the manager itself, which the orchestration
// runs from PATH (this machine's, checked to be outside the project). poetry run
// keeps its virtualenv's tools, and a bin that is no manager runs as before.
func TestExecOfManagerPassthroughIsTheManager(t *testing.T) {
	env := execManagerEnv(t)
	for _, tt := range []struct {
		tool string
		args []string
		mgr  string
		rest []string
	}{
		{"npx", []string{"yarn", "why", "lodash"}, "yarn", []string{"why", "lodash"}},
		{"npx", []string{"yarn", "--version"}, "yarn", []string{"--version"}},
		{"npm", []string{"exec", "--", "pnpm", "ls"}, "pnpm", []string{"ls"}},
		{"pnpm", []string{"exec", "yarn", "run", "build"}, "yarn", []string{"run", "build"}},
		{"yarn", []string{"run", "npm", "--version"}, "npm", []string{"--version"}},
	} {
		m, _ := Lookup(tt.tool)
		p, err := m.Plan(tt.args, env)
		if err != nil {
			t.Fatalf("%s %q: %v", tt.tool, tt.args, err)
		}
		if !p.Passthrough || p.Manager != tt.mgr || !slices.Equal(p.Args, tt.rest) {
			t.Errorf("%s %q: %s %q (passthrough %v), want %s %q passed through", tt.tool, tt.args, p.Manager, p.Args, p.Passthrough, tt.mgr, tt.rest)
		}
	}
	for _, tt := range []struct {
		tool string
		args []string
	}{{"npx", []string{"tsc", "--version"}}, {"pnpm", []string{"exec", "tsc"}}, {"yarn", []string{"run", "pnpm"}}} {
		m, _ := Lookup(tt.tool)
		p, err := m.Plan(tt.args, env)
		if err != nil || !p.Passthrough || p.Manager != tt.tool || !slices.Equal(p.Args, tt.args) {
			t.Errorf("%s %q: %+v %v, want the command passed through as written", tt.tool, tt.args, p, err)
		}
	}
}

// `npm explore PKG -- npm install x` ran npm install in node_modules/PKG on the
// host, unchecked (measured: x and PKG's whole devDependency tree installed there,
// scripts run). A package manager in the explored command line is refused with the
// command to run; any other command, or a bare explore, passes through.
func TestNpmExploreOfManager(t *testing.T) {
	env := execManagerEnv(t)
	npm, _ := Lookup("npm")
	for _, args := range [][]string{
		{"explore", "lodash", "--", "npm", "install", "x"},
		{"explore", "lodash", "--", "yarn", "add", "x"},
		{"explore", "lodash", "--", "sh", "-c", "npm i x"},
	} {
		_, err := npm.Plan(args, env)
		var ref *Refusal
		if !errors.As(err, &ref) || !strings.Contains(err.Error(), "cd node_modules/lodash and run phylum-box "+args[3]) && !strings.Contains(err.Error(), "run phylum-box npm i x") {
			t.Errorf("npm %q: %v, want a refusal naming the command to run", args, err)
		}
	}
	for _, args := range [][]string{{"explore", "lodash"}, {"explore", "lodash", "--", "ls", "-la"}} {
		p, err := npm.Plan(args, env)
		if err != nil || !p.Passthrough {
			t.Errorf("npm %q: %+v %v, want a pass-through", args, p, err)
		}
	}
}

// `npx sh -c 'yarn add x'`, `yarn exec sh -c 'npm i x'`, `npx env FOO=1 yarn add x`
// and `poetry run sh -c 'pip install x'` are the manager by another name: npm exec,
// pnpm exec and yarn run put node_modules/.bin first in PATH, so the shell ran the
// project's own yarn on the host. They are planned (or refused) as npx -c is; a
// shell line that runs no manager passes through as before.
func TestShellOfManager(t *testing.T) {
	env := execManagerEnv(t)
	for _, tt := range []struct {
		tool string
		args []string
		mgr  string
	}{
		{"npx", []string{"sh", "-c", "yarn add x"}, "yarn"},
		{"npm", []string{"exec", "--", "bash", "-ec", "pnpm add x"}, "pnpm"},
		{"pnpm", []string{"exec", "sh", "-c", "yarn add x"}, "yarn"},
		{"yarn", []string{"exec", "sh", "-c", "npm i x"}, "npm"},
		{"npx", []string{"env", "FOO=1", "yarn", "add", "x"}, "yarn"},
	} {
		m, _ := Lookup(tt.tool)
		p, err := m.Plan(tt.args, env)
		if err != nil {
			t.Fatalf("%s %q: %v", tt.tool, tt.args, err)
		}
		if p.Passthrough || p.Manager != tt.mgr {
			t.Errorf("%s %q: %s %s (passthrough %v), want %s planned", tt.tool, tt.args, p.Manager, p.Subcommand, p.Passthrough, tt.mgr)
		}
	}
	npx, _ := Lookup("npx")
	if _, err := npx.Plan([]string{"sh", "-c", "yarn add x && tsc"}, env); err == nil || !strings.Contains(err.Error(), "phylum-box yarn add x") {
		t.Errorf("npx sh -c 'yarn add x && tsc': %v, want the refusal of npx -c", err)
	}
	// The twin: a shell line with no manager is the shell, as before.
	yarn, _ := Lookup("yarn")
	if p, err := yarn.Plan([]string{"exec", "sh", "-c", "tsc -p ."}, env); err != nil || !p.Passthrough || p.Manager != "yarn" {
		t.Errorf("yarn exec sh -c 'tsc -p .': %+v %v, want a pass-through", p, err)
	}
}

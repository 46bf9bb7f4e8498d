package managers

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// testEnv is a project directory with a package.json, a home without .npmrc, and the
// machine's PATH (for node and its headers).
func testEnv(t *testing.T, files map[string]string) Env {
	t.Helper()
	dir := t.TempDir()
	home := t.TempDir()
	if files == nil {
		files = map[string]string{"package.json": `{"name":"p","version":"1.0.0"}`}
	}
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return Env{Dir: dir, Home: home, Environ: []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home}}
}

func needNodeHeaders(t *testing.T, env Env) {
	t.Helper()
	if _, err := NodeHeadersDir(env); err != nil {
		t.Skipf("no node with headers here: %v", err)
	}
}

func TestNpmClassify(t *testing.T) {
	env := testEnv(t, nil)
	needNodeHeaders(t, env)
	npm, _ := Lookup("npm")
	tests := []struct {
		args   []string
		sub    string // "" = passthrough
		refuse bool
	}{
		// install and every spelling npm accepts
		{[]string{"install", "lodash"}, "install", false},
		{[]string{"i", "lodash"}, "install", false},
		{[]string{"in", "x"}, "install", false},
		{[]string{"ins", "x"}, "install", false},
		{[]string{"inst", "x"}, "install", false},
		{[]string{"insta", "x"}, "install", false},
		{[]string{"instal", "x"}, "install", false},
		{[]string{"isnt", "x"}, "install", false},
		{[]string{"isnta", "x"}, "install", false},
		{[]string{"isntal", "x"}, "install", false},
		{[]string{"isntall", "x"}, "install", false},
		{[]string{"add", "x"}, "install", false},
		{[]string{"install"}, "install", false},
		{[]string{"ci"}, "ci", false},
		{[]string{"clean-install"}, "ci", false},
		{[]string{"ic"}, "ci", false},
		{[]string{"install-clean"}, "ci", false},
		{[]string{"isntall-clean"}, "ci", false},
		{[]string{"update"}, "update", false},
		{[]string{"up"}, "update", false},
		{[]string{"u"}, "update", false},
		{[]string{"upgrade", "x"}, "update", false},
		{[]string{"udpate"}, "update", false},
		{[]string{"upd"}, "update", false}, // unique prefix
		{[]string{"uninstall", "x"}, "uninstall", false},
		{[]string{"un", "x"}, "uninstall", false},
		{[]string{"unlink", "x"}, "uninstall", false},
		{[]string{"remove", "x"}, "uninstall", false},
		{[]string{"rm", "x"}, "uninstall", false},
		{[]string{"r", "x"}, "uninstall", false},
		{[]string{"rebuild"}, "rebuild", false},
		{[]string{"rb"}, "rebuild", false},
		{[]string{"install-test"}, "install-test", false},
		{[]string{"it"}, "install-test", false},
		{[]string{"install-ci-test"}, "install-ci-test", false},
		{[]string{"cit"}, "install-ci-test", false},
		{[]string{"sit"}, "install-ci-test", false},
		{[]string{"clean-install-test"}, "install-ci-test", false},
		{[]string{"dedupe"}, "dedupe", false},
		{[]string{"ddp"}, "dedupe", false},
		{[]string{"prune"}, "prune", false},
		{[]string{"installTest"}, "install-test", false}, // camelCase
		{[]string{"audit", "fix"}, "audit", false},
		// flags before the subcommand do not hide it
		{[]string{"--save", "install", "x"}, "install", false},
		{[]string{"--save-dev", "true", "install", "x"}, "install", false},
		{[]string{"--prefix", "sub", "install", "x"}, "install", false},
		{[]string{"-C", "sub", "i", "x"}, "install", false},
		{[]string{"--registry=https://r.example/", "install"}, "install", false},
		{[]string{"--registry", "https://r.example/", "install"}, "install", false},
		{[]string{"--reg", "https://r.example/", "install"}, "install", false},   // shorthand
		{[]string{"--regis", "https://r.example/", "install"}, "install", false}, // abbreviation
		{[]string{"--loglevel", "silly", "ci"}, "ci", false},
		{[]string{"-dd", "ci"}, "ci", false},
		{[]string{"--workspace", "a", "install", "x"}, "install", false},
		{[]string{"--some-new-option", "value", "install"}, "install", false}, // safety net
		{[]string{"--color", "always", "install"}, "install", false},
		{[]string{"--browser", "firefox", "install"}, "install", false},
		// global installs are refused
		{[]string{"-g", "install", "x"}, "", true},
		{[]string{"install", "-g", "x"}, "", true},
		{[]string{"--global", "i", "x"}, "", true},
		{[]string{"--glob", "i", "x"}, "install", false}, // ambiguous (global, global-style): npm ignores it
		{[]string{"-gD", "i", "x"}, "", true},
		{[]string{"--location=global", "i", "x"}, "", true},
		{[]string{"-L", "global", "i", "x"}, "", true},
		{[]string{"link", "x"}, "", true},
		{[]string{"update", "-g"}, "", true},
		{[]string{"install", "--no-save", "x"}, "", true},
		{[]string{"install", "--no-package-lock", "x"}, "", true},
		// everything else passes through
		{[]string{"run", "build"}, "", false},
		{[]string{"run", "install"}, "", false},
		{[]string{"test"}, "", false},
		{[]string{"t"}, "", false},
		{[]string{"ls"}, "", false},
		{[]string{"view", "lodash"}, "", false},
		{[]string{"--version"}, "", false},
		{[]string{"-v"}, "", false},
		{[]string{"config", "get", "registry"}, "", false},
		{[]string{"audit"}, "", false},
		{[]string{"init", "-y"}, "", false},
		{[]string{"install-scripts", "ls"}, "", false},
		{[]string{"find-dupes"}, "", false},
		{[]string{"install", "--dry-run", "x"}, "", false},
		{[]string{"install", "--package-lock-only"}, "", false},
		{[]string{"help", "install"}, "", false},
		{[]string{"install", "--help"}, "", false},
		{[]string{}, "", false},
		{[]string{"--", "install"}, "install", false}, // npm still takes the command after "--"
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			p, err := npm.Plan(tt.args, env)
			var ref *Refusal
			if tt.refuse {
				if !errors.As(err, &ref) {
					t.Fatalf("want a refusal, got plan %+v err %v", p, err)
				}
				if ref.Advice == "" {
					t.Errorf("refusal without advice: %v", ref)
				}
				if _, plain := err.(*Refusal); !plain {
					t.Errorf("a refusal must be a plain *Refusal (cmd maps it to the usage code), got %T %v", err, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.sub == "" {
				if !p.Passthrough {
					t.Fatalf("want passthrough, got %s plan", p.Subcommand)
				}
				return
			}
			if p.Passthrough || p.Subcommand != tt.sub {
				t.Fatalf("got passthrough=%v sub=%q, want %q", p.Passthrough, p.Subcommand, tt.sub)
			}
		})
	}
}

// TestNpmArgvMatchesRealNpm asks the npm on this machine (its own nopt, option
// definitions and cmd-list) how it reads each command line, and compares.
func TestNpmArgvMatchesRealNpm(t *testing.T) {
	npmBin, err := exec.LookPath("npm")
	if err != nil {
		t.Skip("npm not installed")
	}
	rootOut, err := exec.Command(npmBin, "root", "-g").Output()
	if err != nil {
		t.Skipf("npm root -g: %v", err)
	}
	npmDir := filepath.Join(strings.TrimSpace(string(rootOut)), "npm")
	if _, err := os.Stat(filepath.Join(npmDir, "lib", "utils", "cmd-list.js")); err != nil {
		t.Skipf("npm sources not at %s", npmDir)
	}
	cases := [][]string{
		{"install", "x"}, {"--save", "install", "x"}, {"--prefix", "d", "install"},
		{"-C", "d", "i"}, {"--reg", "https://r/", "i"}, {"--regis", "https://r/", "i"},
		{"-gD", "i", "x"}, {"--glob", "i"}, {"--no-global", "i"}, {"--global", "false", "i"},
		{"--no-global", "false", "i"}, {"-dd", "ci"}, {"--loglevel=silly", "ci"},
		{"--color", "always", "ci"}, {"--browser", "ff", "ci"}, {"--browser", "-g", "ci"},
		{"-L", "global", "i"}, {"--location", "global", "i"}, {"--tag", "--", "i"},
		{"--", "install"}, {"isnta"}, {"upd"}, {"reb"}, {"dedu"}, {"unin"}, {"installTest"},
		{"clean-install-t"}, {"cl"}, {"x", "foo"}, {"--unknown-flag", "install"},
		{"--unknown=v", "install"}, {"-w", "a", "i"}, {"--ws", "i"}, {"-y", "exec", "foo"},
		{"--package", "foo", "exec"}, {"-c", "echo hi", "exec"}, {"--prefer-off", "ci"},
		{"-s", "i"}, {"--silent", "i"}, {"--verbose", "i"}, {"-h", "i"}, {"--cache", "/c", "ci"},
	}
	script := `
const dir = process.argv[1];
const nopt = require(dir + '/node_modules/nopt');
const { definitions, shorthands } = require(dir + '/node_modules/@npmcli/config/lib/definitions');
const { deref } = require(dir + '/lib/utils/cmd-list.js');
const types = {}; for (const [k, d] of Object.entries(definitions)) types[k] = d.type;
const out = JSON.parse(require('fs').readFileSync(0, 'utf8')).map(argv => {
  const p = nopt(types, shorthands, argv, 0);
  return { cmd: deref(p.argv.remain[0]) || p.argv.remain[0] || '', global: p.global === true || p.location === 'global',
           prefix: typeof p.prefix === 'string' ? p.prefix : '', registry: typeof p.registry === 'string' ? p.registry : '' };
});
console.log(JSON.stringify(out));`
	in, _ := json.Marshal(cases)
	cmd := exec.Command("node", "-e", script, npmDir)
	cmd.Stdin = strings.NewReader(string(in))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node oracle: %v", err)
	}
	var want []struct {
		Cmd, Prefix, Registry string
		Global                bool
	}
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatal(err)
	}
	for i, argv := range cases {
		a := parseNpmArgv(argv)
		cmd := ""
		if len(a.positionals) > 0 {
			cmd = npmDeref(a.positionals[0])
			if cmd == "" {
				cmd = a.positionals[0]
			}
		}
		global := a.isTrue("global") || lastOr(a, "location", "") == "global"
		prefix, _ := a.last("prefix")
		if prefix != "" && !filepath.IsAbs(prefix) {
			wd, _ := os.Getwd()
			prefix = filepath.Join(wd, prefix)
		}
		registry, _ := a.last("registry")
		got := []any{cmd, global, prefix, registry}
		exp := []any{want[i].Cmd, want[i].Global, want[i].Prefix, want[i].Registry}
		if !slices.Equal(toStrings(got), toStrings(exp)) {
			t.Errorf("npm %q: we read %v, npm reads %v", argv, got, exp)
		}
	}
}

func toStrings(v []any) []string {
	out := make([]string, len(v))
	for i, x := range v {
		b, _ := json.Marshal(x)
		out[i] = string(b)
	}
	return out
}

func TestNpmInstallPlan(t *testing.T) {
	env := testEnv(t, map[string]string{
		"package.json":            `{"name":"p","version":"1.0.0","workspaces":["packages/*"]}`,
		"packages/a/package.json": `{"name":"a"}`,
		"packages/b/README":       `not a workspace: no package.json`,
		"src/index.js":            ``,
	})
	needNodeHeaders(t, env)
	env.Dir = filepath.Join(env.Dir, "src") // npm walks up to the project root
	root := filepath.Dir(env.Dir)
	npm, _ := Lookup("npm")
	p, err := npm.Plan([]string{"--save-dev", "i", "lodash@4.17.21", "-w", "a"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if p.Project.Root != root || p.Project.Cwd != "src" {
		t.Errorf("root %q cwd %q, want %q and src", p.Project.Root, p.Project.Cwd, root)
	}
	wantResolve := []string{"npm", "install", "--save-dev", "-w", "a", "lodash@4.17.21", "--package-lock-only", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"}
	if !slices.Equal(npmResolveArgv(p.Steps.Resolve), wantResolve) || !p.Steps.Resolve.Network {
		t.Errorf("resolve %q", p.Steps.Resolve.Args)
	}
	// The log names the user's command; npm's own argv is for -v.
	if want := "npm --save-dev i lodash@4.17.21 -w a"; p.Steps.Resolve.Name != want || p.Steps.Download.Name != want {
		t.Errorf("step names %q, %q, want the user's command %q", p.Steps.Resolve.Name, p.Steps.Download.Name, want)
	}
	wantDownload := []string{"npm", "install", "--prefer-offline", "--save-dev", "-w", "a", "--ignore-scripts", "--no-audit", "--no-fund"}
	if !slices.Equal(p.Steps.Download.Args, wantDownload) || !p.Steps.Download.Network || !p.Steps.Download.Credentials {
		t.Errorf("download %q", p.Steps.Download.Args)
	}
	if p.Steps.Build.Network || p.Steps.Build.Credentials || p.Steps.Build.Args[1] != "rebuild" {
		t.Errorf("build %+v", p.Steps.Build)
	}
	if !slices.ContainsFunc(p.Steps.Build.Env, func(s string) bool { return strings.HasPrefix(s, NodeGypNodedirEnv+"/") }) {
		t.Errorf("build env lacks %s: %q", NodeGypNodedirEnv, p.Steps.Build.Env)
	}
	// node-gyp 8–11 (node-sass@9 brings node-gyp 8 into a tree) read only npm_config_nodedir.
	if !slices.ContainsFunc(p.Steps.Build.Env, func(s string) bool { return strings.HasPrefix(s, "npm_config_nodedir=/") }) {
		t.Errorf("build env lacks npm_config_nodedir for older node-gyp: %q", p.Steps.Build.Env)
	}
	wantOut := []string{"node_modules/", "package.json", "packages/a/node_modules/", "packages/a/package.json", "package-lock.json"}
	if !slices.Equal(p.Project.Outputs, wantOut) {
		t.Errorf("outputs %q, want %q", p.Project.Outputs, wantOut)
	}
	if !slices.Equal(p.Project.Lockfiles, []string{"package-lock.json"}) || !slices.Contains(p.Project.Sealed, "packages/a/package.json") {
		t.Errorf("lockfiles %q sealed %q", p.Project.Lockfiles, p.Project.Sealed)
	}
	if p.Registries.Registry != DefaultNpmRegistry {
		t.Errorf("registry %q", p.Registries.Registry)
	}
	c := p.Sandbox.Caches[0]
	if c.Path != filepath.Join(env.Home, ".npm") {
		t.Errorf("cache %q", c.Path)
	}
	if m, _ := c.MountedIn(PhaseBuild); m {
		t.Error("npm cache must not be visible to build scripts")
	}
	if _, w := c.MountedIn(PhaseDownload); !w {
		t.Error("npm cache must be writable while downloading")
	}
}

func TestNpmPrefixPlan(t *testing.T) {
	env := testEnv(t, map[string]string{"app/package.json": `{"name":"app"}`, "package.json": `{"name":"outer"}`})
	needNodeHeaders(t, env)
	npm, _ := Lookup("npm")
	p, err := npm.Plan([]string{"-C", "app", "install", "lodash"}, env)
	if err != nil {
		t.Fatal(err)
	}
	app := filepath.Join(env.Dir, "app")
	if p.Project.Root != app || p.Project.Cwd != "." {
		t.Errorf("root %q cwd %q, want %q", p.Project.Root, p.Project.Cwd, app)
	}
	// A registry package: resolved and fetched in one step (npmfetch.go).
	want := []string{"npm", "install", "--prefix", app, "lodash", "--ignore-scripts", "--no-audit", "--no-fund"}
	if !slices.Equal(npmResolveArgv(p.Steps.Resolve), want) || !p.Steps.Resolve.Installs || p.Steps.Download != nil {
		t.Errorf("resolve %q, want %q", p.Steps.Resolve.Args, want)
	}
}

func TestNpmCIAndRebuildPlans(t *testing.T) {
	env := testEnv(t, map[string]string{"package.json": `{"name":"p"}`, "npm-shrinkwrap.json": `{}`})
	needNodeHeaders(t, env)
	npm, _ := Lookup("npm")
	p, err := npm.Plan([]string{"ci", "--omit=dev"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if p.Steps.Resolve != nil || !slices.Equal(p.Steps.Download.Args, []string{"npm", "ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund"}) {
		t.Errorf("ci resolve %v download %q", p.Steps.Resolve, p.Steps.Download.Args)
	}
	if !slices.Equal(p.Project.Lockfiles, []string{"npm-shrinkwrap.json"}) {
		t.Errorf("ci lockfiles %q", p.Project.Lockfiles)
	}
	p, err = npm.Plan([]string{"rb", "esbuild"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if p.Steps.Resolve != nil || p.Steps.Download != nil || !slices.Equal(p.Steps.Build.Args[:3], []string{"npm", "rebuild", "esbuild"}) || p.Steps.Build.AppendChanged {
		t.Errorf("rebuild plan %+v build %q", p, p.Steps.Build.Args)
	}
	p, err = npm.Plan([]string{"it"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if npmResolveArgv(p.Steps.Resolve)[1] != "install" || !slices.Equal(p.Then, []string{"npm", "test"}) {
		t.Errorf("install-test %q then %q", p.Steps.Resolve.Args, p.Then)
	}
}

func TestNpmExecPlans(t *testing.T) {
	env := testEnv(t, map[string]string{
		"package.json":               `{"name":"p"}`,
		"node_modules/.bin/prettier": "#!/bin/sh\n",
	})
	needNodeHeaders(t, env)
	npm, _ := Lookup("npm")
	npx, _ := Lookup("npx")
	tests := []struct {
		tool    string
		args    []string
		pass    bool
		pkgs    []string // what Resolve installs
		binOf   string
		runArgs []string
	}{
		{"npx", []string{"prettier", "--check", "."}, true, nil, "", nil}, // local bin: already installed code
		{"npx", []string{"cowsay", "hi"}, false, []string{"cowsay"}, "cowsay", []string{"hi"}},
		{"npx", []string{"-y", "cowsay@1.6.0", "hi"}, false, []string{"cowsay@1.6.0"}, "cowsay", []string{"hi"}},
		{"npx", []string{"-p", "@angular/cli", "ng", "new"}, false, []string{"@angular/cli"}, "", []string{"ng", "new"}},
		{"npx", []string{"--package=typescript", "-p", "ts-node", "ts-node", "x.ts"}, false, []string{"typescript", "ts-node"}, "", []string{"ts-node", "x.ts"}},
		{"npm", []string{"exec", "--", "cowsay", "--help"}, false, []string{"cowsay"}, "cowsay", []string{"--help"}},
		{"npm", []string{"x", "cowsay"}, false, []string{"cowsay"}, "cowsay", nil},
		{"npm", []string{"--yes", "exec", "--package", "cowsay", "--", "cowsay", "moo"}, false, []string{"cowsay"}, "", []string{"cowsay", "moo"}},
		{"npm", []string{"init", "vite@latest", "app"}, false, []string{"create-vite@latest"}, "", []string{"create-vite", "app"}},
		{"npm", []string{"create", "@scope"}, false, []string{"@scope/create"}, "", []string{"create"}},
		{"npm", []string{"exec", "prettier"}, true, nil, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.tool+" "+strings.Join(tt.args, " "), func(t *testing.T) {
			m := npx
			if tt.tool == "npm" {
				m = npm
			}
			p, err := m.Plan(tt.args, env)
			if err != nil {
				t.Fatal(err)
			}
			if p.Passthrough != tt.pass {
				t.Fatalf("passthrough %v", p.Passthrough)
			}
			if tt.pass {
				return
			}
			if p.Scratch == nil || p.Steps.Run == nil || p.Steps.Run.Network || p.Steps.Build.Network {
				t.Fatalf("exec plan must be scratch with an offline run: %+v", p)
			}
			wantResolve := concat([]string{"npm", "install"}, tt.pkgs, npmResolveFlags)
			if !slices.Equal(p.Steps.Resolve.Args, wantResolve) {
				t.Errorf("resolve %q, want %q", p.Steps.Resolve.Args, wantResolve)
			}
			if p.Scratch.RunBinOf != tt.binOf || !slices.Equal(p.Steps.Run.Args, tt.runArgs) {
				t.Errorf("run binOf=%q args=%q, want %q %q", p.Scratch.RunBinOf, p.Steps.Run.Args, tt.binOf, tt.runArgs)
			}
		})
	}
}

func TestNodeHeadersDir(t *testing.T) {
	env := testEnv(t, nil)
	dir, err := NodeHeadersDir(env)
	if err != nil {
		t.Skipf("this machine's node has no headers: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "include", "node", "node.h")); err != nil {
		t.Errorf("%s has no include/node/node.h", dir)
	}
	// A node without headers next to it: a clear error naming the fix.
	fake := t.TempDir()
	os.MkdirAll(filepath.Join(fake, "bin"), 0o755)
	os.WriteFile(filepath.Join(fake, "bin", "node"), []byte("#!/bin/sh\n"), 0o755)
	_, err = NodeHeadersDir(Env{Environ: []string{"PATH=" + filepath.Join(fake, "bin")}})
	if !errors.Is(err, ErrNoNodeHeaders) || !strings.Contains(err.Error(), "npm_config_nodedir") {
		t.Errorf("want ErrNoNodeHeaders with advice, got %v", err)
	}
	_, err = NodeHeadersDir(Env{Environ: []string{"npm_config_nodedir=" + fake}})
	if !errors.Is(err, ErrNoNodeHeaders) {
		t.Errorf("a nodedir without headers must be rejected, got %v", err)
	}
}

func TestToolEnvReachesSteps(t *testing.T) {
	env := testEnv(t, nil)
	needNodeHeaders(t, env)
	env.Environ = append(env.Environ,
		"npm_config_registry=https://mirror.example/",
		"NPM_CONFIG_LEGACY_PEER_DEPS=true",
		"npm_config_//mirror.example/:_authToken=tok-123",
		"npm_config_cache=/host/only/cache",
		"UNRELATED_SECRET=nope",
	)
	npm, _ := Lookup("npm")
	p, err := npm.Plan([]string{"install"}, env)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Step{p.Steps.Resolve, p.Steps.Download, p.Steps.Build} {
		if s == nil {
			continue // no download: the resolve step fetches (npmfetch.go)
		}
		joined := strings.Join(s.Env, "\n")
		if !strings.Contains(joined, "npm_config_registry=https://mirror.example/") || !strings.Contains(joined, "NPM_CONFIG_LEGACY_PEER_DEPS=true") {
			t.Errorf("%q: user npm settings missing from %q", s.Args[:2], s.Env)
		}
		for _, bad := range []string{"tok-123", "/host/only/cache", "UNRELATED"} {
			if strings.Contains(joined, bad) {
				t.Errorf("%q: step env carries %q", s.Args[:2], bad)
			}
		}
	}
	for _, s := range []*Step{p.Steps.Resolve, p.Steps.Download} {
		if s == nil {
			continue
		}
		if !slices.Contains(s.Env, "npm_config_ignore_scripts=true") {
			t.Errorf("%q: child npm processes (git dependency packing) could run scripts: env %q", s.Args[:2], s.Env)
		}
	}
	if slices.Contains(p.Steps.Build.Env, "npm_config_ignore_scripts=true") {
		t.Error("build must run scripts")
	}
	if p.Sandbox.Credentials == nil || !slices.Contains(p.Sandbox.Credentials.Env, "npm_config_//mirror.example/:_authToken=tok-123") {
		t.Errorf("the token must travel as a credential, got %v", p.Sandbox.Credentials)
	}
	if p.Registries.Registry != "https://mirror.example/" {
		t.Errorf("registry %q", p.Registries.Registry)
	}
	if p.Registries == nil || p.Registries.Registry != "https://mirror.example/" || p.Registries.Token != "tok-123" {
		t.Errorf("metadata client %v: want the mirror with its token", p.Registries)
	}
	if s := fmt.Sprintf("%v %+v", p, p.Registries); strings.Contains(s, "tok-123") {
		t.Errorf("printing the plan shows the token: %s", s)
	}
	if len(p.Sandbox.HostPaths) == 0 {
		t.Error("no host paths for node and npm")
	}
	for _, hp := range p.Sandbox.HostPaths {
		if !filepath.IsAbs(hp) {
			t.Errorf("host path %q not absolute", hp)
		}
	}
}

func TestPlanJSONHasNoSecrets(t *testing.T) {
	env, _ := npmrcEnv(t, "//registry.npmjs.org/:_authToken=proj-secret-1\n", "//registry.npmjs.org/:_authToken=user-secret-2\n", "PATH="+os.Getenv("PATH"))
	writeFile(t, filepath.Join(env.Dir, "package.json"), `{"name":"p"}`)
	needNodeHeaders(t, env)
	npm, _ := Lookup("npm")
	p, err := npm.Plan([]string{"install", "lodash"}, env)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatalf("a plan must marshal for --format json: %v", err)
	}
	if strings.Contains(string(b), "secret-1") || strings.Contains(string(b), "secret-2") || !strings.Contains(string(b), `"Subcommand":"install"`) {
		t.Errorf("plan JSON: %s", b)
	}
	if p.Registries.Token != "proj-secret-1" {
		t.Error("the project's token should win for metadata")
	}
}

func TestNpmBuildNeeded(t *testing.T) {
	const reg = `"resolved":"https://registry.npmjs.org/a/-/a-1.0.0.tgz","integrity":"sha512-x"`
	lock := func(entries string) string {
		return `{"lockfileVersion":3,"packages":{"":{"name":"root"},` + entries + `}}`
	}
	tests := []struct {
		name  string
		files map[string]string
		want  bool
	}{
		{"registry packages without scripts", map[string]string{
			"node_modules/.package-lock.json": lock(`"node_modules/a":{` + reg + `},"node_modules/b":{"integrity":"sha512-y"}`),
			"node_modules/a/package.json":     `{"name":"a","scripts":{"test":"x","prepare":"y"}}`,
		}, false},
		{"hasInstallScript", map[string]string{
			"node_modules/.package-lock.json": lock(`"node_modules/a":{` + reg + `,"hasInstallScript":true}`),
		}, true},
		{"postinstall on disk", map[string]string{
			"node_modules/.package-lock.json": lock(`"node_modules/a":{` + reg + `}`),
			"node_modules/a/package.json":     `{"scripts":{"postinstall":"node x"}}`,
		}, true},
		{"binding.gyp on disk", map[string]string{
			"node_modules/.package-lock.json": lock(`"node_modules/a":{` + reg + `}`),
			"node_modules/a/package.json":     `{}`,
			"node_modules/a/binding.gyp":      `{}`,
		}, true},
		{"binding.gyp with gypfile false", map[string]string{
			"node_modules/.package-lock.json": lock(`"node_modules/a":{` + reg + `}`),
			"node_modules/a/package.json":     `{"gypfile":false}`,
			"node_modules/a/binding.gyp":      `{}`,
		}, false},
		{"local tarball", map[string]string{
			"node_modules/.package-lock.json": lock(`"node_modules/a":{"resolved":"file:vendor/a.tgz","integrity":"sha512-x"}`),
		}, true},
		{"git dependency", map[string]string{
			"node_modules/.package-lock.json": lock(`"node_modules/a":{"resolved":"git+ssh://git@github.com/a/a.git#abc"}`),
		}, true},
		{"workspace link", map[string]string{
			"node_modules/.package-lock.json": lock(`"node_modules/w":{"resolved":"packages/w","link":true},"packages/w":{"name":"w"}`),
		}, true},
		{"no integrity, no resolved", map[string]string{
			"node_modules/.package-lock.json": lock(`"node_modules/a":{"version":"1.0.0"}`),
		}, true},
		{"no hidden lockfile", map[string]string{}, true},
		{"lockfile v1", map[string]string{"node_modules/.package-lock.json": `{"lockfileVersion":1,"dependencies":{}}`}, true},
		{"garbage", map[string]string{"node_modules/.package-lock.json": `{`}, true},
		{"unparsable package.json", map[string]string{
			"node_modules/.package-lock.json": lock(`"node_modules/a":{` + reg + `}`),
			"node_modules/a/package.json":     `{`,
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			read := func(rel string) ([]byte, error) {
				if d, ok := tt.files[rel]; ok {
					return []byte(d), nil
				}
				return nil, fmt.Errorf("read %s: %w", rel, fs.ErrNotExist)
			}
			got, why := NpmBuildNeeded(read)
			if got != tt.want || why == "" {
				t.Errorf("NpmBuildNeeded = %v (%s), want %v", got, why, tt.want)
			}
		})
	}
}

// npm run in a workspace's own directory installs at the workspace root, as npm
// does (its local prefix walks up to a package.json listing the directory among
// its workspaces); not with --workspaces=false, and not for a directory that is
// not listed.
func TestNpmWorkspaceMemberRoot(t *testing.T) {
	env := testEnv(t, map[string]string{
		"package.json":               `{"name":"p","version":"1.0.0","workspaces":["packages/*"]}`,
		"packages/a/package.json":    `{"name":"a"}`,
		"tools/x/package.json":       `{"name":"x"}`,
		"packages/a/src/index.js":    ``,
		"packages/a/.npmrc":          ``,
		"tools/x/node_modules/.keep": ``,
	})
	needNodeHeaders(t, env)
	root := env.Dir
	npm, _ := Lookup("npm")
	for _, tc := range []struct {
		dir, wantRoot, wantCwd string
		args                   []string
	}{
		{"packages/a", root, "packages/a", []string{"install", "left-pad"}},
		{"packages/a/src", root, "packages/a/src", []string{"install", "left-pad"}},
		{"packages/a", filepath.Join(root, "packages", "a"), ".", []string{"install", "left-pad", "--workspaces=false"}},
		{"tools/x", filepath.Join(root, "tools", "x"), ".", []string{"install", "left-pad"}},
	} {
		e := env
		e.Dir = filepath.Join(root, filepath.FromSlash(tc.dir))
		p, err := npm.Plan(tc.args, e)
		if err != nil {
			t.Fatalf("%s: %v", tc.dir, err)
		}
		if p.Project.Root != tc.wantRoot || p.Project.Cwd != tc.wantCwd {
			t.Errorf("npm %v in %s: root %q cwd %q, want %q and %q", tc.args, tc.dir, p.Project.Root, p.Project.Cwd, tc.wantRoot, tc.wantCwd)
		}
		if said := slices.ContainsFunc(p.Notes, func(n string) bool { return strings.Contains(n, "installing at the workspace root") }); said != (tc.wantRoot == root) {
			t.Errorf("npm %v in %s: notes %q", tc.args, tc.dir, p.Notes)
		}
	}
	// The root's own scripts run at the root, as bare npm runs them (from the
	// member's dir, npm run-script would look in the workspace).
	if err := os.WriteFile(filepath.Join(root, "package.json"), []byte(`{"name":"p","workspaces":["packages/*"],"scripts":{"prepare":"echo root"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	e := env
	e.Dir = filepath.Join(root, "packages", "a")
	p, err := npm.Plan([]string{"install"}, e)
	if err != nil {
		t.Fatal(err)
	}
	if ps := p.Steps.ProjectScripts; ps == nil || ps.Dir != root {
		t.Errorf("the root's prepare: %+v, want it run in %s", ps, root)
	}
}

// The walk to a workspace root stops at a directory others may write to or
// another user owns, and reads no package.json that is a FIFO or a link.
func TestNpmWorkspaceRootUntrusted(t *testing.T) {
	base := t.TempDir()
	mk := func(dir, manifest string) string {
		t.Helper()
		d := filepath.Join(base, dir)
		if err := os.MkdirAll(filepath.Join(d, "proj"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "proj", "package.json"), []byte(`{"name":"proj"}`), 0o644); err != nil {
			t.Fatal(err)
		}
		if manifest != "" {
			if err := os.WriteFile(filepath.Join(d, "package.json"), []byte(manifest), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return d
	}
	ws := `{"workspaces":["*"]}`
	if d := mk("mine", ws); npmWorkspaceRoot(filepath.Join(d, "proj")) != d {
		t.Errorf("the user's own workspace root was not found")
	}
	shared := mk("shared", ws)
	if err := os.Chmod(shared, 0o1777); err != nil {
		t.Fatal(err)
	}
	if got := npmWorkspaceRoot(filepath.Join(shared, "proj")); got != "" {
		t.Errorf("a world-writable ancestor became the root: %s", got)
	}
	fifo := mk("fifo", "")
	if err := syscall.Mkfifo(filepath.Join(fifo, "package.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan string, 1)
	go func() { done <- npmWorkspaceRoot(filepath.Join(fifo, "proj")) }()
	select {
	case got := <-done:
		if got != "" {
			t.Errorf("a FIFO package.json made a root: %s", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the walk blocked on a FIFO package.json")
	}
	link := mk("link", "")
	if err := os.Symlink(filepath.Join(base, "mine", "package.json"), filepath.Join(link, "package.json")); err != nil {
		t.Fatal(err)
	}
	if got := npmWorkspaceRoot(filepath.Join(link, "proj")); got == link {
		t.Errorf("a linked package.json made a root: %s", got)
	}
	if os.Geteuid() == 0 {
		other := mk("other", ws)
		if err := os.Chown(other, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		if got := npmWorkspaceRoot(filepath.Join(other, "proj")); got != "" {
			t.Errorf("another user's ancestor became the root: %s", got)
		}
	} else {
		t.Log("skipped the other-owner case: it needs root to chown")
	}
}

package managers

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestPnpmClassify(t *testing.T) {
	env := testEnv(t, nil)
	needNodeHeaders(t, env)
	pnpm, _ := Lookup("pnpm")
	tests := []struct {
		args   []string
		sub    string // "" = passthrough
		refuse bool
	}{
		{[]string{"install"}, "install", false},
		{[]string{"i"}, "install", false},
		{[]string{"install", "lodash"}, "add", false}, // pnpm treats install with packages as add
		{[]string{"add", "lodash"}, "add", false},
		{[]string{"add", "-D", "typescript"}, "add", false},
		{[]string{"update"}, "update", false},
		{[]string{"up", "lodash"}, "update", false},
		{[]string{"upgrade"}, "update", false},
		{[]string{"remove", "x"}, "remove", false},
		{[]string{"rm", "x"}, "remove", false},
		{[]string{"uninstall", "x"}, "remove", false},
		{[]string{"un", "x"}, "remove", false},
		{[]string{"uni", "x"}, "remove", false},
		{[]string{"rebuild"}, "rebuild", false},
		{[]string{"rb", "esbuild"}, "rebuild", false},
		{[]string{"install-test"}, "install-test", false},
		{[]string{"it"}, "install-test", false},
		{[]string{"import"}, "import", false},
		{[]string{"fetch"}, "fetch", false},
		{[]string{"dedupe"}, "dedupe", false},
		{[]string{"unlink", "x"}, "unlink", false},
		{[]string{"approve-builds"}, "approve-builds", false},
		{[]string{"dlx", "cowsay", "hi"}, "dlx", false},
		{[]string{"create", "vite", "app"}, "dlx", false},
		{[]string{"-r", "install"}, "install", false},
		{[]string{"recursive", "add", "x"}, "add", false},
		{[]string{"m", "update"}, "update", false},
		{[]string{"--filter", "web", "add", "x"}, "add", false},
		{[]string{"-F", "web", "i"}, "install", false},
		{[]string{"-C", "sub", "install"}, "install", false},
		{[]string{"--dir", "sub", "add", "x"}, "add", false},
		{[]string{"--registry", "https://r.example/", "i"}, "install", false},
		{[]string{"--reporter", "append-only", "i"}, "install", false},
		{[]string{"--store-dir", "/s", "install"}, "install", false},
		{[]string{"--new-option", "value", "install"}, "install", false}, // safety net
		{[]string{"add", "-g", "x"}, "", true},
		{[]string{"-g", "add", "x"}, "", true},
		{[]string{"link", "../x"}, "", true},
		{[]string{"deploy", "out"}, "", true},
		{[]string{"self-update"}, "", true},
		{[]string{"patch-commit", "/tmp/x"}, "", true},
		{[]string{"update", "-i"}, "", true},
		{[]string{"exec", "tsc"}, "", false},                    // local bins only: nothing fetched
		{[]string{"exec", "pnpm", "install"}, "install", false}, // a manager run by exec is planned as itself (execmanager.go)
		{[]string{"run", "install"}, "", false},
		{[]string{"test"}, "", false},
		{[]string{"build"}, "", false}, // falls back to `pnpm run build`
		{[]string{"ls"}, "", false},
		{[]string{"why", "x"}, "", false},
		{[]string{"store", "path"}, "", false},
		{[]string{"--version"}, "", false},
		{[]string{"install", "--help"}, "", false},
		{[]string{"install", "--lockfile-only"}, "", false},
		{[]string{"ci"}, "", false}, // not implemented by pnpm: let it say so
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			p, err := pnpm.Plan(tt.args, env)
			var ref *Refusal
			if tt.refuse {
				if !errors.As(err, &ref) || ref.Advice == "" {
					t.Fatalf("want a refusal with advice, got %v %v", p, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.sub == "" {
				if !p.Passthrough {
					t.Fatalf("want passthrough, got %q", p.Subcommand)
				}
				return
			}
			if p.Passthrough || p.Subcommand != tt.sub {
				t.Fatalf("got passthrough=%v %q, want %q", p.Passthrough, p.Subcommand, tt.sub)
			}
		})
	}
}

func TestPnpmPlans(t *testing.T) {
	env := testEnv(t, map[string]string{
		"package.json":           `{"name":"mono","private":true}`,
		"pnpm-workspace.yaml":    "packages:\n  - 'apps/*'\n  - '!apps/skip'\n",
		"apps/web/package.json":  `{"name":"web"}`,
		"apps/skip/package.json": `{"name":"skip"}`,
	})
	needNodeHeaders(t, env)
	root := env.Dir
	env.Dir = filepath.Join(root, "apps", "web")
	env.Environ = append(env.Environ, "XDG_DATA_HOME="+filepath.Join(env.Home, "data"))
	pnpm, _ := Lookup("pnpm")
	p, err := pnpm.Plan([]string{"add", "-D", "typescript", "--filter", "web"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if p.Project.Root != root || p.Project.Cwd != "apps/web" {
		t.Errorf("root %q cwd %q: want the workspace root", p.Project.Root, p.Project.Cwd)
	}
	store := filepath.Join(env.Home, "data", "pnpm", "store")
	wantResolve := []string{"pnpm", "add", "-D", "--filter", "web", "typescript", "--lockfile-only", "--config.ignore-scripts=true", "--ignore-pnpmfile", "--config.store-dir=" + store}
	if !slices.Equal(p.Steps.Resolve.Args, wantResolve) {
		t.Errorf("resolve %q\nwant    %q", p.Steps.Resolve.Args, wantResolve)
	}
	// add's -D must not reach `pnpm install`, where it means "devDependencies only".
	wantDownload := []string{"pnpm", "install", "--filter", "web", "--frozen-lockfile", "--ignore-scripts", "--package-import-method=copy", "--config.side-effects-cache=false", "--config.store-dir=" + store, "--ignore-pnpmfile"}
	if !slices.Equal(p.Steps.Download.Args, wantDownload) {
		t.Errorf("download %q\nwant     %q", p.Steps.Download.Args, wantDownload)
	}
	if cmd := relinkedBuild(t, p.Steps.Build, p.Project.Root); p.Steps.Build.Network || cmd[1] != "rebuild" || !slices.Contains(cmd, "--config.side-effects-cache=false") {
		t.Errorf("build %+v", p.Steps.Build)
	}
	wantOut := []string{"node_modules/", "package.json", "apps/web/node_modules/", "apps/web/package.json", "pnpm-lock.yaml"}
	if !slices.Equal(p.Project.Outputs, wantOut) {
		t.Errorf("outputs %q, want %q", p.Project.Outputs, wantOut)
	}
	if p.Sandbox.Caches[0].Path != store {
		t.Errorf("store %q", p.Sandbox.Caches[0].Path)
	}
	for _, c := range p.Sandbox.Caches {
		if _, w := c.MountedIn(PhaseBuild); w {
			t.Errorf("cache %s writable by build scripts", c.Path)
		}
	}

	p, err = pnpm.Plan([]string{"recursive", "install", "--frozen-lockfile"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(p.Steps.Download.Args, "--recursive") || !slices.Contains(p.Steps.Resolve.Args, "--recursive") {
		t.Errorf("recursive prefix lost: %q / %q", p.Steps.Resolve.Args, p.Steps.Download.Args)
	}

	p, err = pnpm.Plan([]string{"create", "vite", "my-app", "--template", "react"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if p.Scratch == nil || p.Scratch.RunBinOf != "create-vite" || !slices.Equal(p.Steps.Run.Args, []string{"my-app", "--template", "react"}) || p.Steps.Resolve.Args[2] != "create-vite" {
		t.Errorf("create plan: binOf %q run %q resolve %q", p.Scratch.RunBinOf, p.Steps.Run.Args, p.Steps.Resolve.Args)
	}
	pnpx, _ := Lookup("pnpx")
	p, err = pnpx.Plan([]string{"cowsay@1.6.0", "moo"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if p.Scratch.RunBinOf != "cowsay" || !slices.Equal(p.Steps.Run.Args, []string{"moo"}) || p.Steps.Run.Network {
		t.Errorf("pnpx plan: %q %q", p.Scratch.RunBinOf, p.Steps.Run.Args)
	}
}

// `pnpm install --lockfile-only` is passed through to the host (it installs and
// builds nothing), but pnpm runs a pnpmfile while it resolves: with one it is
// refused, naming the file and --ignore-pnpmfile; with that flag, or without a
// pnpmfile, it passes through.
func TestPnpmLockfileOnlyPnpmfile(t *testing.T) {
	pnpm, _ := Lookup("pnpm")
	env := testEnv(t, map[string]string{"package.json": `{"name":"p","version":"1.0.0"}`, ".pnpmfile.cjs": "module.exports = {}\n"})
	_, err := pnpm.Plan([]string{"install", "--lockfile-only"}, env)
	var ref *Refusal
	if !errors.As(err, &ref) || !strings.Contains(ref.Reason, ".pnpmfile.cjs") || !strings.Contains(ref.Advice, "--ignore-pnpmfile") {
		t.Fatalf("--lockfile-only with a pnpmfile: want a refusal naming it, got %v", err)
	}
	for _, tc := range []struct {
		args  []string
		files map[string]string
	}{
		{[]string{"install", "--lockfile-only", "--ignore-pnpmfile"}, map[string]string{"package.json": `{"name":"p"}`, ".pnpmfile.cjs": "module.exports = {}\n"}},
		{[]string{"install", "--lockfile-only"}, map[string]string{"package.json": `{"name":"p"}`}},
	} {
		p, err := pnpm.Plan(tc.args, testEnv(t, tc.files))
		if err != nil || !p.Passthrough {
			t.Errorf("%v: want passthrough, got %v %v", tc.args, p, err)
		}
	}
}

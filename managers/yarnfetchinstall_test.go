package managers

import (
	"slices"
	"strings"
	"testing"
)

// How yarn classic's `yarn` / `yarn install` is planned (yarnfetchinstall.go): a
// registry-only yarn.lock that covers package.json is the resolution (no resolve
// step, one networked install, the build of only what has install scripts); a plain
// install that needs the lockfile completed is an add's one run; anything else
// keeps the three steps.
func TestYarnClassicInstallMode(t *testing.T) {
	pj := `{"name":"p","packageManager":"yarn@1.22.22","dependencies":{"@scope/a":"^1.0.0"}}`
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{"package.json": pj, "yarn.lock": yarnRegLock}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	reg := with(nil)
	lockWith := func(entry string) map[string]string {
		return with(map[string]string{"yarn.lock": yarnRegLock + "\n" + entry})
	}
	const (
		steps    = "resolve, download, build"
		lockfile = "download, build (the lockfile is the plan)"
		resolves = "resolve that installs, build"
	)
	for _, tc := range []struct {
		name  string
		files map[string]string
		args  []string
		want  string
	}{
		{"yarn", reg, nil, lockfile},
		{"yarn install", reg, []string{"install"}, lockfile},
		{"--frozen-lockfile", reg, []string{"install", "--frozen-lockfile", "--non-interactive"}, lockfile},
		{"bare yarn --frozen-lockfile", reg, []string{"--frozen-lockfile"}, lockfile},
		{"bare yarn --offline", reg, []string{"--offline"}, steps},
		{"a dev dependency covered", with(map[string]string{"package.json": `{"name":"p","packageManager":"yarn@1.22.22","devDependencies":{"b":"~2.0.0"}}`}), []string{"install"}, lockfile},
		{"a dependency yarn.lock lacks", with(map[string]string{"package.json": `{"name":"p","packageManager":"yarn@1.22.22","dependencies":{"@scope/a":"^1.0.0","c":"^1.0.0"}}`}), []string{"install"}, resolves},
		{"a dependency yarn.lock lacks, frozen", with(map[string]string{"package.json": `{"name":"p","packageManager":"yarn@1.22.22","dependencies":{"c":"^1.0.0"}}`}), []string{"install", "--frozen-lockfile"}, steps},
		{"an entry's dependency without an entry", with(map[string]string{"yarn.lock": strings.Split(yarnRegLock, "b@~2.0.0:")[0]}), []string{"install", "--frozen-lockfile"}, steps},
		{"no yarn.lock", map[string]string{"package.json": pj}, []string{"install"}, steps},
		{"git dependency", with(map[string]string{"package.json": `{"name":"p","packageManager":"yarn@1.22.22","dependencies":{"x":"git+https://example.com/x.git"}}`}), []string{"install"}, steps},
		{"file dependency", with(map[string]string{"package.json": `{"name":"p","packageManager":"yarn@1.22.22","dependencies":{"x":"file:../x"}}`}), []string{"install"}, steps},
		{"file entry in yarn.lock", lockWith("\"x@file:../x\":\n  version \"1.0.0\"\n"), []string{"install"}, steps},
		{"tarball URL entry", lockWith("\"x@https://example.com/x.tgz\":\n  version \"1.0.0\"\n  resolved \"https://example.com/x.tgz\"\n"), []string{"install"}, steps},
		{"registry-layout entry on a foreign host", lockWith("x@^1.0.0:\n  version \"1.0.0\"\n  resolved \"https://evil.example/x/-/x-1.0.0.tgz\"\n"), []string{"install"}, steps},
		{"entry on the .yarnrc registry", with(map[string]string{".yarnrc": "registry \"https://npm.example.com/\"\n", "yarn.lock": yarnRegLock + "\nx@^1.0.0:\n  version \"1.0.0\"\n  resolved \"https://npm.example.com/x/-/x-1.0.0.tgz\"\n"}), []string{"install"}, lockfile},
		{"resolutions", with(map[string]string{"package.json": `{"name":"p","packageManager":"yarn@1.22.22","dependencies":{"@scope/a":"^1.0.0"},"resolutions":{"b":"2.0.0"}}`}), []string{"install"}, steps},
		{"workspaces", with(map[string]string{"package.json": `{"name":"p","packageManager":"yarn@1.22.22","private":true,"workspaces":["w"]}`, "w/package.json": `{"name":"w"}`}), []string{"install"}, steps},
		{"an option that changes the install", reg, []string{"install", "--production"}, steps},
		{"--check-files", reg, []string{"install", "--check-files"}, steps},
		{"--ignore-scripts", reg, []string{"install", "--ignore-scripts"}, steps},
		{".yarnrc modules-folder", with(map[string]string{".yarnrc": "--modules-folder \"./mods\"\n"}), []string{"install"}, steps},
		{".yarnrc yarn-offline-mirror", with(map[string]string{".yarnrc": "yarn-offline-mirror \"./mirror\"\n"}), []string{"install"}, steps},
		{"options before the command", reg, []string{"--offline", "install"}, steps},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := testEnv(t, tc.files)
			needNodeHeaders(t, env)
			yarn, _ := Lookup("yarn")
			p, err := yarn.Plan(tc.args, env)
			if err != nil {
				if tc.want == steps {
					return // refused: nothing is fetched in one run either
				}
				t.Fatal(err)
			}
			s := p.Steps
			got := steps
			switch {
			case s.Resolve == nil && s.Download != nil:
				got = lockfile
			case s.Resolve != nil && s.Resolve.Installs && s.Download == nil:
				got = resolves
			case s.Resolve == nil || s.Download == nil:
				t.Fatalf("resolve %v, download %v", s.Resolve, s.Download)
			}
			if got != tc.want {
				t.Fatalf("planned %s, want %s", got, tc.want)
			}
			b := s.Build
			if b == nil || b.Network || !slices.Contains(b.Args, "--offline") {
				t.Fatalf("build %v: want an offline install", b)
			}
			if got == steps {
				if !slices.Contains(b.Args, "--force") || b.AppendChanged {
					t.Errorf("build %q: want the whole-tree --force build, as before", b.Args)
				}
				return
			}
			if slices.Contains(b.Args, "--force") || !b.AppendChanged || b.Args[len(b.Args)-1] != yarnBuildNamesMark || s.BuildChanged == nil {
				t.Errorf("build %q: want the build of only what has install scripts", b.Args)
			}
			net := s.Download
			if got == resolves {
				net = s.Resolve
			}
			if !net.Network || !slices.Contains(net.Args, "--ignore-scripts") || !strings.Contains(strings.Join(net.Args, " "), "yarn install") {
				t.Errorf("networked step %q: want yarn install with scripts off", net.Args)
			}
			if got == lockfile && hasFlag(tc.args, "--frozen-lockfile") && !slices.Contains(net.Args, "--frozen-lockfile") {
				t.Errorf("networked step %q: the user's --frozen-lockfile was dropped", net.Args)
			}
		})
	}
}

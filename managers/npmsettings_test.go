package managers

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every setting of npm 11 (npmOptions, from @npmcli/config's definitions.js) and of
// pnpm 10 (pnpmBoolKeys, pnpmValueKeys) has a class, and the overrides name only keys
// the lists know.
func TestNpmSettingsAllClassified(t *testing.T) {
	var all []string
	for k := range npmOptions {
		all = append(all, k)
	}
	all = append(append(append(all, pnpmBoolKeys...), pnpmValueKeys...), npmrcOnlyKeys...)
	for _, k := range all {
		if c := classifyNpmKey(k); c == SettingUnknown || settingClassWhy[c] == "" {
			t.Errorf("%s: class %q", k, c)
		}
	}
	for k := range npmSettingOverrides {
		if _, ok := knownNpmSettings()[k]; !ok {
			t.Errorf("override %s names no known setting (add it to npmrcOnlyKeys or drop it)", k)
		}
	}
}

func TestClassifyNpmKey(t *testing.T) {
	for key, want := range map[string]SettingClass{
		"save-exact": SettingData, "ignore-scripts": SettingData, "node-linker": SettingData,
		"git": SettingExec, "script-shell": SettingExec, "node-options": SettingExec,
		"onload-script": SettingExec, "pnpmfile": SettingExec, "use-node-version": SettingExec,
		"cache": SettingPath, "store-dir": SettingPath, "storeDir": SettingPath, "store_dir": SettingPath,
		"virtualStoreDir": SettingPath, "cafile": SettingPath,
		"userconfig": SettingUserOnly, "prefix": SettingUserOnly, "globalPnpmfile": SettingUserOnly,
		"registry": SettingNetwork, "@corp:registry": SettingNetwork, "https-proxy": SettingNetwork,
		"_authToken": SettingCredential, "//npm.example/:_authToken": SettingCredential,
		"//npm.example/path/:username": SettingCredential, "//npm.example/:certfile": SettingCredential,
		"//npm.example/:tokenHelper": SettingExec, "//npm.example/:always-auth": SettingData,
		"some-future-thing": SettingUnknown, "@corp:other": SettingUnknown,
	} {
		if got := classifyNpmKey(key); got != want {
			t.Errorf("%s: %s, want %s", key, got, want)
		}
	}
}

func TestProjectNpmrcRefusals(t *testing.T) {
	tests := []struct {
		name, project string
		want          []string // in the refusal
	}{
		{"env token", "registry=http://127.0.0.1:9/\n//127.0.0.1:9/:_authToken=${AWS_SECRET_ACCESS_KEY}\n",
			[]string{".npmrc:2:", "AWS_SECRET_ACCESS_KEY", "~/.npmrc"}},
		{"env in key", "//${HOST}/:_authToken=x\n", []string{".npmrc:1:", "HOST"}},
		{"cache in home", "cache=~/.ssh\n", []string{".npmrc:1:", "cache", "outside the project"}},
		{"absolute store", "; c\nstore-dir=/etc\n", []string{".npmrc:2:", "store-dir", "/etc, outside"}},
		{"camel store", "storeDir=../elsewhere\n", []string{"storeDir", "outside the project"}},
		{"dotdot", "cache=./a/../../x\n", []string{"outside the project"}},
		{"root", "cache=.\n", []string{"project root itself"}},
		{"git dir", "cache=.git/hooks\n", []string{"under .git"}},
		{"userconfig", "userconfig=/tmp/x\n", []string{"userconfig only makes sense in your own config"}},
		{"global pnpmfile", "global-pnpmfile=/tmp/x.cjs\n", []string{"global-pnpmfile"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, root := npmrcEnv(t, tt.project, "", "AWS_SECRET_ACCESS_KEY=aws-secret-1", "HOST=h")
			_, err := LoadNpmConfig(env, root, nil)
			var ref *Refusal
			if !errors.As(err, &ref) {
				t.Fatalf("want a *Refusal, got %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("refusal lacks %q:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error(), "aws-secret-1") {
				t.Errorf("refusal prints the variable's value: %v", err)
			}
		})
	}
}

// The legitimate twins: in-project paths are honoured (made absolute), a symlinked
// component is refused, and ${VAR} in the user's file still expands.
func TestProjectNpmrcPaths(t *testing.T) {
	env, root := npmrcEnv(t, "cache=./.npm-cache\nstore-dir=sub/store\n", "//r.example/:_authToken=${NPM_TOKEN}\n", "NPM_TOKEN=tok-9")
	c, err := LoadNpmConfig(env, root, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Cache != "" || c.get("store-dir") != filepath.Join(root, "sub", "store") {
		t.Errorf("cache %q store %q", c.Cache, c.get("store-dir"))
	}
	if a, ok := c.AuthFor("https://r.example/"); !ok || a.Token != "tok-9" {
		t.Errorf("the user's ${NPM_TOKEN} no longer expands")
	}
	// A cache or store inside the project is accepted, and replaced by phylum-box's
	// own location (see projectCacheKeys).
	if cache := npmCache(env, c); cache.Path != filepath.Join(env.Home, ".npm") {
		t.Errorf("npm cache %s", cache.Path)
	}
	if store := pnpmStoreDir(env, c); strings.HasPrefix(store, root) {
		t.Errorf("pnpm store %s", store)
	}
	cr := c.Credentials()
	proj := cr.Files[0]
	if proj.Project != ".npmrc" || strings.Contains(string(proj.Secret), "cache=") || strings.Contains(string(proj.Public), "store-dir=") {
		t.Errorf("rendered copies keep the project's cache:\n%s\n%s", proj.Secret, proj.Public)
	}
	if !strings.Contains(strings.Join(c.Notes, "\n"), ".npmrc:1: cache=./.npm-cache: inside the project") {
		t.Errorf("notes: %q", c.Notes)
	}
	// A user's own cache setting is theirs.
	env, root = npmrcEnv(t, "", "cache=/srv/npm-cache\n")
	if c, err = LoadNpmConfig(env, root, nil); err != nil || npmCache(env, c).Path != "/srv/npm-cache" {
		t.Errorf("the user's cache= is not honoured: %v", err)
	}

	env, root = npmrcEnv(t, "cache=./link/cache\n", "")
	if err := os.Symlink(env.Home, filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadNpmConfig(env, root, nil); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("a cache through a symlink out of the project: %v", err)
	}
}

func TestProjectNpmrcSymlinkedFile(t *testing.T) {
	env, root := npmrcEnv(t, "", "//registry.npmjs.org/:_authToken=user-tok\n")
	if err := os.Symlink(filepath.Join(env.Home, ".npmrc"), filepath.Join(root, ".npmrc")); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadNpmConfig(env, root, nil); err == nil || !strings.Contains(err.Error(), "symbolic link out of the project") {
		t.Errorf("a project .npmrc linking to ~/.npmrc: %v", err)
	}
	// A link inside the project is fine.
	os.Remove(filepath.Join(root, ".npmrc"))
	writeFile(t, filepath.Join(root, "config", "npmrc"), "save-exact=true\n")
	if err := os.Symlink("config/npmrc", filepath.Join(root, ".npmrc")); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadNpmConfig(env, root, nil); err != nil {
		t.Errorf("a link inside the project: %v", err)
	}
}

// The networked copy holds only allowlisted settings; the build copy everything
// but credentials and URL userinfo.
func TestProjectNpmrcRendering(t *testing.T) {
	project := strings.Join([]string{
		"save-exact=true",
		"registry=https://bob:s3cret-pw@npm.corp.example/",
		"//npm.corp.example/:_authToken=proj-tok",
		"git=/tmp/evil-git",
		"node-options=--require ./evil.js",
		"script-shell=/bin/bash",
		"tokenHelper=/tmp/x",
		"//npm.corp.example/:tokenHelper=/tmp/helper",
		"frobnicate=yes",
		"[section]",
		"cache=/etc",
	}, "\n")
	env, root := npmrcEnv(t, project, "https-proxy=http://u:proxy-pw@proxy:3128/\n")
	c, err := LoadNpmConfig(env, root, nil)
	if err != nil {
		t.Fatal(err) // cache=/etc is under a section: npm ignores it, so does phylum-box
	}
	cr := c.Credentials()
	var proj, home ConfigFile
	for _, f := range cr.Files {
		if f.Project != "" {
			proj = f
		} else {
			home = f
		}
	}
	net, build := string(proj.Secret), string(proj.Public)
	for _, want := range []string{"save-exact=true", "registry=https://bob:s3cret-pw@npm.corp.example/", "//npm.corp.example/:_authToken=proj-tok"} {
		if !strings.Contains(net, want+"\n") {
			t.Errorf("networked copy lacks %q:\n%s", want, net)
		}
	}
	for _, bad := range []string{"evil-git", "evil.js", "/bin/bash", "/tmp/helper", "frobnicate=yes", "cache=/etc", "[section]"} {
		if strings.Contains(net, bad) {
			t.Errorf("networked copy has %q:\n%s", bad, net)
		}
	}
	for _, want := range []string{"save-exact=true", `registry="https://npm.corp.example/"`, "git=/tmp/evil-git", "node-options=--require ./evil.js", "script-shell=/bin/bash", "frobnicate=yes"} {
		if !strings.Contains(build, want+"\n") {
			t.Errorf("build copy lacks %q:\n%s", want, build)
		}
	}
	for _, bad := range []string{"s3cret-pw", "proj-tok", "cache=/etc"} {
		if strings.Contains(build, bad) {
			t.Errorf("build copy has %q:\n%s", bad, build)
		}
	}
	if !strings.Contains(string(home.Secret), "proxy-pw") || strings.Contains(string(home.Public), "proxy-pw") {
		t.Errorf("user proxy userinfo: secret\n%s\npublic\n%s", home.Secret, home.Public)
	}
	notes := strings.Join(c.Notes, "\n")
	for _, want := range []string{":4: git=/tmp/evil-git: git runs a program", ":9: frobnicate=yes: frobnicate is not a setting", "[ini section]"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
}

// A project pnpmfile runs only in the offline hooks step (Plan.Steps.Hooks); the
// networked steps run with --ignore-pnpmfile; commands that cannot be driven so
// are refused.
func TestPnpmfileOffline(t *testing.T) {
	for name, files := range map[string]map[string]string{
		"default file": {".pnpmfile.cjs": "module.exports = {}"},
		"npmrc":        {".npmrc": "pnpmfile=hooks/x.cjs\n"},
		"workspace":    {"pnpm-workspace.yaml": "packages: []\npnpmfile: hooks/x.cjs\n"},
		"plugin":       {"pnpm-workspace.yaml": "configDependencies:\n  '@acme/pnpm-plugin-x': 1.0.0+sha512-AAAA\n"},
	} {
		t.Run(name, func(t *testing.T) {
			files["package.json"] = `{"name":"p"}`
			env := testEnv(t, files)
			needNodeHeaders(t, env)
			pnpm, _ := Lookup("pnpm")
			for _, args := range [][]string{{"install"}, {"add", "x"}, {"update"}, {"remove", "x"}} {
				p, err := pnpm.Plan(args, env)
				if err != nil {
					t.Fatalf("%v: %v", args, err)
				}
				if p.Steps.Hooks == nil || p.Steps.Hooks.Network || p.Steps.Hooks.Credentials || !strings.Contains(strings.Join(p.Steps.Hooks.Args, " "), "pnpm install --lockfile-only --offline") {
					t.Errorf("%v: hooks step %+v", args, p.Steps.Hooks)
				}
				for _, s := range []*Step{p.Steps.Resolve, p.Steps.Download, p.Steps.HooksFetch([]string{"is-odd@3.0.1"})} {
					if !s.Network || !s.Credentials {
						t.Errorf("%v: %q is not a networked step", args, s.Args)
					}
					if joined := strings.Join(s.Args, " "); !strings.Contains(joined, "--ignore-pnpmfile") && !strings.Contains(joined, "--config.ignore-pnpmfile=true") {
						t.Errorf("%v: networked step without --ignore-pnpmfile: %q", args, s.Args)
					}
				}
			}
			for _, args := range [][]string{{"install", "--frozen-lockfile"}, {"fetch"}, {"import"}} {
				_, err := pnpm.Plan(args, env)
				var ref *Refusal
				if !errors.As(err, &ref) || !strings.Contains(ref.Reason, "pnpmfile") || !strings.Contains(ref.Advice, "--ignore-pnpmfile") {
					t.Errorf("%v: want a pnpmfile refusal, got %v", args, err)
				}
			}
			ci := env
			ci.Environ = append(append([]string(nil), env.Environ...), "CI=true")
			if _, err := pnpm.Plan([]string{"install"}, ci); err == nil {
				t.Errorf("install in CI (frozen by default) with a pnpmfile was planned")
			}
			if _, err := pnpm.Plan([]string{"install", "--no-frozen-lockfile"}, ci); err != nil {
				t.Errorf("install --no-frozen-lockfile in CI: %v", err)
			}
			p, err := pnpm.Plan([]string{"install", "--ignore-pnpmfile"}, env)
			if err != nil || p.Steps.Hooks != nil {
				t.Errorf("--ignore-pnpmfile: hooks %v, %v", p.Steps.Hooks, err)
			}
			// rebuild runs offline only: the hook may run there.
			if _, err := pnpm.Plan([]string{"rebuild"}, env); err != nil {
				t.Errorf("rebuild: %v", err)
			}
		})
	}
}

func TestPnpmHooked(t *testing.T) {
	missing, err := pnpmHooked([]byte("noise\nPHYLUM-BOX-HOOKS missing is-odd@3.0.1\nPHYLUM-BOX-HOOKS missing @s/x@>=6.0.0 <7.0.0-0\n" +
		"PHYLUM-BOX-HOOKS missing is-odd@3.0.1\nPHYLUM-BOX-HOOKS missing git+ssh://evil/x\nPHYLUM-BOX-HOOKS missing x@--registry=http://evil\nPHYLUM-BOX-HOOKS exit 1\n"))
	if err != nil || strings.Join(missing, ",") != "is-odd@3.0.1,@s/x@>=6.0.0 <7.0.0-0" {
		t.Errorf("missing %q, %v", missing, err)
	}
	if m, err := pnpmHooked([]byte("PHYLUM-BOX-HOOKS exit 1\n")); err == nil || m != nil {
		t.Errorf("a failure without missing metadata: %v %v", m, err)
	}
	if m, err := pnpmHooked(nil); err != nil || m != nil {
		t.Errorf("success: %v %v", m, err)
	}
}

// Every npm and pnpm step that has the network has the credentials copy (the
// allowlisted rendering), so no networked step reads the build copy.
func TestNpmNetworkedStepsGetNetworkedCopy(t *testing.T) {
	env := testEnv(t, map[string]string{"package.json": `{"name":"p"}`, ".npmrc": "save-exact=true\n"})
	needNodeHeaders(t, env)
	for _, c := range []struct {
		tool string
		args []string
	}{{"npm", []string{"install"}}, {"npm", []string{"ci"}}, {"npx", []string{"cowsay"}}, {"pnpm", []string{"install"}},
		{"pnpm", []string{"add", "x"}}, {"pnpm", []string{"fetch"}}, {"pnpm", []string{"import"}}, {"pnpm", []string{"dlx", "x"}}} {
		m, _ := Lookup(c.tool)
		p, err := m.Plan(c.args, env)
		if err != nil {
			t.Fatalf("%s %v: %v", c.tool, c.args, err)
		}
		for _, s := range []*Step{p.Steps.Resolve, p.Steps.Download, p.Steps.Build, p.Steps.Run} {
			if s != nil && s.Network != s.Credentials {
				t.Errorf("%s %v: step %q network=%v credentials=%v", c.tool, c.args, s.Args, s.Network, s.Credentials)
			}
		}
	}
}

// pnpm run in a workspace package reads that package's .npmrc too: it is checked
// and rendered like the root's.
func TestPnpmPackageNpmrc(t *testing.T) {
	files := map[string]string{
		"package.json":          `{"name":"mono","private":true}`,
		"pnpm-workspace.yaml":   "packages:\n  - 'apps/*'\n",
		"apps/web/package.json": `{"name":"web"}`,
		"apps/web/.npmrc":       "//r.example/:_authToken=${NPM_TOKEN}\n",
	}
	env := testEnv(t, files)
	needNodeHeaders(t, env)
	root := env.Dir
	env.Dir = filepath.Join(root, "apps", "web")
	pnpm, _ := Lookup("pnpm")
	if _, err := pnpm.Plan([]string{"add", "lodash"}, env); err == nil || !strings.Contains(err.Error(), filepath.Join("apps", "web", ".npmrc")+":1") {
		t.Fatalf("the package's .npmrc reading ${NPM_TOKEN}: %v", err)
	}
	writeFile(t, filepath.Join(root, "apps", "web", ".npmrc"), "save-exact=true\ngit=/tmp/evil\n")
	p, err := pnpm.Plan([]string{"add", "lodash"}, env)
	if err != nil {
		t.Fatal(err)
	}
	var got *ConfigFile
	for i, f := range p.Sandbox.Credentials.Files {
		if f.Project == filepath.Join("apps", "web", ".npmrc") {
			got = &p.Sandbox.Credentials.Files[i]
		}
	}
	if got == nil || strings.Contains(string(got.Secret), "/tmp/evil") || !strings.Contains(string(got.Public), "git=/tmp/evil") {
		t.Errorf("the package's .npmrc is not rendered: %v", p.Sandbox.Credentials)
	}
}

// npm's and pnpm's ini parser ends a line at a lone "\r" too: a setting hidden
// after one is a line of its own, classified like any other. A CRLF file (the
// legitimate twin) reads as its lines.
func TestProjectNpmrcCarriageReturn(t *testing.T) {
	for _, tc := range []struct{ name, project, bad string }{
		{"after data", "save-exact=true\rgit=/tmp/evil-git\n", "evil-git"},
		{"after a comment", "; notes\rgit=/tmp/evil-git\n", "evil-git"},
		{"after a registry", "registry=https://registry.npmjs.org/\rnode-options=--require /tmp/evil.js\n", "evil.js"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, root := npmrcEnv(t, tc.project, "")
			c, err := LoadNpmConfig(env, root, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range c.Credentials().Files {
				if f.Project != "" && strings.Contains(string(f.Secret), tc.bad) {
					t.Errorf("networked copy has %q:\n%q", tc.bad, f.Secret)
				}
				if f.Project != "" && !strings.Contains(string(f.Public), tc.bad) {
					t.Errorf("build copy lacks %q:\n%q", tc.bad, f.Public)
				}
			}
		})
	}
	t.Run("env reference after a carriage return", func(t *testing.T) {
		env, root := npmrcEnv(t, "save-exact=true\r//127.0.0.1:9/:_authToken=${AWS_SECRET_ACCESS_KEY}\n", "")
		if _, err := LoadNpmConfig(env, root, nil); err == nil || !strings.Contains(err.Error(), ":2: ") {
			t.Errorf("want a refusal naming line 2, got %v", err)
		}
	})
	t.Run("CRLF", func(t *testing.T) {
		env, root := npmrcEnv(t, "save-exact=true\r\nregistry=https://r.example/\r\n", "")
		c, err := LoadNpmConfig(env, root, nil)
		if err != nil {
			t.Fatal(err)
		}
		if c.Registry != "https://r.example/" {
			t.Errorf("registry %q", c.Registry)
		}
	})
}

// A project may not route or intercept the connections that carry the user's
// registry credentials: a project https-proxy with strict-ssl=false read the bearer
// token npm sent to registry.npmjs.org. Without credentials (the twin) the same
// settings are the project's to choose.
func TestProjectNpmrcCredentialTargets(t *testing.T) {
	const bound = "//registry.npmjs.org/:_authToken=npm_secret\n"
	for _, tc := range []struct {
		name, project, user string
		environ             []string
		want                string // "" = accepted
	}{
		{"proxy without TLS checks", "https-proxy=http://127.0.0.1:9/\nstrict-ssl=false\n", bound, nil, ":1: https-proxy=http://127.0.0.1:9/"},
		{"strict-ssl off", "strict-ssl=false\n", bound, nil, ":1: strict-ssl=false"},
		{"strict-ssl 0", "strict-ssl=0\n", bound, nil, "strict-ssl=0"},
		{"camelCase proxy (pnpm)", "httpsProxy=http://127.0.0.1:9/\n", bound, nil, "httpsProxy"},
		{"own CA", "cafile=./ca.pem\n", bound, nil, "cafile=./ca.pem"},
		{"inline CA", "ca=\"-----BEGIN CERTIFICATE-----\"\n", bound, nil, ":1: ca="},
		{"token in the environment", "proxy=http://127.0.0.1:9/\n", "", []string{"npm_config__authToken=npm_secret"}, "proxy=http://127.0.0.1:9/"},
		{"userinfo in the user's registry", "https-proxy=http://127.0.0.1:9/\n", "registry=https://u:pw@npm.corp.example/\n", nil, "https-proxy"},
		{"no credentials", "https-proxy=http://127.0.0.1:9/\nstrict-ssl=false\ncafile=./ca.pem\n", "save-exact=true\n", nil, ""},
		{"strict-ssl on", "strict-ssl=true\nregistry=https://mirror.example/\n", bound, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, root := npmrcEnv(t, tc.project, tc.user, tc.environ...)
			_, err := LoadNpmConfig(env, root, nil)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ref *Refusal
			if !errors.As(err, &ref) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(ref.Advice, "~/.npmrc") {
				t.Errorf("want a refusal naming %q, got %v", tc.want, err)
			}
		})
	}
}

// pnpm 10 takes every top-level key of pnpm-workspace.yaml as a setting and
// expands ${VAR} in it from the networked steps' environment (userAgent:
// "${NPM_TOKEN}" sent the token to the project's registry); proxies and CAs there
// are refused like in .npmrc while the user holds credentials. The twin: plain
// settings and the same trust settings without credentials plan.
func TestPnpmWorkspaceSettings(t *testing.T) {
	for _, tc := range []struct {
		name, ws, user, want string
	}{
		{"env in a value", "packages: ['.']\nuserAgent: \"ua-${NPM_TOKEN}\"\n", "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n", "pnpm-workspace.yaml:2: userAgent: reads an environment variable"},
		{"env in a key", "\"${NPM_TOKEN}\": x\n", "", "pnpm-workspace.yaml:1"},
		{"alias value", "catalog:\n  a: &t \"${NPM_TOKEN}\"\nuserAgent: *t\n", "", "pnpm-workspace.yaml:3: a complex key or an alias"},
		{"proxy", "httpsProxy: http://127.0.0.1:9\n", "//registry.npmjs.org/:_authToken=s\n", "httpsProxy would route"},
		{"strictSsl off", "strictSsl: false\n", "//registry.npmjs.org/:_authToken=s\n", "strictSsl false"},
		{"plain settings", "packages: ['.']\nsaveExact: true\nuserAgent: my-agent\nonlyBuiltDependencies: [esbuild]\n", "//registry.npmjs.org/:_authToken=s\n", ""},
		{"proxy without credentials", "httpsProxy: http://127.0.0.1:9\nstrictSsl: false\n", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := testEnv(t, map[string]string{"package.json": `{"name":"w","private":true}`, "pnpm-workspace.yaml": tc.ws})
			needNodeHeaders(t, env)
			if tc.user != "" {
				writeFile(t, filepath.Join(env.Home, ".npmrc"), tc.user)
			}
			env.Environ = append(env.Environ, "NPM_TOKEN=npm_secret")
			pnpm, _ := Lookup("pnpm")
			_, err := pnpm.Plan([]string{"add", "lodash"}, env)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ref *Refusal
			if !errors.As(err, &ref) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("want a refusal naming %q, got %v", tc.want, err)
			}
		})
	}
}

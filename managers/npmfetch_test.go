package managers

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// Which npm command lines resolve and fetch in one step (npmfetch.go): registry
// specs only, on the command line, in package.json and in the committed lockfile;
// anything else keeps resolve --package-lock-only, then the download.
func TestNpmFetchesInResolve(t *testing.T) {
	const regLock = `{"lockfileVersion":3,"packages":{"":{},"node_modules/a":{"version":"1.0.0","resolved":"https://registry.npmjs.org/a/-/a-1.0.0.tgz"}}}`
	for _, tc := range []struct {
		name  string
		files map[string]string
		args  []string
		want  bool
	}{
		{"first install", map[string]string{"package.json": `{"name":"p"}`}, []string{"install", "is-odd@3.0.1"}, true},
		{"scoped and ranged", map[string]string{"package.json": `{"dependencies":{"a":"^1.0.0"}}`, "package-lock.json": regLock}, []string{"install", "@types/node@^20", "lodash@latest"}, true},
		{"update", map[string]string{"package.json": `{"dependencies":{"a":"^1.0.0"}}`, "package-lock.json": regLock}, []string{"update", "a"}, true},
		{"uninstall", map[string]string{"package.json": `{"dependencies":{"a":"^1.0.0"}}`, "package-lock.json": regLock}, []string{"uninstall", "a"}, true},
		{"no args, manifest changed", map[string]string{"package.json": `{"dependencies":{"a":"^1.0.0","b":"2"}}`, "package-lock.json": regLock}, []string{"install"}, true},
		{"git spec on the command line", map[string]string{"package.json": `{}`}, []string{"install", "github:x/y"}, false},
		{"user/repo on the command line", map[string]string{"package.json": `{}`}, []string{"install", "x/y"}, false},
		{"file on the command line", map[string]string{"package.json": `{}`}, []string{"install", "./vendor/x-1.0.0.tgz"}, false},
		{"tarball URL on the command line", map[string]string{"package.json": `{}`}, []string{"install", "https://example.com/x.tgz"}, false},
		{"directory after @ on the command line", map[string]string{"package.json": `{}`}, []string{"install", "foo@.."}, false},
		{"directory range in package.json", map[string]string{"package.json": `{"dependencies":{"x":".."}}`}, []string{"install", "a"}, false},
		{"dot range in package.json", map[string]string{"package.json": `{"dependencies":{"x":".x"}}`}, []string{"install", "a"}, false},
		{"alias on the command line", map[string]string{"package.json": `{}`}, []string{"install", "x@npm:y@1"}, false},
		{"git dependency in package.json", map[string]string{"package.json": `{"dependencies":{"x":"git+https://example.com/x.git"}}`}, []string{"install", "a"}, false},
		{"file dependency in package.json", map[string]string{"package.json": `{"devDependencies":{"x":"file:../x"}}`}, []string{"install", "a"}, false},
		{"overrides", map[string]string{"package.json": `{"overrides":{"x":"1.0.0"}}`}, []string{"install", "a"}, false},
		{"bundled dependencies", map[string]string{"package.json": `{"bundleDependencies":["a"]}`}, []string{"install", "a"}, false},
		{"workspaces", map[string]string{"package.json": `{"workspaces":["pkgs/*"]}`, "pkgs/w/package.json": `{"name":"w"}`}, []string{"install", "a"}, false},
		{"git entry in the lockfile", map[string]string{"package.json": `{}`, "package-lock.json": `{"packages":{"node_modules/x":{"resolved":"git+ssh://git@github.com/x/y.git#abc"}}}`}, []string{"install", "a"}, false},
		{"link entry in the lockfile", map[string]string{"package.json": `{}`, "package-lock.json": `{"packages":{"node_modules/x":{"link":true,"resolved":"../x"}}}`}, []string{"install", "a"}, false},
		// lockfileVersion 1: only a "dependencies" tree, not read for non-registry entries.
		{"lockfileVersion 1 with a git entry", map[string]string{"package.json": `{}`, "package-lock.json": `{"lockfileVersion":1,"dependencies":{"x":{"version":"git+ssh://git@github.com/x/y.git#abc"}}}`}, []string{"install", "a"}, false},
		{"lockfileVersion 1 with registry entries", map[string]string{"package.json": `{}`, "package-lock.json": `{"lockfileVersion":1,"dependencies":{"a":{"version":"1.0.0","resolved":"https://registry.npmjs.org/a/-/a-1.0.0.tgz"}}}`}, []string{"install", "a"}, false},
		// A registry-shaped tarball URL on a host no registry setting names is a
		// remote tarball; the twins: the configured registry's and a scope's hosts.
		{"tarball on another host in the lockfile", map[string]string{"package.json": `{}`, "package-lock.json": `{"lockfileVersion":3,"packages":{"":{},"node_modules/a":{"resolved":"https://evil.example/a/-/a-1.0.0.tgz"}}}`}, []string{"install", "a"}, false},
		{"tarball on the configured registry", map[string]string{"package.json": `{}`, ".npmrc": "registry=https://npm.corp.example/\n", "package-lock.json": `{"lockfileVersion":3,"packages":{"":{},"node_modules/a":{"resolved":"https://NPM.corp.example:443/a/-/a-1.0.0.tgz"},"node_modules/b":{"resolved":"https://registry.npmjs.org/b/-/b-1.0.0.tgz"}}}`}, []string{"install", "a"}, true},
		{"tarball on a scope's registry", map[string]string{"package.json": `{}`, ".npmrc": "@corp:registry=http://127.0.0.1:4873/\n", "package-lock.json": `{"lockfileVersion":3,"packages":{"":{},"node_modules/@corp/a":{"resolved":"http://127.0.0.1:4873/@corp/a/-/a-1.0.0.tgz"}}}`}, []string{"install", "a"}, true},
		{"tarball on a scope's host, other port", map[string]string{"package.json": `{}`, ".npmrc": "@corp:registry=http://127.0.0.1:4873/\n", "package-lock.json": `{"lockfileVersion":3,"packages":{"":{},"node_modules/@corp/a":{"resolved":"http://127.0.0.1:4874/@corp/a/-/a-1.0.0.tgz"}}}`}, []string{"install", "a"}, false},
		{"unreadable lockfile", map[string]string{"package.json": `{}`, "package-lock.json": `{`}, []string{"install", "a"}, false},
		{"ci keeps its download", map[string]string{"package.json": `{}`, "package-lock.json": regLock}, []string{"ci"}, false},
		{"dedupe keeps its steps", map[string]string{"package.json": `{}`, "package-lock.json": regLock}, []string{"dedupe"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := testEnv(t, tc.files)
			needNodeHeaders(t, env)
			npm, _ := Lookup("npm")
			p, err := npm.Plan(tc.args, env)
			if err != nil {
				t.Fatal(err)
			}
			got := p.Steps.Resolve != nil && p.Steps.Resolve.Installs
			if got != tc.want {
				t.Fatalf("fetches in resolve = %v, want %v (resolve %v)", got, tc.want, p.Steps.Resolve)
			}
			if p.Steps.Resolve == nil {
				return // npm ci: the committed lockfile is the resolution
			}
			argv := npmResolveArgv(p.Steps.Resolve)
			if got {
				if p.Steps.Download != nil || slices.Contains(argv, "--package-lock-only") || !slices.Contains(argv, "--ignore-scripts") {
					t.Errorf("resolve %q, download %v: want npm %s with scripts off and no download step", argv, p.Steps.Download, tc.args[0])
				}
				return
			}
			if tc.args[0] == "install" && (p.Steps.Download == nil || !slices.Contains(argv, "--package-lock-only")) {
				t.Errorf("resolve %q, download %v: want the two steps", argv, p.Steps.Download)
			}
		})
	}
}

// A link as package.json is a doubt: the plan keeps the two steps.
func TestNpmFetchesInResolveNoLinks(t *testing.T) {
	env := testEnv(t, map[string]string{"real.json": `{}`})
	if err := os.Symlink("real.json", filepath.Join(env.Dir, "package.json")); err != nil {
		t.Fatal(err)
	}
	if npmFetchesInResolve("install", []string{"a"}, env.Dir, "package-lock.json", nil, nil) {
		t.Error("a package.json that is a link must keep the two steps")
	}
}

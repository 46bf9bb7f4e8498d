package managers

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeNoopTree writes files and symbolic links (path → target) under a new dir.
func writeNoopTree(t *testing.T, files, links map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for rel, data := range files {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for rel, target := range links {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const pnpmNoopLock = `lockfileVersion: '9.0'

settings:
  autoInstallPeers: true
  excludeLinksFromLockfile: false

importers:

  .:
    dependencies:
      is-odd:
        specifier: ^3.0.1
        version: 3.0.1
    devDependencies:
      '@scope/dev':
        specifier: 1.0.0
        version: 1.0.0

packages:

  '@scope/dev@1.0.0':
    resolution: {integrity: sha512-d}

  is-number@6.0.0:
    resolution: {integrity: sha512-n}

  is-odd@3.0.1:
    resolution: {integrity: sha512-o}

snapshots:

  '@scope/dev@1.0.0': {}

  is-number@6.0.0: {}

  is-odd@3.0.1:
    dependencies:
      is-number: 6.0.0
`

const pnpmNoopModules = `{
  "hoistedDependencies": {"is-number@6.0.0": {"is-number": "private"}},
  "hoistPattern": ["*"],
  "included": {"dependencies": true, "devDependencies": true, "optionalDependencies": true},
  "injectedDeps": {},
  "layoutVersion": 5,
  "nodeLinker": "isolated",
  "packageManager": "pnpm@10.34.9",
  "pendingBuilds": [],
  "publicHoistPattern": [],
  "registries": {"default": "https://registry.npmjs.org/"},
  "skipped": [],
  "storeDir": "/store/v10",
  "virtualStoreDir": ".pnpm",
  "virtualStoreDirMaxLength": 120
}`

func pnpmNoopProject(t *testing.T, edit func(files, links map[string]string)) string {
	t.Helper()
	files := map[string]string{
		"package.json":                 `{"name":"p","version":"1.0.0","dependencies":{"is-odd":"^3.0.1"},"devDependencies":{"@scope/dev":"1.0.0"},"scripts":{"test":"x"}}`,
		"pnpm-lock.yaml":               pnpmNoopLock,
		"node_modules/.pnpm/lock.yaml": pnpmNoopLock,
		"node_modules/.modules.yaml":   pnpmNoopModules,
		"node_modules/.pnpm/is-odd@3.0.1/node_modules/is-odd/package.json":             `{"name":"is-odd","version":"3.0.1"}`,
		"node_modules/.pnpm/is-number@6.0.0/node_modules/is-number/package.json":       `{"name":"is-number","version":"6.0.0"}`,
		"node_modules/.pnpm/@scope+dev@1.0.0/node_modules/@scope/dev/package.json":     `{"name":"@scope/dev","version":"1.0.0"}`,
		"node_modules/.pnpm/is-odd@3.0.1/node_modules/is-odd/index.js":                 ``,
		"node_modules/.pnpm/@scope+dev@1.0.0/node_modules/@scope/dev/lib/whatever.txt": ``,
	}
	links := map[string]string{
		"node_modules/is-odd":                                    ".pnpm/is-odd@3.0.1/node_modules/is-odd",
		"node_modules/@scope/dev":                                "../.pnpm/@scope+dev@1.0.0/node_modules/@scope/dev",
		"node_modules/.pnpm/is-odd@3.0.1/node_modules/is-number": "../../is-number@6.0.0/node_modules/is-number",
	}
	if edit != nil {
		edit(files, links)
	}
	return writeNoopTree(t, files, links)
}

func TestPnpmUpToDate(t *testing.T) {
	bothLocks := func(f map[string]string, old, new string) {
		f["pnpm-lock.yaml"] = strings.Replace(f["pnpm-lock.yaml"], old, new, 1)
		f["node_modules/.pnpm/lock.yaml"] = strings.Replace(f["node_modules/.pnpm/lock.yaml"], old, new, 1)
	}
	tests := []struct {
		name string
		edit func(files, links map[string]string)
		want bool
		why  string
	}{
		{name: "installed as locked", want: true},
		{name: "a dependency added to package.json", edit: func(f, _ map[string]string) {
			f["package.json"] = strings.Replace(f["package.json"], `"is-odd":"^3.0.1"`, `"is-odd":"^3.0.1","ms":"2"`, 1)
		}, why: "dependencies are not the lockfile's"},
		{name: "a specifier changed in package.json", edit: func(f, _ map[string]string) {
			f["package.json"] = strings.Replace(f["package.json"], `"is-odd":"^3.0.1"`, `"is-odd":"^3.0.0"`, 1)
		}, why: "is-odd@^3.0.0"},
		{name: "root postinstall script", edit: func(f, _ map[string]string) {
			f["package.json"] = strings.Replace(f["package.json"], `"test":"x"`, `"postinstall":"x"`, 1)
		}, why: "postinstall"},
		{name: "pnpm overrides in package.json", edit: func(f, _ map[string]string) {
			f["package.json"] = strings.Replace(f["package.json"], `{"name"`, `{"pnpm":{"overrides":{"ms":"1"}},"name"`, 1)
		}, why: "package.json's pnpm field sets overrides"},
		{name: "package.json's build allowlist only", edit: func(f, _ map[string]string) {
			f["package.json"] = strings.Replace(f["package.json"], `{"name"`, `{"pnpm":{"onlyBuiltDependencies":["esbuild"],"ignoredBuiltDependencies":["core-js"]},"name"`, 1)
		}, want: true},
		{name: "package.json's build allowlist beside a patch", edit: func(f, _ map[string]string) {
			f["package.json"] = strings.Replace(f["package.json"], `{"name"`, `{"pnpm":{"onlyBuiltDependencies":["esbuild"],"patchedDependencies":{"ms":"p.patch"}},"name"`, 1)
		}, why: "sets patchedDependencies"},
		{name: "package.json's allowlist not a list", edit: func(f, _ map[string]string) {
			f["package.json"] = strings.Replace(f["package.json"], `{"name"`, `{"pnpm":{"onlyBuiltDependencies":"esbuild"},"name"`, 1)
		}, why: "not understood"},
		{name: "lockfile changed (git pull), tree not", edit: func(f, _ map[string]string) {
			f["pnpm-lock.yaml"] = strings.Replace(f["pnpm-lock.yaml"], "sha512-o", "sha512-X", 1)
		}, why: "not pnpm-lock.yaml"},
		{name: "no current lockfile", edit: func(f, _ map[string]string) {
			delete(f, "node_modules/.pnpm/lock.yaml")
		}, why: "no such file"},
		{name: "no .modules.yaml", edit: func(f, _ map[string]string) {
			delete(f, "node_modules/.modules.yaml")
		}, why: "no such file"},
		{name: "installed package at another version", edit: func(f, _ map[string]string) {
			f["node_modules/.pnpm/is-number@6.0.0/node_modules/is-number/package.json"] = `{"name":"is-number","version":"5.0.0"}`
		}, why: "not version 6.0.0"},
		{name: "installed package missing", edit: func(f, _ map[string]string) {
			delete(f, "node_modules/.pnpm/is-number@6.0.0/node_modules/is-number/package.json")
		}, why: "is-number"},
		{name: "direct link missing", edit: func(_, l map[string]string) {
			delete(l, "node_modules/is-odd")
		}, why: "not pnpm's link"},
		{name: "direct link elsewhere", edit: func(_, l map[string]string) {
			l["node_modules/is-odd"] = ".pnpm/is-number@6.0.0/node_modules/is-number"
		}, why: "does not lead to"},
		{name: "production-only install", edit: func(f, _ map[string]string) {
			f["node_modules/.modules.yaml"] = strings.Replace(f["node_modules/.modules.yaml"], `"devDependencies": true`, `"devDependencies": false`, 1)
		}, why: "dependency kinds"},
		{name: "pending builds", edit: func(f, _ map[string]string) {
			f["node_modules/.modules.yaml"] = strings.Replace(f["node_modules/.modules.yaml"], `"pendingBuilds": []`, `"pendingBuilds": ["x"]`, 1)
		}, why: "pending"},
		{name: "hoisted layout", edit: func(f, _ map[string]string) {
			f["node_modules/.modules.yaml"] = strings.Replace(f["node_modules/.modules.yaml"], `"isolated"`, `"hoisted"`, 1)
		}, why: "another layout"},
		{name: "another store", edit: func(f, _ map[string]string) {
			f["node_modules/.modules.yaml"] = strings.Replace(f["node_modules/.modules.yaml"], `/store/v10`, `/elsewhere/v10`, 1)
		}, why: "another store"},
		{name: "lockfile overrides", edit: func(f, _ map[string]string) {
			bothLocks(f, "importers:", "overrides:\n  ms: 1.0.0\n\nimporters:")
		}, why: "pnpm-lock.yaml has overrides"},
		{name: "a link: dependency", edit: func(f, _ map[string]string) {
			bothLocks(f, "version: 3.0.1", "version: link:../x")
		}, why: "not a registry package"},
		{name: "workspace settings that change the layout", edit: func(f, _ map[string]string) {
			f["pnpm-workspace.yaml"] = "nodeLinker: hoisted\n"
		}, why: "sets nodeLinker"},
		{name: "workspace build allowlist only", edit: func(f, _ map[string]string) {
			f["pnpm-workspace.yaml"] = "onlyBuiltDependencies:\n  - esbuild\n"
		}, want: true},
		{name: "an optional package for another platform skipped", edit: func(f, _ map[string]string) {
			bothLocks(f, "\n  is-number@6.0.0:\n    resolution: {integrity: sha512-n}\n", "\n  is-number@6.0.0:\n    resolution: {integrity: sha512-n}\n\n  '@x/aix@1.0.0':\n    resolution: {integrity: sha512-x}\n    os: [aix]\n")
			bothLocks(f, "  is-number@6.0.0: {}\n", "  is-number@6.0.0: {}\n\n  '@x/aix@1.0.0':\n    optional: true\n")
			bothLocks(f, "      is-number: 6.0.0\n", "      is-number: 6.0.0\n    optionalDependencies:\n      '@x/aix': 1.0.0\n")
			f["node_modules/.modules.yaml"] = strings.Replace(f["node_modules/.modules.yaml"], `"skipped": []`, `"skipped": ["@x/aix@1.0.0"]`, 1)
		}, want: true},
		{name: "a skipped package that fits this machine", edit: func(f, _ map[string]string) {
			bothLocks(f, "\n  is-number@6.0.0:\n    resolution: {integrity: sha512-n}\n", "\n  is-number@6.0.0:\n    resolution: {integrity: sha512-n}\n\n  '@x/any@1.0.0':\n    resolution: {integrity: sha512-x}\n")
			bothLocks(f, "  is-number@6.0.0: {}\n", "  is-number@6.0.0: {}\n\n  '@x/any@1.0.0':\n    optional: true\n")
			bothLocks(f, "      is-number: 6.0.0\n", "      is-number: 6.0.0\n    optionalDependencies:\n      '@x/any': 1.0.0\n")
			f["node_modules/.modules.yaml"] = strings.Replace(f["node_modules/.modules.yaml"], `"skipped": []`, `"skipped": ["@x/any@1.0.0"]`, 1)
		}, why: "fits this machine"},
		// sharp's case: @img/sharp-wasm32 (cpu wasm32) and @emnapi/runtime, which
		// only it needs, are both skipped by pnpm.
		{name: "skipped because only a skipped package depends on it", edit: pnpmSharpLike(""), want: true,
			why: "(5 in the lockfile, 2 skipped for this platform)"},
		{name: "skipped but an installed package depends on it too", edit: pnpmSharpLike("is-number"), why: "@x/rt@1.0.0 was skipped but fits this machine"},
		{name: "skipped but a direct dependency of the project", edit: pnpmSharpLike("."), why: "@x/rt@1.0.0 was skipped but fits this machine"},
		{name: "a skipped package nothing depends on", edit: func(f, _ map[string]string) {
			bothLocks(f, "\n  is-number@6.0.0:\n    resolution: {integrity: sha512-n}\n", "\n  is-number@6.0.0:\n    resolution: {integrity: sha512-n}\n\n  '@x/aix@1.0.0':\n    resolution: {integrity: sha512-x}\n    os: [aix]\n")
			bothLocks(f, "  is-number@6.0.0: {}\n", "  is-number@6.0.0: {}\n\n  '@x/aix@1.0.0':\n    optional: true\n")
			f["node_modules/.modules.yaml"] = strings.Replace(f["node_modules/.modules.yaml"], `"skipped": []`, `"skipped": ["@x/aix@1.0.0"]`, 1)
		}, why: "which nothing of the project depends on"},
		{name: "a direct optional dependency skipped, not linked", edit: pnpmDirectOptional(false), want: true},
		{name: "a direct optional dependency skipped, yet linked", edit: pnpmDirectOptional(true), why: "node_modules/@x/aix exists but pnpm skipped"},
		{name: "a required package skipped", edit: func(f, _ map[string]string) {
			f["node_modules/.modules.yaml"] = strings.Replace(f["node_modules/.modules.yaml"], `"skipped": []`, `"skipped": ["is-number@6.0.0"]`, 1)
		}, why: "not an optional package"},
		{name: "a build left out, still not allowed", edit: func(f, _ map[string]string) {
			f["node_modules/.modules.yaml"] = strings.Replace(f["node_modules/.modules.yaml"], `"skipped": []`, `"skipped": [], "ignoredBuilds": ["is-odd@3.0.1"]`, 1)
			f["pnpm-workspace.yaml"] = "onlyBuiltDependencies:\n  - esbuild\n"
		}, want: true},
		{name: "a build left out, allowed now in package.json", edit: func(f, _ map[string]string) {
			f["node_modules/.modules.yaml"] = strings.Replace(f["node_modules/.modules.yaml"], `"skipped": []`, `"skipped": [], "ignoredBuilds": ["is-odd@3.0.1"]`, 1)
			f["package.json"] = strings.Replace(f["package.json"], `{"name"`, `{"pnpm":{"onlyBuiltDependencies":["is-odd"]},"name"`, 1)
		}, why: "now allows it"},
		{name: "a build left out, allowed now", edit: func(f, _ map[string]string) {
			f["node_modules/.modules.yaml"] = strings.Replace(f["node_modules/.modules.yaml"], `"skipped": []`, `"skipped": [], "ignoredBuilds": ["is-odd@3.0.1"]`, 1)
			f["pnpm-workspace.yaml"] = "onlyBuiltDependencies:\n  - is-odd\n"
		}, why: "now allows it"},
		// A hostile checkout: a record claiming the lockfile's tree, the real
		// package replaced by a link out of the project.
		{name: "hostile: package dir is a link", edit: func(f, l map[string]string) {
			delete(f, "node_modules/.pnpm/is-number@6.0.0/node_modules/is-number/package.json")
			l["node_modules/.pnpm/is-number@6.0.0/node_modules/is-number"] = "/etc"
		}, why: "not installed"},
		{name: "hostile: package.json is a link", edit: func(f, l map[string]string) {
			delete(f, "node_modules/.pnpm/is-number@6.0.0/node_modules/is-number/package.json")
			l["node_modules/.pnpm/is-number@6.0.0/node_modules/is-number/package.json"] = "/etc/passwd"
		}, why: "not a regular file"},
		{name: "hostile: lockfile is a link out of the project", edit: func(f, l map[string]string) {
			delete(f, "pnpm-lock.yaml")
			l["pnpm-lock.yaml"] = "/etc/passwd"
		}, why: "not a regular file"},
		{name: "hostile: record of a tree not on disk", edit: func(f, _ map[string]string) {
			delete(f, "node_modules/.pnpm/is-odd@3.0.1/node_modules/is-odd/package.json")
			delete(f, "node_modules/.pnpm/is-odd@3.0.1/node_modules/is-odd/index.js")
		}, why: "is-odd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := pnpmNoopProject(t, tt.edit)
			got, why := PnpmUpToDate(dir, "/store")
			if got != tt.want || !strings.Contains(why, tt.why) {
				t.Errorf("PnpmUpToDate = %v, %q; want %v, containing %q", got, why, tt.want, tt.why)
			}
		})
	}
}

// pnpmSharpLike edits the project into sharp's shape: is-odd optionally depends on
// @x/wasm (cpu wasm32), which depends on @x/rt (no platform); pnpm skips both.
// also names who else depends on @x/rt: "" nobody, "is-number" that installed
// package, "." the project itself.
func pnpmSharpLike(also string) func(f, l map[string]string) {
	return func(f, l map[string]string) {
		for _, k := range []string{"pnpm-lock.yaml", "node_modules/.pnpm/lock.yaml"} {
			s := f[k]
			s = strings.Replace(s, "\n  is-number@6.0.0:\n    resolution: {integrity: sha512-n}\n",
				"\n  is-number@6.0.0:\n    resolution: {integrity: sha512-n}\n\n  '@x/rt@1.0.0':\n    resolution: {integrity: sha512-r}\n\n  '@x/wasm@1.0.0':\n    resolution: {integrity: sha512-w}\n    cpu: [wasm32]\n", 1)
			s = strings.Replace(s, "  is-number@6.0.0: {}\n",
				"  '@x/rt@1.0.0':\n    optional: true\n\n  '@x/wasm@1.0.0':\n    optional: true\n    dependencies:\n      '@x/rt': 1.0.0\n\n  is-number@6.0.0: {}\n", 1)
			s = strings.Replace(s, "      is-number: 6.0.0\n", "      is-number: 6.0.0\n    optionalDependencies:\n      '@x/wasm': 1.0.0\n", 1)
			switch also {
			case "is-number":
				s = strings.Replace(s, "  is-number@6.0.0: {}\n", "  is-number@6.0.0:\n    dependencies:\n      '@x/rt': 1.0.0\n", 1)
			case ".":
				s = strings.Replace(s, "    devDependencies:\n", "    optionalDependencies:\n      '@x/rt':\n        specifier: 1.0.0\n        version: 1.0.0\n    devDependencies:\n", 1)
			}
			f[k] = s
		}
		if also == "." {
			f["package.json"] = strings.Replace(f["package.json"], `"devDependencies"`, `"optionalDependencies":{"@x/rt":"1.0.0"},"devDependencies"`, 1)
		}
		f["node_modules/.modules.yaml"] = strings.Replace(f["node_modules/.modules.yaml"], `"skipped": []`, `"skipped": ["@x/rt@1.0.0", "@x/wasm@1.0.0"]`, 1)
	}
}

// pnpmDirectOptional makes @x/aix (os aix) a direct optional dependency of the
// project, skipped by pnpm; linked says whether node_modules/@x/aix exists anyway.
func pnpmDirectOptional(linked bool) func(f, l map[string]string) {
	return func(f, l map[string]string) {
		for _, k := range []string{"pnpm-lock.yaml", "node_modules/.pnpm/lock.yaml"} {
			s := f[k]
			s = strings.Replace(s, "\n  is-number@6.0.0:\n    resolution: {integrity: sha512-n}\n", "\n  is-number@6.0.0:\n    resolution: {integrity: sha512-n}\n\n  '@x/aix@1.0.0':\n    resolution: {integrity: sha512-x}\n    os: [aix]\n", 1)
			s = strings.Replace(s, "  is-number@6.0.0: {}\n", "  is-number@6.0.0: {}\n\n  '@x/aix@1.0.0':\n    optional: true\n", 1)
			s = strings.Replace(s, "    devDependencies:\n", "    optionalDependencies:\n      '@x/aix':\n        specifier: 1.0.0\n        version: 1.0.0\n    devDependencies:\n", 1)
			f[k] = s
		}
		f["package.json"] = strings.Replace(f["package.json"], `"devDependencies"`, `"optionalDependencies":{"@x/aix":"1.0.0"},"devDependencies"`, 1)
		f["node_modules/.modules.yaml"] = strings.Replace(f["node_modules/.modules.yaml"], `"skipped": []`, `"skipped": ["@x/aix@1.0.0"]`, 1)
		if linked {
			l["node_modules/@x/aix"] = "../.pnpm/@x+aix@1.0.0/node_modules/@x/aix"
		}
	}
}

func TestPnpmNoopCheck(t *testing.T) {
	env := testEnv(t, nil)
	needNodeHeaders(t, env)
	pnpm, _ := Lookup("pnpm")
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"install"}, true},
		{[]string{"i", "--frozen-lockfile"}, true},
		{[]string{"install", "--prod"}, false},
		{[]string{"install", "--shamefully-hoist"}, false},
		{[]string{"add", "ms"}, false},
		{[]string{"update"}, false},
		{[]string{"install-test"}, false},
	} {
		p, err := pnpm.Plan(tc.args, env)
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if (p.Steps.UpToDate != nil) != tc.want {
			t.Errorf("pnpm %v: UpToDate set = %v, want %v", tc.args, p.Steps.UpToDate != nil, tc.want)
		}
	}
}

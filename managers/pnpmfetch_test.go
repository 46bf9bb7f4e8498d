package managers

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// pnpmRegLock is a pnpm 10 lockfile of registry packages, as `pnpm add is-odd@3.0.1` writes it.
const pnpmRegLock = `lockfileVersion: '9.0'

settings:
  autoInstallPeers: true
  excludeLinksFromLockfile: false

importers:

  .:
    dependencies:
      is-odd:
        specifier: 3.0.1
        version: 3.0.1
      react-dom:
        specifier: ^18.0.0
        version: 18.3.1(react@18.3.1)

packages:

  is-number@6.0.0:
    resolution: {integrity: sha512-Wu1VHeILBK8KAWJUAiSZQX94GmOE45Rg6/538fKwiloUu21KncEkYGPqob2oSZ5mUT73vLGrHQjKw3KMPwfDzg==}
    engines: {node: '>=0.10.0'}

  is-odd@3.0.1:
    resolution: {integrity: sha512-CQpnWPrDwmP1+SMHXZhtLtJv90yiyVfluGsX5iNCVkrhQtU3TQHsUWPG9wkdk9Lgd5yNpAg9jQEo90CBaXgWMA==}
    engines: {node: '>=4'}

  react-dom@18.3.1:
    resolution: {integrity: sha512-x, tarball: https://registry.example.com/react-dom/-/react-dom-18.3.1.tgz}
    peerDependencies:
      react: ^18.3.1

snapshots:

  is-number@6.0.0: {}

  is-odd@3.0.1:
    dependencies:
      is-number: 6.0.0

  react-dom@18.3.1(react@18.3.1):
    dependencies:
      react: 18.3.1
    transitivePeerDependencies:
      - x
`

// pnpmModules10 is node_modules/.modules.yaml as pnpm 10 writes it (the part read).
const pnpmModules10 = `{"layoutVersion": 5, "nodeLinker": "isolated", "packageManager": "pnpm@10.34.9"}`

const pnpmRegManifest = `{"name":"p","dependencies":{"is-odd":"3.0.1","react-dom":"^18.0.0"}}`

// Which pnpm command lines resolve and fetch in one step (pnpmfetch.go): registry
// specs only, on the command line, in package.json and in pnpm-lock.yaml, no
// workspace, pnpmfile, override, patch or catalog; anything else keeps resolve
// --lockfile-only, then the download.
func TestPnpmFetchesInResolve(t *testing.T) {
	reg := func(extra map[string]string) map[string]string {
		files := map[string]string{"package.json": pnpmRegManifest, "pnpm-lock.yaml": pnpmRegLock, "node_modules/.modules.yaml": pnpmModules10}
		for k, v := range extra {
			files[k] = v
		}
		return files
	}
	lockWith := func(old, new string) map[string]string {
		if !strings.Contains(pnpmRegLock, old) {
			t.Fatalf("the lockfile fixture has no %q", old)
		}
		return reg(map[string]string{"pnpm-lock.yaml": strings.Replace(pnpmRegLock, old, new, 1)})
	}
	for _, tc := range []struct {
		name  string
		files map[string]string
		args  []string
		want  bool
	}{
		{"first add", map[string]string{"package.json": `{"name":"p"}`, "node_modules/.modules.yaml": pnpmModules10}, []string{"add", "is-odd@3.0.1"}, true},
		{"install with a name is add", map[string]string{"package.json": `{"name":"p"}`, "node_modules/.modules.yaml": pnpmModules10}, []string{"install", "is-odd"}, true},
		// The one run needs the record of a pnpm 10 install (its ignoredBuilds are
		// kept); an allowlist does not matter: the build relinks (pnpmbins.go).
		{"no record of the pnpm that installed it", map[string]string{"package.json": `{"name":"p"}`}, []string{"add", "is-odd@3.0.1"}, false},
		{"installed by pnpm 9", reg(map[string]string{"node_modules/.modules.yaml": "packageManager: pnpm@9.15.0\n"}), []string{"add", "a"}, false},
		{"allowlist in the settings", reg(map[string]string{".npmrc": "only-built-dependencies[]=esbuild\n"}), []string{"add", "a"}, true},
		{"all builds allowed in the settings", reg(map[string]string{".npmrc": "dangerously-allow-all-builds=true\n"}), []string{"add", "a"}, true},
		{"registry project", reg(nil), []string{"add", "@types/node@^20", "lodash@latest", "-D"}, true},
		{"update", reg(nil), []string{"update", "is-odd"}, true},
		{"update all, latest", reg(nil), []string{"update", "--latest"}, true},
		{"remove", reg(nil), []string{"remove", "is-odd"}, true},
		{"build allowlist in package.json", reg(map[string]string{"package.json": `{"pnpm":{"onlyBuiltDependencies":["esbuild"]}}`}), []string{"add", "a"}, true},
		{"approve-builds' pnpm-workspace.yaml", reg(map[string]string{"pnpm-workspace.yaml": "onlyBuiltDependencies:\n  - esbuild\n"}), []string{"add", "a"}, true},
		{"ignored builds in pnpm-workspace.yaml", reg(map[string]string{"pnpm-workspace.yaml": "ignoredBuiltDependencies:\n  - esbuild\n"}), []string{"add", "a"}, true},

		{"git spec", reg(nil), []string{"add", "github:x/y"}, false},
		{"user/repo spec", reg(nil), []string{"add", "x/y"}, false},
		{"file spec", reg(nil), []string{"add", "./vendor/x-1.0.0.tgz"}, false},
		{"tarball name", reg(nil), []string{"add", "x.tgz"}, false},
		{"link spec", reg(nil), []string{"add", "link:../x"}, false},
		{"tarball URL", reg(nil), []string{"add", "https://example.com/x.tgz"}, false},
		{"alias spec", reg(nil), []string{"add", "x@npm:y@1"}, false},
		{"jsr spec", reg(nil), []string{"add", "jsr:@std/fmt"}, false},
		{"workspace spec", reg(nil), []string{"add", "x@workspace:*"}, false},
		{"directory after @", reg(nil), []string{"add", "x@.."}, false},
		// (An install of a current lockfile has no resolve step: pnpmfrozen.go.)
		{"install keeps its steps", reg(map[string]string{"package.json": `{"name":"p","dependencies":{"is-odd":"^3.0.0"}}`}), []string{"install"}, false},
		{"dedupe keeps its steps", reg(nil), []string{"dedupe"}, false},
		{"recursive", reg(nil), []string{"add", "-r", "a"}, false},
		{"filter", reg(nil), []string{"add", "a", "--filter", "x"}, false},
		{"--workspace", reg(nil), []string{"add", "a", "--workspace"}, false},
		{"node-linker on the command line", reg(nil), []string{"add", "a", "--config.node-linker=hoisted"}, false},
		{"virtual-store-dir in .npmrc", reg(map[string]string{".npmrc": "virtual-store-dir=vs\n"}), []string{"add", "a"}, false},

		{"file: in package.json", reg(map[string]string{"package.json": `{"dependencies":{"x":"file:../x"}}`}), []string{"add", "a"}, false},
		{"link: in package.json", reg(map[string]string{"package.json": `{"devDependencies":{"x":"link:../x"}}`}), []string{"add", "a"}, false},
		{"workspace: in package.json", reg(map[string]string{"package.json": `{"dependencies":{"x":"workspace:*"}}`}), []string{"add", "a"}, false},
		{"catalog: in package.json", reg(map[string]string{"package.json": `{"dependencies":{"x":"catalog:"}}`}), []string{"add", "a"}, false},
		{"git in package.json", reg(map[string]string{"package.json": `{"dependencies":{"x":"github:a/b"}}`}), []string{"add", "a"}, false},
		{"alias in package.json", reg(map[string]string{"package.json": `{"optionalDependencies":{"x":"npm:y@1"}}`}), []string{"add", "a"}, false},
		{"overrides", reg(map[string]string{"package.json": `{"overrides":{"x":"1.0.0"}}`}), []string{"add", "a"}, false},
		{"pnpm.overrides", reg(map[string]string{"package.json": `{"pnpm":{"overrides":{"x":"1.0.0"}}}`}), []string{"add", "a"}, false},
		{"pnpm.patchedDependencies", reg(map[string]string{"package.json": `{"pnpm":{"patchedDependencies":{"x@1.0.0":"patches/x.patch"}}}`}), []string{"add", "a"}, false},
		{"pnpm.packageExtensions", reg(map[string]string{"package.json": `{"pnpm":{"packageExtensions":{"x":{"dependencies":{"y":"file:../y"}}}}}`}), []string{"add", "a"}, false},
		{"resolutions", reg(map[string]string{"package.json": `{"resolutions":{"x":"1.0.0"}}`}), []string{"add", "a"}, false},
		{"bundled dependencies", reg(map[string]string{"package.json": `{"bundledDependencies":["x"]}`}), []string{"add", "a"}, false},
		{"dependenciesMeta (injected)", reg(map[string]string{"package.json": `{"dependenciesMeta":{"x":{"injected":true}}}`}), []string{"add", "a"}, false},

		{"workspace packages", reg(map[string]string{"pnpm-workspace.yaml": "packages:\n  - pkgs/*\n", "pkgs/w/package.json": `{"name":"w"}`}), []string{"add", "a"}, false},
		{"catalog in pnpm-workspace.yaml", reg(map[string]string{"pnpm-workspace.yaml": "catalog:\n  x: 1.0.0\n"}), []string{"add", "a"}, false},
		{"overrides in pnpm-workspace.yaml", reg(map[string]string{"pnpm-workspace.yaml": "overrides:\n  x: 1.0.0\n"}), []string{"add", "a"}, false},
		{"pnpmfile", reg(map[string]string{".pnpmfile.cjs": "module.exports = {hooks: {}}\n"}), []string{"add", "a"}, false},

		{"tarball resolution elsewhere", lockWith("tarball: https://registry.example.com/react-dom/-/react-dom-18.3.1.tgz", "tarball: https://evil.example.com/x"), []string{"add", "a"}, false},
		{"git resolution", lockWith("resolution: {integrity: sha512-x, tarball: https://registry.example.com/react-dom/-/react-dom-18.3.1.tgz}", "resolution: {commit: abc, repo: https://github.com/x/y, type: git}"), []string{"add", "a"}, false},
		{"directory resolution", lockWith("resolution: {integrity: sha512-x, tarball: https://registry.example.com/react-dom/-/react-dom-18.3.1.tgz}", "resolution: {directory: ../x, type: directory}"), []string{"add", "a"}, false},
		{"link: version in an importer", lockWith("version: 3.0.1\n", "version: link:../x\n"), []string{"add", "a"}, false},
		{"file: version in an importer", lockWith("version: 3.0.1\n", "version: file:vendor/x.tgz\n"), []string{"add", "a"}, false},
		{"alias version in an importer", lockWith("version: 3.0.1\n", "version: is-even@1.0.0\n"), []string{"add", "a"}, false},
		{"non-registry specifier in an importer", lockWith("specifier: 3.0.1", "specifier: github:x/y"), []string{"add", "a"}, false},
		{"file: package key", lockWith("  is-odd@3.0.1:\n    resolution", "  is-odd@file:vendor/x.tgz:\n    resolution"), []string{"add", "a"}, false},
		{"link: version in a snapshot", lockWith("is-number: 6.0.0", "is-number: link:../n"), []string{"add", "a"}, false},
		{"URL snapshot key", lockWith("  is-number@6.0.0: {}", "  is-number@https://x.example.com/n.tgz: {}"), []string{"add", "a"}, false},
		{"patched snapshot", lockWith("  is-number@6.0.0: {}", "  is-number@6.0.0:\n    patched: true"), []string{"add", "a"}, false},
		{"second importer", lockWith("importers:\n", "importers:\n\n  pkgs/w: {}\n"), []string{"add", "a"}, false},
		{"overrides in the lockfile", lockWith("importers:\n", "overrides:\n  x: 1.0.0\n\nimporters:\n"), []string{"add", "a"}, false},
		{"patchedDependencies in the lockfile", lockWith("importers:\n", "patchedDependencies:\n  x: {hash: a, path: p}\n\nimporters:\n"), []string{"add", "a"}, false},
		{"catalogs in the lockfile", lockWith("importers:\n", "catalogs:\n  default: {}\n\nimporters:\n"), []string{"add", "a"}, false},
		{"pnpmfileChecksum in the lockfile", lockWith("importers:\n", "pnpmfileChecksum: abc\n\nimporters:\n"), []string{"add", "a"}, false},
		{"an older lockfile", lockWith("lockfileVersion: '9.0'", "lockfileVersion: '6.0'"), []string{"add", "a"}, false},
		{"unparsable lockfile", reg(map[string]string{"pnpm-lock.yaml": "importers: [\n"}), []string{"add", "a"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := testEnv(t, tc.files)
			needNodeHeaders(t, env)
			pnpm, _ := Lookup("pnpm")
			p, err := pnpm.Plan(tc.args, env)
			if err != nil {
				t.Fatal(err)
			}
			got := p.Steps.Resolve != nil && p.Steps.Resolve.Installs
			if got != tc.want {
				t.Fatalf("fetches in resolve = %v, want %v (resolve %v)", got, tc.want, p.Steps.Resolve)
			}
			if !got && p.Steps.Resolve == nil {
				return // an install from the committed lockfile resolves nothing (pnpmfrozen.go)
			}
			argv := p.Steps.Resolve.Args
			if !got {
				if p.Steps.Download == nil || !slices.Contains(argv, "--lockfile-only") {
					t.Errorf("resolve %q, download %v: want the two steps", argv, p.Steps.Download)
				}
				return
			}
			if p.Steps.Download != nil || slices.Contains(argv, "--lockfile-only") || !p.Steps.Resolve.Network {
				t.Errorf("resolve %q, download %v: want one networked pnpm run and no download step", argv, p.Steps.Download)
			}
			for _, f := range []string{"--config.ignore-scripts=true", "--config.ignore-pnpmfile=true", "--config.package-import-method=copy", "--config.side-effects-cache=false"} {
				if !slices.Contains(argv, f) {
					t.Errorf("resolve %q lacks %s", argv, f)
				}
			}
			if p.Steps.Build == nil || p.Steps.Build.Network || !p.Steps.Build.AppendChanged {
				t.Errorf("the build must stay the offline pnpm rebuild: %+v", p.Steps.Build)
			}
		})
	}
}

// `pnpm remove` takes neither --ignore-scripts nor --ignore-pnpmfile as options
// (pnpm 10 fails with "Unknown options"): its steps set both as settings, in the
// one-run path and in the two steps' resolve; add and update take the options as well.
func TestPnpmFetchStepRemoveFlags(t *testing.T) {
	store := []string{"--config.store-dir=/s"}
	rm := pnpmFetchStep("remove", nil, []string{"a"}, store).Args
	if slices.Contains(rm, "--ignore-scripts") || slices.Contains(rm, "--ignore-pnpmfile") {
		t.Errorf("pnpm remove would refuse %q", rm)
	}
	if !slices.Contains(rm, "--config.ignore-scripts=true") || !slices.Contains(rm, "--config.ignore-pnpmfile=true") {
		t.Errorf("pnpm remove %q: scripts or the pnpmfile not off", rm)
	}
	add := pnpmFetchStep("add", nil, []string{"a"}, store).Args
	if !slices.Contains(add, "--ignore-scripts") || !slices.Contains(add, "--ignore-pnpmfile") || !slices.Contains(add, "--config.ignore-scripts=true") {
		t.Errorf("pnpm add %q", add)
	}
	// The two steps' resolve of remove (a file: dependency keeps them) too.
	env := testEnv(t, map[string]string{"package.json": `{"dependencies":{"a":"1.0.0","x":"file:vendor/x.tgz"}}`})
	needNodeHeaders(t, env)
	pnpm, _ := Lookup("pnpm")
	p, err := pnpm.Plan([]string{"remove", "a"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if r := p.Steps.Resolve.Args; p.Steps.Download == nil || slices.Contains(r, "--ignore-pnpmfile") || slices.Contains(r, "--ignore-scripts") ||
		!slices.Contains(r, "--config.ignore-pnpmfile=true") || !slices.Contains(r, "--config.ignore-scripts=true") || !slices.Contains(r, "--lockfile-only") {
		t.Errorf("pnpm remove's resolve step %q (download %v)", r, p.Steps.Download)
	}
}

// A symlinked package.json, pnpm-lock.yaml or pnpm-workspace.yaml is a doubt:
// the two steps. The twin, the same files as files, fetches in resolve.
func TestPnpmFetchesInResolveNoLinks(t *testing.T) {
	a := pnpmSpec.parse([]string{"add", "a"})
	for _, link := range []string{"", "package.json", "pnpm-lock.yaml", "pnpm-workspace.yaml"} {
		files := map[string]string{"package.json": pnpmRegManifest, "pnpm-lock.yaml": pnpmRegLock, "pnpm-workspace.yaml": "ignoredBuiltDependencies: [x]\n", "node_modules/.modules.yaml": pnpmModules10}
		env := testEnv(t, files)
		if link != "" {
			real := filepath.Join(env.Dir, "real-"+link)
			if err := os.Rename(filepath.Join(env.Dir, link), real); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(real, filepath.Join(env.Dir, link)); err != nil {
				t.Fatal(err)
			}
		}
		cfg, err := loadNpmConfigFor("pnpm", env, env.Dir, ".", npmCLIConfig(a))
		if err != nil {
			t.Fatal(err)
		}
		if got := pnpmFetchesInResolve("add", []string{"a"}, a, cfg, env.Dir, nil, ""); got != (link == "") {
			t.Errorf("link %q: fetches in resolve = %v", link, got)
		}
	}
	// A lockfile that is a dangling link is not "no lockfile yet".
	env := testEnv(t, map[string]string{"package.json": pnpmRegManifest})
	if err := os.Symlink("/nonexistent/pnpm-lock.yaml", filepath.Join(env.Dir, "pnpm-lock.yaml")); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadNpmConfigFor("pnpm", env, env.Dir, ".", npmCLIConfig(a))
	if err != nil {
		t.Fatal(err)
	}
	if pnpmFetchesInResolve("add", []string{"a"}, a, cfg, env.Dir, nil, "") {
		t.Error("a dangling lockfile link must keep the two steps")
	}
}

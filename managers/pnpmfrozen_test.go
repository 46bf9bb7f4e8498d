package managers

import (
	"slices"
	"strings"
	"testing"
)

// Which `pnpm install` command lines install the committed lockfile without a
// resolve step (pnpmfrozen.go): --frozen-lockfile, CI with a lockfile, or a plain
// install whose lockfile is surely up to date by pnpm's rule; anything else keeps
// resolve --lockfile-only, and the build then stays the whole-tree rebuild.
func TestPnpmInstallsLockfile(t *testing.T) {
	reg := func(extra map[string]string) map[string]string {
		files := map[string]string{"package.json": pnpmRegManifest, "pnpm-lock.yaml": pnpmRegLock}
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
	manifest := func(m string) map[string]string { return reg(map[string]string{"package.json": m}) }
	outdated := manifest(`{"name":"p","dependencies":{"is-odd":"^3.0.0","react-dom":"^18.0.0"}}`)
	ci := []string{"CI=true"}
	for _, tc := range []struct {
		name  string
		files map[string]string
		env   []string
		args  []string
		want  bool
	}{
		{"--frozen-lockfile", reg(nil), nil, []string{"install", "--frozen-lockfile"}, true},
		{"--frozen-lockfile, out of date (pnpm fails in the download)", outdated, nil, []string{"install", "--frozen-lockfile"}, true},
		{"frozen-lockfile in .npmrc", reg(map[string]string{".npmrc": "frozen-lockfile=true\n"}), nil, []string{"install"}, true},
		{"i --frozen-lockfile", reg(nil), nil, []string{"i", "--frozen-lockfile"}, true},
		{"install-test --frozen-lockfile", reg(nil), nil, []string{"install-test", "--frozen-lockfile"}, true},
		{"CI with a lockfile", outdated, ci, []string{"install"}, true},
		{"--ci with a lockfile", outdated, nil, []string{"install", "--ci"}, true},
		{"CI=false, out of date", outdated, []string{"CI=false"}, []string{"install"}, false},
		{"CI without a lockfile", map[string]string{"package.json": pnpmRegManifest}, ci, []string{"install"}, false},
		{"CI with an empty lockfile", reg(map[string]string{"pnpm-lock.yaml": "lockfileVersion: '9.0'\n"}), ci, []string{"install"}, false},
		{"CI, --no-frozen-lockfile, out of date", outdated, ci, []string{"install", "--no-frozen-lockfile"}, false},
		{"CI, prefer-frozen-lockfile set, out of date", outdated, ci, []string{"install", "--prefer-frozen-lockfile"}, false},
		{"up to date", reg(nil), nil, []string{"install"}, true},
		{"up to date, build allowlist", manifest(`{"name":"p","dependencies":{"is-odd":"3.0.1","react-dom":"^18.0.0"},"pnpm":{"onlyBuiltDependencies":["esbuild"]}}`), nil, []string{"install"}, true},
		{"up to date, root scripts", manifest(`{"name":"p","dependencies":{"is-odd":"3.0.1","react-dom":"^18.0.0"},"scripts":{"postinstall":"x"}}`), nil, []string{"install"}, true},

		{"out of date: range changed", outdated, nil, []string{"install"}, false},
		{"out of date: a dependency added", manifest(`{"name":"p","dependencies":{"is-odd":"3.0.1","react-dom":"^18.0.0","a":"1"}}`), nil, []string{"install"}, false},
		{"out of date: a dependency removed", manifest(`{"name":"p","dependencies":{"is-odd":"3.0.1"}}`), nil, []string{"install"}, false},
		{"out of date: moved to devDependencies", manifest(`{"name":"p","dependencies":{"is-odd":"3.0.1"},"devDependencies":{"react-dom":"^18.0.0"}}`), nil, []string{"install"}, false},
		{"version outside its range", lockWith("version: 3.0.1\n", "version: 4.0.0\n"), nil, []string{"install"}, false},
		{"no lockfile", map[string]string{"package.json": pnpmRegManifest}, nil, []string{"install"}, false},
		{"peerDependencies", manifest(`{"name":"p","dependencies":{"is-odd":"3.0.1","react-dom":"^18.0.0"},"peerDependencies":{"react":"^18"}}`), nil, []string{"install"}, false},
		{"pnpm.overrides", manifest(`{"name":"p","dependencies":{"is-odd":"3.0.1","react-dom":"^18.0.0"},"pnpm":{"overrides":{"x":"1"}}}`), nil, []string{"install"}, false},
		{"overrides in the lockfile", lockWith("importers:\n", "overrides:\n  x: 1.0.0\n\nimporters:\n"), nil, []string{"install"}, false},
		{"other lockfile settings", lockWith("  excludeLinksFromLockfile: false\n", "  excludeLinksFromLockfile: false\n  peersSuffixMaxLength: 10\n"), nil, []string{"install"}, false},
		{"autoInstallPeers off", lockWith("autoInstallPeers: true", "autoInstallPeers: false"), nil, []string{"install"}, false},
		{"an older lockfile", lockWith("lockfileVersion: '9.0'", "lockfileVersion: '6.0'"), nil, []string{"install"}, false},
		{"settings in pnpm-workspace.yaml", reg(map[string]string{"pnpm-workspace.yaml": "overrides:\n  x: 1.0.0\n"}), nil, []string{"install"}, false},
		{"a setting in .npmrc", reg(map[string]string{".npmrc": "auto-install-peers=false\n"}), nil, []string{"install"}, false},
		{"--no-prefer-frozen-lockfile", reg(nil), nil, []string{"install", "--no-prefer-frozen-lockfile"}, false},
		{"--prod", reg(nil), nil, []string{"install", "--prod"}, false},

		{"add", reg(nil), nil, []string{"add", "a", "--frozen-lockfile"}, false},
		{"update", reg(nil), ci, []string{"update"}, false},
		{"workspace", reg(map[string]string{"pnpm-workspace.yaml": "packages:\n  - pkgs/*\n", "pkgs/w/package.json": `{"name":"w"}`}), nil, []string{"install", "--frozen-lockfile"}, false},
		{"--lockfile-dir", reg(nil), nil, []string{"install", "--frozen-lockfile", "--lockfile-dir", "x"}, false},
		{"git-branch-lockfile in .npmrc", reg(map[string]string{".npmrc": "git-branch-lockfile=true\n"}), nil, []string{"install", "--frozen-lockfile"}, false},
		{"--filter", reg(nil), nil, []string{"install", "--frozen-lockfile", "--filter", "x"}, false},
		{"a pnpmfile", reg(map[string]string{".pnpmfile.cjs": "module.exports = {hooks: {}}\n"}), nil, []string{"install"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := testEnv(t, tc.files)
			env.Environ = append(env.Environ, tc.env...)
			needNodeHeaders(t, env)
			pnpm, _ := Lookup("pnpm")
			p, err := pnpm.Plan(tc.args, env)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Steps.Resolve == nil; got != tc.want {
				t.Fatalf("no resolve step = %v, want %v (resolve %v)", got, tc.want, p.Steps.Resolve)
			}
			if !tc.want {
				if p.Steps.Build != nil && slices.Contains(p.Steps.Build.Args, "--pending") {
					t.Errorf("the build of an install with its resolve step is %q, want the whole-tree rebuild", p.Steps.Build.Args)
				}
				return
			}
			if p.Steps.Download == nil || !slices.Contains(p.Steps.Download.Args, "--frozen-lockfile") || !slices.Contains(p.Steps.Download.Args, "--ignore-scripts") {
				t.Fatalf("the download must be frozen with scripts off: %v", p.Steps.Download)
			}
			b := p.Steps.Build
			if b == nil || b.Network || !b.AppendChanged {
				t.Fatalf("the build must stay the offline pnpm rebuild that takes names: %+v", b)
			}
			cmd := relinkedBuild(t, b, p.Project.Root)
			pending := slices.Equal(cmd[:3], []string{"pnpm", "rebuild", "--pending"})
			scripts := strings.Contains(tc.files["package.json"], `"scripts"`)
			if pending != !scripts || pending != (p.Steps.BuildNeeded != nil) {
				t.Errorf("build %q (BuildNeeded set: %v) for a frozen=%v install (root scripts: %v)", b.Args, p.Steps.BuildNeeded != nil, tc.want, scripts)
			}
		})
	}
}

// The build after a frozen install runs only when pnpm left a build pending.
func TestPnpmPendingBuilds(t *testing.T) {
	for _, tc := range []struct {
		name, modules string
		want          bool
	}{
		{"pending", `{"pendingBuilds": ["esbuild@0.24.2"]}`, true},
		{"nothing pending", `{"layoutVersion": 5, "pendingBuilds": []}`, false},
		{"nothing pending (YAML)", "layoutVersion: 5\npendingBuilds: []\n", false},
		{"no record", `{"layoutVersion": 5}`, true},
		{"not understood", `{"pendingBuilds": "x"`, true},
		{"absent", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			read := func(rel string) ([]byte, error) {
				if rel != pnpmModulesFile || tc.modules == "" {
					return nil, errNotExist(rel)
				}
				return []byte(tc.modules), nil
			}
			if got, why := pnpmPendingBuilds(read); got != tc.want {
				t.Errorf("build needed = %v (%s), want %v", got, why, tc.want)
			}
		})
	}
}

type errNotExist string

func (e errNotExist) Error() string { return string(e) + ": no such file" }

package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A project that names another pnpm release (package.json's packageManager) and
// turns pnpm 10's switch on in both its .npmrc and pnpm-workspace.yaml: bare pnpm
// would download that release and run it in place of the user's, in the steps
// that have the network and the credentials. Wrapped, every step runs the user's
// pnpm (the command line's --config.manage-package-manager-versions=false outranks
// the project's files), the install works, and the user is told what the project
// asked for. The project's registry also offers a "pnpm" that would leave a mark
// if it ever ran.
func TestPnpmProjectReleaseNotRun(t *testing.T) {
	t.Parallel()
	requireTool(t, "pnpm")
	out, err := exec.Command("pnpm", "--version").Output()
	if err != nil {
		t.Fatalf("pnpm --version: %v", err)
	}
	host := strings.TrimSpace(string(out))
	forEachMode(t, func(t *testing.T, m mode) {
		reg := startNpmLocalRegistry(t, "")
		reg.Add("pbox-sw-dep", "1.0.0", nil, map[string]string{"index.js": "module.exports = 1\n"})
		mark := filepath.Join(pmScratch(t), "project-pnpm-ran")
		fake := "#!/usr/bin/env node\nrequire('fs').writeFileSync(" + jsString(mark) + ", 'ran')\n"
		reg.Add("pnpm", "10.0.0", map[string]any{"bin": map[string]string{"pnpm": "bin/pnpm.cjs"}},
			map[string]string{"bin/pnpm.cjs": fake, "dist/pnpm.cjs": fake})

		b := newPMBox(t, m)
		setManifest(t, b, map[string]any{"name": "pbox-it", "version": "1.0.0", "packageManager": "pnpm@10.0.0",
			"dependencies": map[string]any{"pbox-sw-dep": "1.0.0"}})
		writeProjectFile(t, b, ".npmrc", "registry="+reg.URL+"/\nmanage-package-manager-versions=true\n")
		writeProjectFile(t, b, "pnpm-workspace.yaml", "managePackageManagerVersions: true\n")
		for i, args := range [][]string{{"install"}, {"install", "--frozen-lockfile"}} {
			name := "pnpm " + strings.Join(args, " ")
			if i > 0 {
				if err := os.RemoveAll(filepath.Join(b.Project, "node_modules")); err != nil {
					t.Fatal(err)
				}
			}
			r := b.tool("", "pnpm", args...)
			wantCode(t, r, 0, name+" in a project that names pnpm 10.0.0")
			if strings.Contains(r.Stdout+r.Stderr, "Refusing to run pnpm") || strings.Contains(r.Stdout, "using pnpm v10.0.0") {
				t.Errorf("%s: pnpm switched to the project's release:\n%s", name, r)
			}
			if !strings.Contains(r.Stdout, "using pnpm v"+host) {
				t.Errorf("%s: not the user's pnpm %s:\n%s", name, host, r)
			}
			wantStderr(t, r, "packageManager asks for pnpm 10.0.0", "ran your pnpm "+host)
			if pathExists(mark) {
				t.Errorf("%s: the project registry's pnpm ran", name)
			}
			wantFile(t, filepath.Join(b.Project, "node_modules", "pbox-sw-dep", "index.js"), name+": pbox-sw-dep installed")
		}
	})
}

// A cache dir the user's environment puts inside the project (a CI job's
// XDG_CACHE_HOME under the checkout) is refused with exit 2 and what to do: the
// project had planted a link there, to a directory of the user's, which the steps
// would have mounted and, as root, chowned. Nothing changes, the link's target
// included. The twin: the same cache home outside the project installs.
func TestCacheInsideProjectRefused(t *testing.T) {
	t.Parallel()
	requireTool(t, "pnpm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := oneDepProject(t, m, "pbox-cache-dep")
		victimKept := plantCacheLink(t, m, b, ".cache/pnpm")
		before := projectState(t, b.Project)
		b.Env = []string{"XDG_CACHE_HOME=" + filepath.Join(b.Project, ".cache")}
		r := b.tool("", "pnpm", "install")
		if r.Code != 2 || !strings.Contains(r.Stderr, "is inside the project") || !strings.Contains(r.Stderr, "XDG_CACHE_HOME") {
			t.Errorf("pnpm install with XDG_CACHE_HOME inside the project: want exit 2 naming the setting, got\n%s", r)
		}
		assertSameTree(t, before, projectState(t, b.Project), "a refused install")
		victimKept()

		b.Env = []string{"XDG_CACHE_HOME=" + filepath.Join(b.Home, ".cache-elsewhere")}
		wantCode(t, b.tool("", "pnpm", "install"), 0, "pnpm install with XDG_CACHE_HOME outside the project")
		wantFile(t, filepath.Join(b.Project, "node_modules", "pbox-cache-dep", "index.js"), "pbox-cache-dep installed")
	})
}

// oneDepProject is a project depending on dep@1.0.0, a plain package served by a
// local registry its .npmrc names.
func oneDepProject(t *testing.T, m mode, dep string) *pmBox {
	t.Helper()
	reg := startNpmLocalRegistry(t, "")
	reg.Add(dep, "1.0.0", nil, map[string]string{"index.js": "module.exports = 1\n"})
	b := newPMBox(t, m)
	setManifest(t, b, map[string]any{"name": "pbox-it", "version": "1.0.0", "dependencies": map[string]any{dep: "1.0.0"}})
	writeProjectFile(t, b, ".npmrc", "registry="+reg.URL+"/\n")
	return b
}

// plantCacheLink makes rel in the project a link to a directory of the user's
// holding one file, and returns the check that the file's owner is still the
// one it had: a cache path followed through the link would chown it.
func plantCacheLink(t *testing.T, m mode, b *pmBox, rel string) (victimKept func()) {
	t.Helper()
	victim := filepath.Join(b.Home, "victim")
	keep := filepath.Join(victim, "keep.txt")
	writeFile(t, keep, "the user's\n", 0o600)
	link := filepath.Join(b.Project, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	chownTree(t, m, b.Project)
	chownTree(t, m, victim)
	owner := func() uint32 {
		st, err := os.Stat(keep)
		if err != nil {
			t.Fatal(err)
		}
		return st.Sys().(*syscall.Stat_t).Uid
	}
	was := owner()
	return func() {
		t.Helper()
		if now := owner(); now != was {
			t.Errorf("the link's target was chowned to %d", now)
		}
	}
}

// The same for npm's cache named on the command line relative to the project
// (`--cache .npm`, opened from the project: here a link to a directory of the
// user's) and for a cache that holds the project (npm's cache set to $HOME, the
// project under it): exit 2 naming it, nothing changed, nothing chowned.
func TestCacheRelativeOrAboveProjectRefused(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		setManifest(t, b, map[string]any{"name": "pbox-it", "version": "1.0.0"})
		victimKept := plantCacheLink(t, m, b, ".npm")
		for _, tc := range []struct {
			name string
			env  []string
			args []string
			want string
		}{
			{"--cache .npm", nil, []string{"install", "--cache", ".npm", "is-odd@3.0.1"}, "is a relative path"},
			{"npm_config_cache=$HOME", []string{"npm_config_cache=" + b.Home}, []string{"install", "is-odd@3.0.1"}, "holds the project"},
		} {
			before := projectState(t, b.Project)
			b.Env = tc.env
			r := b.tool("", "npm", tc.args...)
			if r.Code != 2 || !strings.Contains(r.Stderr, tc.want) {
				t.Errorf("%s: want exit 2 saying the cache %s, got\n%s", tc.name, tc.want, r)
			}
			assertSameTree(t, before, projectState(t, b.Project), tc.name+": a refused install")
		}
		b.Env = nil
		victimKept()
	})
}

// `pnpm install --lockfile-only` runs on the host as typed (it installs and builds
// nothing), and pnpm runs a pnpmfile while it resolves: a project with one is
// refused (exit 2) before pnpm starts — its hook, which would leave a mark, never
// runs; the twin with --ignore-pnpmfile writes the lockfile.
func TestPnpmLockfileOnlyPnpmfileRefused(t *testing.T) {
	t.Parallel()
	requireTool(t, "pnpm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := oneDepProject(t, m, "pbox-lo-dep")
		mark := filepath.Join(pmScratch(t), "pnpmfile-ran")
		writeProjectFile(t, b, ".pnpmfile.cjs", "require('fs').writeFileSync("+jsString(mark)+", 'ran')\nmodule.exports = { hooks: {} }\n")
		before := projectState(t, b.Project)
		r := b.tool("", "pnpm", "install", "--lockfile-only")
		if r.Code != 2 || !strings.Contains(r.Stderr, ".pnpmfile.cjs") || !strings.Contains(r.Stderr, "--ignore-pnpmfile") {
			t.Errorf("--lockfile-only with a pnpmfile: want exit 2 naming it, got\n%s", r)
		}
		if pathExists(mark) {
			t.Errorf("the project's pnpmfile ran on the host")
		}
		assertSameTree(t, before, projectState(t, b.Project), "a refused --lockfile-only")
		wantCode(t, b.tool("", "pnpm", "install", "--lockfile-only", "--ignore-pnpmfile"), 0, "--lockfile-only --ignore-pnpmfile")
		wantFile(t, filepath.Join(b.Project, "pnpm-lock.yaml"), "the lockfile")
		if pathExists(mark) {
			t.Errorf("the project's pnpmfile ran with --ignore-pnpmfile")
		}
	})
}

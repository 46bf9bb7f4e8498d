package integration

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Attacks on this session's one-run add paths (issue 12) and nothing-to-do checks.

// localIntegrity is the integrity the local registry published for name@version.
func (reg *npmLocalRegistry) localIntegrity(name, version string) string {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	ver := reg.docs[name]["versions"].(map[string]any)[version].(map[string]any)
	return ver["dist"].(map[string]any)["integrity"].(string)
}

// pnpmLockOne is a pnpm v9 lockfile with one registry dependency, name@version,
// resolved by integrity to the tarball URL tarball.
func pnpmLockOne(name, version, integrity, tarball string) string {
	return fmt.Sprintf(`lockfileVersion: '9.0'

settings:
  autoInstallPeers: true
  excludeLinksFromLockfile: false

importers:

  .:
    dependencies:
      %[1]s:
        specifier: %[2]s
        version: %[2]s

packages:

  %[1]s@%[2]s:
    resolution: {integrity: %[3]s, tarball: %[4]s}

snapshots:

  %[1]s@%[2]s: {}
`, name, version, integrity, tarball)
}

// A committed pnpm-lock.yaml whose entry has the registry tarball layout
// (…/-/name-1.0.0.tgz) but sits on a host no registry setting names: the precheck
// blocks it (not the registry's tarball), but the one-run `pnpm add` would fetch it
// in its networked resolve step first — a request to a host the project chose,
// before any verdict (npm's one-run path already keeps the two steps for that).
// Held: the committed lockfile is prechecked before any step runs. Asserted: that
// host is never asked, the add is blocked, the project is
// byte-identical. The twin: the same lockfile with the tarball on the configured
// registry adds in one networked run.
func TestAttackSession5PnpmLockForeignTarball(t *testing.T) {
	t.Parallel()
	requireTool(t, "pnpm")
	forEachMode(t, func(t *testing.T, m mode) {
		reg := startNpmLocalRegistry(t, "")
		evil := startNpmLocalRegistry(t, "")
		reg.Add("pbox-s5-a", "1.0.0", nil, map[string]string{"index.js": "module.exports = 1\n"})
		reg.Add("pbox-s5-b", "1.0.0", nil, map[string]string{"index.js": "module.exports = 2\n"})
		evil.Add("pbox-s5-a", "1.0.0", nil, map[string]string{"index.js": "module.exports = 'evil'\n"})
		tarball := "/pbox-s5-a/-/pbox-s5-a-1.0.0.tgz"

		for _, c := range []struct {
			name string
			host *npmLocalRegistry
		}{{"foreign", evil}, {"registry", reg}} {
			t.Run(c.name, func(t *testing.T) {
				b := newPMBox(t, m)
				setManifest(t, b, map[string]any{"name": "pbox-it", "version": "1.0.0", "dependencies": map[string]string{"pbox-s5-a": "1.0.0"}})
				writeProjectFile(t, b, ".npmrc", "registry="+reg.URL+"/\n")
				writeProjectFile(t, b, "pnpm-lock.yaml", pnpmLockOne("pbox-s5-a", "1.0.0", c.host.localIntegrity("pbox-s5-a", "1.0.0"), c.host.URL+tarball))
				if c.host == reg {
					// The one run needs pnpm's record of the install it adds to
					// (node_modules/.modules.yaml: pnpm 10, which builds nothing).
					wantCode(t, b.tool("", "pnpm", "install"), 0, "pnpm install of the committed lockfile")
				}
				before := projectState(t, b.Project)
				asked := len(evil.Auth())
				rep := b.reportPath(c.name + ".json")
				r := b.tool(rep, "pnpm", "add", "pbox-s5-b@1.0.0")
				if got := len(evil.Auth()) - asked; got != 0 {
					t.Errorf("%s: the host the lockfile names was asked %d time(s) before any verdict", c.name, got)
				}
				if c.host == evil {
					if r.Code == 0 {
						t.Fatalf("a lockfile tarball on a foreign host was installed:\n%s", r.Stderr)
					}
					wantStderr(t, r, "pbox-s5-a")
					assertSameTree(t, before, projectState(t, b.Project), "a blocked pnpm add over a lockfile with a foreign tarball")
					return
				}
				wantCode(t, r, 0, "pnpm add next to a lockfile entry on the configured registry")
				readPnpmAddReport(t, rep).oneNetworkedRun(t, "add", "the twin")
				wantFile(t, filepath.Join(b.Project, "node_modules", "pbox-s5-b", "package.json"), "pbox-s5-b installed")
				if got := string(readFileT(t, filepath.Join(b.Project, "node_modules", "pbox-s5-a", "index.js"))); !strings.Contains(got, "module.exports = 1") {
					t.Errorf("pbox-s5-a is not the registry's: %q", got)
				}
			})
		}
	})
}

// yarn 1 takes a range that is not semver and names a directory of the project
// with a package.json ("vendor") as file:vendor — its implicitFileDeprecated
// warning — though it has no slash and no file: prefix. Such a project passed the
// registry-only decision of the one-run yarn add, and the lockfile entry yarn
// writes for it (pbox-s5-dir@vendor, version 1.0.0, no resolved URL) was judged as
// the registry's pbox-s5-dir@1.0.0 while the code installed was the project's
// directory. Asserted: the add keeps resolve, download (a directory dependency),
// and the precheck lists the entry as not checkable (a local directory), not as
// the registry's. (The build then fails: yarn 1's offline relink of a directory
// dependency writes to the read-only cache — as for file:vendor.) The twin: the
// same dependency as the "latest" tag, no such directory, adds in one run and is
// the registry's package, checked.
func TestAttackSession5YarnImplicitDirectory(t *testing.T) {
	t.Parallel()
	classic := pmFlavours()[0]
	if classic.name != "yarn-classic" {
		t.Fatalf("pmFlavours()[0] is %s, want yarn-classic", classic.name)
	}
	type pkgReport struct {
		Exit     int                      `json:"exit_code"`
		Steps    []struct{ Phase string } `json:"steps"`
		Precheck *struct {
			Packages []struct {
				Name        string `json:"name"`
				Uncheckable bool   `json:"uncheckable"`
				Reason      string `json:"uncheckable_reason"`
			} `json:"packages"`
		} `json:"precheck"`
	}
	read := func(t *testing.T, path string) (phases []string, uncheckable map[string]string) {
		var r pkgReport
		if err := json.Unmarshal(readFileT(t, path), &r); err != nil || r.Precheck == nil {
			t.Fatalf("--report %s: %v", path, err)
		}
		for _, s := range r.Steps {
			phases = append(phases, s.Phase)
		}
		uncheckable = map[string]string{}
		for _, p := range r.Precheck.Packages {
			if p.Uncheckable {
				uncheckable[p.Name] = p.Reason
			}
		}
		return phases, uncheckable
	}
	forEachMode(t, func(t *testing.T, m mode) {
		reg := startNpmLocalRegistry(t, "")
		reg.Add("pbox-s5-dir", "1.0.0", nil, map[string]string{"index.js": "module.exports = 'registry'\n"})
		reg.Add("pbox-s5-c", "1.0.0", nil, map[string]string{"index.js": "module.exports = 'c'\n"})
		for _, c := range []struct{ name, rng string }{{"directory", "vendor"}, {"tag", "latest"}} {
			t.Run(c.name, func(t *testing.T) {
				b := newPMBox(t, m)
				classic.setup(t, b)
				writeProjectFile(t, b, ".yarnrc", "registry \""+reg.URL+"/\"\n")
				var man map[string]any
				if err := json.Unmarshal(readFileT(t, filepath.Join(b.Project, "package.json")), &man); err != nil {
					t.Fatal(err)
				}
				man["dependencies"] = map[string]string{"pbox-s5-dir": c.rng}
				setManifest(t, b, man)
				if c.rng == "vendor" {
					writeProjectFile(t, b, "vendor/package.json", `{"name": "pbox-s5-dir", "version": "1.0.0"}`+"\n")
					writeProjectFile(t, b, "vendor/index.js", "module.exports = 'project directory'\n")
				}
				rep := b.reportPath(c.name + ".json")
				r := b.tool(rep, "yarn", "add", "pbox-s5-c@1.0.0")
				phases, unchecked := read(t, rep)
				if c.rng == "vendor" {
					if !slices.Equal(phases, []string{"resolve", "download", "build"}) {
						t.Errorf("a dependency on a project directory (implicit file:) ran %v, want resolve, download, build", phases)
					}
					if why := unchecked["pbox-s5-dir"]; !strings.Contains(why, "local directory") {
						t.Errorf("pbox-s5-dir@vendor (a project directory) was judged as the registry's package (uncheckable reason %q)\n%s", why, r.Stderr)
					}
					return
				}
				wantCode(t, r, 0, "yarn add next to a registry dependency on a tag")
				if len(phases) == 0 || phases[0] != "resolve" || slices.Contains(phases, "download") {
					t.Errorf("a registry-only add ran %v, want the resolve step and no download step", phases)
				}
				if len(unchecked) != 0 {
					t.Errorf("registry packages were not checked: %v", unchecked)
				}
				if got := string(readFileT(t, filepath.Join(b.Project, "node_modules", "pbox-s5-dir", "index.js"))); !strings.Contains(got, "registry") {
					t.Errorf("pbox-s5-dir is not the registry's: %q", got)
				}
			})
		}
	})
}

// The shared cache is chowned to the container's root by a walk of descriptors
// at the start of every install run as root (internal/install/sharecache.go).
// yarn 1 keeps packages unpacked in its cache, so a registry package whose
// files sit deep in directories puts that depth in the user's cache. Asserted:
// after adding such a package, the next install still runs (the walk does not
// refuse the cache the previous install filled), and the deep package is
// installed. (Rootless has no walk; run in both modes.)
func TestAttackSession5YarnDeepCache(t *testing.T) {
	t.Parallel()
	classic := pmFlavours()[0]
	if classic.name != "yarn-classic" {
		t.Fatalf("pmFlavours()[0] is %s, want yarn-classic", classic.name)
	}
	forEachMode(t, func(t *testing.T, m mode) {
		reg := startNpmLocalRegistry(t, "")
		deep := strings.Repeat("d/", 270) + "f.txt"
		reg.Add("pbox-s5-deep", "1.0.0", nil, map[string]string{"index.js": "module.exports = 1\n", deep: "x\n"})
		reg.Add("pbox-s5-c", "1.0.0", nil, map[string]string{"index.js": "module.exports = 'c'\n"})
		b := newPMBox(t, m)
		classic.setup(t, b)
		writeProjectFile(t, b, ".yarnrc", "registry \""+reg.URL+"/\"\n")
		r := b.tool("", "yarn", "add", "pbox-s5-deep@1.0.0")
		wantCode(t, r, 0, "yarn add of a package with deep directories")
		wantFile(t, filepath.Join(b.Project, "node_modules", "pbox-s5-deep", filepath.FromSlash(deep)), "the deep file installed")
		r = b.tool("", "yarn", "add", "pbox-s5-c@1.0.0")
		wantCode(t, r, 0, "the next yarn add, with the deep package in the cache")
		wantFile(t, filepath.Join(b.Project, "node_modules", "pbox-s5-c", "index.js"), "pbox-s5-c installed")
	})
}

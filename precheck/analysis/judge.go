package analysis

import (
	"bytes"
	"strconv"
)

// judge turns the units' signals into findings. Install-time units are one
// program: their signals combine across files (an attacker splits reading the
// environment and sending it over two files as easily as over two lines). Entry
// units are judged one file at a time, combinations by proximity: a real bundle
// holds an eval, a base64 decoder and an HTTP client somewhere in its megabytes.
func judge(units []*unit) []Finding {
	var out []Finding
	var install []hit
	for _, u := range units {
		u.scan()
		if u.role == roleInstall {
			install = append(install, u.hits...)
			if u.truncated {
				out = append(out, Finding{RuleOversized, Medium,
					"an install-time file is larger than the analysis reads; the rest was not seen",
					[]string{u.rel + ": larger than " + strconv.Itoa(maxFileBytes>>20) + " MiB"}})
			}
		} else {
			out = append(out, judgeEntry(u.hits)...)
		}
	}
	return append(out, judgeInstall(install)...)
}

type hits []hit

func (hs hits) first(k sig) *hit {
	for i := range hs {
		if hs[i].kind == k {
			return &hs[i]
		}
	}
	return nil
}

func (hs hits) has(k sig) bool { return hs.first(k) != nil }

// near returns the closest pair of an a and a b signal at most d bytes apart in
// one unit.
func (hs hits) near(a, b sig, d int) (*hit, *hit) {
	var ba, bb *hit
	best := d + 1
	for i := range hs {
		if hs[i].kind != a {
			continue
		}
		for j := range hs {
			if hs[j].kind != b || hs[j].u != hs[i].u {
				continue
			}
			dist := hs[j].start - hs[i].start
			if dist < 0 {
				dist = -dist
			}
			if dist < best {
				best, ba, bb = dist, &hs[i], &hs[j]
			}
		}
	}
	return ba, bb
}

func find(rule, sev, summary string, hs ...*hit) Finding {
	f := Finding{Rule: rule, Severity: sev, Summary: summary}
	for _, h := range hs {
		if h != nil {
			f.Evidence = append(f.Evidence, h.evidence())
		}
	}
	return f
}

func judgeInstall(hs hits) []Finding {
	if len(hs) == 0 {
		return nil
	}
	var out []Finding
	add := func(f Finding) { out = append(out, f) }

	if h := hs.first(sChain); h != nil {
		add(find(RuleEvalDecode, High, "install-time code decodes data and runs it as code", h))
	} else if d, s := hs.first(sDecode), hs.first(sSink); d != nil && s != nil {
		if a, b := hs.near(sDecode, sSink, nearDataBytes); a != nil {
			d, s = a, b
		}
		add(find(RuleEvalDecode, High, "install-time code decodes data and runs code from a string", d, s))
	} else if s != nil && s.u.langs == langJS {
		// A home-made decoder (XOR, charCodeAt arithmetic) feeding eval is not a
		// decode the patterns know; eval of a computed string at install is rare.
		add(find(RuleEvalDecode, Medium, "install-time code runs code built from a string", s))
	}

	if h := hs.first(sPipeShell); h != nil {
		add(find(RuleDownloadExec, High, "install-time code downloads something and runs it", h))
	} else if h := hs.first(sDownloader); h != nil {
		add(find(RuleDownloadExec, Medium, "install-time code runs curl/wget on a URL", h))
	}

	net := hs.first(sNetwork)
	exfil := hs.first(sExfilHost)
	webhook := hs.first(sWebhook)
	sendsTo := net
	for _, k := range []sig{sExfilHost, sWebhook, sDownloader} {
		if sendsTo == nil {
			sendsTo = hs.first(k)
		}
	}
	if e := hs.first(sEnvSer); e != nil {
		if sendsTo != nil {
			add(find(RuleEnvExfil, High, "install-time code serialises the environment and uses the network", e, sendsTo))
		} else {
			add(find(RuleEnvExfil, Medium, "install-time code serialises the whole environment", e))
		}
	}
	if h := hs.first(sHostFacts); h != nil && sendsTo != nil {
		add(find(RuleEnvExfil, High, "install-time code collects host facts (host name, user, interfaces) and uses the network", h, sendsTo))
	}
	c := hs.first(sCredStealer)
	if c == nil {
		c = hs.first(sCredStrong)
	}
	switch {
	case c != nil && sendsTo != nil:
		add(find(RuleCredentialPath, High, "install-time code names a credential path and uses the network", c, sendsTo))
	case c != nil:
		add(find(RuleCredentialPath, Medium, "install-time code names a credential path", c))
	case hs.has(sTokenName) && hs.has(sCredWeak) && sendsTo != nil:
		// .npmrc and _authToken with the network: how worms take a maintainer's token.
		add(find(RuleCredentialPath, High, "install-time code reads a registry token from a package-manager config and uses the network", hs.first(sTokenName), hs.first(sCredWeak), sendsTo))
	case hs.has(sTokenName) && sendsTo != nil:
		add(find(RuleCredentialPath, Medium, "install-time code reads a registry or cloud token variable and uses the network", hs.first(sTokenName), sendsTo))
	case hs.has(sCredWeak) && sendsTo != nil:
		add(find(RuleCredentialPath, Low, "install-time code names a package-manager config file and uses the network", hs.first(sCredWeak), sendsTo))
	}

	if webhook != nil {
		add(find(RuleExfilEndpoint, High, "install-time code holds a Discord/Telegram webhook with its token", webhook))
	}
	if exfil != nil {
		if hs.has(sEnvSer) || hs.has(sHostFacts) || hs.has(sCredStrong) || hs.has(sCredStealer) {
			add(find(RuleExfilEndpoint, High, "install-time code names a collector service and gathers host data", exfil))
		} else {
			add(find(RuleExfilEndpoint, Medium, "install-time code names a collector or what-is-my-IP service", exfil))
		}
	}

	if h := hs.first(sObfuscated); h != nil {
		add(find(RuleObfuscator, High, "install-time code is javascript-obfuscator output", h, hs.first(sRotation)))
	} else if h := hs.first(sRotation); h != nil {
		add(find(RuleObfuscator, Medium, "install-time code has an obfuscator's string-array rotation", h))
	}
	if h := hs.first(sBlob); h != nil {
		add(find(RuleEncodedBlob, Medium, "install-time code holds a long encoded literal", h))
	}

	ip := hs.first(sRawIP)
	w, x := hs.first(sWrite), hs.first(sChmod)
	if x == nil {
		x = hs.first(sSpawn)
	}
	drops := w != nil && x != nil && (net != nil || hs.has(sDownloader))
	if ip != nil {
		sev := Medium
		if drops {
			sev = High
		}
		add(find(RuleRawIPURL, sev, "install-time code talks to a bare public IP address", ip))
	}
	if drops {
		add(find(RuleBinaryDrop, Low, "install-time code downloads, writes and makes executable or runs a file", w, x))
	}
	if h := hs.first(sLongLine); h != nil {
		add(find(RuleMinifiedInst, Medium, "an install-time script is minified (lines over "+strconv.Itoa(longLineBytes)+" bytes)", h))
	}
	return out
}

// small: a module this size, not minified, is one concern, not a bundle of many.
func (u *unit) small() bool {
	if len(u.text) > 16<<10 {
		return false
	}
	for _, l := range bytes.Split(u.text, []byte{'\n'}) {
		if len(l) > 1000 {
			return false
		}
	}
	return true
}

func judgeEntry(hs hits) []Finding {
	if len(hs) == 0 {
		return nil
	}
	var out []Finding
	add := func(f Finding) { out = append(out, f) }

	if h := hs.first(sChain); h != nil {
		add(find(RuleEvalDecode, High, "code run when the package is loaded decodes data and runs it as code", h))
	} else if d, s := hs.near(sDecode, sSink, nearBytes); d != nil {
		add(find(RuleEvalDecode, High, "code run when the package is loaded decodes data and runs code from a string next to it", d, s))
	} else if d, s := hs.first(sDecode), hs.first(sSink); d != nil && s != nil && d.u.small() {
		// Further apart in a small file: bundles hold both somewhere, small modules rarely.
		add(find(RuleEvalDecode, Medium, "a small module of the package decodes data and runs code from a string", d, s))
	}
	if h := hs.first(sPipeShell); h != nil {
		// In a shell script (a bin) the command line is the code itself.
		if hs.has(sSpawn) || h.u.langs == langShell || h.u.langs == langJS|langShell && !bytes.Contains(h.u.text[:min(len(h.u.text), 64)], []byte("node")) {
			add(find(RuleDownloadExec, High, "package code downloads something and runs it", h))
		} else {
			add(find(RuleDownloadExec, Medium, "package code holds a download-and-run command", h))
		}
	}
	sends := func(a sig) (*hit, *hit) {
		for _, b := range []sig{sNetwork, sExfilHost, sWebhook} {
			if x, y := hs.near(a, b, nearDataBytes); x != nil {
				return x, y
			}
		}
		return nil, nil
	}
	if e, n := sends(sEnvSer); e != nil {
		add(find(RuleEnvExfil, High, "package code serialises the environment next to a network call", e, n))
	} else if e := hs.first(sEnvSer); e != nil {
		if n := hs.first(sNetwork); n != nil && e.u.small() {
			add(find(RuleEnvExfil, Medium, "a small module of the package serialises the environment and uses the network", e, n))
		} else {
			add(find(RuleEnvExfil, Low, "package code serialises the whole environment", e))
		}
	}
	if c, n := sends(sCredStealer); c != nil {
		add(find(RuleCredentialPath, High, "package code names browser, wallet or keychain data next to a network call", c, n))
	} else if c, n := sends(sCredStrong); c != nil {
		// What a client of that service does too (twine and .pypirc, docker and its config).
		add(find(RuleCredentialPath, Medium, "package code names a credential file next to a network call", c, n))
	} else if c := hs.first(sCredStealer); c != nil {
		// Alone at load time: a syntax highlighter lists /etc/shadow and id_rsa too.
		add(find(RuleCredentialPath, Low, "package code names browser, wallet or keychain data", c))
	} else if c := hs.first(sCredStrong); c != nil {
		add(find(RuleCredentialPath, Low, "package code names a credential path", c))
	}
	if h := hs.first(sWebhook); h != nil {
		add(find(RuleExfilEndpoint, High, "package code holds a Discord/Telegram webhook with its token", h))
	}
	if h := hs.first(sExfilHost); h != nil {
		// Alone it is weak in load-time code: the public-suffix list names ngrok.io.
		sev := Low
		for _, k := range []sig{sEnvSer, sHostFacts, sCredStrong, sCredStealer} {
			if a, _ := hs.near(sExfilHost, k, nearDataBytes); a != nil {
				sev = High
			}
		}
		add(find(RuleExfilEndpoint, sev, "package code names a collector or what-is-my-IP service", h))
	}
	if h := hs.first(sObfuscated); h != nil {
		if r := hs.first(sRotation); r != nil {
			add(find(RuleObfuscator, High, "package code is javascript-obfuscator output", h, r))
		} else {
			add(find(RuleObfuscator, Medium, "package code has many obfuscator-style identifiers", h))
		}
	}
	if h := hs.first(sBlob); h != nil {
		add(find(RuleEncodedBlob, Low, "package code holds a long encoded literal", h))
	}
	if h := hs.first(sRawIP); h != nil {
		add(find(RuleRawIPURL, Low, "package code names a URL with a bare public IP address", h))
	}
	return out
}

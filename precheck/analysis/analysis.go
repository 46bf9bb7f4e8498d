package analysis

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sort"
	"sync"
)

// Package names what is analysed; Ecosystem is spelt as precheck spells it
// ("npm", "PyPI", "crates.io", "RubyGems").
type Package struct{ Ecosystem, Name, Version string }

// Finding is one rule that matched a package.
type Finding struct {
	// Rule is a stable id, "PB-ANALYSIS-<NAME>".
	Rule string
	// Severity is "high", "medium" or "low".
	Severity string
	// Summary is one line saying what was seen.
	Summary string
	// Evidence is "file:line: excerpt" lines, paths relative to the package root,
	// excerpts short and printable.
	Evidence []string
}

// Rule ids. "Install-time" is code run by installing (npm lifecycle scripts and
// what they load, binding.gyp, setup.py, build.rs, proc-macros, extconf.rb,
// gemspecs, .pth files); "load-time" is code run when the application loads the
// package (npm main/exports/bin and the rest of its JavaScript, a wheel's modules,
// a gem's lib/).
const (
	// A decode (base64, hex, charcode, zlib; Python b64decode/marshal; Ruby
	// decode64/pack) feeding an eval-like sink (eval, Function, vm, exec, instance_eval).
	// High: directly chained, or both at install time, or within 400 bytes at load
	// time. Medium: eval of a computed string at install time with no known decode.
	RuleEvalDecode = "PB-ANALYSIS-EVAL-DECODE"
	// A quoted base64 literal of 2048+ characters, hex of 4096+, or 256+ \xNN
	// escapes in a row; wasm, fonts, images and data: URIs excepted. Medium at
	// install time, low at load time.
	RuleEncodedBlob = "PB-ANALYSIS-ENCODED-BLOB"
	// javascript-obfuscator output: 30+ _0x1a2b identifiers (high at install time,
	// or with the string-array rotation at load time), the rotation alone (medium).
	RuleObfuscator = "PB-ANALYSIS-OBFUSCATOR"
	// curl/wget piped to a shell, iwr|iex, certutil -urlcache, bitsadmin, mshta,
	// powershell -enc, base64 -d | sh, /dev/tcp (high); curl/wget on a URL at
	// install time (medium).
	RuleDownloadExec = "PB-ANALYSIS-DOWNLOAD-EXEC"
	// SSH keys, cloud and registry tokens, browser login data, wallets, keychains,
	// shell histories: high with the network (install time; within 2000 bytes at
	// load time), else medium/low. .npmrc/.yarnrc/.netrc with the network: low.
	RuleCredentialPath = "PB-ANALYSIS-CREDENTIAL-PATH"
	// The whole environment serialised (JSON.stringify(process.env), Object.entries,
	// for..in, dict(os.environ), ENV.to_h, env::vars(), `env |`), or host facts
	// (hostname, user, interfaces) at install time, with the network: high.
	RuleEnvExfil = "PB-ANALYSIS-ENV-EXFIL"
	// A Discord/Telegram webhook with its token (high), an out-of-band collector or
	// what-is-my-IP service (oast.*, burpcollaborator, webhook.site, pipedream,
	// ngrok, ipify...; high with host data, medium at install time, low at load time).
	RuleExfilEndpoint = "PB-ANALYSIS-EXFIL-ENDPOINT"
	// An http(s) URL to a public IP address: medium at install time (high when the
	// install also drops a binary), low at load time.
	RuleRawIPURL = "PB-ANALYSIS-RAW-IP-URL"
	// Install-time code that uses the network, writes a file and makes it
	// executable or runs it: low (esbuild, prisma, puppeteer do this).
	RuleBinaryDrop = "PB-ANALYSIS-BINARY-DROP"
	// An install-time script with a line of 5000+ bytes of code: medium.
	RuleMinifiedInst = "PB-ANALYSIS-MINIFIED-INSTALL"
	// An install-time file larger than the 8 MiB the analysis reads: medium.
	RuleOversized = "PB-ANALYSIS-OVERSIZED"
	// A .pth file in a wheel with an executable (import) line, other than
	// setuptools' distutils-precedence.pth, __editable__ finders and -nspkg.pth: high.
	RulePthFile = "PB-ANALYSIS-PTH-FILE"
	// A wheel that ships sitecustomize.py or usercustomize.py: high.
	RuleSitecustomize = "PB-ANALYSIS-SITECUSTOMIZE"
	// The name imitates a much more depended-on one (see Typosquat). Dir does not
	// report it: the caller asks Typosquat and decides the severity (medium).
	RuleTyposquat = "PB-ANALYSIS-TYPOSQUAT"
)

// AnalyzerVersion names the analysis's rules and everything their findings
// depend on: the patterns and keys (signals.go), the thresholds (scan.go), how
// units are chosen and read (npm.go, pypi.go, crates.go, gems.go, closure.go,
// tree.go, archive.go), how signals become findings (judge.go) and the finding
// texts. Bump it with any change that can change a finding for some package:
// the install's analysis cache is keyed by it (Version), so a new phylum-box
// with the same version keeps every cached result, and one with new rules
// analyses again. TestGoldenFindings refuses to rewrite its golden findings
// under an unchanged version.
const AnalyzerVersion = 1

// Version is AnalyzerVersion with a fingerprint of the pattern table, so that
// an edited pattern gets new cache keys even if the bump was forgotten.
func Version() string { return analyzerVersion() }

var analyzerVersion = sync.OnceValue(func() string {
	h := sha256.New()
	for _, p := range patternSources {
		fmt.Fprintf(h, "%d\x00%d\x00%s\x00%s\x00%s\x00%t\n", p.kind, p.langs, p.expr, p.keys, p.need, p.ok != nil)
	}
	fmt.Fprintf(h, "%d %d %d %d %d %d %d %d %d %d %d %d", blobMinBase64, blobMinHex, blobMinEscapes, longLineBytes, obfuscatorIdent,
		obfuscatorIdentRotated, nearBytes, nearDataBytes, maxFileBytes, maxTotalBytes, maxFiles, maxUnits)
	return fmt.Sprintf("%d-%x", AnalyzerVersion, h.Sum(nil)[:6])
})

// Severities.
const (
	High   = "high"
	Medium = "medium"
	Low    = "low"
)

func sevRank(s string) int {
	switch s {
	case High:
		return 3
	case Medium:
		return 2
	case Low:
		return 1
	}
	return 0
}

// Dir analyses one unpacked package rooted at dir (npm: the directory holding
// package.json; PyPI: an unpacked wheel or sdist; crates.io: the crate directory;
// RubyGems: the gem directory). It never follows a symlink, never leaves dir and
// never executes anything. Findings are one per rule, most severe first.
func Dir(ctx context.Context, pkg Package, dir string) ([]Finding, error) {
	fsys, err := openTree(dir)
	if err != nil {
		return nil, fmt.Errorf("analysing %s %s@%s: %w", pkg.Ecosystem, pkg.Name, pkg.Version, err)
	}
	defer fsys.close()
	return analyse(ctx, pkg, fsys, nil)
}

// analyse reads one package's tree; gemExts are the extensions a gem's
// specification names (Archive reads them from its metadata).
func analyse(ctx context.Context, pkg Package, fsys *tree, gemExts []string) ([]Finding, error) {
	var units []*unit
	var extra []Finding
	var err error
	switch pkg.Ecosystem {
	case "npm":
		units, err = npmUnits(ctx, fsys)
	case "PyPI":
		units, extra, err = pypiUnits(ctx, fsys)
	case "crates.io":
		units, err = crateUnits(ctx, fsys)
	case "RubyGems":
		units, err = gemUnits(ctx, fsys, gemExts)
	default:
		return nil, fmt.Errorf("analysing %s@%s: unknown ecosystem %q", pkg.Name, pkg.Version, pkg.Ecosystem)
	}
	if err != nil {
		return nil, fmt.Errorf("analysing %s %s@%s: %w", pkg.Ecosystem, pkg.Name, pkg.Version, err)
	}
	fs := append(extra, judge(units)...)
	if len(fsys.unread) > 0 {
		// Padding the package past the cap must not hide the file that matters.
		fs = append(fs, Finding{RuleOversized, Medium,
			fmt.Sprintf("the package is larger than the %d MiB the analysis reads; %d file(s) that run at install or load were not read", maxTotalBytes>>20, len(fsys.unread)),
			fsys.unread[:min(len(fsys.unread), 6)]})
	}
	return merge(fs), nil
}

// merge keeps one finding per rule: the most severe one's summary, and the
// evidence of all (capped).
func merge(in []Finding) []Finding {
	const maxEvidence = 6
	byRule := map[string]*Finding{}
	var order []string
	for _, f := range in {
		m, ok := byRule[f.Rule]
		if !ok {
			c := f
			c.Evidence = nil
			byRule[f.Rule] = &c
			order = append(order, f.Rule)
			m = &c
		} else if sevRank(f.Severity) > sevRank(m.Severity) {
			m.Severity, m.Summary = f.Severity, f.Summary
			// The most severe finding's evidence goes first.
			m.Evidence = append(append([]string(nil), f.Evidence...), m.Evidence...)
			continue
		}
		for _, e := range f.Evidence {
			if !contains(m.Evidence, e) {
				m.Evidence = append(m.Evidence, e)
			}
		}
	}
	out := make([]Finding, 0, len(order))
	for _, r := range order {
		f := *byRule[r]
		f.Evidence = dedupe(f.Evidence)
		if len(f.Evidence) > maxEvidence {
			f.Evidence = f.Evidence[:maxEvidence]
		}
		out = append(out, f)
	}
	sort.SliceStable(out, func(i, j int) bool { return sevRank(out[i].Severity) > sevRank(out[j].Severity) })
	return out
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func dedupe(l []string) []string {
	seen := map[string]bool{}
	out := l[:0:0]
	for _, s := range l {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

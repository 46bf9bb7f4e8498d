package policy

import (
	"slices"
	"strings"
	"time"
)

// Action says what to do when the precheck cannot decide.
type Action string

const (
	// Fail makes the verdict incomplete (exit 5): nothing is installed.
	Fail Action = "fail"
	// Warn reports the problem and lets the rest of the policy decide.
	Warn Action = "warn"
)

// ScriptsMode says which install scripts may run (always inside the sandbox).
type ScriptsMode string

const (
	// ScriptsSandbox runs every package's install scripts, shut in the sandbox.
	ScriptsSandbox ScriptsMode = "sandbox"
	// ScriptsAllowlist runs only the scripts of packages listed in allow_scripts.
	ScriptsAllowlist ScriptsMode = "allowlist"
	// ScriptsNone runs no install scripts at all.
	ScriptsNone ScriptsMode = "none"
)

// Policy is the merged result of every policy layer.
type Policy struct {
	Block Block
	// MinReleaseAge blocks versions published more recently than this (0 = off). It
	// needs registry metadata, which only the package-manager wrappers have; an
	// offline `phylum-box check` reports it as not enforced.
	MinReleaseAge time.Duration
	Scripts       ScriptsMode
	// AllowScripts lists "name" or "name@version" entries whose scripts may run
	// under ScriptsAllowlist.
	AllowScripts []string
	// ScriptNetwork gives the install scripts of the packages it names a way out
	// to the listed "host:port" destinations (through phylum-box's filtering
	// proxy), for trusted packages that download at install time. It only widens
	// what a script that runs may reach: scripts: none or allowlist still decide
	// whether it runs.
	ScriptNetwork []ScriptNetwork
	// AllowBins lists "name" or "name@version" entries whose bins may shadow a
	// common system command (node, npm, git, sh, …) in node_modules/.bin, where
	// npm scripts and npx find them before the real one.
	AllowBins []string
	// KeepEnv names environment variables passed to the install's steps, install
	// scripts included (credentials never: the orchestration leaves out any name
	// or value that looks like one). A project file adding names is a weakening.
	KeepEnv  []string
	Ignore   []Ignore
	Limits   Limits
	Database Database
	// Uncheckable is what happens to git, file, path and URL dependencies, which
	// cannot be looked up by name and version.
	Uncheckable Action
	// Behaviour and Analysis decide what the behaviour monitor's and the static
	// analysis's findings do (see detection.go).
	Behaviour Behaviour
	Analysis  Analysis

	// Files lists the policy files that were merged, lowest precedence first.
	Files []string
	// Weakened describes each way a project file loosened the settings below it.
	Weakened []string
	// Refused describes each setting of a project file that was not applied because
	// it would loosen the behaviour: or analysis: sections (a project file may only
	// make those stricter).
	Refused []string
}

// ScriptNetwork is one script_network entry.
type ScriptNetwork struct {
	// Package is "name" or "name@version", matched like allow_scripts.
	Package string
	// Hosts are canonical "host:port" pairs (lower-case host, numeric port).
	Hosts []string
	// Source is "file:line" of the entry, for reports.
	Source string
}

// Matches reports whether the entry names the package.
func (s ScriptNetwork) Matches(ecosystem, name, version string) bool {
	return entryMatches(s.Package, ecosystem, name, version)
}

// ScriptHosts returns the destinations script_network gives a package's install
// script (the union of every matching entry, sorted), nil when none matches.
func (p *Policy) ScriptHosts(ecosystem, name, version string) []string {
	var hosts []string
	for _, e := range p.ScriptNetwork {
		if e.Matches(ecosystem, name, version) {
			hosts = append(hosts, e.Hosts...)
		}
	}
	slices.Sort(hosts)
	return slices.Compact(hosts)
}

// Block holds the rules that block an install outright.
type Block struct {
	// Malicious blocks any finding classified as malicious (MAL- records).
	Malicious bool
	// Vulnerability is the lowest severity that blocks; ThresholdNone means
	// vulnerabilities never block.
	Vulnerability Threshold
}

// Threshold is a vulnerability severity name used as a blocking threshold. It is a
// plain string so that this package stays a leaf that the precheck engine can import.
type Threshold string

const (
	ThresholdCritical Threshold = "critical"
	ThresholdHigh     Threshold = "high"
	ThresholdMedium   Threshold = "medium"
	ThresholdLow      Threshold = "low"
	ThresholdNone     Threshold = "none"
)

// rank orders thresholds from the strictest (low) to never blocking (none).
func (t Threshold) rank() int {
	switch t {
	case ThresholdLow:
		return 1
	case ThresholdMedium:
		return 2
	case ThresholdHigh:
		return 3
	case ThresholdCritical:
		return 4
	}
	return 5
}

// Ignore silences one advisory for one package until a date.
type Ignore struct {
	// ID is the advisory id or any of its aliases (GHSA-..., CVE-..., MAL-...).
	ID string
	// Package is "name" or "name@version"; empty matches every package.
	Package string
	// Until is the first instant the ignore no longer applies (00:00 UTC of the
	// date written); zero means it never expires.
	Until  time.Time
	Reason string
	// Source is "file:line" of the entry, for reports.
	Source string
}

// Limits bound the sandboxed steps. Zero means "not set by any policy": the
// configuration's value (config.yaml, PHYLUM_BOX_*, its built-in 4GiB/1024/2/30m)
// applies. A value set here overrides the configuration; a command-line flag
// overrides both. The defaults are zero so the two sources do not fight.
type Limits struct {
	Memory  uint64 // bytes
	Pids    int
	CPUs    float64
	Timeout time.Duration
}

// Database says how old the OSV database may be and what happens when it is older.
type Database struct {
	MaxAge    time.Duration
	WhenStale Action
}

// Default returns the built-in policy: fail closed on malware, a stale or missing
// database; block high and critical vulnerabilities; warn on uncheckable entries.
func Default() *Policy {
	return &Policy{
		Block:       Block{Malicious: true, Vulnerability: ThresholdHigh},
		Scripts:     ScriptsSandbox,
		Database:    Database{MaxAge: 72 * time.Hour, WhenStale: Fail},
		Uncheckable: Warn,
		Behaviour:   defaultBehaviour(),
		Analysis:    defaultAnalysis(),
	}
}

// IgnoreMatch is the result of looking a finding up in the ignore list.
type IgnoreMatch struct {
	Ignore  Ignore
	Expired bool
}

// MatchIgnore returns the ignore entry that covers a finding on a package, if any.
// ids are the finding's id and aliases; an entry matches any of them. An entry
// whose Until has passed is returned with Expired set (it no longer applies, but the
// report should say it was there). A live entry wins over an expired one.
func (p *Policy) MatchIgnore(ids []string, ecosystem, name, version string, now time.Time) (IgnoreMatch, bool) {
	var expired *Ignore
	for i := range p.Ignore {
		ig := &p.Ignore[i]
		if !ig.matchesID(ids) || !ig.matchesPackage(ecosystem, name, version) {
			continue
		}
		if !ig.Until.IsZero() && !now.Before(ig.Until) {
			if expired == nil {
				expired = ig
			}
			continue
		}
		return IgnoreMatch{Ignore: *ig}, true
	}
	if expired != nil {
		return IgnoreMatch{Ignore: *expired, Expired: true}, true
	}
	return IgnoreMatch{}, false
}

// ExpiredIgnores lists the entries whose date has passed at now.
func (p *Policy) ExpiredIgnores(now time.Time) []Ignore {
	var out []Ignore
	for _, ig := range p.Ignore {
		if !ig.Until.IsZero() && !now.Before(ig.Until) {
			out = append(out, ig)
		}
	}
	return out
}

func (ig *Ignore) matchesID(ids []string) bool {
	for _, a := range ids {
		if strings.EqualFold(ig.ID, a) {
			return true
		}
	}
	return false
}

func (ig *Ignore) matchesPackage(ecosystem, name, version string) bool {
	if ig.Package == "" {
		return true
	}
	return entryMatches(ig.Package, ecosystem, name, version)
}

// ScriptsAllowed reports whether a package may run its install scripts.
func (p *Policy) ScriptsAllowed(ecosystem, name, version string) bool {
	switch p.Scripts {
	case ScriptsSandbox:
		return true
	case ScriptsNone:
		return false
	}
	for _, entry := range p.AllowScripts {
		if entryMatches(entry, ecosystem, name, version) {
			return true
		}
	}
	return false
}

// BinsAllowed reports whether a package's bins may shadow a system command.
func (p *Policy) BinsAllowed(ecosystem, name, version string) bool {
	for _, entry := range p.AllowBins {
		if entryMatches(entry, ecosystem, name, version) {
			return true
		}
	}
	return false
}

// entryMatches reports whether a policy entry ("name" or "name@version", as in
// allow_scripts, ignore's package and script_network's package) names the package.
func entryMatches(entry, ecosystem, name, version string) bool {
	n, v := SplitNameVersion(entry)
	return SameName(ecosystem, n, name) && (v == "" || v == version)
}

// SplitNameVersion splits "name@version" at the last "@" that is not the first
// character, so scoped npm names ("@babel/core@7.0.0", "@babel/core") work.
func SplitNameVersion(s string) (name, version string) {
	if i := strings.LastIndexByte(s, '@'); i > 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}

// SameName compares package names the way the ecosystem does: PyPI names are
// normalised per PEP 503 (case, runs of "-", "_", "." are equal), npm and crates.io
// names are compared exactly (crates.io treats - and _ as distinct crates), RubyGems
// exactly. An ignore written for one spelling must not silently miss another.
func SameName(ecosystem, a, b string) bool {
	if ecosystem == "PyPI" {
		return normalizePyPI(a) == normalizePyPI(b)
	}
	return a == b
}

func normalizePyPI(s string) string {
	// re.sub(r"[-_.]+", "-", name).lower(), exactly.
	var b strings.Builder
	sep := false
	for _, r := range strings.ToLower(s) {
		if r == '-' || r == '_' || r == '.' {
			sep = true
			continue
		}
		if sep {
			b.WriteByte('-')
			sep = false
		}
		b.WriteRune(r)
	}
	if sep {
		b.WriteByte('-')
	}
	return b.String()
}

package precheck

// Ecosystem names as OSV spells them.
const (
	NPM      = "npm"
	PyPI     = "PyPI"
	RubyGems = "RubyGems"
	CratesIO = "crates.io"
)

// Package is one resolved package that would be installed.
type Package struct {
	Ecosystem string `json:"ecosystem"`
	Name      string `json:"name"`
	Version   string `json:"version"`
	// Source is where the package was found: a lockfile path, optionally with ":line".
	Source string `json:"source,omitempty"`
	// Uncheckable is set for entries that cannot be looked up by name and version
	// (git, file, path, URL dependencies); Reason says why. They are reported, never dropped.
	Uncheckable bool   `json:"uncheckable,omitempty"`
	Reason      string `json:"reason,omitempty"`
	// Dev marks development-only dependencies where the lockfile says so.
	Dev bool `json:"dev,omitempty"`
	// Resolved is the URL the lockfile says the package is fetched from, Integrity the
	// hash it pins (SRI, "sha512-…"; space-separated when several): what will really be
	// fetched, which the precheck compares with what the registry serves under Name and
	// Version. Empty when the lockfile does not record them.
	Resolved  string `json:"-"`
	Integrity string `json:"-"`
	// Mismatch says why the lockfile entry is not the registry's Name@Version (another
	// package's tarball, a hash the registry does not have); the engine blocks it.
	Mismatch string `json:"mismatch,omitempty"`
}

// FindingKind classifies a finding.
type FindingKind string

const (
	Malicious     FindingKind = "malicious"
	Vulnerability FindingKind = "vulnerability"
	// Behaviour is something a package's code tried while it ran in the sandbox
	// (the behaviour monitor's observation: a network attempt, a secret read, a
	// persistence write, a download-and-execute). ID is the rule, "PB-BEHAVIOUR-…".
	Behaviour FindingKind = "behaviour"
	// Analysis is something the static analysis found in a package's files before
	// any of its code ran (an eval chain, an encoded blob, a typosquatted name).
	// ID is the rule, "PB-ANALYSIS-…".
	Analysis FindingKind = "analysis"
)

// Severity of a vulnerability, ordered.
type Severity int

const (
	SeverityUnknown Severity = iota
	SeverityNone
	SeverityLow
	SeverityMedium
	SeverityHigh
	SeverityCritical
)

var severityNames = [...]string{"unknown", "none", "low", "medium", "high", "critical"}

func (s Severity) String() string {
	if int(s) < len(severityNames) {
		return severityNames[s]
	}
	return "unknown"
}

// ParseSeverity reads a severity name (case-insensitive; "moderate" is medium).
func ParseSeverity(s string) (Severity, bool) {
	switch lower(s) {
	case "critical":
		return SeverityCritical, true
	case "high":
		return SeverityHigh, true
	case "medium", "moderate":
		return SeverityMedium, true
	case "low":
		return SeverityLow, true
	case "none":
		return SeverityNone, true
	case "unknown", "":
		return SeverityUnknown, true
	}
	return SeverityUnknown, false
}

func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// Finding is one advisory that affects one package version, or one behaviour or
// analysis rule that fired for it (Kind Behaviour or Analysis; ID is the rule id,
// which is what an ignore entry names).
type Finding struct {
	ID       string      `json:"id"`
	Kind     FindingKind `json:"kind"`
	Severity Severity    `json:"severity"`
	Summary  string      `json:"summary,omitempty"`
	Aliases  []string    `json:"aliases,omitempty"`
	// Score is the CVSS base score when one was computed, else 0.
	Score float64 `json:"score,omitempty"`
	// Evidence is what a behaviour or analysis finding rests on, most telling first:
	// "path:line: excerpt" for analysis, "pid 42 sh -c …: connect 1.2.3.4:443" for
	// behaviour. Reports show the first few lines; nil for advisories.
	Evidence []string `json:"evidence,omitempty"`
	// Candidates lists the packages ("name@version") a behaviour may belong to when
	// the monitor could not tell which one ran it (a shared process, an ambiguous
	// cwd). The finding is then filed under each candidate, and an ignore must
	// cover the package it is filed under.
	Candidates []string `json:"candidates,omitempty"`
}

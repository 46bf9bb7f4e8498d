package analysis

import (
	"context"
	"fmt"
	"sort"
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

// Rule ids.
const (
	RuleEvalDecode     = "PB-ANALYSIS-EVAL-DECODE"
	RuleEncodedBlob    = "PB-ANALYSIS-ENCODED-BLOB"
	RuleObfuscator     = "PB-ANALYSIS-OBFUSCATOR"
	RuleDownloadExec   = "PB-ANALYSIS-DOWNLOAD-EXEC"
	RuleCredentialPath = "PB-ANALYSIS-CREDENTIAL-PATH"
	RuleEnvExfil       = "PB-ANALYSIS-ENV-EXFIL"
	RuleExfilEndpoint  = "PB-ANALYSIS-EXFIL-ENDPOINT"
	RuleRawIPURL       = "PB-ANALYSIS-RAW-IP-URL"
	RuleBinaryDrop     = "PB-ANALYSIS-BINARY-DROP"
	RuleMinifiedInst   = "PB-ANALYSIS-MINIFIED-INSTALL"
	RuleOversized      = "PB-ANALYSIS-OVERSIZED"
	RulePthFile        = "PB-ANALYSIS-PTH-FILE"
	RuleSitecustomize  = "PB-ANALYSIS-SITECUSTOMIZE"
	RuleTyposquat      = "PB-ANALYSIS-TYPOSQUAT"
)

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
	var units []*unit
	var extra []Finding
	switch pkg.Ecosystem {
	case "npm":
		units, err = npmUnits(ctx, fsys)
	case "PyPI":
		units, extra, err = pypiUnits(ctx, fsys)
	case "crates.io":
		units, err = crateUnits(ctx, fsys)
	case "RubyGems":
		units, err = gemUnits(ctx, fsys)
	default:
		return nil, fmt.Errorf("analysing %s@%s: unknown ecosystem %q", pkg.Name, pkg.Version, pkg.Ecosystem)
	}
	if err != nil {
		return nil, fmt.Errorf("analysing %s %s@%s: %w", pkg.Ecosystem, pkg.Name, pkg.Version, err)
	}
	fs := append(extra, judge(units)...)
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

package precheck

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// NotBlocking is one finding of a passing install that the policy let through: an
// advisory below block.vulnerability, or malware under block.malicious: false.
// Ignored findings (the user's own decision, with a reason) are not listed.
type NotBlocking struct {
	ID       string   `json:"id"`
	Kind     string   `json:"kind"`
	Severity Severity `json:"severity"`
	Package  string   `json:"package"` // name@version
	Summary  string   `json:"summary,omitempty"`
	// Evidence is the first evidence line of a behaviour or analysis finding.
	Evidence string `json:"evidence,omitempty"`
}

// NotBlockingFindings lists the findings that did not block, most severe first
// (malware before any vulnerability), then by package and id. nil for a verdict
// that did not pass: its report already says everything.
func NotBlockingFindings(v *Verdict) []NotBlocking {
	if v == nil || v.Result != Pass {
		return nil
	}
	var out []NotBlocking
	for _, p := range v.Packages {
		for _, f := range p.Findings {
			if f.Blocking || f.Ignored {
				continue
			}
			nb := NotBlocking{ID: f.ID, Kind: string(f.Kind), Severity: f.Severity,
				Package: p.Name + "@" + p.Version, Summary: f.Summary}
			if len(f.Evidence) > 0 {
				nb.Evidence = f.Evidence[0]
			}
			out = append(out, nb)
		}
	}
	rank := func(n NotBlocking) int {
		if n.Kind == string(Malicious) {
			return 100
		}
		return int(n.Severity)
	}
	slices.SortStableFunc(out, func(a, b NotBlocking) int {
		return cmp.Or(rank(b)-rank(a), strings.Compare(a.Package, b.Package), strings.Compare(a.ID, b.ID))
	})
	return out
}

// NotBlockingSummary renders NotBlockingFindings as lines for the end of an install:
// a heading, one line per finding (id, severity, package, summary) up to max, and
// a count of the rest. nil when there is nothing to say.
func NotBlockingSummary(v *Verdict, max int) []string {
	fs := NotBlockingFindings(v)
	if len(fs) == 0 {
		return nil
	}
	var head string
	if slices.ContainsFunc(fs, func(f NotBlocking) bool { return isDetection(FindingKind(f.Kind)) }) {
		// Behaviour and analysis warnings each have their reason (a threshold or a
		// rule set to warn); -v and the report give it.
		head = fmt.Sprintf("%d finding%s did not block; installed anyway:", len(fs), plural(len(fs), "", "s"))
	} else {
		threshold := ""
		if v.Policy != nil {
			threshold = fmt.Sprintf(" (below block.vulnerability: %s)", v.Policy.Block.Vulnerability)
		}
		head = fmt.Sprintf("%d advisor%s did not block%s; installed anyway:", len(fs), plural(len(fs), "y", "ies"), threshold)
	}
	lines := []string{head}
	for i, f := range fs {
		if i == max {
			lines = append(lines, fmt.Sprintf("  … and %d more (all of them with -v, or in --report FILE)", len(fs)-max))
			break
		}
		sev := f.Severity.String()
		switch {
		case f.Kind == string(Malicious):
			sev = "MALWARE"
		case isDetection(FindingKind(f.Kind)):
			sev = f.Kind + " " + sev
		}
		line := fmt.Sprintf("  %s  %s  %s", oneLine(f.ID, 80), sev, oneLine(f.Package, 120))
		if s := oneLine(f.Summary, 80); s != "" {
			line += "  " + s
		}
		if e := oneLine(f.Evidence, 100); e != "" {
			line += " (" + e + ")"
		}
		lines = append(lines, line)
	}
	return lines
}

func isDetection(k FindingKind) bool { return k == Behaviour || k == Analysis }

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// oneLine keeps the first line of s, printable, at most n runes.
func oneLine(s string, n int) string {
	s, _, _ = strings.Cut(s, "\n")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
	if r := []rune(s); len(r) > n {
		s = string(r[:n-1]) + "…"
	}
	return s
}

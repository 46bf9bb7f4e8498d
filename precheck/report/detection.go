package report

import (
	"fmt"
	"io"
	"maps"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/phylum-box/phylum-box/internal/lazyre"
	"github.com/phylum-box/phylum-box/precheck"
	"github.com/phylum-box/phylum-box/precheck/policy"
)

// Behaviour and analysis findings (what package code tried in the sandbox, what
// the static analysis read in a new package) are rendered apart from advisories:
// they carry evidence, and a false alarm is silenced by an ignore entry the report
// prints.

// maxEvidenceLines is how many evidence lines the text report shows for a
// blocking finding; JSON and SARIF carry them all.
const maxEvidenceLines = 3

// detectionDocURI is where the rules are explained.
const detectionDocURI = toolURI + "/blob/main/docs/detection.md"

func isDetection(f precheck.Finding) bool {
	return f.Kind == precheck.Behaviour || f.Kind == precheck.Analysis
}

// writeDetection prints one behaviour or analysis finding under its package: a
// blocking one with up to three evidence lines, the reason and the ignore entry; a
// warning with its first evidence line and the reason; an ignored one with the
// reason only.
func writeDetection(w io.Writer, c painter, f precheck.FindingResult) {
	mark, colour := "·", yellow
	switch {
	case f.Blocking:
		mark, colour = "✗", red
	case f.Ignored:
		mark, colour = "~", dim
	}
	fmt.Fprintf(w, "  %s %s  %s  %s\n", c.paint(colour, mark), c.paint(bold, oneLine(f.ID, 120)),
		c.paint(colour, string(f.Kind)+" "+f.Severity.String()), oneLine(f.Summary, 100))
	show := 0
	switch {
	case f.Blocking:
		show = maxEvidenceLines
	case !f.Ignored:
		show = 1
	}
	for i, e := range f.Evidence {
		if show == 0 {
			break
		}
		if i == show {
			fmt.Fprintf(w, "      %s\n", c.paint(dim, fmt.Sprintf("… and %d more (--format json lists them all)", len(f.Evidence)-i)))
			break
		}
		fmt.Fprintf(w, "      %s\n", oneLine(e, 200))
	}
	if len(f.Candidates) > 0 && !f.Ignored {
		fmt.Fprintf(w, "      %s\n", oneLine("the monitor could not tell which package ran it; it may be any of: "+strings.Join(f.Candidates, ", "), 300))
	}
	fmt.Fprintf(w, "      %s\n", c.paint(dim, oneLine(f.Reason, 300)))
	if f.Blocking && f.IgnoreEntry != "" {
		fmt.Fprintf(w, "      if it is a false alarm, add to the ignore list of the policy (%s, or your own %s):\n",
			policy.ProjectFile, "~/.config/phylum-box/policy.yaml")
		fmt.Fprintf(w, "        - %s\n", oneLine(f.IgnoreEntry, 400))
	}
}

// jsonDetection is one entry of a package's behaviour or analysis list.
type jsonDetection struct {
	ID         string   `json:"id"`
	Severity   string   `json:"severity"`
	Summary    string   `json:"summary"`
	Evidence   []string `json:"evidence"`
	Candidates []string `json:"candidates"`
	Blocking   bool     `json:"blocking"`
	Ignored    bool     `json:"ignored"`
	Reason     string   `json:"reason"`
	// IgnoreEntry is the policy ignore entry that silences this finding for this
	// package version, as YAML.
	IgnoreEntry string `json:"ignore_entry"`
}

func toJSONDetection(f precheck.FindingResult) jsonDetection {
	return jsonDetection{ID: f.ID, Severity: f.Severity.String(), Summary: f.Summary,
		Evidence: nonNil(f.Evidence), Candidates: nonNil(f.Candidates),
		Blocking: f.Blocking, Ignored: f.Ignored, Reason: f.Reason, IgnoreEntry: f.IgnoreEntry}
}

// jsonDetectionPolicy is the effective behaviour: or analysis: section.
type jsonDetectionPolicy struct {
	Monitor   *bool             `json:"monitor,omitempty"`
	Block     string            `json:"block"`
	Typosquat string            `json:"typosquat,omitempty"`
	Rules     map[string]string `json:"rules"`
}

func rulesJSON(m map[string]policy.RuleAction) map[string]string {
	out := make(map[string]string, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out[k] = string(m[k])
	}
	return out
}

// detectionRule is the SARIF rule for a behaviour or analysis rule id.
func detectionRule(f precheck.Finding) sarifRule {
	desc := "phylum-box " + string(f.Kind) + " rule " + f.ID
	if f.Kind == precheck.Behaviour {
		desc += ": something a package's code tried while it ran in the sandbox"
	} else {
		desc += ": something found in a package's files before any of its code ran"
	}
	r := sarifRule{
		ID:                   f.ID,
		ShortDescription:     sarifText{desc},
		HelpURI:              detectionDocURI,
		Help:                 &sarifText{desc + ". A false alarm is silenced by an ignore entry with this id and the package; see " + detectionDocURI},
		DefaultConfiguration: sarifConfig{Level: "warning"},
		Properties:           map[string]any{"tags": []string{"security", "supply-chain", string(f.Kind)}},
	}
	if s := securitySeverity(f); s != "" {
		r.Properties["security-severity"] = s
	}
	return r
}

// detectionMessage is a SARIF result's text: the package, the rule and summary,
// the evidence, what the policy made of it and the ignore entry.
func detectionMessage(p precheck.Package, f precheck.FindingResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s (%s %s) — %s.", pkgLabel(p), f.ID, f.Kind, f.Severity, orDefault(oneLine(f.Summary, 300), "no summary"))
	if len(f.Evidence) > 0 {
		ev := make([]string, len(f.Evidence))
		for i, e := range f.Evidence {
			ev[i] = oneLine(e, 300)
		}
		b.WriteString(" Evidence: " + strings.Join(ev, "; ") + ".")
	}
	if len(f.Candidates) > 0 {
		b.WriteString(" It may belong to any of: " + strings.Join(f.Candidates, ", ") + ".")
	}
	b.WriteString(" " + f.Reason)
	if !f.Ignored && f.IgnoreEntry != "" {
		b.WriteString(". If it is a false alarm, add to the policy's ignore list: " + f.IgnoreEntry)
	}
	return b.String()
}

// evidenceLocation matches "path:line: excerpt" (the static analysis's evidence,
// the path relative to the package's root).
var evidenceLocation = lazyre.New(`^([^\s:][^:]*):([0-9]+)(?::[0-9]+)?: `)

// evidenceLocations turns each "path:line: …" evidence line into a SARIF related
// location inside the package (uriBaseId PACKAGE_ROOT: the path is relative to the
// package's root, not to the project).
func evidenceLocations(f precheck.Finding) []sarifRelated {
	var out []sarifRelated
	for _, e := range f.Evidence {
		m := evidenceLocation().FindStringSubmatch(e)
		if m == nil {
			continue
		}
		line, err := strconv.Atoi(m[2])
		p := path.Clean(m[1])
		if err != nil || line <= 0 || path.IsAbs(p) || p == ".." || strings.HasPrefix(p, "../") {
			continue
		}
		out = append(out, sarifRelated{
			ID: len(out),
			PhysicalLocation: &sarifPhysical{
				ArtifactLocation: sarifArtifact{URI: (&url.URL{Path: p}).EscapedPath(), URIBaseID: packageRootBase},
				Region:           &sarifRegion{StartLine: line},
			},
			Message: &sarifText{oneLine(e, 300)},
		})
	}
	return out
}

// packageRootBase is the SARIF uriBaseId of paths inside a package.
const packageRootBase = "PACKAGE_ROOT"

type sarifRelated struct {
	ID               int            `json:"id"`
	PhysicalLocation *sarifPhysical `json:"physicalLocation,omitempty"`
	Message          *sarifText     `json:"message,omitempty"`
}

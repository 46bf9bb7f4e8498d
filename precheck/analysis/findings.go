package analysis

import (
	"fmt"

	"github.com/phylum-box/phylum-box/precheck"
)

// The analysis's results as the precheck's findings, worded once for the
// install's detection and for `phylum-box analyze`.

// Precheck is f as a finding the policy weighs (kind Analysis).
func (f Finding) Precheck() precheck.Finding {
	sev, _ := precheck.ParseSeverity(f.Severity)
	return precheck.Finding{ID: f.Rule, Kind: precheck.Analysis, Severity: sev, Summary: f.Summary, Evidence: f.Evidence}
}

// TyposquatFinding is the finding for a name that imitates a popular package of
// its ecosystem (see Typosquat); ok is false when it imitates none.
func (t *TopLists) TyposquatFinding(ecosystem, name string) (f precheck.Finding, ok bool) {
	target, technique, ok := t.Typosquat(ecosystem, name)
	if !ok {
		return precheck.Finding{}, false
	}
	return precheck.Finding{
		ID: RuleTyposquat, Kind: precheck.Analysis, Severity: precheck.SeverityMedium,
		Summary:  fmt.Sprintf("the name %s imitates the popular package %s (%s)", name, target, technique),
		Evidence: []string{fmt.Sprintf("%s is %s of %s", name, technique, target)},
	}, true
}

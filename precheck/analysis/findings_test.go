package analysis

import (
	"strings"
	"testing"

	"github.com/phylum-box/phylum-box/precheck"
)

func TestFindingsAsPrecheck(t *testing.T) {
	f := Finding{Rule: RuleEvalDecode, Severity: "high", Summary: "s", Evidence: []string{"a.py:1: x"}}.Precheck()
	if f.ID != RuleEvalDecode || f.Kind != precheck.Analysis || f.Severity != precheck.SeverityHigh || f.Summary != "s" || len(f.Evidence) != 1 {
		t.Errorf("Precheck() = %+v", f)
	}
	sq, ok := EmbeddedTopLists().TyposquatFinding("npm", "lodahs")
	if !ok || sq.ID != RuleTyposquat || sq.Severity != precheck.SeverityMedium || !strings.Contains(sq.Summary, "imitates the popular package lodash") {
		t.Errorf("TyposquatFinding(lodahs) = %+v, %v", sq, ok)
	}
	if _, ok := EmbeddedTopLists().TyposquatFinding("npm", "lodash"); ok {
		t.Error("lodash itself is a typosquat")
	}
}

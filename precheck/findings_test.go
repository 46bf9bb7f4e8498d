package precheck

import (
	"strings"
	"testing"

	"github.com/phylum-box/phylum-box/precheck/policy"
)

func TestNotBlockingSummary(t *testing.T) {
	pol := policy.Default()
	v := &Verdict{Result: Pass, Policy: pol, Packages: []PackageResult{
		{Package: Package{Name: "request", Version: "2.88.2"}, Findings: []FindingResult{
			{Finding: Finding{ID: "GHSA-p8p7-x288-28g6", Kind: Vulnerability, Severity: SeverityMedium, Summary: "Server-Side Request Forgery in Request\nmore"}},
			{Finding: Finding{ID: "GHSA-ignored", Kind: Vulnerability, Severity: SeverityHigh}, Ignored: true},
		}},
		{Package: Package{Name: "tough-cookie", Version: "2.5.0"}, Findings: []FindingResult{
			{Finding: Finding{ID: "GHSA-72xf-g2v4-qvf3", Kind: Vulnerability, Severity: SeverityMedium}},
			{Finding: Finding{ID: "GHSA-low\x1b[31m", Kind: Vulnerability, Severity: SeverityLow}},
		}},
		{Package: Package{Name: "ok", Version: "1.0.0"}},
	}}
	got := NotBlockingSummary(v, 2)
	want := []string{
		"3 advisories did not block (below block.vulnerability: " + string(pol.Block.Vulnerability) + "); installed anyway:",
		"  GHSA-p8p7-x288-28g6  medium  request@2.88.2  Server-Side Request Forgery in Request",
		"  GHSA-72xf-g2v4-qvf3  medium  tough-cookie@2.5.0",
		"  … and 1 more (all of them with -v, or in --report FILE)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	all := NotBlockingSummary(v, 10)
	if last := all[len(all)-1]; strings.ContainsRune(last, 0x1b) || !strings.Contains(last, "GHSA-low[31m  low") {
		t.Errorf("control characters must not reach the terminal: %q", last)
	}
	v.Result = Blocked
	if NotBlockingSummary(v, 2) != nil || NotBlockingFindings(v) != nil {
		t.Error("a blocked verdict has its own report")
	}
}

package install

import "github.com/phylum-box/phylum-box/precheck"

// maxFindingLines bounds the findings summary printed after an install; the rest
// are counted (all of them are in the --report and --format json output).
const maxFindingLines = 5

// summarizeFindings records and prints, at the end of a successful install, the
// findings the policy let through (an advisory below block.vulnerability): without
// it a passing install of a package with a medium advisory said only "N package(s)
// checked".
func (o Options) summarizeFindings(out *Outcome) {
	if out == nil || out.Code != 0 || out.Verdict == nil {
		return
	}
	out.NotBlocking = precheck.NotBlockingFindings(out.Verdict)
	if o.Log == nil {
		return
	}
	for _, line := range precheck.NotBlockingSummary(out.Verdict, maxFindingLines) {
		o.Log.Warn(line)
	}
}

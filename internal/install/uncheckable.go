package install

import (
	"fmt"

	"github.com/phylum-box/phylum-box/precheck"
)

// maxUncheckableListed bounds the lines announceUncheckable prints; a workspace can
// have a hundred local packages, and `phylum-box check` lists every one.
const maxUncheckableListed = 10

// announceUncheckable lists, before anything is downloaded, the packages a passing
// precheck could not judge by name and version (git, tarball URL, file: and link:
// dependencies): what they will install is whatever their source serves, and the
// user sees that while Ctrl-C still stops it. `uncheckable: fail` blocks them instead.
func (r *runner) announceUncheckable(v *precheck.Verdict) {
	var lines []string
	for _, p := range v.Packages {
		if !p.Uncheckable {
			continue
		}
		name := p.Name
		if p.Version != "" {
			name += "@" + p.Version
		}
		why := p.Reason
		if why == "" {
			why = "not a registry package"
		}
		lines = append(lines, fmt.Sprintf("not checked, installed as its source serves it: %s — %s (%s)", name, why, p.Source))
	}
	for i, l := range lines {
		if i == maxUncheckableListed {
			r.o.Log.Warnf("… and %d more not checked (`phylum-box check` lists them all; `uncheckable: fail` in the policy blocks them)", len(lines)-i)
			break
		}
		r.o.Log.Warn(l)
	}
}

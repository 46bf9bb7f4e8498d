package install

import (
	"context"
	"io"

	"github.com/phylum-box/phylum-box/managers"
	"github.com/phylum-box/phylum-box/precheck"
)

// A resolve step that also installed (managers.Step.Installs: npm's `npm install
// PKG` in one run, managers/npmfetch.go). The lockfile it wrote has been prechecked
// like any resolution; here what it installed gets the checks a download step's
// output gets — every package root it wrote is in the checked set or checked now,
// and each added or changed package is read by the static analysis — before the
// build runs any of it or anything is synced back. Its output, held while nothing
// was checked, is printed only then.

// fetchedInResolve runs the checks of a download step on what the resolve step
// installed; done is true when the install must stop (the outcome says why).
func (r *runner) fetchedInResolve(ctx context.Context, checked map[string]bool, resolved []precheck.Package) (done bool, err error) {
	if done, err := r.checkInstalledTree(ctx, managers.PhaseResolve, checked); err != nil || done {
		return true, err
	}
	if done, err := r.analyzeInstalled(ctx, r.downloaded, resolved); err != nil || done {
		return true, err
	}
	if r.heldResolve != nil {
		_, _ = io.WriteString(r.o.Stdout, r.heldResolve.String())
		r.heldResolve = nil
	}
	return false, nil
}

// installsInResolve: the plan's resolve step also installs.
func installsInResolve(p *managers.Plan) bool {
	return p.Steps.Resolve != nil && p.Steps.Resolve.Installs && p.Steps.Download == nil
}

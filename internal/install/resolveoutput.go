package install

import (
	"context"
	"fmt"

	"github.com/phylum-box/phylum-box/internal/exitcode"
	"github.com/phylum-box/phylum-box/managers"
	"github.com/phylum-box/phylum-box/precheck"
)

// maxResolveOutput caps what a captured resolve step may print (pip's report of a
// large environment is a few MiB).
const maxResolveOutput = 32 << 20

// resolveCaptured runs a Resolve whose output is the resolution (Plan.Steps.ResolveOutput):
// its standard output goes to the plan's parser on the host, and everything the
// step wrote to the project view is thrown away, so that package code run while
// resolving (an sdist's metadata hook) leaves nothing a later step reads. The
// credentials are prepared again: the parser may have added files (the validated
// fetch list) for the download step.
func (r *runner) resolveCaptured(ctx context.Context) (pkgs []precheck.Package, done bool, err error) {
	p := r.o.Plan
	buf := &capped{max: maxResolveOutput}
	r.stdout = buf
	done, err = r.step(ctx, managers.PhaseResolve, p.Steps.Resolve)
	r.stdout = nil
	if err != nil || done {
		return nil, done, err
	}
	if !p.Steps.Resolve.Installs { // a one-run install keeps what it installed, checked next (piponerun.go)
		if err := r.sess.Scratch().Discard(); err != nil {
			return nil, true, err
		}
	}
	if buf.over {
		r.out.Code, r.out.Reason = exitcode.Sandbox, fmt.Sprintf("the resolve step printed more than %d bytes; nothing was installed", maxResolveOutput)
		return nil, true, nil
	}
	pkgs, err = p.Steps.ResolveOutput(ctx, buf.Bytes())
	if err != nil {
		return nil, true, err
	}
	cred, err := r.prepareCredentials()
	if err != nil {
		return nil, true, err
	}
	r.cred.cleanup()
	r.cred = cred
	return pkgs, false, nil
}

// resolution is what the precheck judges, and what the download must leave: the
// plan's lockfile as the scratch has it, or, for a plan whose resolution is its
// resolve step's output, the packages that output yielded (the download step then
// runs phylum-box's own fetch of exactly those, and writes no lockfile).
func (r *runner) resolution(ctx context.Context, fromOutput []precheck.Package) ([]precheck.Package, error) {
	if r.o.Plan.Steps.ResolveOutput != nil {
		return fromOutput, nil
	}
	return r.readLockfiles(ctx)
}

package install

import (
	"context"
	"crypto/sha256"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/phylum-box/phylum-box/managers"
	"github.com/phylum-box/phylum-box/precheck"
	"github.com/phylum-box/phylum-box/rootfs"
)

// The cheap paths of an everyday install (issue 12), each keeping the five steps'
// guarantees. Nothing to do: the plan's UpToDate says, from the project read as
// data, that the command would change nothing; the lockfile is prechecked as
// always and no step runs, so nothing is synced back and a project that only
// pretends to be up to date gets no code run and no file written. Build only what
// changed: BuildChanged limits the build step to the packages the download step
// added or changed, as the manager itself would. Freshen keeps npm's hidden
// lockfile trusted after a sync back. Build first: a build whose lockfile is
// complete runs alone over it, in a session thrown away if it was not.

// upToDate asks the plan whether there is nothing to do; "" when there may be.
func (r *runner) upToDate() string {
	p := r.o.Plan
	if p.Steps.UpToDate == nil {
		return ""
	}
	ok, why := p.Steps.UpToDate()
	if !ok {
		r.o.Log.Debugf("not up to date, running every step: %s", why)
		return ""
	}
	return why
}

// precheckOnly is the install of an up-to-date project: the precheck of its
// lockfile, and nothing else.
func (r *runner) precheckOnly(ctx context.Context, why string) (*Outcome, error) {
	out := r.out
	pkgs, err := r.readLockfiles(ctx)
	if err != nil {
		return nil, err
	}
	r.o.Log.Infof("checking %d package(s)", len(pkgs))
	if pf, ok := r.o.Engine.Metadata.(interface {
		Prefetch(context.Context, []precheck.Package)
	}); ok {
		pf.Prefetch(ctx, pkgs)
	}
	v, err := r.o.Engine.Evaluate(ctx, pkgs)
	if err != nil {
		return nil, err
	}
	out.Verdict = v
	if v.Result != precheck.Pass {
		out.Code = v.ExitCode()
		out.Reason = verdictReason(v)
		return out, nil
	}
	r.announceUncheckable(v)
	out.UpToDate = why
	r.o.Log.Infof("up to date: %s; nothing to resolve, download or build", why)
	return out, nil
}

// changedBuild limits build to the packages the download step added or changed
// (Plan.Steps.BuildChanged): the step to run (nil: nothing to build), the packages the
// policy's scripts mode is applied to, and whether the limit applies (false: the
// whole tree, as without BuildChanged).
func (r *runner) changedBuild(build *managers.Step, pkgs []precheck.Package) (*managers.Step, []precheck.Package, bool) {
	p := r.o.Plan
	r.recordFreshen()
	if build == nil || !build.AppendChanged || p.Steps.BuildChanged == nil {
		return build, pkgs, false
	}
	cs, err := r.sess.Scratch().Changes()
	if err != nil {
		r.o.Log.Debugf("building the whole tree: listing what the download changed: %v", err)
		return build, pkgs, false
	}
	var dirs []string
	for _, c := range cs.Changes {
		if c.Kind != rootfs.Deleted && isManifestPath(c.Path) {
			dirs = append(dirs, path.Dir(c.Path))
		}
	}
	names, why, ok := p.Steps.BuildChanged(r.sess.Scratch().ReadFile, dirs)
	if !ok {
		r.o.Log.Debugf("building the whole tree: %s", why)
		return build, pkgs, false
	}
	if len(names) == 0 {
		r.o.Log.Infof("nothing to build: %s", why)
		return nil, nil, true
	}
	r.o.Log.Debugf("building only what this install changed: %s", why)
	r.only = names
	var keep []precheck.Package
	for _, pk := range pkgs {
		if slices.Contains(names, pk.Name) {
			keep = append(keep, pk)
		}
	}
	return build, keep, true
}

// limited is the build step limited to r.only, the packages this install added or
// changed (changedBuild); the step itself when the whole tree is built.
func (r *runner) limited(b *managers.Step) *managers.Step {
	if r.only == nil {
		return b
	}
	s := *b
	s.Args = append(slices.Clone(b.Args), r.only...)
	return &s
}

// recordFreshen notes the plan's Freshen files as the download step left them:
// package code in the build may rewrite them, and such a file is not the
// manager's word on the tree.
func (r *runner) recordFreshen() {
	r.fresh = map[string][32]byte{}
	for _, f := range r.o.Plan.Project.Freshen {
		if data, err := r.sess.Scratch().ReadFile(f); err == nil {
			r.fresh[f] = sha256.Sum256(data)
		}
	}
}

// freshen sets the modification time of the plan's Freshen files that the sync
// back just wrote, as the download step wrote them, to now: npm trusts its hidden lockfile only while no directory of
// node_modules is newer, and the sync's new entries make node_modules newer than
// the file npm wrote last in the sandbox. The tree is exactly what that file
// describes (synced as one transaction), so the manager's own invariant holds.
func (r *runner) freshen(rep *rootfs.SyncReport) {
	p := r.o.Plan
	if len(p.Project.Freshen) == 0 || rep == nil || r.out.Code != 0 {
		return
	}
	written := map[string]bool{}
	for _, c := range rep.Applied {
		if c.Kind != rootfs.Deleted {
			written[c.Path] = true
		}
	}
	root, err := os.OpenRoot(r.root)
	if err != nil {
		return
	}
	defer root.Close()
	now := time.Now()
	for _, f := range p.Project.Freshen {
		if !written[f] {
			continue
		}
		if st, err := root.Lstat(f); err != nil || !st.Mode().IsRegular() {
			continue
		}
		if data, err := root.ReadFile(f); err != nil || sha256.Sum256(data) != r.fresh[f] {
			r.o.Log.Debugf("%s is not what the download step wrote: left as synced", f)
			continue
		}
		if err := root.Chtimes(f, now, now); err != nil {
			r.o.Log.Debugf("%s: %v", f, err)
		}
	}
}

// buildFirst is the everyday `cargo build` with nothing to resolve: when the plan
// allows it (Plan.Steps.BuildFirst), the committed lockfile is prechecked and the build
// step runs alone over it, offline and locked, in a session of its own. If the
// build fails because the lockfile needed completing or a crate was not fetched
// yet (BuildFirst reads its output), that session is thrown away — nothing synced,
// its output not shown — and done is false: the full steps run in a fresh one, so
// no networked step ever sees what the attempt wrote. Anything else (success, a
// block, a compile error) is the install's outcome.
func buildFirst(ctx context.Context, o Options, out *Outcome) (done bool, err error) {
	p := o.Plan
	if p.Steps.BuildFirst == nil || p.Steps.Build == nil || p.Steps.Evaluate != nil || p.Steps.Hooks != nil {
		return false, nil
	}
	try := *p
	try.Steps.Resolve, try.Steps.Download, try.Steps.Resolved, try.Steps.ResolveOutput, try.Steps.BuildFirst = nil, nil, nil, nil, nil
	o2 := o
	o2.Plan = &try
	stdout, stderr := heldPair(o.Stdout, o.Stderr, heldRelease, heldLimit, true) // heldoutput.go
	o2.Stdout, o2.Stderr = stdout, stderr
	o.Log.Infof("building on the committed lockfile first: %s", strings.Join(p.Steps.Build.Args, " "))
	res := &Outcome{Manager: out.Manager, Subcommand: out.Subcommand, Project: out.Project}
	res, err = installIn(ctx, o2, res, p.Project.Root, nil)
	if err != nil {
		stdout.flush()
		stderr.flush()
		return true, err
	}
	if res.Code != 0 && len(res.Steps) > 0 && res.Steps[len(res.Steps)-1].Phase == managers.PhaseBuild &&
		res.Steps[len(res.Steps)-1].Stopped == "" && !stdout.released() && !stderr.released() &&
		p.Steps.BuildFirst(stdout.held()+stderr.held()) {
		// Only output still held back counts: once cargo compiles or runs, a word
		// in a program's or a test's output must not make it run twice.
		o.Log.Infof("the lockfile needs resolving or crates fetching: running every step")
		return false, nil
	}
	stdout.flush()
	stderr.flush()
	d := out.Duration
	*out = *res
	out.Duration = d
	return true, nil
}

package install

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/phylum-box/phylum-box/internal/exitcode"
	"github.com/phylum-box/phylum-box/precheck"
	"github.com/phylum-box/phylum-box/precheck/lockfile"
)

// parseLockfile reads one of the plan's lockfiles (rel, from the project root) the way
// the precheck judges it: registry tarball URLs must be on the registries this plan
// fetches from, and each package's Source names the file from the project root.
func (r *runner) parseLockfile(ctx context.Context, rel string, data []byte) ([]precheck.Package, error) {
	def, scopes := r.o.Plan.RegistryURLs()
	opts := lockfile.Options{NPM: &lockfile.Registries{Default: def, Scopes: scopes}}
	pkgs, err := lockfile.ParseReaderWith(ctx, path.Base(rel), bytes.NewReader(data), opts)
	if err != nil {
		return nil, err
	}
	// The parser names the file by its base name ("package-lock.json:12").
	for i := range pkgs {
		if rest, ok := strings.CutPrefix(pkgs[i].Source, path.Base(rel)); pkgs[i].Source == "" || ok && (rest == "" || rest[0] == ':') {
			pkgs[i].Source = rel + rest
		}
	}
	return pkgs, nil
}

// blockSmuggledBeforeResolve judges the project's committed lockfile before the
// resolve step, which has the network and fetches what the lockfile names (yarn
// classic resolves by installing without scripts): an entry whose URL is not the
// registry's for its name and version is blocked before anything is fetched. Only
// such mismatches count here; everything else is judged after the resolve, on the
// lockfile it leaves. A lockfile that does not parse is the resolve's to replace.
func (r *runner) blockSmuggledBeforeResolve(ctx context.Context) (done bool, err error) {
	for _, rel := range r.o.Plan.Project.Lockfiles {
		data, err := r.sess.Scratch().ReadFile(rel)
		if err != nil {
			continue
		}
		pkgs, err := r.parseLockfile(ctx, rel, data)
		if err != nil {
			return false, nil
		}
		var bad []precheck.Package
		for _, p := range pkgs {
			if p.Mismatch != "" {
				bad = append(bad, p)
			}
		}
		if len(bad) == 0 {
			r.committed = pkgs // what the prewarm may load ahead (prewarm.go)
			return false, nil
		}
		return true, r.blockMismatched(ctx, bad)
	}
	return false, nil
}

// blockMismatched makes the verdict on lockfile entries that are not what would be
// fetched (Package.Mismatch), alone and without registry metadata: a mismatch needs
// none, and none has been fetched yet.
func (r *runner) blockMismatched(ctx context.Context, bad []precheck.Package) error {
	eng := *r.o.Engine
	eng.Metadata = nil
	if eng.Policy != nil {
		pol := *eng.Policy
		pol.MinReleaseAge = 0
		eng.Policy = &pol
	}
	v, err := eng.Evaluate(ctx, bad)
	if err != nil {
		return err
	}
	r.out.Verdict = v
	r.out.Code, r.out.Reason = exitcode.Blocked, verdictReason(v)
	return nil
}

func (r *runner) readLockfiles(ctx context.Context) ([]precheck.Package, error) {
	var all []precheck.Package
	found := false
	for _, rel := range r.o.Plan.Project.Lockfiles {
		data, err := r.readProject(rel)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		found = true
		pkgs, err := r.parseLockfile(ctx, rel, data)
		if err != nil {
			return nil, exitcode.With(exitcode.Incomplete, fmt.Errorf("reading the resolved %s: %w", rel, err))
		}
		all = append(all, pkgs...)
		break // Lockfiles are in order of preference
	}
	if !found && (r.o.Plan.Steps.Download != nil || installsInResolve(r.o.Plan)) {
		return nil, exitcode.With(exitcode.Incomplete, fmt.Errorf("no lockfile (%s) to check after resolving", strings.Join(r.o.Plan.Project.Lockfiles, ", ")))
	}
	return all, nil
}

// readProject reads file rel of the project as the session's view has it, or,
// before the session is open, beneath the project under its lock (the view is the
// project then).
func (r *runner) readProject(rel string) ([]byte, error) {
	if r.sess == nil {
		return r.held.ReadFile(rel)
	}
	return r.sess.Scratch().ReadFile(rel)
}

func pkgKey(p precheck.Package) string { return p.Ecosystem + "/" + p.Name + "@" + p.Version }

func packageSet(pkgs []precheck.Package) map[string]bool {
	m := make(map[string]bool, len(pkgs))
	for _, p := range pkgs {
		m[pkgKey(p)] = true
	}
	return m
}

func unchecked(pkgs []precheck.Package, checked map[string]bool) []string {
	var out []string
	for _, p := range pkgs {
		if !checked[pkgKey(p)] {
			out = append(out, p.Name+"@"+p.Version)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

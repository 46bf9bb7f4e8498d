package install

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sort"
	"strings"

	"github.com/phylum-box/phylum-box/internal/exitcode"
	"github.com/phylum-box/phylum-box/managers"
)

// maxHookRounds bounds the fetch → evaluate offline loop of Plan.Steps.Hooks: each round
// fetches the metadata the hooks asked for in the previous one.
const maxHookRounds = 12

// hooks runs the plan's Hooks step (the project's resolution code) with no network
// and no credentials, after Resolve, and loops while it needs package metadata no
// networked step has fetched: HooksFetch fetches it (no project code runs there),
// then the hooks run again. The hooks may change only the plan's lockfiles: the
// next networked step must not read anything else project code wrote.
func (r *runner) hooks(ctx context.Context) (done bool, err error) {
	p := r.o.Plan
	for round := 0; round < maxHookRounds; round++ {
		before, err := r.treeFingerprint()
		if err != nil {
			return true, err
		}
		s := *p.Steps.Hooks
		s.Network, s.Credentials, s.Egress = false, false, nil
		r.o.Log.Infof("running the project's resolution hooks in the sandbox (no network, no credentials): %s", strings.Join(shownArgs(s.Args), " "))
		buf := &capped{max: maxEvaluateOutput}
		r.stdout = buf
		done, err = r.step(ctx, managers.PhaseHooks, &s)
		r.stdout = nil
		if err != nil || done {
			return done, err
		}
		after, err := r.treeFingerprint()
		if err != nil {
			return true, err
		}
		if changed := changedBesides(before, after, p.Project.Lockfiles); len(changed) > 0 {
			r.out.Code = exitcode.Sandbox
			r.out.Reason = "the project's resolution hooks changed " + strings.Join(changed, ", ") + " (only the lockfile may change); nothing was installed"
			return true, nil
		}
		if buf.over {
			r.out.Code, r.out.Reason = exitcode.Sandbox, fmt.Sprintf("the hooks step printed more than %d bytes; nothing was installed", maxEvaluateOutput)
			return true, nil
		}
		missing, err := p.Steps.Hooked(buf.Bytes())
		if err != nil {
			r.out.Code, r.out.Reason = exitcode.Usage, err.Error()+"; nothing was installed"
			return true, nil
		}
		if len(missing) == 0 {
			return false, nil
		}
		fetch := p.Steps.HooksFetch(missing)
		r.o.Log.Infof("fetching what the hooks asked for: %s", strings.Join(fetch.Args, " "))
		if done, err := r.step(ctx, managers.PhaseResolve, fetch); err != nil || done {
			return done, err
		}
	}
	r.out.Code = exitcode.Usage
	r.out.Reason = fmt.Sprintf("the project's resolution hooks still asked for more packages after %d rounds; nothing was installed", maxHookRounds)
	return true, nil
}

// treeFingerprint describes every change the steps made to the project so far:
// path → kind, type, mode, link target and content hash.
func (r *runner) treeFingerprint() (map[string]string, error) {
	cs, err := r.sess.Scratch().Changes()
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, c := range cs.Changes {
		desc := fmt.Sprintf("%v %v %o %d %q", c.Kind, c.Type, c.Perm, c.Size, c.Linkname)
		if data, err := r.sess.Scratch().ReadFile(c.Path); err == nil {
			desc += fmt.Sprintf(" %x", sha256.Sum256(data))
		}
		out[c.Path] = desc
	}
	return out, nil
}

// changedBesides lists the paths whose description differs between two
// fingerprints, except allowed ones.
func changedBesides(before, after map[string]string, allowed []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range []map[string]string{before, after} {
		for p := range m {
			if seen[p] {
				continue
			}
			seen[p] = true
			ok := before[p] == after[p]
			for _, a := range allowed {
				ok = ok || p == a
			}
			if !ok {
				out = append(out, p)
			}
		}
	}
	sort.Strings(out)
	return out
}

// shownArgs leaves out a shell wrapper ("sh -c SCRIPT NAME cmd…") when logging.
func shownArgs(args []string) []string {
	if len(args) > 4 && args[0] == "sh" && args[1] == "-c" {
		return args[4:]
	}
	return args
}

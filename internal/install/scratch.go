package install

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/phylum-box/phylum-box/internal/exitcode"
)

// installScratch runs a scratch plan (npx, npm exec, pnpm dlx, yarn dlx):
//
//  1. the package is installed into a fresh temporary project made from
//     Scratch.Files, with the same resolve → precheck → download → build steps and
//     its own sandbox session; that session's changes are synced into the
//     temporary project only (it is ours; the user's project is not involved);
//  2. Run executes in a second session over the user's project with the network
//     off, the temporary project bound read-only at its own path and its
//     node_modules/.bin first in PATH (writeback.go). What it writes to the project
//     is synced back under the plan's WriteBack rules (a scaffolder only adds, .git
//     never, node_modules left out; managers/writeback.go), all or nothing.
//
// The temporary project is removed afterwards.
func installScratch(ctx context.Context, o Options, out *Outcome) (*Outcome, error) {
	p := o.Plan
	if p.Steps.Run == nil {
		return nil, exitcode.With(exitcode.Usage, fmt.Errorf("%s %s: nothing to run", p.Manager, p.Subcommand))
	}
	tmp, err := os.MkdirTemp("", "phylum-box-"+p.Manager+"-exec-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	// Readable by the container's root when phylum-box runs as real root (then an
	// unprivileged mapped uid); the files npm writes are world-readable already.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, err
	}
	for rel, content := range p.Scratch.Files {
		dst := filepath.Join(tmp, filepath.Clean("/"+rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(dst, []byte(content), 0o644); err != nil {
			return nil, err
		}
	}
	sp := *p
	sp.Project.Root, sp.Project.Cwd, sp.Steps.Run, sp.Then, sp.Scratch = tmp, ".", nil, nil, nil
	so := o
	so.Plan = &sp
	// Everything the steps wrote goes into the temporary project (nil would mean
	// the plan's Outputs, which scratch plans do not list).
	res, err := installIn(ctx, so, out, tmp, []string{})
	if err != nil || res.Code != 0 {
		return res, err
	}
	// Refusals in our own temporary project are not the user's business, but a
	// write that was refused may be a file the run needs: say so.
	if len(res.Refused) > 0 {
		o.Log.Warnf("%d write(s) of the install were not kept: %s", len(res.Refused), strings.Join(res.Refused, "; "))
	}
	out.Refused, out.Synced = nil, 0
	return runScratch(ctx, o, out, tmp)
}

// dedupEnv keeps the last assignment of each variable.
func dedupEnv(env []string) []string {
	last := map[string]int{}
	for i, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		last[k] = i
	}
	var out []string
	for i, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if last[k] == i {
			out = append(out, kv)
		}
	}
	return out
}

package install

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/phylum-box/phylum-box/container"
	"github.com/phylum-box/phylum-box/internal/exitcode"
	"github.com/phylum-box/phylum-box/internal/sandbox"
	"github.com/phylum-box/phylum-box/managers"
)

// installScratch runs a scratch plan (npx, npm exec, pnpm dlx, yarn dlx):
//
//  1. the package is installed into a fresh temporary project made from
//     ScratchFiles, with the same resolve → precheck → download → build steps and
//     its own sandbox session; that session's changes are synced into the
//     temporary project only (it is ours; the user's project is not involved);
//  2. Run executes in a second session over the user's project with the network
//     off, the temporary project bound read-only at its own path and its
//     node_modules/.bin first in PATH. The user's project is seen through that
//     session's scratch view (overlay or staging copy) and never synced back:
//     whatever the command writes there is thrown away. A command that is meant to
//     change the project (create-*, codemods) must be run another way — this is
//     the safe default for code fresh from the registry.
//
// The temporary project is removed afterwards.
func installScratch(ctx context.Context, o Options, out *Outcome) (*Outcome, error) {
	p := o.Plan
	if p.Run == nil {
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
	for rel, content := range p.ScratchFiles {
		dst := filepath.Join(tmp, filepath.Clean("/"+rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(dst, []byte(content), 0o644); err != nil {
			return nil, err
		}
	}
	sp := *p
	sp.Root, sp.Cwd, sp.Run, sp.Then, sp.Scratch = tmp, ".", nil, nil, false
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

func runScratch(ctx context.Context, o Options, out *Outcome, tmp string) (*Outcome, error) {
	p := o.Plan
	args := p.Run.Args
	if p.RunBinOf != "" {
		bin, err := managers.BinFromManifest(filepath.Join(tmp, "node_modules", filepath.FromSlash(p.RunBinOf)))
		if err != nil {
			out.Code, out.Reason = exitcode.Usage, fmt.Sprintf("%s has no command to run: %v", p.RunBinOf, err)
			return out, nil
		}
		args = append([]string{bin}, args...)
	}
	if len(args) == 0 {
		out.Code, out.Reason = exitcode.Usage, "nothing to run"
		return out, nil
	}
	root, err := filepath.EvalSymlinks(p.Root)
	if err != nil {
		return nil, exitcode.With(exitcode.Usage, fmt.Errorf("project dir: %w", err))
	}
	sess, err := sandbox.Open(ctx, sandbox.Options{
		Project: root, Home: o.Home, User: o.User, Mode: o.Mode, Log: o.Log,
		OnWait: func(pid int) { o.Log.Infof("waiting for another phylum-box run on %s (pid %d)", root, pid) },
	})
	if err != nil {
		if ctx.Err() != nil {
			out.Code, out.Reason = exitcode.Sandbox, "interrupted while waiting for the project lock"
			return out, nil
		}
		return nil, err
	}
	defer func() {
		if err := sess.Close(); err != nil {
			o.Log.Warnf("removing the scratch dir: %v", err)
		}
	}()
	bin := filepath.Join(tmp, "node_modules", ".bin")
	env := sandbox.ScrubEnv(o.Environ, managers.PassEnv, o.Home, o.User)
	env = append(env, p.Run.Env...)
	env = o.withKeptEnv(env)
	path := bin
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = bin + ":" + v
		}
	}
	env = append(env, "PATH="+path)
	r := &runner{o: o, sess: sess, root: root, out: out}
	o.Log.Infof("running in the sandbox (no network, changes to %s are discarded): %s", root, strings.Join(args, " "))
	t := newTail(64 << 10)
	res, err := sess.Run(ctx, sandbox.Exec{
		Args: args, Env: dedupEnv(env), Cwd: filepath.Join(root, p.Cwd),
		Limits: o.Limits, ReadOnly: r.hostPaths(),
		Dirs:  []sandbox.DirBind{{Source: tmp, Target: tmp}},
		Stdin: o.Stdin, Stdout: io.MultiWriter(o.Stdout, t), Stderr: io.MultiWriter(o.Stderr, t),
	})
	if err != nil {
		return nil, fmt.Errorf("run step: %w", err)
	}
	out.Steps = append(out.Steps, StepOutcome{Phase: managers.PhaseRun, Args: args, ExitCode: res.ExitCode, Stopped: string(res.Stopped), Duration: res.Duration})
	switch {
	case res.Stopped != container.StopNone:
		out.Code, out.Reason = exitcode.Sandbox, "run stopped: "+res.StopMessage(o.Limits)
	case res.ExitCode != 0:
		// The command's own status, as npx would return it.
		out.Code, out.Reason = res.ExitCode, fmt.Sprintf("%s exited with status %d", args[0], res.ExitCode)
		out.OutputTail = t.lastLines(20)
	}
	return out, nil
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

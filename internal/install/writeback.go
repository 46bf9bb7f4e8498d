package install

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/phylum-box/phylum-box/container"
	"github.com/phylum-box/phylum-box/internal/exitcode"
	"github.com/phylum-box/phylum-box/internal/sandbox"
	"github.com/phylum-box/phylum-box/managers"
	"github.com/phylum-box/phylum-box/rootfs"
)

// runScratch runs a scratch plan's Run over the user's project, the network off,
// the temporary project tmp bound read-only at its own path and its
// node_modules/.bin first in PATH. With a WriteBack (every npx, exec, dlx and
// create; managers/writeback.go) what the command wrote is synced back under its
// rules, all or nothing; without one it is thrown away.
func runScratch(ctx context.Context, o Options, out *Outcome, tmp string) (*Outcome, error) {
	p := o.Plan
	wb := p.Scratch.WriteBack
	args := p.Steps.Run.Args
	if p.Scratch.RunBinOf != "" {
		bin, err := managers.BinFromManifest(filepath.Join(tmp, "node_modules", filepath.FromSlash(p.Scratch.RunBinOf)))
		if err != nil {
			out.Code, out.Reason = exitcode.Usage, fmt.Sprintf("%s has no command to run: %v", p.Scratch.RunBinOf, err)
			return out, nil
		}
		args = append([]string{bin}, args...)
	}
	if len(args) == 0 {
		out.Code, out.Reason = exitcode.Usage, "nothing to run"
		return out, nil
	}
	dir, cwd := p.Project.Root, p.Project.Cwd
	if wb != nil && wb.NewProject {
		// An empty directory stands for the user's: the command's one new
		// directory is moved from it into wb.Dir (moveNewProject).
		staging, err := newProjectStaging(wb.Dir)
		if err != nil {
			return nil, exitcode.With(exitcode.Usage, err)
		}
		defer os.RemoveAll(staging)
		dir, cwd = staging, "."
	}
	root, err := filepath.EvalSymlinks(dir)
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
	stdin := o.Stdin
	if wb != nil {
		// The command gets no terminal input: a prompt reads EOF and takes its
		// default or gives up, never waits. An install it starts itself meets the
		// shims first in PATH, which skip it (there is no network to install with,
		// and it would not be checked).
		if isTerminal(o.Stdin) {
			o.Log.Infof("%s runs without terminal input, so it asks nothing and takes its defaults: give its choices on the command line (npm create vite@latest app -- --template react-ts)", filepath.Base(args[0]))
		}
		stdin = nil
		shims, err := writeInstallShims(tmp)
		if err != nil {
			return nil, err
		}
		bin = shims + ":" + bin
	}
	var caches []rootfs.Cache
	var home string // the run's $HOME on the host, to see what it wrote outside the project
	if wb != nil {
		if home, err = runHome(sess); err != nil {
			return nil, err
		}
		defer os.RemoveAll(home)
		caches = []rootfs.Cache{{Name: "home", HostPath: home, Target: o.Home}}
	}
	env := sandbox.ScrubEnv(o.Environ, managers.PassEnv, o.Home, o.User)
	env = append(env, p.Steps.Run.Env...)
	env = o.withKeptEnv(env)
	pathVar := bin
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathVar = bin + ":" + v
		}
	}
	env = append(env, "PATH="+pathVar)
	r := &runner{o: o, sess: sess, root: root, out: out}
	switch {
	case wb == nil:
		o.Log.Infof("running in the sandbox (no network, changes to %s are discarded): %s", root, strings.Join(args, " "))
	case wb.NewProject:
		o.Log.Infof("running in the sandbox (no network, no terminal input) in an empty directory standing for %s; one new directory it creates is kept: %s", wb.Dir, strings.Join(args, " "))
	default:
		o.Log.Infof("running in the sandbox (no network, no terminal input; its writes to %s are synced back if it succeeds): %s", root, strings.Join(args, " "))
	}
	t := newTail(64 << 10)
	res, err := sess.Run(ctx, sandbox.Exec{
		Args: args, Env: dedupEnv(env), Cwd: filepath.Join(root, cwd),
		Limits: o.Limits, ReadOnly: r.hostPaths(), Caches: caches,
		Dirs:  []sandbox.DirBind{{Source: tmp, Target: tmp}},
		Stdin: stdin, Stdout: io.MultiWriter(o.Stdout, t), Stderr: io.MultiWriter(o.Stderr, t),
	})
	if err != nil {
		return nil, fmt.Errorf("run step: %w", err)
	}
	out.Steps = append(out.Steps, StepOutcome{Phase: managers.PhaseRun, Args: args, ExitCode: res.ExitCode, Stopped: string(res.Stopped), Duration: res.Duration})
	nothing := ""
	if wb != nil {
		nothing = "; nothing was synced back"
	}
	if wb != nil && wb.NewProject {
		// It may have looked for files that are not there.
		nothing += fmt.Sprintf(" (it ran in an empty directory standing for %s, whose files it does not see: to work on files, run it in their project's directory)", wb.Dir)
	}
	switch {
	case res.Stopped != container.StopNone:
		out.Code, out.Reason = exitcode.Sandbox, "run stopped: "+res.StopMessage(o.Limits)+nothing
		return out, nil
	case res.ExitCode != 0:
		// The command's own status, as npx would return it.
		out.Code, out.Reason = res.ExitCode, fmt.Sprintf("%s exited with status %d%s", args[0], res.ExitCode, nothing)
		out.OutputTail = t.lastLines(20)
		return out, nil
	}
	if wb == nil {
		return out, nil
	}
	stray, err := strayHomeWrites(home)
	if err != nil {
		return nil, err
	}
	return writeBack(o, out, sess, root, stray)
}

// writeBack syncs back what the command wrote in the session, under the plan's
// WriteBack rules: everything or nothing.
func writeBack(o Options, out *Outcome, sess *sandbox.Session, root string, stray []string) (*Outcome, error) {
	p, wb := o.Plan, o.Plan.Scratch.WriteBack
	cs, err := sess.Scratch().Changes()
	if err != nil {
		return nil, fmt.Errorf("reading what the command wrote: %w", err)
	}
	hooks := gitHookDirs(root, o.Home) // writeback_hooks.go
	wr := writeBackRules(cs.Changes, wb, hooks)
	for _, s := range stray {
		wr.refused = append(wr.refused, rootfs.RefusedChange{Path: s, Reason: "outside the project (thrown away: a command run through phylum-box may write only to the project)"})
	}
	if wb.NewProject && wr.newDir != "" && len(wr.refused) == 0 {
		if _, err := os.Lstat(filepath.Join(wb.Dir, wr.newDir)); err == nil {
			wr.refused = append(wr.refused, rootfs.RefusedChange{Path: wr.newDir, Reason: "already exists in " + wb.Dir})
		}
	}
	if len(wr.refused) > 0 {
		for _, rf := range wr.refused {
			out.Refused = append(out.Refused, rf.String())
		}
		out.Code = exitcode.Sandbox
		out.Reason = fmt.Sprintf("%d write(s) of %s were refused (%s); nothing was synced back", len(wr.refused), commandName(p), wr.refused[0].String())
		return out, nil
	}
	for _, d := range wr.dropped {
		o.Log.Warnf("not synced: %s", rootfs.Printable(d))
	}
	validate := func(allowed, _ []rootfs.Change) []rootfs.RefusedChange {
		return writeBackRules(allowed, wb, hooks).refused // the same rules, on what the sync would apply
	}
	if wr.only == nil {
		validate = nil // nothing left out: the rules above saw exactly what the sync applies
	}
	rep, err := sess.SyncBack(rootfs.SyncOptions{Only: wr.only, OwnerUID: o.OwnerUID, OwnerGID: o.OwnerGID, Validate: validate})
	out.Sync = rep
	if rep != nil {
		for _, rf := range rep.Refused {
			if !rf.OutsideOnly {
				out.Refused = append(out.Refused, rf.String())
			}
		}
	}
	if err != nil {
		if errors.Is(err, rootfs.ErrRefused) {
			out.Code, out.Reason = exitcode.Sandbox, err.Error()+"; nothing was synced back"
			return out, nil
		}
		return nil, fmt.Errorf("sync back: %w", err)
	}
	applied := rep.Applied
	if wb.NewProject && wr.newDir != "" && len(applied) > 0 {
		if err := moveNewProject(root, wb.Dir, wr.newDir); err != nil {
			if errors.Is(err, unix.EEXIST) || errors.Is(err, unix.ENOTEMPTY) {
				out.Code, out.Reason = exitcode.Sandbox, fmt.Sprintf("%s already exists in %s; nothing was synced back", rootfs.Printable(wr.newDir), wb.Dir)
				return out, nil
			}
			return nil, fmt.Errorf("moving %s into %s: %w", wr.newDir, wb.Dir, err)
		}
		out.Project = wb.Dir
	}
	out.Synced = len(applied)
	out.WrittenBack = changeSummary(applied, maxWrittenBackLines)
	for _, l := range out.WrittenBack {
		o.Log.Infof("synced back: %s", l)
	}
	if wb.Scaffold {
		for _, d := range newProjects(applied, wb.NewProject, p.Project.Cwd) {
			next := "phylum-box " + wb.Installer + " install"
			if d != "." {
				next = "cd " + shellWord(d) + " && " + next
			}
			o.Log.Infof("next: %s (its dependencies are not installed yet; phylum-box checks them as it installs)", rootfs.Printable(next))
		}
	}
	return out, nil
}

// maxWrittenBackLines bounds the list of synced changes printed.
const maxWrittenBackLines = 10

// shellWord quotes s for a shell when it needs it.
func shellWord(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./@+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func commandName(p *managers.Plan) string {
	if len(p.Args) > 0 {
		return p.Manager + " " + p.Args[0]
	}
	return p.Manager
}

// isTerminal reports whether r is a terminal.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok || f == nil {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

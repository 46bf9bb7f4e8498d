// Package run is `phylum-box run`: one command in a sandbox session over the
// project (internal/sandbox), its changes synced back when it exits 0.
package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/cmdutil"
	"github.com/phylum-box/phylum-box/container"
	"github.com/phylum-box/phylum-box/internal/config"
	"github.com/phylum-box/phylum-box/internal/exitcode"
	"github.com/phylum-box/phylum-box/internal/sandbox"
	"github.com/phylum-box/phylum-box/rootfs"
)

// RunOptions are `run`'s: its flags, CMD and what it takes from the process.
type RunOptions struct {
	App *cmdutil.App
	// Args is CMD [ARGS...].
	Args []string

	project  string
	network  bool
	keepEnv  []string
	only     []string
	allowGit bool
	scratch  string // auto, overlay, copy
	// noMonitor runs CMD without the behaviour monitor and its decoys.
	noMonitor bool

	// limits are the configured limits (file, environment, then the --memory,
	// --pids, --cpus, --timeout and --disk flags).
	limits container.Limits
	// explicit records which limit flags the user gave: an unenforceable limit
	// they asked for is a warning, an unenforceable default only a note.
	explicit map[string]bool

	// Filled by the caller (tests inject them).
	cwd     string
	environ []string
	home    string
	uid     int
	gid     int
	user    string
}

// NewCmdRun is `phylum-box run`.
func NewCmdRun(f *cmdutil.Factory, runF func(*RunOptions) error) *cobra.Command {
	o := &RunOptions{App: f.App}
	cmd := &cobra.Command{
		Use:   "run [flags] -- CMD [ARGS...]",
		Short: "run a command in the sandbox against a scratch view of the project",
		Long: `Runs CMD in a rootless container: a user namespace whose root is not host root, no
capabilities, a seccomp filter, no network (only its own loopback) unless --network, the
host's /usr, /etc and /opt read-only, an empty tmpfs $HOME and /tmp, and the project dir
(--project, default: the current dir) through an overlay or a scratch copy. The host
project is not written while CMD runs; when CMD exits 0, its changes are synced back
(--only limits which paths may change; .git/ only with --allow-git) and listed.

The limits are the configured ones (limits.* in the config file, PHYLUM_BOX_* variables),
overridden by the flags below. --disk bounds what CMD may write to the host's disk
through the project's scratch; one file may not be larger either.

The environment is reduced to PATH, LANG, LC_*, TERM, TZ, HOME, USER, LOGNAME and
TMPDIR=/tmp, plus each --keep-env NAME taken from your environment.

CMD runs under the behaviour monitor (docs/detection.md), with decoy credentials and
shell rc files in its $HOME: what it tried is listed after it exits, and a high-severity
finding — a decoy read or written, a download-and-run command line, a network attempt
without --network — stops the sync back. --no-monitor turns it off.

Exit status: CMD's own; 3 when the behaviour monitor stopped the sync back; 4 when a
limit, the timeout or an interrupt stopped it, or when a change was refused by the sync
back.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := f.Config()
			if err != nil {
				return err
			}
			o.Args = args
			o.takeLimits(cfg, cmd.Flags())
			if err := o.fillFromProcess(); err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			return runRun(cmd.Context(), o)
		},
	}
	fs := cmd.Flags()
	// Flags end at CMD: `phylum-box run ls -la` must not parse -la.
	fs.SetInterspersed(false)
	fs.StringVar(&o.project, "project", "", "project dir (default: the current dir)")
	fs.BoolVar(&o.network, "network", false, "share the host's network (default: loopback only)")
	fs.StringArrayVar(&o.keepEnv, "keep-env", nil, "pass this environment variable through (repeatable)")
	fs.StringArrayVar(&o.only, "only", nil, "sync back only this project-relative path and below (repeatable)")
	fs.BoolVar(&o.allowGit, "allow-git", false, "allow changes under .git/ to be synced back")
	fs.StringVar(&o.scratch, "scratch", "auto", "how the project is presented: auto, overlay or copy")
	fs.BoolVar(&o.noMonitor, "no-monitor", false, "run without the behaviour monitor and the decoy credentials in $HOME")
	cmdutil.FlagChoices(fs, "scratch", "auto", "overlay", "copy")
	cmdutil.AddConfigFlags(fs, cmdutil.LimitKeys...)
	return cmd
}

// takeLimits sets the limits from cfg, over which the Factory applied the limit
// flags fs parsed.
func (o *RunOptions) takeLimits(cfg *config.Config, fs *pflag.FlagSet) {
	o.limits = cmdutil.ConfigLimits(cfg)
	// Keyed by container.Enforcement.Limit.
	o.explicit = map[string]bool{
		"memory": fs.Changed("memory"),
		"pids":   fs.Changed("pids"),
		"cpu":    fs.Changed("cpus"),
		"disk":   fs.Changed("disk"),
	}
}

func (o *RunOptions) fillFromProcess() error {
	var err error
	if o.cwd, err = os.Getwd(); err != nil {
		return fmt.Errorf("current dir: %w", err)
	}
	o.environ = os.Environ()
	o.home, _ = os.UserHomeDir()
	o.uid, o.gid = os.Getuid(), os.Getgid()
	if u, err := user.Current(); err == nil {
		o.user = u.Username
		if o.home == "" {
			o.home = u.HomeDir
		}
	}
	return nil
}

// containerCwd keeps the caller's place inside the project: cwd when it lies in
// project, else project itself. Both are resolved paths.
func containerCwd(project, cwd string) string {
	if cwd == project || strings.HasPrefix(cwd, project+"/") {
		return cwd
	}
	return project
}

func parseScratchMode(s string) (rootfs.Mode, error) {
	switch s {
	case "auto", "":
		return rootfs.ModeAuto, nil
	case "overlay":
		return rootfs.ModeOverlay, nil
	case "copy":
		return rootfs.ModeCopy, nil
	}
	return 0, fmt.Errorf("--scratch %q: want auto, overlay or copy", s)
}

func runRun(ctx context.Context, o *RunOptions) error {
	app, args := o.App, o.Args
	if len(args) == 0 {
		return exitcode.With(exitcode.Usage, errors.New("run: name the command: phylum-box run [flags] -- CMD [ARGS...]"))
	}
	lim := o.limits
	if lim.Memory < 0 || lim.Pids < 0 || lim.CPUs < 0 || lim.Timeout < 0 || lim.Disk < 0 {
		return exitcode.With(exitcode.Usage, errors.New("run: --memory, --pids, --cpus, --timeout and --disk must not be negative"))
	}
	mode, err := parseScratchMode(o.scratch)
	if err != nil {
		return exitcode.With(exitcode.Usage, fmt.Errorf("run: %w", err))
	}
	project := o.project
	if project == "" {
		project = o.cwd
	}
	if project, err = filepath.Abs(project); err == nil {
		project, err = filepath.EvalSymlinks(project)
	}
	if err != nil {
		return exitcode.With(exitcode.Usage, fmt.Errorf("run: project dir: %w", err))
	}
	cwd := o.cwd
	if real, err := filepath.EvalSymlinks(cwd); err == nil {
		cwd = real
	}

	id, err := container.CurrentIdentity()
	if err != nil {
		return err
	}
	app.Log.Debugf("identity: %s (rootless=%v)", id.Describe(), id.Rootless)
	for _, e := range container.PlanLimits(lim, &id) {
		switch {
		case e.Enforced:
			app.Log.Debugf("%s limit: %s", e.Limit, e.How)
		case o.explicit[e.Limit]:
			app.Log.Warnf("%s limit not enforced: %s", e.Limit, strings.TrimPrefix(e.How, "not enforced: "))
		default:
			app.Log.Infof("default %s limit not enforced: %s", e.Limit, strings.TrimPrefix(e.How, "not enforced: "))
		}
	}

	sess, err := sandbox.Open(ctx, sandbox.Options{
		Project: project, Home: o.home, User: o.user, Mode: mode, Log: app.Log,
		OnWait: func(pid int) {
			app.Log.Infof("waiting for another phylum-box run on %s (pid %d)", project, pid)
		},
	})
	if err != nil {
		switch {
		case ctx.Err() != nil:
			app.Log.Warn("stopped: interrupted while waiting for the project lock")
			return cmdutil.ExitSilently(exitcode.Sandbox)
		case errors.Is(err, sandbox.ErrProjectHoldsHome):
			return exitcode.With(exitcode.Usage, fmt.Errorf("run: %w; cd into the project or pass --project", err))
		}
		return fmt.Errorf("run: %w", err)
	}
	defer func() {
		if err := sess.Close(); err != nil {
			app.Log.Warnf("removing the scratch dir: %v", err)
		}
	}()

	cmdutil.QuietLibcontainer(app)
	ex := sandbox.Exec{
		Args:    args,
		Env:     sandbox.ScrubEnv(o.environ, o.keepEnv, o.home, o.user),
		Cwd:     containerCwd(project, cwd),
		Network: o.network,
		Limits:  lim,
		Stdin:   stdinOrNull(app.Stdin),
		Stdout:  app.Stdout,
		Stderr:  app.Stderr,
	}
	var mon *runMonitor
	if !o.noMonitor {
		mon = startRunMonitor(app, sess, o.home, project, &ex) // monitor.go
	}
	r, err := sess.Run(ctx, ex)
	blocked := false
	if mon != nil {
		blocked = mon.finish(app, o.network)
		if err == nil && !r.Monitored {
			app.Log.Warnf("behaviour monitor off: %s", r.MonitorNote)
		}
	}
	// The mode is final once the container's mounts are made (an idmapped overlay
	// may still have fallen back to the copy).
	switch sc := sess.Scratch(); {
	case sc.Idmapped():
		app.Log.Debugf("project %s via %s (idmapped read-only lower at %s)", project, sc.Mode(), rootfs.IdmappedLower)
	case sc.ModeReason() != "":
		app.Log.Debugf("project %s via %s: %s", project, sc.Mode(), sc.ModeReason())
	default:
		app.Log.Debugf("project %s via %s", project, sc.Mode())
	}
	if err != nil {
		if strings.Contains(err.Error(), "executable file not found") {
			app.Log.Errorf("%s: command not found in the sandbox (only /usr, /etc, /opt and the project are visible)", args[0])
			return cmdutil.ExitSilently(127)
		}
		return fmt.Errorf("run: %w", err)
	}
	app.Log.Debugf("finished in %s (exit %d, peak memory %s)", r.Duration.Round(time.Millisecond), r.ExitCode, peak(r))
	if !r.Seccomp {
		app.Log.Warn("the seccomp filter was not installed")
	}
	if r.Stopped != container.StopNone {
		app.Log.Warnf("stopped: %s; nothing was synced back", r.StopMessage(lim))
		return cmdutil.ExitSilently(exitcode.Sandbox)
	}
	if blocked {
		app.Log.Errorf("stopped: the behaviour monitor saw what is listed above; nothing was synced back (--no-monitor runs without it)")
		return cmdutil.ExitSilently(exitcode.Blocked)
	}
	if r.ExitCode != 0 {
		app.Log.Infof("%s exited with status %d; nothing was synced back", args[0], r.ExitCode)
		return cmdutil.ExitSilently(r.ExitCode)
	}

	owner, group := o.uid, o.gid
	if o.uid == 0 {
		// Root running on someone's project (a devcontainer user's workspace): what the run
		// adds or changes belongs to the project's owner, not to root. Otherwise the next
		// run finds a project of mixed owners, which the idmapped overlay cannot serve.
		owner, group = -1, -1
	}
	rep, err := sess.SyncBack(rootfs.SyncOptions{Only: o.only, AllowGit: o.allowGit, OwnerUID: owner, OwnerGID: group})
	if rep != nil {
		printSyncReport(app, rep)
	}
	if err != nil {
		if errors.Is(err, rootfs.ErrRefused) {
			app.Log.Warnf("stopped: %v; nothing was synced back", err)
			return cmdutil.ExitSilently(exitcode.Sandbox)
		}
		return fmt.Errorf("run: sync back: %w", err)
	}
	if len(rep.Refused) > 0 {
		return cmdutil.ExitSilently(exitcode.Sandbox)
	}
	return nil
}

func printSyncReport(app *cmdutil.App, rep *rootfs.SyncReport) {
	if len(rep.Applied) == 0 && len(rep.Refused) == 0 {
		app.Log.Info("no changes to sync back")
	}
	if len(rep.Applied) > 0 {
		app.Log.Infof("synced back %d change(s)", len(rep.Applied))
		for _, c := range rep.Applied {
			app.Log.Debugf("  %s", c)
		}
	}
	if len(rep.Refused) > 0 {
		app.Log.Warnf("refused %d change(s):", len(rep.Refused))
		cmdutil.PrintRefused(app, rep.Refused, "  ")
	}
}

func peak(r *container.Result) string {
	if r.PeakMemory <= 0 {
		return "unknown"
	}
	return container.FormatBytes(r.PeakMemory)
}

// stdinOrNull gives the container the caller's stdin when it is a file (the
// terminal, a pipe); any other reader is passed as is.
func stdinOrNull(r io.Reader) io.Reader {
	if r == nil {
		f, err := os.Open(os.DevNull)
		if err == nil {
			return f
		}
	}
	return r
}

package main

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

	units "github.com/docker/go-units"
	"github.com/sirupsen/logrus"
	"github.com/spf13/pflag"

	"github.com/phylum-box/phylum-box/container"
	"github.com/phylum-box/phylum-box/internal/exitcode"
	"github.com/phylum-box/phylum-box/rootfs"
)

// runOptions are the flags of `phylum-box run`.
type runOptions struct {
	project  string
	network  bool
	memory   string
	pids     int64
	cpus     float64
	timeout  time.Duration
	keepEnv  []string
	only     []string
	allowGit bool
	scratch  string // auto, overlay, copy

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

// Default limits of `phylum-box run` (the policy file's defaults will override).
const (
	defaultRunMemory = "4GiB"
	defaultRunPids   = 1024
)

func init() {
	register(&Command{
		Name:  "run",
		Usage: "run [flags] -- CMD [ARGS...]",
		Short: "run a command in the sandbox against a scratch view of the project",
		Long: `Runs CMD in a rootless container: a user namespace whose root is not host root, no
capabilities, a seccomp filter, no network (only its own loopback) unless --network, the
host's /usr, /etc and /opt read-only, an empty tmpfs $HOME and /tmp, and the project dir
(--project, default: the current dir) through an overlay or a scratch copy. The host
project is not written while CMD runs; when CMD exits 0, its changes are synced back
(--only limits which paths may change; .git/ only with --allow-git) and listed.

The environment is reduced to PATH, LANG, LC_*, TERM, TZ, HOME, USER, LOGNAME and
TMPDIR=/tmp, plus each --keep-env NAME taken from your environment.

Exit status: CMD's own; 4 when a limit, the timeout or an interrupt stopped it, or when
a change was refused by the sync back.`,
		Flags: func(app *App, fs *pflag.FlagSet) func(context.Context, []string) error {
			o := &runOptions{}
			// Flags end at CMD: `phylum-box run ls -la` must not parse -la.
			fs.SetInterspersed(false)
			fs.StringVar(&o.project, "project", "", "project dir (default: the current dir)")
			fs.BoolVar(&o.network, "network", false, "share the host's network (default: loopback only)")
			fs.StringVar(&o.memory, "memory", defaultRunMemory, "memory limit (e.g. 2GiB, 512MiB; 0 = none)")
			fs.Int64Var(&o.pids, "pids", defaultRunPids, "process limit (0 = none)")
			fs.Float64Var(&o.cpus, "cpus", 0, "CPU limit in cores (e.g. 2, 0.5; 0 = none)")
			fs.DurationVar(&o.timeout, "timeout", 0, "wall-clock limit (e.g. 30m; 0 = none)")
			fs.StringArrayVar(&o.keepEnv, "keep-env", nil, "pass this environment variable through (repeatable)")
			fs.StringArrayVar(&o.only, "only", nil, "sync back only this project-relative path and below (repeatable)")
			fs.BoolVar(&o.allowGit, "allow-git", false, "allow changes under .git/ to be synced back")
			fs.StringVar(&o.scratch, "scratch", "auto", "how the project is presented: auto, overlay or copy")
			return func(ctx context.Context, args []string) error {
				o.explicit = map[string]bool{}
				// Keyed by container.Enforcement.Limit.
				o.explicit["memory"] = fs.Changed("memory")
				o.explicit["pids"] = fs.Changed("pids")
				o.explicit["cpu"] = fs.Changed("cpus")
				if err := o.fillFromProcess(); err != nil {
					return err
				}
				return runRun(ctx, app, o, args)
			}
		},
	})
}

func (o *runOptions) fillFromProcess() error {
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

// envAllowlist are the variables passed through unasked. LC_* is matched by prefix.
var envAllowlist = []string{"PATH", "LANG", "TERM", "TZ", "COLORTERM", "NO_COLOR"}

// scrubEnv builds the container's environment: the allowlist, --keep-env names,
// and the sandbox's own HOME/USER/LOGNAME/TMPDIR.
func scrubEnv(environ, keep []string, home, userName string) []string {
	src := map[string]string{}
	var order []string
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		if _, dup := src[k]; !dup {
			order = append(order, k)
		}
		src[k] = v
	}
	keepSet := map[string]bool{}
	for _, k := range envAllowlist {
		keepSet[k] = true
	}
	for _, k := range keep {
		keepSet[k] = true
	}
	fixed := map[string]string{"HOME": home, "TMPDIR": "/tmp"}
	if userName != "" {
		fixed["USER"], fixed["LOGNAME"] = userName, userName
	}
	var out []string
	for _, k := range order {
		if _, isFixed := fixed[k]; isFixed {
			continue
		}
		if keepSet[k] || strings.HasPrefix(k, "LC_") {
			out = append(out, k+"="+src[k])
		}
	}
	if _, ok := src["PATH"]; !ok {
		out = append(out, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	}
	for _, k := range []string{"HOME", "USER", "LOGNAME", "TMPDIR"} {
		if v, ok := fixed[k]; ok {
			out = append(out, k+"="+v)
		}
	}
	return out
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

func (o *runOptions) limits() (container.Limits, error) {
	l := container.Limits{Pids: o.pids, CPUs: o.cpus, Timeout: o.timeout}
	if o.memory != "" && o.memory != "0" {
		n, err := units.RAMInBytes(o.memory)
		if err != nil || n <= 0 {
			return l, fmt.Errorf("--memory %q: want a size such as 2GiB or 512MiB", o.memory)
		}
		l.Memory = n
	}
	if o.pids < 0 || o.cpus < 0 || o.timeout < 0 {
		return l, errors.New("--pids, --cpus and --timeout must not be negative")
	}
	return l, nil
}

func runRun(ctx context.Context, app *App, o *runOptions, args []string) error {
	if len(args) == 0 {
		return exitcode.With(exitcode.Usage, errors.New("run: name the command: phylum-box run [flags] -- CMD [ARGS...]"))
	}
	lim, err := o.limits()
	if err != nil {
		return exitcode.With(exitcode.Usage, fmt.Errorf("run: %w", err))
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
	if o.home == "" || o.home == "/" {
		return fmt.Errorf("run: cannot tell your home directory (set HOME)")
	}
	if project == "/" || project == o.home || strings.HasPrefix(o.home, project+"/") {
		return exitcode.With(exitcode.Usage, fmt.Errorf("run: refusing to use %s as the project: it contains your home directory; cd into the project or pass --project", project))
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

	res, err := container.Reserve("")
	if err != nil {
		return err
	}
	defer res.Release()

	scratch, err := rootfs.NewScratch(ctx, rootfs.ScratchOptions{
		Project: project, RootUID: id.RootUID, RootGID: id.RootGID,
		UIDMappings: id.UIDMap, GIDMappings: id.GIDMap, Mode: mode,
		OnWait: func(pid int) {
			app.Log.Infof("waiting for another phylum-box run on %s (pid %d)", project, pid)
		},
	})
	if err != nil {
		if ctx.Err() != nil {
			app.Log.Warn("stopped: interrupted while waiting for the project lock")
			return ExitSilently(exitcode.Sandbox)
		}
		return fmt.Errorf("run: %w", err)
	}
	defer func() {
		if err := scratch.Close(); err != nil {
			app.Log.Warnf("removing the scratch dir: %v", err)
		}
	}()
	skDir := filepath.Join(res.Dir, "root")
	// ProjectMounts before the log line: it may still fall back to the copy.
	projectMounts := scratch.ProjectMounts(skDir)
	switch {
	case scratch.Idmapped():
		app.Log.Debugf("project %s via %s (idmapped read-only lower at %s)", project, scratch.Mode(), rootfs.IdmappedLower)
	case scratch.ModeReason() != "":
		app.Log.Debugf("project %s via %s: %s", project, scratch.Mode(), scratch.ModeReason())
	default:
		app.Log.Debugf("project %s via %s", project, scratch.Mode())
	}

	sk, err := rootfs.BuildSkeleton(rootfs.SkeletonOptions{
		Dir: skDir, RootUID: id.RootUID, RootGID: id.RootGID,
		Home:  o.home,
		Extra: projectMounts,
	})
	if err != nil {
		return fmt.Errorf("run: building the container root: %w", err)
	}

	spec := &container.Spec{
		Args:      args,
		Env:       scrubEnv(o.environ, o.keepEnv, o.home, o.user),
		Cwd:       containerCwd(project, cwd),
		Rootfs:    sk.Root,
		Mounts:    sk.Mounts,
		MaskPaths: sk.Hidden,
		Network:   o.network,
		Limits:    lim,
		Stdin:     stdinOrNull(app.Stdin),
		Stdout:    app.Stdout,
		Stderr:    app.Stderr,
		Identity:  &id,
		Log:       app.Log,
	}
	quietLibcontainer(app)
	r, err := container.RunReserved(ctx, spec, res)
	if err != nil {
		if strings.Contains(err.Error(), "executable file not found") {
			app.Log.Errorf("%s: command not found in the sandbox (only /usr, /etc, /opt and the project are visible)", args[0])
			return ExitSilently(127)
		}
		return fmt.Errorf("run: %w", err)
	}
	app.Log.Debugf("finished in %s (exit %d, peak memory %s)", r.Duration.Round(time.Millisecond), r.ExitCode, peak(r))
	if !r.Seccomp {
		app.Log.Warn("the seccomp filter was not installed")
	}
	if r.Stopped != container.StopNone {
		app.Log.Warnf("stopped: %s; nothing was synced back", r.StopMessage(lim))
		return ExitSilently(exitcode.Sandbox)
	}
	if r.ExitCode != 0 {
		app.Log.Infof("%s exited with status %d; nothing was synced back", args[0], r.ExitCode)
		return ExitSilently(r.ExitCode)
	}

	owner, group := o.uid, o.gid
	if o.uid == 0 {
		// Root running on someone's project (a devcontainer user's workspace): what the run
		// adds or changes belongs to the project's owner, not to root. Otherwise the next
		// run finds a project of mixed owners, which the idmapped overlay cannot serve.
		owner, group = -1, -1
	}
	rep, err := scratch.SyncBack(rootfs.SyncOptions{Only: o.only, AllowGit: o.allowGit, OwnerUID: owner, OwnerGID: group})
	if rep != nil {
		printSyncReport(app, rep)
	}
	if err != nil {
		if errors.Is(err, rootfs.ErrRefused) {
			app.Log.Warnf("stopped: %v; nothing was synced back", err)
			return ExitSilently(exitcode.Sandbox)
		}
		return fmt.Errorf("run: sync back: %w", err)
	}
	if len(rep.Refused) > 0 {
		return ExitSilently(exitcode.Sandbox)
	}
	return nil
}

// quietLibcontainer keeps libcontainer's own logging (the global logrus logger)
// to errors, or to debug with -v: its warnings ("getting OOM notifications may
// fail ...") are about its internals, and the run reports what matters.
func quietLibcontainer(app *App) {
	if app.Verbose {
		logrus.SetLevel(logrus.DebugLevel)
		return
	}
	logrus.SetLevel(logrus.ErrorLevel)
}

func printSyncReport(app *App, rep *rootfs.SyncReport) {
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
		for _, r := range rep.Refused {
			app.Log.Warnf("  %s", r)
		}
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

// Package install is the one orchestration of a protected install that every
// package manager shares: resolve in the sandbox with the network on and no package
// code, precheck the resolved lockfile, download with scripts off, build with the
// network off, then sync the manager's outputs back to the project — or leave the
// project exactly as it was. Managers only describe (managers.Plan); this package runs.
package install

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/phylum-box/phylum-box/container"
	"github.com/phylum-box/phylum-box/internal/behaviour"
	"github.com/phylum-box/phylum-box/internal/exitcode"
	"github.com/phylum-box/phylum-box/internal/sandbox"
	"github.com/phylum-box/phylum-box/managers"
	"github.com/phylum-box/phylum-box/precheck"
	"github.com/phylum-box/phylum-box/precheck/analysis"
	"github.com/phylum-box/phylum-box/rootfs"
)

// Options configure Install.
type Options struct {
	Plan *managers.Plan
	// Engine prechecks the resolved packages (its DB, Policy and optional Metadata).
	Engine *precheck.Engine
	// Limits bound the build step (and, with the timeout, every step).
	Limits container.Limits
	// Home and User are the caller's; Environ is the caller's environment.
	Home, User string
	Environ    []string
	// KeepEnv names more variables of Environ for every step (--keep-env,
	// keep_env), besides managers.BuiltinKeepEnv; credentials never pass (keepenv.go).
	KeepEnv []string
	Mode    rootfs.Mode
	// OwnerUID/OwnerGID own the synced files.
	OwnerUID, OwnerGID int
	Log                logrus.FieldLogger
	Stdin              io.Reader
	// Stdout and Stderr receive the package manager's own output.
	Stdout, Stderr io.Writer
}

// StepOutcome records one sandboxed step.
type StepOutcome struct {
	Phase    managers.Phase `json:"phase"`
	Args     []string       `json:"args"`
	ExitCode int            `json:"exit_code"`
	Stopped  string         `json:"stopped,omitempty"`
	Duration time.Duration  `json:"duration_ns"`
	Network  bool           `json:"network"`
	// Egress are the only destinations the step could reach (through phylum-box's
	// filtering proxy), EgressRefused what it tried to reach beyond them.
	Egress        []string `json:"egress,omitempty"`
	EgressRefused []string `json:"egress_refused,omitempty"`
}

// Outcome is what happened.
type Outcome struct {
	Manager    string             `json:"manager"`
	Subcommand string             `json:"subcommand"`
	Project    string             `json:"project"`
	Verdict    *precheck.Verdict  `json:"-"`
	Steps      []StepOutcome      `json:"steps"`
	Sync       *rootfs.SyncReport `json:"-"`
	Synced     int                `json:"synced"`
	Refused    []string           `json:"refused,omitempty"`
	// Code is the exit code per the contract; Reason says in one line why it is not 0.
	Code   int    `json:"exit_code"`
	Reason string `json:"reason,omitempty"`
	// FailedPackage names the package whose build script failed, when known.
	FailedPackage string `json:"failed_package,omitempty"`
	// OutputTail is the end of the failing step's output.
	OutputTail string        `json:"output_tail,omitempty"`
	Duration   time.Duration `json:"duration_ns"`
	// OnDiskOnly are the packages found installed that no lockfile entry names
	// ("name@version (path of its package.json)"), checked after the step that
	// installed them (installedtree.go).
	OnDiskOnly []string `json:"on_disk_only,omitempty"`
	// HostPaths are the host directories outside the system ones that the steps
	// saw read-only at their own path: the installation of a tool that lives under
	// $HOME (nvm's node, a pyenv/conda interpreter, rustup), never more of $HOME.
	HostPaths []string `json:"host_paths_read_only,omitempty"`
	// UpToDate says why no step ran: the project already was what the command
	// would make it (noop.go).
	UpToDate string `json:"up_to_date,omitempty"`
	// NotBlocking are the findings of a successful install that the policy let
	// through (findings.go), also printed at its end.
	NotBlocking []precheck.NotBlocking `json:"findings_not_blocking,omitempty"`
	// TriedHosts are the servers a failed step's scripts tried to reach ("host:port",
	// from what the proxy refused or the output named), for the advice (triedhosts.go).
	TriedHosts []string `json:"tried_hosts,omitempty"`
	// WrittenBack lists what a write-back run (npx, exec, dlx, create) synced to
	// the project, as printed: "A app/ (12 file(s))", "M src/x.ts" (writeback.go).
	WrittenBack []string `json:"written_back,omitempty"`
}

// Install runs the plan. The returned error is for failures of phylum-box itself;
// a blocked, failed or refused install is an Outcome with a non-zero Code.
func Install(ctx context.Context, o Options) (*Outcome, error) {
	start := time.Now()
	p := o.Plan
	out := &Outcome{Manager: p.Manager, Subcommand: p.Subcommand, Project: p.Project.Root}
	defer func() { out.Duration = time.Since(start) }()
	o.warnDroppedKeepEnv()
	if err := o.planOutsideDirs(); err != nil { // localdeps.go
		return nil, err
	}
	defer o.summarizeFindings(out) // findings.go
	if p.Scratch != nil {
		return installScratch(ctx, o, out)
	}
	if p.Steps.Run != nil {
		return nil, exitcode.With(exitcode.Usage, fmt.Errorf("%s %s: a run step outside a scratch plan is not supported", p.Manager, p.Subcommand))
	}
	if done, err := buildFirst(ctx, o, out); err != nil || done { // noop.go
		return out, err
	}
	if done, err := tryFirst(ctx, o, out); err != nil || done { // piponerun.go
		return out, err
	}
	return installIn(ctx, o, out, p.Project.Root, nil)
}

// installIn runs the five steps of o.Plan over the project at dir (the plan's Root,
// or a scratch project). only limits the sync back (nil: the plan's Outputs).
func installIn(ctx context.Context, o Options, out *Outcome, dir string, only []string) (*Outcome, error) {
	p := o.Plan
	log := o.Log
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, exitcode.With(exitcode.Usage, fmt.Errorf("project dir: %w", err))
	}
	if err := cachesOutsideProject(p, root, o.Home); err != nil { // cachedirs.go
		return nil, err
	}
	so := sandbox.Options{
		Project: root, Home: o.Home, User: o.User, Mode: o.Mode, Log: log,
		OnWait: func(pid int) { log.Infof("waiting for another phylum-box run on %s (pid %d)", root, pid) },
	}
	// The project's lock alone first: an up-to-date project gets the precheck of
	// its lockfile and no scratch at all (noop.go); any other opens the session
	// on the lock held.
	held, err := sandbox.Lock(ctx, so)
	if err != nil {
		return openFailed(ctx, p, out, err)
	}
	defer held.Release() // a no-op once the session took it over
	so.Held = held
	r := &runner{o: o, root: root, out: out, held: held, analysisCache: newAnalysisCache()}
	if done, err := r.beforeSteps(); done {
		return out, err
	}
	if why := r.upToDate(); why != "" {
		return r.precheckOnly(ctx, why)
	}
	sess, err := sandbox.Open(ctx, so)
	if err != nil {
		return openFailed(ctx, p, out, err)
	}
	defer func() {
		if err := sess.Close(); err != nil {
			log.Warnf("removing the scratch dir: %v", err)
		}
	}()
	r.sess, r.held = sess, nil
	cred, err := r.prepareCredentials()
	if err != nil {
		return nil, err
	}
	r.cred = cred
	defer func() { r.cred.cleanup() }()

	// 0. Evaluate: project code runs offline, without credentials, project read-only.
	if p.Steps.Evaluate != nil {
		if done, err := r.evaluate(ctx); err != nil || done {
			return out, err
		}
	}
	// 1. Resolve.
	var resolvedOut []precheck.Package
	if p.Steps.Resolve != nil {
		if done, err := r.blockSmuggledBeforeResolve(ctx); err != nil || done {
			return out, err
		}
		log.Infof("resolving: %s", stepLabel(p.Steps.Resolve))
		r.warm = r.startPrewarm(ctx)
		defer r.warm.stop()
		if p.Steps.ResolveOutput != nil { // the resolution is the step's output (resolveoutput.go)
			var done bool
			if resolvedOut, done, err = r.resolveCaptured(ctx); err != nil || done {
				return out, err
			}
		} else if done, err := r.quietStep(ctx, managers.PhaseResolve, p.Steps.Resolve); err != nil || done { // quiet.go
			return out, err
		}
	}
	// 1b. The project's resolution hooks, offline (hooks.go).
	if p.Steps.Hooks != nil {
		if done, err := r.hooks(ctx); err != nil || done {
			return out, err
		}
	}
	// 1c. What the resolve left, judged on the host (resolved.go).
	if p.Steps.Resolved != nil {
		if done, err := r.resolved(ctx); err != nil || done {
			return out, err
		}
	}
	// 2. Precheck.
	pkgs, err := r.resolution(ctx, resolvedOut)
	if err != nil {
		return nil, err
	}
	if len(pkgs) == 0 && p.Steps.Download != nil {
		log.Info("no packages to check")
	}
	log.Infof("checking %d package(s)", len(pkgs))
	r.warm.wait()
	if pf, ok := o.Engine.Metadata.(interface {
		Prefetch(context.Context, []precheck.Package)
	}); ok {
		pf.Prefetch(ctx, pkgs)
	}
	v, err := o.Engine.Evaluate(ctx, pkgs)
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
	checked := packageSet(pkgs)
	if why := r.scriptNetworkUnenforceable(pkgs); why != "" {
		out.Code, out.Reason = exitcode.Blocked, why+"; nothing was installed"
		return out, nil
	}

	// 3. Download.
	if p.Steps.Download != nil {
		log.Infof("downloading: %s", stepLabel(p.Steps.Download))
		if done, err := r.step(ctx, managers.PhaseDownload, p.Steps.Download); err != nil || done {
			return out, err
		}
		// The download must install exactly what was checked.
		after, err := r.resolution(ctx, pkgs)
		if err != nil {
			// The resolved lockfile was there before the download: a step that
			// removes or mangles it is not something to precheck again.
			out.Code = exitcode.Sandbox
			out.Reason = fmt.Sprintf("the download step left no readable lockfile (%v); nothing was synced back", err)
			return out, nil
		}
		if extra := unchecked(after, checked); len(extra) > 0 {
			out.Code = exitcode.Sandbox
			out.Reason = fmt.Sprintf("the download changed the resolution: %s was not prechecked", strings.Join(extra, ", "))
			return out, nil
		}
		if done, err := r.checkInstalledTree(ctx, managers.PhaseDownload, checked); err != nil || done {
			return out, err
		}
		// What the download installed, read before any of it runs (detect.go).
		if done, err := r.analyzeInstalled(ctx, r.downloaded, pkgs); err != nil || done {
			return out, err
		}
	} else if installsInResolve(p) { // the resolve step installed too (fetchinresolve.go)
		if done, err := r.fetchedInResolve(ctx, checked, pkgs); err != nil || done {
			return out, err
		}
	}
	r.noteUnpreparedGit(pkgs) // gitprepare.go
	// 4. Build.
	build, buildPkgs, limited := r.changedBuild(p.Steps.Build, pkgs) // noop.go
	if build != nil && p.Steps.BuildNeeded != nil && !limited {
		// Most trees have nothing to build; not starting a container for them is
		// the biggest single saving of a warm install.
		if need, why := p.Steps.BuildNeeded(r.sess.Scratch().ReadFile); !need {
			log.Infof("nothing to build: %s", why)
			build = nil
		} else {
			log.Debugf("building: %s", why)
		}
	}
	if build != nil {
		steps, notes := r.buildSteps(build, buildPkgs)
		for _, n := range notes {
			log.Info(n)
		}
		if len(steps) > 0 {
			sealed, err := r.hashSealed()
			if err != nil {
				return nil, err
			}
			for _, s := range steps {
				if len(s.Egress) > 0 {
					log.Infof("building in the sandbox, reaching only %s (the policy's script_network): %s", strings.Join(s.Egress, ", "), strings.Join(s.Args, " "))
				} else {
					log.Infof("building in the sandbox (no network): %s", stepLabel(s))
				}
				if done, err := r.buildStep(ctx, s); err != nil || done { // optionalfail.go
					return out, err
				}
			}
			changed, err := r.sealedChanged(sealed)
			if err != nil {
				return nil, err
			}
			if len(changed) > 0 {
				out.Code = exitcode.Sandbox
				out.Reason = "the build step changed " + strings.Join(changed, ", ") + ", which only the resolve and download steps may write"
				return out, nil
			}
			if done, err := r.checkInstalledTree(ctx, managers.PhaseBuild, checked); err != nil || done {
				return out, err
			}
		}
	}
	// 4b. The project's own lifecycle scripts (rootscripts.go).
	if done, err := r.projectScripts(ctx, checked); err != nil || done {
		return out, err
	}
	if p.Steps.Notices != nil {
		for _, n := range p.Steps.Notices(r.sess.Scratch().ReadFile) {
			log.Warn(rootfs.Printable(n))
		}
	}
	// 5. Sync back.
	linksOut := r.outsideLinkDirs() // localdeps.go
	var validate func(allowed, all []rootfs.Change) []rootfs.RefusedChange
	if only == nil { // the user's project; a scratch plan's temporary project is ours
		validate = r.projectValidate(r.linkValidator())
		only = make([]string, 0, len(p.Project.Outputs))
		for _, op := range p.Project.Outputs {
			only = append(only, strings.TrimSuffix(op, "/"))
		}
		only = r.projectOnly(only)
	}
	rep, err := sess.SyncBack(rootfs.SyncOptions{Only: only, OwnerUID: o.OwnerUID, OwnerGID: o.OwnerGID, Validate: validate, Unchanged: p.Project.Bookkeeping, LinksOut: linksOut})
	out.Sync = rep
	r.projectGitAdvice(rep)
	if rep != nil {
		out.Synced = len(rep.Applied)
		for _, rf := range rep.Refused {
			out.Refused = append(out.Refused, rf.String())
		}
	}
	if err != nil {
		if errors.Is(err, rootfs.ErrRefused) {
			out.Code, out.Reason = exitcode.Sandbox, err.Error()+"; nothing was synced back"
			return out, nil
		}
		return nil, fmt.Errorf("sync back: %w", err)
	}
	if len(out.Refused) > 0 {
		out.Code = exitcode.Sandbox
		out.Reason = fmt.Sprintf("%d write(s) outside %s's outputs were refused", len(out.Refused), p.Manager)
	}
	r.freshen(rep) // noop.go
	return out, nil
}

type runner struct {
	o    Options
	sess *sandbox.Session
	// held is the project's lock before the session is open (nil once it is): what
	// the nothing-to-do check reads is read under it (noop.go).
	held *rootfs.ProjectLock
	root string
	out  *Outcome
	cred *credentials
	// downloaded are the packages the download step installed (added or changed),
	// for the static analysis (installedtree.go, detect.go).
	downloaded []precheck.Package
	// analysisCache keeps the analysis's results per tarball (analysiscache.go).
	analysisCache *analysisCache
	// stdout, when set, takes the step's standard output instead of Options.Stdout.
	stdout io.Writer
	// heldResolve is the output of a resolve step that installed, held until what
	// it installed is checked (fetchinresolve.go).
	heldResolve *tail
	// only, when set, limits the build to these packages (noop.go).
	only []string
	// fresh are the hashes of the plan's Freshen files after the download (noop.go).
	fresh map[string][32]byte
	// project is what the project's own scripts wrote (rootscripts.go).
	project *projectRun
	// shared are the cache dirs already given to the container's root (sharecache.go).
	shared map[string]bool
	// committed are the packages of the project's lockfile before the resolve step,
	// and warm the loads the prechecks and the analysis make after it (prewarm.go).
	committed []precheck.Package
	warm      *prewarm
	// lists are the typosquatting lists, read once (detect.go).
	lists *analysis.TopLists
	// nodeCompileWarm: pnpm's code cache was looked at, and made if need be
	// (nodecc.go).
	nodeCompileWarm bool
}

// step runs one sandboxed step. done is true when the install must stop (the
// outcome says why).
func (r *runner) step(ctx context.Context, phase managers.Phase, s *managers.Step) (done bool, err error) {
	p := r.o.Plan
	network, args := s.Network, s.Args
	// run is what runs; s is what the report and the log show.
	run := s
	if sw := pnpmNoSwitch(p.Manager, s.Args); sw != nil { // pnpmswitch.go
		c := *s
		c.Args = sw
		run, args = &c, sw
	}
	var eg *egressRun
	if len(s.Egress) > 0 {
		// Package code may run in this step: no network of its own, only the
		// filtering proxy to the step's allowed servers.
		network = false
		var err error
		if eg, err = r.startEgress(run); err != nil {
			return true, fmt.Errorf("%s step: egress proxy: %w", phase, err)
		}
		defer eg.proxy.Close()
		args = eg.args
	}
	// Trust settings reach every step (a TLS-intercepting proxy's CA); proxy URLs,
	// which may hold credentials, only the steps that have the network.
	keep := managers.PassEnv
	if network {
		keep = append(slices.Clone(keep), managers.NetworkEnv...)
	}
	env := sandbox.ScrubEnv(r.o.Environ, keep, r.o.Home, r.o.User)
	var caches []rootfs.Cache
	for i, c := range p.Sandbox.Caches {
		mounted, writable := c.MountedIn(phase)
		if !mounted {
			continue
		}
		if err := makeCacheDir(c.Path); err != nil { // sharecache.go
			return false, fmt.Errorf("cache %s: %w", c.Path, err)
		}
		if err := r.shareCache(c.Path); err != nil {
			return false, err
		}
		caches = append(caches, rootfs.Cache{Name: fmt.Sprintf("cache%d", i), HostPath: c.Path, Target: c.Path, ReadOnly: !writable,
			Throwaway: c.ThrowawayIn(phase)})
		env = append(env, c.Env...)
	}
	files := r.cred.binds(s.Credentials)
	if s.Credentials {
		env = append(env, r.cred.env...)
	}
	env = append(env, s.Env...)
	if !network && !s.Credentials {
		// keepenv.go: --keep-env, keep_env and the built-in switches are for the
		// install scripts; never a step with the network (an egress proxy counts) or
		// credentials, where LD_LIBRARY_PATH=:/x or NODE_OPTIONS=--require … would
		// load project files into the manager or pip's python.
		env = r.o.withKeptEnv(env)
	}
	if network || eg != nil || s.Credentials {
		env = trustedPATH(env, r.root, p.Project.Root) // steppath.go: no project bin dir on PATH
	}
	if cc := r.nodeCompileFor(ctx, phase, s, env, eg != nil); cc != nil { // nodecc.go: pnpm's code cache
		args, caches = cc.args(args), cc.mount(caches)
	}
	logs := r.npmLogsFor(phase, s) // npmlog.go: npm's complete log, kept on the host after a failure
	caches, env = logs.mount(caches, env)
	lim := container.Limits{Timeout: r.o.Limits.Timeout}
	if phase == managers.PhaseBuild || phase == managers.PhaseRun {
		lim = r.o.Limits
	} else {
		// Resolve and download run only the package manager itself, but it can
		// still be made to eat memory by a hostile manifest.
		lim.Memory, lim.Pids, lim.Disk = r.o.Limits.Memory, r.o.Limits.Pids, r.o.Limits.Disk
	}
	tail := newTail(64 << 10)
	stdout, stderr := io.MultiWriter(r.o.Stdout, tail), io.MultiWriter(r.o.Stderr, tail)
	if r.stdout != nil {
		stdout = r.stdout
	}
	ex := sandbox.Exec{
		Args: args, Env: env, Cwd: stepDir(s, filepath.Join(r.root, p.Project.Cwd)), Network: network,
		Limits: lim, Caches: caches, Files: files, ReadOnly: r.hostPaths(),
		Stdin: r.o.Stdin, Stdout: stdout, Stderr: stderr,
	}
	if eg != nil {
		ex.Dirs, ex.Programs = eg.dirs, eg.programs
	}
	if phase == managers.PhaseEvaluate {
		// The project itself, read-only over the scratch view: what project code
		// writes while it is evaluated cannot reach a later step.
		ex.Dirs = append(ex.Dirs, sandbox.DirBind{Source: r.root, Target: r.root})
	}
	if s.Name != "" {
		r.o.Log.Debugf("%s step runs: %s", phase, strings.Join(s.Args, " "))
	}
	var mon *stepMonitor
	if r.monitored(phase, s) { // monitor.go
		mon = r.startMonitor(phase, &ex)
	}
	res, err := r.sess.Run(ctx, ex)
	var observed []behaviour.Observation
	if mon != nil {
		observed = mon.stop()
		if err == nil && !res.Monitored {
			r.o.Log.Warnf("behaviour monitor off for the %s step: %s", phase, res.MonitorNote)
		}
	}
	keptLog := ""
	if err == nil && res.Stopped == container.StopNone && res.ExitCode != 0 {
		keptLog = logs.keep(tail.String())
	} else {
		logs.remove()
	}
	if err != nil {
		return true, fmt.Errorf("%s step: %w", phase, err)
	}
	so := StepOutcome{Phase: phase, Args: s.Args, ExitCode: res.ExitCode, Stopped: string(res.Stopped), Duration: res.Duration, Network: network}
	var refusedNet string
	if eg != nil {
		so.Egress = slices.Clone(s.Egress)
		so.EgressRefused = eg.proxy.Refused()
		if len(so.EgressRefused) > 0 {
			refusedNet = "the sandbox refused network access to " + rootfs.Printable(strings.Join(so.EgressRefused, ", "))
			r.o.Log.Warnf("%s step: %s (only %s are reachable while package code may run)", phase, refusedNet, strings.Join(s.Egress, ", "))
		}
	}
	r.out.Steps = append(r.out.Steps, so)
	if len(observed) > 0 {
		// What package code tried decides first: a quiet failure or a build that
		// went on after it is blocked all the same.
		if done, err := r.judgeBehaviour(ctx, phase, s, observed); err != nil || done {
			return true, err
		}
	}
	switch {
	case res.Stopped != container.StopNone:
		r.out.Code = exitcode.Sandbox
		r.out.Reason = fmt.Sprintf("%s step stopped: %s; nothing was synced back", phase, res.StopMessage(lim))
	case res.ExitCode != 0:
		r.out.Code = res.ExitCode
		prog := stepProgram(s)
		if prog == "sh" { // a manager started through phylum-box's shell line: name the manager
			prog = p.Manager
		}
		r.out.Reason = fmt.Sprintf("%s step failed (%s exited with status %d); nothing was synced back", phase, prog, res.ExitCode)
		if refusedNet != "" {
			r.out.Reason += "; " + refusedNet
		}
		r.out.OutputTail = tail.lastLines(20)
		r.out.TriedHosts = triedHosts(so.EgressRefused, tail.String()) // triedhosts.go
		if keptLog != "" {
			r.out.Reason += "; " + logNote(keptLog)
		}
		if phase == managers.PhaseBuild {
			r.out.FailedPackage = rootfs.Printable(failedPackage(tail.String()))
			if note := outsideWriteNote(tail.String(), r.outsideLinkDirs()); note != "" { // localdeps.go
				r.out.Reason += "; " + note
			}
		}
	default:
		return false, nil
	}
	return true, nil
}

package behaviour

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/phylum-box/phylum-box/container"
)

// Processes that outlive their script without setsid (`nohup cmd &`, a double
// fork, `disown`): the sandbox kills them with the step, and the monitor reports
// them. Two moments are watched, both while the process that ends is still
// there (the listener holds its exit_group):
//
//   - a package's script ends (the process the package manager started for it):
//     the processes of that package still running are noted, and one that then
//     makes a watched call (runs a program, tries the network) is reported: it
//     went on after its script;
//   - the step's first process ends, which kills every other: each process
//     still running after the listener's grace (esbuild's service process and
//     the like end by themselves when their parent's pipe closes) is reported.
//
// The package manager's own processes are not reported; a process no package
// can be told for is, under the step.

// scriptRoot is a process the package manager started to run a package's code.
type scriptRoot struct {
	pkg Package
	cmd string
}

// pendingSurvivor is a process still running when its package's script ended.
type pendingSurvivor struct {
	start uint64
	root  scriptRoot
}

// compilers run a crate's code only through proc-macros, and cargo runs many
// of them at once for one crate: they are not scripts whose end is watched.
var compilers = map[string]bool{"rustc": true, "rustdoc": true, "clippy-driver": true}

// noteRoot remembers pid as a script root when its exec starts pkg's code from
// a process that was not running it: the manager, or a fork of it not yet
// exec'd (a script's own orphan is never one: its command line is the
// script's). Call before r.seen[pid] is set for this exec.
func (r *Recorder) noteRoot(ev container.SyscallEvent, pkg Package, cmd string) {
	if pkg.IsZero() || len(ev.Argv) == 0 || compilers[path.Base(ev.Argv[0])] {
		return
	}
	if _, ok := r.roots[ev.Pid]; ok {
		return // a root exec'ing again (sh -c "exec node x.js")
	}
	if c := r.seen[ev.Pid]; c != nil {
		if c.pkg.Name != pkg.Name {
			r.roots[ev.Pid] = scriptRoot{pkg, cmd}
		}
		return
	}
	parent := r.procs(ev.Pid).ppid()
	a := r.seen[parent]
	if a == nil || a.pkg.Name == pkg.Name {
		return
	}
	if slices.Equal(r.procs(ev.Pid).cmdline(), r.procs(parent).cmdline()) {
		r.roots[ev.Pid] = scriptRoot{pkg, cmd}
	}
}

// onExit handles a process's exit_group, reported while it still runs.
func (r *Recorder) onExit(ev container.SyscallEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.pending, ev.Pid)
	root, isRoot := r.roots[ev.Pid]
	delete(r.roots, ev.Pid)
	if (!isRoot && !ev.Init) || ev.Running == nil {
		return
	}
	running := ev.Running()
	if ev.Init {
		r.stepEnds(ev.Pid, running)
		return
	}
	ppid := map[int]int{}
	for _, q := range running {
		ppid[q.Pid] = q.PPid
	}
	for _, q := range running {
		if r.underLiveRoot(q.Pid, ppid) {
			continue // another script's process (cargo runs several at once)
		}
		if pkg, _ := r.whose(q); pkg.Name == root.pkg.Name {
			r.pending[q.Pid] = pendingSurvivor{start: q.StartTime, root: root}
		}
	}
}

// underLiveRoot reports whether pid or one of its parents is a script root
// still running.
func (r *Recorder) underLiveRoot(pid int, ppid map[int]int) bool {
	for depth := 0; depth < 64 && pid > 1; depth++ {
		if _, ok := r.roots[pid]; ok {
			return true
		}
		next, ok := ppid[pid]
		if !ok {
			return false
		}
		pid = next
	}
	return false
}

// whose is the package a running process belongs to (the one it was first seen
// under, else its own environment and directory), and whether it is the
// package manager's own.
func (r *Recorder) whose(q container.Process) (Package, bool) {
	if lin := r.lineage(q.Pid); !lin.IsZero() {
		return lin, false
	}
	if pkg := Attribute(r.eco, q.Env, r.belowProject(q.Cwd)); !pkg.IsZero() {
		return pkg, false
	}
	if s := r.seen[q.Pid]; s != nil {
		return Package{}, s.manager
	}
	return Package{}, isManager(r.eco, q.Argv)
}

// wentOn reports a noted survivor's watched call: it outlived its script and
// did something after.
func (r *Recorder) wentOn(ev container.SyscallEvent, p *proc) {
	ps, ok := r.pending[ev.Pid]
	if !ok {
		return
	}
	delete(r.pending, ev.Pid)
	if !container.StillRunning(ev.Pid, ps.start) {
		return // another process under a reused pid
	}
	what := ev.Syscall
	if ev.Addr != "" {
		what += " " + ev.Addr
	} else if len(ev.Argv) > 0 {
		what += " " + shortArgv(ev.Argv)
	}
	e := fmt.Sprintf("pid %d %s: still running after its script (%s) ended, then %s", ev.Pid, p.cmd, clip(ps.root.cmd, 80), clip(what, 120))
	r.record(recorded{pid: ev.Pid, pkg: ps.root.pkg, evidence: e, h: hit{rule: RuleDetach, severity: Medium, outlived: true, evidence: e,
		summary: "left a process running after its install script ended (nohup, a double fork or disown, without setsid), and it went on (" + clip(what, 80) + ")"}})
}

// stepEnds reports the processes still running when the step's first process
// ends: the sandbox kills them now.
func (r *Recorder) stepEnds(init int, running []container.Process) {
	var left []container.Process
	for _, q := range running {
		pkg, manager := r.whose(q)
		if pkg.IsZero() && manager {
			continue
		}
		if s := r.seen[q.Pid]; pkg.IsZero() && s != nil && s.startedBy == init {
			// The init's own helper (a build tool's service process that
			// waits for its parent's pipe to close, which happens only once
			// the init has ended). A script's orphan was forked by the
			// script, even when it execs after being reparented to the init.
			continue
		}
		left = append(left, q)
	}
	for _, q := range left {
		pkg, _ := r.whose(q)
		cmd := shortArgv(q.Argv)
		if cmd == "" {
			cmd = path.Base(q.Exe)
		}
		how := "still running when the step ended (the sandbox killed it)"
		if ps, ok := r.pending[q.Pid]; ok && ps.start == q.StartTime {
			how = "still running after its script (" + clip(ps.root.cmd, 80) + ") ended, until the step ended (the sandbox killed it)"
		}
		e := fmt.Sprintf("pid %d %s: %s", q.Pid, cmd, how)
		r.record(recorded{pid: q.Pid, pkg: pkg, evidence: e, h: hit{rule: RuleDetach, severity: Medium, outlived: true, evidence: e,
			summary: "left a process running after its install script ended (nohup, a double fork or disown, without setsid): it would have outlived the install"}})
	}
}

// raiseOutlived makes a survivor's observation high when the same owner also
// tried the network, read or passed on a secret, or fetched code (high): a
// payload meant to go on after the install.
func raiseOutlived(out []Observation, outlived map[int]bool) {
	strong := map[string][]string{}
	for _, o := range out {
		switch o.Rule {
		case RuleNetwork, RuleSecretRead, RuleCanary, RuleDownloadExec, RulePersistence:
			if o.Severity == High && !o.Manager {
				strong[o.Owner()] = append(strong[o.Owner()], o.Rule)
			}
		}
	}
	for i := range out {
		if !outlived[i] || out[i].Severity == High {
			continue
		}
		if rules := strong[out[i].Owner()]; len(rules) > 0 {
			out[i].Severity = High
			out[i].Summary += "; with " + strings.Join(rules, ", ") + " from the same package, a payload meant to go on after the install"
		}
	}
}

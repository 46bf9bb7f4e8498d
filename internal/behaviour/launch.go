package behaviour

import (
	"fmt"
	"maps"
	"slices"

	"github.com/phylum-box/phylum-box/container"
)

// The package manager's own way of starting a script, told from a package's
// detaching process.
//
// yarn 1 starts every lifecycle script detached (child_process.spawn with
// detached: true): libuv forks yarn, and the child calls setsid() before it
// chdirs and execs `sh -c SCRIPT` with the script's environment. The monitor
// sees the setsid from a process that is still yarn — its command line is its
// parent's, the parent runs yarn, and no package can be told for either — and
// right after, the same pid's exec of the package's script. Attributed after the
// fact by that exec (Recorder.settle), the setsid used to read as the package
// detaching: a warning for every package with an install script.
//
// Such a setsid is held (launches); the exec that follows drops it. A setsid by
// the manager's process that execs nothing afterwards is reported as before, as
// the package manager's. A package's own setsid — `setsid cmd`, a spawn with
// detached: true from its script, a double fork that detaches — is made by a
// process of the package (its script's lineage, environment or directory), never
// by a fork of the manager that has not run anything yet, and still fires.

// holdLaunch reports whether ev, a setsid, is the manager starting a script, to
// be confirmed by the pid's next exec; p is who made it (Recorder.identify).
func (r *Recorder) holdLaunch(ev container.SyscallEvent, p *proc) bool {
	if ev.Syscall != "setsid" || ev.Refused || !p.pkg.IsZero() || r.seen[ev.Pid] != nil {
		return false
	}
	// A fork of the manager's process that has not run anything yet: its
	// command line is its parent's, the manager's, and the parent runs no
	// package's code. (The parent is not always marked as the manager: the
	// build step starts yarn through phylum-box's own setpriv and sh wrapper.)
	parent := r.procs(ev.Pid).ppid()
	a := r.seen[parent]
	argv := r.procs(ev.Pid).cmdline()
	if a == nil || !a.pkg.IsZero() || !r.lineage(parent).IsZero() || !isManager(r.eco, argv) || !slices.Equal(argv, r.procs(parent).cmdline()) {
		return false
	}
	if r.launches == nil {
		r.launches = map[int]recorded{}
	}
	if _, ok := r.launches[ev.Pid]; ok {
		return true
	}
	for _, h := range syscallHits(ev) {
		// pid 0: a later event of this pid never makes it a package's.
		r.launches[ev.Pid] = recorded{manager: true, h: h, evidence: fmt.Sprintf("pid %d %s: %s", ev.Pid, p.cmd, h.evidence)}
	}
	return true
}

// launched drops the held setsid of pid, which now execs: the script it was
// forked to start.
func (r *Recorder) launched(pid int) {
	delete(r.launches, pid)
}

// unlaunched are the held setsids no exec followed: the manager's own, reported
// as such (never attributed to a package by a later exec of that pid).
func (r *Recorder) unlaunched() []recorded {
	var out []recorded
	for _, pid := range slices.Sorted(maps.Keys(r.launches)) {
		out = append(out, r.launches[pid])
	}
	return out
}

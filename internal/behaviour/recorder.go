package behaviour

import (
	"fmt"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/phylum-box/phylum-box/container"
)

// Observation is one rule that fired for one package (or for the manager, or for a
// process no package could be told for), with what it rests on.
type Observation struct {
	// Package is whose code did it; zero when not attributable (see Manager and
	// Candidates).
	Package Package
	// Candidates are the packages whose scripts were running when a decoy was
	// touched (inotify does not say which process did it) and more than one was.
	Candidates []Package
	// Manager is set when the package manager's own process did it (npm's, pip's,
	// cargo's own command line, with no package's environment or directory):
	// reported, never a reason to block.
	Manager  bool
	Rule     string
	Severity string
	// ViaProxy is set when every attempt of a network observation went to the
	// step's egress proxy (the way out script_network gives, in a build step).
	ViaProxy bool
	// Summary is one line a developer can act on, without the package's name.
	Summary string
	// Evidence is what was seen, first first, at most maxEvidence lines ("pid 42
	// node install.js: connect 203.0.113.5:443", "opened ~/.ssh/id_rsa").
	Evidence []string
}

// Owner names who the observation is about: the package, the candidates, "the
// package manager" or "an unidentified process".
func (o Observation) Owner() string {
	switch {
	case !o.Package.IsZero():
		return o.Package.String()
	case len(o.Candidates) > 0:
		var n []string
		for _, c := range o.Candidates {
			n = append(n, c.String())
		}
		return "one of " + strings.Join(n, ", ")
	case o.Manager:
		return "the package manager"
	}
	return "an unidentified process"
}

const maxEvidence = 5

// Recorder gathers one install's observations: the seccomp listener's events
// through Monitor and the decoys' touches. Create it before the steps that run
// package code, pass Monitor() in their container.Spec, Close it after the last,
// then read Findings.
type Recorder struct {
	eco string
	// project is the project's path in the container (SetProject): its own
	// path segments never name a package (a project at ~/src/api-2 is not
	// api@2).
	project string
	d       *Decoys
	w       *Watch
	self    int
	procs   func(pid int) procReader

	mu   sync.Mutex
	seen map[int]*proc // host pid → what its last exec said (live ones)
	// best is the best attribution each pid got from any of its events: an
	// exec's environment is read before the exec, so a script's first exec may
	// only tell the package by its directory, its children tell the rest.
	best map[int]Package
	// versions are the versions seen per package name (ecosystem, name).
	versions map[[2]string]string
	// proxies are the egress proxy's loopback addresses, learnt from the
	// proxy variables of the step's processes.
	proxies map[string]bool
	ran     []Package // packages whose code was seen running, first first
	// hits are the rules that fired, owners resolved in Findings.
	hits    []recorded
	hitSeen map[string]bool
	// hitKinds are the rule×severity×package combinations kept.
	hitKinds map[string]bool
	dropped  int
	// roots are the running processes the manager started for a package's
	// code; pending the processes still running when their root ended
	// (survivors.go).
	roots   map[int]scriptRoot
	pending map[int]pendingSurvivor
	// launches are the manager's setsids waiting for the exec of the script
	// they start (launch.go).
	launches map[int]recorded
}

// recorded is one rule's hit as seen; its owner is settled in Findings.
type recorded struct {
	pid      int // 0 for a decoy touch, whose owner is fixed when seen
	pkg      Package
	cands    []Package
	manager  bool
	h        hit
	evidence string
}

// maxHits bounds what one install keeps (a script looping over connects to
// ever new ports must not grow phylum-box without end).
const maxHits = 4096

// proc is what is known of one process.
type proc struct {
	pkg     Package
	manager bool
	cmd     string
	fetcher string
	// startedBy is, for a process no package is told for, the process it was
	// forked from, when it exec'd straight from that fork (its command line
	// was still its parent's): an orphan reparented before its exec is not.
	startedBy int
}

// NewRecorder starts recording for an install of ecosystem (precheck.NPM, …). d may
// be nil (no decoys this run); with decoys, their watch starts now.
func NewRecorder(ecosystem string, d *Decoys) (*Recorder, error) {
	r := &Recorder{eco: ecosystem, d: d, self: os.Getpid(), procs: hostProc,
		seen: map[int]*proc{}, best: map[int]Package{}, versions: map[[2]string]string{},
		proxies: map[string]bool{}, hitSeen: map[string]bool{}, hitKinds: map[string]bool{},
		roots: map[int]scriptRoot{}, pending: map[int]pendingSurvivor{}}
	if d != nil {
		if d.Ecosystem == "" {
			d.Ecosystem = ecosystem
		}
		w, err := d.Watch(r.onTouch)
		if err != nil {
			return nil, err
		}
		r.w = w
	}
	return r, nil
}

// Monitor is the hook to set as container.Spec.Monitor of each step that runs
// package code.
func (r *Recorder) Monitor() *container.Monitor {
	return &container.Monitor{OnEvent: r.OnEvent, EnvKeys: EnvKeys}
}

// Close stops the decoy watch after reporting what it still had queued. Call it
// when no container of the install runs any more.
func (r *Recorder) Close() {
	if r.w != nil {
		r.w.Close()
	}
}

// OnEvent records one seccomp event (container.Monitor.OnEvent).
func (r *Recorder) OnEvent(ev container.SyscallEvent) {
	if r.w != nil && !ev.Refused && (ev.Syscall == "exit_group" || ev.Syscall == "execve" || ev.Syscall == "execveat") {
		// The touches made before this process ends or runs a new program
		// belong to what runs now (watch.go: Drain); before r.mu, which
		// onTouch takes.
		r.w.Drain()
	}
	if ev.Syscall == "exit_group" {
		r.onExit(ev)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.identify(ev)
	var hits []hit
	switch ev.Syscall {
	case "execve", "execveat":
		for _, a := range append(proxyAddrs(ev.Env), proxyAddrs(ev.ExecEnv)...) {
			r.proxies[a] = true
		}
		if !ev.Refused {
			r.launched(ev.Pid) // launch.go
			// The environment read is the one before this exec: a forked
			// child's is its parent's, which it tells about.
			pp := r.procs(ev.Pid).ppid()
			if r.seen[pp] != nil {
				r.upgrade(pp, Attribute(r.eco, ev.Env, ""))
			}
			if p.pkg.IsZero() && pp > 1 && slices.Equal(r.procs(ev.Pid).cmdline(), r.procs(pp).cmdline()) {
				p.startedBy = pp
			}
			r.noteRoot(ev, p.pkg, p.cmd)
			r.seen[ev.Pid] = p
			r.upgrade(ev.Pid, p.pkg)
			if !p.pkg.IsZero() && (len(r.ran) == 0 || r.ran[len(r.ran)-1] != p.pkg) {
				r.ran = append(r.ran, p.pkg)
			}
		}
		canary := ""
		if r.d != nil {
			canary = r.d.Canary
		}
		hits = execHits(ev, canary)
	case "connect", "sendto", "sendmsg", "sendmmsg":
		if ev.Refused {
			hits = syscallHits(ev)
		} else {
			hits = netHits(ev, p.pkg, p.fetcher, r.proxies)
			if p.manager && r.proxies[canonAddr(ev.Addr)] {
				hits = nil // the manager using the proxy it was given
			}
		}
	default:
		if !r.holdLaunch(ev, p) { // launch.go
			hits = syscallHits(ev)
		}
	}
	if !ev.Refused && ev.Syscall != "execve" && ev.Syscall != "execveat" {
		r.upgrade(ev.Pid, p.pkg)
	}
	if len(r.pending) > 0 {
		r.wentOn(ev, p)
	}
	for _, h := range hits {
		who := fmt.Sprintf("pid %d %s: ", ev.Pid, p.cmd)
		if strings.HasPrefix(h.evidence, "exec ") {
			who = fmt.Sprintf("pid %d: ", ev.Pid) // the command is the evidence
		}
		r.record(recorded{pid: ev.Pid, pkg: p.pkg, manager: p.manager, h: h, evidence: who + h.evidence})
	}
}

// identify tells whose process made ev: its own lifecycle environment or
// directory, else what its exec or its nearest known parent said. A script that
// clears its environment is still its parent's child.
func (r *Recorder) identify(ev container.SyscallEvent) *proc {
	exec := ev.Syscall == "execve" || ev.Syscall == "execveat"
	var argv []string
	p := &proc{}
	if exec {
		argv = ev.Argv
		p.cmd = shortArgv(argv)
	} else if known := r.seen[ev.Pid]; known != nil {
		p.cmd = known.cmd
		p.fetcher = known.fetcher
		p.manager = known.manager
	} else {
		argv = r.procs(ev.Pid).cmdline()
		p.cmd = shortArgv(argv)
	}
	if p.cmd == "" {
		p.cmd = path.Base(ev.Exe)
	}
	if f := fetcherIn(argv); f != "" {
		p.fetcher = f
	}
	p.pkg = Attribute(r.eco, ev.Env, r.belowProject(ev.Cwd))
	if exec {
		// The new program's environment first (npm sets a script's lifecycle
		// variables there), then the caller's (a script's `env -i curl`).
		if own := Attribute(r.eco, ev.ExecEnv, ""); !own.IsZero() && !better(own, p.pkg) {
			p.pkg = own
		}
	}
	// A process first seen running a package's code (or started by one) keeps
	// that package: its own environment may add the version, never another
	// name (a script setting npm_package_name=prisma, or the name of a package
	// the policy ignores a rule for).
	if lin := r.lineage(ev.Pid); !lin.IsZero() && lin.Name != p.pkg.Name {
		p.pkg = lin
	}
	// The nearest parent with a package (and a fetcher, for a download a
	// fetcher's child makes).
	pid := ev.Pid
	for depth := 0; depth < 64 && (p.pkg.IsZero() || p.fetcher == ""); depth++ {
		pid = r.procs(pid).ppid()
		if pid <= 1 || pid == r.self {
			break
		}
		if a := r.seen[pid]; a != nil {
			if p.pkg.IsZero() {
				p.pkg = a.pkg
			}
			if p.fetcher == "" && a.pkg.Name == p.pkg.Name {
				p.fetcher = a.fetcher
			}
		}
	}
	if p.pkg.IsZero() && argv != nil {
		// Only the manager itself, or a fork of it not yet exec'd, may be the
		// manager: a script's orphan reparented to the step's first process is
		// not, whatever its command line looks like.
		p.manager = isManager(r.eco, argv) && r.trustedCaller(ev.Pid)
	}
	if !p.pkg.IsZero() {
		p.manager = false
	}
	return p
}

// onTouch records a decoy touch. inotify names no process: it goes to the package
// whose script is running now, or to each of those running, or — when none is
// any more — to each package whose code ran so far.
func (r *Recorder) onTouch(t DecoyTouch) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var live []Package
	var who []string
	for pid, p := range r.seen {
		if p.pkg.IsZero() {
			continue
		}
		if !r.procs(pid).alive() {
			delete(r.seen, pid) // gone: r.ran remembers its package, and its pid may be reused
			continue
		}
		if !containsPkg(live, p.pkg) {
			live = append(live, p.pkg)
		}
		who = append(who, fmt.Sprintf("pid %d %s", pid, p.cmd))
	}
	sort.Strings(who)
	h := touchHit(t)
	ev := h.evidence
	if len(who) > 0 {
		ev += " (while " + clip(strings.Join(who, ", "), 200) + " ran)"
	}
	switch {
	case len(live) == 1:
		r.record(recorded{pkg: live[0], h: h, evidence: ev})
	case len(live) > 1:
		r.record(recorded{cands: live, h: h, evidence: ev})
	case len(r.ran) > 0:
		var c []Package
		for _, p := range r.ran {
			if !containsPkg(c, p) {
				c = append(c, p)
			}
		}
		if len(c) == 1 {
			r.record(recorded{pkg: c[0], h: h, evidence: ev})
		} else {
			r.record(recorded{cands: c, h: h, evidence: ev})
		}
	default:
		r.record(recorded{h: h, evidence: ev})
	}
}

// upgrade keeps pkg as pid's attribution when it says more than what pid had,
// and learns its version.
func (r *Recorder) upgrade(pid int, pkg Package) {
	if pkg.IsZero() {
		return
	}
	if pkg.Version != "" {
		r.versions[[2]string{pkg.Ecosystem, pkg.Name}] = pkg.Version
	}
	if cur := r.best[pid]; better(cur, pkg) {
		r.best[pid] = pkg
		if s := r.seen[pid]; s != nil && better(s.pkg, pkg) {
			s.pkg = pkg
		}
	}
}

// better reports whether cand says more than cur: a package where there was
// none, or the same package with its version.
func better(cur, cand Package) bool {
	if cand.IsZero() {
		return false
	}
	if cur.IsZero() {
		return true
	}
	return cur.Name == cand.Name && cur.Ecosystem == cand.Ecosystem && cur.Version == "" && cand.Version != ""
}

// record keeps one hit, once per pid, rule and evidence line.
func (r *Recorder) record(e recorded) {
	key := fmt.Sprintf("%d\x00%s\x00%s", e.pid, e.h.rule, e.evidence)
	if r.hitSeen[key] {
		return
	}
	// Past the cap a hit is still kept when it is the first of its rule,
	// severity and package: a flood of one kind must not hide another.
	kind := e.h.rule + "\x00" + e.h.severity + "\x00" + e.pkg.String() + "\x00" + fmt.Sprint(e.manager)
	if len(r.hits) >= maxHits && (r.hitKinds[kind] || len(r.hits) >= 4*maxHits) {
		r.dropped++
		return
	}
	r.hitKinds[kind] = true
	r.hitSeen[key] = true
	r.hits = append(r.hits, e)
}

// settle is e's owner with what is known now: the pid's best attribution, and
// the version seen for a package named without one.
func (r *Recorder) settle(e recorded) (Package, []Package, bool) {
	pkg := e.pkg
	if e.pid != 0 && better(pkg, r.best[e.pid]) {
		pkg = r.best[e.pid]
	}
	fill := func(p Package) Package {
		if !p.IsZero() && p.Version == "" {
			p.Version = r.versions[[2]string{p.Ecosystem, p.Name}]
		}
		return p
	}
	pkg = fill(pkg)
	var cands []Package
	for _, c := range e.cands {
		if c = fill(c); !containsPkg(cands, c) {
			cands = append(cands, c)
		}
	}
	sortPkgs(cands)
	if len(cands) == 1 {
		pkg, cands = cands[0], nil
	}
	return pkg, cands, e.manager && pkg.IsZero()
}

// SetProject names the project's directory as the container sees it: a working
// directory in it is read from below it, so the directories the project sits in
// never name a package. Call it before the first container runs.
func (r *Recorder) SetProject(dir string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.project = path.Clean(dir)
}

// belowProject is cwd with the project's own path taken off ("/" for the
// project itself); other paths are returned as they are.
func (r *Recorder) belowProject(cwd string) string {
	if r.project == "" || r.project == "/" || cwd == "" {
		return cwd
	}
	c := path.Clean(cwd)
	if c == r.project {
		return "/"
	}
	if rest, ok := strings.CutPrefix(c, r.project+"/"); ok {
		return "/" + rest
	}
	return cwd
}

// lineage is the package pid was seen under (at its exec, which is kept across
// the exec), or its nearest seen ancestor's; zero when none had one.
func (r *Recorder) lineage(pid int) Package {
	for depth := 0; depth < 64 && pid > 1 && pid != r.self; depth++ {
		if a := r.seen[pid]; a != nil && !a.pkg.IsZero() {
			return a.pkg
		}
		pid = r.procs(pid).ppid()
	}
	return Package{}
}

// trustedCaller reports whether pid is the package manager's: the step's first
// program, a process seen as the manager, or a fork of one not yet exec'd (its
// command line is still its parent's). A process reparented after its parent
// exited is none of these.
func (r *Recorder) trustedCaller(pid int) bool {
	if len(r.seen) == 0 {
		return true
	}
	if k := r.seen[pid]; k != nil {
		return k.manager
	}
	parent := r.procs(pid).ppid()
	if a := r.seen[parent]; a != nil && a.manager {
		return slices.Equal(r.procs(pid).cmdline(), r.procs(parent).cmdline())
	}
	return false
}

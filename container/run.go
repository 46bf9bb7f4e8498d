package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/phylum-box/phylum-box/internal/kernel"
)

type logger = logrus.FieldLogger

// pidsPollInterval is how often pids.events is read for limit hits.
const pidsPollInterval = 50 * time.Millisecond

// RunReserved starts spec's command in a new container, waits for it and tears
// the container down, under the id and state claim res made earlier by Reserve
// (so the caller could build the skeleton in res.Dir). The caller releases res; it
// can run several containers one after another. It returns an error only when
// the container could not be run; the command's own failure is in Result.
//
// The container always gets a user namespace whose root is not host root, new
// mount, pid, ipc, uts and cgroup namespaces, and a new network namespace with
// only loopback unless spec.Network. The command has no capabilities,
// no_new_privs and (with the seccomp build tag) the seccompProfile filter.
//
// Cancelling ctx kills the container (Stopped = "interrupted"); so does the
// timeout ("timeout"), an OOM kill ("memory") and a fork refused by the pids
// limit ("pids"): a build that hit a limit is stopped, not left to limp on.
func RunReserved(ctx context.Context, spec *Spec, res *Reservation) (*Result, error) {
	log := spec.Log
	if log == nil {
		l := logrus.New()
		l.Out = io.Discard
		log = l
	}
	if len(spec.Args) == 0 {
		return nil, errors.New("container: no command to run")
	}
	if spec.Rootfs == "" || !filepath.IsAbs(spec.Rootfs) {
		return nil, fmt.Errorf("container: rootfs %q must be an absolute directory", spec.Rootfs)
	}

	id := spec.Identity
	if id == nil {
		cur, err := CurrentIdentity()
		if err != nil {
			return nil, err
		}
		id = &cur
	}
	if spec.Network && id.Rootless && id.Subordinate && LandlockScopeAvailable() {
		// Landlock needs no_new_privs on the thread that forks the init, and
		// no_new_privs disables the setuid newuidmap a subordinate map needs.
		// Container root has no capabilities, so it could never switch to the
		// extra ids anyway: the single-id map loses little and keeps the host's
		// abstract unix sockets out of reach.
		single := id.SingleMap()
		id = &single
	}
	plan, err := planLimits(spec.Limits, id, res.ID)
	if err != nil {
		return nil, err
	}
	if plan.cgroup && !id.Rootless {
		if err := weighRootParent(HostCgroupMode()); err != nil {
			log.Debugf("cgroup /%s: CPU weight not set: %v", rootParentCgroup, err)
		}
	}
	var disk *diskWatch
	if spec.Limits.Disk > 0 {
		m := spec.Disk
		if m == nil {
			m = NewDiskMeter(time.Now())
		}
		if err := m.watchMounts(spec.Mounts); err != nil {
			return nil, fmt.Errorf("disk limit: %w", err)
		}
		disk = &diskWatch{m: m, limit: spec.Limits.Disk}
	}
	useSeccomp := seccompForSpec(log)
	var mon *monitorListener
	monNote := ""
	if spec.Monitor != nil {
		mon, monNote = startMonitor(spec.Monitor, res.Dir, res.ID, useSeccomp, log)
		// Registered before the container's Destroy, so it runs after it: a
		// listener stopped while processes still run would fail their
		// watched calls with ENOSYS.
		defer mon.stop()
	}
	cfg, err := buildConfig(spec, res.ID, id, plan, useSeccomp, mon.listenerPath())
	if err != nil {
		return nil, err
	}

	tr := &phaseTimer{last: time.Now()}
	c, err := libcontainer.Create(res.StateDir, res.ID, cfg)
	tr.mark("create")
	if err != nil {
		return nil, fmt.Errorf("create container: %w", err)
	}
	defer func() {
		if err := c.Destroy(); err != nil {
			log.Warnf("removing container %s: %v", res.ID, err)
		}
		tr.mark("destroy")
		log.Debugf("container %s phases: %s", res.ID, tr)
	}()

	nnp := true
	proc := &libcontainer.Process{
		Args:            withParentDeathGuard(spec.Args, spec.Mounts),
		Env:             spec.Env,
		Cwd:             spec.Cwd,
		UID:             0,
		GID:             0,
		Stdin:           spec.Stdin,
		Stdout:          spec.Stdout,
		Stderr:          spec.Stderr,
		Init:            true,
		NoNewPrivileges: &nnp,
		Capabilities:    &configs.Capabilities{},
		Rlimits:         plan.rlimits,
	}
	if proc.Cwd == "" {
		proc.Cwd = "/"
	}
	// The container is started from a thread of its own: the kernel sends the
	// parent-death signal when the forking *thread* exits, so that thread must
	// outlive the container (release is closed after Destroy), and with
	// Network it is put in a Landlock domain it can never leave, so it is
	// discarded afterwards (the goroutine ends still locked to it).
	landlock := spec.Network && (!id.Rootless || !id.Subordinate)
	landlockErr := error(nil)
	started := make(chan error, 1)
	release := make(chan struct{})
	defer close(release)
	start := time.Now()
	go func() {
		runtime.LockOSThread()
		if landlock {
			if landlockErr = scopeAbstractUnixSockets(!id.Rootless); landlockErr != nil {
				landlock = false
			}
		}
		started <- c.Run(proc)
		<-release
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("start %s in the container: %w", spec.Args[0], err)
	}
	if spec.Network && !landlock {
		why := "the user-namespace map uses newuidmap, which no_new_privs would break"
		if landlockErr != nil {
			why = landlockErr.Error()
		}
		log.Warnf("with --network the host's abstract unix sockets (X11, D-Bus) are reachable from the sandbox: %s", why)
	}

	tr.mark("start")
	if disk != nil {
		if pid, err := proc.Pid(); err == nil {
			disk.pidns = pidNamespace(pid)
		}
	}
	result := &Result{Limits: plan.enforcement, Seccomp: useSeccomp, AbstractSocketsScoped: !spec.Network || landlock}
	stop := newStopper(c)

	var oomCh <-chan struct{}
	if plan.cgroup {
		if ch, err := c.NotifyOOM(); err == nil {
			oomCh = ch
		} else {
			log.Debugf("OOM notification unavailable: %v", err)
		}
	}
	waitDone := make(chan struct{})
	var (
		ps      *os.ProcessState
		waitErr error
	)
	go func() {
		ps, waitErr = proc.Wait()
		close(waitDone)
	}()

	var timeout <-chan time.Time
	if spec.Limits.Timeout > 0 {
		t := time.NewTimer(spec.Limits.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	var pidsTick <-chan time.Time
	pidsEvents := ""
	if plan.cgroup && spec.Limits.Pids > 0 {
		pidsEvents = pidsEventsFile(c)
		if pidsEvents != "" {
			tk := time.NewTicker(pidsPollInterval)
			defer tk.Stop()
			pidsTick = tk.C
		}
	}
	var diskTick <-chan time.Time
	if disk != nil {
		tk := time.NewTicker(diskPollInterval)
		defer tk.Stop()
		diskTick = tk.C
	}

loop:
	for {
		select {
		case <-waitDone:
			break loop
		case <-ctx.Done():
			stop.kill(StopInterrupted)
		case <-timeout:
			stop.kill(StopTimeout)
		case _, ok := <-oomCh:
			if !ok {
				oomCh = nil
				continue
			}
			result.OOMKilled = true
			stop.kill(StopMemory)
		case <-pidsTick:
			if pidsMaxEvents(pidsEvents) > 0 {
				result.PidsLimitHit = true
				stop.kill(StopPids)
			}
		case now := <-diskTick:
			if disk.over(now) {
				stop.kill(StopDisk)
			}
		}
	}
	result.Duration = time.Since(start)
	tr.mark("wait")
	if spec.Monitor != nil {
		// The init is gone and with it every process of its pid namespace:
		// nothing is left to watch, and every event has been reported.
		result.Monitored = mon.stop()
		result.MonitorNote = monNote
		if !result.Monitored && monNote == "" {
			result.MonitorNote = "the seccomp notification fd never reached the monitor"
		}
	}
	result.Stopped = stop.reason()
	if result.Stopped == StopNone && ctx.Err() != nil {
		// Ctrl-C reaches the terminal's whole foreground group: the command may
		// die of the SIGINT itself before the cancelled context is seen.
		result.Stopped = StopInterrupted
	}

	// The init is gone, so the pid namespace is too; stats survive until Destroy.
	if plan.cgroup {
		collectStats(c, pidsEvents, result)
		if result.OOMKilled && result.Stopped == StopNone {
			result.Stopped = StopMemory
		}
	}
	tr.mark("stats")
	if ps == nil {
		return nil, fmt.Errorf("waiting for the container: %w", waitErr)
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		result.Signal = ws.Signal()
		result.ExitCode = 128 + int(ws.Signal())
	} else {
		result.ExitCode = ps.ExitCode()
	}
	// A SIGKILL with the memory cgroup's failure counter up is the OOM killer's
	// work even when the event was missed.
	if result.Stopped == StopNone && result.Signal == unix.SIGKILL && plan.cgroup && memoryFailed(c) {
		result.OOMKilled, result.Stopped = true, StopMemory
	}
	if result.Stopped == StopNone && result.ExitCode != 0 && result.PidsLimitHit {
		result.Stopped = StopPids
	}
	if disk != nil {
		// A short run can write past the limit between two polls and exit 0, and a
		// file stopped by RLIMIT_FSIZE fails its writer: check once more. A
		// command killed by SIGXFSZ hit the per-file size limit.
		if result.Stopped == StopNone && (disk.final(result.ExitCode != 0) || result.Signal == unix.SIGXFSZ) {
			result.Stopped = StopDisk
		}
		result.DiskUsed = disk.used
		log.Debugf("disk: %d exact walk(s), %s written at the last", disk.walks, FormatBytes(disk.used))
	}
	return result, nil
}

// withParentDeathGuard prefixes args with util-linux's setpriv --pdeathsig KILL
// when the container has it (the host /usr is bound). libcontainer's own
// ParentDeathSignal does not reach the process it runs: that is a clone of the
// process it sets it on, and clones start without one. With the guard, a
// phylum-box killed by SIGKILL takes the container (the whole pid namespace)
// with it instead of leaving it running without its timeout; setpriv then
// execs the command, which stays pid 1.
func withParentDeathGuard(args []string, mounts []specs.Mount) []string {
	for _, m := range mounts {
		if m.Destination != "/usr" || m.Type != "bind" {
			continue
		}
		if st, err := os.Stat(filepath.Join(m.Source, "bin", "setpriv")); err == nil && st.Mode().IsRegular() {
			return append([]string{"/usr/bin/setpriv", "--pdeathsig", "KILL", "--"}, args...)
		}
	}
	return args
}

// stopper kills the container once and remembers the first reason.
type stopper struct {
	c    *libcontainer.Container
	mu   sync.Mutex
	why  StopReason
	done bool
}

func newStopper(c *libcontainer.Container) *stopper { return &stopper{c: c} }

func (s *stopper) kill(why StopReason) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return
	}
	s.done, s.why = true, why
	// SIGKILL to the pid namespace's init takes every process in the namespace
	// with it, cgroup or not.
	_ = s.c.Signal(unix.SIGKILL)
}

func (s *stopper) reason() StopReason {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.why
}

func pidsEventsFile(c *libcontainer.Container) string {
	st, err := c.State()
	if err != nil {
		return ""
	}
	for _, key := range []string{"pids", ""} {
		if p := st.CgroupPaths[key]; p != "" {
			f := filepath.Join(p, "pids.events")
			if _, err := os.Stat(f); err == nil {
				return f
			}
		}
	}
	return ""
}

// pidsMaxEvents reads the "max N" counter of pids.events: forks refused by the
// limit.
func pidsMaxEvents(file string) int64 {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "max "); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

func memoryFailed(c *libcontainer.Container) bool {
	st, err := c.State()
	if err != nil {
		return false
	}
	if p := st.CgroupPaths["memory"]; p != "" {
		b, _ := os.ReadFile(filepath.Join(p, "memory.memsw.failcnt"))
		if n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); n > 0 {
			return true
		}
		b, _ = os.ReadFile(filepath.Join(p, "memory.failcnt"))
		n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		return n > 0
	}
	if p := st.CgroupPaths[""]; p != "" {
		b, _ := os.ReadFile(filepath.Join(p, "memory.events"))
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "oom_kill "); ok && strings.TrimSpace(v) != "0" {
				return true
			}
		}
	}
	return false
}

func collectStats(c *libcontainer.Container, pidsEvents string, r *Result) {
	if pidsEvents != "" && pidsMaxEvents(pidsEvents) > 0 {
		r.PidsLimitHit = true
	}
	st, err := c.Stats()
	if err != nil || st.CgroupStats == nil {
		return
	}
	m := st.CgroupStats.MemoryStats
	peak := m.Usage.MaxUsage
	if m.SwapUsage.MaxUsage > peak { // v1 memsw includes memory
		peak = m.SwapUsage.MaxUsage
	}
	if peak > 0 && peak < math.MaxInt64 {
		r.PeakMemory = int64(peak)
	}
	if m.Stats["oom_kill"] > 0 {
		r.OOMKilled = true
	}
}

// PlanLimits says, before a run, how each requested limit will be enforced for
// identity id on this host (the same decision Run makes).
func PlanLimits(l Limits, id *Identity) []Enforcement {
	p, err := planLimits(l, id, "preview")
	if err != nil {
		return nil
	}
	return p.enforcement
}

// limitPlan is how the requested limits will be enforced for this run.
type limitPlan struct {
	cgroup      bool   // a cgroup with limits is used
	cgroupsPath string // libcontainer cgroupsPath ("" = none)
	resources   *specs.LinuxResources
	rlimits     []configs.Rlimit
	enforcement []Enforcement
}

func planLimits(l Limits, id *Identity, runID string) (*limitPlan, error) {
	p := &limitPlan{}
	// No core dumps: a crashing build must not write its memory (tokens from the
	// environment) into the project.
	p.rlimits = append(p.rlimits, configs.Rlimit{Type: unix.RLIMIT_CORE, Hard: 0, Soft: 0})
	if l.Timeout > 0 {
		p.enforcement = append(p.enforcement, Enforcement{Limit: "timeout", Enforced: true, How: "wall clock; SIGKILL to the pid namespace's init"})
	}
	// Every run gets its own cgroup when one can be made, limits or not: it is
	// what libcontainer kills and removes as a unit, and where stats come from.
	mode := HostCgroupMode()
	var how string
	switch {
	case mode == CgroupNone:
		how = "no cgroup file system is mounted"
	case !id.Rootless:
		p.cgroup = true
		p.cgroupsPath = "/phylum-box/" + runID
		how = "cgroup " + string(mode)
	default:
		d, err := DelegatedCgroup(os.Geteuid())
		if err == nil {
			p.cgroup = true
			p.cgroupsPath = d.Path + "/" + runID
			how = "delegated cgroup " + d.Path
		} else {
			how = err.Error()
		}
	}
	res := &specs.LinuxResources{}
	if l.Memory > 0 {
		if p.cgroup {
			lim := l.Memory
			res.Memory = &specs.LinuxMemory{Limit: &lim}
			// Swap limited to the same total, so memory cannot spill into swap.
			if swapAccounting(mode) {
				sw := l.Memory
				res.Memory.Swap = &sw
			}
			p.enforcement = append(p.enforcement, Enforcement{Limit: "memory", Enforced: true, How: how})
		} else {
			// RLIMIT_AS would count address space, not memory: Node, Go and JVM
			// reserve many GiB they never touch and would fail to start.
			p.enforcement = append(p.enforcement, Enforcement{Limit: "memory", How: "not enforced: " + how})
		}
	}
	if l.Pids > 0 {
		if p.cgroup {
			res.Pids = &specs.LinuxPids{Limit: &l.Pids}
			p.enforcement = append(p.enforcement, Enforcement{Limit: "pids", Enforced: true, How: how})
		} else if kernel.AtLeast(5, 14) {
			// Since 5.14 RLIMIT_NPROC is charged per (user namespace, uid), and
			// every container has its own user namespace, so this counts the
			// container's processes only. Without CAP_SYS_RESOURCE (dropped)
			// it cannot be raised back.
			n := uint64(l.Pids)
			p.rlimits = append(p.rlimits, configs.Rlimit{Type: unix.RLIMIT_NPROC, Hard: n, Soft: n})
			p.enforcement = append(p.enforcement, Enforcement{Limit: "pids", Enforced: true, How: "RLIMIT_NPROC in the container's user namespace (hits are not reported)"})
		} else {
			p.enforcement = append(p.enforcement, Enforcement{Limit: "pids", How: "not enforced: " + how})
		}
	}
	if l.Disk > 0 {
		// One file can be no larger than the limit, which stops it at the write;
		// the sum is watched while the run goes on (see DiskMeter).
		n := uint64(l.Disk) + 1
		p.rlimits = append(p.rlimits, configs.Rlimit{Type: unix.RLIMIT_FSIZE, Hard: n, Soft: n})
		p.enforcement = append(p.enforcement, Enforcement{Limit: "disk", Enforced: true, How: "writes to the scratch and writable caches, watched (statfs, confirmed by a walk); RLIMIT_FSIZE per file"})
	}
	if l.CPUs > 0 {
		if p.cgroup {
			period := uint64(100000)
			quota := int64(l.CPUs * float64(period))
			res.CPU = &specs.LinuxCPU{Period: &period, Quota: &quota}
			p.enforcement = append(p.enforcement, Enforcement{Limit: "cpu", Enforced: true, How: how})
		} else {
			p.enforcement = append(p.enforcement, Enforcement{Limit: "cpu", How: "not enforced: " + how})
		}
	}
	if p.cgroup {
		p.resources = res
	}
	return p, nil
}

func swapAccounting(mode CgroupMode) bool {
	if mode == CgroupV2 {
		return true
	}
	_, err := os.Stat(filepath.Join(cgroupRoot, "memory", "memory.memsw.limit_in_bytes"))
	return err == nil
}

// phaseTimer records how long each phase of a run took, for -v output and for
// finding where start-up time goes.
type phaseTimer struct {
	last  time.Time
	marks []string
}

func (t *phaseTimer) mark(phase string) {
	now := time.Now()
	t.marks = append(t.marks, fmt.Sprintf("%s=%.1fms", phase, float64(now.Sub(t.last).Microseconds())/1000))
	t.last = now
}

func (t *phaseTimer) String() string { return strings.Join(t.marks, " ") }

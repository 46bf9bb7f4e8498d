//go:build seccomp

package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// The kernel's struct seccomp_notif and seccomp_notif_resp (linux/seccomp.h);
// the ioctl numbers encode their sizes (80 and 24 bytes).
type seccompData struct {
	Nr   int32
	Arch uint32
	IP   uint64
	Args [6]uint64
}

type seccompNotif struct {
	ID    uint64
	Pid   uint32
	Flags uint32
	Data  seccompData
}

type seccompNotifResp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

// i386 multiplexes the socket calls through socketcall(2); libseccomp's
// connect, sendto, sendmsg and sendmmsg rules match it too.
const (
	socketcallConnect  = 3
	socketcallSendto   = 11
	socketcallSendmsg  = 16
	socketcallSendmmsg = 20
)

// syscallKey names a call the way a notification does: the ABI (x32 shares
// x86_64's audit arch and sets bit 30 of the number) and the number.
type syscallKey struct {
	arch uint32
	nr   int32
}

// monitorListener is one run's seccomp agent: it receives the filter's
// notification fd from libcontainer and answers every notification.
type monitorListener struct {
	m     *Monitor
	log   logger
	runID string
	dir   string
	dirFd int // O_PATH fd of dir, open until stop: the socket's name uses it
	sock  *net.UnixListener
	names map[syscallKey]string
	wake  int // eventfd: stop asks serve to return
	done  chan struct{}
	got   atomic.Bool
	once  sync.Once
	// peers are the connected sockets' peers (serve's goroutine only).
	peers peerCache
	// init is the host pid of the container's first process, once seen.
	init int
	// held is the init's exit while the processes it would kill get their
	// grace (serve's goroutine only).
	held *heldExit
}

// monitorUnavailable says why this host cannot run the behaviour monitor, or
// "" when it can (for diagnostics; Run reports the same in MonitorNote).
func monitorUnavailable() string {
	if api, _ := libseccomp.GetAPI(); api < 6 {
		return fmt.Sprintf("this kernel or libseccomp has no seccomp user notification with CONTINUE (libseccomp API level %d, needs 6: libseccomp >= 2.5 and Linux >= 5.7)", api)
	}
	outerAgent.once.Do(func() { outerAgent.why = probeOuterAgent() })
	return outerAgent.why
}

var outerAgent struct {
	once sync.Once
	why  string
}

// probeOuterAgent finds whether a seccomp agent already watches this process
// (phylum-box inside a container runtime that traps calls through seccomp
// user notification, as Sysbox does): the kernel allows one listener per
// filter chain, so the container's filter could not be loaded and every run
// would fail. Only a process already under a filter can have one; that case
// is tried once, on a thread of its own that is thrown away afterwards.
func probeOuterAgent() string {
	status := string(readCapped("/proc/self/status", 16<<10))
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, "Seccomp:"); ok && strings.TrimSpace(v) == "0" {
			return ""
		}
	}
	res := make(chan error, 1)
	go func() {
		// Never unlocked: the thread, with its filter, ends with the goroutine.
		runtime.LockOSThread()
		fd, err := installListenerFilter()
		if err == nil {
			unix.Close(fd)
		}
		res <- err
	}()
	if err := <-res; errors.Is(err, unix.EBUSY) {
		return "a seccomp agent outside phylum-box already watches it (a container runtime trapping calls through seccomp user notification), and the kernel allows one per process"
	}
	return ""
}

// installListenerFilter puts an allow-everything filter with a notification
// listener on the calling thread (which must be locked to its goroutine and
// is changed for good) and returns the listener.
func installListenerFilter() (int, error) {
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return -1, err
	}
	insns := []unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW}}
	prog := unix.SockFprog{Len: uint16(len(insns)), Filter: &insns[0]}
	fd, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_NEW_LISTENER, uintptr(unsafe.Pointer(&prog)))
	runtime.KeepAlive(insns)
	if e != 0 {
		return -1, e
	}
	return int(fd), nil
}

// startMonitor prepares the listener libcontainer hands the notification fd
// to. It returns nil and why when the monitor cannot run here; the caller runs
// the container without it and reports the note.
func startMonitor(m *Monitor, runDir, runID string, useSeccomp bool, log logger) (*monitorListener, string) {
	if !useSeccomp {
		return nil, "the seccomp filter is off, so nothing can be watched through it"
	}
	if why := monitorUnavailable(); why != "" {
		return nil, why
	}
	names, err := notifiedSyscalls(seccompProfileMonitored())
	if err != nil {
		return nil, err.Error()
	}
	// Who could connect instead of libcontainer, and be trusted with
	// answering the container's calls? Nothing inside the container: the
	// socket is a path (not abstract, so sharing the host's network namespace
	// does not expose it) in a fresh 0700 directory of the run's private state
	// dir, which no mount of the container's view normally contains (its root
	// is a skeleton beside it); and even where one did (a $TMPDIR inside the
	// project), libcontainer dials before the container's command can run
	// (the fd is sent during start, before the exec fifo is opened), the
	// listener takes that one connection and closes, unlinking the name, and
	// the peer must be this process (SO_PEERCRED): libcontainer's parent side
	// runs here. Another host user cannot traverse the 0700 directory.
	dir, err := os.MkdirTemp(runDir, "monitor-")
	if err != nil {
		return nil, "cannot create the monitor's socket directory: " + err.Error()
	}
	// A state dir deep in $TMPDIR can be longer than a socket address holds
	// (108 bytes): the socket is named through an fd of its directory, which
	// libcontainer's parent side, in this process, dials the same way.
	dirFd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		os.RemoveAll(dir)
		return nil, "cannot open the monitor's socket directory: " + err.Error()
	}
	l := &monitorListener{m: m, log: log, runID: runID, dir: dir, dirFd: dirFd, names: names, wake: -1, done: make(chan struct{})}
	fail := func(what string, err error) (*monitorListener, string) {
		if l.sock != nil {
			l.sock.Close()
		}
		if l.wake >= 0 {
			unix.Close(l.wake)
		}
		unix.Close(dirFd)
		os.RemoveAll(dir)
		return nil, what + ": " + err.Error()
	}
	path := l.listenerPath()
	if l.sock, err = net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"}); err != nil {
		return fail("cannot listen for the seccomp notification fd", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return fail("cannot listen for the seccomp notification fd", err)
	}
	if l.wake, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
		return fail("cannot create the monitor's eventfd", err)
	}
	go l.serve()
	return l, ""
}

// listenerPath is the socket libcontainer sends the notification fd to.
func (l *monitorListener) listenerPath() string {
	if l == nil {
		return ""
	}
	return "/proc/self/fd/" + strconv.Itoa(l.dirFd) + "/s"
}

// stop ends the listener once the container is gone and says whether it
// watched the run. Safe to call twice and on nil.
func (l *monitorListener) stop() bool {
	if l == nil {
		return false
	}
	l.once.Do(func() {
		l.sock.Close() // unblocks an Accept that never got its connection
		var one [8]byte
		one[0] = 1 // eventfd counters are host-endian; any non-zero wakes
		_, _ = unix.Write(l.wake, one[:])
		<-l.done
		unix.Close(l.wake)
		unix.Close(l.dirFd)
		os.RemoveAll(l.dir)
	})
	return l.got.Load()
}

// notifiedSyscalls maps every (ABI, number) the profile notifies to its name,
// for every ABI the filter covers.
func notifiedSyscalls(p *specs.LinuxSeccomp) (map[syscallKey]string, error) {
	archs := []libseccomp.ScmpArch{libseccomp.ArchNative}
	for _, a := range p.Architectures {
		sa, ok := map[specs.Arch]libseccomp.ScmpArch{
			specs.ArchX86_64: libseccomp.ArchAMD64, specs.ArchX86: libseccomp.ArchX86, specs.ArchX32: libseccomp.ArchX32,
			specs.ArchAARCH64: libseccomp.ArchARM64, specs.ArchARM: libseccomp.ArchARM,
		}[a]
		if !ok {
			return nil, fmt.Errorf("the behaviour monitor does not know the seccomp arch %s", a)
		}
		archs = append(archs, sa)
	}
	out := map[syscallKey]string{}
	for _, arch := range archs {
		audit, ok := auditArch(arch)
		if !ok {
			continue
		}
		add := func(name string) {
			nr, err := libseccomp.GetSyscallFromNameByArch(name, arch)
			if err == nil && nr >= 0 {
				out[syscallKey{audit, int32(nr)}] = name
			}
		}
		for _, r := range p.Syscalls {
			if r.Action != specs.ActNotify {
				continue
			}
			for _, n := range r.Names {
				add(n)
			}
		}
		add("socketcall")
	}
	return out, nil
}

func auditArch(a libseccomp.ScmpArch) (uint32, bool) {
	if a == libseccomp.ArchNative {
		a2, err := libseccomp.GetNativeArch()
		if err != nil {
			return 0, false
		}
		a = a2
	}
	switch a {
	case libseccomp.ArchAMD64, libseccomp.ArchX32:
		return unix.AUDIT_ARCH_X86_64, true
	case libseccomp.ArchX86:
		return unix.AUDIT_ARCH_I386, true
	case libseccomp.ArchARM64:
		return unix.AUDIT_ARCH_AARCH64, true
	case libseccomp.ArchARM:
		return unix.AUDIT_ARCH_ARM, true
	}
	return 0, false
}

// pointerSize is the size of a user-space pointer for the calling ABI.
func pointerSize(arch uint32, nr int32) int {
	switch {
	case arch == unix.AUDIT_ARCH_I386, arch == unix.AUDIT_ARCH_ARM:
		return 4
	case arch == unix.AUDIT_ARCH_X86_64 && nr&0x40000000 != 0: // x32
		return 4
	}
	return 8
}

func (l *monitorListener) serve() {
	defer close(l.done)
	conn, err := l.sock.AcceptUnix()
	l.sock.Close() // exactly one connection
	if err != nil {
		return
	}
	fd, err := l.receiveNotifyFd(conn)
	conn.Close()
	if err != nil {
		// libcontainer's send succeeded or failed on its side; without the fd
		// every watched call in the container fails with ENOSYS, so the run
		// fails rather than going on unwatched.
		l.log.Warnf("behaviour monitor: %v", err)
		return
	}
	defer unix.Close(fd)
	l.got.Store(true)
	defer l.dropHeld()
	for {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}, {Fd: int32(l.wake), Events: unix.POLLIN}}
		timeout := -1
		if l.held != nil {
			for _, p := range l.held.pidfds {
				fds = append(fds, unix.PollFd{Fd: int32(p), Events: unix.POLLIN})
			}
			timeout = max(0, int(time.Until(l.held.until).Milliseconds())+1)
		}
		if _, err := unix.Poll(fds, timeout); err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			l.log.Warnf("behaviour monitor: poll: %v", err)
			return
		}
		if fds[1].Revents != 0 {
			return
		}
		if h := l.held; h != nil {
			kept := h.pidfds[:0]
			for i, p := range h.pidfds {
				if fds[2+i].Revents != 0 {
					unix.Close(p) // ended
				} else {
					kept = append(kept, p)
				}
			}
			h.pidfds = kept
			if len(kept) == 0 || !time.Now().Before(h.until) {
				l.releaseHeld(fd)
			}
		}
		if fds[0].Revents&unix.POLLIN != 0 {
			l.handle(fd)
			continue
		}
		if fds[0].Revents&(unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0 {
			return // no process uses the filter any more
		}
	}
}

// receiveNotifyFd reads libcontainer's message: the runtime-spec
// ContainerProcessState JSON with the notification fd as SCM_RIGHTS.
func (l *monitorListener) receiveNotifyFd(conn *net.UnixConn) (int, error) {
	raw, err := conn.SyscallConn()
	if err != nil {
		return -1, err
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return -1, err
	}
	if credErr != nil {
		return -1, fmt.Errorf("peer credentials: %w", credErr)
	}
	// libcontainer sends from its parent side, which runs in this process.
	if int(cred.Pid) != os.Getpid() {
		return -1, fmt.Errorf("refusing a connection to the monitor socket from pid %d (uid %d), not this process", cred.Pid, cred.Uid)
	}
	buf := make([]byte, 64<<10)
	oob := make([]byte, unix.CmsgSpace(4*4))
	n, oobn, flags, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return -1, fmt.Errorf("reading the notification fd: %w", err)
	}
	var fds []int
	if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
		for _, m := range msgs {
			if got, err := unix.ParseUnixRights(&m); err == nil {
				fds = append(fds, got...)
			}
		}
	}
	closeAll := func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}
	if flags&(unix.MSG_CTRUNC|unix.MSG_TRUNC) != 0 || len(fds) != 1 {
		closeAll()
		return -1, fmt.Errorf("libcontainer sent %d fds (flags %#x), want one seccomp notification fd", len(fds), flags)
	}
	var st specs.ContainerProcessState
	if err := json.Unmarshal(buf[:n], &st); err != nil || st.State.ID != l.runID || len(st.Fds) != 1 || st.Fds[0] != specs.SeccompFdName {
		closeAll()
		return -1, fmt.Errorf("unexpected container process state from libcontainer (container %q, fds %v)", st.State.ID, st.Fds)
	}
	if link, _ := os.Readlink("/proc/self/fd/" + strconv.Itoa(fds[0])); link != "anon_inode:seccomp notify" {
		closeAll()
		return -1, fmt.Errorf("the fd libcontainer sent is %q, not a seccomp notification fd", link)
	}
	// net receives with MSG_CMSG_CLOEXEC: the fd never leaks into a
	// container started meanwhile.
	return fds[0], nil
}

func ioctlPtr(fd int, req uintptr, p unsafe.Pointer) error {
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(p))
	if e != 0 {
		return e
	}
	return nil
}

// handle receives one notification, answers it and reports the event.
func (l *monitorListener) handle(fd int) {
	var req seccompNotif // the kernel wants it zeroed
	if err := ioctlPtr(fd, unix.SECCOMP_IOCTL_NOTIF_RECV, unsafe.Pointer(&req)); err != nil {
		// ENOENT: the caller was interrupted or killed before we got to it.
		if !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.EINTR) {
			l.log.Debugf("behaviour monitor: receive: %v", err)
		}
		return
	}
	ev, observe, report := l.decode(fd, &req)
	if report && ev.Syscall == "exit_group" {
		// While the process is stopped here, what it started still runs.
		if ev.Init && l.held == nil && l.m.OnEvent != nil {
			// The init's end kills every other process: those still running
			// get a grace to end by themselves (esbuild's service when its
			// parent's pipe closes), their calls answered meanwhile, before
			// the init's exit is reported and answered (serve).
			if fds := pidfdsOf(runningBeside(ev.Pid, nil)); len(fds) > 0 {
				l.held = &heldExit{id: req.ID, ev: ev, pidfds: fds, until: time.Now().Add(monitorExitGrace)}
				return
			}
		}
		if l.m.OnEvent != nil {
			l.m.OnEvent(ev)
		}
		report = false
	}
	resp := seccompNotifResp{ID: req.ID}
	if observe {
		resp.Flags = unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE
	} else {
		resp.Error = -int32(unix.EPERM)
	}
	if err := ioctlPtr(fd, unix.SECCOMP_IOCTL_NOTIF_SEND, unsafe.Pointer(&resp)); err != nil {
		// ENOENT: the call was interrupted (it is restarted with a new
		// notification) or the caller died: nothing happened.
		return
	}
	if report && l.m.OnEvent != nil {
		l.m.OnEvent(ev)
	}
}

// isInit reports whether process tgid (thread tid) is the container's init,
// learning which one that is from the first process seen (the init's exec is
// the first call notified) so an exit costs no /proc read.
func (l *monitorListener) isInit(tid, tgid int) bool {
	if l.init == 0 && isNamespaceInit(tid) {
		l.init = tgid
	}
	return l.init != 0 && tgid == l.init
}

package container

import (
	"runtime"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// namespaceFlags are the clone/unshare flags that create namespaces. A nested
// user namespace is the classic way back to a full capability set (and to the
// kernel attack surface behind it), so every one of them is refused.
var namespaceFlags = []uint64{
	unix.CLONE_NEWNS, unix.CLONE_NEWCGROUP, unix.CLONE_NEWUTS, unix.CLONE_NEWIPC,
	unix.CLONE_NEWUSER, unix.CLONE_NEWPID, unix.CLONE_NEWNET,
}

// deniedSyscalls return EPERM whatever their arguments. Most already fail for a
// process without capabilities; refusing them in the filter as well keeps the
// kernel code behind them out of reach (keyctl, bpf, perf_event_open and
// userfaultfd are reachable unprivileged and have a long CVE history).
var deniedSyscalls = []string{
	"setns",
	"mount", "umount", "umount2", "pivot_root", "chroot",
	"move_mount", "open_tree", "fsopen", "fsmount", "fsconfig", "fspick", "mount_setattr",
	"keyctl", "add_key", "request_key",
	"bpf", "perf_event_open", "userfaultfd",
	"ptrace", "process_vm_writev",
	"kexec_load", "kexec_file_load",
	"init_module", "finit_module", "delete_module",
	"swapon", "swapoff", "reboot", "acct", "quotactl", "quotactl_fd",
	"open_by_handle_at", "lookup_dcookie",
	"iopl", "ioperm", "syslog",
	"settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
	// io_uring is a second system-call interface seccomp cannot see into, and a
	// rich source of kernel bugs; libuv and others fall back to plain calls.
	"io_uring_setup", "io_uring_enter", "io_uring_register",
	"uselib",
}

// seccompProfile is the filter every container gets: allow by default, refuse
// the calls above, namespace creation, and the terminal-injection ioctls.
func seccompProfile() *specs.LinuxSeccomp {
	eperm := uint(unix.EPERM)
	// clone3 passes its flags in a struct seccomp cannot read; ENOSYS makes glibc
	// fall back to clone(2), whose flags the filter can check.
	enosys := uint(unix.ENOSYS)
	p := &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: seccompArchs(),
		Syscalls: []specs.LinuxSyscall{
			{Names: deniedSyscalls, Action: specs.ActErrno, ErrnoRet: &eperm},
			{Names: []string{"clone3"}, Action: specs.ActErrno, ErrnoRet: &enosys},
		},
	}
	// One rule per flag: seccomp's conditions within a rule are ANDed, rules are
	// ORed, and "any of these bits set" is an OR.
	unshareFlags := append(append([]uint64{}, namespaceFlags...), unix.CLONE_NEWTIME)
	for _, f := range unshareFlags {
		p.Syscalls = append(p.Syscalls, specs.LinuxSyscall{
			Names: []string{"unshare"}, Action: specs.ActErrno, ErrnoRet: &eperm,
			Args: []specs.LinuxSeccompArg{{Index: 0, Value: f, ValueTwo: f, Op: specs.OpMaskedEqual}},
		})
	}
	// clone's low byte is the exit signal, which overlaps CLONE_NEWTIME (0x80);
	// clone cannot create a time namespace anyway.
	cloneArg := 0
	if runtime.GOARCH == "s390x" {
		cloneArg = 1 // s390x swaps clone's first two arguments
	}
	for _, f := range namespaceFlags {
		p.Syscalls = append(p.Syscalls, specs.LinuxSyscall{
			Names: []string{"clone"}, Action: specs.ActErrno, ErrnoRet: &eperm,
			Args: []specs.LinuxSeccompArg{{Index: uint(cloneArg), Value: f, ValueTwo: f, Op: specs.OpMaskedEqual}},
		})
	}
	// The kernel truncates ioctl's request to 32 bits, so compare only the low
	// 32 bits: a request with junk in the high bits must not slip through.
	for _, req := range []uint64{unix.TIOCSTI, unix.TIOCLINUX} {
		p.Syscalls = append(p.Syscalls, specs.LinuxSyscall{
			Names: []string{"ioctl"}, Action: specs.ActErrno, ErrnoRet: &eperm,
			Args: []specs.LinuxSeccompArg{{Index: 1, Value: 0xffffffff, ValueTwo: req, Op: specs.OpMaskedEqual}},
		})
	}
	return p
}

// monitorObserved are the calls the behaviour monitor watches and lets go on
// (SECCOMP_USER_NOTIF_FLAG_CONTINUE): network attempts, programs started, and
// a process detaching from its session to outlive the script, a process
// ending (exit_group: what it leaves running). A send on a connected socket has
// no address: sendto without one is notified when it is small enough to be a
// DNS query (512 bytes), and the listener reports it only when the socket's
// peer is a DNS server (port 53: the query's name is read), finding the peer
// once per socket. sendmsg and sendmmsg keep their address in memory, so every
// call is notified.
var monitorObserved = []string{"connect", "sendto", "sendmsg", "sendmmsg", "execve", "execveat", "setsid", "exit_group"}

// monitorUnwatched are refused calls the monitor leaves to the filter alone:
// libuv probes io_uring at every node start, and glibc tries clone3 for every
// thread and fork, so watching them would be noise paid on every process.
var monitorUnwatched = []string{"io_uring_setup", "io_uring_enter", "io_uring_register", "clone3"}

// seccompProfileMonitored is seccompProfile for a run with a Monitor: every
// call seccompProfile refuses with EPERM is sent to the listener instead
// (SCMP_ACT_NOTIFY), which records it and answers EPERM, and the calls in
// monitorObserved are sent to the listener, which records them and lets them
// go on. The caller sets ListenerPath.
//
// The refusals keep their argument conditions: libseccomp lets a rule without
// conditions swallow every conditional rule of the same call whatever the
// order they are added in (an unconditional NOTIFY on unshare would leave
// unshare(CLONE_NEWUSER) to the listener's answer), so no watched call also
// has a refusal, and the listener answers EPERM to anything it was not told
// to let through. If the listener is gone, the kernel fails notified calls
// with ENOSYS: a refusal stays a refusal (and execve fails, which stops the
// build rather than letting it run unwatched).
func seccompProfileMonitored() *specs.LinuxSeccomp {
	p := seccompProfile()
	var out []specs.LinuxSyscall
	for _, r := range p.Syscalls {
		if r.Action != specs.ActErrno || r.ErrnoRet == nil || *r.ErrnoRet != uint(unix.EPERM) {
			out = append(out, r)
			continue
		}
		var watched, plain []string
		for _, n := range r.Names {
			if slices.Contains(monitorUnwatched, n) {
				plain = append(plain, n)
			} else {
				watched = append(watched, n)
			}
		}
		if len(plain) > 0 {
			out = append(out, specs.LinuxSyscall{Names: plain, Action: r.Action, ErrnoRet: r.ErrnoRet, Args: r.Args})
		}
		if len(watched) > 0 {
			out = append(out, specs.LinuxSyscall{Names: watched, Action: specs.ActNotify, Args: r.Args})
		}
	}
	for _, n := range monitorObserved {
		if n == "sendto" {
			// With an address, every one; on a connected socket, those small
			// enough to be a DNS query: bulk sends are not slowed.
			out = append(out,
				specs.LinuxSyscall{Names: []string{n}, Action: specs.ActNotify, Args: []specs.LinuxSeccompArg{{Index: 4, Value: 0, Op: specs.OpNotEqual}}},
				specs.LinuxSyscall{Names: []string{n}, Action: specs.ActNotify, Args: []specs.LinuxSeccompArg{
					{Index: 4, Value: 0, Op: specs.OpEqualTo}, {Index: 2, Value: monitorMaxDNS, Op: specs.OpLessEqual}}})
			continue
		}
		out = append(out, specs.LinuxSyscall{Names: []string{n}, Action: specs.ActNotify})
	}
	p.Syscalls = out
	return p
}

// seccompArchs lists the native ABI and the compat ABIs a binary could switch
// to (an i386 or x32 binary would otherwise bypass a native-only filter).
func seccompArchs() []specs.Arch {
	switch runtime.GOARCH {
	case "amd64":
		return []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32}
	case "arm64":
		return []specs.Arch{specs.ArchAARCH64, specs.ArchARM}
	case "386":
		return []specs.Arch{specs.ArchX86}
	}
	return nil
}

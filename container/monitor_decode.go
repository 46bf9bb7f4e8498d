//go:build seccomp

package container

import (
	"fmt"
	"strconv"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// decode turns a notification into an event. observe: the call may go on (it
// is watched, not refused); report: the event is worth reporting (false for a
// sendmsg without an address, or a notification gone stale while reading).
//
// Everything read here comes from the calling process, which may change its
// memory the moment it is read: the record is evidence, never a decision.
func (l *monitorListener) decode(fd int, req *seccompNotif) (ev SyscallEvent, observe, report bool) {
	d := req.Data
	name := l.names[syscallKey{d.Arch, d.Nr}]
	args := d.Args
	tid := int(req.Pid)
	ptr := pointerSize(d.Arch, d.Nr)
	ev = SyscallEvent{Time: time.Now(), Syscall: name}

	mem := &procMemory{tid: tid, ptr: ptr}

	if name == "socketcall" {
		// The real arguments are an array of longs at args[1].
		sub := map[uint64]string{socketcallConnect: "connect", socketcallSendto: "sendto", socketcallSendmsg: "sendmsg", socketcallSendmmsg: "sendmmsg"}[args[0]]
		raw := mem.read(args[1], 6*ptr)
		if sub == "" || len(raw) < 6*ptr {
			name = "" // refuse: nothing else is notified through socketcall
		} else {
			name = sub
			var a [6]uint64
			for i := range a {
				a[i] = mem.decodeWord(raw[i*ptr : (i+1)*ptr])
			}
			args = a
		}
		ev.Syscall = name
	}

	switch name {
	case "connect":
		observe, report = true, true
		ev.Addr = mem.sockaddr(args[1], args[2])
		l.peers.forget(tid, int32(args[0]))
	case "sendto":
		observe, report = true, true
		if args[4] != 0 {
			ev.Addr = mem.sockaddr(args[4], args[5])
			if isDNSPort(ev.Addr) {
				ev.DNSName, ev.DNSType = mem.dnsQuestion(args[1], args[2], false)
			}
			break
		}
		// A send on a connected socket (send(), or sendto without an
		// address): only a DNS query is worth reporting, the connect was seen.
		if !l.connectedDNS(&ev, mem, tid, int32(args[0]), args[1], args[2]) {
			return ev, true, false
		}
	case "sendmsg", "sendmmsg":
		// sendmmsg's vector starts with the first message's msghdr: its
		// destination is the one reported.
		observe, report = true, true
		h, ok := mem.msghdr(args[1])
		switch {
		case !ok:
			// unreadable: report the attempt without an address
		case h.name != 0 && h.namelen != 0:
			ev.Addr = mem.sockaddr(h.name, h.namelen)
			if isDNSPort(ev.Addr) {
				ev.DNSName, ev.DNSType = mem.dnsQuestion(h.base, h.len, false)
			}
		default:
			if !l.connectedDNS(&ev, mem, tid, int32(args[0]), h.base, h.len) {
				return ev, true, false
			}
		}
	case "execve":
		observe, report = true, true
		ev.Path, _ = mem.cstring(args[0], monitorMaxArg)
		ev.Argv = mem.argv(args[1])
		ev.ExecEnv = mem.execEnv(args[2], l.m.EnvKeys)
	case "execveat":
		observe, report = true, true
		ev.Path, _ = mem.cstring(args[1], monitorMaxArg)
		ev.Argv = mem.argv(args[2])
		ev.ExecEnv = mem.execEnv(args[3], l.m.EnvKeys)
		if ev.Path == "" && args[4]&unix.AT_EMPTY_PATH != 0 {
			// fexecve: the program is the file open at dirfd (a memfd, a
			// deleted download): name it.
			ev.Path = procLink(tid, "fd/"+strconv.Itoa(int(int32(args[0]))))
		}
	case "setsid":
		observe, report = true, true
	case "exit_group":
		// Reported before the process ends (handle calls OnEvent before it
		// answers): what it leaves running is still there to be listed.
		tgid := threadGroup(tid)
		ev.Pid = tgid
		ev.Init = l.isInit(tid, tgid)
		keys := l.m.EnvKeys
		ev.Running = func() []Process { return runningBeside(tgid, keys) }
		id := req.ID
		if ioctlPtr(fd, unix.SECCOMP_IOCTL_NOTIF_ID_VALID, unsafe.Pointer(&id)) != nil {
			return SyscallEvent{}, true, false
		}
		return ev, true, true
	case "":
		// Not a call this profile notifies (cannot happen): refuse it.
		ev.Syscall = fmt.Sprintf("syscall %d", d.Nr)
		ev.Refused, report = true, true
	default:
		ev.Refused, report = true, true
	}

	ev.Pid = threadGroup(tid)
	l.isInit(tid, ev.Pid)
	ev.Env = environKeys(tid, l.m.EnvKeys)
	ev.Cwd = procLink(tid, "cwd")
	ev.Exe = procLink(tid, "exe")
	// Validity only ever goes from true to false: if the notification is
	// still pending now, the thread was alive (and its pid ours to read)
	// through every read above.
	id := req.ID
	if ioctlPtr(fd, unix.SECCOMP_IOCTL_NOTIF_ID_VALID, unsafe.Pointer(&id)) != nil {
		return SyscallEvent{}, observe, false
	}
	return ev, observe, report
}

// connectedDNS fills ev for a send without an address on socket fd when the
// socket's peer is a DNS server (port 53), decoding the query of n bytes at
// buf; false when it is not (the send is not reported: its connect was).
func (l *monitorListener) connectedDNS(ev *SyscallEvent, mem *procMemory, tid int, fd int32, buf, n uint64) bool {
	p, ok := l.peers.peer(tid, threadGroup(tid), fd)
	if !ok || !isDNSPort(p.addr) {
		return false
	}
	ev.Addr = p.addr
	ev.DNSName, ev.DNSType = mem.dnsQuestion(buf, n, p.stream)
	return true
}

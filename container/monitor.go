package container

import "time"

// Monitor asks Run to watch the container's processes through seccomp user
// notification: every attempt at the network (connect, sendto with an address,
// sendmsg with an address, a DNS query with its question), every program
// started (execve, execveat), every process detaching from the script (setsid),
// every process ending (exit_group, with what it leaves running) and every call
// the filter refuses is reported to OnEvent. The monitor only records: what a process may do is
// still decided by the sandbox (network namespace, mounts, the filter), never
// by the memory read here, which the process can change after it is read.
//
// OnEvent is called from the listener goroutine, in order; it must not block
// long: while it runs, the next watched call of every process in the container
// waits.
type Monitor struct {
	OnEvent func(SyscallEvent)
	// EnvKeys are the environment variables read from /proc/PID/environ into
	// SyscallEvent.Env (attribution: npm_package_name, CARGO_PKG_NAME, ...).
	EnvKeys []string
}

// SyscallEvent is one watched system call made in the container.
type SyscallEvent struct {
	Time time.Time
	// Pid is the host pid of the calling thread group.
	Pid int
	// Syscall is "connect", "sendto", "sendmsg", "sendmmsg", "execve",
	// "execveat", "setsid", "exit_group", or a refused call's name ("unshare", "mount",
	// ...). Watched calls are attempts: the event is made before the call
	// runs, so it may still fail (an execve along $PATH, a connect without a
	// route).
	Syscall string
	// Refused: the filter refuses this call (answered EPERM); false: the call
	// went on.
	Refused bool
	// Addr is the destination of connect/sendto/sendmsg (sendmmsg: of its
	// first message): "203.0.113.5:443",
	// "[2001:db8::1]:443", "unix:/path", "unix:@abstract", "netlink",
	// "family N"; "" if unreadable. A send without an address on a
	// socket connected to port 53 is reported with the socket's peer; other
	// sends on connected sockets are not reported (their connect was).
	Addr string
	// DNSName and DNSType are the question of a DNS query sent to port 53
	// (sendto, sendmsg, sendmmsg's first message, or a send on a socket
	// connected there): "exfil.example.com", "A". Bytes of the name outside
	// [A-Za-z0-9-_] are escaped as \DDD; "" when the payload is no query.
	DNSName, DNSType string
	// Path is execve/execveat's program path as passed; for execveat of an
	// open file (fexecve, AT_EMPTY_PATH) the file's path, e.g.
	// "/memfd:x (deleted)".
	Path string
	// Argv is execve/execveat's arguments: up to 64, each cut at 4 KiB.
	Argv []string
	// Env holds the Monitor.EnvKeys found in the calling process's
	// environment.
	Env map[string]string
	// ExecEnv (execve/execveat) holds the Monitor.EnvKeys found in the
	// environment given to the new program: npm starting a package's
	// lifecycle script sets npm_package_name there, not in its own
	// environment. Values are cut at 256 bytes, less the key.
	ExecEnv map[string]string
	// Cwd is the process's working directory as seen inside the container.
	Cwd string
	// Exe is the process's executable as seen inside the container.
	Exe string

	// exit_group: reported while the process is still there, before the call
	// runs (OnEvent is called before the listener answers it). Init: it is
	// the container's first process, whose end kills every other one: when
	// others still run, its report waits up to 300 ms for them to end by
	// themselves (their own calls are answered meanwhile). Running lists the container's other processes still running (not
	// zombies); it reads /proc, so call it only when needed, and only during
	// OnEvent. Env, Cwd and Exe are not read for an exit.
	Init    bool
	Running func() []Process
}

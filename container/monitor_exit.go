package container

import (
	"os"
	"strconv"
	"strings"
)

// Process is a process of the container still running when one of its
// processes ends (SyscallEvent.Running): what the monitor knows of it, read
// from the host's /proc. Everything but Pid and StartTime is the process's own
// say.
type Process struct {
	// Pid is the host pid; PPid the host pid of its parent now (an orphan's
	// is the container's init).
	Pid, PPid int
	// StartTime is when it started, in clock ticks since boot (/proc's stat):
	// with Pid, it names the process even after the pid is reused.
	StartTime uint64
	Argv      []string
	// Env holds the Monitor.EnvKeys found in its environment.
	Env      map[string]string
	Cwd, Exe string
}

// monitorMaxRunning caps the processes listed at an exit.
const monitorMaxRunning = 256

// isNamespaceInit reports whether thread tid is its pid namespace's init (the
// container's first process): the last of /proc's NSpid is 1.
func isNamespaceInit(tid int) bool {
	for _, line := range strings.Split(string(readCapped("/proc/"+strconv.Itoa(tid)+"/status", monitorMaxStatus)), "\n") {
		if v, ok := strings.CutPrefix(line, "NSpid:"); ok {
			f := strings.Fields(v)
			return len(f) > 1 && f[len(f)-1] == "1"
		}
	}
	return false
}

// procStat reads a process's state, parent and start time from /proc/PID/stat.
func procStat(pid int) (state byte, ppid int, start uint64, ok bool) {
	b := readCapped("/proc/"+strconv.Itoa(pid)+"/stat", 2048)
	// The command may hold spaces and parentheses: the fields follow the last ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, 0, 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return 0, 0, 0, false
	}
	ppid, err1 := strconv.Atoi(f[1])
	start, err2 := strconv.ParseUint(f[19], 10, 64)
	if err1 != nil || err2 != nil || len(f[0]) != 1 {
		return 0, 0, 0, false
	}
	return f[0][0], ppid, start, true
}

// runningBeside lists the processes of tgid's pid namespace that still run
// (zombies are done: they are left out), other than tgid itself: the host's
// /proc is searched for the namespace, since an orphan is no descendant of the
// process that started it any more. At most monitorMaxRunning.
func runningBeside(tgid int, keys []string) []Process {
	ns := procLink(tgid, "ns/pid")
	if ns == "" {
		return nil
	}
	d, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	names, _ := d.Readdirnames(-1)
	d.Close()
	var out []Process
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil || pid == tgid || procLink(pid, "ns/pid") != ns {
			continue
		}
		state, ppid, start, ok := procStat(pid)
		if !ok || state == 'Z' || state == 'X' || state == 'x' {
			continue
		}
		p := Process{Pid: pid, PPid: ppid, StartTime: start, Env: environKeys(pid, keys),
			Cwd: procLink(pid, "cwd"), Exe: procLink(pid, "exe")}
		if c := readCapped("/proc/"+n+"/cmdline", monitorMaxArg); len(c) > 0 {
			p.Argv = strings.Split(strings.TrimRight(string(c), "\x00"), "\x00")
			if len(p.Argv) > monitorMaxArgs {
				p.Argv = p.Argv[:monitorMaxArgs]
			}
		}
		out = append(out, p)
		if len(out) >= monitorMaxRunning {
			break
		}
	}
	return out
}

// StillRunning reports whether the process pid that started at start (see
// Process.StartTime) still runs: neither gone nor a zombie.
func StillRunning(pid int, start uint64) bool {
	state, _, st, ok := procStat(pid)
	return ok && st == start && state != 'Z' && state != 'X' && state != 'x'
}

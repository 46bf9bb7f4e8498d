// Command attacks is the hostile (and the harmless) workload the integration tests run
// inside `phylum-box run`. Each subcommand tries one thing and reports the outcome:
//
//	exit 0   the operation succeeded (what it printed is on stdout)
//	exit 10  the operation was refused; the reason is on stderr
//	exit 2   the command line was wrong
//
// It is built with CGO_ENABLED=0 so it runs in any root file system, and copied into
// the project directory, the one place the container sees at the same path as the host.
package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

const refused = 10

type command struct {
	args int // minimum number of arguments
	run  func(args []string) error
}

var commands = map[string]command{
	"read":          {1, cmdRead},
	"write":         {2, cmdWrite},
	"env":           {0, cmdEnv},
	"connect":       {1, cmdConnect},
	"connect-unix":  {1, cmdConnectUnix},
	"serve":         {2, cmdServe},
	"dnsserve":      {3, cmdDNSServe},
	"dns":           {2, cmdDNS},
	"resolve":       {1, cmdResolve},
	"ps":            {0, cmdPs},
	"kill0":         {1, cmdKill0},
	"childsignal":   {0, cmdChildSignal},
	"clone-userns":  {0, cmdCloneUserns},
	"mount":         {1, cmdMount},
	"syscalls":      {0, cmdSyscalls},
	"tiocsti":       {0, cmdTIOCSTI},
	"fds":           {0, cmdFds},
	"status":        {0, cmdStatus},
	"fork":          {1, cmdFork},
	"forkbomb":      {2, cmdForkBomb},
	"mem":           {1, cmdMem},
	"cpuburn":       {2, cmdCPUBurn},
	"mkfiles":       {3, cmdMkfiles},
	"findsecret":    {1, cmdFindSecret},
	"deep":          {1, cmdDeep},
	"sleep-forever": {0, func([]string) error { select {} }},
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	c, ok := commands[os.Args[1]]
	if !ok || len(os.Args)-2 < c.args {
		usage()
	}
	if err := c.run(os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "attack %s: refused: %v\n", os.Args[1], err)
		os.Exit(refused)
	}
}

func usage() {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(os.Stderr, "usage: attacks {%s} ARGS...\n", strings.Join(names, "|"))
	os.Exit(2)
}

func cmdRead(a []string) error {
	b, err := os.ReadFile(a[0])
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(b)
	return err
}

func cmdWrite(a []string) error {
	return os.WriteFile(a[0], []byte(a[1]), 0o644)
}

func cmdEnv([]string) error {
	for _, kv := range os.Environ() {
		fmt.Println(kv)
	}
	return nil
}

func cmdPs([]string) error {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return err
	}
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err == nil {
			cmd, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
			fmt.Printf("%s %s\n", e.Name(), strings.ReplaceAll(string(bytes.TrimRight(cmd, "\x00")), "\x00", " "))
		}
	}
	return nil
}

func cmdKill0(a []string) error {
	pid, err := strconv.Atoi(a[0])
	if err != nil {
		return err
	}
	return syscall.Kill(pid, 0)
}

// cmdChildSignal is the legitimate twin of kill0: a process may signal its own child.
func cmdChildSignal([]string) error {
	c := exec.Command("/bin/sleep", "30")
	if err := c.Start(); err != nil {
		return err
	}
	if err := c.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	err := c.Wait()
	ws, ok := c.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
		return fmt.Errorf("child did not die of SIGTERM: %v", err)
	}
	fmt.Println("child terminated by SIGTERM")
	return nil
}

// cmdCloneUserns starts /bin/true in a new user namespace with clone(2) flags, the
// route a Go or C program takes without calling unshare(2).
func cmdCloneUserns([]string) error {
	c := exec.Command("/bin/true")
	c.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER}
	return c.Run()
}

func cmdMount(a []string) error {
	if err := os.MkdirAll(a[0], 0o755); err != nil {
		return fmt.Errorf("mkdir (not the attack): %w", err)
	}
	return unix.Mount("none", a[0], "tmpfs", 0, "size=1m")
}

// cmdSyscalls tries each call the seccomp profile must refuse, in a form an
// unprivileged process could otherwise make succeed, and prints "name result" lines.
// getpid is the control.
func cmdSyscalls([]string) error {
	try := func(name string, f func() error) {
		if err := f(); err != nil {
			fmt.Printf("%s %v\n", name, err)
			return
		}
		fmt.Printf("%s OK\n", name)
	}
	try("getpid", func() error { _ = unix.Getpid(); return nil })
	try("keyctl", func() error {
		_, err := unix.AddKey("user", "pbox-it", []byte("x"), unix.KEY_SPEC_PROCESS_KEYRING)
		return err
	})
	try("bpf", func() error {
		// BPF_MAP_CREATE of a tiny array map.
		attr := [5]uint32{2 /* BPF_MAP_TYPE_ARRAY */, 4, 4, 1, 0}
		fd, _, e := unix.Syscall(unix.SYS_BPF, 0, uintptr(unsafe.Pointer(&attr[0])), unsafe.Sizeof(attr))
		if e != 0 {
			return e
		}
		unix.Close(int(fd))
		return nil
	})
	try("perf_event_open", func() error {
		attr := unix.PerfEventAttr{Type: unix.PERF_TYPE_SOFTWARE, Config: unix.PERF_COUNT_SW_TASK_CLOCK,
			Size: uint32(unsafe.Sizeof(unix.PerfEventAttr{})), Bits: unix.PerfBitDisabled | unix.PerfBitExcludeKernel | unix.PerfBitExcludeHv}
		fd, err := unix.PerfEventOpen(&attr, 0, -1, -1, 0)
		if err == nil {
			unix.Close(fd)
		}
		return err
	})
	try("userfaultfd", func() error {
		const uffdUserModeOnly = 1
		fd, _, e := unix.Syscall(unix.SYS_USERFAULTFD, unix.O_CLOEXEC|uffdUserModeOnly, 0, 0)
		if e != 0 {
			return e
		}
		unix.Close(int(fd))
		return nil
	})
	try("unshare-user", func() error {
		// In a multi-threaded Go process unshare(CLONE_NEWUSER) is always EINVAL, so
		// this row is informative only; unshare(1) and clone-userns are the real probes.
		return unix.Unshare(unix.CLONE_NEWUSER)
	})
	try("unshare-mount", func() error {
		runtime.LockOSThread()
		return unix.Unshare(unix.CLONE_NEWNS)
	})
	// Fresh directories as targets, so that even an unconfined run hides nothing.
	mnt, err := os.MkdirTemp("", "pbox-it-mnt-")
	if err != nil {
		return err
	}
	try("mount", func() error { return unix.Mount("none", mnt, "tmpfs", 0, "") })
	try("pivot_root", func() error {
		// On a directory that is not a mount point a permitted pivot_root fails
		// with EINVAL (so this probe can never pivot anything); EPERM means the
		// call itself was refused.
		dir, err := os.MkdirTemp("", "pbox-it-pivot-")
		if err != nil {
			return err
		}
		err = unix.PivotRoot(dir, dir)
		if err == unix.EINVAL {
			return nil
		}
		return err
	})
	try("setns", func() error {
		fd, err := unix.Open("/proc/self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		return unix.Setns(fd, 0)
	})
	return nil
}

// cmdTIOCSTI tries to push characters into the input of the terminal on stdin, the
// classic way to make the user's shell run a command after the sandbox exits. It
// makes the terminal its controlling one first, so that only the seccomp profile
// (not the ownership check) stands in the way. TIOCGWINSZ is the control.
func cmdTIOCSTI([]string) error {
	if _, err := unix.IoctlGetWinsize(0, unix.TIOCGWINSZ); err != nil {
		fmt.Printf("TIOCGWINSZ %v\n", err)
	} else {
		fmt.Println("TIOCGWINSZ OK")
	}
	if _, err := unix.Setsid(); err != nil {
		fmt.Printf("setsid %v\n", err)
	}
	if err := unix.IoctlSetInt(0, unix.TIOCSCTTY, 0); err != nil {
		fmt.Printf("TIOCSCTTY %v\n", err)
	}
	var firstErr error
	for _, c := range []byte("id\n") {
		b := c
		_, _, e := unix.Syscall(unix.SYS_IOCTL, 0, unix.TIOCSTI, uintptr(unsafe.Pointer(&b)))
		if e != 0 {
			firstErr = e
			break
		}
	}
	if firstErr != nil {
		fmt.Printf("TIOCSTI %v\n", firstErr)
		return firstErr
	}
	fmt.Println("TIOCSTI OK")
	return nil
}

// cmdFds lists the open descriptors with raw system calls, so that the Go runtime's
// own poller descriptors are not opened and counted.
func cmdFds([]string) error {
	dfd, err := unix.Open("/proc/self/fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	buf := make([]byte, 8192)
	var names []string
	for {
		n, err := unix.Getdents(dfd, buf)
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
	for _, name := range names {
		if name == strconv.Itoa(dfd) {
			continue
		}
		target, _ := os.Readlink("/proc/self/fd/" + name)
		fmt.Printf("%s %s\n", name, target)
	}
	return nil
}

func cmdStatus([]string) error {
	for _, f := range []string{"/proc/self/status", "/proc/self/uid_map", "/proc/self/gid_map"} {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		fmt.Printf("== %s\n%s", f, b)
	}
	return nil
}

// cmdFork is the legitimate twin of the fork bomb: N short-lived children.
func cmdFork(a []string) error {
	n, err := strconv.Atoi(a[0])
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		if err := exec.Command("/bin/true").Run(); err != nil {
			return err
		}
	}
	fmt.Printf("forked %d\n", n)
	return nil
}

// cmdForkBomb keeps up to N children (`sleep SECS`) alive (bounded, so that a sandbox that
// fails to limit pids does not take the shared machine down). When fork starts to
// fail it waits a moment (a real bomb keeps trying) and reports.
func cmdForkBomb(a []string) error {
	n, err := strconv.Atoi(a[0])
	if err != nil {
		return err
	}
	var kids []*exec.Cmd
	for i := 0; i < n; i++ {
		c := exec.Command("/bin/sleep", a[1])
		if err := c.Start(); err != nil {
			fmt.Printf("fork failed after %d children: %v\n", len(kids), err)
			time.Sleep(time.Second)
			return err
		}
		kids = append(kids, c)
	}
	fmt.Printf("started %d children without hitting a limit\n", len(kids))
	return nil
}

// cmdMem touches MiB mebibytes of anonymous memory in 16 MiB steps.
func cmdMem(a []string) error {
	mib, err := strconv.Atoi(a[0])
	if err != nil {
		return err
	}
	var keep [][]byte
	for done := 0; done < mib; done += 16 {
		b := make([]byte, 16<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = byte(i)
		}
		keep = append(keep, b)
	}
	fmt.Printf("touched %d MiB\n", len(keep)*16)
	return nil
}

// cmdCPUBurn spins THREADS busy loops for DURATION of wall time and prints the CPU
// time the process got, so the test can compare it with the --cpus quota.
func cmdCPUBurn(a []string) error {
	threads, err := strconv.Atoi(a[0])
	if err != nil {
		return err
	}
	d, err := time.ParseDuration(a[1])
	if err != nil {
		return err
	}
	deadline := time.Now().Add(d)
	done := make(chan struct{})
	for i := 0; i < threads; i++ {
		go func() {
			x := 0
			for time.Now().Before(deadline) {
				for j := 0; j < 100000; j++ {
					x += j
				}
			}
			_ = x
			done <- struct{}{}
		}()
	}
	for i := 0; i < threads; i++ {
		<-done
	}
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return err
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	fmt.Printf("cpu_seconds %.3f\n", cpu.Seconds())
	return nil
}

// cmdMkfiles creates DIR/d<i>/f<j> for NDIRS×NFILES small files (a node_modules-like tree).
func cmdMkfiles(a []string) error {
	nd, err := strconv.Atoi(a[1])
	if err != nil {
		return err
	}
	nf, err := strconv.Atoi(a[2])
	if err != nil {
		return err
	}
	var content [64]byte
	for i := 0; i < nd; i++ {
		dir := filepath.Join(a[0], fmt.Sprintf("pkg%04d", i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		for j := 0; j < nf; j++ {
			binary.LittleEndian.PutUint32(content[:], uint32(i*nf+j))
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%03d.js", j)), content[:], 0o644); err != nil {
				return err
			}
		}
	}
	fmt.Printf("created %d files\n", nd*nf)
	return nil
}

// cmdFindSecret walks the whole visible file system (but /proc, /sys, /dev and the
// read-only system trees) and reports every readable file that contains MARK.
func cmdFindSecret(a []string) error {
	mark := []byte(a[0])
	var found []string
	skip := map[string]bool{"/proc": true, "/sys": true, "/dev": true, "/usr": true}
	_ = filepath.WalkDir("/", func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && skip[p] {
			return filepath.SkipDir
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if info, err := d.Info(); err != nil || info.Size() > 1<<20 {
			return nil
		}
		b, err := os.ReadFile(p)
		if err == nil && bytes.Contains(b, mark) {
			found = append(found, p)
		}
		return nil
	})
	if len(found) > 0 {
		fmt.Println(strings.Join(found, "\n"))
		return nil
	}
	return fmt.Errorf("no readable file contains the mark")
}

// cmdDeep makes N nested directories "d" below the working directory with *at
// calls (so no path is ever longer than one name) and writes "f" at the bottom: a
// tree deeper than PATH_MAX.
func cmdDeep(a []string) error {
	n, err := strconv.Atoi(a[0])
	if err != nil {
		return err
	}
	fd, err := unix.Open(".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		if err := unix.Mkdirat(fd, "d", 0o755); err != nil {
			return fmt.Errorf("mkdir at depth %d: %w", i, err)
		}
		next, err := unix.Openat(fd, "d", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		unix.Close(fd)
		fd = next
	}
	f, err := unix.Openat(fd, "f", unix.O_WRONLY|unix.O_CREAT|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return err
	}
	_, err = unix.Write(f, []byte("deep\n"))
	unix.Close(f)
	fmt.Printf("made %d levels\n", n)
	return err
}

// Command phylum-box runs package installs behind a precheck and inside a rootless sandbox.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"golang.org/x/sys/unix"

	// First: the container's init process is this same binary re-executed as
	// "phylum-box init", and earlyinit takes over before the rest is initialised.
	_ "github.com/phylum-box/phylum-box/cmd/phylum-box/internal/earlyinit"

	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/cmdutil"
	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/root"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	stopProfile := startCPUProfile(os.Getenv("PHYLUM_BOX_CPUPROFILE"))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	code := root.Main(ctx, cmdutil.NewApp(), version, os.Args[1:])
	stop()
	stopProfile()
	os.Exit(code)
}

// startCPUProfile writes a Go CPU profile of this process (not of the
// containers' processes) to path when it is set: a developer's switch for
// issue 12's profiling (go tool pprof BINARY PATH). The file is truncated: a
// rootless run re-executes itself from a sealed copy (container.ReexecSealed)
// after this started, and the profile is the re-executed process's; its own
// CPU seconds count the time before the exec too (the same process).
func startCPUProfile(path string) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		fmt.Fprintf(os.Stderr, "phylum-box: PHYLUM_BOX_CPUPROFILE: %v\n", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintf(os.Stderr, "phylum-box: PHYLUM_BOX_CPUPROFILE: %v\n", err)
		f.Close()
		return func() {}
	}
	// The runtime samples each thread with its own timer (timer_create), and
	// arms the process-wide ITIMER_PROF too. An itimer survives execve: a
	// command phylum-box hands over to (syscall.Exec: pass-through, the sealed
	// re-exec) would die of its SIGPROF ("Profiling timer expired"). Disarmed,
	// the per-thread timers, which exec deletes, still sample every thread.
	if _, err := unix.Setitimer(unix.ItimerProf, unix.Itimerval{}); err != nil {
		fmt.Fprintf(os.Stderr, "phylum-box: PHYLUM_BOX_CPUPROFILE: %v\n", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
		// This process's own CPU, its threads only (the containers are
		// children, not counted): the figure the profile divides.
		var ru syscall.Rusage
		if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
			fmt.Fprintf(os.Stderr, "phylum-box: own CPU: user %.3fs, system %.3fs, max RSS %d KiB\n",
				float64(ru.Utime.Nano())/1e9, float64(ru.Stime.Nano())/1e9, ru.Maxrss)
		}
	}
}

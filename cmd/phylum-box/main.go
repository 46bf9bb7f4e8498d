// Command phylum-box runs package installs behind a precheck and inside a rootless sandbox.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

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
// issue 12's profiling (go tool pprof BINARY PATH). The file is created new
// (O_EXCL), so the switch never overwrites an existing file.
func startCPUProfile(path string) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		fmt.Fprintf(os.Stderr, "phylum-box: PHYLUM_BOX_CPUPROFILE: %v\n", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintf(os.Stderr, "phylum-box: PHYLUM_BOX_CPUPROFILE: %v\n", err)
		f.Close()
		return func() {}
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

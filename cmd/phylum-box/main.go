// Command phylum-box runs package installs behind a precheck and inside a rootless sandbox.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/cmdutil"
	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/root"
	"github.com/phylum-box/phylum-box/container"
)

func init() {
	// libcontainer's nsenter/init dance requires the main goroutine to stay on the
	// main OS thread; without this the main thread is left in the container's mount
	// namespace on most runs (measured, see DESIGN.md).
	runtime.LockOSThread()
	// The container's init process is this same binary re-executed as "phylum-box init".
	container.MaybeInit()
}

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	code := root.Main(ctx, cmdutil.NewApp(), version, os.Args[1:])
	stop()
	os.Exit(code)
}

// Command phylum-box runs package installs behind a precheck and inside a rootless sandbox.
package main

import (
	"context"
	"os"
	"os/signal"
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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	code := root.Main(ctx, cmdutil.NewApp(), version, os.Args[1:])
	stop()
	os.Exit(code)
}

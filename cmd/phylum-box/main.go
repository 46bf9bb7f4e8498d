// Command phylum-box runs package installs behind a precheck and inside a rootless sandbox.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/phylum-box/phylum-box/container"
	"github.com/phylum-box/phylum-box/internal/exitcode"
)

func init() {
	// libcontainer's nsenter/init dance requires the main goroutine to stay on the
	// main OS thread; without this the main thread is left in the container's mount
	// namespace on most runs (measured, see DESIGN.md).
	runtime.LockOSThread()
	// The container's init process is this same binary re-executed as "phylum-box init".
	container.MaybeInit()
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	code := Main(ctx, NewApp(), os.Args[1:])
	stop()
	os.Exit(code)
}

// Main parses argv, runs one command and returns the process exit code. Errors
// are printed here, once; only this maps them to exit codes (a command returns an
// *exitcode.Error for anything but an internal error).
func Main(ctx context.Context, app *App, args []string) int {
	f := &Factory{App: app}
	err := execute(ctx, NewCmdRoot(f), args)
	if err == nil {
		return exitcode.OK
	}
	var ee *exitcode.Error
	code := exitcode.Internal
	if errors.As(err, &ee) {
		code = ee.Code
	}
	var silent *silentError
	if !errors.As(err, &silent) {
		app.Log.Error(err.Error())
	}
	return code
}

// silentError carries an exit code whose cause was already reported (for example the
// wrapped command's own non-zero exit).
type silentError struct{ code int }

func (e *silentError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// ExitSilently makes the process exit with code without printing anything more.
func ExitSilently(code int) error {
	if code == 0 {
		return nil
	}
	return exitcode.With(code, &silentError{code})
}

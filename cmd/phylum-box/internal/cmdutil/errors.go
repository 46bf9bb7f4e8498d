package cmdutil

import (
	"errors"
	"fmt"

	"github.com/phylum-box/phylum-box/internal/exitcode"
)

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

// UsageError is a usage error (exit 2) with a formatted message.
func UsageError(format string, a ...any) error {
	return exitcode.With(exitcode.Usage, fmt.Errorf(format, a...))
}

// ExitCode maps err to the exit-code contract: nil is 0, an *exitcode.Error its
// code, anything else an internal error. Only cmd maps errors to exit codes.
func ExitCode(err error) int {
	if err == nil {
		return exitcode.OK
	}
	var ee *exitcode.Error
	if errors.As(err, &ee) {
		return ee.Code
	}
	return exitcode.Internal
}

// Report prints err once, unless its cause was already reported, and returns the
// exit code.
func Report(app *App, err error) int {
	if err == nil {
		return exitcode.OK
	}
	var silent *silentError
	if !errors.As(err, &silent) {
		app.Log.Error(err.Error())
	}
	return ExitCode(err)
}

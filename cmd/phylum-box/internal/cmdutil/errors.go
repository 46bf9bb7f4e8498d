package cmdutil

import (
	"errors"
	"fmt"

	"github.com/phylum-box/phylum-box/internal/exitcode"
	"github.com/phylum-box/phylum-box/managers"
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
// code, the managers' plain errors theirs (a *managers.Refusal or
// *InvalidProject 2, an *UnusableResult 5, a *ForbiddenWrite 4), anything else
// an internal error. Only cmd maps errors to exit codes.
func ExitCode(err error) int {
	if err == nil {
		return exitcode.OK
	}
	var (
		ee       *exitcode.Error
		ref      *managers.Refusal
		invalid  *managers.InvalidProject
		unusable *managers.UnusableResult
		write    *managers.ForbiddenWrite
	)
	switch {
	case errors.As(err, &ee):
		return ee.Code
	case errors.As(err, &ref), errors.As(err, &invalid):
		return exitcode.Usage
	case errors.As(err, &unusable):
		return exitcode.Incomplete
	case errors.As(err, &write):
		return exitcode.Sandbox
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

// Package exitcode holds phylum-box's exit-code contract (see README "Exit codes").
//
// The wrapped package manager's own exit code is passed through unchanged when it
// fails for its own reasons; the codes below are phylum-box's own verdicts.
package exitcode

const (
	OK         = 0 // success
	Internal   = 1 // phylum-box itself failed
	Usage      = 2 // bad command line or bad input file
	Blocked    = 3 // the precheck policy blocked the install
	Sandbox    = 4 // stopped in the sandbox: limit hit, timeout, forbidden behaviour, refused writes
	Incomplete = 5 // the precheck could not decide (unknown package, stale or missing database) under a fail-closed policy
)

// Error is an error that carries the exit code the process should end with.
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// With wraps err so that the top level exits with code.
func With(code int, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Code: code, Err: err}
}

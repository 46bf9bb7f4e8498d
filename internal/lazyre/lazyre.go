// Package lazyre holds regular expressions that are compiled when first used
// rather than when the program starts.
//
// Every phylum-box command starts this binary, and the container's init re-executes
// it for every step; a package-level regexp.MustCompile is paid by every one of
// those starts, also by the many that never match anything against it (the
// precheck's pattern tables alone took about 10 ms of CPU per start).
package lazyre

import (
	"regexp"
	"sync"
)

var (
	registeredMu sync.Mutex
	registered   []string
)

// New returns a function that compiles expr on its first call and returns the
// same *regexp.Regexp to every call. Like regexp.MustCompile it panics if expr
// does not compile — on first use instead of at start-up, which is why every
// package using it tests CompileAll.
func New(expr string) func() *regexp.Regexp {
	registeredMu.Lock()
	registered = append(registered, expr)
	registeredMu.Unlock()
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

// CompileAll compiles every expression given to New so far (in a test binary:
// those of the package under test and of everything it imports) and returns
// the first that does not compile.
func CompileAll() error {
	registeredMu.Lock()
	exprs := append([]string(nil), registered...)
	registeredMu.Unlock()
	for _, e := range exprs {
		if _, err := regexp.Compile(e); err != nil {
			return err
		}
	}
	return nil
}

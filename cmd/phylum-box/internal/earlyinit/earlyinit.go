// Package earlyinit turns phylum-box into libcontainer's container init before
// the rest of the program is initialised.
//
// libcontainer re-executes this binary as "phylum-box init" for every container
// step (resolve, download, build of each install), and a Go program runs every
// imported package's initialisation before main's: the precheck's pattern
// tables, the managers' settings tables and the libraries behind them, none of
// which the container's init uses. The linker initialises packages in
// dependency order, choosing among the packages that are ready by import path,
// so this package, which imports only the container package, runs soon after
// the container package and its dependencies are initialised: before the
// precheck, the managers and the install (integration test
// TestStartupContainerInitSkipsTheRest). The main package imports it for that
// side effect.
package earlyinit

import (
	"runtime"

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

package container

import (
	"os"
	"runtime"

	"github.com/opencontainers/runc/libcontainer"
	// nsenter must run in the re-executed init before the Go runtime starts threads.
	_ "github.com/opencontainers/runc/libcontainer/nsenter"
)

// initArg is argv[1] of the binary when libcontainer re-executes it as the
// container's init process.
const initArg = "init"

// MaybeInit turns the process into libcontainer's container init when it was
// re-executed for that purpose. It never returns in that case. Call it from the
// main package's init function, before anything else runs.
func MaybeInit() {
	if len(os.Args) > 1 && os.Args[1] == initArg {
		runtime.GOMAXPROCS(1)
		runtime.LockOSThread()
		libcontainer.Init()
		panic("libcontainer.Init returned")
	}
}

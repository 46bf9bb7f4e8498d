package run

import (
	"runtime"

	"github.com/phylum-box/phylum-box/container"
)

func init() {
	// The test binary is also the container's init (libcontainer re-executes
	// /proc/self/exe with argv[1] == "init"), as cmd/phylum-box/main.go is.
	runtime.LockOSThread()
	container.MaybeInit()
}

package install

import (
	"os"
	"runtime"
	"testing"

	"github.com/phylum-box/phylum-box/container"
)

func init() {
	// The test binary is also the container's init (libcontainer re-executes
	// /proc/self/exe with argv[1] == "init"); see cmd/phylum-box/main.go.
	runtime.LockOSThread()
	container.MaybeInit()
}

func TestMain(m *testing.M) {
	// Rootless, libcontainer copies the binary into a memfd for every container
	// unless the process already runs from one; run the tests the way a
	// multi-container phylum-box process does.
	if err := container.ReexecSealed(); err != nil {
		println("ReexecSealed:", err.Error())
	}
	os.Exit(m.Run())
}

package testutil

import (
	"os"
	"runtime"
	"testing"

	"github.com/phylum-box/phylum-box/container"
	"github.com/phylum-box/phylum-box/internal/egress"
)

// A test binary that starts containers is re-executed in the roles the phylum-box
// binary is (see cmd/phylum-box/main.go): as the container's init (libcontainer
// runs /proc/self/exe with argv[1] == "init"), and as the egress bridge of a step
// with Egress (container.Executable with argv[1] == egress.BridgeCommand). The
// init role must be taken during package initialisation, as main does, and
// LockOSThread there keeps the test binary's main goroutine on the main thread,
// which libcontainer's namespace switching needs; both are no-ops for a test
// binary that imports this package without starting containers.
func init() {
	runtime.LockOSThread()
	container.MaybeInit()
}

// ContainerMain is the TestMain of a package whose tests start containers:
//
//	func TestMain(m *testing.M) { testutil.ContainerMain(m) }
//
// It serves the egress-bridge role, then runs the tests from a sealed copy of the
// binary: rootless, libcontainer copies the binary into a memfd for every
// container unless the process already runs from one, so the tests (and
// benchmarks) run the way a multi-container phylum-box process does.
func ContainerMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == egress.BridgeCommand {
		socket, listen, argv, err := egress.ParseBridgeArgs(os.Args[2:])
		if err != nil {
			println(err.Error())
			os.Exit(2)
		}
		code, err := egress.Bridge(socket, listen, argv, os.Stdin, os.Stdout, os.Stderr)
		if err != nil {
			println(err.Error())
		}
		os.Exit(code)
	}
	if err := container.ReexecSealed(); err != nil {
		println("ReexecSealed:", err.Error())
	}
	os.Exit(m.Run())
}

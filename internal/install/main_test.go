package install

import (
	"os"
	"runtime"
	"testing"

	"github.com/phylum-box/phylum-box/container"
	"github.com/phylum-box/phylum-box/internal/egress"
)

func init() {
	// The test binary is also the container's init (libcontainer re-executes
	// /proc/self/exe with argv[1] == "init"); see cmd/phylum-box/main.go.
	runtime.LockOSThread()
	container.MaybeInit()
	// Steps with Egress run this binary (container.Executable) as their bridge.
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

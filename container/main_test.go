package container_test

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
	os.Exit(m.Run())
}

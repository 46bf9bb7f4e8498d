package behaviour

import (
	"os"
	"runtime"
	"testing"

	"github.com/phylum-box/phylum-box/container"
)

func init() {
	// The test binary is also the container's init (see internal/sandbox).
	runtime.LockOSThread()
	container.MaybeInit()
}

func TestMain(m *testing.M) {
	if err := container.ReexecSealed(); err != nil {
		println("ReexecSealed:", err.Error())
	}
	os.Exit(m.Run())
}

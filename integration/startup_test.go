package integration

// The start-up cost of the binary: libcontainer re-executes phylum-box as
// "phylum-box init" for every container step, and that process needs only the
// container package. GODEBUG=inittrace=1 makes the Go runtime print a line for
// every package whose initialisation ran, so the tests can see which did.

import (
	"os/exec"
	"strings"
	"testing"
)

// Packages whose initialisation the container's init must not pay for (each has
// package-level work, so the trace names it whenever it runs).
var notInContainerInit = []string{
	"github.com/phylum-box/phylum-box/managers",
	"github.com/phylum-box/phylum-box/precheck/analysis",
	"github.com/phylum-box/phylum-box/internal/install",
	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/manager",
}

// initialised lists the packages the trace says were initialised.
func initialised(stderr string) map[string]bool {
	pkgs := map[string]bool{}
	for _, l := range strings.Split(stderr, "\n") {
		if f := strings.Fields(l); len(f) > 2 && f[0] == "init" && strings.HasPrefix(f[2], "@") {
			pkgs[f[1]] = true
		}
	}
	return pkgs
}

func TestStartupContainerInitSkipsTheRest(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		home := newHome(t, m)
		trace := []string{"GODEBUG=inittrace=1"}

		// Outside a container there is no sync pipe: libcontainer's init fails
		// right after taking over, which is the point it is measured to.
		r := invocation{Mode: m, Args: []string{"init"}, Home: home, Dir: home, Env: trace}.exec(t)
		wantCode(t, r, 255, "libcontainer's init without its pipes")
		wantStderr(t, r, "_LIBCONTAINER_SYNCPIPE")
		got := initialised(r.Stderr)
		if !got["github.com/phylum-box/phylum-box/container"] {
			t.Fatalf("the trace does not show the container package initialised:\n%s", r)
		}
		for _, p := range notInContainerInit {
			if got[p] {
				t.Errorf("the container's init initialised %s first:\n%s", p, r)
			}
		}

		// The twin: an ordinary command initialises everything it may need, and
		// the same trace shows it.
		r = invocation{Mode: m, Args: []string{"--version"}, Home: home, Dir: home, Env: trace}.exec(t)
		wantCode(t, r, 0, "phylum-box --version")
		got = initialised(r.Stderr)
		for _, p := range notInContainerInit {
			if !got[p] {
				t.Errorf("phylum-box --version did not initialise %s:\n%s", p, r)
			}
		}
	})
}

// BenchmarkStartup is the CPU time of one start of the binary: an ordinary
// command (--version) and the container's init up to where it reads its pipes.
//
//	PHYLUM_BOX_BIN=... go test -tags seccomp -run '^$' -bench Startup -benchtime 50x ./integration/
func BenchmarkStartup(b *testing.B) {
	if suite.binErr != nil {
		b.Fatal(suite.binErr)
	}
	for _, c := range []struct {
		name string
		args []string
		code int
	}{
		{"version", []string{"--version"}, 0},
		{"container-init", []string{"init"}, 255},
	} {
		b.Run(c.name, func(b *testing.B) {
			var cpu float64
			for i := 0; i < b.N; i++ {
				cmd := exec.Command(suite.bin, c.args...)
				cmd.Env = []string{"PATH=/usr/bin:/bin"}
				err := cmd.Run()
				if code := exitCode(err); code != c.code {
					b.Fatalf("phylum-box %s: exit %d (%v), want %d", strings.Join(c.args, " "), code, err, c.code)
				}
				cpu += (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds() * 1000
			}
			b.ReportMetric(cpu/float64(b.N), "cpu-ms/op")
		})
	}
}

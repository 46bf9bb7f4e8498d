package container_test

import (
	"context"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/opencontainers/runc/libcontainer/exeseal"

	"github.com/phylum-box/phylum-box/container"
)

// BenchmarkRunTrue measures one container start and teardown running
// /bin/true: reserve is shared, everything else (config, libcontainer create,
// namespaces, mounts, seccomp, wait, destroy) is per iteration.
func BenchmarkRunTrue(b *testing.B) {
	bx := newBoxB(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		o := bx.run(context.Background(), nil, "/bin/true")
		if o.ExitCode != 0 {
			b.Fatalf("exit %d: %s", o.ExitCode, o.stderr)
		}
	}
}

// BenchmarkExecTrue is the floor: a bare fork+exec of /bin/true.
func BenchmarkExecTrue(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if err := exec.Command("/bin/true").Run(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnshareTrue is util-linux's unshare making the same kinds of
// namespaces (user, mount, pid with a fresh /proc) without any of the rest.
func BenchmarkUnshareTrue(b *testing.B) {
	if _, err := exec.LookPath("unshare"); err != nil {
		b.Skip("no unshare")
	}
	for i := 0; i < b.N; i++ {
		if out, err := exec.Command("unshare", "-Urmpf", "--mount-proc", "/bin/true").CombinedOutput(); err != nil {
			b.Fatalf("%v: %s", err, out)
		}
	}
}

// BenchmarkCloneSelfExe is what libcontainer pays per container to make the
// sealed copy of this binary it starts the init from (overlayfs as root, a memfd
// copy rootless — which ReexecSealed pays once per process instead).
func BenchmarkCloneSelfExe(b *testing.B) {
	for i := 0; i < b.N; i++ {
		f, err := exeseal.CloneSelfExe(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}

func TestReexecSealed(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("as root libcontainer seals through overlayfs; ReexecSealed does nothing")
	}
	if !exeseal.IsSelfExeCloned() {
		t.Fatal("TestMain's ReexecSealed did not leave the process running from a sealed memfd")
	}
	for _, k := range []string{"_PHYLUM_BOX_SEALED", "_PHYLUM_BOX_EXE"} {
		if v, ok := os.LookupEnv(k); ok {
			t.Errorf("%s=%s is still in the environment the process's children inherit", k, v)
		}
	}
	exe, err := container.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(exe); err != nil || !st.Mode().IsRegular() {
		t.Errorf("Executable() = %q (%v), want the binary on disk", exe, err)
	}
}

// BenchmarkRunTrueHostNetwork is BenchmarkRunTrue sharing the host's network
// namespace: the difference is the cost of making (and tearing down) a network
// namespace with its loopback.
func BenchmarkRunTrueHostNetwork(b *testing.B) {
	bx := newBoxB(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		o := bx.run(context.Background(), func(s *container.Spec) { s.Network = true }, "/bin/true")
		if o.ExitCode != 0 {
			b.Fatalf("exit %d: %s", o.ExitCode, o.stderr)
		}
	}
}

// BenchmarkRunWriteDisk runs a container that writes 64 MiB in 1 MiB files and
// removes them, without and with a disk limit (watched, never reached): the
// difference is the watcher's cost on a run that stays under its limit.
func BenchmarkRunWriteDisk(b *testing.B) {
	bx := newBoxB(b)
	script := "for i in $(seq 64); do head -c 1M /dev/zero > /work/f$i; done; sync; rm -f /work/f*"
	for _, bc := range []struct {
		name string
		lim  container.Limits
	}{
		{"no-limit", container.Limits{}},
		{"disk-1GiB", container.Limits{Disk: 1 << 30}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				o := bx.run(context.Background(), func(s *container.Spec) { s.Limits = bc.lim }, "/bin/sh", "-c", script)
				if o.ExitCode != 0 || o.Stopped != container.StopNone {
					b.Fatalf("exit %d stopped %q: %s", o.ExitCode, o.Stopped, o.stderr)
				}
			}
		})
	}
}

// BenchmarkMonitorExec runs a container that starts /bin/true 200 times,
// without and with the behaviour monitor: the difference is what watching
// every execve (a notification, the argv read, the answer) costs a build
// that starts many processes.
func BenchmarkMonitorExec(b *testing.B) {
	if !container.SeccompCompiled {
		b.Skip("built without -tags seccomp: no monitor")
	}
	bx := newBoxB(b)
	script := "for i in $(seq 200); do /bin/true; done"
	for _, bc := range []struct {
		name    string
		monitor bool
	}{{"off", false}, {"on", true}} {
		b.Run(bc.name, func(b *testing.B) {
			events := 0
			cpu0 := cpuTime()
			for b.Loop() {
				var m *container.Monitor
				if bc.monitor {
					m = &container.Monitor{EnvKeys: []string{"npm_package_name"}, OnEvent: func(container.SyscallEvent) { events++ }}
				}
				o := bx.run(context.Background(), func(s *container.Spec) { s.Monitor = m }, "/bin/sh", "-c", script)
				if o.ExitCode != 0 || o.Monitored != bc.monitor {
					b.Fatalf("exit %d monitored %v (%s): %s", o.ExitCode, o.Monitored, o.MonitorNote, o.stderr)
				}
			}
			// CPU time (this process and the container's, user and system)
			// is steadier than wall time on a busy machine.
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
			if bc.monitor && events < 200*b.N {
				b.Fatalf("%d events for %d runs of 200 execs", events, b.N)
			}
		})
	}
}

// cpuTime is the user and system time of this process and its waited-for
// descendants (a container's init and, through it, everything it ran).
func cpuTime() time.Duration {
	var self, kids syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids)
	tv := func(t syscall.Timeval) time.Duration { return time.Duration(t.Nano()) }
	return tv(self.Utime) + tv(self.Stime) + tv(kids.Utime) + tv(kids.Stime)
}

//go:build seccomp

package container_test

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/phylum-box/phylum-box/container"
)

// With PBOX_TEST_OUTER_AGENT=1 the test binary first puts a seccomp listener
// on itself, as a container runtime's agent would, keeps it across exec and
// runs again: TestMonitorUnderOuterAgent then runs under that agent.
func init() {
	if os.Getenv("PBOX_TEST_OUTER_AGENT") != "1" {
		return
	}
	os.Unsetenv("PBOX_TEST_OUTER_AGENT")
	runtime.LockOSThread()
	fd, err := container.InstallListenerFilter()
	if err != nil {
		println("installing the outer listener:", err.Error())
		os.Exit(2)
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, 0); err != nil {
		os.Exit(2)
	}
	os.Setenv("PBOX_TEST_UNDER_OUTER_AGENT", "1")
	err = syscall.Exec("/proc/self/exe", os.Args, os.Environ())
	println("exec:", err.Error())
	os.Exit(2)
}

// TestMonitorOuterAgent: under another seccomp agent (the kernel allows one
// listener per process) a monitored run goes on unwatched and says why,
// instead of failing to load its filter.
func TestMonitorOuterAgent(t *testing.T) {
	requireMonitor(t)
	cmd := exec.Command("/proc/self/exe", "-test.run", "^TestMonitorUnderOuterAgent$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "PBOX_TEST_OUTER_AGENT=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestMonitorUnderOuterAgent") {
		t.Fatalf("%v:\n%s", err, out)
	}
}

func TestMonitorUnderOuterAgent(t *testing.T) {
	if os.Getenv("PBOX_TEST_UNDER_OUTER_AGENT") != "1" {
		t.Skip("run by TestMonitorOuterAgent")
	}
	why := container.MonitorUnavailable()
	if !strings.Contains(why, "seccomp agent outside phylum-box") {
		t.Fatalf("MonitorUnavailable() = %q under an outer agent", why)
	}
	b := newBox(t)
	if b.id.Rootless && b.id.Subordinate {
		// This test's agent set no_new_privs on the process, which stops
		// the setuid newuidmap a subordinate map needs.
		b.id = b.id.SingleMap()
	}
	rec := &recorder{}
	o := b.run(context.Background(), func(s *container.Spec) { s.Monitor = rec.monitor() }, "/bin/sh", "-c", "exec /bin/true")
	if o.ExitCode != 0 || o.Monitored || o.MonitorNote != why || !o.Seccomp {
		t.Fatalf("exit %d monitored %v seccomp %v note %q: %s", o.ExitCode, o.Monitored, o.Seccomp, o.MonitorNote, o.stderr)
	}
	// The filter's refusals still hold.
	o = b.run(context.Background(), nil, "/bin/sh", "-c", "unshare -Ur true")
	if o.ExitCode == 0 {
		t.Fatal("unshare -Ur succeeded under the outer agent")
	}
}

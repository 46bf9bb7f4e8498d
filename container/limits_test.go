package container_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/phylum-box/phylum-box/container"
)

func TestPidsLimit(t *testing.T) {
	b := newBox(t)
	// A fork bomb: each shell starts two more until fork fails.
	bomb := "f() { f & f & wait; }; f"
	// With a cgroup the first refused fork stops the run; under RLIMIT_NPROC
	// alone (rootless, nothing delegated) the bomb is contained until the timeout.
	timeout := 30 * time.Second
	if !container.CgroupLimits() {
		timeout = 3 * time.Second
	}
	o := b.run(context.Background(), func(s *container.Spec) {
		s.Limits = container.Limits{Pids: 64, Timeout: timeout}
	}, "/bin/bash", "-c", bomb)
	enf := enforcement(o.Result, "pids")
	if !enf.Enforced {
		t.Fatalf("pids limit not enforced: %s", enf.How)
	}
	if os.Geteuid() == 0 || o.Result.PidsLimitHit {
		if o.Stopped != container.StopPids {
			t.Fatalf("stopped %q, want pids (exit %d, hit %v)", o.Stopped, o.ExitCode, o.PidsLimitHit)
		}
	} else if o.Stopped != container.StopTimeout {
		// RLIMIT_NPROC: the bomb is contained but not reported; the timeout ends it.
		t.Logf("rootless without cgroup: stopped %q exit %d", o.Stopped, o.ExitCode)
	}
	// The legitimate twin: a modest number of processes under the same limit.
	o = b.run(context.Background(), func(s *container.Spec) {
		s.Limits = container.Limits{Pids: 64, Timeout: 30 * time.Second}
	}, "/bin/bash", "-c", "for i in $(seq 20); do sleep 0.2 & done; wait")
	if o.ExitCode != 0 || o.Stopped != container.StopNone {
		t.Fatalf("20 processes under a 64 pids limit: exit %d stopped %q: %s", o.ExitCode, o.Stopped, o.stderr)
	}
}

func TestMemoryLimit(t *testing.T) {
	if os.Geteuid() != 0 {
		if _, err := container.DelegatedCgroup(os.Geteuid()); err != nil {
			t.Skipf("memory limits need root or a delegated cgroup (%v)", err)
		}
	}
	b := newBox(t)
	lim := container.Limits{Memory: 64 << 20, Timeout: 60 * time.Second}
	// Touch 256 MiB; the limit is 64 MiB (and swap is capped to the same).
	o := b.run(context.Background(), func(s *container.Spec) { s.Limits = lim },
		"python3", "-c", "b=bytearray(256<<20)\nfor i in range(0,len(b),4096): b[i]=1\nprint('survived')")
	if o.Stopped != container.StopMemory || !o.OOMKilled {
		t.Fatalf("stopped %q oom %v exit %d stdout %q, want memory", o.Stopped, o.OOMKilled, o.ExitCode, o.stdout)
	}
	if got := o.StopMessage(lim); got != "memory limit 64MiB hit" {
		t.Errorf("message %q", got)
	}
	// Twin: 16 MiB fits, and the peak is reported.
	o = b.run(context.Background(), func(s *container.Spec) { s.Limits = lim },
		"python3", "-c", "b=bytearray(16<<20)\nfor i in range(0,len(b),4096): b[i]=1\nprint('survived')")
	if o.ExitCode != 0 || o.Stopped != container.StopNone {
		t.Fatalf("16 MiB under 64 MiB: exit %d stopped %q: %s", o.ExitCode, o.Stopped, o.stderr)
	}
	if o.PeakMemory < 16<<20 || o.PeakMemory > 64<<20 {
		t.Errorf("peak memory %d, want between 16 and 64 MiB", o.PeakMemory)
	}
}

func TestInterrupt(t *testing.T) {
	b := newBox(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	o := b.run(ctx, nil, "/bin/sh", "-c", "sleep 60")
	if o.Stopped != container.StopInterrupted {
		t.Fatalf("stopped %q, want interrupted", o.Stopped)
	}
}

func enforcement(r *container.Result, limit string) container.Enforcement {
	for _, e := range r.Limits {
		if e.Limit == limit {
			return e
		}
	}
	return container.Enforcement{Limit: limit, How: "not requested"}
}

func TestCPULimit(t *testing.T) {
	if !container.CgroupLimits() {
		t.Skip("CPU limits need root or a delegated cgroup")
	}
	b := newBox(t)
	// Two spinning threads for 1.5 s of wall time under a 0.5-CPU quota may use
	// at most ~0.75 s of CPU (a little more for the period rounding).
	spin := `import threading,time
def spin():
  end=time.time()+1.5
  while time.time()<end: pass
ts=[threading.Thread(target=spin) for _ in range(2)]
[t.start() for t in ts]; [t.join() for t in ts]
import resource; r=resource.getrusage(resource.RUSAGE_SELF); print(r.ru_utime+r.ru_stime)`
	o := b.run(context.Background(), func(s *container.Spec) {
		s.Limits = container.Limits{CPUs: 0.5, Timeout: 30 * time.Second}
	}, "python3", "-c", spin)
	var used float64
	if _, err := fmt.Sscan(o.stdout, &used); err != nil || o.ExitCode != 0 {
		t.Fatalf("probe failed: %q %q", o.stdout, o.stderr)
	}
	if used > 1.0 {
		t.Fatalf("used %.2fs of CPU in 1.5s under a 0.5 CPU quota", used)
	}
	if e := enforcement(o.Result, "cpu"); !e.Enforced {
		t.Fatalf("cpu not enforced: %s", e.How)
	}
}

func TestDiskLimit(t *testing.T) {
	b := newBox(t)
	lim := container.Limits{Disk: 64 << 20, Timeout: 60 * time.Second}
	for _, tc := range []struct{ name, script string }{
		{"many files", "for i in $(seq 100); do head -c 2M /dev/urandom > /work/f$i || exit 9; done; echo done"},
		{"one file", "head -c 200M /dev/zero > /work/big; echo done"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := b.run(context.Background(), func(s *container.Spec) { s.Limits = lim }, "/bin/sh", "-c", tc.script)
			if o.Stopped != container.StopDisk {
				t.Fatalf("stopped %q exit %d stdout %q stderr %q, want disk", o.Stopped, o.ExitCode, o.stdout, o.stderr)
			}
			if msg := o.StopMessage(lim); !strings.Contains(msg, "disk limit 64MiB hit") || !strings.Contains(msg, "--disk") {
				t.Errorf("message %q", msg)
			}
			t.Logf("%s (exit %d)", o.StopMessage(lim), o.ExitCode)
			if err := os.RemoveAll(b.work); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(b.work, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(b.work, b.id.RootUID, b.id.RootGID); err != nil {
				t.Fatal(err)
			}
		})
	}
	// The twin: 32 MiB in files under the same limit.
	o := b.run(context.Background(), func(s *container.Spec) { s.Limits = lim },
		"/bin/sh", "-c", "for i in $(seq 16); do head -c 2M /dev/urandom > /work/g$i; done; echo done")
	if o.ExitCode != 0 || o.Stopped != container.StopNone || !strings.Contains(o.stdout, "done") {
		t.Fatalf("32 MiB under 64 MiB: exit %d stopped %q: %s", o.ExitCode, o.Stopped, o.stderr)
	}
}

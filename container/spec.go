package container

import (
	"fmt"
	"io"
	"strings"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
)

// Spec describes one containerised command. Mounts come from rootfs; Run adds
// nothing to the file system but the masked /proc paths.
type Spec struct {
	Args []string
	Env  []string
	// Cwd is the working directory inside the container (absolute).
	Cwd string
	// Rootfs is the skeleton root directory on the host (see rootfs.Skeleton).
	// It is mounted read-only; every mount point must already exist in it.
	Rootfs string
	Mounts []specs.Mount
	// MaskPaths are extra paths made unreadable inside (files: /dev/null bound
	// over them; directories: an empty read-only tmpfs), on top of libcontainer's
	// masked /proc and /sys paths.
	MaskPaths []string
	// Network shares the host's network namespace. When false the container gets
	// a fresh network namespace with only a loopback interface (brought up).
	Network  bool
	Hostname string
	Limits   Limits
	// Disk is the meter Limits.Disk is checked against; nil means a meter of
	// this run alone. A sandbox session passes one meter to all its containers,
	// so the limit bounds the session's writes together. Run adds the host dirs
	// of spec's writable mounts to it.
	Disk *DiskMeter

	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer

	// Identity is the user-namespace mapping; nil means CurrentIdentity().
	Identity *Identity
	// Log receives status and warnings (nil: discarded).
	Log logrus.FieldLogger
	// Monitor, when set, watches the container's processes (see Monitor);
	// nil runs without it.
	Monitor *Monitor
}

// Limits are the resource limits of one run. Zero means "no limit".
type Limits struct {
	Memory  int64 // bytes (swap is limited to the same total)
	Pids    int64
	CPUs    float64
	Timeout time.Duration
	// Disk bounds the bytes written to the host's disk through the writable
	// mounts (see DiskMeter); it is also each file's size limit (RLIMIT_FSIZE).
	Disk int64
}

// StopReason says why phylum-box ended the container early.
type StopReason string

const (
	StopNone        StopReason = ""
	StopTimeout     StopReason = "timeout"
	StopMemory      StopReason = "memory"
	StopPids        StopReason = "pids"
	StopInterrupted StopReason = "interrupted"
	StopDisk        StopReason = "disk"
)

// Enforcement records how one limit was (or was not) enforced.
type Enforcement struct {
	Limit    string // "memory", "pids", "cpu", "timeout", "disk"
	Enforced bool
	// How is the mechanism ("cgroup v1 memory", "RLIMIT_NPROC in the container's user
	// namespace") or, when not enforced, why and what the user can do about it.
	How string
}

// Result is the outcome of Run.
type Result struct {
	ExitCode int
	// Signal is the signal that killed the command (0 if it exited).
	Signal   syscall.Signal
	Stopped  StopReason
	Duration time.Duration
	// PeakMemory is the cgroup's peak usage in bytes, 0 when unknown.
	PeakMemory int64
	// DiskUsed is what the run's writable mounts held when the disk limit was
	// checked exactly (0 when it never was).
	DiskUsed int64
	// PidsLimitHit is set when a fork failed because of the pids limit.
	PidsLimitHit bool
	// OOMKilled is set when the kernel's OOM killer ran in the container's cgroup.
	OOMKilled bool
	Limits    []Enforcement
	// Seccomp reports whether the seccomp filter was installed.
	Seccomp bool
	// AbstractSocketsScoped is false when the container shared the host's
	// network namespace without Landlock scoping, so it could reach the host's
	// abstract unix sockets.
	AbstractSocketsScoped bool
	// Monitored reports whether Spec.Monitor watched the run; MonitorNote
	// says why not when it was asked for and did not.
	Monitored   bool
	MonitorNote string
}

// StopMessage is a one-line human explanation of Stopped, e.g.
// "memory limit 2GiB hit".
func (r *Result) StopMessage(l Limits) string {
	switch r.Stopped {
	case StopTimeout:
		return fmt.Sprintf("timeout %s reached", l.Timeout)
	case StopMemory:
		return fmt.Sprintf("memory limit %s hit", FormatBytes(l.Memory))
	case StopPids:
		return fmt.Sprintf("pids limit %d hit", l.Pids)
	case StopInterrupted:
		return "interrupted"
	case StopDisk:
		used := ""
		if r.DiskUsed > 0 {
			used = fmt.Sprintf(" (%s written)", FormatBytes(r.DiskUsed))
		}
		return fmt.Sprintf("disk limit %s hit%s; raise limits.disk in the config file, PHYLUM_BOX_DISK, or --disk of phylum-box run", FormatBytes(l.Disk), used)
	}
	return ""
}

// FormatBytes prints n in binary units (2GiB, 512MiB, 100B).
func FormatBytes(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	f := float64(n)
	for i < len(units)-1 && f >= 1024 {
		f /= 1024
		i++
	}
	s := fmt.Sprintf("%.1f", f)
	s = strings.TrimSuffix(s, ".0")
	return s + units[i]
}

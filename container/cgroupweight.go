package container

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/opencontainers/cgroups"
)

// rootParentCgroup is the cgroup under which root's runs get theirs.
const rootParentCgroup = "phylum-box"

// parentShares is the CPU weight (v1 cpu.shares) of rootParentCgroup: that of
// two busy processes per host CPU. Outside a cgroup every thread of a tool
// competes for the CPU on its own (node runs its main thread, four libuv
// workers and the GC's); a cgroup competes as one entity of its weight, and
// every run sits in this one parent. At the default weight (1024, one
// process) a sandboxed `npm ci` on a loaded 2-core host got the CPU time of
// one process while bare npm got that of its several threads: its download
// step took 19–43 s against 13–15 s at this weight, the same CPU seconds
// (integration/testdata/bench-npm, load 9–11). The quota (limits.cpus) still
// caps what a run may take; the weight only stops an idle-less host from
// starving it below what the same tool gets unwrapped.
func parentShares() uint64 { return RunsCPUShares() }

// RunsCPUShares is the v1 cpu.shares of a cgroup under which phylum-box's runs
// are made (see parentShares); `phylum-box setup --user` gives it to the
// cgroup it delegates, root-owned so the user cannot raise it.
func RunsCPUShares() uint64 {
	s := uint64(2048 * runtime.NumCPU())
	if s > 262144 { // the kernel's maximum
		s = 262144
	}
	return s
}

// weighRootParent gives rootParentCgroup its CPU weight, creating it first
// (libcontainer would create it at the run's start, with the default weight).
// Best effort: a run without it is only slower on a loaded host.
func weighRootParent(mode CgroupMode) error {
	shares := parentShares()
	switch mode {
	case CgroupV1, CgroupHybrid:
		dirs, err := V1HierarchyDirs()
		if err != nil {
			return err
		}
		for _, h := range dirs {
			if !hasController(filepath.Base(h), "cpu") {
				continue
			}
			return writeWeight(filepath.Join(h, rootParentCgroup), "cpu.shares", shares)
		}
		return errors.New("no v1 cpu hierarchy")
	case CgroupV2:
		// Only once cpu is enabled in the root's subtree_control (libcontainer
		// enables it when it makes the first run's cgroup) does the file exist.
		return writeWeight(filepath.Join(cgroupRoot, rootParentCgroup), "cpu.weight", cgroups.ConvertCPUSharesToCgroupV2Value(shares))
	}
	return nil
}

func hasController(mountName, c string) bool {
	for _, x := range strings.Split(mountName, ",") {
		if x == c {
			return true
		}
	}
	return false
}

func writeWeight(dir, file string, v uint64) error {
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	p := filepath.Join(dir, file)
	want := strconv.FormatUint(v, 10)
	if cur, err := os.ReadFile(p); err == nil && strings.TrimSpace(string(cur)) == want {
		return nil
	}
	return os.WriteFile(p, []byte(want), 0o644)
}

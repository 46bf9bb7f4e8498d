package doctor

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/phylum-box/phylum-box/container"
	"github.com/phylum-box/phylum-box/internal/kernel"
)

// This file is the host diagnosis behind `phylum-box doctor` and `phylum-box
// setup`: GatherHostFacts reads the host (and changes nothing), Diagnose turns
// those facts into graded checks (a pure function, so every branch is tested
// with fabricated facts), and Summarize condenses the checks into a Summary.

// Level grades one check. The order matters: a higher level is worse.
type Level int

const (
	LevelOK       Level = iota // works as intended
	LevelInfo                  // worth knowing; protection is not weaker
	LevelDegraded              // the sandbox runs, with a protection missing
	LevelBroken                // installs are not protected (or cannot run at all)
)

func (l Level) String() string {
	switch l {
	case LevelOK:
		return "ok"
	case LevelInfo:
		return "info"
	case LevelDegraded:
		return "degraded"
	case LevelBroken:
		return "not protected"
	}
	return "unknown"
}

// MarshalText makes JSON carry the level's name.
func (l Level) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// Check is one graded finding of the diagnosis.
type Check struct {
	// ID is a stable key for scripts: userns, uidmap-tools, subids, cgroup,
	// delegation, limit.memory, limit.pids, limit.cpu, limit.timeout, limit.disk, seccomp,
	// landlock, overlay (cmd adds osv-db, typosquat-lists, managers and python-home).
	ID    string `json:"id"`
	Title string `json:"title"`
	Level Level  `json:"level"`
	// Detail is what was found, in one or two sentences.
	Detail string `json:"detail"`
	// Fix lists what to do, in order: shell commands or file contents.
	Fix []string `json:"fix,omitempty"`
}

// Summary condenses a diagnosis. (Not a Verdict: that name is the precheck's
// pass or block of an install.)
type Summary struct {
	// Level is the worst level among the checks (Info counts as OK).
	Level Level `json:"level"`
	// Text is "protected", "degraded: <what>" or "not protected: <what>".
	Text string `json:"summary"`
}

// Summarize grades checks as a whole: the worst level wins, and the summary
// names every check at that level.
func Summarize(checks []Check) Summary {
	worst := LevelOK
	for _, c := range checks {
		if c.Level > worst {
			worst = c.Level
		}
	}
	if worst <= LevelInfo {
		return Summary{Level: LevelOK, Text: "protected"}
	}
	var what, degraded []string
	for _, c := range checks {
		switch c.Level {
		case worst:
			what = append(what, c.Title)
		case LevelDegraded:
			degraded = append(degraded, c.Title)
		}
	}
	s := worst.String() + ": " + strings.Join(what, ", ")
	if len(degraded) > 0 {
		s += " (also degraded: " + strings.Join(degraded, ", ") + ")"
	}
	return Summary{Level: worst, Text: s}
}

// Diagnose grades the facts. It is pure: the same facts give the same checks.
func Diagnose(f HostFacts) []Check {
	var out []Check
	c := f.Caps
	name := f.User
	if name == "" {
		name = strconv.Itoa(f.UID)
	}
	setupCmd := "sudo phylum-box setup --user " + name

	out = append(out, diagnoseUserns(f))

	// Id maps: only an ordinary user needs the setuid helpers and a range.
	if c.Root {
		d := "root maps container ids to its /etc/subuid range, or to " + strconv.Itoa(container.RootFallbackBase) + "+ when it has none; no helper is needed"
		if c.IdentityErr != nil {
			out = append(out, Check{ID: "subids", Title: "id mapping", Level: LevelBroken, Detail: c.IdentityErr.Error()})
		} else {
			if len(c.Identity.UIDMap) > 0 {
				d = c.Identity.Describe() + "; " + d
			}
			out = append(out, Check{ID: "subids", Title: "id mapping", Level: LevelOK, Detail: d})
		}
	} else {
		out = append(out, diagnoseHelpers(f)...)
		out = append(out, diagnoseSubIDs(f, setupCmd))
	}

	// Cgroups.
	switch c.CgroupMode {
	case container.CgroupNone:
		out = append(out, Check{ID: "cgroup", Title: "cgroups", Level: LevelDegraded,
			Detail: "no cgroup file system is mounted, so memory and CPU cannot be limited",
			Fix:    []string{"mount cgroup2 at /sys/fs/cgroup (systemd does at boot)"}})
	default:
		d := map[container.CgroupMode]string{
			container.CgroupV1:     "cgroup v1: one hierarchy per controller",
			container.CgroupHybrid: "hybrid: cgroup v1 controllers plus an empty v2 tree at /sys/fs/cgroup/unified",
			container.CgroupV2:     "cgroup v2 (unified)",
		}[c.CgroupMode]
		out = append(out, Check{ID: "cgroup", Title: "cgroup mode", Level: LevelInfo, Detail: d})
	}
	switch {
	case c.CgroupMode == container.CgroupNone:
	case c.Root:
		out = append(out, Check{ID: "delegation", Title: "cgroup delegation", Level: LevelOK,
			Detail: "not needed: root creates a cgroup per run under /phylum-box"})
	case c.Delegation != nil:
		out = append(out, Check{ID: "delegation", Title: "cgroup delegation", Level: LevelOK,
			Detail: fmt.Sprintf("%s is delegated to %s (%s)", c.Delegation.Path, name, CompactPaths(c.Delegation.Dirs))})
	default:
		why := "no cgroup is delegated to " + name
		if c.DelegationErr != nil {
			// The fix below says what to run; keep only the finding.
			why, _, _ = strings.Cut(c.DelegationErr.Error(), "; run `")
		}
		fix := []string{setupCmd}
		if c.CgroupMode == container.CgroupV2 {
			fix = append(fix, "then log out and back in, and run phylum-box from your login session (or inside `systemd-run --user --scope`)")
		} else {
			fix = append(fix, "cgroup v1 directories do not survive a reboot: run it from a boot script or a systemd unit as well")
		}
		out = append(out, Check{ID: "delegation", Title: "cgroup delegation", Level: LevelDegraded,
			Detail: why + "; without it memory and CPU are not limited", Fix: fix})
	}
	out = append(out, diagnoseLimits(f, setupCmd)...)

	// Seccomp.
	switch {
	case c.Seccomp && f.Libseccomp != "":
		out = append(out, Check{ID: "seccomp", Title: "seccomp", Level: LevelOK,
			Detail: "the filter is compiled in (built with -tags seccomp), libseccomp " + f.Libseccomp})
	case c.Seccomp:
		out = append(out, Check{ID: "seccomp", Title: "seccomp", Level: LevelOK,
			Detail: "the filter is compiled in (built with -tags seccomp; libseccomp linked statically)"})
	default:
		fix := []string{"rebuild with `make build` (go build -tags seccomp; needs libseccomp-dev, e.g. `sudo apt-get install libseccomp-dev`)"}
		d := "this binary was built without the seccomp tag: build scripts may create namespaces, mount in them and inject terminal input"
		if f.LibseccompOnHost != "" {
			d += " (libseccomp is installed: " + f.LibseccompOnHost + ")"
		} else {
			d += " (no libseccomp.so.2 found on this host)"
		}
		out = append(out, Check{ID: "seccomp", Title: "seccomp", Level: LevelDegraded, Detail: d, Fix: fix})
	}

	// Landlock scoping only matters for steps with network (resolve, download),
	// which run no package scripts by design; hence Info, not Degraded.
	if c.LandlockScope {
		out = append(out, Check{ID: "landlock", Title: "Landlock", Level: LevelOK,
			Detail: "steps with network cannot reach the desktop's abstract unix sockets (X11, D-Bus)"})
	} else {
		out = append(out, Check{ID: "landlock", Title: "Landlock", Level: LevelInfo,
			Detail: "no Landlock scoping (Linux 6.12+ with landlock in lsm=): steps with network (resolve, download; no package scripts run there) share the host's abstract unix sockets (X11, D-Bus)"})
	}

	out = append(out, diagnoseOverlay(f))
	return out
}

func diagnoseUserns(f HostFacts) Check {
	ch := Check{ID: "userns", Title: "user namespaces"}
	ok, knob := usernsAllowed(f.Sysctls, f.Caps.Root)
	probeOK := f.UsernsProbed && f.UsernsProbeErr == ""
	switch {
	case probeOK:
		ch.Level = LevelOK
		ch.Detail = "a user namespace with a mount namespace inside was created"
		if f.Sysctls[sysctlAppArmorNS] == "1" && !f.Caps.Root {
			ch.Detail += " (AppArmor restricts user namespaces here, and this binary's profile allows them: " + f.AppArmorLabel + ")"
		}
		return ch
	case ok && f.UsernsProbed:
		ch.Level = LevelBroken
		ch.Detail = "creating a user namespace failed: " + f.UsernsProbeErr + "; the sandbox cannot start"
		ch.Fix = []string{"check for a seccomp or LSM policy that denies unshare(CLONE_NEWUSER), e.g. when phylum-box itself runs in a container (docker needs --security-opt seccomp=unconfined or a profile allowing it)"}
		return ch
	case ok:
		ch.Level = LevelOK
		ch.Detail = "the kernel allows unprivileged user namespaces (" + sysctlSummary(f.Sysctls) + ")"
		return ch
	}
	ch.Level = LevelBroken
	ch.Detail = "the kernel refuses user namespaces to " + orUID(f.User, f.UID) + ": " + knob + "; the sandbox cannot start"
	if f.UsernsProbed && f.UsernsProbeErr != "" {
		ch.Detail += " (probe: " + f.UsernsProbeErr + ")"
	}
	switch {
	case strings.HasPrefix(knob, sysctlMaxUserNS):
		ch.Fix = []string{
			"sudo sysctl -w user.max_user_namespaces=15000",
			"echo user.max_user_namespaces=15000 | sudo tee /etc/sysctl.d/50-phylum-box-userns.conf   # keep it after reboot",
		}
	case strings.HasPrefix(knob, sysctlUsernsClone):
		ch.Fix = []string{
			"sudo sysctl -w kernel.unprivileged_userns_clone=1",
			"echo kernel.unprivileged_userns_clone=1 | sudo tee /etc/sysctl.d/50-phylum-box-userns.conf   # keep it after reboot",
		}
	case strings.HasPrefix(knob, sysctlAppArmorNS):
		bin := f.Binary
		if bin == "" {
			bin = "/usr/local/bin/phylum-box"
		}
		ch.Fix = []string{
			"allow user namespaces for phylum-box only (recommended): an AppArmor profile for " + bin + ":",
			"sudo tee /etc/apparmor.d/phylum-box <<'EOF'\nabi <abi/4.0>,\ninclude <tunables/global>\n\nprofile phylum-box " + bin + " flags=(unconfined) {\n  userns,\n\n  include if exists <local/phylum-box>\n}\nEOF",
			"sudo apparmor_parser -r /etc/apparmor.d/phylum-box",
			"or, for every program (weaker): sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, kept with: echo kernel.apparmor_restrict_unprivileged_userns=0 | sudo tee /etc/sysctl.d/60-phylum-box-userns.conf",
		}
	}
	return ch
}

func sysctlSummary(s map[string]string) string {
	var parts []string
	for _, k := range []string{sysctlMaxUserNS, sysctlUsernsClone, sysctlAppArmorNS} {
		if v, ok := s[k]; ok {
			parts = append(parts, k+"="+v)
		}
	}
	if len(parts) == 0 {
		return "no restricting sysctl present"
	}
	return strings.Join(parts, ", ")
}

func orUID(name string, uid int) string {
	if name != "" {
		return name
	}
	return "uid " + strconv.Itoa(uid)
}

func diagnoseHelpers(f HostFacts) []Check {
	ch := Check{ID: "uidmap-tools", Title: "newuidmap/newgidmap"}
	var missing, unpriv []string
	for _, h := range []struct {
		name string
		h    IDMapHelper
	}{{"newuidmap", f.NewUIDMap}, {"newgidmap", f.NewGIDMap}} {
		switch {
		case h.h.Path == "":
			missing = append(missing, h.name)
		case !h.h.Privileged:
			unpriv = append(unpriv, h.h.Path)
		}
	}
	switch {
	case len(missing) > 0:
		ch.Level = LevelDegraded
		ch.Detail = strings.Join(missing, " and ") + " not found on PATH: containers get a single-id map, so installs that chown files to other users fail"
		ch.Fix = []string{"sudo apt-get install uidmap   # Debian/Ubuntu; Fedora: shadow-utils; Arch: shadow"}
	case len(unpriv) > 0:
		ch.Level = LevelDegraded
		ch.Detail = strings.Join(unpriv, " and ") + " is neither setuid root nor has file capabilities, so it cannot map a subordinate range"
		ch.Fix = []string{"sudo chmod u+s " + strings.Join(unpriv, " "), "or: sudo setcap cap_setuid+ep " + f.NewUIDMap.Path + " && sudo setcap cap_setgid+ep " + f.NewGIDMap.Path}
	default:
		ch.Level = LevelOK
		ch.Detail = fmt.Sprintf("%s (%s), %s (%s)", f.NewUIDMap.Path, f.NewUIDMap.How, f.NewGIDMap.Path, f.NewGIDMap.How)
	}
	return []Check{ch}
}

func diagnoseSubIDs(f HostFacts, setupCmd string) Check {
	ch := Check{ID: "subids", Title: "subordinate ids"}
	name := orUID(f.User, f.UID)
	var missing []string
	if len(f.SubUID) == 0 {
		missing = append(missing, "/etc/subuid")
	}
	if len(f.SubGID) == 0 {
		missing = append(missing, "/etc/subgid")
	}
	if len(missing) > 0 {
		ch.Level = LevelDegraded
		ch.Detail = name + " has no range in " + strings.Join(missing, " or ") + ": containers get a single-id map, so installs that chown files to other users fail"
		ch.Fix = []string{setupCmd + "   # adds a free 65536-id range"}
		return ch
	}
	ch.Level = LevelOK
	ch.Detail = fmt.Sprintf("%s has uids %s and gids %s", name, f.SubUID[0], f.SubGID[0])
	if f.SubUID[0].Count < 65536 || f.SubGID[0].Count < 65536 {
		ch.Level = LevelInfo
		ch.Detail += fmt.Sprintf(" (fewer than 65536 ids: container ids above %d are unmapped)", min(f.SubUID[0].Count, f.SubGID[0].Count))
	}
	return ch
}

// diagnoseLimits decides how each configured limit is enforced the way Run's
// limit plan does, from Capabilities alone.
func diagnoseLimits(f HostFacts, setupCmd string) []Check {
	c := f.Caps
	var how string // mechanism when a cgroup is used
	cgroup := false
	switch {
	case c.CgroupMode == container.CgroupNone:
	case c.Root:
		cgroup, how = true, "a cgroup per run ("+string(c.CgroupMode)+")"
	case c.Delegation != nil:
		cgroup, how = true, "a cgroup per run below the delegated "+c.Delegation.Path
	}
	notEnforced := func(id, title, what string) Check {
		ch := Check{ID: id, Title: title, Level: LevelDegraded, Detail: what + " is NOT enforced: no cgroup can be used"}
		if c.CgroupMode != container.CgroupNone && !c.Root {
			ch.Fix = []string{setupCmd}
		}
		return ch
	}
	var out []Check
	l := f.Limits
	switch {
	case l.Memory <= 0:
		out = append(out, Check{ID: "limit.memory", Title: "memory limit", Level: LevelInfo, Detail: "no memory limit is configured"})
	case cgroup:
		out = append(out, Check{ID: "limit.memory", Title: "memory limit", Level: LevelOK, Detail: fmt.Sprintf("%s, enforced by %s (and swap, where the kernel accounts it)", byteSize(l.Memory), how)})
	default:
		out = append(out, notEnforced("limit.memory", "memory limit", byteSize(l.Memory)+" of memory"))
	}
	switch {
	case l.Pids <= 0:
		out = append(out, Check{ID: "limit.pids", Title: "pids limit", Level: LevelInfo, Detail: "no pids limit is configured"})
	case cgroup:
		out = append(out, Check{ID: "limit.pids", Title: "pids limit", Level: LevelOK, Detail: fmt.Sprintf("%d processes, enforced by %s", l.Pids, how)})
	case c.NPROCPerUserNS:
		out = append(out, Check{ID: "limit.pids", Title: "pids limit", Level: LevelOK, Detail: fmt.Sprintf("%d processes, enforced by RLIMIT_NPROC, which this kernel counts per user namespace (hits are not reported)", l.Pids)})
	default:
		ch := notEnforced("limit.pids", "pids limit", fmt.Sprintf("a limit of %d processes", l.Pids))
		ch.Detail += ", and this kernel (before 5.14) counts RLIMIT_NPROC across all of the user's processes"
		out = append(out, ch)
	}
	switch {
	case l.CPUs <= 0:
		out = append(out, Check{ID: "limit.cpu", Title: "CPU limit", Level: LevelInfo, Detail: "no CPU limit is configured"})
	case cgroup:
		out = append(out, Check{ID: "limit.cpu", Title: "CPU limit", Level: LevelOK, Detail: fmt.Sprintf("%g CPUs, enforced by %s (CFS quota)", l.CPUs, how)})
	default:
		out = append(out, notEnforced("limit.cpu", "CPU limit", fmt.Sprintf("a limit of %g CPUs", l.CPUs)))
	}
	if l.Timeout > 0 {
		out = append(out, Check{ID: "limit.timeout", Title: "timeout", Level: LevelOK, Detail: l.Timeout.String() + " per step, wall clock; on expiry every process in the sandbox is killed"})
	} else {
		out = append(out, Check{ID: "limit.timeout", Title: "timeout", Level: LevelInfo, Detail: "no timeout is configured"})
	}
	if l.Disk > 0 {
		out = append(out, Check{ID: "limit.disk", Title: "disk limit", Level: LevelOK, Detail: byteSize(l.Disk) + " written to the host disk per run (scratch and writable caches), watched; one file no larger (RLIMIT_FSIZE)"})
	} else {
		out = append(out, Check{ID: "limit.disk", Title: "disk limit", Level: LevelInfo, Detail: "no disk limit is configured: a run can fill the disk holding the scratch"})
	}
	return out
}

func byteSize(n int64) string {
	for _, u := range []struct {
		shift uint
		name  string
	}{{30, "GiB"}, {20, "MiB"}, {10, "KiB"}} {
		if n >= 1<<u.shift && n%(1<<u.shift) == 0 {
			return strconv.FormatInt(n>>u.shift, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

func diagnoseOverlay(f HostFacts) Check {
	ch := Check{ID: "overlay", Title: "project overlay", Level: LevelInfo}
	if _, _, ok := kernel.Version(f.Kernel); !ok {
		ch.Detail = "unknown kernel version " + strconv.Quote(f.Kernel) + "; installs may use a scratch copy of the project instead of an overlay"
		return ch
	}
	if kernel.Older(f.Kernel, 5, 11) {
		ch.Detail = "kernel " + f.Kernel + " cannot mount overlayfs in a user namespace (needs 5.11): installs work on a scratch copy of the project (as safe, slower for big trees)"
		return ch
	}
	switch {
	case f.ProjectFS == "":
		ch.Level = LevelOK
		ch.Detail = "kernel " + f.Kernel + " can mount overlayfs in a user namespace"
	case len(f.ProjectMounts) > 0:
		ch.Detail = fmt.Sprintf("kernel %s can mount overlayfs in a user namespace, but %s has mounts inside (%s), which an overlay from a user namespace cannot cover: installs here work on a scratch copy (as safe, slower for big trees)", f.Kernel, f.ProjectDir, CompactPaths(f.ProjectMounts))
	case overlayUpperOK[f.ProjectFS]:
		ch.Level = LevelOK
		ch.Detail = fmt.Sprintf("kernel %s can mount overlayfs in a user namespace, and %s is on %s: installs here use an overlay", f.Kernel, f.ProjectDir, f.ProjectFS)
	default:
		ch.Detail = fmt.Sprintf("kernel %s can mount overlayfs in a user namespace, but %s is on %s, which cannot hold an overlay's upper layer: installs here work on a scratch copy (as safe, slower for big trees)", f.Kernel, f.ProjectDir, f.ProjectFS)
	}
	return ch
}

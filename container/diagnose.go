package container

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// This file is the host diagnosis behind `phylum-box doctor` and `phylum-box
// setup`: GatherHostFacts reads the host (and changes nothing), Diagnose turns
// those facts into graded checks (a pure function, so every branch is tested
// with fabricated facts), and Summarize condenses the checks into a verdict.

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
	// landlock, overlay (cmd adds osv-db, managers and python-home).
	ID    string `json:"id"`
	Title string `json:"title"`
	Level Level  `json:"level"`
	// Detail is what was found, in one or two sentences.
	Detail string `json:"detail"`
	// Fix lists what to do, in order: shell commands or file contents.
	Fix []string `json:"fix,omitempty"`
}

// Verdict condenses a diagnosis.
type Verdict struct {
	// Level is the worst level among the checks (Info counts as OK).
	Level Level `json:"level"`
	// Summary is "protected", "degraded: <what>" or "not protected: <what>".
	Summary string `json:"summary"`
}

// Summarize grades checks as a whole: the worst level wins, and the summary
// names every check at that level.
func Summarize(checks []Check) Verdict {
	worst := LevelOK
	for _, c := range checks {
		if c.Level > worst {
			worst = c.Level
		}
	}
	if worst <= LevelInfo {
		return Verdict{Level: LevelOK, Summary: "protected"}
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
	return Verdict{Level: worst, Summary: s}
}

// IDMapHelper describes newuidmap or newgidmap.
type IDMapHelper struct {
	Path string // "" when not on PATH
	// Privileged is true when the helper is setuid root or carries file
	// capabilities; without either it cannot write another range's map.
	Privileged bool
	How        string // "setuid root", "file capabilities"
}

// SubIDRange is one line of /etc/subuid or /etc/subgid.
type SubIDRange struct {
	Owner string // user name or numeric uid, as written
	Start uint32
	Count uint32
}

// End is the first id after the range.
func (r SubIDRange) End() uint64 { return uint64(r.Start) + uint64(r.Count) }

func (r SubIDRange) String() string {
	return fmt.Sprintf("%d-%d", r.Start, r.End()-1)
}

// HostFacts is everything Diagnose needs, read from the host by
// GatherHostFacts; tests fabricate it.
type HostFacts struct {
	// Caps is Probe() for the calling user, or its equivalent for the user
	// setup is preparing.
	Caps Capabilities
	// User/UID is the user diagnosed (who will run phylum-box).
	User string
	UID  int
	// Kernel is the uname release ("6.1.0-13-amd64").
	Kernel string
	// Sysctls maps the user-namespace knobs that exist on this kernel to their
	// values: user.max_user_namespaces, kernel.unprivileged_userns_clone,
	// kernel.apparmor_restrict_unprivileged_userns.
	Sysctls map[string]string
	// UsernsProbed is true when a user namespace was actually created (with a
	// mount namespace inside it, the part AppArmor's restriction denies);
	// UsernsProbeErr is why that failed.
	UsernsProbed   bool
	UsernsProbeErr string
	// AppArmorLabel is this process's AppArmor confinement ("unconfined",
	// "phylum-box (unconfined)"), "" when AppArmor is off.
	AppArmorLabel string
	NewUIDMap     IDMapHelper
	NewGIDMap     IDMapHelper
	// SubUID/SubGID are the user's ranges (empty when none).
	SubUID, SubGID []SubIDRange
	// Binary is this executable's resolved path (for the AppArmor profile).
	Binary string
	// Libseccomp is the libseccomp file mapped into this process ("" when not
	// linked); LibseccompOnHost a libseccomp.so.2 found on disk.
	Libseccomp       string
	LibseccompOnHost string
	// ProjectDir is the directory an install would run in (the working
	// directory) and ProjectFS its file system's name.
	ProjectDir string
	ProjectFS  string
	// ProjectMounts are mount points strictly below ProjectDir: from a user
	// namespace overlayfs cannot clone a lower tree with mounts inside.
	ProjectMounts []string
	// Limits are the limits runs request (the configured defaults).
	Limits Limits
}

// knobs are the sysctls that can forbid unprivileged user namespaces.
const (
	sysctlMaxUserNS   = "user.max_user_namespaces"
	sysctlUsernsClone = "kernel.unprivileged_userns_clone"
	sysctlAppArmorNS  = "kernel.apparmor_restrict_unprivileged_userns"
)

func readSysctls() map[string]string {
	out := map[string]string{}
	for _, k := range []string{sysctlMaxUserNS, sysctlUsernsClone, sysctlAppArmorNS} {
		if b, err := os.ReadFile("/proc/sys/" + strings.ReplaceAll(k, ".", "/")); err == nil {
			out[k] = strings.TrimSpace(string(b))
		}
	}
	return out
}

// GatherHostFacts reads the host as uid would see it. When uid is the calling
// user it uses Probe and really creates a user namespace; for another uid
// (root preparing a user) it reads the same knobs without acting as that user.
// It changes nothing.
func GatherHostFacts(uid int, limits Limits) HostFacts {
	f := HostFacts{UID: uid, User: userName(uid), Sysctls: readSysctls(), Limits: limits}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		f.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	if uid == os.Geteuid() {
		f.Caps = Probe()
		f.UsernsProbed = true
		if err := probeUserNamespace(); err != nil {
			f.UsernsProbeErr = err.Error()
		}
	} else {
		f.Caps = capabilitiesFor(uid)
	}
	if b, err := os.ReadFile("/proc/self/attr/current"); err == nil {
		f.AppArmorLabel = strings.TrimSpace(strings.TrimRight(string(b), "\x00"))
	}
	f.NewUIDMap = idMapHelper("newuidmap")
	f.NewGIDMap = idMapHelper("newgidmap")
	f.SubUID = userSubIDs("/etc/subuid", f.User, uid)
	f.SubGID = userSubIDs("/etc/subgid", f.User, uid)
	if exe, err := os.Executable(); err == nil {
		if r, err := filepath.EvalSymlinks(exe); err == nil {
			exe = r
		}
		f.Binary = exe
	}
	f.Libseccomp = mappedLibrary("libseccomp")
	for _, dir := range []string{"/lib", "/usr/lib", "/lib64", "/usr/lib64", "/usr/local/lib"} {
		if m, _ := filepath.Glob(filepath.Join(dir, "*", "libseccomp.so.2")); len(m) > 0 {
			f.LibseccompOnHost = m[0]
			break
		}
		if p := filepath.Join(dir, "libseccomp.so.2"); fileExists(p) {
			f.LibseccompOnHost = p
			break
		}
	}
	if wd, err := os.Getwd(); err == nil {
		f.ProjectDir = wd
		var st unix.Statfs_t
		if unix.Statfs(wd, &st) == nil {
			f.ProjectFS = fsName(int64(st.Type))
		}
		if ms, err := mountinfo.GetMounts(mountinfo.PrefixFilter(wd)); err == nil {
			for _, m := range ms {
				if m.Mountpoint != wd {
					f.ProjectMounts = append(f.ProjectMounts, m.Mountpoint)
				}
			}
		}
	}
	return f
}

// capabilitiesFor is Probe's answer for another user, as far as root can tell
// without becoming that user: user-namespace knobs, the delegated cgroup, the
// kernel's features.
func capabilitiesFor(uid int) Capabilities {
	c := Capabilities{CgroupMode: HostCgroupMode(), Seccomp: SeccompCompiled, UserNamespaces: true}
	c.Identity = Identity{RootUID: uid, Rootless: true, User: userName(uid)}
	c.Delegation, c.DelegationErr = delegationFor(uid, c.CgroupMode)
	c.CgroupLimits = c.Delegation != nil
	c.UserNamespaces, c.UserNSProblem = usernsAllowed(readSysctls(), false)
	c.NPROCPerUserNS = kernelAtLeast(5, 14)
	c.LandlockScope = LandlockScopeAvailable()
	return c
}

// delegationFor finds uid's delegated cgroup from outside the user's session:
// on v2 DelegatedCgroup looks at the caller's own cgroup, which for root is
// not below the user's systemd service.
func delegationFor(uid int, mode CgroupMode) (*Delegation, error) {
	if mode != CgroupV2 {
		return DelegatedCgroup(uid)
	}
	rel := filepath.Join("/user.slice", "user-"+strconv.Itoa(uid)+".slice", "user@"+strconv.Itoa(uid)+".service")
	dir := filepath.Join(cgroupRoot, rel)
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("%s does not exist: the user has no systemd session now (it appears at login)", dir)
	}
	if !ownedBy(st, uid) {
		return nil, fmt.Errorf("%s is not owned by uid %d", dir, uid)
	}
	ctl, _ := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
	for _, want := range []string{"memory", "pids", "cpu"} {
		if !contains(strings.Fields(string(ctl)), want) {
			return nil, fmt.Errorf("the %s controller is not delegated to %s", want, dir)
		}
	}
	return &Delegation{Path: rel, Mode: mode, Dirs: []string{dir}}, nil
}

// usernsAllowed reads the knobs the way the kernel applies them to a user
// (root is subject only to max_user_namespaces).
func usernsAllowed(sysctls map[string]string, root bool) (bool, string) {
	if sysctls[sysctlMaxUserNS] == "0" {
		return false, sysctlMaxUserNS + " is 0"
	}
	if root {
		return true, ""
	}
	if sysctls[sysctlUsernsClone] == "0" {
		return false, sysctlUsernsClone + " is 0"
	}
	if sysctls[sysctlAppArmorNS] == "1" {
		return false, sysctlAppArmorNS + " is 1"
	}
	return true, ""
}

// probeUserNamespace creates a user namespace with a mount namespace inside
// and makes / private there — the first thing a container does, and exactly
// what Ubuntu's AppArmor restriction forbids. Go sets all of that up in the
// child before exec and reports a failure from Start, so Start's error is the
// answer; how the child (this binary, --version) then exits does not matter.
// Nothing outside the short-lived child changes.
func probeUserNamespace() error {
	c := exec.Command("/proc/self/exe", "--version")
	c.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:   syscall.CLONE_NEWUSER,
		Unshareflags: syscall.CLONE_NEWNS, // Go then remounts / MS_REC|MS_PRIVATE
		UidMappings:  []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}},
		GidMappings:  []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}},
	}
	if err := c.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { _ = c.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = c.Process.Kill()
		<-done
	}
	return nil
}

func idMapHelper(name string) IDMapHelper {
	p, err := exec.LookPath(name)
	if err != nil {
		return IDMapHelper{}
	}
	h := IDMapHelper{Path: p}
	var st unix.Stat_t
	if unix.Stat(p, &st) == nil && st.Mode&unix.S_ISUID != 0 && st.Uid == 0 {
		h.Privileged, h.How = true, "setuid root"
		return h
	}
	if sz, err := unix.Getxattr(p, "security.capability", nil); err == nil && sz > 0 {
		h.Privileged, h.How = true, "file capabilities"
	}
	return h
}

// ReadSubIDFile parses /etc/subuid or /etc/subgid; a missing file is empty.
func ReadSubIDFile(path string) ([]SubIDRange, error) {
	fh, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	var out []SubIDRange
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, ":")
		if len(fields) != 3 {
			continue
		}
		s, err1 := strconv.ParseUint(fields[1], 10, 32)
		n, err2 := strconv.ParseUint(fields[2], 10, 32)
		if err1 != nil || err2 != nil || n == 0 {
			continue
		}
		out = append(out, SubIDRange{Owner: fields[0], Start: uint32(s), Count: uint32(n)})
	}
	return out, sc.Err()
}

func userSubIDs(path, name string, uid int) []SubIDRange {
	all, _ := ReadSubIDFile(path)
	return RangesOf(all, name, uid)
}

// RangesOf picks the ranges that belong to the user (by name or numeric id).
func RangesOf(all []SubIDRange, name string, uid int) []SubIDRange {
	var out []SubIDRange
	for _, r := range all {
		if (name != "" && r.Owner == name) || r.Owner == strconv.Itoa(uid) {
			out = append(out, r)
		}
	}
	return out
}

// FreeSubIDRange returns the lowest start >= min such that [start,
// start+count) overlaps none of taken and ends at or below max (inclusive),
// the way useradd allocates. One start for uids and gids keeps the two maps
// alike, so pass the ranges of both files.
func FreeSubIDRange(taken []SubIDRange, min, max, count uint32) (uint32, error) {
	rs := append([]SubIDRange(nil), taken...)
	sort.Slice(rs, func(i, j int) bool { return rs[i].Start < rs[j].Start })
	cand := uint64(min)
	for _, r := range rs {
		if uint64(r.Start) >= cand+uint64(count) {
			break // sorted: no later range can overlap either
		}
		if r.End() > cand {
			cand = r.End()
		}
	}
	if count == 0 || cand+uint64(count)-1 > uint64(max) {
		return 0, fmt.Errorf("no free range of %d subordinate ids between %d and %d; add one by hand to /etc/subuid and /etc/subgid", count, min, max)
	}
	return uint32(cand), nil
}

// SubIDBounds reads SUB_UID_MIN, SUB_UID_MAX and SUB_UID_COUNT from
// /etc/login.defs (shadow's defaults when absent), so setup allocates where
// useradd would.
func SubIDBounds(loginDefs string) (min, max, count uint32) {
	min, max, count = 100000, 600100000, 65536
	b, err := os.ReadFile(loginDefs)
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		n, err := strconv.ParseUint(f[1], 10, 32)
		if err != nil {
			continue
		}
		switch f[0] {
		case "SUB_UID_MIN":
			min = uint32(n)
		case "SUB_UID_MAX":
			max = uint32(n)
		case "SUB_UID_COUNT":
			if n > 0 {
				count = uint32(n)
			}
		}
	}
	return
}

// mappedLibrary finds a shared library whose file name contains name in this
// process's mappings.
func mappedLibrary(name string) string {
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 6 && strings.Contains(filepath.Base(f[5]), name) {
			return f[5]
		}
	}
	return ""
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

var fsNames = map[int64]string{
	unix.EXT4_SUPER_MAGIC:      "ext4",
	unix.XFS_SUPER_MAGIC:       "xfs",
	unix.BTRFS_SUPER_MAGIC:     "btrfs",
	unix.TMPFS_MAGIC:           "tmpfs",
	unix.F2FS_SUPER_MAGIC:      "f2fs",
	unix.OVERLAYFS_SUPER_MAGIC: "overlayfs",
	unix.NFS_SUPER_MAGIC:       "nfs",
	unix.FUSE_SUPER_MAGIC:      "fuse",
	unix.V9FS_MAGIC:            "9p",
	0x2011BAB0:                 "exfat",
	0x5346544e:                 "ntfs",
	0x2fc12fc1:                 "zfs",
}

func fsName(magic int64) string {
	if n, ok := fsNames[magic]; ok {
		return n
	}
	return fmt.Sprintf("magic %#x", magic)
}

// overlayUpperOK are the file systems rootfs accepts as an overlay upper from
// a user namespace (kept in step with rootfs.overlayUpperFS).
var overlayUpperOK = map[string]bool{"ext4": true, "xfs": true, "btrfs": true, "tmpfs": true, "f2fs": true}

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
		d := "root maps container ids to its /etc/subuid range, or to " + strconv.Itoa(RootFallbackBase) + "+ when it has none; no helper is needed"
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
	case CgroupNone:
		out = append(out, Check{ID: "cgroup", Title: "cgroups", Level: LevelDegraded,
			Detail: "no cgroup file system is mounted, so memory and CPU cannot be limited",
			Fix:    []string{"mount cgroup2 at /sys/fs/cgroup (systemd does at boot)"}})
	default:
		d := map[CgroupMode]string{
			CgroupV1:     "cgroup v1: one hierarchy per controller",
			CgroupHybrid: "hybrid: cgroup v1 controllers plus an empty v2 tree at /sys/fs/cgroup/unified",
			CgroupV2:     "cgroup v2 (unified)",
		}[c.CgroupMode]
		out = append(out, Check{ID: "cgroup", Title: "cgroup mode", Level: LevelInfo, Detail: d})
	}
	switch {
	case c.CgroupMode == CgroupNone:
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
		if c.CgroupMode == CgroupV2 {
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
	case c.CgroupMode == CgroupNone:
	case c.Root:
		cgroup, how = true, "a cgroup per run ("+string(c.CgroupMode)+")"
	case c.Delegation != nil:
		cgroup, how = true, "a cgroup per run below the delegated "+c.Delegation.Path
	}
	notEnforced := func(id, title, what string) Check {
		ch := Check{ID: id, Title: title, Level: LevelDegraded, Detail: what + " is NOT enforced: no cgroup can be used"}
		if c.CgroupMode != CgroupNone && !c.Root {
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
	var maj, mnr int
	if _, err := fmt.Sscanf(f.Kernel, "%d.%d", &maj, &mnr); err != nil {
		ch.Detail = "unknown kernel version " + strconv.Quote(f.Kernel) + "; installs may use a scratch copy of the project instead of an overlay"
		return ch
	}
	if maj < 5 || maj == 5 && mnr < 11 {
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

// DelegationTarget is one thing Delegate creates or hands over.
type DelegationTarget struct {
	Path string
	// Exists and Owned say whether it is already in place (Owned: owned by the
	// user; for the v2 drop-in: present with phylum-box's content).
	Exists, Owned bool
}

// PlanDelegation says what Delegate(uid, …) would do on this host, without
// doing it: for --dry-run and for telling a first setup from a repeated one.
func PlanDelegation(uid int) (CgroupMode, []DelegationTarget, error) {
	mode := HostCgroupMode()
	switch mode {
	case CgroupV1, CgroupHybrid:
		dirs, err := v1HierarchyDirs()
		if err != nil {
			return mode, nil, err
		}
		var out []DelegationTarget
		for _, d := range dirs {
			p := filepath.Join(d, DelegationName(uid))
			t := DelegationTarget{Path: p}
			if st, err := os.Stat(p); err == nil {
				t.Exists, t.Owned = true, ownedBy(st, uid)
			}
			out = append(out, t)
		}
		return mode, out, nil
	case CgroupV2:
		if d, err := delegationFor(uid, mode); err == nil {
			return mode, []DelegationTarget{{Path: d.Dirs[0], Exists: true, Owned: true}}, nil
		}
		t := DelegationTarget{Path: systemdDropIn}
		if b, err := os.ReadFile(systemdDropIn); err == nil {
			t.Exists = true
			t.Owned = strings.Contains(string(b), "Delegate=")
		}
		return mode, []DelegationTarget{t}, nil
	}
	return mode, nil, errors.New("no cgroup file system is mounted; limits cannot be delegated")
}

// CompactPaths writes paths that differ in one directory component the way a
// shell would expand them back: /sys/fs/cgroup/{cpu,memory}/phylum-box-1000.
// Other lists are joined with ", ".
func CompactPaths(paths []string) string {
	if len(paths) < 2 {
		return strings.Join(paths, ", ")
	}
	dir0, _ := filepath.Split(filepath.Dir(paths[0]))
	leaf := filepath.Base(paths[0])
	var mid []string
	for _, p := range paths {
		dir, base := filepath.Split(filepath.Dir(p))
		if dir != dir0 || filepath.Base(p) != leaf {
			return strings.Join(paths, ", ")
		}
		mid = append(mid, base)
	}
	return dir0 + "{" + strings.Join(mid, ",") + "}/" + leaf
}

package doctor

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"github.com/phylum-box/phylum-box/container"
	"github.com/phylum-box/phylum-box/internal/kernel"
)

// This file gathers the host facts that Diagnose grades: HostFacts and
// GatherHostFacts (user namespaces, cgroup delegation, newuidmap/newgidmap,
// subordinate ID ranges, file systems) with their helpers; it reads the host
// and changes nothing.

// IDMapHelper describes newuidmap or newgidmap.
type IDMapHelper struct {
	Path string // "" when not on PATH
	// Privileged is true when the helper is setuid root or carries file
	// capabilities; without either it cannot write another range's map.
	Privileged bool
	How        string // "setuid root", "file capabilities"
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
	SubUID, SubGID []container.SubIDRange
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
	Limits container.Limits
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
func GatherHostFacts(uid int, limits container.Limits) HostFacts {
	f := HostFacts{UID: uid, User: userName(uid), Sysctls: readSysctls(), Limits: limits}
	f.Kernel = kernel.Release()
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
	c := Capabilities{CgroupMode: container.HostCgroupMode(), Seccomp: container.SeccompCompiled, UserNamespaces: true}
	c.Identity = container.Identity{RootUID: uid, Rootless: true, User: userName(uid)}
	c.Delegation, c.DelegationErr = delegationFor(uid, c.CgroupMode)
	c.CgroupLimits = c.Delegation != nil
	c.UserNamespaces, c.UserNSProblem = usernsAllowed(readSysctls(), false)
	c.NPROCPerUserNS = kernel.AtLeast(5, 14)
	c.LandlockScope = container.LandlockScopeAvailable()
	return c
}

// delegationFor finds uid's delegated cgroup from outside the user's session:
// on v2 DelegatedCgroup looks at the caller's own cgroup, which for root is
// not below the user's systemd service.
func delegationFor(uid int, mode container.CgroupMode) (*container.Delegation, error) {
	if mode != container.CgroupV2 {
		return container.DelegatedCgroup(uid)
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
		if !slices.Contains(strings.Fields(string(ctl)), want) {
			return nil, fmt.Errorf("the %s controller is not delegated to %s", want, dir)
		}
	}
	return &container.Delegation{Path: rel, Mode: mode, Dirs: []string{dir}}, nil
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

func userSubIDs(path, name string, uid int) []container.SubIDRange {
	all, _ := container.ReadSubIDFile(path)
	return container.RangesOf(all, name, uid)
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

// cgroupRoot is where the host mounts its cgroup file systems.
const cgroupRoot = "/sys/fs/cgroup"

func ownedBy(st os.FileInfo, uid int) bool {
	sys, ok := st.Sys().(*syscall.Stat_t)
	return ok && int(sys.Uid) == uid
}

// userName is uid's login name, or the number when it has none.
func userName(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return u.Username
	}
	return strconv.Itoa(uid)
}

package container

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	cgroups "github.com/containerd/cgroups/v3"
	"github.com/containerd/cgroups/v3/cgroup1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// CgroupMode is how the host mounts cgroups.
type CgroupMode string

const (
	CgroupV1     CgroupMode = "v1"
	CgroupHybrid CgroupMode = "hybrid" // v1 controllers plus an empty v2 tree at /sys/fs/cgroup/unified
	CgroupV2     CgroupMode = "v2"
	CgroupNone   CgroupMode = "none"
)

// HostCgroupMode detects the host's cgroup layout.
func HostCgroupMode() CgroupMode {
	switch cgroups.Mode() {
	case cgroups.Legacy:
		return CgroupV1
	case cgroups.Hybrid:
		return CgroupHybrid
	case cgroups.Unified:
		return CgroupV2
	}
	return CgroupNone
}

const cgroupRoot = "/sys/fs/cgroup"

// DelegationName is the cgroup `phylum-box setup --user` creates for uid on a v1
// or hybrid host, under every hierarchy.
func DelegationName(uid int) string { return "phylum-box-" + strconv.Itoa(uid) }

// Delegation is a cgroup handed over to an ordinary user.
type Delegation struct {
	// Path is the cgroup path (as in /proc/self/cgroup, absolute from the
	// hierarchy root) under which per-run cgroups are created.
	Path string
	Mode CgroupMode
	// Dirs are the host directories that make up the delegation (one per v1
	// hierarchy; one on v2).
	Dirs []string
}

// DelegatedCgroup finds the cgroup delegated to uid, or returns nil with the
// reason when there is none usable. On v1/hybrid that is /phylum-box-<uid> in
// every mounted hierarchy, owned by uid; on v2 it is the user's systemd
// service cgroup (user@<uid>.service) with memory, pids and cpu delegated.
func DelegatedCgroup(uid int) (*Delegation, error) {
	mode := HostCgroupMode()
	switch mode {
	case CgroupV1, CgroupHybrid:
		dirs, err := v1HierarchyDirs()
		if err != nil {
			return nil, err
		}
		d := &Delegation{Path: "/" + DelegationName(uid), Mode: mode}
		for _, h := range dirs {
			p := filepath.Join(h, DelegationName(uid))
			st, err := os.Stat(p)
			if err != nil {
				return nil, fmt.Errorf("no cgroup delegated to uid %d (%s missing); run `sudo phylum-box setup --user %s`", uid, p, userName(uid))
			}
			if !ownedBy(st, uid) {
				return nil, fmt.Errorf("cgroup %s is not owned by uid %d; run `sudo phylum-box setup --user %s`", p, uid, userName(uid))
			}
			d.Dirs = append(d.Dirs, p)
		}
		return d, nil
	case CgroupV2:
		p, err := systemdUserCgroup(uid)
		if err != nil {
			return nil, err
		}
		dir := filepath.Join(cgroupRoot, p)
		st, err := os.Stat(dir)
		if err != nil || !ownedBy(st, uid) {
			return nil, fmt.Errorf("cgroup %s is not delegated to uid %d; log in through systemd (a user session) or run `sudo phylum-box setup --user %s`", dir, uid, userName(uid))
		}
		ctl, _ := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
		have := strings.Fields(string(ctl))
		for _, want := range []string{"memory", "pids", "cpu"} {
			if !contains(have, want) {
				return nil, fmt.Errorf("the %s controller is not delegated to %s; run `sudo phylum-box setup --user %s` (a systemd drop-in with Delegate=)", want, dir, userName(uid))
			}
		}
		return &Delegation{Path: p, Mode: mode, Dirs: []string{dir}}, nil
	}
	return nil, errors.New("no cgroup file system is mounted")
}

// systemdUserCgroup returns "/user.slice/user-<uid>.slice/user@<uid>.service"
// when the calling process lives below it.
func systemdUserCgroup(uid int) (string, error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	return systemdUserCgroupFrom(string(b), uid)
}

func systemdUserCgroupFrom(procSelfCgroup string, uid int) (string, error) {
	for _, line := range strings.Split(procSelfCgroup, "\n") {
		p, ok := strings.CutPrefix(line, "0::")
		if !ok {
			continue
		}
		svc := "user@" + strconv.Itoa(uid) + ".service"
		if i := strings.Index(p, "/"+svc); i >= 0 {
			return p[:i+1+len(svc)], nil
		}
		return "", fmt.Errorf("this process's cgroup %s is not below %s, so it cannot move a container into the cgroups systemd delegates to you; start phylum-box inside it: systemd-run --user --scope phylum-box ...", p, svc)
	}
	return "", errors.New("no cgroup v2 entry in /proc/self/cgroup")
}

// v1HierarchyDirs lists the mount points of every v1 hierarchy (including
// named ones such as name=systemd) and, in hybrid mode, the v2 mount:
// libcontainer joins all of them, so a delegation must cover all of them.
func v1HierarchyDirs() ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, x := range fields {
			if x == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+1 >= len(fields) {
			continue
		}
		fstype, mnt := fields[sep+1], fields[4]
		if (fstype == "cgroup" || fstype == "cgroup2") && strings.HasPrefix(mnt, cgroupRoot+"/") && !seen[mnt] {
			// Only hierarchies mounted at their root can be delegated from here.
			if fields[3] != "/" {
				continue
			}
			seen[mnt] = true
			out = append(out, mnt)
		}
	}
	return out, sc.Err()
}

// SetupReport says what Delegate did.
type SetupReport struct {
	Mode    CgroupMode
	Created []string
	Chowned []string
	Notes   []string
}

// Delegate hands a cgroup over to uid:gid so that phylum-box run started by that
// user can enforce memory, pids and CPU limits. It must run as root and is
// idempotent. On v1/hybrid it creates /phylum-box-<uid> in every hierarchy
// (with containerd/cgroups, which also initialises cpuset.cpus/mems) and
// chowns the directory and its cgroup.procs, tasks, cgroup.clone_children (v2:
// cgroup.threads, cgroup.subtree_control) to the user. On v2 it checks the
// user's systemd service and, when controllers are missing, installs a drop-in
// that delegates them.
func Delegate(uid, gid int) (*SetupReport, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("setup must run as root (sudo phylum-box setup --user NAME)")
	}
	rep := &SetupReport{Mode: HostCgroupMode()}
	switch rep.Mode {
	case CgroupV1, CgroupHybrid:
		name := "/" + DelegationName(uid)
		existed := map[string]bool{}
		dirs, err := v1HierarchyDirs()
		if err != nil {
			return nil, err
		}
		for _, d := range dirs {
			if _, err := os.Stat(filepath.Join(d, name)); err == nil {
				existed[d] = true
			}
		}
		if _, err := cgroup1.New(cgroup1.StaticPath(name), &specs.LinuxResources{}); err != nil {
			return nil, fmt.Errorf("create cgroup %s: %w", name, err)
		}
		for _, d := range dirs {
			p := filepath.Join(d, name)
			if err := os.MkdirAll(p, 0o755); err != nil { // named and v2 hierarchies containerd skips
				return nil, fmt.Errorf("create cgroup %s: %w", p, err)
			}
			if !existed[d] {
				rep.Created = append(rep.Created, p)
			}
			for _, f := range []string{"", "cgroup.procs", "tasks", "cgroup.clone_children", "cgroup.threads", "cgroup.subtree_control"} {
				fp := filepath.Join(p, f)
				if err := os.Lchown(fp, uid, gid); err != nil && !errors.Is(err, os.ErrNotExist) {
					return nil, fmt.Errorf("chown %s: %w", fp, err)
				}
			}
			rep.Chowned = append(rep.Chowned, p)
		}
		return rep, nil
	case CgroupV2:
		return delegateV2(uid, rep)
	}
	return nil, errors.New("no cgroup file system is mounted; limits cannot be delegated")
}

const systemdDropIn = "/etc/systemd/system/user@.service.d/phylum-box-delegate.conf"

func delegateV2(uid int, rep *SetupReport) (*SetupReport, error) {
	svc := filepath.Join(cgroupRoot, "user.slice", "user-"+strconv.Itoa(uid)+".slice", "user@"+strconv.Itoa(uid)+".service")
	ctl, err := os.ReadFile(filepath.Join(svc, "cgroup.controllers"))
	if err == nil {
		have := strings.Fields(string(ctl))
		if contains(have, "memory") && contains(have, "pids") && contains(have, "cpu") {
			rep.Notes = append(rep.Notes, fmt.Sprintf("%s already has memory, pids and cpu delegated by systemd; nothing to do", svc))
			return rep, nil
		}
	} else {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%s does not exist yet (the user has no systemd session now)", svc))
	}
	if err := os.MkdirAll(filepath.Dir(systemdDropIn), 0o755); err != nil {
		return nil, err
	}
	content := "# Written by phylum-box setup: let users' own services (and phylum-box run)\n# manage these cgroup controllers.\n[Service]\nDelegate=cpu cpuset io memory pids\n"
	if old, err := os.ReadFile(systemdDropIn); err != nil || string(old) != content {
		if err := os.WriteFile(systemdDropIn, []byte(content), 0o644); err != nil {
			return nil, fmt.Errorf("write %s: %w", systemdDropIn, err)
		}
		rep.Created = append(rep.Created, systemdDropIn)
	}
	rep.Notes = append(rep.Notes, "run `systemctl daemon-reload`, then log out and back in (or `systemctl restart user@"+strconv.Itoa(uid)+".service`) for the delegation to take effect")
	return rep, nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func userName(uid int) string {
	if n := lookupUserName(uid); n != "" {
		return n
	}
	return strconv.Itoa(uid)
}

// Capabilities is what this host lets phylum-box do, for run's decisions and for
// `phylum-box doctor`.
type Capabilities struct {
	Root     bool
	Identity Identity
	// IdentityErr is set when no mapping could be worked out.
	IdentityErr error
	CgroupMode  CgroupMode
	// Delegation is the cgroup rootless runs use; nil when rootless limits fall
	// back to rlimits (DelegationErr says why). Always nil for root.
	Delegation    *Delegation
	DelegationErr error
	// CgroupLimits is true when memory, pids and CPU limits can be enforced.
	CgroupLimits bool
	// UserNamespaces is false when the kernel refuses unprivileged user
	// namespaces (UserNSProblem says which knob).
	UserNamespaces bool
	UserNSProblem  string
	Seccomp        bool
	// LandlockScope is true when abstract unix sockets can be scoped (--network).
	LandlockScope bool
	// NPROCPerUserNS is true on kernels (>= 5.14) that count RLIMIT_NPROC per
	// user namespace, which makes it a per-container pids limit.
	NPROCPerUserNS bool
}

// Probe inspects the host: identity, cgroup mode and delegation, user
// namespaces, seccomp. It changes nothing.
func Probe() Capabilities {
	c := Capabilities{Root: os.Geteuid() == 0, CgroupMode: HostCgroupMode(), Seccomp: SeccompCompiled, UserNamespaces: true}
	c.Identity, c.IdentityErr = CurrentIdentity()
	if c.Root {
		c.CgroupLimits = c.CgroupMode != CgroupNone
	} else {
		c.Delegation, c.DelegationErr = DelegatedCgroup(os.Geteuid())
		c.CgroupLimits = c.Delegation != nil
	}
	if b, err := os.ReadFile("/proc/sys/user/max_user_namespaces"); err == nil && strings.TrimSpace(string(b)) == "0" {
		c.UserNamespaces, c.UserNSProblem = false, "user.max_user_namespaces is 0 (sysctl -w user.max_user_namespaces=15000)"
	}
	if !c.Root {
		if b, err := os.ReadFile("/proc/sys/kernel/unprivileged_userns_clone"); err == nil && strings.TrimSpace(string(b)) == "0" {
			c.UserNamespaces, c.UserNSProblem = false, "kernel.unprivileged_userns_clone is 0 (sysctl -w kernel.unprivileged_userns_clone=1)"
		}
		if b, err := os.ReadFile("/proc/sys/kernel/apparmor_restrict_unprivileged_userns"); err == nil && strings.TrimSpace(string(b)) == "1" {
			c.UserNamespaces, c.UserNSProblem = false, "AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns=1); add an AppArmor profile allowing userns for phylum-box"
		}
	}
	c.NPROCPerUserNS = kernelAtLeast(5, 14)
	c.LandlockScope = LandlockScopeAvailable()
	return c
}

func kernelAtLeast(major, minor int) bool {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return false
	}
	rel := unix.ByteSliceToString(u.Release[:])
	var ma, mi int
	if _, err := fmt.Sscanf(rel, "%d.%d", &ma, &mi); err != nil {
		return false
	}
	return ma > major || (ma == major && mi >= minor)
}

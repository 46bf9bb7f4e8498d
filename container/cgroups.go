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
		dirs, err := V1HierarchyDirs()
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
		return "", fmt.Errorf("this process's cgroup %s is not below %s, so it cannot move a container into the cgroups systemd delegates to you; start phylum-box inside it (systemd-run --user --scope phylum-box COMMAND)", p, svc)
	}
	return "", errors.New("no cgroup v2 entry in /proc/self/cgroup")
}

// V1HierarchyDirs lists the mount points of every v1 hierarchy (including
// named ones such as name=systemd) and, in hybrid mode, the v2 mount:
// libcontainer joins all of them, so a delegation must cover all of them
// (DelegatedCgroup looks for it in each; `phylum-box setup` creates it in each).
func V1HierarchyDirs() ([]string, error) {
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

package doctor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/containerd/cgroups/v3/cgroup1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/phylum-box/phylum-box/container"
)

// This file is what `phylum-box setup` changes on the host, as root: a cgroup
// delegated to a user (Delegate, previewed by PlanDelegation) and a subordinate
// id range (FreeSubIDRange within SubIDBounds).

// SetupReport says what Delegate did.
type SetupReport struct {
	Mode    container.CgroupMode
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
	rep := &SetupReport{Mode: container.HostCgroupMode()}
	switch rep.Mode {
	case container.CgroupV1, container.CgroupHybrid:
		name := "/" + container.DelegationName(uid)
		existed := map[string]bool{}
		dirs, err := container.V1HierarchyDirs()
		if err != nil {
			return nil, err
		}
		for _, d := range dirs {
			if _, err := os.Stat(filepath.Join(d, name)); err == nil {
				existed[d] = true
			}
		}
		// The weight of the user's runs together (container.RunsCPUShares); its
		// file stays root's.
		shares := container.RunsCPUShares()
		if _, err := cgroup1.New(cgroup1.StaticPath(name), &specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: &shares}}); err != nil {
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
	case container.CgroupV2:
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
		if slices.Contains(have, "memory") && slices.Contains(have, "pids") && slices.Contains(have, "cpu") {
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

// DelegationTarget is one thing Delegate creates or hands over.
type DelegationTarget struct {
	Path string
	// Exists and Owned say whether it is already in place (Owned: owned by the
	// user; for the v2 drop-in: present with phylum-box's content).
	Exists, Owned bool
}

// PlanDelegation says what Delegate(uid, …) would do on this host, without
// doing it: for --dry-run and for telling a first setup from a repeated one.
func PlanDelegation(uid int) (container.CgroupMode, []DelegationTarget, error) {
	mode := container.HostCgroupMode()
	switch mode {
	case container.CgroupV1, container.CgroupHybrid:
		dirs, err := container.V1HierarchyDirs()
		if err != nil {
			return mode, nil, err
		}
		var out []DelegationTarget
		for _, d := range dirs {
			p := filepath.Join(d, container.DelegationName(uid))
			t := DelegationTarget{Path: p}
			if st, err := os.Stat(p); err == nil {
				t.Exists, t.Owned = true, ownedBy(st, uid)
			}
			out = append(out, t)
		}
		return mode, out, nil
	case container.CgroupV2:
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

// FreeSubIDRange returns the lowest start >= min such that [start,
// start+count) overlaps none of taken and ends at or below max (inclusive),
// the way useradd allocates. One start for uids and gids keeps the two maps
// alike, so pass the ranges of both files.
func FreeSubIDRange(taken []container.SubIDRange, min, max, count uint32) (uint32, error) {
	rs := append([]container.SubIDRange(nil), taken...)
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

// Idmapped mounts: when the project needs an idmapped lower, the probe that builds
// one through a ptrace'd helper's user namespace, and falling back to ModeCopy.

package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// idmapObstacle returns why the project cannot be the overlay's lower through an
// idmapped bind (as ProjectMounts mounts it), or "" and the bind's id maps. The maps show
// the project's owner as the container's root, so the run can write the project as in
// the copy mode, where the container's root owns everything. Every entry must have that
// owner: a file of another owner would show as that owner and be read-only to the
// container's root (no capabilities), where the copy let it write; such projects get the
// copy. A walk with lstat costs a fraction of the copy.
func idmapObstacle(o ScratchOptions) (uids, gids []specs.LinuxIDMapping, why string) {
	if os.Geteuid() != 0 {
		return nil, nil, "an idmapped lower needs phylum-box to run as real root"
	}
	// Overlay accepts idmapped layers since 5.19.
	if rel, old := kernelBefore(5, 19); old {
		return nil, nil, "kernel " + rel + " cannot use an idmapped overlay lower (needs 5.19)"
	}
	fi, err := os.Lstat(o.Project)
	if err != nil {
		return nil, nil, err.Error()
	}
	st := fi.Sys().(*syscall.Stat_t)
	uids, uok := ownerAsRoot(mapsOrRoot(o.UIDMappings, o.RootUID), st.Uid)
	gids, gok := ownerAsRoot(mapsOrRoot(o.GIDMappings, o.RootGID), st.Gid)
	if !uok || !gok {
		return nil, nil, fmt.Sprintf("the project's owner %d:%d is outside the container's id range, so an idmapped lower cannot map it", st.Uid, st.Gid)
	}
	if p, u, g := foreignEntry(o.Project, st.Uid, st.Gid); p != "" {
		return nil, nil, fmt.Sprintf("%s is owned by %d:%d, not by the project's owner %d:%d, so through an idmapped lower the container could not write it", p, u, g, st.Uid, st.Gid)
	}
	if err := probeIdmap(o.Project, uint64(st.Dev), uids, gids); err != nil {
		return nil, nil, "cannot make an idmapped mount of the project here (kernel or file system): " + err.Error()
	}
	return uids, gids, ""
}

// foreignEntry returns the first entry below root (not following symlinks) whose owner is
// not uid:gid, or "" (also when the walk fails: the copy would then fail the same way
// and report it). It stats each entry relative to its directory's descriptor, not by
// path: a project's node_modules has thousands of entries, each a long path to
// resolve again (issue 12: this walk was a sixth of phylum-box's own CPU time on an
// `npm install PKG`).
func foreignEntry(root string, uid, gid uint32) (string, uint32, uint32) {
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", 0, 0
	}
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil {
		unix.Close(fd)
		return "", 0, 0
	}
	if st.Uid != uid || st.Gid != gid {
		unix.Close(fd)
		return root, st.Uid, st.Gid
	}
	return foreignBelow(fd, root, uid, gid)
}

// foreignBelow is foreignEntry for the entries of the directory open at fd (closed
// when it returns).
func foreignBelow(fd int, dir string, uid, gid uint32) (string, uint32, uint32) {
	d := os.NewFile(uintptr(fd), dir)
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return "", 0, 0
	}
	for _, n := range names {
		var st unix.Stat_t
		if unix.Fstatat(fd, n, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
			continue
		}
		if st.Uid != uid || st.Gid != gid {
			return filepath.Join(dir, n), st.Uid, st.Gid
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			continue
		}
		sub, err := unix.Openat(fd, n, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			continue
		}
		if p, u, g := foreignBelow(sub, filepath.Join(dir, n), uid, gid); p != "" {
			return p, u, g
		}
	}
	return "", 0, 0
}

// ownerAsRoot turns the container's id map m (container id -> host id) into the map of
// an idmapped mount (on-disk id -> host id) that shows on-disk id owner as the
// container's root: on-disk ids are taken as container ids, except that owner and 0 trade
// places. ok is false when owner is not a container id of m.
func ownerAsRoot(m []specs.LinuxIDMapping, owner uint32) (out []specs.LinuxIDMapping, ok bool) {
	if !containerIDMapped(m, owner) || !containerIDMapped(m, 0) {
		return nil, false
	}
	hostOf := func(c uint32) uint32 {
		for _, e := range m {
			if c >= e.ContainerID && uint64(c) < uint64(e.ContainerID)+uint64(e.Size) {
				return e.HostID + (c - e.ContainerID)
			}
		}
		return 0
	}
	if owner == 0 {
		return append([]specs.LinuxIDMapping(nil), m...), true
	}
	// Cut 0 and owner out of their extents, then add them back swapped.
	for _, e := range m {
		pieces := []specs.LinuxIDMapping{e}
		for _, cut := range []uint32{0, owner} {
			var next []specs.LinuxIDMapping
			for _, p := range pieces {
				if cut < p.ContainerID || uint64(cut) >= uint64(p.ContainerID)+uint64(p.Size) {
					next = append(next, p)
					continue
				}
				if n := cut - p.ContainerID; n > 0 {
					next = append(next, specs.LinuxIDMapping{ContainerID: p.ContainerID, HostID: p.HostID, Size: n})
				}
				if n := p.ContainerID + p.Size - cut - 1; n > 0 {
					next = append(next, specs.LinuxIDMapping{ContainerID: cut + 1, HostID: p.HostID + (cut + 1 - p.ContainerID), Size: n})
				}
			}
			pieces = next
		}
		out = append(out, pieces...)
	}
	out = append(out,
		specs.LinuxIDMapping{ContainerID: owner, HostID: hostOf(0), Size: 1},
		specs.LinuxIDMapping{ContainerID: 0, HostID: hostOf(owner), Size: 1})
	return out, true
}

func mapsOrRoot(m []specs.LinuxIDMapping, root int) []specs.LinuxIDMapping {
	if m == nil {
		return []specs.LinuxIDMapping{{ContainerID: 0, HostID: uint32(root), Size: 1}}
	}
	return m
}

// containerIDMapped reports whether id is a container-side id of map m.
func containerIDMapped(m []specs.LinuxIDMapping, id uint32) bool {
	for _, e := range m {
		if id >= e.ContainerID && uint64(id) < uint64(e.ContainerID)+uint64(e.Size) {
			return true
		}
	}
	return false
}

// idmapProbes caches probeIdmap's answer per file system and id map: the probe costs a
// process.
var idmapProbes sync.Map // string -> error (nil stored as errNone)

var errNone = errors.New("")

// probeIdmap checks that an idmapped mount of project with the container's id map can be
// made, the way libcontainer makes it: a detached clone of the project's mount
// (open_tree), then mount_setattr(MOUNT_ATTR_IDMAP) with a user namespace holding the
// map. The clone is never attached anywhere and goes away with its fd.
func probeIdmap(project string, dev uint64, uids, gids []specs.LinuxIDMapping) error {
	key := fmt.Sprint(dev, uids, gids)
	if v, ok := idmapProbes.Load(key); ok {
		if v.(error) == errNone {
			return nil
		}
		return v.(error)
	}
	err := func() error {
		ns, err := usernsWithMap(uids, gids)
		if err != nil {
			return err
		}
		defer ns.Close()
		fd, err := unix.OpenTree(unix.AT_FDCWD, project, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_SYMLINK_NOFOLLOW)
		if err != nil {
			return &os.PathError{Op: "open_tree", Path: project, Err: err}
		}
		defer unix.Close(fd)
		return idmapDetached(fd, ns)
	}()
	if err == nil {
		idmapProbes.Store(key, errNone)
	} else {
		idmapProbes.Store(key, err)
	}
	return err
}

// idmapDetached makes the detached mount fd read-only, nosuid, nodev and idmapped with
// the map of user namespace ns.
func idmapDetached(fd int, ns *os.File) error {
	err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, &unix.MountAttr{
		Attr_set:  unix.MOUNT_ATTR_IDMAP | unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV,
		Userns_fd: uint64(ns.Fd()),
	})
	if err != nil {
		return os.NewSyscallError("mount_setattr(MOUNT_ATTR_IDMAP)", err)
	}
	return nil
}

// usernsWithMap returns a user namespace (an nsfs file) with the given maps. A process
// must create it: one is started in a new user namespace and stopped before it runs
// anything (PTRACE_TRACEME stops it at its exec), its namespace opened, and the process
// killed. The thread stays locked so the tracer (this thread) outlives the stopped child:
// a tracer's exit would let the child run.
func usernsWithMap(uids, gids []specs.LinuxIDMapping) (*os.File, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	attr := &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: sysIDMap(uids),
		GidMappings: sysIDMap(gids),
		Ptrace:      true,
		Pdeathsig:   syscall.SIGKILL,
	}
	p, err := os.StartProcess("/proc/self/exe", []string{"phylum-box-userns-probe"}, &os.ProcAttr{Sys: attr})
	if err != nil {
		return nil, fmt.Errorf("start a process in a new user namespace: %w", err)
	}
	defer func() {
		_ = p.Kill()
		_, _ = p.Wait()
	}()
	f, err := os.Open(fmt.Sprintf("/proc/%d/ns/user", p.Pid))
	if err != nil {
		return nil, fmt.Errorf("open the probe's user namespace: %w", err)
	}
	return f, nil
}

func sysIDMap(m []specs.LinuxIDMapping) []syscall.SysProcIDMap {
	out := make([]syscall.SysProcIDMap, 0, len(m))
	for _, e := range m {
		out = append(out, syscall.SysProcIDMap{ContainerID: int(e.ContainerID), HostID: int(e.HostID), Size: int(e.Size)})
	}
	return out
}

// unreachable returns the first dir from / down to p that the container's root cannot
// search, or "".
func unreachable(o ScratchOptions, p string) string {
	for d := p; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return d
		}
		st := fi.Sys().(*syscall.Stat_t)
		perm := st.Mode
		ok := perm&0o001 != 0 ||
			(idMapped(o.UIDMappings, o.RootUID, int(st.Uid)) && idMapped(o.GIDMappings, o.RootGID, int(st.Gid))) ||
			(int(st.Uid) == o.RootUID && perm&0o100 != 0) ||
			(int(st.Gid) == o.RootGID && perm&0o010 != 0)
		if !ok {
			return d
		}
		if d == "/" {
			return ""
		}
	}
}

func idMapped(m []specs.LinuxIDMapping, root, id int) bool {
	if m == nil {
		return id == root
	}
	for _, e := range m {
		if id >= int(e.HostID) && id < int(e.HostID)+int(e.Size) {
			return true
		}
	}
	return false
}

// IdmappedLower is where ProjectMounts puts the idmapped read-only bind of the project in
// the container's root, for the overlay to use as its lower. The container sees it: it is
// the unchanged project, read-only, nosuid and nodev, which the container could read
// through the overlay anyway. It must stay read-only: through the idmap, the container's
// root owns the host project's root-owned files.
const IdmappedLower = "/.pb-lower"

// dropIdmap turns an idmapped overlay into ModeCopy, unless the overlay was handed out
// already (the container may have written to the upper).
func (s *Scratch) dropIdmap(why string) {
	if s.handedOut || !s.Idmapped() {
		return
	}
	s.idmap = false
	s.mode, s.why = ModeCopy, why
	for _, d := range []string{s.upperDir(), s.workDir()} {
		_ = os.Remove(d) // empty: nothing ran
	}
	snap, err := stageCopy(s.project, s.stagingDir(), s.rootUID, s.rootGID)
	if err != nil {
		s.broken = fmt.Errorf("make the staging copy of %s: %w", s.project, err)
		_ = os.RemoveAll(s.stagingDir()) // the bind then fails: no run on a partial copy
		return
	}
	s.snap = snap
}

// Overlay probes: whether the project's file systems, the kernel and the
// mount options allow an overlay with the host project as its lower.

package rootfs

import (
	"fmt"
	"os"
	"strings"
	"syscall"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"github.com/phylum-box/phylum-box/internal/kernel"
)

// overlayUpperFS are file systems known to work as an overlay upper from a user
// namespace (whiteouts, user xattrs, O_TMPFILE/RENAME_WHITEOUT). overlayfs itself, NFS,
// FUSE and others are not.
var overlayUpperFS = map[int64]string{
	unix.EXT4_SUPER_MAGIC:  "ext4",
	unix.XFS_SUPER_MAGIC:   "xfs",
	unix.BTRFS_SUPER_MAGIC: "btrfs",
	unix.TMPFS_MAGIC:       "tmpfs",
	unix.F2FS_SUPER_MAGIC:  "f2fs",
}

// overlayObstacle returns why an overlay with the host project as its lower cannot be
// used, or "". lowerOnly is true when every problem is the project's (its owner is not
// mapped, the container's root cannot reach it): an idmapped lower avoids those.
func overlayObstacle(o ScratchOptions, scratchDir string) (why string, lowerOnly bool) {
	if rel, ok := kernelBefore(5, 11); ok {
		return "kernel " + rel + " cannot mount overlayfs in a user namespace (needs 5.11)", false
	}
	// libcontainer splits mount options on ","; overlay itself splits lowerdir on ":".
	for _, p := range []string{o.Project, scratchDir} {
		if why := optionUnsafe(p); why != "" {
			return why, false
		}
	}
	var st unix.Statfs_t
	if err := unix.Statfs(scratchDir, &st); err != nil {
		return "statfs scratch dir: " + err.Error(), false
	}
	if _, ok := overlayUpperFS[int64(st.Type)]; !ok {
		return fmt.Sprintf("the scratch dir %s is on a file system (magic %#x) that cannot be an overlay upper", scratchDir, st.Type), false
	}
	if err := unix.Setxattr(scratchDir, "user.phylum-box.probe", []byte("1"), 0); err != nil {
		return "the scratch file system has no user xattrs (overlay's userxattr needs them): " + err.Error(), false
	}
	_ = unix.Removexattr(scratchDir, "user.phylum-box.probe")
	// overlayfs clones the lower path privately; from a user namespace that fails
	// ("failed to clone lowerpath", EINVAL) when mounts below it are locked, i.e. when the
	// project has anything mounted inside it. (An idmapped lower, a non-recursive bind,
	// would silently hide them instead: also refused.)
	if mounts, err := mountinfo.GetMounts(mountinfo.PrefixFilter(o.Project)); err == nil {
		for _, m := range mounts {
			if m.Mountpoint != o.Project {
				return fmt.Sprintf("%s is mounted inside the project; an overlay cannot be mounted over it from a user namespace", m.Mountpoint), false
			}
		}
	}
	// The kernel resolves lowerdir/upperdir/workdir with the credentials of the
	// container's root, whose capabilities only count for inodes it owns in its namespace:
	// every dir on the way must be searchable by it.
	if dir := unreachable(o, scratchDir); dir != "" {
		return fmt.Sprintf("the container's root (host uid %d) cannot search %s, so it cannot mount the overlay", o.RootUID, dir), false
	}
	if dir := unreachable(o, o.Project); dir != "" {
		return fmt.Sprintf("the container's root (host uid %d) cannot search %s, so it cannot mount the overlay", o.RootUID, dir), true
	}
	// Copy-up chowns the upper copy to the lower file's owner; an owner not mapped into
	// the container's user namespace makes every write to that file fail with EOVERFLOW.
	fi, err := os.Lstat(o.Project)
	if err != nil {
		return err.Error(), false
	}
	st2 := fi.Sys().(*syscall.Stat_t)
	if !idMapped(o.UIDMappings, o.RootUID, int(st2.Uid)) || !idMapped(o.GIDMappings, o.RootGID, int(st2.Gid)) {
		return fmt.Sprintf("the project's owner %d:%d is not mapped into the container's user namespace, so overlay copy-up would fail", st2.Uid, st2.Gid), true
	}
	return "", false
}

// optionUnsafe says why path p cannot be carried in overlay mount options, or "".
func optionUnsafe(p string) string {
	if strings.ContainsAny(p, ",:\\\n") {
		return fmt.Sprintf("path %q contains a character (, : \\ or newline) that overlay mount options cannot carry", p)
	}
	return ""
}

// kernelBefore reports the running kernel's release when it is older than maj.min.
func kernelBefore(maj, min int) (string, bool) {
	rel := kernel.Release()
	return rel, kernel.Older(rel, maj, min)
}

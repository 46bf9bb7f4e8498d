package rootfs

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Hard links and the sync.
//
// A build keeps hard links between its outputs: cargo's target/debug/app and
// target/debug/deps/app-HASH are one inode, and so are a build script's two names. The
// sync must carry them over and must not mistake its own work on one name for a
// concurrent edit of the other:
//
//   - Moving a host entry aside (rename) changes its inode's ctime, which every other
//     name of that inode shows too. So the sync remembers each host inode it moved and
//     the ctime that move gave it; a later name of the same inode is judged by the
//     ctime check made at the first name (it passed, or the sync stopped there), and
//     counts as edited meanwhile only if its ctime moved again after ours.
//   - The run's files are moved (renamed) into place, so names that shared an inode in
//     the run share it on the host. Where a file has to be copied (the scratch lives on
//     another file system), the second and later names of one run inode are hard links
//     to the copy this sync made for the first name — never to anything else on the host.
//
// What is never done: a hard link to a host file the sync did not create in this very
// run, or a write through a host inode (every host name is replaced by a rename, so a
// project file hard-linked to an output keeps its content). A run file with more names
// than the run's tree shows is refused before anything is applied (validate).

// inodeKey names a host inode.
type inodeKey struct{ dev, ino uint64 }

// copiedFile is a file this sync created on the host by copying (copyFile).
type copiedFile struct {
	dirfd int    // its dir (kept open until the applier closes)
	name  string // its name in that dir
	ino   uint64 // its inode, checked before linking to it
}

// touchedInode records the ctime a host inode had right after the sync moved one of
// its names aside.
func (a *applier) touchedInode(pfd int, name string) {
	var st unix.Stat_t
	if unix.Fstatat(pfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
		return
	}
	if a.touched == nil {
		a.touched = map[inodeKey]unix.Timespec{}
	}
	a.touched[inodeKey{st.Dev, st.Ino}] = st.Ctim
}

// touchedBySync reports whether the host inode hst was moved aside by this sync (under
// another name), and if so whether it is still as that move left it.
func (a *applier) touchedBySync(hst unix.Stat_t) (touched, unchanged bool) {
	ct, ok := a.touched[inodeKey{hst.Dev, hst.Ino}]
	if !ok {
		return false, false
	}
	return true, ct == hst.Ctim
}

// linkCopied makes tmp in pfd a hard link to the copy this sync already made of the run
// inode c.ino, if there is one. It reports false when there is none, or when that copy
// is no longer where the sync put it (then the caller copies).
func (a *applier) linkCopied(pfd int, tmp string, c Change) (bool, error) {
	first, ok := a.copied[c.ino]
	if !ok {
		return false, nil
	}
	var st unix.Stat_t
	if unix.Fstatat(first.dirfd, first.name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil ||
		fileTypeOf(st.Mode) != TypeRegular || st.Ino != first.ino {
		return false, nil
	}
	// flags 0: linkat never follows a symlink at the old name.
	if err := unix.Linkat(first.dirfd, first.name, pfd, tmp, 0); err != nil {
		return false, nil
	}
	if unix.Fstatat(pfd, tmp, &st, unix.AT_SYMLINK_NOFOLLOW) != nil || st.Ino != first.ino {
		_ = unix.Unlinkat(pfd, tmp, 0)
		return false, fmt.Errorf("link %s to the copy of the same file: it changed meanwhile", c.Path)
	}
	return true, nil
}

// rememberCopy records the file copyFile just put at name in pfd for the run inode c.ino.
func (a *applier) rememberCopy(pfd int, name string, c Change) {
	if c.nlink < 2 {
		return
	}
	var st unix.Stat_t
	if unix.Fstatat(pfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
		return
	}
	if a.copied == nil {
		a.copied = map[uint64]copiedFile{}
	}
	if _, ok := a.copied[c.ino]; !ok {
		a.copied[c.ino] = copiedFile{dirfd: pfd, name: name, ino: st.Ino}
	}
}

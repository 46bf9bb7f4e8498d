// Package topdir marks a directory as the top of unrelated directory hierarchies
// for ext4's block allocator (chattr +T, FS_TOPDIR_FL).
//
// Why it matters: phylum-box creates a fresh scratch dir for every run below one
// state dir, and a package manager then writes thousands of files into it
// (npm ci: ~5,800 for a 300-package project). ext4 places a new directory near
// its parent, and a file in its directory's group, so every run's files land in
// the same few block groups — the groups where the trees of earlier runs (moved
// into projects, then deleted by the next install) were freed. Without a journal,
// ext4 will not reuse an inode freed in the last minute (six while its inode
// table block is dirty), and finds that out by checking every free inode of the
// group, one by one, for each new file: measured here, 2.5 s of system time to
// create 5,600 files in such a group against 0.17 s elsewhere. A directory
// marked +T has each new subdirectory placed like a top-level one (Orlov
// spreading: the group with the fewest directories among those with more free
// inodes and blocks than average, searched from a hash of the new dir's name),
// so runs leave the crowded groups near the state dir, where every phylum-box
// run of the machine creates and frees its trees. It is no guarantee: the group
// a tree was just freed from can be the emptiest again.
//
// Only placement changes: nothing about permissions, contents or renames. File
// systems without the flag (tmpfs, xfs, btrfs) refuse it, and Mark says so; its
// callers go on without it.
package topdir

import (
	"golang.org/x/sys/unix"
)

// fsTopdirFL is FS_TOPDIR_FL (linux/fs.h), which x/sys/unix does not name.
const fsTopdirFL = 0x00020000

// Mark sets the top-of-hierarchy flag on dir (not following a symlink), when it
// is not set yet.
func Mark(dir string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	flags, err := unix.IoctlGetInt(fd, unix.FS_IOC_GETFLAGS)
	if err != nil {
		return err
	}
	if flags&fsTopdirFL != 0 {
		return nil
	}
	return unix.IoctlSetPointerInt(fd, unix.FS_IOC_SETFLAGS, flags|fsTopdirFL)
}

// Marked reports whether dir has the flag (false where the file system has no
// such flag).
func Marked(dir string) bool {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	flags, err := unix.IoctlGetInt(fd, unix.FS_IOC_GETFLAGS)
	return err == nil && flags&fsTopdirFL != 0
}

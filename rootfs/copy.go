package rootfs

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// snapEntry is what a staging entry looked like right after the copy. The inode number
// and ctime cannot be set from userspace, so an entry whose pair is unchanged after the
// run was not touched (no hashing needed), and an edit that restored the mtime is still seen.
type snapEntry struct {
	typ      FileType
	ino      uint64
	ctime    unix.Timespec
	perm     uint32
	size     int64
	linkname string
}

// stageCopy copies the project into staging for ModeCopy: dirs, regular files (reflink
// where the file system can, else copy_file_range) and symlinks (as symlinks). Device
// nodes, fifos and sockets are left out. setuid/setgid bits are dropped. Everything is
// given to the container's root. It returns the snapshot the change set is computed from.
func stageCopy(project, staging string, uid, gid int) (map[string]snapEntry, error) {
	type dirTimes struct {
		path string
		ts   [2]unix.Timespec
	}
	var dirs []dirTimes
	var rootSt unix.Stat_t
	if err := unix.Stat(project, &rootSt); err != nil {
		return nil, err
	}
	err := filepath.WalkDir(project, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(project, p)
		dst := filepath.Join(staging, rel)
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		perm := st.Mode & 0o1777
		ts := [2]unix.Timespec{st.Atim, st.Mtim}
		switch fileTypeOf(st.Mode) {
		case TypeDir:
			if err := os.Mkdir(dst, 0o700); err != nil {
				return err
			}
			if err := unix.Chmod(dst, perm); err != nil {
				return err
			}
			dirs = append(dirs, dirTimes{dst, ts})
			if st.Dev != rootSt.Dev {
				// A mount point: like the overlay, do not show what is mounted there (and
				// SyncBack never writes below it).
				if err := os.Lchown(dst, uid, gid); err != nil {
					return err
				}
				return filepath.SkipDir
			}
		case TypeRegular:
			if err := copyFilePath(p, dst, perm); err != nil {
				return err
			}
			if err := unix.UtimesNanoAt(unix.AT_FDCWD, dst, ts[:], unix.AT_SYMLINK_NOFOLLOW); err != nil {
				return err
			}
		case TypeSymlink:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if err := os.Symlink(target, dst); err != nil {
				return err
			}
		default:
			return nil
		}
		return os.Lchown(dst, uid, gid)
	})
	if err != nil {
		return nil, err
	}
	// Dir times last: creating children changed them.
	for i := len(dirs) - 1; i >= 0; i-- {
		_ = unix.UtimesNanoAt(unix.AT_FDCWD, dirs[i].path, dirs[i].ts[:], unix.AT_SYMLINK_NOFOLLOW)
	}
	snap := map[string]snapEntry{}
	err = filepath.WalkDir(staging, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(staging, p)
		if rel == "." {
			return nil
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		e := snapEntry{typ: fileTypeOf(st.Mode), ino: st.Ino, ctime: st.Ctim, perm: st.Mode & 0o7777, size: st.Size}
		if e.typ == TypeSymlink {
			e.linkname, _ = os.Readlink(p)
		}
		snap[filepath.ToSlash(rel)] = e
		return nil
	})
	return snap, err
}

// copyFilePath copies a regular file's data to a new file (O_EXCL, no symlink follow).
func copyFilePath(src, dst string, perm uint32) error {
	in, err := os.OpenFile(src, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	if err := copyData(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Chmod(fs.FileMode(perm & 0o777)); err != nil {
		out.Close()
		return err
	}
	if perm&0o1000 != 0 {
		_ = unix.Fchmod(int(out.Fd()), perm)
	}
	return out.Close()
}

// copyData copies file content: a reflink (FICLONE) where the file system shares
// extents (btrfs, xfs), else io.Copy, which uses copy_file_range between files.
func copyData(dst, src *os.File) error {
	if unix.IoctlFileClone(int(dst.Fd()), int(src.Fd())) == nil {
		return nil
	}
	if _, err := io.Copy(dst, src); err != nil {
		return fmt.Errorf("copy %s: %w", src.Name(), err)
	}
	return nil
}

// copyChanges compares the staging tree after the run with the snapshot.
func (s *Scratch) copyChanges(cs *ChangeSet) error {
	seen := map[string]bool{}
	kept := map[string]bool{"": true} // dirs that are still the host's dir (not replaced)
	var walk func(rel string, fresh bool) error
	walk = func(rel string, fresh bool) error {
		dir := filepath.Join(s.stagingDir(), filepath.FromSlash(rel))
		ents, err := os.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("read the staging copy: %w", err)
		}
		for _, e := range ents {
			c, st, err := scratchEntry(dir, rel, e.Name())
			if err != nil {
				return fmt.Errorf("read the staging copy: %w", err)
			}
			p, src, typ := c.Path, c.source, c.Type
			if typ == TypeRegular {
				cs.names[st.Ino]++
			}
			sn, inSnap := s.snap[p]
			if fresh {
				inSnap = false
			}
			seen[p] = true
			xattrMeta(src, listXattrs(src), &c)
			if inSnap {
				c.Kind, c.Prev = Modified, sn.typ
			}
			if typ == TypeSymlink {
				if c.Linkname, err = os.Readlink(src); err != nil {
					return fmt.Errorf("read the staging copy: %w", err)
				}
			}
			untouched := inSnap && sn.typ == typ && sn.ino == st.Ino && sn.ctime == st.Ctim
			switch {
			case !inSnap:
				cs.Changes = append(cs.Changes, c)
			case typ == TypeDir && sn.typ == TypeDir && sn.ino != st.Ino:
				// rm -rf d; mkdir d: the dir was replaced, like an overlay opaque dir.
				c.Opaque = true
				cs.Changes = append(cs.Changes, c)
			case untouched:
				cs.skip(p)
			case sn.typ != typ:
				cs.Changes = append(cs.Changes, c)
			case typ == TypeDir:
				if c.Perm != sn.perm {
					cs.Changes = append(cs.Changes, c)
				} else {
					cs.skip(p)
				}
			case typ == TypeSymlink:
				if c.Linkname != sn.linkname {
					cs.Changes = append(cs.Changes, c)
				} else {
					cs.skip(p)
				}
			case typ == TypeRegular:
				if c.Perm == sn.perm && c.Size == sn.size {
					if same, err := sameContent(src, filepath.Join(s.project, filepath.FromSlash(p))); err == nil && same {
						cs.skip(p)
						continue
					}
				}
				cs.Changes = append(cs.Changes, c)
			default:
				cs.Changes = append(cs.Changes, c)
			}
			if typ == TypeDir {
				childFresh := !inSnap || sn.typ != TypeDir || sn.ino != st.Ino
				if !childFresh {
					kept[p] = true
				}
				if err := walk(p, childFresh); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk("", false); err != nil {
		return err
	}
	for p, sn := range s.snap {
		if seen[p] {
			continue
		}
		parent := path.Dir(p)
		if parent == "." {
			parent = ""
		}
		if kept[parent] {
			cs.Changes = append(cs.Changes, Change{Path: p, Kind: Deleted, Prev: sn.typ})
		}
	}
	return nil
}

package install

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// shareCache makes a cache dir usable by the container's root when phylum-box runs as
// real root (the container's root is then an unprivileged mapped uid): every entry
// not owned by that uid is given to it. Once per dir and install: what the steps
// write there is the container root's already. An entry that has the owner is only
// stat'ed, never chown'ed, so a warm cache of many files is not written again on
// every step (issue 12: a 3,000-file npm cache cost 50 ms a step).
func (r *runner) shareCache(dir string) error {
	id := r.sess.Identity()
	if id.Rootless || r.shared[dir] {
		return nil
	}
	if !filepath.IsAbs(dir) {
		return fmt.Errorf("cache %s is not an absolute path", dir)
	}
	if err := chownTree(dir, id.RootUID, id.RootGID); err != nil {
		return fmt.Errorf("cache %s: %w", dir, err)
	}
	if r.shared == nil {
		r.shared = map[string]bool{}
	}
	r.shared[dir] = true
	return nil
}

// makeCacheDir creates a cache dir that does not exist yet, 0700, and the
// directories above it that do not either 0755, as the manager itself would
// (mkdir -p): a cache can lie under a path the container sees through a
// read-only bind of the host's (root's yarn classic cache,
// /usr/local/share/.cache/yarn, under /usr), where its mount point is looked up
// as the container's root — which is not the host's root — and a 0700 parent
// made here would refuse it.
func makeCacheDir(dir string) error {
	if !filepath.IsAbs(dir) {
		return fmt.Errorf("cache dir %s is not an absolute path", dir)
	}
	if st, err := os.Stat(dir); err == nil && st.IsDir() {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return nil
}

// chownTree gives dir and everything below it to uid:gid. The walk goes by
// descriptors, never by path below dir, and follows no symlink below it (a link is
// chown'ed itself, as lchown does): a directory swapped for a link while it runs
// cannot send the chown outside the tree. dir itself is the user's configured
// cache path and is opened as named.
func chownTree(dir string, uid, gid int) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: dir, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return &os.PathError{Op: "fstat", Path: dir, Err: err}
	}
	if int(st.Uid) != uid || int(st.Gid) != gid {
		if err := unix.Fchown(fd, uid, gid); err != nil {
			unix.Close(fd)
			return &os.PathError{Op: "fchown", Path: dir, Err: err}
		}
	}
	return chownBelow(fd, dir, uid, gid, 0)
}

// chownBelow chowns the entries of the directory open at fd (and closes fd).
func chownBelow(fd int, name string, uid, gid, depth int) error {
	d := os.NewFile(uintptr(fd), name)
	defer d.Close()
	if depth > 256 {
		// A package's own directories can be this deep in a cache that keeps
		// packages unpacked (yarn 1): an error here would refuse every later
		// install with that cache. What lies deeper is left as it is — written
		// by the container's root, it is most likely its own already.
		return nil
	}
	names, err := d.Readdirnames(-1)
	if err != nil {
		return err
	}
	for _, n := range names {
		var st unix.Stat_t
		if err := unix.Fstatat(fd, n, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue // gone since the listing
			}
			return &os.PathError{Op: "fstatat", Path: name + "/" + n, Err: err}
		}
		if int(st.Uid) != uid || int(st.Gid) != gid {
			if err := unix.Fchownat(fd, n, uid, gid, unix.AT_SYMLINK_NOFOLLOW); err != nil && !errors.Is(err, unix.ENOENT) {
				return &os.PathError{Op: "fchownat", Path: name + "/" + n, Err: err}
			}
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			continue
		}
		sub, err := unix.Openat(fd, n, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue
			}
			return &os.PathError{Op: "openat", Path: name + "/" + n, Err: err}
		}
		if err := chownBelow(sub, name+"/"+n, uid, gid, depth+1); err != nil {
			return err
		}
	}
	return nil
}

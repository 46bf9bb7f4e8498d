// Package safefs reads files of a tree phylum-box does not trust — a project
// checkout, a package a registry served, what a sandboxed step wrote — as the
// files they are named, and nothing else: each path is resolved beneath its root
// with openat2 (RESOLVE_BENEATH), so neither ".." nor a symbolic link leads out
// of it; by default no symbolic link is followed at all, anywhere on the way; the
// file must be a regular file, checked before anything is opened for reading (a
// FIFO planted under a lockfile's name or a device node is refused without ever
// being opened); and a read has a size cap.
// Every host-side read of such a tree goes through here, so the rule is written
// and tested once.
package safefs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

var (
	// ErrNotRegular: the path names a directory, FIFO, socket or device.
	ErrNotRegular = errors.New("not a regular file")
	// ErrTooLarge: the file is larger than the caller's cap.
	ErrTooLarge = errors.New("larger than the size cap")
	// ErrOutside: the path itself leaves the tree (absolute, "..", or the root).
	ErrOutside = errors.New("not a path inside the tree")
)

// HardLinksError is a file with more than one hard link where Options.OneLink
// asks for one: the same file under another name, which may be outside the tree.
type HardLinksError struct{ Links uint64 }

func (e *HardLinksError) Error() string { return fmt.Sprintf("has %d hard links", e.Links) }

// Options relax or tighten the default rule (no symbolic link at all, any
// number of hard links).
type Options struct {
	// FollowInside follows a symbolic link that resolves beneath the root (a
	// project's files may link to each other); one leading out of it is still
	// refused (EXDEV). Off, any symbolic link on the way is refused (ELOOP).
	FollowInside bool
	// OneLink refuses a file with more than one hard link (*HardLinksError):
	// for files whose content is trusted as the tree's own, such as a
	// project's .npmrc, which a hard link to ~/.npmrc would otherwise make.
	OneLink bool
}

// openat2 is unix.Openat2; a test replaces it to exercise the fallback for
// kernels without openat2 (before 5.6).
var openat2 = unix.Openat2

// Open opens root/rel for reading under the rule. rel is relative to root
// (slash- or OS-separated). Errors are *fs.PathError naming rel: one matching
// fs.ErrNotExist for a missing file; unix.ELOOP for a symbolic link (the file
// itself or a directory on the way, saying which), unix.EXDEV for one leading out
// of the tree when FollowInside; ErrNotRegular; ErrOutside; *HardLinksError.
func Open(root, rel string, o Options) (*os.File, error) {
	rfd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: root, Err: err}
	}
	defer unix.Close(rfd)
	return OpenAt(rfd, rel, o)
}

// OpenAt is Open with the root given as a directory descriptor (O_PATH is
// enough), for a caller that reads many files of one tree.
func OpenAt(dirfd int, rel string, o Options) (*os.File, error) {
	clean := filepath.Clean(filepath.FromSlash(rel))
	if clean == "." || filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		return nil, &fs.PathError{Op: "open", Path: rel, Err: ErrOutside}
	}
	// The path is resolved once, to an O_PATH descriptor, which opens nothing:
	// the node is checked through it, and only a regular file is then opened for
	// reading, through that descriptor (the same inode, not the name again). A
	// FIFO or device is never opened, so opening it cannot block or act on it.
	// Without O_NOFOLLOW, RESOLVE_NO_SYMLINKS refuses a trailing link with ELOOP
	// (with it, O_PATH would return the link itself).
	flags := unix.O_PATH | unix.O_CLOEXEC
	resolve := uint64(unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS)
	if !o.FollowInside {
		resolve |= unix.RESOLVE_NO_SYMLINKS
	}
	pfd, err := openat2(dirfd, clean, &unix.OpenHow{Flags: uint64(flags), Resolve: resolve})
	switch {
	case errors.Is(err, unix.ENOSYS) && !o.FollowInside:
		pfd, err = openWalk(dirfd, clean, flags|unix.O_NOFOLLOW)
	case errors.Is(err, unix.ELOOP) && !o.FollowInside:
		err = whichLink(dirfd, clean)
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: rel, Err: err}
	}
	defer unix.Close(pfd)
	var st unix.Stat_t
	if err := unix.Fstat(pfd, &st); err != nil {
		return nil, &fs.PathError{Op: "stat", Path: rel, Err: err}
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
	case unix.S_IFLNK: // openWalk's O_PATH|O_NOFOLLOW on a trailing link
		return nil, &fs.PathError{Op: "open", Path: rel, Err: &symlinkError{file: true}}
	default:
		return nil, &fs.PathError{Op: "open", Path: rel, Err: ErrNotRegular}
	}
	if o.OneLink && st.Nlink > 1 {
		return nil, &fs.PathError{Op: "open", Path: rel, Err: &HardLinksError{Links: uint64(st.Nlink)}}
	}
	fd, err := reopen(pfd)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: rel, Err: err}
	}
	return os.NewFile(uintptr(fd), rel), nil
}

// reopen opens the regular file an O_PATH descriptor refers to for reading,
// through /proc/self/fd (O_NOFOLLOW does not apply to that link: it names the
// inode itself). Should /proc be absent, there is no other way to reopen a
// descriptor, so this fails rather than open the name again.
func reopen(pfd int) (int, error) {
	return unix.Open(fmt.Sprintf("/proc/self/fd/%d", pfd), unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOCTTY|unix.O_NONBLOCK, 0)
}

// symlinkError is a symbolic link where none is followed: the file itself, or a
// directory on the way. It matches unix.ELOOP, what the kernel reports.
type symlinkError struct{ file bool }

func (e *symlinkError) Error() string {
	if e.file {
		return "a symbolic link, not a regular file"
	}
	return "a directory on the way is a symbolic link"
}

func (e *symlinkError) Unwrap() error { return unix.ELOOP }

// whichLink says where the symbolic link that made openat2 fail with ELOOP is:
// the parent directory is opened under the same rule, and the file looked at
// without following it.
func whichLink(dirfd int, clean string) error {
	dir, base := filepath.Split(clean)
	pfd := dirfd
	if dir != "" {
		fd, err := openat2(dirfd, dir, &unix.OpenHow{
			Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
			Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
		})
		if err != nil {
			return &symlinkError{}
		}
		defer unix.Close(fd)
		pfd = fd
	}
	var st unix.Stat_t
	if unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
		return &symlinkError{file: true}
	}
	return &symlinkError{}
}

// openWalk is the no-symlink rule without openat2: one component at a time,
// each opened with O_NOFOLLOW below the last. clean has no "." or ".." left.
func openWalk(dirfd int, clean string, flags int) (int, error) {
	parts := strings.Split(clean, string(filepath.Separator))
	dir := dirfd
	for _, p := range parts[:len(parts)-1] {
		next, err := unix.Openat(dir, p, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.ENOTDIR) {
			// A symbolic link (or a file) where a directory was expected:
			// report a link as the link it is.
			var st unix.Stat_t
			if unix.Fstatat(dir, p, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
				err = &symlinkError{}
			}
		}
		if dir != dirfd {
			unix.Close(dir)
		}
		if err != nil {
			return -1, err
		}
		dir = next
	}
	fd, err := unix.Openat(dir, parts[len(parts)-1], flags, 0)
	if dir != dirfd {
		unix.Close(dir)
	}
	if errors.Is(err, unix.ELOOP) {
		err = &symlinkError{file: true} // O_NOFOLLOW on the file itself
	}
	return fd, err
}

// ReadFile reads root/rel under the rule (see Open), refusing a file larger
// than max bytes with ErrTooLarge.
func ReadFile(root, rel string, max int64, o Options) ([]byte, error) {
	f, err := Open(root, rel, o)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readCapped(f, rel, max)
}

// ReadFileAt is ReadFile with the root given as a directory descriptor.
func ReadFileAt(dirfd int, rel string, max int64, o Options) ([]byte, error) {
	f, err := OpenAt(dirfd, rel, o)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readCapped(f, rel, max)
}

func readCapped(f *os.File, rel string, max int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: rel, Err: err}
	}
	if int64(len(data)) > max {
		return nil, &fs.PathError{Op: "read", Path: rel, Err: fmt.Errorf("%w of %d bytes", ErrTooLarge, max)}
	}
	return data, nil
}

package rootfs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/phylum-box/phylum-box/internal/safefs"
)

// maxViewFile caps ReadFile: a lockfile larger than this is not a lockfile.
const maxViewFile = 256 << 20

// ReadFile reads a file as the run's containers see it: the project seen through
// the overlay (upper over lower, whiteouts and opaque dirs honoured) or the staging
// copy. rel is project-relative. No symlink is followed on either side, so a file
// the run replaced with a symlink reads as an error, never as the link's target.
func (s *Scratch) ReadFile(rel string) ([]byte, error) {
	base, rel, err := s.locate(rel)
	if err != nil {
		return nil, err
	}
	return readBeneath(base, rel)
}

// Readlink returns the target of a symlink as the run's containers see it (see
// ReadFile), without following it or any symlink on the way; an entry that is not a
// symlink is an error.
func (s *Scratch) Readlink(rel string) (string, error) {
	base, rel, err := s.locate(rel)
	if err != nil {
		return "", err
	}
	return readlinkBeneath(base, rel)
}

// HostDir returns the host path of directory rel as the run's view has it: in the
// upper dir when the run created or changed it (for an overlay, only the entries
// the run wrote are there; a directory the run made anew is opaque and whole), in
// the project or in the staging copy otherwise. No symlink is followed on the way
// and rel itself must be a directory. Read it only while no container runs, and
// without following symlinks below it: what is there was written by the run.
func (s *Scratch) HostDir(rel string) (string, error) {
	base, clean, err := s.locate(rel)
	if err != nil {
		return "", err
	}
	// Every component is checked, whichever tree holds it: a project's own
	// node_modules may be a symlink to anywhere.
	parts := strings.Split(clean, "/")
	for i := range parts {
		var st unix.Stat_t
		q := filepath.Join(base, filepath.FromSlash(strings.Join(parts[:i+1], "/")))
		if err := unix.Lstat(q, &st); err != nil {
			return "", err
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return "", fmt.Errorf("%s is not a directory in the run's view", strings.Join(parts[:i+1], "/"))
		}
	}
	return filepath.Join(base, filepath.FromSlash(clean)), nil
}

// viewRel cleans rel, a path the caller names inside the project, and refuses one
// that is not.
func viewRel(rel string) (string, error) {
	rel = path.Clean(filepath.ToSlash(rel))
	if rel == "." || path.IsAbs(rel) || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("read %q: not a path inside the project", rel)
	}
	return rel, nil
}

// locate finds which tree holds rel in the run's view: the upper dir, the project
// (the overlay's lower dir) or the staging copy.
func (s *Scratch) locate(rel string) (base, clean string, err error) {
	if rel, err = viewRel(rel); err != nil {
		return "", "", err
	}
	if s.mode != ModeOverlay {
		return s.stagingDir(), rel, nil
	}
	upper := s.upperDir()
	if inUpper(upper, rel) {
		return upper, rel, nil
	}
	// Walk the path in the upper dir: an entry there decides; a whiteout hides the
	// lower file; an opaque or new dir hides everything below it in the lower dir.
	parts := strings.Split(rel, "/")
	lowerVisible := true
	for i := range parts {
		p := filepath.Join(upper, filepath.FromSlash(strings.Join(parts[:i+1], "/")))
		var st unix.Stat_t
		err := unix.Lstat(p, &st)
		if errors.Is(err, unix.ENOENT) {
			break
		}
		if err != nil {
			return "", "", err
		}
		if isWhiteoutAt(p, &st) {
			return "", "", fmt.Errorf("read %s: %w", rel, fs.ErrNotExist)
		}
		last := i == len(parts)-1
		if last {
			return upper, rel, nil
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return "", "", fmt.Errorf("read %s: %s is not a directory in the run's view", rel, strings.Join(parts[:i+1], "/"))
		}
		if isOpaqueDir(p) {
			lowerVisible = false
		}
	}
	if !lowerVisible {
		return "", "", fmt.Errorf("read %s: %w", rel, fs.ErrNotExist)
	}
	return s.project, rel, nil
}

// inUpper is locate's short cut for the common case, a file the run wrote: rel
// resolves in the upper dir through real directories only (no symlink, no
// whiteout, which is not a directory) to an entry that is not a whiteout. The
// walk below then ends on that entry too, at its last component, and returns the
// upper dir whatever the dirs on the way say (opaque or not); one openat2 instead
// of an lstat and two getxattr per component. Anything else (missing, a symlink
// or a non-directory on the way, a whiteout) is left to the walk.
func inUpper(upper, rel string) bool {
	rfd, err := unix.Open(upper, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(rfd)
	fd, err := unix.Openat2(rfd, filepath.FromSlash(rel), &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_NOFOLLOW | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV,
	})
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return false
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFCHR:
		return st.Rdev != 0 // 0/0: a whiteout
	case unix.S_IFREG:
		return st.Size != 0 // an empty file may be a whiteout: the walk reads its xattrs
	}
	return true
}

func isWhiteoutAt(p string, st *unix.Stat_t) bool {
	if st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == 0 {
		return true
	}
	if st.Mode&unix.S_IFMT == unix.S_IFREG && st.Size == 0 {
		for _, n := range []string{"user.overlay.whiteout", "trusted.overlay.whiteout"} {
			if _, err := unix.Lgetxattr(p, n, nil); err == nil {
				return true
			}
		}
	}
	return false
}

func isOpaqueDir(p string) bool {
	buf := make([]byte, 4)
	for _, n := range []string{"user.overlay.opaque", "trusted.overlay.opaque"} {
		if sz, err := unix.Lgetxattr(p, n, buf); err == nil && sz > 0 && buf[0] == 'y' {
			return true
		}
	}
	return false
}

// readBeneath reads root/rel without following any symlink (safefs): a file the
// run replaced with a symlink, a FIFO or a device reads as an error, and one
// larger than maxViewFile too.
//
// The buffer is sized from the open file's fstat, so a file is read into one
// allocation (io.ReadAll, which safefs.ReadFile uses, grows and copies its buffer
// about 20 times for a 10 MB file: a built esbuild binary that a pnpm .bin shim
// points at). A file that grows while read is still read to its end, within the cap.
func readBeneath(root, rel string) ([]byte, error) {
	f, size, err := openCapped(root, rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// One byte more than the size: the read that returns EOF needs no new buffer.
	buf := bytes.NewBuffer(make([]byte, 0, size+1))
	if _, err := buf.ReadFrom(io.LimitReader(f, maxViewFile+1)); err != nil {
		return nil, &fs.PathError{Op: "read", Path: rel, Err: err}
	}
	if buf.Len() > maxViewFile {
		return nil, tooLarge(rel)
	}
	return buf.Bytes(), nil
}

// openCapped opens root/rel as safefs does (no symlink, a regular file only)
// and returns its size, refusing a file over maxViewFile — what reading the
// whole file would say.
func openCapped(root, rel string) (*os.File, int64, error) {
	f, err := safefs.Open(root, rel, safefs.Options{})
	if err != nil {
		return nil, 0, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		f.Close()
		return nil, 0, &fs.PathError{Op: "stat", Path: rel, Err: err}
	}
	if st.Size > maxViewFile {
		f.Close()
		return nil, 0, tooLarge(rel)
	}
	return f, st.Size, nil
}

func tooLarge(rel string) error {
	return &fs.PathError{Op: "read", Path: rel, Err: fmt.Errorf("%w of %d bytes", safefs.ErrTooLarge, maxViewFile)}
}

// ReadHead reads at most n bytes from the start of a file of the run's view,
// under ReadFile's rules (the same tree, no symlink followed, a regular file
// only): for a caller that needs a file's first line, not the whole file.
func (s *Scratch) ReadHead(rel string, n int) ([]byte, error) {
	base, rel, err := s.locate(rel)
	if err != nil {
		return nil, err
	}
	f, _, err := openCapped(base, rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, n)
	got, err := io.ReadFull(f, buf)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, &fs.PathError{Op: "read", Path: rel, Err: err}
	}
	return buf[:got], nil
}

// readlinkBeneath reads the symlink root/rel without following any symlink on the way.
func readlinkBeneath(root, rel string) (string, error) {
	dir, name := path.Split(rel)
	rfd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", err
	}
	defer unix.Close(rfd)
	dfd, err := openBeneath(rfd, filepath.FromSlash(strings.TrimSuffix(dir, "/")), unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return "", fmt.Errorf("readlink %s: %w", rel, fs.ErrNotExist)
		}
		return "", fmt.Errorf("readlink %s: %w", rel, err)
	}
	defer unix.Close(dfd)
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(dfd, name, buf)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return "", fmt.Errorf("readlink %s: %w", rel, fs.ErrNotExist)
		}
		return "", fmt.Errorf("readlink %s: %w", rel, err)
	}
	return string(buf[:n]), nil
}

// The change set of a run: file types, change kinds, and the walk of the
// scratch (overlay upper or staging copy) that lists what the run added, modified or deleted.

package rootfs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// FileType is the kind of a file system entry.
type FileType int

const (
	TypeNone    FileType = iota // absent
	TypeRegular                 // regular file
	TypeDir                     // directory
	TypeSymlink                 // symbolic link
	TypeDevice                  // character or block device
	TypeFifo                    // named pipe
	TypeSocket                  // unix socket
)

func (t FileType) String() string {
	return [...]string{"none", "file", "dir", "symlink", "device", "fifo", "socket"}[t]
}

func fileTypeOf(m uint32) FileType {
	switch m & unix.S_IFMT {
	case unix.S_IFREG:
		return TypeRegular
	case unix.S_IFDIR:
		return TypeDir
	case unix.S_IFLNK:
		return TypeSymlink
	case unix.S_IFCHR, unix.S_IFBLK:
		return TypeDevice
	case unix.S_IFIFO:
		return TypeFifo
	case unix.S_IFSOCK:
		return TypeSocket
	}
	return TypeNone
}

// ChangeKind says what happened to a path.
type ChangeKind int

const (
	Added    ChangeKind = iota // did not exist on the host
	Modified                   // existed: new content, mode, type, or (Opaque) replaced dir
	Deleted                    // removed by the run
)

func (k ChangeKind) String() string { return [...]string{"added", "modified", "deleted"}[k] }

// Change is one entry of a run's change set.
type Change struct {
	Path     string     // slash-separated, relative to the project, clean
	Kind     ChangeKind //
	Type     FileType   // the entry's type after the run (for Deleted: TypeNone)
	Prev     FileType   // the host entry's type when the change set was read (TypeNone: absent)
	Perm     uint32     // permission and setuid/setgid/sticky bits (07777) after the run
	Size     int64      // regular files
	Linkname string     // symlinks: the target, never dereferenced
	Opaque   bool       // dir replaces the host dir: host entries not in the run's dir go
	Rdev     uint64     // devices

	source   string // absolute path of the entry in the upper/staging tree
	nlink    uint64
	ino      uint64
	uid, gid uint32   // owner in the upper/staging tree
	strip    []string // overlay xattrs to remove before the entry goes into the project
	refuse   string   // a problem found while reading (overlay metadata we do not follow)
}

func (c Change) String() string {
	s := c.Kind.String() + " " + c.Type.String() + " " + c.Path
	if c.Kind == Deleted {
		s = "deleted " + c.Prev.String() + " " + c.Path
	}
	if c.Type == TypeSymlink {
		s += " -> " + c.Linkname
	}
	if c.Opaque {
		s += " (replaces dir)"
	}
	return Printable(s)
}

// ChangeSet is what a run changed, sorted by path (parents before children).
type ChangeSet struct {
	Changes []Change
	names   map[uint64]int  // names per regular-file inode seen in the source tree
	skipped map[string]bool // dirs holding a source entry that is not in Changes
	// project and linksOut: the symlinks out of the project the sync may carry
	// (SyncOptions.LinksOut, synclinksout.go).
	project  string
	linksOut []string
}

// skip records that the source entry p is not a change (a no-op copy-up, a whiteout), so
// its dirs cannot be moved into the project whole.
func (cs *ChangeSet) skip(p string) {
	for d := path.Dir(p); d != "."; d = path.Dir(d) {
		if cs.skipped[d] {
			return
		}
		cs.skipped[d] = true
	}
}

// Changes reads what the run changed. Call it after every process of the container has
// exited; the source tree is then static.
//
// Until the next container is given the project (ProjectMount(s)), Discard or
// SyncBack, nothing writes to the scratch, so a second call returns a copy of
// the first one's list instead of walking the tree again: an install lists it
// after its download for the check, for the build's changed packages and after
// its build for the check and for the sync (5,800 entries for a 300-package
// npm ci). Its host side is then as old as that first read; SyncBack checks every
// host entry again, through its fds, as it applies.
func (s *Scratch) Changes() (*ChangeSet, error) {
	if s.broken != nil {
		return nil, s.broken
	}
	if s.listed == nil {
		cs, err := s.readChanges()
		if err != nil {
			return nil, err
		}
		s.listed = cs
	}
	return s.listed.clone(), nil
}

// clone copies the list, so a caller's changes to it reach neither the kept one
// nor another caller; the maps are only read.
func (cs *ChangeSet) clone() *ChangeSet {
	c := *cs
	c.Changes = slices.Clone(cs.Changes)
	return &c
}

// readChanges walks the scratch.
func (s *Scratch) readChanges() (*ChangeSet, error) {
	cs := &ChangeSet{names: map[uint64]int{}, skipped: map[string]bool{}}
	var err error
	if s.mode == ModeOverlay {
		err = s.overlayChanges(cs, "", false)
	} else {
		err = s.copyChanges(cs)
	}
	if err != nil {
		return nil, err
	}
	sort.Slice(cs.Changes, func(i, j int) bool { return pathLess(cs.Changes[i].Path, cs.Changes[j].Path) })
	return cs, nil
}

// pathLess orders paths component-wise, so a dir sorts right before its children
// ("a/b" < "a/b/c" < "a/b-c").
func pathLess(a, b string) bool {
	ac, bc := strings.Split(a, "/"), strings.Split(b, "/")
	for i := 0; i < len(ac) && i < len(bc); i++ {
		if ac[i] != bc[i] {
			return ac[i] < bc[i]
		}
	}
	return len(ac) < len(bc)
}

// listXattrs returns the names of an entry's extended attributes (never following a
// symlink). One llistxattr per entry instead of one getxattr per attribute we care about.
func listXattrs(p string) []string {
	buf := make([]byte, 512)
	for {
		n, err := unix.Llistxattr(p, buf)
		if errors.Is(err, unix.ERANGE) {
			sz, err := unix.Llistxattr(p, nil)
			if err != nil {
				return nil
			}
			buf = make([]byte, sz+64)
			continue
		}
		if err != nil || n == 0 {
			return nil
		}
		return strings.Split(strings.TrimRight(string(buf[:n]), "\x00"), "\x00")
	}
}

// overlayXattr finds overlay's attribute named key: user.overlay.* with userxattr (our
// mounts), trusted.overlay.* for uppers made by a privileged mount. Both are honoured, so
// the change set matches what the merged view showed.
func overlayXattr(names []string, key string) (string, bool) {
	for _, n := range names {
		if n == "user.overlay."+key || n == "trusted.overlay."+key {
			return n, true
		}
	}
	return "", false
}

// xattrMeta reads what the change set needs from an entry's xattrs: overlay attributes,
// which must not travel into the project (a project dir with user.overlay.opaque, or a
// file marked as a whiteout, would change how the next run's overlay shows it), and file
// capabilities, which are refused like setuid bits.
func xattrMeta(p string, names []string, c *Change) {
	for _, n := range names {
		if strings.HasPrefix(n, "user.overlay.") || strings.HasPrefix(n, "trusted.overlay.") {
			c.strip = append(c.strip, n)
		}
		if n == "security.capability" && c.refuse == "" {
			c.refuse = "file capabilities (security.capability)"
		}
	}
	if _, ok := overlayXattr(names, "metacopy"); ok {
		c.refuse = "overlay metacopy file (its data lives elsewhere)"
	}
	if _, ok := overlayXattr(names, "redirect"); ok {
		c.refuse = "overlay redirect (renamed dir) is not followed"
	}
}

// scratchEntry is the change that entry name of dir, the scratch side of the
// project's dir rel, stands for as far as the entry itself tells (no Kind and no
// host side yet), and the entry's lstat.
func scratchEntry(dir, rel, name string) (Change, unix.Stat_t, error) {
	src := filepath.Join(dir, name)
	var st unix.Stat_t
	if err := unix.Lstat(src, &st); err != nil {
		return Change{}, st, err
	}
	return Change{Path: path.Join(rel, name), Type: fileTypeOf(st.Mode), Perm: st.Mode & 0o7777, Size: st.Size,
		source: src, nlink: uint64(st.Nlink), ino: st.Ino, Rdev: st.Rdev, uid: st.Uid, gid: st.Gid}, st, nil
}

// overlayChanges walks the upper dir. rel is the dir being walked ("" = root); fresh
// means the host's dir at rel is hidden (opaque, new or replacing a non-dir), so host
// entries below it are not consulted.
func (s *Scratch) overlayChanges(cs *ChangeSet, rel string, fresh bool) error {
	upper := filepath.Join(s.upperDir(), filepath.FromSlash(rel))
	ents, err := os.ReadDir(upper)
	if err != nil {
		return fmt.Errorf("read the overlay upper dir: %w", err)
	}
	for _, e := range ents {
		c, st, err := scratchEntry(upper, rel, e.Name())
		if err != nil {
			return fmt.Errorf("read the overlay upper dir: %w", err)
		}
		p, src, typ := c.Path, c.source, c.Type
		prev, hst := TypeNone, unix.Stat_t{}
		if !fresh {
			if err := unix.Lstat(filepath.Join(s.project, filepath.FromSlash(p)), &hst); err == nil {
				prev = fileTypeOf(hst.Mode)
			}
		}
		c.Prev = prev
		xnames := listXattrs(src)
		whiteout := typ == TypeDevice && st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == 0
		if !whiteout && typ == TypeRegular && st.Size == 0 {
			_, whiteout = overlayXattr(xnames, "whiteout")
		}
		if whiteout {
			if prev != TypeNone {
				cs.Changes = append(cs.Changes, Change{Path: p, Kind: Deleted, Prev: prev, source: src})
			}
			cs.skip(p)
			continue
		}
		if typ == TypeRegular {
			cs.names[st.Ino]++
		}
		xattrMeta(src, xnames, &c)
		switch {
		case prev == TypeNone:
			c.Kind = Added
		default:
			c.Kind = Modified
		}
		switch typ {
		case TypeDir:
			opaque := false
			if n, ok := overlayXattr(xnames, "opaque"); ok {
				buf := make([]byte, 8)
				sz, err := unix.Lgetxattr(src, n, buf)
				opaque = err == nil && string(buf[:sz]) == "y"
			}
			childFresh := fresh || prev != TypeDir || opaque
			if prev == TypeDir && opaque {
				c.Opaque = true
				cs.Changes = append(cs.Changes, c)
			} else if prev != TypeDir || hst.Mode&0o7777 != c.Perm || c.refuse != "" {
				cs.Changes = append(cs.Changes, c)
			}
			if err := s.overlayChanges(cs, p, childFresh); err != nil {
				return err
			}
		case TypeSymlink:
			target, err := os.Readlink(src)
			if err != nil {
				return fmt.Errorf("read the overlay upper dir: %w", err)
			}
			c.Linkname = target
			if prev == TypeSymlink {
				if old, err := os.Readlink(filepath.Join(s.project, filepath.FromSlash(p))); err == nil && old == target {
					cs.skip(p)
					continue
				}
			}
			cs.Changes = append(cs.Changes, c)
		case TypeRegular:
			// A copy-up happens on open for writing and on chmod/chown, so an upper file
			// may equal the host file; such no-op copies are not changes.
			if prev == TypeRegular && c.refuse == "" && hst.Mode&0o7777 == c.Perm && hst.Size == c.Size {
				if same, err := sameContent(src, filepath.Join(s.project, filepath.FromSlash(p))); err == nil && same {
					cs.skip(p)
					continue
				}
			}
			cs.Changes = append(cs.Changes, c)
		default:
			cs.Changes = append(cs.Changes, c)
		}
	}
	return nil
}

// sameContent compares two regular files byte by byte (never following a final symlink).
func sameContent(a, b string) (bool, error) {
	fa, err := os.OpenFile(a, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return false, err
	}
	defer fa.Close()
	fb, err := os.OpenFile(b, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return false, err
	}
	defer fb.Close()
	ba, bb := make([]byte, 64<<10), make([]byte, 64<<10)
	for {
		na, ea := io.ReadFull(fa, ba)
		nb, eb := io.ReadFull(fb, bb)
		if na != nb || !bytes.Equal(ba[:na], bb[:nb]) {
			return false, nil
		}
		if ea == io.EOF || ea == io.ErrUnexpectedEOF {
			return eb == io.EOF || eb == io.ErrUnexpectedEOF, nil
		}
		if ea != nil {
			return false, ea
		}
		if eb != nil {
			return false, eb
		}
	}
}

// The applier: applying a change set to the project through directory fds
// (openat2 beneath the project), with backups, an undo stack and rollback or commit.

package rootfs

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// conflictError: the host tree is not as the change set expects (it changed during the run).
type conflictError struct{ reason string }

func (e *conflictError) Error() string { return e.reason }

// resolveFlags: stay below the root, follow no symlink of any kind, and cross no mount
// point (the overlay never showed what is mounted inside the project, so a change there
// must not land on the mounted file system).
const resolveFlags = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV

// openBeneath opens a dir below root without following any symlink.
func openBeneath(root int, rel string, flags uint64) (int, error) {
	if rel == "" {
		rel = "."
	}
	for {
		fd, err := unix.Openat2(root, rel, &unix.OpenHow{Flags: flags | unix.O_CLOEXEC | unix.O_NOFOLLOW, Resolve: resolveFlags})
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			continue // openat2 asks for a retry when a rename raced with the lookup
		}
		return fd, err
	}
}

type applier struct {
	started       unix.Timespec // the scratch's start (Scratch.started)
	root, srcRoot int
	dirs, srcDirs map[string]int
	retired       []int
	undo          []undoStep
	steps         int // journal steps written (not counting the header)
	backups       []backup
	uid, gid      int
	runID         string
	seq           int
	journal       *os.File // write-ahead log of every step, for recovery after a kill
	// touched: host inodes this sync moved aside, with the ctime that gave them;
	// copied: run inodes with more than one name, by the copy made of the first
	// (synclinks.go).
	touched map[inodeKey]unix.Timespec
	copied  map[uint64]copiedFile
}

type undoStep struct {
	step int
	fn   func() error
}

type backup struct {
	dirfd int
	name  string
}

func newApplier(project, source, journal string, o SyncOptions) (*applier, error) {
	root, err := unix.Open(project, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, fmt.Errorf("open the project %s: %w", project, err)
	}
	src, err := unix.Open(source, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		unix.Close(root)
		return nil, fmt.Errorf("open the run's results %s: %w", source, err)
	}
	a := &applier{root: root, srcRoot: src, dirs: map[string]int{}, srcDirs: map[string]int{}, uid: o.OwnerUID, gid: o.OwnerGID}
	if a.uid < 0 || a.gid < 0 {
		var st unix.Stat_t
		if err := unix.Fstat(root, &st); err != nil {
			a.close()
			return nil, err
		}
		if a.uid < 0 {
			a.uid = int(st.Uid)
		}
		if a.gid < 0 {
			a.gid = int(st.Gid)
		}
	}
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	a.runID = hex.EncodeToString(rnd[:])
	j, err := os.OpenFile(journal, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		a.close()
		return nil, fmt.Errorf("start the sync journal (was SyncBack called twice?): %w", err)
	}
	a.journal = j
	if err := a.log(journalMagic, project, source); err != nil {
		a.close()
		return nil, err
	}
	return a, nil
}

func (a *applier) close() {
	for _, fd := range a.dirs {
		unix.Close(fd)
	}
	for _, fd := range a.srcDirs {
		unix.Close(fd)
	}
	for _, fd := range a.retired {
		unix.Close(fd)
	}
	unix.Close(a.root)
	unix.Close(a.srcRoot)
	if a.journal != nil {
		a.journal.Close()
	}
	a.dirs, a.srcDirs, a.retired = nil, nil, nil
}

// dir returns an fd (O_PATH) of the host dir rel, opened without following symlinks.
func (a *applier) dir(rel string) (int, error) {
	if fd, ok := a.dirs[rel]; ok {
		return fd, nil
	}
	fd, err := openBeneath(a.root, rel, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.EXDEV) {
			return -1, &conflictError{"a parent of it on the host is a symlink, not a directory, or a mount point"}
		}
		return -1, err
	}
	a.dirs[rel] = fd
	return fd, nil
}

func (a *applier) srcDir(rel string) (int, error) {
	if fd, ok := a.srcDirs[rel]; ok {
		return fd, nil
	}
	fd, err := openBeneath(a.srcRoot, rel, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return -1, fmt.Errorf("open the run's dir %s: %w", rel, err)
	}
	a.srcDirs[rel] = fd
	return fd, nil
}

// forget drops cached fds for rel and below: the name now refers to another dir. The fds
// stay open until close, because undo steps refer to them.
func (a *applier) forget(rel string) {
	for k, fd := range a.dirs {
		if k == rel || strings.HasPrefix(k, rel+"/") {
			a.retired = append(a.retired, fd)
			delete(a.dirs, k)
		}
	}
}

func typeAt(dirfd int, name string) (FileType, unix.Stat_t, error) {
	var st unix.Stat_t
	err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	if errors.Is(err, unix.ENOENT) {
		return TypeNone, st, nil
	}
	if err != nil {
		return TypeNone, st, err
	}
	return fileTypeOf(st.Mode), st, nil
}

// editedMeanwhile refuses to replace or delete a host file or symlink that was changed
// after the run started (the user kept working, or another tool wrote it): the sync
// would silently lose that edit. Directories are left out: adding a file to one changes
// its ctime too, and what happens inside is checked entry by entry. A name of an inode
// this sync already moved aside under another name (a hard link) was checked then; the
// move itself changed its ctime, so only a change after that move counts.
func (a *applier) editedMeanwhile(cur FileType, hst unix.Stat_t) error {
	if cur == TypeNone || cur == TypeDir || a.started == (unix.Timespec{}) {
		return nil
	}
	if touched, unchanged := a.touchedBySync(hst); touched {
		if unchanged {
			return nil
		}
		return &conflictError{"changed on the host while the run went on; syncing would lose that edit"}
	}
	if hst.Ctim.Sec > a.started.Sec || hst.Ctim.Sec == a.started.Sec && hst.Ctim.Nsec >= a.started.Nsec {
		return &conflictError{"changed on the host while the run went on; syncing would lose that edit"}
	}
	return nil
}

func splitRel(p string) (string, string) {
	d, n := path.Split(p)
	return strings.TrimSuffix(d, "/"), n
}

// moveAside renames a host entry to a backup name in the same dir (same file system,
// no copying), to be deleted on commit or renamed back on rollback.
func (a *applier) moveAside(pfd int, rel, name string) error {
	a.seq++
	bak := fmt.Sprintf(".phylum-box-bak-%s-%d", a.runID, a.seq)
	if err := a.log("aside", rel, bak); err != nil {
		return err
	}
	if err := unix.Renameat2(pfd, name, pfd, bak, unix.RENAME_NOREPLACE); err != nil {
		return fmt.Errorf("move the host's %s aside: %w", rel, err)
	}
	a.forget(rel)
	a.touchedInode(pfd, bak)
	a.backups = append(a.backups, backup{pfd, bak})
	a.pushUndo(func() error {
		return unix.Renameat2(pfd, bak, pfd, name, unix.RENAME_NOREPLACE)
	})
	return nil
}

// hostEntry opens dirRel, the directory of c's path in the project, and checks that
// the entry name there is still what the run ended with: the same type (c.Prev),
// and not a file edited on the host meanwhile. It returns the directory's fd and
// the entry's type and stat now.
func (a *applier) hostEntry(c Change, dirRel, name string) (pfd int, cur FileType, hst unix.Stat_t, err error) {
	if pfd, err = a.dir(dirRel); err != nil {
		return
	}
	if cur, hst, err = typeAt(pfd, name); err != nil {
		return
	}
	if cur != c.Prev {
		err = &conflictError{fmt.Sprintf("the host entry is a %s now but was a %s when the run ended: it changed meanwhile", cur, c.Prev)}
		return
	}
	err = a.editedMeanwhile(cur, hst)
	return
}

func (a *applier) applyOne(c Change) error {
	dirRel, name := splitRel(c.Path)
	pfd, cur, hst, err := a.hostEntry(c, dirRel, name)
	if err != nil {
		return err
	}
	if c.Kind == Deleted {
		return a.moveAside(pfd, c.Path, name)
	}
	if c.Type == TypeDir && c.Prev == TypeDir && !c.Opaque {
		return a.chmodDir(pfd, c.Path, name, c.Perm, hst.Mode&0o7777)
	}
	if cur != TypeNone {
		if err := a.moveAside(pfd, c.Path, name); err != nil {
			return err
		}
	}
	switch c.Type {
	case TypeDir:
		if err := a.log("mkdir", c.Path, ""); err != nil {
			return err
		}
		if err := unix.Mkdirat(pfd, name, 0o700); err != nil {
			return fmt.Errorf("mkdir: %w", err)
		}
		a.pushUndo(func() error { return unix.Unlinkat(pfd, name, unix.AT_REMOVEDIR) })
		if err := unix.Fchownat(pfd, name, a.uid, a.gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("chown: %w", err)
		}
		fd, err := openBeneath(pfd, name, unix.O_RDONLY|unix.O_DIRECTORY)
		if err != nil {
			return err
		}
		err = unix.Fchmod(fd, c.Perm)
		unix.Close(fd)
		return err
	case TypeSymlink:
		if err := a.log("create", c.Path, ""); err != nil {
			return err
		}
		if err := unix.Symlinkat(c.Linkname, pfd, name); err != nil {
			return fmt.Errorf("symlink: %w", err)
		}
		a.pushUndo(func() error { return unix.Unlinkat(pfd, name, 0) })
		return unix.Fchownat(pfd, name, a.uid, a.gid, unix.AT_SYMLINK_NOFOLLOW)
	case TypeRegular:
		return a.placeFile(pfd, dirRel, name, c)
	}
	return fmt.Errorf("cannot sync a %s", c.Type)
}

func (a *applier) chmodDir(pfd int, rel, name string, perm, old uint32) error {
	fd, err := openBeneath(pfd, name, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return &conflictError{"the host dir is no longer a plain directory"}
	}
	if err := a.log("chmod", rel, strconv.FormatUint(uint64(old), 8)); err != nil {
		unix.Close(fd)
		return err
	}
	if err := unix.Fchmod(fd, perm); err != nil {
		unix.Close(fd)
		return err
	}
	a.retired = append(a.retired, fd)
	a.pushUndo(func() error { return unix.Fchmod(fd, old) })
	return nil
}

// placeFile moves the run's file into place (rename on the same file system), or copies
// it to a temporary name beside the target and renames that.
func (a *applier) placeFile(pfd int, dirRel, name string, c Change) error {
	sfd, err := a.srcDir(dirRel)
	if err != nil {
		return err
	}
	// Verify the source is still the entry the change set describes.
	var st unix.Stat_t
	if err := unix.Fstatat(sfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil || fileTypeOf(st.Mode) != TypeRegular || st.Ino != c.ino {
		return fmt.Errorf("the run's file %s changed after the change set was read", c.Path)
	}
	if err := a.prepare(sfd, name, c); err != nil {
		return err
	}
	if err := a.log("move", c.Path, ""); err != nil {
		return err
	}
	err = unix.Renameat2(sfd, name, pfd, name, unix.RENAME_NOREPLACE)
	if err == nil {
		a.pushUndo(func() error { return unix.Renameat2(pfd, name, sfd, name, unix.RENAME_NOREPLACE) })
		return nil
	}
	if !errors.Is(err, unix.EXDEV) {
		return fmt.Errorf("move into place: %w", err)
	}
	return a.copyFile(sfd, pfd, name, c)
}

// prepare gives a source entry its final owner and strips overlay xattrs, before it is
// moved into the project.
func (a *applier) prepare(sfd int, name string, c Change) error {
	for _, x := range c.strip {
		if err := unix.Lremovexattr(c.source, x); err != nil && !errors.Is(err, unix.ENODATA) {
			return fmt.Errorf("remove xattr %s from %s: %w", x, c.Path, err)
		}
	}
	if int(c.uid) != a.uid || int(c.gid) != a.gid {
		if err := unix.Fchownat(sfd, name, a.uid, a.gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("chown %s: %w", c.Path, err)
		}
	}
	return nil
}

// errNoMove: the tree cannot be renamed into place (another file system); apply it entry
// by entry.
var errNoMove = errors.New("cannot move the tree")

// moveTree moves a new dir and everything below it (tree[0] and the changes under it,
// which are all of its source entries, all allowed) into the project with one rename,
// after giving every entry its owner. This is what makes a 30,000-file node_modules cheap.
func (a *applier) moveTree(tree []Change) error {
	c := tree[0]
	dirRel, name := splitRel(c.Path)
	pfd, cur, _, err := a.hostEntry(c, dirRel, name)
	if err != nil {
		return err
	}
	sfd, err := a.srcDir(dirRel)
	if err != nil {
		return err
	}
	var sst, pst unix.Stat_t
	if unix.Fstat(sfd, &sst) != nil || unix.Fstat(pfd, &pst) != nil || sst.Dev != pst.Dev {
		return errNoMove
	}
	for _, e := range tree {
		edir, ename := splitRel(e.Path)
		efd, err := a.srcDir(edir)
		if err != nil {
			return err
		}
		if err := a.prepare(efd, ename, e); err != nil {
			return err
		}
	}
	if cur != TypeNone {
		if err := a.moveAside(pfd, c.Path, name); err != nil {
			return err
		}
	}
	if err := a.log("move", c.Path, ""); err != nil {
		return err
	}
	if err := unix.Renameat2(sfd, name, pfd, name, unix.RENAME_NOREPLACE); err != nil {
		if errors.Is(err, unix.EXDEV) { // a mount point between: undo the move aside, go entry by entry
			if cur != TypeNone {
				if uerr := a.undoLast(); uerr != nil {
					return uerr
				}
				a.backups = a.backups[:len(a.backups)-1]
			}
			return errNoMove
		}
		return fmt.Errorf("move into place: %w", err)
	}
	a.forget(c.Path)
	a.pushUndo(func() error { return unix.Renameat2(pfd, name, sfd, name, unix.RENAME_NOREPLACE) })
	return nil
}

func (a *applier) copyFile(sfd, pfd int, name string, c Change) error {
	in, err := unix.Openat(sfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	inF := os.NewFile(uintptr(in), c.source)
	defer inF.Close()
	a.seq++
	tmp := fmt.Sprintf(".phylum-box-new-%s-%d", a.runID, a.seq)
	if err := a.log("create", c.Path, tmp); err != nil {
		return err
	}
	if linked, err := a.linkCopied(pfd, tmp, c); err != nil {
		return err
	} else if linked {
		return a.renameCopy(pfd, tmp, name, c)
	}
	out, err := unix.Openat(pfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("create a temporary file beside %s: %w", c.Path, err)
	}
	outF := os.NewFile(uintptr(out), tmp)
	fail := func(err error) error {
		outF.Close()
		_ = unix.Unlinkat(pfd, tmp, 0)
		return err
	}
	if err := copyData(outF, inF); err != nil {
		return fail(err)
	}
	if err := unix.Fchown(out, a.uid, a.gid); err != nil {
		return fail(fmt.Errorf("chown: %w", err))
	}
	if err := unix.Fchmod(out, c.Perm); err != nil {
		return fail(fmt.Errorf("chmod: %w", err))
	}
	var st unix.Stat_t
	if unix.Fstat(in, &st) == nil {
		_ = unix.UtimesNanoAt(pfd, tmp, []unix.Timespec{st.Atim, st.Mtim}, unix.AT_SYMLINK_NOFOLLOW)
	}
	if err := outF.Close(); err != nil {
		_ = unix.Unlinkat(pfd, tmp, 0)
		return err
	}
	return a.renameCopy(pfd, tmp, name, c)
}

// renameCopy moves a copy (or a link to one) from its temporary name into place.
func (a *applier) renameCopy(pfd int, tmp, name string, c Change) error {
	if err := unix.Renameat2(pfd, tmp, pfd, name, unix.RENAME_NOREPLACE); err != nil {
		_ = unix.Unlinkat(pfd, tmp, 0)
		return fmt.Errorf("move into place: %w", err)
	}
	a.pushUndo(func() error { return unix.Unlinkat(pfd, name, 0) })
	a.rememberCopy(pfd, name, c)
	return nil
}

// pushUndo registers how to undo the step just logged. The journal step's number goes
// with it, so a completed undo can be journaled too: recovery after a kill must not undo
// a step twice (undoing a move that was already undone would move the restored host
// entry out of the project).
func (a *applier) pushUndo(fn func() error) {
	a.undo = append(a.undo, undoStep{a.steps - 1, fn})
}

func (a *applier) undoLast() error {
	u := a.undo[len(a.undo)-1]
	if err := u.fn(); err != nil {
		return err
	}
	a.undo = a.undo[:len(a.undo)-1]
	return a.log("undone", "", strconv.Itoa(u.step))
}

// rollback undoes every applied step, newest first.
func (a *applier) rollback() error {
	var errs []error
	for len(a.undo) > 0 {
		if err := a.undoLast(); err != nil {
			errs = append(errs, err)
			a.undo = a.undo[:len(a.undo)-1]
		}
	}
	if len(errs) == 0 {
		if err := a.log("done", "", "rolled back"); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("roll back the partial sync (the project may need a look; backups are named .phylum-box-bak-%s-*): %w", a.runID, errors.Join(errs...))
	}
	return nil
}

// commit removes the backups of replaced and deleted host entries.
func (a *applier) commit() error {
	if err := a.log("commit", "", ""); err != nil {
		return err
	}
	for _, b := range a.backups {
		_ = removeAllAt(b.dirfd, b.name)
	}
	a.undo, a.backups = nil, nil
	return a.log("done", "", "")
}

// removeAllAt removes name below dirfd recursively without following symlinks.
func removeAllAt(dirfd int, name string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	if fileTypeOf(st.Mode) != TypeDir {
		return unix.Unlinkat(dirfd, name, 0)
	}
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	if st.Mode&0o300 != 0o300 {
		_ = unix.Fchmod(fd, st.Mode&0o7777|0o700)
	}
	names, err := f.Readdirnames(-1) // all first: unlinking while reading can skip entries
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := removeAllAt(fd, n); err != nil {
			return err
		}
	}
	return unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR)
}

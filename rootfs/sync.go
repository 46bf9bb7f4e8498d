package rootfs

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// SyncOptions say what a SyncBack may write.
type SyncOptions struct {
	// Only limits the sync to these project-relative paths and everything below them
	// ("node_modules", "package.json"). Empty = everything. Changes elsewhere are refused
	// and listed, but do not stop the allowed ones.
	Only []string
	// AllowGit lets changes under a ".git" dir through. Naming a .git path in Only does too.
	AllowGit bool
	// OwnerUID and OwnerGID own every synced entry; -1 = the project dir's owner.
	OwnerUID, OwnerGID int
	// Validate, when set, is a further check of the changes that passed the generic
	// rules above (allowed), made before anything is applied: every refusal it returns
	// stops the sync (nothing is applied). all is every change of the run, refused ones
	// included, for context (a file the run wrote where it is not synced is still not
	// on the host). The caller knows what the outputs mean (a package manager's bin
	// links); SyncBack does not.
	Validate func(allowed, all []Change) []Refusal
	// Unchanged, keyed by project-relative path, says of a file the run rewrote
	// whether its content (run) says nothing the host's (host) does not — a
	// manager's state file that differs only in when it was written. Such a file
	// is left as the host has it and not counted (syncunchanged.go).
	Unchanged map[string]func(run, host []byte) bool
}

// Refusal is a change that was not synced, and why.
type Refusal struct {
	Path   string
	Reason string
	// OutsideOnly: refused only because SyncOptions.Only does not cover it. Such
	// refusals do not stop the sync.
	OutsideOnly bool
}

// String is the refusal for printing, with control characters in names escaped
// (Printable).
func (r Refusal) String() string { return Printable(r.Path + ": " + r.Reason) }

// SyncReport says what SyncBack did.
type SyncReport struct {
	Applied []Change
	Refused []Refusal
	// Stopped: a refusal other than "outside Only" (or a conflict found while applying)
	// stopped the sync; nothing was applied and the host tree is as it was.
	Stopped bool
}

// ErrRefused is returned (wrapped) when SyncBack stopped because of a refused change; the
// report lists them. The CLI maps it to exit code 4.
var ErrRefused = errors.New("the run made changes that may not be synced back")

// SyncBack applies the run's change set to the host project, as one transaction:
//
//  1. Every change is validated first (by the rules below, then by o.Validate). If any
//     is refused for a reason other than lying outside Only, nothing is applied
//     (Stopped, ErrRefused). Refusals outside Only are listed and the rest is applied.
//  2. Changes are applied in path order through file descriptors: every parent dir is
//     opened below the project root with openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS), so
//     no symlink — planted on the host or made by the run — is ever followed, and every
//     write is a *at call on the final name (rename, mkdir, symlink, unlink), which never
//     follows a final symlink either. Host entries that are replaced or deleted are first
//     renamed to a backup name in the same dir; files are moved (renamed) from the
//     upper/staging dir when it shares the project's file system, else copied to a
//     temporary name beside the target and renamed.
//  3. On any error, everything applied so far is undone in reverse order (backups renamed
//     back); on success the backups are removed.
//
// Refused for good: device nodes, fifos, sockets, setuid/setgid/sticky bits (refused, not
// stripped: a build has no business making them), symlinks whose target is absolute or
// climbs out of the project, ".git" paths unless allowed, hard links to inodes outside the
// run's tree, overlay redirects/metacopy, host entries that changed type during the run.
func (s *Scratch) SyncBack(o SyncOptions) (*SyncReport, error) {
	cs, err := s.Changes()
	if err != nil {
		return nil, err
	}
	return s.apply(cs, o)
}

func (s *Scratch) apply(cs *ChangeSet, o SyncOptions) (*SyncReport, error) {
	only, err := cleanOnly(o.Only)
	if err != nil {
		return nil, err
	}
	rep := &SyncReport{}
	allowed, refused := validate(cs, only, o.AllowGit)
	if o.Validate != nil {
		for _, r := range o.Validate(allowed, cs.Changes) {
			r.OutsideOnly = false
			refused = append(refused, r)
		}
	}
	rep.Refused = refused
	for _, r := range refused {
		if !r.OutsideOnly {
			rep.Stopped = true
			return rep, fmt.Errorf("%w: %d refused (first: %s)", ErrRefused, countStop(refused), firstStop(refused))
		}
	}
	allowed = s.dropUnchanged(allowed, o.Unchanged)
	if len(allowed) == 0 {
		return rep, nil
	}
	a, err := newApplier(s.project, s.sourceDir(), filepath.Join(s.dir, "journal"), o)
	if err != nil {
		return nil, err
	}
	a.started = s.started
	defer a.close()
	refusedUnder := map[string]bool{} // dirs with a refused entry below them
	for _, r := range refused {
		for d := path.Dir(r.Path); d != "."; d = path.Dir(d) {
			refusedUnder[d] = true
		}
	}
	for i := 0; i < len(allowed); i++ {
		c := allowed[i]
		n := 0 // changes below c applied together with it
		if c.Type == TypeDir && (c.Kind == Added || c.Opaque || c.Prev != TypeDir) &&
			!cs.skipped[c.Path] && !refusedUnder[c.Path] {
			for n = 0; i+n+1 < len(allowed) && strings.HasPrefix(allowed[i+n+1].Path, c.Path+"/"); n++ {
			}
			err = a.moveTree(allowed[i : i+n+1])
			if errors.Is(err, errNoMove) {
				n, err = 0, a.applyOne(c)
			}
		} else {
			err = a.applyOne(c)
		}
		if err != nil {
			rep.Applied = nil
			rbErr := a.rollback()
			var conflict *conflictError
			if errors.As(err, &conflict) {
				rep.Refused = append(rep.Refused, Refusal{Path: c.Path, Reason: conflict.reason})
				rep.Stopped = true
				return rep, errors.Join(fmt.Errorf("%w: %s: %s; nothing was synced", ErrRefused, Printable(c.Path), conflict.reason), rbErr)
			}
			rep.Stopped = true
			return rep, errors.Join(fmt.Errorf("sync back %s: %w; nothing was synced", Printable(c.Path), err), rbErr)
		}
		rep.Applied = append(rep.Applied, allowed[i:i+n+1]...)
		i += n
	}
	if err := a.commit(); err != nil {
		return rep, fmt.Errorf("sync back: %w", err)
	}
	return rep, nil
}

func countStop(rs []Refusal) int {
	n := 0
	for _, r := range rs {
		if !r.OutsideOnly {
			n++
		}
	}
	return n
}

func firstStop(rs []Refusal) string {
	for _, r := range rs {
		if !r.OutsideOnly {
			return r.String()
		}
	}
	return ""
}

// cleanOnly validates and normalises Only entries.
func cleanOnly(in []string) ([]string, error) {
	var out []string
	for _, o := range in {
		p := path.Clean(filepath.ToSlash(o))
		if p == "." {
			return nil, nil // the whole project
		}
		if path.IsAbs(p) || p == ".." || strings.HasPrefix(p, "../") {
			return nil, fmt.Errorf("--only %q: give a path relative to the project, inside it", o)
		}
		out = append(out, p)
	}
	return out, nil
}

// badName returns why a change path is not a plain project-relative path, or "".
func badName(p string) string {
	if p == "" || strings.HasPrefix(p, "/") || strings.ContainsRune(p, 0) {
		return "not a relative path"
	}
	for _, c := range strings.Split(p, "/") {
		if c == "" || c == "." || c == ".." {
			return "path has an empty, '.' or '..' component"
		}
	}
	return ""
}

func hasGit(p string) bool {
	for _, c := range strings.Split(p, "/") {
		if strings.EqualFold(c, ".git") {
			return true
		}
	}
	return false
}

// symlinkProblem returns why a symlink at linkPath with this target may not be synced.
// The check is lexical and strict: ".." is only allowed as a leading run of components,
// where it climbs through dirs that SyncBack itself made sure are real dirs; a ".." after
// a name would be resolved by the kernel through whatever that name is (maybe a symlink).
func symlinkProblem(linkPath, target string) string {
	if target == "" {
		return "symlink with an empty target"
	}
	if strings.HasPrefix(target, "/") {
		return "symlink target " + target + " is absolute (outside the project)"
	}
	depth := strings.Count(linkPath, "/")
	named := false
	for _, c := range strings.Split(target, "/") {
		switch c {
		case "", ".":
		case "..":
			if named {
				return "symlink target " + target + " has '..' after a name"
			}
			depth--
			if depth < 0 {
				return "symlink target " + target + " leaves the project"
			}
		default:
			named = true
		}
	}
	return ""
}

// validate splits the change set into what may be applied and what is refused.
func validate(cs *ChangeSet, only []string, allowGit bool) ([]Change, []Refusal) {
	var allowed []Change
	var refused []Refusal
	blocked := map[string]bool{} // refused dirs whose children cannot be placed either
	blockedOnly := map[string]bool{}
	for _, c := range cs.Changes {
		reason, outside := refusal(c, cs, only, allowGit)
		if reason == "" {
			for d := path.Dir(c.Path); d != "."; d = path.Dir(d) {
				if blocked[d] {
					reason, outside = "its parent dir "+d+" is refused", blockedOnly[d]
					break
				}
			}
		}
		if reason == "" {
			allowed = append(allowed, c)
			continue
		}
		refused = append(refused, Refusal{Path: c.Path, Reason: reason, OutsideOnly: outside})
		if c.Type == TypeDir && !(c.Kind == Modified && c.Prev == TypeDir && !c.Opaque) {
			blocked[c.Path] = true
			blockedOnly[c.Path] = outside
		}
	}
	return linkedAcross(allowed, refused, only)
}

// linkedAcross refuses a run file whose names would be synced below two different
// allowed paths (Only): a build's hard links stay within one output (cargo's target/),
// but an install script's `ln package.json node_modules/x/pj` would make the host's
// manifest one file with a package's file (and every later read of it refuse a
// hard-linked project file). The later name in path order is refused; that stops the
// sync. With no Only (the whole project is the run's) nothing is refused.
func linkedAcross(allowed []Change, refused []Refusal, only []string) ([]Change, []Refusal) {
	if len(only) == 0 {
		return allowed, refused
	}
	type first struct{ path, under string }
	seen := map[uint64]first{}
	out := allowed[:0:0]
	for _, c := range allowed {
		if c.Kind == Deleted || c.Type != TypeRegular || c.nlink < 2 {
			out = append(out, c)
			continue
		}
		under := outermostOnly(c.Path, only)
		f, ok := seen[c.ino]
		if !ok {
			seen[c.ino] = first{c.Path, under}
			out = append(out, c)
			continue
		}
		if f.under == under {
			out = append(out, c)
			continue
		}
		refused = append(refused, Refusal{Path: c.Path, Reason: fmt.Sprintf("hard link to %s, which is synced as another output (%s, not %s)", f.path, f.under, under)})
	}
	return out, refused
}

// outermostOnly is the shortest Only entry that p is, or lies below.
func outermostOnly(p string, only []string) string {
	best := ""
	for _, o := range only {
		if (p == o || strings.HasPrefix(p, o+"/")) && (best == "" || len(o) < len(best)) {
			best = o
		}
	}
	return best
}

func refusal(c Change, cs *ChangeSet, only []string, allowGit bool) (string, bool) {
	if why := badName(c.Path); why != "" {
		return why, false
	}
	gitNamed := false
	if len(only) > 0 {
		in, ancestor := false, false
		for _, o := range only {
			if c.Path == o || strings.HasPrefix(c.Path, o+"/") {
				in = true
				gitNamed = gitNamed || hasGit(o)
			} else if strings.HasPrefix(o, c.Path+"/") {
				ancestor = true
			}
		}
		if !in {
			// A new dir on the way to an allowed path must be made.
			if ancestor && c.Kind == Added && c.Type == TypeDir && c.Perm&0o7000 == 0 {
				return "", false
			}
			return "outside the allowed paths (--only)", true
		}
	}
	if hasGit(c.Path) && !allowGit && !gitNamed {
		return "changes under .git are never synced unless .git is named (git hooks run code)", false
	}
	if c.refuse != "" {
		return c.refuse, false
	}
	if c.Kind == Deleted {
		return "", false
	}
	switch c.Type {
	case TypeDevice:
		return "device node", false
	case TypeFifo:
		return "named pipe", false
	case TypeSocket:
		return "socket", false
	case TypeNone:
		return "unknown file type", false
	}
	if c.Perm&0o7000 != 0 && c.Type != TypeSymlink {
		return fmt.Sprintf("setuid/setgid/sticky bit (mode %04o)", c.Perm), false
	}
	if c.Type == TypeSymlink {
		if why := symlinkProblem(c.Path, c.Linkname); why != "" {
			return why, false
		}
	}
	if c.Type == TypeRegular && c.nlink > 1 && uint64(cs.names[c.ino]) < c.nlink {
		return fmt.Sprintf("hard link to a file outside the run's tree (%d links, %d seen)", c.nlink, cs.names[c.ino]), false
	}
	return "", false
}

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

// The journal is a line per step, written before the step is taken (one write(2) each,
// so a SIGKILL cannot lose it; a power cut can: there is no fsync per step). A run that
// is killed while syncing leaves it in its scratch dir; the next NewScratch for the
// project undoes the steps in reverse (ignoring steps that never happened), or, if the
// "commit" line made it, just removes the leftover backups.
const journalMagic = "phylum-box-sync-journal-v1"

func (a *applier) log(op, rel, arg string) error {
	if a.journal == nil {
		return nil
	}
	line := strconv.Quote(op) + "\t" + strconv.Quote(rel) + "\t" + strconv.Quote(arg) + "\n"
	if _, err := a.journal.WriteString(line); err != nil {
		return fmt.Errorf("write the sync journal: %w", err)
	}
	if op != journalMagic {
		a.steps++
	}
	if afterJournalStep != nil {
		afterJournalStep(op)
	}
	return nil
}

// afterJournalStep lets tests kill the process between two steps of a sync.
var afterJournalStep func(op string)

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

func (a *applier) applyOne(c Change) error {
	dirRel, name := splitRel(c.Path)
	pfd, err := a.dir(dirRel)
	if err != nil {
		return err
	}
	cur, hst, err := typeAt(pfd, name)
	if err != nil {
		return err
	}
	if cur != c.Prev {
		return &conflictError{fmt.Sprintf("the host entry is a %s now but was a %s when the run ended: it changed meanwhile", cur, c.Prev)}
	}
	if err := a.editedMeanwhile(cur, hst); err != nil {
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
	pfd, err := a.dir(dirRel)
	if err != nil {
		return err
	}
	cur, hst, err := typeAt(pfd, name)
	if err != nil {
		return err
	}
	if cur != c.Prev {
		return &conflictError{fmt.Sprintf("the host entry is a %s now but was a %s when the run ended: it changed meanwhile", cur, c.Prev)}
	}
	if err := a.editedMeanwhile(cur, hst); err != nil {
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

type journalStep struct{ op, rel, arg string }

// readJournal parses a journal; it returns the project and source it was written for.
func readJournal(p string) (project, source string, steps []journalStep, err error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return "", "", nil, err
	}
	for i, line := range strings.Split(string(data), "\n") {
		if i > 0 && line == "" {
			continue // after the last newline
		}
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			steps = append(steps, journalStep{}) // a torn last line: its step never started
			continue
		}
		var st journalStep
		var e1, e2, e3 error
		st.op, e1 = strconv.Unquote(f[0])
		st.rel, e2 = strconv.Unquote(f[1])
		st.arg, e3 = strconv.Unquote(f[2])
		if e1 != nil || e2 != nil || e3 != nil {
			steps = append(steps, journalStep{}) // keeps step numbers aligned
			continue
		}
		if i == 0 {
			if st.op != journalMagic {
				return "", "", nil, fmt.Errorf("%s is not a sync journal", p)
			}
			project, source = st.rel, st.arg
			continue
		}
		steps = append(steps, st)
	}
	return project, source, steps, nil
}

// recoverJournal finishes or undoes the sync of a killed run. Every step is resolved
// below the project root without following symlinks, as in the sync itself.
func recoverJournal(journal, project, source string) error {
	jp, js, steps, err := readJournal(journal)
	if err != nil {
		return err
	}
	if jp != project || js != source {
		return fmt.Errorf("sync journal %s is for %s, not %s", journal, jp, project)
	}
	root, err := unix.Open(project, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer unix.Close(root)
	src, err := unix.Open(source, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer unix.Close(src)
	committed := false
	undone := map[int]bool{}
	for _, st := range steps {
		switch st.op {
		case "done":
			return nil
		case "commit":
			committed = true
		case "undone":
			if k, err := strconv.Atoi(st.arg); err == nil {
				undone[k] = true
			}
		}
	}
	at := func(base int, rel string) (int, string, error) {
		d, n := splitRel(rel)
		fd, err := openBeneath(base, d, unix.O_PATH|unix.O_DIRECTORY)
		return fd, n, err
	}
	var errs []error
	ignore := func(err error) {
		if err != nil && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, err)
		}
	}
	if committed { // roll forward: only the backups are left to remove
		for _, st := range steps {
			if st.op == "aside" {
				if fd, _, err := at(root, st.rel); err == nil {
					ignore(removeAllAt(fd, st.arg))
					unix.Close(fd)
				}
			}
		}
		return errors.Join(errs...)
	}
	for i := len(steps) - 1; i >= 0; i-- {
		st := steps[i]
		if undone[i] || st.op == "undone" {
			continue
		}
		fd, name, err := at(root, st.rel)
		if err != nil {
			ignore(err)
			continue
		}
		switch st.op {
		case "aside":
			ignore(unix.Renameat2(fd, st.arg, fd, name, unix.RENAME_NOREPLACE))
		case "move":
			if sfd, _, err := at(src, st.rel); err == nil {
				ignore(unix.Renameat2(fd, name, sfd, name, unix.RENAME_NOREPLACE))
				unix.Close(sfd)
			} else {
				ignore(removeAllAt(fd, name))
			}
		case "mkdir":
			ignore(unix.Unlinkat(fd, name, unix.AT_REMOVEDIR))
		case "create":
			ignore(unix.Unlinkat(fd, name, 0))
			if st.arg != "" {
				ignore(unix.Unlinkat(fd, st.arg, 0))
			}
		case "chmod":
			if perm, err := strconv.ParseUint(st.arg, 8, 32); err == nil {
				if dfd, err := openBeneath(fd, name, unix.O_RDONLY|unix.O_DIRECTORY); err == nil {
					ignore(unix.Fchmod(dfd, uint32(perm)))
					unix.Close(dfd)
				}
			}
		}
		unix.Close(fd)
	}
	return errors.Join(errs...)
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

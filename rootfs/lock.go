package rootfs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/phylum-box/phylum-box/internal/flock"
	"github.com/phylum-box/phylum-box/internal/topdir"

	"golang.org/x/sys/unix"
)

// projectLock is an exclusive flock on <StateDir>/<key>.lock. The lock file records the
// holder's pid and its scratch dir, so a waiter can name the holder and the next run can
// remove the scratch of a run that was killed (its flock died with it).
type projectLock struct {
	f    *os.File
	key  string
	path string
}

// projectKey names a project in the state dir: a hash, so that no part of the (possibly
// hostile) path ends up in a file name.
func projectKey(project string) string {
	sum := sha256.Sum256([]byte(project))
	return hex.EncodeToString(sum[:])[:24]
}

// defaultStateDir is where scratch state and locks live unless the caller says otherwise.
func defaultStateDir() (string, error) {
	if os.Geteuid() == 0 {
		return "/var/cache/phylum-box/scratch", nil
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find the cache dir for scratch state (set XDG_CACHE_HOME or HOME): %w", err)
	}
	return filepath.Join(dir, "phylum-box", "scratch"), nil
}

// ensureStateDir creates the state dir. It must be searchable (0711) by the container's
// root, which may be an unprivileged mapped uid: libcontainer resolves upperdir/workdir
// under it with that uid's credentials. Listing stays private.
func ensureStateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return fmt.Errorf("create the scratch state dir %s: %w", dir, err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("scratch state dir: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("scratch state dir %s is not a directory (remove it or pass another state dir)", dir)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("scratch state dir %s belongs to uid %d, not to you (uid %d): remove it or pass another state dir", dir, st.Uid, os.Geteuid())
	}
	// Only widen to search permission; never make it writable or listable for others.
	if fi.Mode().Perm()&0o711 != 0o711 || fi.Mode().Perm()&0o066 != 0 {
		if err := os.Chmod(dir, 0o711); err != nil {
			return fmt.Errorf("chmod the scratch state dir %s: %w", dir, err)
		}
	}
	// Each run's scratch dir is placed like a top-level dir, away from the
	// trees earlier runs freed (internal/topdir); where the file system has no
	// such flag, runs simply go without it.
	_ = topdir.Mark(dir)
	return nil
}

// acquireProjectLock takes the project's lock, waiting (cancellably) while another run
// holds it. It returns the previous holder's recorded scratch dir, if any, so the caller
// can clean up after a killed run.
func acquireProjectLock(ctx context.Context, stateDir, project string, onWait func(int)) (*projectLock, string, error) {
	key := projectKey(project)
	path := filepath.Join(stateDir, key+".lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, "", fmt.Errorf("open the project lock %s: %w", path, err)
	}
	// internal/flock polls: a blocking flock(2) cannot be interrupted by a context.
	err = flock.Lock(ctx, f, func() {
		if onWait != nil {
			pid, _ := readLockRecord(f)
			onWait(pid)
		}
	})
	if err != nil {
		f.Close()
		if ctx.Err() != nil {
			return nil, "", fmt.Errorf("waiting for another phylum-box run on %s: %w", project, err)
		}
		return nil, "", fmt.Errorf("lock %s: %w", path, err)
	}
	_, prevScratch := readLockRecord(f)
	return &projectLock{f: f, key: key, path: path}, prevScratch, nil
}

// readLockRecord parses "pid\nscratchdir\n"; a missing or garbled record yields zeros.
func readLockRecord(f *os.File) (int, string) {
	buf := make([]byte, 4096)
	n, _ := f.ReadAt(buf, 0)
	lines := strings.SplitN(string(buf[:n]), "\n", 3)
	pid, _ := strconv.Atoi(strings.TrimSpace(lines[0]))
	dir := ""
	if len(lines) > 1 {
		dir = strings.TrimSpace(lines[1])
	}
	return pid, dir
}

// record writes the holder's pid and scratch dir into the lock file.
func (l *projectLock) record(scratchDir string) error {
	if err := l.f.Truncate(0); err != nil {
		return fmt.Errorf("write the project lock %s: %w", l.path, err)
	}
	if _, err := l.f.WriteAt([]byte(fmt.Sprintf("%d\n%s\n", os.Getpid(), scratchDir)), 0); err != nil {
		return fmt.Errorf("write the project lock %s: %w", l.path, err)
	}
	return nil
}

// release clears the record and drops the lock. The lock file itself stays: deleting a
// flock'ed file races with a waiter that already opened it.
func (l *projectLock) release() error {
	if l == nil || l.f == nil {
		return nil
	}
	_ = l.f.Truncate(0)
	err := l.f.Close() // closing the last fd drops the flock
	l.f = nil
	return err
}

// removeScratchDir removes a scratch tree that a run (possibly a hostile container) filled:
// it never follows symlinks (os.RemoveAll uses unlinkat/openat with O_NOFOLLOW) and makes
// dirs the container left without permissions (mode 000, overlay's work/work) writable first.
func removeScratchDir(dir string) error {
	if dir == "" {
		return nil
	}
	err := os.RemoveAll(dir)
	if err == nil {
		return nil
	}
	// Open up every directory we own and retry once.
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if d != nil && d.IsDir() && d.Type()&fs.ModeSymlink == 0 {
			_ = unix.Fchmodat(unix.AT_FDCWD, p, 0o700, 0)
		}
		if err != nil && d != nil && d.IsDir() {
			_ = unix.Fchmodat(unix.AT_FDCWD, p, 0o700, 0)
		}
		return nil
	})
	_ = unix.Fchmodat(unix.AT_FDCWD, dir, 0o700, 0)
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove scratch dir %s: %w", dir, err)
	}
	return nil
}

// cleanStale removes scratch dirs of earlier runs of this project. It is only called
// while holding the project lock, so none of them can belong to a live run. A recorded
// path is only trusted if it has the shape this package creates.
func cleanStale(stateDir, key, recorded, project string, roots []string) error {
	var errs []error
	seen := map[string]bool{}
	var trusted []string
	for _, r := range roots {
		if ownedPrivate(r) {
			trusted = append(trusted, r)
		}
	}
	roots = trusted
	if recorded != "" && filepath.IsAbs(recorded) && strings.HasPrefix(filepath.Base(recorded), key+"-") && ownedPrivate(recorded) {
		for _, r := range roots {
			if filepath.Dir(recorded) == r {
				seen[recorded] = true
				if err := recoverAndRemove(recorded, project); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	for _, r := range roots {
		matches, _ := filepath.Glob(filepath.Join(r, key+"-*"))
		for _, m := range matches {
			if seen[m] {
				continue
			}
			seen[m] = true
			if ownedPrivate(m) {
				if err := recoverAndRemove(m, project); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	return errors.Join(errs...)
}

// ownedPrivate: p is a real dir of ours that nobody else can write to. Scratch found
// anywhere else is not touched: a journal planted by another user would otherwise make
// the recovery move project files around.
func ownedPrivate(p string) bool {
	fi, err := os.Lstat(p)
	if err != nil || !fi.IsDir() {
		return false
	}
	st := fi.Sys().(*syscall.Stat_t)
	return int(st.Uid) == os.Geteuid() && fi.Mode().Perm()&0o022 == 0
}

// recoverAndRemove undoes (or finishes) a sync back that a killed run left half done, then
// removes its scratch dir. If the recovery fails the dir is kept: it holds the files the
// project may still need.
func recoverAndRemove(dir, project string) error {
	j := filepath.Join(dir, "journal")
	if _, err := os.Lstat(j); err == nil {
		_, source, _, err := readJournal(j)
		if err == nil && filepath.Dir(source) != dir {
			err = fmt.Errorf("journal %s names a source outside its scratch dir", j)
		}
		if err == nil {
			err = recoverJournal(j, project, source)
		}
		if err != nil {
			return fmt.Errorf("a killed run left a half-done sync back in %s; recovering it failed (check the project for .phylum-box-bak-* entries, then remove %s): %w", project, dir, err)
		}
	}
	return removeScratchDir(dir)
}

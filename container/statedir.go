package container

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/phylum-box/phylum-box/internal/flock"
	"github.com/phylum-box/phylum-box/internal/topdir"

	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"
)

// defaultStateDir is where libcontainer keeps per-container state:
// /run/phylum-box for root, $XDG_RUNTIME_DIR/phylum-box for a user with a
// runtime dir, else $TMPDIR/phylum-box-<uid>.
//
// As root the directory is mode 0711: the container's init runs as an
// unprivileged mapped uid and must be able to traverse to the skeleton root and
// the scratch dirs kept below it; the per-container dirs below are 0700.
func defaultStateDir() string {
	if os.Geteuid() == 0 {
		return "/run/phylum-box"
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" && filepath.IsAbs(d) {
		if st, err := os.Stat(d); err == nil && st.IsDir() && ownedBy(st, os.Geteuid()) {
			return filepath.Join(d, "phylum-box")
		}
	}
	return filepath.Join(os.TempDir(), "phylum-box-"+strconv.Itoa(os.Geteuid()))
}

// ensureStateDir creates dir (one level) if needed and checks that it is a real
// directory owned by us and not writable by anyone else: a state dir planted by
// another user in a shared /tmp would let them swap the container's files.
func ensureStateDir(dir string) error {
	mode := os.FileMode(0o700)
	if os.Geteuid() == 0 {
		mode = 0o711
	}
	if err := os.Mkdir(dir, mode); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("create state dir %s: %w", dir, err)
	}
	st, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("state dir %s: %w", dir, err)
	}
	if !st.IsDir() || !ownedBy(st, os.Geteuid()) {
		return fmt.Errorf("state dir %s is not a directory owned by uid %d; remove it or set another state dir", dir, os.Geteuid())
	}
	if st.Mode().Perm()&0o022 != 0 || st.Mode().Perm() != mode {
		if err := os.Chmod(dir, mode); err != nil {
			return fmt.Errorf("state dir %s: %w", dir, err)
		}
	}
	// Each container's dirs (the skeleton root) are placed like top-level dirs,
	// away from what earlier runs freed (internal/topdir); best effort.
	_ = topdir.Mark(dir)
	return nil
}

func ownedBy(st os.FileInfo, uid int) bool {
	sys, ok := st.Sys().(*syscall.Stat_t)
	return ok && int(sys.Uid) == uid
}

// Reservation is one run's claim on the state dir: a container id, a private
// directory <state>/<id>.d for the caller's per-run files (the skeleton root),
// and an flock held on <state>/<id>.lock for the run's lifetime. A lock that can
// be taken belongs to a dead run, whose container and files are stale.
type Reservation struct {
	ID       string
	Dir      string
	StateDir string
	f        *os.File
}

// Reserve claims a new container id in stateDir ("" = defaultStateDir()),
// creating the state dir if needed and cleaning stale runs first.
func Reserve(stateDir string) (*Reservation, error) {
	if stateDir == "" {
		stateDir = defaultStateDir()
	}
	if err := ensureStateDir(stateDir); err != nil {
		return nil, err
	}
	_, _ = cleanStale(stateDir)
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	id := "pb-" + hex.EncodeToString(b[:])
	// Lock under a name cleanStale ignores, then rename into place: a cleaner
	// must never find <id>.lock unlocked while this run is alive.
	tmp := filepath.Join(stateDir, ".new-"+id)
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("reserve container id: %w", err)
	}
	if ok, err := flock.TryLock(f); !ok {
		f.Close()
		os.Remove(tmp)
		if err == nil {
			err = errors.New("a fresh id's lock is held")
		}
		return nil, fmt.Errorf("reserve container id: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(stateDir, id+".lock")); err != nil {
		f.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("reserve container id: %w", err)
	}
	r := &Reservation{ID: id, Dir: filepath.Join(stateDir, id+".d"), StateDir: stateDir, f: f}
	// 0711: as root the container's mapped root must traverse it to reach the
	// skeleton; nothing in it is listable.
	if err := os.Mkdir(r.Dir, 0o711); err != nil {
		r.Release()
		return nil, fmt.Errorf("reserve container id: %w", err)
	}
	return r, nil
}

// Release removes the run's private dir and lock. Safe to call twice.
func (r *Reservation) Release() {
	if r == nil || r.f == nil {
		return
	}
	removeTree(r.Dir)
	os.Remove(filepath.Join(r.StateDir, r.ID+".lock"))
	r.f.Close()
	r.f = nil
}

// removeTree removes dir, first making its subdirectories writable (a read-only
// skeleton or a chmod 0 left by a build would stop os.RemoveAll).
func removeTree(dir string) {
	if os.RemoveAll(dir) == nil {
		return
	}
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o700)
		}
		return nil
	})
	_ = os.RemoveAll(dir)
}

// cleanStale removes containers in stateDir whose phylum-box is gone (killed
// with SIGKILL, machine crashed): their processes are killed, their cgroups and
// state removed. It returns the ids cleaned. A run is stale when its lock file
// can be locked, or when libcontainer state exists with no lock file at all.
func cleanStale(stateDir string) ([]string, error) {
	ents, err := os.ReadDir(stateDir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	ids := map[string]bool{}
	for _, e := range ents {
		id := strings.TrimSuffix(strings.TrimSuffix(e.Name(), ".lock"), ".d")
		if strings.HasPrefix(id, "pb-") {
			ids[id] = true
		}
	}
	var cleaned []string
	for id := range ids {
		lockPath := filepath.Join(stateDir, id+".lock")
		// O_CREAT: a state dir whose lock is gone is claimed the same way, so two
		// cleaners never work on one container.
		f, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o600)
		if err != nil {
			continue
		}
		if ok, _ := flock.TryLock(f); !ok {
			f.Close() // a live run holds it
			continue
		}
		destroyStale(stateDir, id)
		removeTree(filepath.Join(stateDir, id+".d"))
		os.Remove(lockPath)
		f.Close()
		cleaned = append(cleaned, id)
	}
	return cleaned, nil
}

// destroyStale kills a leftover container and removes its cgroup and state.
// libcontainer refuses to destroy a container that still runs, and SIGKILL is
// asynchronous, so wait (briefly) for the init to go.
func destroyStale(stateDir, id string) {
	c, err := libcontainer.Load(stateDir, id)
	if err != nil {
		_ = os.RemoveAll(filepath.Join(stateDir, id))
		return
	}
	_ = c.Signal(unix.SIGKILL)
	for i := 0; i < 100; i++ {
		if st, err := c.Status(); err != nil || st == libcontainer.Stopped {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if c.Destroy() != nil {
		_ = os.RemoveAll(filepath.Join(stateDir, id))
	}
}

package container

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// diskPollInterval is how often the file systems under the watched dirs are
// statfs'd while a container with a disk limit runs: one statfs per file system
// per tick, a few microseconds.
const diskPollInterval = 200 * time.Millisecond

// minWalkGap is the least time between two exact walks that found the run under
// its limit (the growth was someone else's): they are spaced by at least ten
// times the last walk's duration, and never closer than this.
const minWalkGap = 250 * time.Millisecond

// DiskMeter measures what containers write to the host's disk through the
// writable host directories they are given (an overlay's upper and work dirs, a
// staging copy, caches bound writable). One meter can span several containers —
// the steps of one sandbox session — so the limit bounds them together.
//
// Watching is two-level. The cheap level is statfs: how much the file systems
// holding those dirs grew since each was first watched. It is a trigger only,
// since anything else on the host writes there too. When it passes the limit,
// the exact level walks the watched dirs and adds up the blocks of every entry
// changed at or after the meter's start (the container's own writes; an entry
// with several links counts once).
type DiskMeter struct {
	since time.Time

	mu   sync.Mutex
	dirs []string
	fss  map[uint64]*fsBaseline // by st_dev of the watched dirs
}

type fsBaseline struct {
	path string // one watched dir on this file system, for statfs
	used int64  // bytes in use when first watched
}

// NewDiskMeter starts a meter: entries changed at or after since count as
// written by the containers. Take since after preparing the writable dirs (a
// staging copy made before it is not counted).
func NewDiskMeter(since time.Time) *DiskMeter {
	// The kernel stamps ctime from a coarse clock, up to a tick behind.
	return &DiskMeter{since: since.Add(-coarseClockSlack), fss: map[uint64]*fsBaseline{}}
}

// coarseClockSlack covers the coarse clock's lag (one tick: 10 ms at HZ=100).
const coarseClockSlack = 10 * time.Millisecond

// watch adds a host directory the containers may write. The first time its file
// system is seen, that file system's current usage becomes its baseline. Adding
// a dir twice is harmless.
func (m *DiskMeter) watch(dir string) error {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return nil // a single-file bind: not a tree a build fills
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, d := range m.dirs {
		if d == dir {
			return nil
		}
	}
	if _, ok := m.fss[st.Dev]; !ok {
		used, err := fsUsed(dir)
		if err != nil {
			return err
		}
		m.fss[st.Dev] = &fsBaseline{path: dir, used: used}
	}
	m.dirs = append(m.dirs, dir)
	return nil
}

// WatchMounts watches the host dirs behind the writable mounts of a container:
// the upperdir and workdir of an overlay, the source of a bind without "ro".
func (m *DiskMeter) watchMounts(mounts []specs.Mount) error {
	for _, dir := range writableHostDirs(mounts) {
		if err := m.watch(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

func writableHostDirs(mounts []specs.Mount) []string {
	var out []string
	for _, mt := range mounts {
		switch mt.Type {
		case "overlay":
			for _, o := range mt.Options {
				for _, key := range []string{"upperdir=", "workdir="} {
					if v, ok := strings.CutPrefix(o, key); ok {
						out = append(out, v)
					}
				}
			}
		case "bind":
			ro := false
			for _, o := range mt.Options {
				if o == "ro" {
					ro = true
				}
			}
			if !ro && filepath.IsAbs(mt.Source) {
				out = append(out, mt.Source)
			}
		}
	}
	return out
}

// Grown is how much the watched file systems' usage grew since each was first
// watched, summed (statfs; cheap, and counts everyone's writes).
func (m *DiskMeter) grown() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	var g int64
	for _, b := range m.fss {
		used, err := fsUsed(b.path)
		if err != nil {
			continue
		}
		if used > b.used {
			g += used - b.used
		}
	}
	return g
}

// Used walks the watched dirs and returns the bytes allocated to entries changed
// at or after the meter's start. It does not leave a dir's file system (a mount
// below it is someone else's).
func (m *DiskMeter) used() (int64, error) {
	m.mu.Lock()
	dirs := append([]string(nil), m.dirs...)
	m.mu.Unlock()
	since := unix.NsecToTimespec(m.since.UnixNano())
	seen := map[[2]uint64]bool{}
	var total int64
	for _, dir := range dirs {
		var root unix.Stat_t
		if err := unix.Lstat(dir, &root); err != nil {
			continue
		}
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission) {
					return nil // gone or closed while the build runs: not countable now
				}
				return err
			}
			var st unix.Stat_t
			if unix.Lstat(p, &st) != nil {
				return nil
			}
			if st.Dev != root.Dev {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if !changedSince(&st, since) {
				return nil
			}
			if st.Nlink > 1 && st.Mode&unix.S_IFMT != unix.S_IFDIR {
				k := [2]uint64{st.Dev, st.Ino}
				if seen[k] {
					return nil
				}
				seen[k] = true
			}
			total += max(st.Blocks*512, inodeCharge)
			return nil
		})
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

func changedSince(st *unix.Stat_t, t unix.Timespec) bool {
	c := st.Ctim
	return c.Sec > t.Sec || (c.Sec == t.Sec && c.Nsec >= t.Nsec)
}

// inodeCharge is the least an entry costs: empty files, symlinks and device
// nodes take no block but an inode, and a run making millions of them would
// exhaust the host file system's inodes under any byte limit (measured: 300,000
// empty files passed --disk 64M). The file system's inodes in use count the same
// way in the statfs trigger.
const inodeCharge = 4096

func fsUsed(path string) (int64, error) {
	var s unix.Statfs_t
	if err := unix.Statfs(path, &s); err != nil {
		return 0, err
	}
	return statfsUsed(&s), nil
}

// statfsUsed is the space a statfs reports in use: blocks, and an inode charge
// for every inode in use (empty files take no block).
func statfsUsed(s *unix.Statfs_t) int64 {
	used := int64(s.Blocks-s.Bfree) * s.Frsize
	if s.Files >= s.Ffree {
		used += int64(s.Files-s.Ffree) * inodeCharge
	}
	return used
}

// heldDeleted adds up the blocks of the files that processes of the pid
// namespace pidns hold open with no name left (unlinked after writing, or made
// with O_TMPFILE), changed at or after since: no walk sees them, yet they fill
// the disk until closed (measured: six such 60 MiB files, each under the
// per-file limit, held 360 MiB of the host's disk through a 64 MiB limit). Files
// on a tmpfs are memory, counted by the memory cgroup, and are skipped; seen
// avoids counting a file twice.
func heldDeleted(pidns string, since unix.Timespec, seen map[[2]uint64]bool) int64 {
	if pidns == "" {
		return 0
	}
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	var total int64
	for _, e := range procs {
		name := e.Name()
		if name[0] < '0' || name[0] > '9' {
			continue
		}
		if ns, err := os.Readlink("/proc/" + name + "/ns/pid"); err != nil || ns != pidns {
			continue
		}
		fds, err := os.ReadDir("/proc/" + name + "/fd")
		if err != nil {
			continue
		}
		for _, fd := range fds {
			p := "/proc/" + name + "/fd/" + fd.Name()
			var st unix.Stat_t
			if unix.Stat(p, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Nlink != 0 || !changedSince(&st, since) {
				continue
			}
			var sfs unix.Statfs_t
			if unix.Statfs(p, &sfs) == nil && sfs.Type == unix.TMPFS_MAGIC {
				continue
			}
			k := [2]uint64{st.Dev, st.Ino}
			if seen[k] {
				continue
			}
			seen[k] = true
			total += st.Blocks * 512
		}
	}
	return total
}

// pidNamespace is the pid namespace of process pid ("pid:[…]"), "" if unknown.
func pidNamespace(pid int) string {
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid))
	if err != nil {
		return ""
	}
	return ns
}

// diskWatch decides, poll by poll, whether a run went over its disk limit.
type diskWatch struct {
	m     *DiskMeter
	limit int64
	// pidns is the running container's pid namespace: the files its processes
	// hold open after deleting them count too.
	pidns string
	// others is statfs growth an exact walk found was not the containers'.
	others   int64
	nextWalk time.Time
	used     int64 // the last exact measure
	walks    int
}

// final is the check after the container has ended. A run that failed (it may
// have been stopped by RLIMIT_FSIZE, its file left at the limit) is measured
// exactly; a successful one when statfs saw growth of more than a quarter of the
// limit, so that space other processes freed meanwhile would have to be most of
// the limit to hide a run over it.
func (w *diskWatch) final(failed bool) bool {
	if !failed && w.m.grown()-w.others <= w.limit/4 {
		return false
	}
	used, err := w.m.used()
	w.walks++
	w.used = used
	return err == nil && used > w.limit
}

// over reports whether the containers' writes exceed the limit. Most calls cost
// one statfs per watched file system; a walk happens only when those grew by
// more than the limit (plus what earlier walks attributed to others).
func (w *diskWatch) over(now time.Time) bool {
	g := w.m.grown()
	if g-w.others < w.used {
		// Someone else freed space: what they had written no longer hides the
		// containers' growth.
		w.others = max(0, g-w.used)
	}
	if g-w.others <= w.limit || now.Before(w.nextWalk) {
		return false
	}
	start := time.Now()
	used, err := w.m.used()
	used += heldDeleted(w.pidns, unix.NsecToTimespec(w.m.since.UnixNano()), map[[2]uint64]bool{})
	took := time.Since(start)
	w.walks++
	w.used = used
	if err == nil && used > w.limit {
		return true
	}
	if g > used {
		w.others = g - used
	}
	gap := 10 * took
	if gap < minWalkGap {
		gap = minWalkGap
	}
	w.nextWalk = now.Add(gap)
	return false
}

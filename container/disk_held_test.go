package container

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestHeldDeletedCountsUnlinkedOpenFiles: a file written, unlinked and held open
// by a process of the pid namespace counts; once closed, or written before the
// meter's start, it does not; a tmpfs file is memory, not disk.
func TestHeldDeletedCountsUnlinkedOpenFiles(t *testing.T) {
	dir := t.TempDir()
	var sfs unix.Statfs_t
	if err := unix.Statfs(dir, &sfs); err != nil || sfs.Type == unix.TMPFS_MAGIC {
		t.Skip("the temp dir is a tmpfs here")
	}
	ns := pidNamespace(os.Getpid())
	if ns == "" {
		t.Skip("no /proc/self/ns/pid")
	}
	since := unix.NsecToTimespec(time.Now().Add(-time.Second).UnixNano())
	f, err := os.Create(filepath.Join(dir, "held"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(make([]byte, 4<<20)); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	var fst unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &fst); err != nil {
		t.Fatal(err)
	}
	key := [2]uint64{fst.Dev, fst.Ino}
	if err := os.Remove(f.Name()); err != nil {
		t.Fatal(err)
	}
	// Other processes of this (the host's) namespace, such as other packages'
	// tests of this run, may hold deleted files too and open or close them at
	// any time: the test asks for this file by its inode, through seen.
	seen := map[[2]uint64]bool{}
	held := heldDeleted(ns, since, seen)
	if !seen[key] || held < 4<<20 {
		t.Errorf("a deleted 4 MiB file held open: counted %v, %d bytes in all", seen[key], held)
	}
	later := unix.NsecToTimespec(time.Now().Add(time.Hour).UnixNano())
	if got := heldDeleted(ns, later, map[[2]uint64]bool{}); got != 0 {
		t.Errorf("a file changed before the start counts %d bytes", got)
	}
	if got := heldDeleted("", since, map[[2]uint64]bool{}); got != 0 {
		t.Errorf("no namespace, yet %d bytes", got)
	}
	f.Close()
	seen = map[[2]uint64]bool{}
	heldDeleted(ns, since, seen)
	if seen[key] {
		t.Error("a closed file still counts")
	}
}

// TestDiskMeterChargesInodes: empty files take no block but an inode each; they
// count as one block apiece.
func TestDiskMeterChargesInodes(t *testing.T) {
	dir := t.TempDir()
	m := NewDiskMeter(time.Now())
	time.Sleep(20 * time.Millisecond) // past the coarse clock's tick
	if err := m.watch(dir); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3000; i++ {
		f, err := os.Create(filepath.Join(dir, "e"+strconv.Itoa(i)))
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	used, err := m.used()
	if err != nil {
		t.Fatal(err)
	}
	if used < 3000*inodeCharge {
		t.Errorf("3000 empty files count %d bytes, want at least %d", used, 3000*inodeCharge)
	}
	// The statfs trigger charges inodes too. Other tests of this run share the
	// file system and delete files while this one creates them, so the trigger's
	// growth on the real disk is not asserted; its arithmetic is.
	base := unix.Statfs_t{Blocks: 1000, Bfree: 500, Frsize: 4096, Files: 10000, Ffree: 9000}
	grown := base
	grown.Ffree -= 3000
	if d := statfsUsed(&grown) - statfsUsed(&base); d != 3000*inodeCharge {
		t.Errorf("3000 more inodes in use grow the statfs trigger by %d bytes, want %d", d, 3000*inodeCharge)
	}
	btrfs := unix.Statfs_t{Blocks: 1000, Bfree: 500, Frsize: 4096} // no inode counts
	if got := statfsUsed(&btrfs); got != 500*4096 {
		t.Errorf("a file system without inode counts: %d bytes in use, want %d", got, 500*4096)
	}
}

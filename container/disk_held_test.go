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
	if err := os.Remove(f.Name()); err != nil {
		t.Fatal(err)
	}
	// Other processes of this (the host's) namespace may hold deleted files too.
	held := heldDeleted(ns, since, map[[2]uint64]bool{})
	if held < 4<<20 {
		t.Errorf("a deleted 4 MiB file held open counts %d bytes", held)
	}
	later := unix.NsecToTimespec(time.Now().Add(time.Hour).UnixNano())
	if got := heldDeleted(ns, later, map[[2]uint64]bool{}); got != 0 {
		t.Errorf("a file changed before the start counts %d bytes", got)
	}
	if got := heldDeleted("", since, map[[2]uint64]bool{}); got != 0 {
		t.Errorf("no namespace, yet %d bytes", got)
	}
	f.Close()
	if got := heldDeleted(ns, since, map[[2]uint64]bool{}); held-got < 4<<20 {
		t.Errorf("a closed file still counts: %d bytes, %d while it was open", got, held)
	}
}

// TestDiskMeterChargesInodes: empty files take no block but an inode each; they
// count as one block apiece.
func TestDiskMeterChargesInodes(t *testing.T) {
	dir := t.TempDir()
	m := NewDiskMeter(time.Now())
	time.Sleep(20 * time.Millisecond) // past the coarse clock's tick
	if err := m.Watch(dir); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3000; i++ {
		f, err := os.Create(filepath.Join(dir, "e"+strconv.Itoa(i)))
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	used, err := m.Used()
	if err != nil {
		t.Fatal(err)
	}
	if used < 3000*inodeCharge {
		t.Errorf("3000 empty files count %d bytes, want at least %d", used, 3000*inodeCharge)
	}
	var sfs unix.Statfs_t
	if err := unix.Statfs(dir, &sfs); err != nil || sfs.Files == 0 {
		return // no inode counts here (btrfs): only the walk charges them
	}
	if g := m.Grown(); g < 3000*inodeCharge/2 {
		t.Errorf("the statfs trigger grew %d bytes for 3000 new inodes", g)
	}
}

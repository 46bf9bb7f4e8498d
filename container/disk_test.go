package container

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func writeFile(t testing.TB, p string, size int) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for i := range buf {
		buf[i] = byte(i) // not sparse, not trivially compressible
	}
	for size > 0 {
		n := min(size, len(buf))
		if _, err := f.Write(buf[:n]); err != nil {
			t.Fatal(err)
		}
		size -= n
	}
}

func TestDiskMeterCountsOnlyNewWrites(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "old", "before"), 1<<20) // written before the meter: not counted
	// ctime is kept with the kernel's coarse clock: start clearly after it.
	time.Sleep(20 * time.Millisecond)
	m := NewDiskMeter(time.Now())
	time.Sleep(20 * time.Millisecond)
	if err := m.watch(dir); err != nil {
		t.Fatal(err)
	}
	if err := m.watch(dir); err != nil { // twice is harmless
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "new", "a"), 2<<20)
	if err := os.Link(filepath.Join(dir, "new", "a"), filepath.Join(dir, "new", "a-link")); err != nil {
		t.Fatal(err)
	}
	used, err := m.used()
	if err != nil {
		t.Fatal(err)
	}
	// 2 MiB once (the hard link is the same blocks), plus a few directory blocks.
	if used < 2<<20 || used > 2<<20+64<<10 {
		t.Fatalf("Used = %d, want about 2 MiB", used)
	}
}

func TestDiskWatchOver(t *testing.T) {
	dir := t.TempDir()
	m := NewDiskMeter(time.Now())
	time.Sleep(20 * time.Millisecond) // past the coarse clock's tick
	if err := m.watch(dir); err != nil {
		t.Fatal(err)
	}
	w := &diskWatch{m: m, limit: 8 << 20}
	// Under the limit: statfs alone answers, no walk.
	writeFile(t, filepath.Join(dir, "small"), 1<<20)
	if w.over(time.Now()) {
		t.Fatal("1 MiB is over an 8 MiB limit")
	}
	// Over it: statfs triggers, the walk confirms. statfs sees the whole file
	// system, where other tests (go test runs packages in parallel) free space
	// meanwhile: past 17 MiB, more is written until the growth shows, up to 65 MiB.
	written := int64(1 << 20)
	over := false
	for i := 0; i < 16 && !over; i++ {
		writeFile(t, filepath.Join(dir, "big"+strconv.Itoa(i)), 4<<20)
		written += 4 << 20
		if written < 17<<20 {
			continue
		}
		if err := syncFS(dir); err != nil {
			t.Fatal(err)
		}
		over = w.over(time.Now())
	}
	if !over {
		t.Fatalf("%d MiB is not over an 8 MiB limit (grown %d, used %d, walks %d)", written>>20, m.grown(), w.used, w.walks)
	}
	if w.used < written {
		t.Errorf("exact measure %d, want at least the %d bytes written", w.used, written)
	}
}

// TestDiskWatchIgnoresOthers: growth of the file system by writes outside the
// watched dirs (the rest of the host) triggers a walk but never stops the run.
func TestDiskWatchIgnoresOthers(t *testing.T) {
	base := t.TempDir()
	watched, other := filepath.Join(base, "watched"), filepath.Join(base, "other")
	if err := os.Mkdir(watched, 0o755); err != nil {
		t.Fatal(err)
	}
	m := NewDiskMeter(time.Now())
	if err := m.watch(watched); err != nil {
		t.Fatal(err)
	}
	w := &diskWatch{m: m, limit: 4 << 20}
	writeFile(t, filepath.Join(watched, "mine"), 1<<20)
	writeFile(t, filepath.Join(other, "host"), 32<<20)
	if w.over(time.Now()) {
		t.Fatalf("the host's 32 MiB counted against the run (used %d)", w.used)
	}
	if w.walks == 0 {
		t.Log("statfs did not see the host's write (another process freed space meanwhile)")
	}
	if w.walks > 0 && w.used > 2<<20 {
		t.Errorf("exact measure %d, want about 1 MiB", w.used)
	}
	// A second poll right away does not walk again.
	n := w.walks
	w.over(time.Now())
	if w.walks != n {
		t.Errorf("walked again within the back-off")
	}
}

func TestWritableHostDirs(t *testing.T) {
	got := writableHostDirs([]specs.Mount{
		{Type: "overlay", Source: "overlay", Options: []string{"lowerdir=/p", "upperdir=/s/upper", "workdir=/s/work", "userxattr"}},
		{Type: "bind", Source: "/cache/npm", Options: []string{"rbind", "nosuid", "nodev"}},
		{Type: "bind", Source: "/usr", Options: []string{"bind", "ro", "nosuid"}},
		{Type: "bind", Source: "/cache/ro", Options: []string{"rbind", "nosuid", "nodev", "ro", "rro"}},
		{Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1g"}},
	})
	want := []string{"/s/upper", "/s/work", "/cache/npm"}
	if len(got) != len(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
}

func syncFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// BenchmarkDiskPoll is what the watcher costs on every tick of a run under its
// limit (5 ticks a second): one statfs per watched file system.
func BenchmarkDiskPoll(b *testing.B) {
	dir := b.TempDir()
	m := NewDiskMeter(time.Now())
	if err := m.watch(dir); err != nil {
		b.Fatal(err)
	}
	w := &diskWatch{m: m, limit: 1 << 40}
	b.ReportAllocs()
	for b.Loop() {
		if w.over(time.Now()) {
			b.Fatal("over")
		}
	}
}

// BenchmarkDiskWalk is the exact measure of a node_modules-sized tree (10,000
// files of 4 KiB in 500 dirs), done only when statfs growth passes the limit.
func BenchmarkDiskWalk(b *testing.B) {
	dir := b.TempDir()
	m := NewDiskMeter(time.Now().Add(-time.Second))
	for i := range 10000 {
		writeFile(b, filepath.Join(dir, "pkg"+strconv.Itoa(i/20), "f"+strconv.Itoa(i)), 4096)
	}
	if err := m.watch(dir); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := m.used(); err != nil {
			b.Fatal(err)
		}
	}
}

package safefs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// tree lays out a root with a file the caller may read and, next to the root, a
// secret it must never reach:
//
//	outside/secret
//	root/ok, root/sub/ok, root/empty, root/dir/
//	root/link-in -> ok              root/link-out -> ../outside/secret
//	root/abs-in -> <root>/ok        root/linkdir -> sub (so linkdir/ok is sub/ok)
//	root/outdir -> ../outside       root/hard (and outside/hard: two links)
//	root/fifo (a FIFO)
func tree(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	root := filepath.Join(base, "root")
	outside := filepath.Join(base, "outside")
	for _, d := range []string{root, outside, filepath.Join(root, "sub"), filepath.Join(root, "dir")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(outside, "secret"), "token=s3cret\n")
	write(filepath.Join(root, "ok"), "project file\n")
	write(filepath.Join(root, "sub", "ok"), "nested\n")
	write(filepath.Join(root, "empty"), "")
	write(filepath.Join(outside, "hard"), "token=s3cret\n")
	for _, l := range [][2]string{
		{"ok", "link-in"}, {"../outside/secret", "link-out"}, {filepath.Join(root, "ok"), "abs-in"},
		{"sub", "linkdir"}, {"../outside", "outdir"},
	} {
		if err := os.Symlink(l[0], filepath.Join(root, l[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Link(filepath.Join(outside, "hard"), filepath.Join(root, "hard")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

// want is what one read must give: the content, or an error matching target.
type want struct {
	content string
	target  error
}

func check(t *testing.T, name string, got []byte, err error, w want) {
	t.Helper()
	if w.target == nil {
		if err != nil || string(got) != w.content {
			t.Errorf("%s: got %q, %v; want %q", name, got, err, w.content)
		}
		return
	}
	if err == nil {
		t.Errorf("%s: read %q, want an error matching %v", name, got, w.target)
		return
	}
	if strings.Contains(string(got), "s3cret") {
		t.Errorf("%s: the secret leaked with the error: %q", name, got)
	}
	var hl *HardLinksError
	switch {
	case errors.As(w.target, &hl):
		if !errors.As(err, &hl) || hl.Links != 2 {
			t.Errorf("%s: %v, want a *HardLinksError with 2 links", name, err)
		}
	case !errors.Is(err, w.target):
		t.Errorf("%s: %v, want an error matching %v", name, err, w.target)
	}
}

func TestReadFile(t *testing.T) {
	root := tree(t)
	strict := Options{}
	inside := Options{FollowInside: true}
	oneLink := Options{OneLink: true}
	for _, tc := range []struct {
		rel string
		o   Options
		w   want
	}{
		// The legitimate reads.
		{"ok", strict, want{content: "project file\n"}},
		{"sub/ok", strict, want{content: "nested\n"}},
		{"./sub/../ok", strict, want{content: "project file\n"}},
		{"empty", strict, want{content: ""}},
		{"hard", strict, want{content: "token=s3cret\n"}}, // a hard link is the file itself unless OneLink
		{"ok", oneLink, want{content: "project file\n"}},
		{"link-in", inside, want{content: "project file\n"}},
		{"linkdir/ok", inside, want{content: "nested\n"}},
		// A symbolic link in any component is refused by default, even one that
		// stays inside the tree.
		{"link-in", strict, want{target: unix.ELOOP}},
		{"linkdir/ok", strict, want{target: unix.ELOOP}},
		{"link-out", strict, want{target: unix.ELOOP}},
		{"outdir/secret", strict, want{target: unix.ELOOP}},
		// Followed inside, never out: relative or absolute, file or directory.
		{"link-out", inside, want{target: unix.EXDEV}},
		{"outdir/secret", inside, want{target: unix.EXDEV}},
		{"abs-in", inside, want{target: unix.EXDEV}},
		// ".." and absolute paths never leave the tree.
		{"../outside/secret", strict, want{target: ErrOutside}},
		{"sub/../../outside/secret", inside, want{target: ErrOutside}},
		{filepath.Join(filepath.Dir(root), "outside", "secret"), inside, want{target: ErrOutside}},
		{".", strict, want{target: ErrOutside}},
		// Hard links, where the caller needs one name only.
		{"hard", oneLink, want{target: &HardLinksError{}}},
		// Not regular files; a FIFO must not block.
		{"dir", strict, want{target: ErrNotRegular}},
		{"fifo", strict, want{target: ErrNotRegular}},
		{"fifo", inside, want{target: ErrNotRegular}},
		// Missing.
		{"missing", strict, want{target: fs.ErrNotExist}},
		{"sub/missing", inside, want{target: fs.ErrNotExist}},
	} {
		got, err := ReadFile(root, tc.rel, 1<<20, tc.o)
		check(t, tc.rel+" "+optName(tc.o), got, err, tc.w)
	}
}

func optName(o Options) string {
	switch {
	case o.FollowInside:
		return "(follow inside)"
	case o.OneLink:
		return "(one link)"
	}
	return "(no links)"
}

func TestReadFileSizeCap(t *testing.T) {
	root := tree(t)
	// "project file\n" is 13 bytes.
	if got, err := ReadFile(root, "ok", 13, Options{}); err != nil || string(got) != "project file\n" {
		t.Errorf("a file exactly at the cap: %q, %v", got, err)
	}
	got, err := ReadFile(root, "ok", 12, Options{})
	if !errors.Is(err, ErrTooLarge) || got != nil {
		t.Errorf("a file one byte over the cap: %q, %v; want ErrTooLarge", got, err)
	}
}

// TestOpenWithoutOpenat2 is the same rule on a kernel before 5.6, where the path
// is walked one component at a time with O_NOFOLLOW.
func TestOpenWithoutOpenat2(t *testing.T) {
	t.Cleanup(func() { openat2 = unix.Openat2 })
	openat2 = func(int, string, *unix.OpenHow) (int, error) { return -1, unix.ENOSYS }
	root := tree(t)
	strict := Options{}
	for _, tc := range []struct {
		rel string
		w   want
	}{
		{"ok", want{content: "project file\n"}},
		{"sub/ok", want{content: "nested\n"}},
		{"link-in", want{target: unix.ELOOP}},
		{"linkdir/ok", want{target: unix.ELOOP}},
		{"outdir/secret", want{target: unix.ELOOP}},
		{"../outside/secret", want{target: ErrOutside}},
		{"fifo", want{target: ErrNotRegular}},
		{"missing", want{target: fs.ErrNotExist}},
		{"ok/x", want{target: unix.ENOTDIR}},
	} {
		got, err := ReadFile(root, tc.rel, 1<<20, strict)
		check(t, tc.rel, got, err, tc.w)
	}
	// Following links inside the tree has no safe walk: the caller is told.
	if _, err := ReadFile(root, "ok", 1<<20, Options{FollowInside: true}); !errors.Is(err, unix.ENOSYS) {
		t.Errorf("FollowInside without openat2: %v, want ENOSYS", err)
	}
}

func TestOpenAtKeepsTheRoot(t *testing.T) {
	root := tree(t)
	fd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	// The tree's directory renamed away and replaced by a link to the secret's
	// directory: reads through the descriptor still see the tree it named.
	if err := os.Rename(root, root+".moved"); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(filepath.Dir(root), "outside"), root); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadFileAt(fd, "ok", 1<<20, Options{}); err != nil || string(got) != "project file\n" {
		t.Errorf("ReadFileAt: %q, %v", got, err)
	}
	if got, err := ReadFileAt(fd, "secret", 1<<20, Options{}); err == nil {
		t.Errorf("ReadFileAt read %q from the directory swapped in", got)
	}
}

// A refused link says where it is, with or without openat2.
func TestSymlinkErrorSaysWhere(t *testing.T) {
	root := tree(t)
	for _, noOpenat2 := range []bool{false, true} {
		if noOpenat2 {
			openat2 = func(int, string, *unix.OpenHow) (int, error) { return -1, unix.ENOSYS }
		}
		for rel, msg := range map[string]string{
			"link-in":       "open link-in: a symbolic link, not a regular file",
			"link-out":      "open link-out: a symbolic link, not a regular file",
			"linkdir/ok":    "open linkdir/ok: a directory on the way is a symbolic link",
			"outdir/secret": "open outdir/secret: a directory on the way is a symbolic link",
		} {
			_, err := ReadFile(root, rel, 1<<20, Options{})
			if err == nil || err.Error() != msg || !errors.Is(err, unix.ELOOP) {
				t.Errorf("%s (without openat2: %v): %v, want %q matching ELOOP", rel, noOpenat2, err, msg)
			}
		}
	}
	openat2 = unix.Openat2
}

// TestNodeIsNeverOpened: a FIFO (and, as root, a device node) under a file's
// name is refused before anything opens it — no open event reaches the node,
// with or without openat2 — while a regular file beside it is read. The
// control open shows the watch would have seen one.
func TestNodeIsNeverOpened(t *testing.T) {
	root := tree(t)
	nodes := []string{"fifo"}
	if os.Geteuid() == 0 {
		if err := unix.Mknod(filepath.Join(root, "null"), unix.S_IFCHR|0o644, int(unix.Mkdev(1, 3))); err == nil {
			nodes = append(nodes, "null")
		}
	}
	opened := func(t *testing.T, name string, do func()) bool {
		t.Helper()
		in, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
		if err != nil {
			t.Skip("no inotify:", err)
		}
		defer unix.Close(in)
		if _, err := unix.InotifyAddWatch(in, filepath.Join(root, name), unix.IN_OPEN); err != nil {
			t.Fatal(err)
		}
		do()
		buf := make([]byte, 4096)
		n, _ := unix.Read(in, buf)
		return n > 0
	}
	for _, name := range nodes {
		if !opened(t, name, func() {
			fd, err := unix.Open(filepath.Join(root, name), unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
			if err == nil {
				unix.Close(fd)
			}
		}) {
			t.Fatalf("%s: the watch does not see a plain open", name)
		}
		for _, walk := range []bool{false, true} {
			if walk {
				openat2 = func(int, string, *unix.OpenHow) (int, error) { return -1, unix.ENOSYS }
			}
			var err error
			if opened(t, name, func() { _, err = ReadFile(root, name, 1<<20, Options{}) }) {
				t.Errorf("%s (without openat2: %v): the node was opened", name, walk)
			}
			if !errors.Is(err, ErrNotRegular) {
				t.Errorf("%s (without openat2: %v): %v, want ErrNotRegular", name, walk, err)
			}
			if got, err := ReadFile(root, "ok", 1<<20, Options{}); err != nil || string(got) != "project file\n" {
				t.Errorf("ok (without openat2: %v): %q, %v", walk, got, err)
			}
			openat2 = unix.Openat2
		}
	}
}

package install

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func owner(t *testing.T, p string) (uint32, uint32, int64) {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return st.Uid, st.Gid, st.Ctim.Nano()
}

// chownTree gives the whole tree to the uid, never follows a link out of it, and does
// not touch an entry that already has the owner.
func TestChownTree(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipped: chown to another uid needs root (CI runs the unit tests as root)")
	}
	dir := t.TempDir()
	cache := filepath.Join(dir, "cache")
	outside := filepath.Join(dir, "outside")
	for _, d := range []string{cache + "/a/b/c", outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{cache + "/a/b/c/f", cache + "/top", outside + "/secret"} {
		if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside, cache+"/a/link"); err != nil {
		t.Fatal(err)
	}
	const uid, gid = 1234567, 1234568
	if err := os.Chown(cache+"/top", uid, gid); err != nil {
		t.Fatal(err)
	}
	_, _, ctimeBefore := owner(t, cache+"/top")
	if err := chownTree(cache, uid, gid); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{cache, cache + "/a", cache + "/a/b/c", cache + "/a/b/c/f", cache + "/a/link"} {
		if u, g, _ := owner(t, p); u != uid || g != gid {
			t.Errorf("%s: owner %d:%d, want %d:%d", p, u, g, uid, gid)
		}
	}
	for _, p := range []string{outside, outside + "/secret"} {
		if u, _, _ := owner(t, p); u != 0 {
			t.Errorf("%s, behind a link in the cache, was given to %d", p, u)
		}
	}
	if _, _, c := owner(t, cache+"/top"); c != ctimeBefore {
		t.Errorf("an entry that already had the owner was chown'ed again (ctime changed)")
	}
}

// A cache dir that does not exist is made 0700 under parents made 0755, which
// the container's root (not the host's) can pass through to its mount point; an
// existing one, and existing parents, are left as they are.
func TestMakeCacheDir(t *testing.T) {
	base := t.TempDir()
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := filepath.Join(base, "share", ".cache", "yarn")
	if err := makeCacheDir(dir); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{filepath.Join(base, "share"): 0o755, filepath.Join(base, "share", ".cache"): 0o755, dir: 0o700} {
		st, err := os.Stat(p)
		if err != nil || st.Mode().Perm() != want {
			t.Errorf("%s: %v %v, want %v", p, st.Mode().Perm(), err, want)
		}
	}
	if err := os.Chmod(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := makeCacheDir(dir); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o750 {
		t.Errorf("an existing cache dir was changed: %v", st.Mode().Perm())
	}
}

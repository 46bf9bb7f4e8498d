package integration

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// tree describes every entry under a directory: relative path → type, permission
// bits (setuid/setgid/sticky included), owner, and the content hash or symlink
// target. With times, modification times too — a run that must leave the project
// untouched must not even rewrite a file with the same bytes.
type tree map[string]string

func treeHash(t testing.TB, dir string, withTimes bool) tree {
	t.Helper()
	out := tree{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		desc := fmt.Sprintf("mode=%#o owner=%d:%d", st.Mode&0o7777, st.Uid, st.Gid)
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			h, err := hashFile(p)
			if err != nil {
				return err
			}
			desc = fmt.Sprintf("file %s size=%d sha256=%s", desc, st.Size, h)
			if withTimes {
				desc += fmt.Sprintf(" mtime=%d.%09d", st.Mtim.Sec, st.Mtim.Nsec)
			}
		case unix.S_IFDIR:
			desc = "dir " + desc
		case unix.S_IFLNK:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			desc = fmt.Sprintf("symlink %s -> %q", desc, target)
		default:
			desc = fmt.Sprintf("special(%#o) %s", st.Mode&unix.S_IFMT, desc)
		}
		out[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatalf("hashing %s: %v", dir, err)
	}
	return out
}

func hashFile(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// diff lists what differs between two trees, one line per path.
func (a tree) diff(b tree) string {
	var lines []string
	for p, da := range a {
		db, ok := b[p]
		switch {
		case !ok:
			lines = append(lines, fmt.Sprintf("- %s: %s", p, da))
		case da != db:
			lines = append(lines, fmt.Sprintf("~ %s: %s\n    now %s", p, da, db))
		}
	}
	for p, db := range b {
		if _, ok := a[p]; !ok {
			lines = append(lines, fmt.Sprintf("+ %s: %s", p, db))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func assertSameTree(t testing.TB, before, after tree, why string) {
	t.Helper()
	if d := before.diff(after); d != "" {
		t.Errorf("%s: the host tree changed:\n%s", why, d)
	}
}

// copyTree copies src to dst preserving modes, owners and symlinks (cp -a).
func copyTree(t testing.TB, src, dst string) {
	t.Helper()
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp -a %s %s: %v: %s", src, dst, err, out)
	}
}

// ---- terminals ----

// openPTY allocates a pseudo-terminal whose slave is nobody's controlling terminal
// and belongs to uid, in raw mode so that any injected byte is visible at once.
func openPTY(t testing.TB, uid, gid int) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		skipf(t, "no pseudo-terminals here (/dev/ptmx: %v)", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("/dev/pts/%d", n)
	if suite.isRoot {
		if err := os.Chown(name, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	s, err := os.OpenFile(name, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	tio, err := unix.IoctlGetTermios(int(s.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	tio.Lflag &^= unix.ICANON | unix.ECHO | unix.ISIG
	tio.Cc[unix.VMIN], tio.Cc[unix.VTIME] = 0, 0
	if err := unix.IoctlSetTermios(int(s.Fd()), unix.TCSETS, tio); err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 80}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s
}

// pendingInput is the number of bytes waiting in the terminal's input queue: what a
// shell reading this terminal would execute next.
func pendingInput(t testing.TB, tty *os.File) int {
	t.Helper()
	n, err := unix.IoctlGetInt(int(tty.Fd()), unix.TIOCINQ)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// ---- network namespaces (root only) ----

// newNetns creates a network namespace with only loopback up, so tests that need a
// network keep all their traffic on that namespace's 127.0.0.1.
func newNetns(t testing.TB) string {
	t.Helper()
	if !suite.isRoot {
		skipf(t, "needs a network namespace of its own, and `ip netns add` needs root")
	}
	name := fmt.Sprintf("pbox-it-%d-%d", os.Getpid(), time.Now().UnixNano()%1e6)
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		skipf(t, "`ip netns add` failed here (%v: %s), so the --network half cannot be isolated", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	if out, err := exec.Command("ip", "-n", name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("ip -n %s link set lo up: %v: %s", name, err, out)
	}
	return name
}

// netnsPrefix enters only the network namespace: `ip netns exec` would also mount
// a fresh /sys, hiding the cgroup file systems phylum-box needs for its limits.
func netnsPrefix(ns string) []string {
	return []string{"nsenter", "--net=/run/netns/" + ns, "--"}
}

// startInNetns runs the attacks binary (a server) inside ns (the host's namespace
// when ns is empty), waiting for "ready".
func startInNetns(t testing.TB, ns string, args ...string) {
	t.Helper()
	argv := append([]string{suite.attack}, args...)
	if ns != "" {
		argv = append(netnsPrefix(ns), argv...)
	}
	c := exec.Command(argv[0], argv[1:]...)
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c.Stderr = os.Stderr
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL); _ = c.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		t.Fatalf("server in netns %s did not start: %q %v", ns, line, err)
	}
}

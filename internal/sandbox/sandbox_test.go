package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/phylum-box/phylum-box/container"
	"github.com/phylum-box/phylum-box/internal/testutil"
	"github.com/phylum-box/phylum-box/rootfs"
)

func TestScrubEnv(t *testing.T) {
	environ := []string{
		"PATH=/opt/bin:/usr/bin",
		"AWS_SECRET_ACCESS_KEY=aws-secret",
		"NPM_TOKEN=npm-secret",
		"GITHUB_TOKEN=gh-secret",
		"SSH_AUTH_SOCK=/run/agent.sock",
		"LD_PRELOAD=/evil.so",
		"HOME=/home/real",
		"USER=real",
		"LOGNAME=real",
		"TMPDIR=/home/real/tmp",
		"LANG=C.UTF-8",
		"LC_ALL=C",
		"LC_WHATEVER=x",
		"TERM=xterm",
		"NODE_EXTRA_CA_CERTS=/etc/ca.pem",
		"HTTPS_PROXY=http://u:p@proxy:3128",
		"TERM=dumb", // a later assignment wins, as in execve
		"garbage-without-equals",
	}
	got := ScrubEnv(environ, []string{"NODE_EXTRA_CA_CERTS"}, "/home/u", "alice", "EXTRA=1", "TERM=screen")
	want := []string{
		"PATH=/opt/bin:/usr/bin",
		"LANG=C.UTF-8",
		"LC_ALL=C",
		"LC_WHATEVER=x",
		"TERM=screen",
		"NODE_EXTRA_CA_CERTS=/etc/ca.pem",
		"HOME=/home/u",
		"USER=alice",
		"LOGNAME=alice",
		"TMPDIR=/tmp",
		"EXTRA=1",
	}
	if !slices.Equal(got, want) {
		t.Errorf("ScrubEnv =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	joined := strings.Join(got, "\n")
	for _, secret := range []string{"aws-secret", "npm-secret", "gh-secret", "agent.sock", "evil.so", "proxy", "/home/real"} {
		if strings.Contains(joined, secret) {
			t.Errorf("%q leaked into the sandbox environment", secret)
		}
	}

	// No user name: USER and LOGNAME are not set at all (not even the caller's);
	// no PATH: a default one.
	got = ScrubEnv([]string{"USER=real", "LOGNAME=real", "NPM_TOKEN=x"}, nil, "/home/u", "")
	want = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/home/u", "TMPDIR=/tmp"}
	if !slices.Equal(got, want) {
		t.Errorf("ScrubEnv without a user = %q, want %q", got, want)
	}

	// Asking to keep HOME does not let the caller's through.
	got = ScrubEnv([]string{"HOME=/home/real"}, []string{"HOME"}, "/home/u", "")
	if n := strings.Count(strings.Join(got, "\n"), "HOME="); n != 1 || !slices.Contains(got, "HOME=/home/u") {
		t.Errorf("ScrubEnv keeping HOME = %q, want exactly HOME=/home/u", got)
	}
}

func TestOpenRefusesProject(t *testing.T) {
	base := t.TempDir()
	home := filepath.Join(base, "home", "u")
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	// A home reached through a symlink (/home -> /var/home on Fedora Atomic); the
	// project is always passed with symlinks resolved.
	linkHome := filepath.Join(base, "linkhome")
	if err := os.Symlink(home, linkHome); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, project, home, want string
	}{
		{"root", "/", home, "refusing to use /"},
		{"home itself", home, home, "contains your home directory"},
		{"a parent of home", filepath.Dir(home), home, "contains your home directory"},
		{"home through a symlink", home, linkHome, "contains your home directory"},
		{"a parent of home through a symlink", filepath.Dir(home), linkHome, "contains your home directory"},
		{"no home", filepath.Join(home, "proj"), "", "cannot tell your home directory"},
		{"home is /", filepath.Join(home, "proj"), "/", "cannot tell your home directory"},
		{"relative home", filepath.Join(home, "proj"), "home/u", "cannot tell your home directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(context.Background(), Options{Project: tt.project, Home: tt.home})
			if err == nil {
				s.Close()
				t.Fatalf("Open(project %s, home %s) succeeded", tt.project, tt.home)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want %q", err, tt.want)
			}
			// The lock alone, taken before a session, refuses the same projects.
			l, err := Lock(context.Background(), Options{Project: tt.project, Home: tt.home})
			if err == nil {
				l.Release()
				t.Fatalf("Lock(project %s, home %s) succeeded", tt.project, tt.home)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Lock: error = %v, want %q", err, tt.want)
			}
		})
	}
}

// ---- sessions with containers -------------------------------------------------

func home(t *testing.T) string {
	t.Helper()
	h, err := os.UserHomeDir()
	if err != nil || h == "/" || !filepath.IsAbs(h) {
		t.Skipf("no usable home directory for the sandbox (%q, %v)", h, err)
	}
	return h
}

// syncBuffer collects Stdout and Stderr, which two goroutines copy at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func run(t *testing.T, s *Session, script string, out *syncBuffer) *container.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := s.Run(ctx, Exec{
		Args:   []string{"sh", "-c", script},
		Env:    ScrubEnv(os.Environ(), nil, s.o.Home, "tester"),
		Limits: container.Limits{Timeout: 30 * time.Second},
		Stdout: out, Stderr: out,
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res
}

// closed checks that Close left no scratch dir, container dir or lock record behind.
func closed(t *testing.T, s *Session) {
	t.Helper()
	scratch, resDir := s.Scratch().Dir(), s.res.Dir
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	for _, d := range []string{scratch, resDir} {
		if _, err := os.Lstat(d); !os.IsNotExist(err) {
			t.Errorf("%s is still there after Close (%v)", d, err)
		}
	}
}

var modes = []rootfs.Mode{rootfs.ModeAuto, rootfs.ModeCopy}

func TestRunSyncBackClose(t *testing.T) {
	testutil.NeedRootContainers(t)
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) {
			proj := testutil.NewProject(t, map[string]string{"keep.txt": "keep\n", "edit.txt": "old\n"})
			s, err := Open(context.Background(), Options{Project: proj, Home: home(t), Mode: mode})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("scratch mode %s (%s)", s.Scratch().Mode(), s.Scratch().ModeReason())
			var out syncBuffer
			res := run(t, s, `echo made > new.txt && mkdir -p d/e && echo deep > d/e/f && echo new > edit.txt && pwd && echo "HOME=$HOME USER=$USER"`, &out)
			if res.ExitCode != 0 || res.Stopped != container.StopNone {
				t.Fatalf("run: exit %d, stopped %q: %s", res.ExitCode, res.Stopped, out.String())
			}
			if got := out.String(); !strings.Contains(got, proj+"\n") || !strings.Contains(got, "HOME="+s.o.Home+" USER=tester") {
				t.Errorf("output = %q, want the project as cwd and the scrubbed HOME/USER", got)
			}
			// Nothing reaches the host before SyncBack.
			if _, err := os.Lstat(filepath.Join(proj, "new.txt")); !os.IsNotExist(err) {
				t.Fatalf("new.txt is in the project before SyncBack (%v)", err)
			}
			if got, _ := os.ReadFile(filepath.Join(proj, "edit.txt")); string(got) != "old\n" {
				t.Fatalf("edit.txt = %q before SyncBack", got)
			}
			// A second container in the same session sees the first one's writes.
			out = syncBuffer{}
			if res := run(t, s, `cat new.txt d/e/f && echo second >> new.txt`, &out); res.ExitCode != 0 || out.String() != "made\ndeep\n" {
				t.Fatalf("second run: exit %d, output %q", res.ExitCode, out.String())
			}
			rep, err := s.SyncBack(rootfs.SyncOptions{OwnerUID: -1, OwnerGID: -1})
			if err != nil {
				t.Fatalf("SyncBack: %v (%+v)", err, rep)
			}
			if len(rep.Refused) != 0 || len(rep.Applied) == 0 {
				t.Errorf("SyncBack report: %+v", rep)
			}
			for rel, want := range map[string]string{"new.txt": "made\nsecond\n", "d/e/f": "deep\n", "edit.txt": "new\n", "keep.txt": "keep\n"} {
				if got, err := os.ReadFile(filepath.Join(proj, rel)); err != nil || string(got) != want {
					t.Errorf("%s = %q, %v; want %q", rel, got, err, want)
				}
			}
			// Synced files belong to the project's owner, not the container's mapped root.
			fi, err := os.Stat(filepath.Join(proj, "new.txt"))
			if err != nil {
				t.Fatal(err)
			}
			if uid := fi.Sys().(*syscall.Stat_t).Uid; int(uid) != os.Geteuid() {
				t.Errorf("new.txt is owned by uid %d, want %d", uid, os.Geteuid())
			}
			closed(t, s)
		})
	}
}

// TestOpenTakesOverTheLock: a session opened on the lock taken by Lock (an install
// that first checked whether it had anything to do) runs and syncs as any other,
// and holds the project until Close.
func TestOpenTakesOverTheLock(t *testing.T) {
	testutil.NeedRootContainers(t)
	proj := testutil.NewProject(t, map[string]string{"keep.txt": "keep\n"})
	o := Options{Project: proj, Home: home(t)}
	l, err := Lock(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	if data, err := l.ReadFile("keep.txt"); err != nil || string(data) != "keep\n" {
		t.Fatalf("ReadFile under the lock: %q, %v", data, err)
	}
	o.Held = l
	s, err := Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	if res := run(t, s, `echo made > new.txt`, &out); res.ExitCode != 0 {
		t.Fatalf("run: exit %d: %s", res.ExitCode, out.String())
	}
	if err := l.Release(); err != nil { // handed over: releasing it does nothing
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if l2, err := Lock(ctx, Options{Project: proj, Home: home(t)}); err == nil {
		l2.Release()
		t.Fatal("another run got the project while the session held it")
	}
	if _, err := s.SyncBack(rootfs.SyncOptions{OwnerUID: -1, OwnerGID: -1}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(proj, "new.txt")); string(got) != "made\n" {
		t.Errorf("new.txt = %q after SyncBack", got)
	}
	closed(t, s)
	l3, err := Lock(context.Background(), Options{Project: proj, Home: home(t)})
	if err != nil {
		t.Fatalf("the lock after Close: %v", err)
	}
	l3.Release()
}

func TestFailedRunLeavesProjectUnchanged(t *testing.T) {
	testutil.NeedRootContainers(t)
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) {
			proj := testutil.NewProject(t, map[string]string{"a.txt": "a\n", "dir/b.txt": "b\n", ".git/HEAD": "ref: refs/heads/main\n"})
			before := testutil.TreeHash(t, proj)
			s, err := Open(context.Background(), Options{Project: proj, Home: home(t), Mode: mode})
			if err != nil {
				t.Fatal(err)
			}
			var out syncBuffer
			res := run(t, s, `echo x > new && echo changed > a.txt && rm -r dir && mkdir -p .git/hooks && echo evil > .git/hooks/pre-commit; exit 3`, &out)
			if res.ExitCode != 3 {
				t.Errorf("exit code %d, want 3 (%s)", res.ExitCode, out.String())
			}
			closed(t, s)
			after := testutil.TreeHash(t, proj)
			if fmt.Sprint(after) != fmt.Sprint(before) {
				t.Errorf("the project changed:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}

func TestOpenWaitsForLock(t *testing.T) {
	testutil.NeedRootContainers(t)
	proj := testutil.NewProject(t, map[string]string{"a": "a"})
	h := home(t)
	first, err := Open(context.Background(), Options{Project: proj, Home: h})
	if err != nil {
		t.Fatal(err)
	}
	firstClosed := false
	defer func() {
		if !firstClosed {
			first.Close()
		}
	}()

	// While the first session holds the lock, a second one gives up when its
	// context ends, after saying who it waits for.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	waitedFor := -1
	s, err := Open(ctx, Options{Project: proj, Home: h, OnWait: func(pid int) { waitedFor = pid }})
	cancel()
	if err == nil {
		s.Close()
		t.Fatal("a second Open succeeded while the first session was open")
	}
	if waitedFor != os.Getpid() {
		t.Errorf("OnWait got pid %d, want the holder %d", waitedFor, os.Getpid())
	}

	waits := make(chan int, 4)
	opened := make(chan *Session, 1)
	errs := make(chan error, 1)
	go func() {
		s, err := Open(context.Background(), Options{Project: proj, Home: h, OnWait: func(pid int) { waits <- pid }})
		if err != nil {
			errs <- err
			return
		}
		opened <- s
	}()
	select {
	case pid := <-waits:
		if pid != os.Getpid() {
			t.Errorf("OnWait got pid %d, want %d", pid, os.Getpid())
		}
	case s := <-opened:
		s.Close()
		t.Fatal("the second Open did not wait")
	case err := <-errs:
		t.Fatal(err)
	case <-time.After(10 * time.Second):
		t.Fatal("OnWait was not called")
	}
	select {
	case s := <-opened:
		s.Close()
		t.Fatal("the second Open returned while the first session was still open")
	case <-time.After(200 * time.Millisecond):
	}
	closed(t, first)
	firstClosed = true
	select {
	case s := <-opened:
		if len(waits) != 0 {
			t.Errorf("OnWait called more than once")
		}
		if s.Scratch().Dir() == "" {
			t.Error("the second session has no scratch dir")
		}
		closed(t, s)
	case err := <-errs:
		t.Fatal(err)
	case <-time.After(10 * time.Second):
		t.Fatal("the second Open did not get the lock after the first session closed")
	}
}

// TestIdmappedLowerMasked: as root, a root-owned project is served through an
// idmapped overlay whose lower (the host project, owned by the container's root
// through the idmap) is bound at rootfs.IdmappedLower for the overlay's sake. Once
// the overlay is up the container must not see it: the project is reachable only
// through the overlay, which writes nothing to the host.
func TestIdmappedLowerMasked(t *testing.T) {
	testutil.NeedRootContainers(t)
	proj := testutil.NewProject(t, map[string]string{"secret-ish.txt": "original\n"})
	s, err := Open(context.Background(), Options{Project: proj, Home: home(t), Mode: rootfs.ModeAuto})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var out syncBuffer
	res := run(t, s, `cat secret-ish.txt; echo entries=$(ls -A `+rootfs.IdmappedLower+` 2>/dev/null | wc -l); `+
		`(echo changed > `+rootfs.IdmappedLower+`/secret-ish.txt) 2>/dev/null && echo wrote-lower; echo changed > secret-ish.txt`, &out)
	if !s.Scratch().Idmapped() {
		t.Skipf("no idmapped overlay here (%v: %s): nothing to mask", s.Scratch().Mode(), s.Scratch().ModeReason())
	}
	if res.ExitCode != 0 {
		t.Fatalf("exit %d: %s", res.ExitCode, out.String())
	}
	if got := out.String(); got != "original\nentries=0\n" {
		t.Errorf("output %q: want the project readable through the overlay and %s empty and unwritable", got, rootfs.IdmappedLower)
	}
	if b, _ := os.ReadFile(filepath.Join(proj, "secret-ish.txt")); string(b) != "original\n" {
		t.Errorf("host file = %q before any sync back", b)
	}
}

func runLimited(t *testing.T, s *Session, lim container.Limits, script string) (*container.Result, string) {
	t.Helper()
	var out syncBuffer
	res, err := s.Run(context.Background(), Exec{
		Args: []string{"sh", "-c", script}, Env: ScrubEnv(os.Environ(), nil, s.o.Home, "tester"),
		Limits: lim, Stdout: &out, Stderr: &out,
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res, out.String()
}

// TestDiskLimit: a session that writes more than limits.disk into the scratch is
// stopped with the disk reason and leaves the project as it was; the twin that
// stays under it is synced. The limit bounds the session's steps together.
func TestDiskLimit(t *testing.T) {
	testutil.NeedRootContainers(t)
	lim := container.Limits{Disk: 64 << 20, Timeout: time.Minute}
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) {
			for _, tc := range []struct{ name, script string }{
				{"many files", "mkdir -p out && for i in $(seq 300); do head -c 2M /dev/urandom > out/f$i || exit 9; done"},
				{"one file", "head -c 200M /dev/zero > big"},
				{"two steps", "head -c 40M /dev/urandom > first"}, // run twice below
			} {
				t.Run(tc.name, func(t *testing.T) {
					proj := testutil.NewProject(t, map[string]string{"a.txt": "a\n"})
					before := testutil.TreeHash(t, proj)
					s, err := Open(context.Background(), Options{Project: proj, Home: home(t), Mode: mode})
					if err != nil {
						t.Fatal(err)
					}
					res, out := runLimited(t, s, lim, tc.script)
					if tc.name == "two steps" {
						if res.Stopped != container.StopNone || res.ExitCode != 0 {
							t.Fatalf("first step of 40 MiB: stopped %q exit %d: %s", res.Stopped, res.ExitCode, out)
						}
						res, out = runLimited(t, s, lim, "mkdir -p second && for i in $(seq 50); do head -c 2M /dev/urandom > second/f$i || exit 9; done")
					}
					if res.Stopped != container.StopDisk {
						t.Fatalf("stopped %q exit %d, want disk: %s", res.Stopped, res.ExitCode, out)
					}
					t.Log(res.StopMessage(lim))
					closed(t, s)
					if after := testutil.TreeHash(t, proj); fmt.Sprint(after) != fmt.Sprint(before) {
						t.Errorf("the project changed:\nbefore %v\nafter  %v", before, after)
					}
				})
			}
			t.Run("a project larger than the limit is not counted", func(t *testing.T) {
				// The staging copy (copy mode) and the overlay's lower are not the
				// run's writing: an 80 MiB project under a 64 MiB limit still runs.
				proj := testutil.NewProject(t, map[string]string{"a.txt": "a\n"})
				big := make([]byte, 80<<20)
				for i := range big {
					big[i] = byte(i * 7)
				}
				if err := os.WriteFile(filepath.Join(proj, "data.bin"), big, 0o644); err != nil {
					t.Fatal(err)
				}
				s, err := Open(context.Background(), Options{Project: proj, Home: home(t), Mode: mode})
				if err != nil {
					t.Fatal(err)
				}
				res, out := runLimited(t, s, lim, "cmp -s data.bin data.bin && head -c 1M /dev/urandom > small")
				if res.Stopped != container.StopNone || res.ExitCode != 0 {
					t.Fatalf("1 MiB written over an 80 MiB project: stopped %q exit %d: %s", res.Stopped, res.ExitCode, out)
				}
				closed(t, s)
			})
			t.Run("under the limit is synced", func(t *testing.T) {
				proj := testutil.NewProject(t, map[string]string{"a.txt": "a\n"})
				s, err := Open(context.Background(), Options{Project: proj, Home: home(t), Mode: mode})
				if err != nil {
					t.Fatal(err)
				}
				res, out := runLimited(t, s, lim, "mkdir -p out && for i in $(seq 16); do head -c 2M /dev/urandom > out/f$i; done")
				if res.Stopped != container.StopNone || res.ExitCode != 0 {
					t.Fatalf("32 MiB under 64 MiB: stopped %q exit %d: %s", res.Stopped, res.ExitCode, out)
				}
				if rep, err := s.SyncBack(rootfs.SyncOptions{OwnerUID: -1, OwnerGID: -1}); err != nil || len(rep.Refused) > 0 {
					t.Fatalf("SyncBack: %v %+v", err, rep)
				}
				closed(t, s)
				for i := 1; i <= 16; i++ {
					fi, err := os.Stat(filepath.Join(proj, "out", fmt.Sprintf("f%d", i)))
					if err != nil || fi.Size() != 2<<20 {
						t.Fatalf("out/f%d not synced: %v", i, err)
					}
				}
			})
		})
	}
}

package container_test

import (
	"context"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/phylum-box/phylum-box/container"
)

// recorder collects a monitored run's events.
type recorder struct {
	mu     sync.Mutex
	events []container.SyscallEvent
}

func (r *recorder) monitor(keys ...string) *container.Monitor {
	return &container.Monitor{EnvKeys: keys, OnEvent: func(e container.SyscallEvent) {
		r.mu.Lock()
		r.events = append(r.events, e)
		r.mu.Unlock()
	}}
}

func (r *recorder) find(pred func(container.SyscallEvent) bool) (container.SyscallEvent, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.events {
		if pred(e) {
			return e, true
		}
	}
	return container.SyscallEvent{}, false
}

func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, e := range r.events {
		b.WriteString("\n  " + e.Syscall + " refused=" + strconv.FormatBool(e.Refused) + " addr=" + e.Addr + " path=" + e.Path + " argv=" + strings.Join(e.Argv, " ") + " cwd=" + e.Cwd + " exe=" + e.Exe)
	}
	return b.String()
}

func requireMonitor(t *testing.T) {
	t.Helper()
	if !container.SeccompCompiled {
		t.Skip("built without -tags seccomp: no filter, no monitor")
	}
	if why := container.MonitorUnavailable(); why != "" {
		t.Skipf("SKIPPED: the monitor cannot run on this host: %s", why)
	}
}

// monitored runs args in b with a monitor and checks the monitor watched.
func monitored(t *testing.T, b *box, keys []string, args ...string) (out, *recorder) {
	t.Helper()
	rec := &recorder{}
	o := b.run(context.Background(), func(s *container.Spec) { s.Monitor = rec.monitor(keys...) }, args...)
	if !o.Monitored {
		t.Fatalf("run not monitored: %s", o.MonitorNote)
	}
	return o, rec
}

func TestMonitorEvents(t *testing.T) {
	requireMonitor(t)
	b := newBox(t)

	t.Run("execve with argv, cwd, exe and env", func(t *testing.T) {
		o, rec := monitored(t, b, []string{"npm_package_name", "CARGO_PKG_NAME"},
			"env", "npm_package_name=foo", "sh", "-c", "exec /bin/true one 'two words'")
		if o.ExitCode != 0 {
			t.Fatalf("exit %d: %s", o.ExitCode, o.stderr)
		}
		t.Logf("events:%s", rec)
		e, ok := rec.find(func(e container.SyscallEvent) bool { return e.Syscall == "execve" && e.Path == "/bin/true" })
		if !ok {
			t.Fatalf("no execve of /bin/true in:%s", rec)
		}
		if !slices.Equal(e.Argv, []string{"/bin/true", "one", "two words"}) {
			t.Errorf("argv %q", e.Argv)
		}
		if e.Env["npm_package_name"] != "foo" || len(e.Env) != 1 {
			t.Errorf("env %v, want npm_package_name=foo only", e.Env)
		}
		if e.Cwd != "/work" {
			t.Errorf("cwd %q, want /work (the container's view)", e.Cwd)
		}
		if e.Exe != "/usr/bin/dash" && e.Exe != "/bin/dash" && e.Exe != "/usr/bin/bash" && e.Exe != "/bin/bash" {
			t.Errorf("exe %q, want the shell that called execve", e.Exe)
		}
		if e.Pid <= 1 || e.Refused || e.Time.IsZero() {
			t.Errorf("event %+v", e)
		}
		// env itself does not have the variable; the environment it gives sh
		// does.
		sh, ok := rec.find(func(e container.SyscallEvent) bool { return e.Syscall == "execve" && e.Path == "/usr/bin/sh" })
		if !ok || sh.Env["npm_package_name"] != "" || sh.ExecEnv["npm_package_name"] != "foo" || len(sh.ExecEnv) != 1 {
			t.Errorf("env's execve of sh: env %v exec env %v, want only the exec env to name foo", sh.Env, sh.ExecEnv)
		}
		if e.ExecEnv["npm_package_name"] != "foo" {
			t.Errorf("sh's execve of /bin/true: exec env %v", e.ExecEnv)
		}
		// The legitimate twin: a process without the variable is not given it.
		if e, ok := rec.find(func(e container.SyscallEvent) bool {
			return e.Syscall == "execve" && e.Path != "/bin/true" && e.Env["npm_package_name"] != ""
		}); ok {
			t.Errorf("env attributed to a process that did not have it: %+v", e)
		}
	})

	t.Run("connect to TEST-NET", func(t *testing.T) {
		o, rec := monitored(t, b, nil, "bash", "-c", "echo > /dev/tcp/203.0.113.1/443")
		if o.ExitCode == 0 {
			t.Fatal("connect succeeded from a container without a network")
		}
		if _, ok := rec.find(func(e container.SyscallEvent) bool {
			return e.Syscall == "connect" && e.Addr == "203.0.113.1:443" && !e.Refused
		}); !ok {
			t.Fatalf("no connect to 203.0.113.1:443 in:%s", rec)
		}
	})

	t.Run("with the host network", func(t *testing.T) {
		// The container is started from a thread in a Landlock domain (abstract
		// sockets scoped); libcontainer's dial of the monitor's path socket
		// from that thread must still work.
		rec := &recorder{}
		o := b.run(context.Background(), func(s *container.Spec) {
			s.Network = true
			s.Monitor = rec.monitor()
		}, "bash", "-c", "echo > /dev/tcp/127.0.0.1/1")
		if !o.Monitored {
			t.Fatalf("run not monitored: %s", o.MonitorNote)
		}
		if _, ok := rec.find(func(e container.SyscallEvent) bool { return e.Syscall == "connect" && e.Addr == "127.0.0.1:1" }); !ok {
			t.Fatalf("no connect to 127.0.0.1:1 in:%s", rec)
		}
	})

	t.Run("addresses of every family and call", func(t *testing.T) {
		py := `import socket
def attempt(f):
    try: f()
    except OSError: pass
u=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)
attempt(lambda: u.sendto(b"x",("203.0.113.7",53)))
attempt(lambda: u.sendmsg([b"x"],[],0,("203.0.113.8",5353)))
s6=socket.socket(socket.AF_INET6,socket.SOCK_STREAM)
attempt(lambda: s6.connect(("2001:db8::1",443)))
for a in ["/tmp/pbox-nosuch.sock","\0pbox-abstract"]:
    attempt(lambda: socket.socket(socket.AF_UNIX).connect(a))
import ctypes
class iovec(ctypes.Structure): _fields_=[("base",ctypes.c_void_p),("len",ctypes.c_size_t)]
class msghdr(ctypes.Structure): _fields_=[("name",ctypes.c_void_p),("namelen",ctypes.c_uint32),("iov",ctypes.POINTER(iovec)),("iovlen",ctypes.c_size_t),("control",ctypes.c_void_p),("controllen",ctypes.c_size_t),("flags",ctypes.c_int)]
class mmsghdr(ctypes.Structure): _fields_=[("hdr",msghdr),("len",ctypes.c_uint)]
sin=ctypes.create_string_buffer(socket.AF_INET.to_bytes(2,"little")+(853).to_bytes(2,"big")+socket.inet_aton("203.0.113.9")+bytes(8),16)
data=ctypes.create_string_buffer(b"x")
iov=iovec(ctypes.cast(data,ctypes.c_void_p),1)
m=mmsghdr(msghdr(ctypes.cast(sin,ctypes.c_void_p),16,ctypes.pointer(iov),1,None,0,0),0)
ctypes.CDLL(None).sendmmsg(u.fileno(),ctypes.byref(m),1,0)
a,b=socket.socketpair()
a.send(b"quiet")
a.sendmsg([b"quiet"])
print(b.recv(10))
`
		o, rec := monitored(t, b, nil, "python3", "-c", py)
		if o.ExitCode != 0 {
			t.Fatalf("exit %d: %s", o.ExitCode, o.stderr)
		}
		for _, want := range []struct{ call, addr string }{
			{"sendto", "203.0.113.7:53"},
			{"sendmsg", "203.0.113.8:5353"},
			{"sendmmsg", "203.0.113.9:853"},
			{"connect", "[2001:db8::1]:443"},
			{"connect", "unix:/tmp/pbox-nosuch.sock"},
			{"connect", "unix:@pbox-abstract"},
		} {
			if _, ok := rec.find(func(e container.SyscallEvent) bool { return e.Syscall == want.call && e.Addr == want.addr }); !ok {
				t.Errorf("no %s to %s in:%s", want.call, want.addr, rec)
			}
		}
		// The twins: sends on a connected socket carry no address and are
		// not watched.
		if e, ok := rec.find(func(e container.SyscallEvent) bool {
			return (e.Syscall == "sendto" || e.Syscall == "sendmsg" || e.Syscall == "sendmmsg") && e.Addr == ""
		}); ok {
			t.Errorf("a send without a destination was reported: %+v", e)
		}
	})

	t.Run("fexecve of a memfd", func(t *testing.T) {
		py := "import os\nfd=os.memfd_create('payload')\nos.write(fd,open('/bin/true','rb').read())\nos.execve(fd,['payload','x'],{})"
		o, rec := monitored(t, b, nil, "python3", "-c", py)
		if o.ExitCode != 0 {
			t.Fatalf("exit %d: %s", o.ExitCode, o.stderr)
		}
		e, ok := rec.find(func(e container.SyscallEvent) bool { return e.Syscall == "execveat" })
		if !ok {
			t.Fatalf("no execveat in:%s", rec)
		}
		if !strings.HasPrefix(e.Path, "/memfd:payload") || !slices.Equal(e.Argv, []string{"payload", "x"}) {
			t.Errorf("execveat path %q argv %q, want the memfd and its argv", e.Path, e.Argv)
		}
	})

	t.Run("setsid", func(t *testing.T) {
		o, rec := monitored(t, b, nil, "python3", "-c", "import os\nif os.fork()==0:\n    os.setsid()\n    os._exit(0)\nos.wait()")
		if o.ExitCode != 0 {
			t.Fatalf("exit %d: %s", o.ExitCode, o.stderr)
		}
		if _, ok := rec.find(func(e container.SyscallEvent) bool { return e.Syscall == "setsid" && !e.Refused }); !ok {
			t.Fatalf("no setsid in:%s", rec)
		}
	})

	t.Run("the socket directory is removed", func(t *testing.T) {
		left, _ := filepath.Glob(filepath.Join(b.res.Dir, "monitor-*"))
		if len(left) != 0 {
			t.Fatalf("left behind: %v", left)
		}
	})

	t.Run("without a monitor nothing is reported", func(t *testing.T) {
		o := b.run(context.Background(), nil, "/bin/true")
		if o.Monitored || o.MonitorNote != "" {
			t.Fatalf("monitored=%v note=%q without a Monitor", o.Monitored, o.MonitorNote)
		}
	})
}

// Without the seccomp tag the run goes on unwatched and says why.
func TestMonitorNoteWithoutSeccomp(t *testing.T) {
	if container.SeccompCompiled {
		t.Skip("built with -tags seccomp: the monitor runs (TestMonitorEvents)")
	}
	rec := &recorder{}
	o := newBox(t).run(context.Background(), func(s *container.Spec) { s.Monitor = rec.monitor() }, "/bin/true")
	if o.ExitCode != 0 || o.Monitored || !strings.Contains(o.MonitorNote, "seccomp tag") || o.MonitorNote != container.MonitorUnavailable() {
		t.Fatalf("exit %d monitored %v note %q", o.ExitCode, o.Monitored, o.MonitorNote)
	}
	if len(rec.events) != 0 {
		t.Fatalf("events without a monitor:%s", rec)
	}
}

// TestMonitorKeepsRefusals runs the filter's refusals with the monitor on:
// each is still refused with the same errno, the ones the monitor watches are
// reported as refused, and the legitimate twins still work unreported.
func TestMonitorKeepsRefusals(t *testing.T) {
	requireMonitor(t)
	if runtime.GOARCH != "amd64" {
		t.Skip("syscall numbers below are x86_64's")
	}
	const eperm, enosys = "1", "38"
	b := newBox(t)
	for _, tc := range []struct {
		name      string
		py        string
		args      []string
		wantErrno string // "" = must succeed
		report    string // the refused event expected, "" = none
	}{
		{"unshare(CLONE_NEWUSER)", sysPy, []string{"272", "0x10000000"}, eperm, "unshare"},
		{"unshare(CLONE_NEWNS)", sysPy, []string{"272", "0x20000"}, eperm, "unshare"},
		{"unshare(CLONE_NEWNET|CLONE_FILES)", sysPy, []string{"272", "0x40000400"}, eperm, "unshare"},
		{"clone(CLONE_NEWUSER)", sysPy, []string{"56", "0x10000011", "0", "0", "0", "0"}, eperm, "clone"},
		{"mount", sysPy, []string{"165", "0", "0", "0", "0", "0"}, eperm, "mount"},
		{"keyctl", sysPy, []string{"250", "0", "0xfffffffffffffffd", "1"}, eperm, "keyctl"},
		{"ptrace", sysPy, []string{"101", "0", "0", "0", "0"}, eperm, "ptrace"},
		{"bpf", sysPy, []string{"321", "0", "0", "0"}, eperm, "bpf"},
		{"ioctl TIOCSTI", ttyPy, []string{"0x5412"}, eperm, "ioctl"},
		{"io_uring_setup stays a plain refusal", sysPy, []string{"425", "1", "0"}, eperm, ""},
		{"clone3 stays ENOSYS", sysPy, []string{"435", "0", "0"}, enosys, ""},
		{"twin: unshare(CLONE_FILES)", sysPy, []string{"272", "0x400"}, "", ""},
		{"twin: getpid", sysPy, []string{"39"}, "", ""},
		{"twin: ioctl TIOCGWINSZ", ttyPy, []string{"0x5413"}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, rec := monitored(t, b, nil, append([]string{"python3", "-c", tc.py}, tc.args...)...)
			f := strings.Fields(o.stdout)
			if o.ExitCode != 0 || len(f) != 2 {
				t.Fatalf("probe failed: exit %d stdout %q stderr %q", o.ExitCode, o.stdout, o.stderr)
			}
			if tc.wantErrno == "" {
				if strings.HasPrefix(f[0], "-") {
					t.Fatalf("legitimate call refused: ret %s errno %s", f[0], f[1])
				}
			} else if f[0] != "-1" || f[1] != tc.wantErrno {
				t.Fatalf("ret %s errno %s, want -1 errno %s", f[0], f[1], tc.wantErrno)
			}
			e, ok := rec.find(func(e container.SyscallEvent) bool { return e.Refused })
			switch {
			case tc.report == "" && ok:
				t.Errorf("unexpected refusal reported: %+v", e)
			case tc.report != "" && !ok:
				t.Errorf("no refusal reported in:%s", rec)
			case tc.report != "" && e.Syscall != tc.report:
				t.Errorf("refusal reported as %q, want %q", e.Syscall, tc.report)
			}
		})
	}
	for _, tc := range []struct {
		cmd string
		ok  bool
	}{
		{"unshare -Ur true", false},
		{"unshare -m true", false},
		{"python3 -c 'import threading; t=threading.Thread(target=print); t.start(); t.join()'", true},
		{"sh -c 'true & wait'", true},
	} {
		t.Run(tc.cmd, func(t *testing.T) {
			o, _ := monitored(t, b, nil, "/bin/sh", "-c", tc.cmd)
			if (o.ExitCode == 0) != tc.ok {
				t.Fatalf("exit %d, want success=%v: %s", o.ExitCode, tc.ok, o.stderr)
			}
		})
	}
}

// TestMonitorListenerGone: when the listener goes away mid-run (here its
// OnEvent ends the goroutine once python3 is started), the kernel fails every
// watched call with ENOSYS: refusals stay refusals, and the calls the
// monitor would have let go on fail instead of going on unwatched. The twins
// show the rest of the filter, and the process, still work.
func TestMonitorListenerGone(t *testing.T) {
	requireMonitor(t)
	if runtime.GOARCH != "amd64" {
		t.Skip("syscall numbers below are x86_64's")
	}
	const enosys = "38"
	py := sysPy + `
import socket
try:
    socket.socket().connect(("203.0.113.1", 443))
    print("connect went on")
except OSError as e:
    print("connect errno", e.errno)
`
	b := newBox(t)
	for _, tc := range []struct {
		name      string
		args      []string
		wantErrno string
	}{
		{"unshare(CLONE_NEWUSER)", []string{"272", "0x10000000"}, enosys},
		{"mount", []string{"165", "0", "0", "0", "0", "0"}, enosys},
		{"twin: unshare(CLONE_FILES)", []string{"272", "0x400"}, ""},
		{"twin: getpid", []string{"39"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &container.Monitor{OnEvent: func(e container.SyscallEvent) {
				if e.Syscall == "execve" && e.Path == "/usr/bin/python3" {
					runtime.Goexit()
				}
			}}
			o := b.run(context.Background(), func(s *container.Spec) { s.Monitor = m }, append([]string{"/usr/bin/python3", "-c", py}, tc.args...)...)
			lines := strings.Split(strings.TrimSpace(o.stdout), "\n")
			if o.ExitCode != 0 || len(lines) != 2 {
				t.Fatalf("probe failed: exit %d stdout %q stderr %q", o.ExitCode, o.stdout, o.stderr)
			}
			f := strings.Fields(lines[0])
			if tc.wantErrno == "" {
				if strings.HasPrefix(f[0], "-") {
					t.Fatalf("legitimate call refused: %s", lines[0])
				}
			} else if f[0] != "-1" || f[1] != tc.wantErrno {
				t.Fatalf("%s, want -1 %s", lines[0], tc.wantErrno)
			}
			if lines[1] != "connect errno "+enosys {
				t.Fatalf("connect without a listener: %s, want ENOSYS", lines[1])
			}
		})
	}
}

// TestMonitorRootless runs the monitor tests again as unprivileged users (the
// integration suite's test users: one with a single-id map, one with a
// subordinate range), when this test runs as root.
func TestMonitorRootless(t *testing.T) {
	requireMonitor(t)
	if os.Geteuid() != 0 {
		t.Skip("already rootless: the tests above ran as this user")
	}
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("SKIPPED: no setpriv")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"pbox-it", "pbox-itd"} {
		t.Run(name, func(t *testing.T) {
			u, err := user.Lookup(name)
			if err != nil {
				t.Skipf("SKIPPED: no test user %s (the integration suite creates it): %v", name, err)
			}
			uid, _ := strconv.Atoi(u.Uid)
			gid, _ := strconv.Atoi(u.Gid)
			// Not t.TempDir: its parent is 0700 root.
			dir, err := os.MkdirTemp("", "pbox-monitor-rootless-")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(dir) })
			if err := os.Chmod(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			bin := filepath.Join(dir, "container.test")
			if err := os.WriteFile(bin, data, 0o755); err != nil {
				t.Fatal(err)
			}
			tmp := filepath.Join(dir, "tmp")
			if err := os.Mkdir(tmp, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(tmp, uid, gid); err != nil {
				t.Fatal(err)
			}
			tests := []string{"TestMonitorEvents", "TestMonitorKeepsRefusals", "TestMonitorListenerGone", "TestMonitorOuterAgent"}
			cmd := exec.Command("setpriv", "--reuid="+u.Uid, "--regid="+u.Gid, "--init-groups", "--",
				bin, "-test.run", "^("+strings.Join(tests, "|")+")$", "-test.count=1", "-test.v")
			cmd.Dir = tmp
			cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + tmp, "TMPDIR=" + tmp}
			out, err := cmd.CombinedOutput()
			t.Logf("as %s (uid %d):\n%s", name, uid, out)
			if err != nil {
				t.Fatalf("rootless monitor tests failed: %v", err)
			}
			for _, tn := range tests {
				if !strings.Contains(string(out), "--- PASS: "+tn+" ") {
					t.Errorf("%s did not pass as %s", tn, name)
				}
			}
		})
	}
}

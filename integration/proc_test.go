package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startHostSleeper starts a host process owned by the mode's user (so that only the
// pid namespace, not the uid, keeps the container from it).
func startHostSleeper(t *testing.T, m mode) (pid int, marker string) {
	t.Helper()
	marker = uniqueSleep(300)
	argv := []string{"/bin/sleep", marker}
	if m.rootless() && suite.isRoot {
		argv = append([]string{"setpriv"}, asUserArgs(m.User, argv...)...)
	}
	c := exec.Command(argv[0], argv[1:]...)
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Process.Kill(); _ = c.Wait() })
	return c.Process.Pid, marker
}

func TestHostProcessesAreInvisible(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		b := newBox(t, m)
		pid, marker := startHostSleeper(t, m)
		t.Run("/proc lists only the container", func(t *testing.T) {
			r := b.attack(nil, "ps")
			wantCode(t, r, 0, "listing /proc")
			if strings.Contains(r.Stdout, marker) {
				t.Errorf("a host process is visible:\n%s", r.Stdout)
			}
			if n := len(strings.Split(strings.TrimSpace(r.Stdout), "\n")); n > 3 {
				t.Errorf("%d processes visible, want only the container's own:\n%s", n, r.Stdout)
			}
		})
		t.Run("kill -0 of a host pid", func(t *testing.T) {
			wantRefused(t, b.attack(nil, "kill0", strconv.Itoa(pid)), "signalling host pid "+strconv.Itoa(pid))
			r := b.attack(nil, "read", "/proc/"+strconv.Itoa(pid)+"/cmdline")
			if strings.Contains(r.Stdout, marker) {
				t.Errorf("the host process's command line is readable inside:\n%s", r)
			}
		})
		t.Run("twin: signalling its own child works", func(t *testing.T) {
			wantCode(t, b.attack(nil, "childsignal"), 0, "signalling a child")
		})
	})
}

func TestNestedUserNamespaceIsRefused(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		b := newBox(t, m)
		for _, argv := range [][]string{
			{"unshare", "--user", "true"},
			{"unshare", "--user", "--map-root-user", "true"},
			{"unshare", "--mount", "true"},
			{"unshare", "--net", "true"},
		} {
			t.Run(strings.Join(argv, " "), func(t *testing.T) {
				r := b.run(nil, argv...)
				if r.Code == 0 || !strings.Contains(r.Stderr, "unshare") {
					t.Errorf("want unshare(1) itself to fail, got\n%s", r)
				}
			})
		}
		t.Run("clone(CLONE_NEWUSER)", func(t *testing.T) {
			wantRefused(t, b.attack(nil, "clone-userns"), "clone with CLONE_NEWUSER")
		})
		t.Run("twin: plain fork and exec work", func(t *testing.T) {
			wantCode(t, b.sh(nil, `/bin/true && /usr/bin/env true`), 0, "fork+exec")
			wantCode(t, b.attack(nil, "fork", "5"), 0, "five children")
		})
	})
}

func TestMountIsRefused(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		b := newBox(t, m)
		wantRefused(t, b.attack(nil, "mount", "/tmp/pbox-it-mnt"), "mount(2) of a tmpfs")
		r := b.sh(nil, `mkdir -p /tmp/pbox-it-m && mount -t tmpfs none /tmp/pbox-it-m`)
		if r.Code == 0 || !strings.Contains(r.Stderr, "mount") {
			t.Errorf("want mount(8) to fail, got\n%s", r)
		}
		r = b.sh(nil, `umount -l "$PWD"`)
		if r.Code == 0 {
			t.Errorf("umount succeeded inside:\n%s", r)
		}
		t.Run("twin: mkdir in /tmp works", func(t *testing.T) {
			wantCode(t, b.sh(nil, `mkdir -p /tmp/pbox-it-m && echo x > /tmp/pbox-it-m/f && cat /tmp/pbox-it-m/f`), 0, "using /tmp")
		})
	})
}

// Calls an unprivileged process could otherwise make succeed; only the seccomp
// profile refuses them (keyctl on the process keyring, a user-mode userfaultfd,
// perf on itself).
func TestSeccompRefusesDangerousCalls(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		b := newBox(t, m)
		r := b.attack(nil, "syscalls")
		wantCode(t, r, 0, "the syscall probe")
		got := map[string]string{}
		for _, l := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
			name, res, _ := strings.Cut(l, " ")
			got[name] = res
		}
		if got["getpid"] != "OK" {
			t.Errorf("control: getpid = %q", got["getpid"])
		}
		for _, name := range []string{"keyctl", "bpf", "perf_event_open", "userfaultfd", "unshare-mount", "mount", "pivot_root", "setns"} {
			if res, ok := got[name]; !ok || res == "OK" {
				t.Errorf("%s: want refused, got %q", name, res)
			}
		}
	})
}

// TIOCSTI pushes characters into the terminal's input: whatever the sandbox injects,
// the user's shell would run after it exits.
func TestTIOCSTIIsRefused(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		b := newBox(t, m)
		_, tty := openPTY(t, m.uid(), m.gid())
		inv := b.invoke(nil, []string{"./attacks", "tiocsti"})
		inv.Stdin = tty
		r := inv.exec(t)
		wantRefused(t, r, "TIOCSTI on the caller's terminal")
		if n := pendingInput(t, tty); n != 0 {
			t.Errorf("%d bytes were injected into the caller's terminal", n)
		}
		if !strings.Contains(r.Stdout, "TIOCGWINSZ OK") {
			t.Errorf("twin: the terminal on stdin should still be usable (TIOCGWINSZ):\n%s", r)
		}
	})
}

// What the process is: no capabilities, no_new_privs, a seccomp filter, a user
// namespace whose root is not host root, and nothing open but stdio.
func TestProcessIdentity(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		b := newBox(t, m)
		r := b.attack(nil, "status")
		wantCode(t, r, 0, "reading /proc/self/status")
		fields := map[string]string{}
		for _, l := range strings.Split(r.Stdout, "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok {
				fields[k] = strings.TrimSpace(v)
			}
		}
		for _, k := range []string{"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"} {
			if fields[k] != "0000000000000000" {
				t.Errorf("%s = %q, want all zero", k, fields[k])
			}
		}
		if fields["NoNewPrivs"] != "1" {
			t.Errorf("NoNewPrivs = %q, want 1", fields["NoNewPrivs"])
		}
		if fields["Seccomp"] != "2" {
			t.Errorf("Seccomp = %q, want 2 (filter)", fields["Seccomp"])
		}
		_, uidMap, _ := strings.Cut(r.Stdout, "== /proc/self/uid_map\n")
		uidMap, _, _ = strings.Cut(uidMap, "==")
		for _, l := range strings.Split(strings.TrimSpace(uidMap), "\n") {
			f := strings.Fields(l)
			if len(f) == 3 && f[0] == "0" && f[1] == "0" {
				t.Errorf("container root is host root (uid_map %q)", l)
			}
		}
		if len(strings.TrimSpace(uidMap)) == 0 {
			t.Errorf("no uid_map: not in a user namespace?\n%s", r.Stdout)
		}
	})
}

func TestNoDescriptorLeaks(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		b := newBox(t, m)
		// The caller holds a secret open, as a shell or an editor may; descriptor 3
		// must not survive into CMD.
		secret, err := os.Open(filepath.Join(b.Home, ".ssh", "id_rsa"))
		if err != nil {
			t.Fatal(err)
		}
		defer secret.Close()
		c := b.invoke(nil, []string{"./attacks", "fds"}).command()
		c.ExtraFiles = []*os.File{secret}
		out, err := c.Output()
		if err != nil {
			t.Fatalf("fds: %v\n%s", err, out)
		}
		var fds []string
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			fds = append(fds, strings.Fields(l)[0])
			if strings.Contains(l, ".ssh") {
				t.Errorf("the caller's open secret leaked into CMD: %s", l)
			}
		}
		if strings.Join(fds, ",") != "0,1,2" {
			t.Errorf("open descriptors inside: %v, want exactly 0,1,2:\n%s", fds, out)
		}
	})
}

// A plain run: exit codes pass through, cwd is the project, --project works from
// elsewhere, stdout reaches the caller.
func TestRunBasics(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		b := newBox(t, m)
		r := b.sh(nil, `pwd; echo to-stderr >&2; exit 7`)
		wantCode(t, r, 7, "CMD's exit code")
		if strings.TrimSpace(r.Stdout) != b.Project {
			t.Errorf("cwd inside = %q, want the project path %q", r.Stdout, b.Project)
		}
		if !strings.Contains(r.Stderr, "to-stderr") {
			t.Errorf("CMD's stderr did not reach the caller:\n%s", r)
		}
		inv := b.invoke([]string{"--project", b.Project}, []string{"/bin/sh", "-c", "pwd && echo hi > via-flag.txt"})
		inv.Dir = b.Home
		r = inv.exec(t)
		wantCode(t, r, 0, "--project from another directory")
		if strings.TrimSpace(r.Stdout) != b.Project {
			t.Errorf("cwd inside with --project = %q, want %q", r.Stdout, b.Project)
		}
		if !pathExists(filepath.Join(b.Project, "via-flag.txt")) {
			t.Errorf("--project: change not synced")
		}
		fi, err := os.Lstat(filepath.Join(b.Project, "via-flag.txt"))
		if err == nil {
			st := fi.Sys().(*syscall.Stat_t)
			if int(st.Uid) != m.uid() || int(st.Gid) != m.gid() {
				t.Errorf("synced file owned by %d:%d, want the caller %d:%d", st.Uid, st.Gid, m.uid(), m.gid())
			}
		}
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		go func() { pw.WriteString("hello-stdin\n"); pw.Close() }()
		inv = b.invoke(nil, []string{"/bin/cat"})
		inv.Stdin = pr
		r = inv.exec(t)
		pr.Close()
		wantCode(t, r, 0, "cat reading stdin")
		if r.Stdout != "hello-stdin\n" {
			t.Errorf("stdin did not reach CMD: %q", r.Stdout)
		}
		r = b.run(nil, "/nonexistent/cmd")
		if r.Code == 0 {
			t.Errorf("a missing CMD exited 0:\n%s", r)
		}
	})
}

// Processes CMD leaves in the background must not outlive the run: a daemon kept
// alive after a "successful" install would run outside any timeout.
func TestBackgroundProcessesDieWithTheRun(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		b := newBox(t, m)
		marker := uniqueSleep(120)
		r := b.sh(nil, `(setsid sleep $1 >/dev/null 2>&1 &); nohup sleep $1 >/dev/null 2>&1 & echo done > bg.txt; exit 0`, marker)
		wantCode(t, r, 0, "a run that leaves daemons behind")
		if r.Elapsed > 20*time.Second {
			t.Errorf("the run took %v: it waited for its daemons", r.Elapsed)
		}
		waitNoProcs(t, marker, 3*time.Second)
		if !pathExists(filepath.Join(b.Project, "bg.txt")) {
			t.Errorf("twin: the run's own change was not synced")
		}
	})
}

// Kernel interfaces stay read-only or masked: a write that only echoes a value back
// is harmless even if it got through, and still proves the refusal.
func TestKernelInterfacesAreReadOnly(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		b := newBox(t, m)
		r := b.sh(nil, `v=$(cat /proc/sys/kernel/domainname) && printf '%s\n' "$v" > /proc/sys/kernel/domainname`)
		if r.Code == 0 {
			t.Errorf("/proc/sys is writable inside:\n%s", r)
		}
		r = b.sh(nil, `head -c 16 /proc/kcore | wc -c`)
		if r.Code == 0 && strings.TrimSpace(r.Stdout) != "0" {
			t.Errorf("/proc/kcore is readable inside:\n%s", r)
		}
		t.Run("twin: /proc/sys is readable", func(t *testing.T) {
			r := b.sh(nil, `cat /proc/sys/kernel/ostype`)
			wantCode(t, r, 0, "reading /proc/sys/kernel/ostype")
			if strings.TrimSpace(r.Stdout) != "Linux" {
				t.Errorf("ostype = %q", r.Stdout)
			}
		})
	})
}

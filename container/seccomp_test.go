package container_test

import (
	"context"
	"runtime"
	"strings"
	"testing"

	"github.com/phylum-box/phylum-box/container"
)

// sysPy calls syscall(nr, args...) through ctypes and prints "ret errno".
const sysPy = `import ctypes,sys
libc=ctypes.CDLL(None,use_errno=True)
libc.syscall.restype=ctypes.c_long
a=[ctypes.c_ulong(int(x,0)) for x in sys.argv[2:]]
r=libc.syscall(ctypes.c_long(int(sys.argv[1])),*a)
print(r, ctypes.get_errno())`

const ttyPy = `import os,pty,fcntl,termios,ctypes,sys
m,s=pty.openpty()
libc=ctypes.CDLL(None,use_errno=True)
req=int(sys.argv[1],0)
buf=ctypes.create_string_buffer(64)
r=libc.ioctl(s,ctypes.c_ulong(req),buf)
print(r, ctypes.get_errno())`

func TestSeccompRefusals(t *testing.T) {
	if !container.SeccompCompiled {
		t.Skip("built without -tags seccomp: no filter to test")
	}
	if runtime.GOARCH != "amd64" {
		t.Skip("syscall numbers below are x86_64's")
	}
	const eperm, enosys = "1", "38"
	b := newBox(t)
	for _, tc := range []struct {
		name      string
		py        string
		args      []string
		wantErrno string // "" = must succeed (ret >= 0)
	}{
		{"unshare(CLONE_NEWUSER)", sysPy, []string{"272", "0x10000000"}, eperm},
		{"unshare(CLONE_NEWNS)", sysPy, []string{"272", "0x20000"}, eperm},
		{"unshare(CLONE_NEWNET|CLONE_FILES)", sysPy, []string{"272", "0x40000400"}, eperm},
		{"twin: unshare(CLONE_FILES)", sysPy, []string{"272", "0x400"}, ""},
		{"clone(CLONE_NEWUSER)", sysPy, []string{"56", "0x10000011", "0", "0", "0", "0"}, eperm},
		{"clone3 is ENOSYS", sysPy, []string{"435", "0", "0"}, enosys},
		{"setns", sysPy, []string{"308", "0", "0"}, eperm},
		{"mount", sysPy, []string{"165", "0", "0", "0", "0", "0"}, eperm},
		{"umount2", sysPy, []string{"166", "0", "0"}, eperm},
		{"open_tree", sysPy, []string{"428", "0", "0", "0"}, eperm},
		{"fsopen", sysPy, []string{"430", "0", "0"}, eperm},
		{"keyctl(GET_KEYRING_ID)", sysPy, []string{"250", "0", "0xfffffffffffffffd", "1"}, eperm},
		{"add_key", sysPy, []string{"248", "0", "0", "0", "0", "0"}, eperm},
		{"bpf", sysPy, []string{"321", "0", "0", "0"}, eperm},
		{"perf_event_open", sysPy, []string{"298", "0", "0", "0", "0", "0"}, eperm},
		{"userfaultfd", sysPy, []string{"323", "0"}, eperm},
		{"ptrace(PTRACE_TRACEME)", sysPy, []string{"101", "0", "0", "0", "0"}, eperm},
		{"io_uring_setup", sysPy, []string{"425", "1", "0"}, eperm},
		{"twin: getpid", sysPy, []string{"39"}, ""},
		{"ioctl TIOCSTI", ttyPy, []string{"0x5412"}, eperm},
		{"ioctl TIOCSTI with high bits set", ttyPy, []string{"0x100005412"}, eperm},
		{"ioctl TIOCLINUX", ttyPy, []string{"0x541C"}, eperm},
		{"twin: ioctl TIOCGWINSZ", ttyPy, []string{"0x5413"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := b.run(context.Background(), nil, append([]string{"python3", "-c", tc.py}, tc.args...)...)
			f := strings.Fields(o.stdout)
			if o.ExitCode != 0 || len(f) != 2 {
				t.Fatalf("probe failed: exit %d stdout %q stderr %q", o.ExitCode, o.stdout, o.stderr)
			}
			if tc.wantErrno == "" {
				if strings.HasPrefix(f[0], "-") {
					t.Fatalf("legitimate call refused: ret %s errno %s", f[0], f[1])
				}
				return
			}
			if f[0] != "-1" || f[1] != tc.wantErrno {
				t.Fatalf("ret %s errno %s, want -1 errno %s", f[0], f[1], tc.wantErrno)
			}
		})
	}
	// Through real tools: the nested-namespace attack and its twin.
	for _, tc := range []struct {
		cmd string
		ok  bool
	}{
		{"unshare -Ur true", false},
		{"unshare -m true", false},
		{"python3 -c 'import threading; t=threading.Thread(target=print); t.start(); t.join()'", true}, // clone3 → clone fallback
		{"sh -c 'true & wait'", true},
	} {
		t.Run(tc.cmd, func(t *testing.T) {
			o := b.run(context.Background(), nil, "/bin/sh", "-c", tc.cmd)
			if (o.ExitCode == 0) != tc.ok {
				t.Fatalf("exit %d, want success=%v: %s", o.ExitCode, tc.ok, o.stderr)
			}
		})
	}
}

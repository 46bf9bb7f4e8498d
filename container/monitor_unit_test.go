package container

import (
	"encoding/binary"
	"fmt"
	"os"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Without a monitor the filter is exactly seccompProfile, with no listener and
// no notification anywhere.
func TestSpecWithoutMonitorKeepsTheProfile(t *testing.T) {
	id := &Identity{}
	sp := buildSpec(&Spec{Args: []string{"/bin/true"}, Rootfs: "/x"}, id, &limitPlan{}, true, "")
	if !reflect.DeepEqual(sp.Linux.Seccomp, seccompProfile()) {
		t.Fatal("the profile of a run without a monitor differs from seccompProfile()")
	}
	if sp.Linux.Seccomp.ListenerPath != "" {
		t.Fatalf("listener path %q without a monitor", sp.Linux.Seccomp.ListenerPath)
	}
	for _, r := range sp.Linux.Seccomp.Syscalls {
		if r.Action == specs.ActNotify {
			t.Fatalf("notify rule %v without a monitor", r.Names)
		}
	}
	sp = buildSpec(&Spec{Args: []string{"/bin/true"}, Rootfs: "/x"}, id, &limitPlan{}, true, "/proc/self/fd/9/s")
	if sp.Linux.Seccomp.ListenerPath != "/proc/self/fd/9/s" || !reflect.DeepEqual(sp.Linux.Seccomp.Syscalls, seccompProfileMonitored().Syscalls) {
		t.Fatal("a run with a monitor does not get seccompProfileMonitored with its listener")
	}
}

// Every refusal of seccompProfile is in seccompProfileMonitored with the same
// names and argument conditions, either as the same errno or as a
// notification (which the listener answers EPERM); no watched call also has a
// refusal, and no unconditional notification shares a call with a conditional
// rule (libseccomp would let it swallow them).
func TestMonitoredProfileKeepsEveryRefusal(t *testing.T) {
	plain, mon := seccompProfile(), seccompProfileMonitored()
	if mon.DefaultAction != plain.DefaultAction || !reflect.DeepEqual(mon.Architectures, plain.Architectures) {
		t.Fatal("default action or architectures changed")
	}
	type key struct {
		name string
		args string
	}
	argsOf := func(r specs.LinuxSyscall) string { return fmt.Sprint(r.Args) }
	monRules := map[key]specs.LinuxSyscall{}
	conditional := map[string]bool{}
	unconditional := map[string]bool{}
	for _, r := range mon.Syscalls {
		for _, n := range r.Names {
			monRules[key{n, argsOf(r)}] = r
			if len(r.Args) > 0 {
				conditional[n] = true
			} else {
				unconditional[n] = true
			}
		}
	}
	for n := range unconditional {
		if conditional[n] {
			t.Errorf("%s has an unconditional rule and conditional ones", n)
		}
	}
	for _, r := range plain.Syscalls {
		for _, n := range r.Names {
			m, ok := monRules[key{n, argsOf(r)}]
			switch {
			case !ok:
				t.Errorf("%s %v lost under the monitor", n, r.Args)
			case m.Action == specs.ActNotify:
				if *r.ErrnoRet != uint(unix.EPERM) {
					t.Errorf("%s refused with errno %d is notified (the listener answers EPERM)", n, *r.ErrnoRet)
				}
				if slices.Contains(monitorObserved, n) {
					t.Errorf("%s is both refused and watched", n)
				}
			case m.Action != r.Action || *m.ErrnoRet != *r.ErrnoRet:
				t.Errorf("%s: %s/%v under the monitor, %s/%d without", n, m.Action, m.ErrnoRet, r.Action, *r.ErrnoRet)
			}
		}
	}
	for _, n := range monitorUnwatched {
		if r, ok := monRules[key{n, argsOf(specs.LinuxSyscall{})}]; !ok || r.Action != specs.ActErrno {
			t.Errorf("%s is not a plain refusal under the monitor", n)
		}
	}
	for _, n := range monitorObserved {
		found := false
		for k, r := range monRules {
			if k.name == n && r.Action == specs.ActNotify {
				found = true
			}
		}
		if !found {
			t.Errorf("%s is not watched", n)
		}
	}
}

func sa(fam uint16, rest ...byte) []byte {
	b := make([]byte, 2, 2+len(rest))
	binary.NativeEndian.PutUint16(b, fam)
	return append(b, rest...)
}

func TestFormatSockaddr(t *testing.T) {
	v6 := append([]byte{0x01, 0xbb, 0, 0, 0, 0}, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0)
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"inet", sa(unix.AF_INET, 0x01, 0xbb, 203, 0, 113, 5, 0, 0, 0, 0, 0, 0, 0, 0), "203.0.113.5:443"},
		{"inet short", sa(unix.AF_INET, 0x01, 0xbb, 203), ""},
		{"inet6", sa(unix.AF_INET6, v6...), "[2001:db8::1]:443"},
		{"unix path", sa(unix.AF_UNIX, append([]byte("/run/x.sock"), 0, 'j', 'u', 'n', 'k')...), "unix:/run/x.sock"},
		{"unix abstract", sa(unix.AF_UNIX, append([]byte{0}, "dbus\x00x"...)...), "unix:@dbus@x"},
		{"unix unnamed", sa(unix.AF_UNIX), "unix:"},
		{"netlink", sa(unix.AF_NETLINK, 0, 0, 0, 0), "netlink"},
		{"other", sa(unix.AF_PACKET, 0, 0), "family 17"},
		{"too short", []byte{2}, ""},
		{"nothing", nil, ""},
	} {
		if got := formatSockaddr(tc.in); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestPickEnv(t *testing.T) {
	env := []byte("PATH=/bin\x00npm_package_name=evil\x00npm_package_name_x=no\x00CARGO_PKG_NAME=a=b\x00broken\x00")
	got := pickEnv(env, []string{"npm_package_name", "CARGO_PKG_NAME", "MISSING"})
	want := map[string]string{"npm_package_name": "evil", "CARGO_PKG_NAME": "a=b"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%v, want %v", got, want)
	}
	if pickEnv(env, nil) != nil {
		t.Fatal("no keys asked, some returned")
	}
}

func TestThreadGroup(t *testing.T) {
	if got := threadGroup(os.Getpid()); got != os.Getpid() {
		t.Fatalf("threadGroup(pid) = %d, want %d", got, os.Getpid())
	}
	// A thread other than the leader: pidfd_open refuses it, status answers.
	tids := make(chan int)
	release := make(chan struct{})
	for i := 0; i < 4; i++ {
		go func() {
			runtime.LockOSThread()
			tids <- unix.Gettid()
			<-release
		}()
	}
	defer close(release)
	for i := 0; i < 4; i++ {
		tid := <-tids
		if tid == os.Getpid() {
			continue
		}
		if got := threadGroup(tid); got != os.Getpid() {
			t.Fatalf("threadGroup(%d) = %d, want %d", tid, got, os.Getpid())
		}
		return
	}
	t.Skip("no thread other than the leader to test")
}

// procMemory against this process's own memory: short and long strings,
// argv arrays, the 4 KiB cut, and a read running into an unmapped page.
func TestProcMemory(t *testing.T) {
	m := &procMemory{tid: os.Getpid(), ptr: 8}
	if runtime.GOARCH == "386" || runtime.GOARCH == "arm" {
		m.ptr = 4
	}
	cstr := func(s string) []byte { return append([]byte(s), 0) }
	addr := func(b []byte) uint64 { return uint64(uintptr(unsafe.Pointer(&b[0]))) }

	short, long, huge := cstr("/bin/true"), cstr(strings.Repeat("a", 300)), cstr(strings.Repeat("b", 5000))
	if s, ok := m.cstring(addr(short), monitorMaxArg); !ok || s != "/bin/true" {
		t.Errorf("short: %q %v", s, ok)
	}
	if s, _ := m.cstring(addr(long), monitorMaxArg); s != string(long[:300]) {
		t.Errorf("long: %d bytes", len(s))
	}
	if s, _ := m.cstring(addr(huge), monitorMaxArg); len(s) != monitorMaxArg {
		t.Errorf("huge: %d bytes, want the %d cut", len(s), monitorMaxArg)
	}
	if _, ok := m.cstring(0, 10); ok {
		t.Error("NULL read")
	}

	ptrs := make([]byte, 4*m.ptr)
	for i, p := range []uint64{addr(short), addr(long), 0} {
		if m.ptr == 4 {
			binary.NativeEndian.PutUint32(ptrs[i*4:], uint32(p))
		} else {
			binary.NativeEndian.PutUint64(ptrs[i*8:], p)
		}
	}
	if got := m.argv(addr(ptrs)); len(got) != 2 || got[0] != "/bin/true" || len(got[1]) != 300 {
		t.Errorf("argv %q", got)
	}

	// A string running into an unreadable page: what is there is returned.
	page := os.Getpagesize()
	mem, err := unix.Mmap(-1, 0, 2*page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(mem)
	if err := unix.Mprotect(mem[page:], unix.PROT_NONE); err != nil {
		t.Fatal(err)
	}
	copy(mem[page-5:page], "tail!")
	if s, ok := m.cstring(addr(mem[page-5:page]), monitorMaxArg); !ok || s != "tail!" {
		t.Errorf("string at the end of a mapping: %q %v", s, ok)
	}
	runtime.KeepAlive(short)
	runtime.KeepAlive(long)
	runtime.KeepAlive(huge)
	runtime.KeepAlive(ptrs)
}

func TestExecEnv(t *testing.T) {
	m := &procMemory{tid: os.Getpid(), ptr: 8}
	if runtime.GOARCH == "386" || runtime.GOARCH == "arm" {
		m.ptr = 4
	}
	strs := [][]byte{[]byte("PATH=/bin\x00"), []byte("npm_package_name=@scope/evil\x00"), []byte("CARGO_PKG_NAME=" + strings.Repeat("x", 400) + "\x00")}
	ptrs := make([]byte, (len(strs)+1)*m.ptr)
	for i, s := range strs {
		p := uint64(uintptr(unsafe.Pointer(&s[0])))
		if m.ptr == 4 {
			binary.NativeEndian.PutUint32(ptrs[i*4:], uint32(p))
		} else {
			binary.NativeEndian.PutUint64(ptrs[i*8:], p)
		}
	}
	got := m.execEnv(uint64(uintptr(unsafe.Pointer(&ptrs[0]))), []string{"npm_package_name", "CARGO_PKG_NAME", "MISSING"})
	if got["npm_package_name"] != "@scope/evil" || len(got["CARGO_PKG_NAME"]) != monitorEnvpEntry-len("CARGO_PKG_NAME=") || len(got) != 2 {
		t.Fatalf("exec env %v", got)
	}
	if m.execEnv(0, []string{"x"}) != nil || m.execEnv(1, nil) != nil {
		t.Fatal("exec env from nothing")
	}
	runtime.KeepAlive(strs)
	runtime.KeepAlive(ptrs)
}

// execEnv with strings at the very end of a mapping (a fresh process's stack
// top) and across a page boundary: all read.
func TestExecEnvPageEdges(t *testing.T) {
	m := &procMemory{tid: os.Getpid(), ptr: 8}
	if runtime.GOARCH == "386" || runtime.GOARCH == "arm" {
		m.ptr = 4
	}
	page := os.Getpagesize()
	mem, err := unix.Mmap(-1, 0, 3*page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(mem)
	if err := unix.Mprotect(mem[2*page:], unix.PROT_NONE); err != nil {
		t.Fatal(err)
	}
	top := "npm_package_name=top\x00"
	copy(mem[2*page-len(top):], top)
	cross := "CARGO_PKG_NAME=crossing\x00"
	copy(mem[page-10:], cross)
	heap := []byte("X_KEY=1\x00")
	addrs := []uint64{
		uint64(uintptr(unsafe.Pointer(&mem[2*page-len(top)]))),
		uint64(uintptr(unsafe.Pointer(&mem[page-10]))),
		uint64(uintptr(unsafe.Pointer(&heap[0]))),
	}
	ptrs := make([]byte, (len(addrs)+1)*m.ptr)
	for i, p := range addrs {
		if m.ptr == 4 {
			binary.NativeEndian.PutUint32(ptrs[i*4:], uint32(p))
		} else {
			binary.NativeEndian.PutUint64(ptrs[i*8:], p)
		}
	}
	got := m.execEnv(uint64(uintptr(unsafe.Pointer(&ptrs[0]))), []string{"npm_package_name", "CARGO_PKG_NAME", "X_KEY"})
	want := map[string]string{"npm_package_name": "top", "CARGO_PKG_NAME": "crossing", "X_KEY": "1"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%v, want %v", got, want)
	}
	runtime.KeepAlive(heap)
	runtime.KeepAlive(ptrs)
}

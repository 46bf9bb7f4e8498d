package container

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Caps on what the monitor reads from a watched process: everything it reads
// is chosen by the process, so every read is bounded.
const (
	monitorMaxArgs    = 64
	monitorMaxArg     = 4096
	monitorMaxSockLen = 128 // sizeof(struct sockaddr_storage)
	monitorMaxEnviron = 256 << 10
	monitorMaxStatus  = 4096
	monitorMaxEnvp    = 512 // entries of an execve envp searched for EnvKeys
	monitorEnvpEntry  = 256 // bytes read of each
)

// procMemory reads a stopped thread's memory (process_vm_readv: one system
// call a read, nothing to open). The caller checks the notification is still
// valid after reading: until then the thread may be gone and its pid reused.
type procMemory struct {
	tid int
	// ptr is the size of a pointer in the calling ABI: 4 for i386, x32 and
	// arm, 8 otherwise.
	ptr int
}

// read returns up to n bytes at addr; fewer when the range runs into an
// unmapped page.
func (m *procMemory) read(addr uint64, n int) []byte {
	if addr == 0 || n <= 0 || addr > 1<<63 {
		return nil
	}
	b := make([]byte, n)
	local := unix.Iovec{Base: &b[0]}
	local.SetLen(n)
	k, _ := unix.ProcessVMReadv(m.tid, []unix.Iovec{local}, []unix.RemoteIovec{{Base: uintptr(addr), Len: n}}, 0)
	if k <= 0 {
		return nil
	}
	return b[:k]
}

// cstring reads the NUL-terminated string at addr, cut at max bytes. Most
// strings are short: a small first read saves copying a page for each.
func (m *procMemory) cstring(addr uint64, max int) (string, bool) {
	first := min(max, 256)
	b := m.read(addr, first)
	if b == nil {
		return "", false
	}
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return string(b[:i]), true
	}
	if len(b) == first && max > first {
		b = append(b, m.read(addr+uint64(first), max-first)...)
		if i := bytes.IndexByte(b, 0); i >= 0 {
			b = b[:i]
		}
	}
	return string(b), true
}

func (m *procMemory) decodeWord(b []byte) uint64 {
	if m.ptr == 4 {
		return uint64(binary.NativeEndian.Uint32(b))
	}
	return binary.NativeEndian.Uint64(b)
}

// argv reads a NULL-terminated array of string pointers (execve's argv), at
// most monitorMaxArgs strings each cut at monitorMaxArg bytes.
func (m *procMemory) argv(addr uint64) []string {
	if addr == 0 {
		return nil
	}
	raw := m.read(addr, (monitorMaxArgs+1)*m.ptr)
	var out []string
	for i := 0; i+m.ptr <= len(raw) && len(out) < monitorMaxArgs; i += m.ptr {
		p := m.decodeWord(raw[i : i+m.ptr])
		if p == 0 {
			break
		}
		s, ok := m.cstring(p, monitorMaxArg)
		if !ok {
			break
		}
		out = append(out, s)
	}
	return out
}

// execEnv picks keys out of the NULL-terminated envp array at addr (the
// environment execve gives the new program): at most monitorMaxEnvp entries,
// each read in one batch of monitorEnvpEntry bytes, so a value is cut there.
func (m *procMemory) execEnv(addr uint64, keys []string) map[string]string {
	if addr == 0 || len(keys) == 0 {
		return nil
	}
	raw := m.read(addr, monitorMaxEnvp*m.ptr)
	var ptrs []uint64
	for i := 0; i+m.ptr <= len(raw); i += m.ptr {
		p := m.decodeWord(raw[i : i+m.ptr])
		if p == 0 {
			break
		}
		ptrs = append(ptrs, p)
	}
	if len(ptrs) == 0 {
		return nil
	}
	// One system call for every string. The kernel stops at the first range
	// it cannot read, and the strings of a fresh process sit at the very top
	// of its stack: no range crosses a page boundary, and the rare string cut
	// by one is finished by a read of its own.
	page := uint64(os.Getpagesize())
	remote := make([]unix.RemoteIovec, len(ptrs))
	total := 0
	for i, p := range ptrs {
		n := min(monitorEnvpEntry, int(page-p%page))
		remote[i] = unix.RemoteIovec{Base: uintptr(p), Len: n}
		total += n
	}
	buf := make([]byte, total)
	local := unix.Iovec{Base: &buf[0]}
	local.SetLen(total)
	n, _ := unix.ProcessVMReadv(m.tid, []unix.Iovec{local}, remote, 0)
	var env []byte
	off := 0
	for i, r := range remote {
		if off+r.Len > n {
			break // this range and the ones after it were not read
		}
		e := buf[off : off+r.Len]
		off += r.Len
		if j := bytes.IndexByte(e, 0); j >= 0 {
			e = e[:j]
		} else if r.Len < monitorEnvpEntry {
			rest, _ := m.cstring(ptrs[i]+uint64(r.Len), monitorEnvpEntry-r.Len)
			e = append(e[:len(e):len(e)], rest...)
		}
		env = append(append(env, e...), 0)
	}
	return pickEnv(env, keys)
}

// sockaddr reads and formats the socket address of n bytes at addr.
func (m *procMemory) sockaddr(addr, n uint64) string {
	if addr == 0 || n < 2 {
		return ""
	}
	return formatSockaddr(m.read(addr, int(min(n, monitorMaxSockLen))))
}

// formatSockaddr renders a struct sockaddr the way SyscallEvent.Addr documents.
func formatSockaddr(b []byte) string {
	if len(b) < 2 {
		return ""
	}
	fam := binary.NativeEndian.Uint16(b)
	switch fam {
	case unix.AF_INET:
		if len(b) < 8 {
			return ""
		}
		ip := netip.AddrFrom4([4]byte(b[4:8]))
		return netip.AddrPortFrom(ip, binary.BigEndian.Uint16(b[2:4])).String()
	case unix.AF_INET6:
		if len(b) < 24 {
			return ""
		}
		ip := netip.AddrFrom16([16]byte(b[8:24]))
		return netip.AddrPortFrom(ip, binary.BigEndian.Uint16(b[2:4])).String()
	case unix.AF_UNIX:
		p := b[2:]
		if len(p) == 0 {
			return "unix:" // unnamed (autobind)
		}
		if p[0] == 0 {
			// Abstract: the name is every byte of the length given, NULs
			// included; print them as @ the way ss does.
			return "unix:@" + strings.ReplaceAll(string(p[1:]), "\x00", "@")
		}
		if i := bytes.IndexByte(p, 0); i >= 0 {
			p = p[:i]
		}
		return "unix:" + string(p)
	case unix.AF_NETLINK:
		return "netlink"
	}
	return fmt.Sprintf("family %d", fam)
}

// threadGroup is the pid of the process thread tid belongs to (tid itself
// when /proc says nothing).
func threadGroup(tid int) int {
	// pidfd_open takes only a thread-group leader: when it works, tid is the
	// process (the common case, and ten times cheaper than formatting status).
	if fd, err := unix.PidfdOpen(tid, 0); err == nil {
		unix.Close(fd)
		return tid
	}
	b := readCapped("/proc/"+strconv.Itoa(tid)+"/status", monitorMaxStatus)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Tgid:"); ok {
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
				return n
			}
		}
	}
	return tid
}

// environKeys picks keys out of /proc/TID/environ. The process can rewrite
// that block, so this is attribution, not proof.
func environKeys(tid int, keys []string) map[string]string {
	if len(keys) == 0 {
		return nil
	}
	b := readCapped("/proc/"+strconv.Itoa(tid)+"/environ", monitorMaxEnviron)
	return pickEnv(b, keys)
}

func pickEnv(environ []byte, keys []string) map[string]string {
	var out map[string]string
	for _, kv := range bytes.Split(environ, []byte{0}) {
		k, v, ok := bytes.Cut(kv, []byte{'='})
		if !ok {
			continue
		}
		for _, want := range keys {
			if string(k) == want {
				if out == nil {
					out = map[string]string{}
				}
				out[want] = string(v)
			}
		}
	}
	return out
}

func readCapped(path string, max int) []byte {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	b, _ := io.ReadAll(io.LimitReader(f, int64(max)))
	return b
}

// procLink reads a /proc/TID link (cwd, exe, fd/N). The kernel prints it
// relative to the process's own root when ours is not above it, which is the
// path as seen inside the container.
func procLink(tid int, name string) string {
	s, _ := os.Readlink("/proc/" + strconv.Itoa(tid) + "/" + name)
	return s
}

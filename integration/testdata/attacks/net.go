package main

// The network workloads: dial, serve, answer and resolve DNS.

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// cmdConnect dials a TCP address and prints the first line the server sends.
func cmdConnect(a []string) error { return dialAndPrint("tcp", a[0]) }

// cmdConnectUnix dials a unix socket; a leading "@" names an abstract socket.
func cmdConnectUnix(a []string) error { return dialAndPrint("unix", a[0]) }

// dialAndPrint dials addr and prints the first line the server sends.
func dialAndPrint(network, addr string) error {
	c, err := net.DialTimeout(network, addr, 3*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	fmt.Print(line)
	return nil
}

// cmdServe answers every TCP connection with TOKEN and prints "ready" once listening,
// so a test can start it inside a network namespace and wait for it.
func cmdServe(a []string) error {
	l, err := net.Listen("tcp", a[0])
	if err != nil {
		return err
	}
	fmt.Println("ready")
	for {
		c, err := l.Accept()
		if err != nil {
			return err
		}
		fmt.Fprintln(c, a[1])
		c.Close()
	}
}

// cmdDNSServe answers A queries for NAME with IP over UDP on ADDR.
func cmdDNSServe(a []string) error {
	pc, err := net.ListenPacket("udp", a[0])
	if err != nil {
		return err
	}
	fmt.Println("ready")
	return ServeDNS(pc, a[1], a[2])
}

// ServeDNS is a minimal authoritative responder: enough for a stub resolver to get
// one A record, so DNS can be tested without leaving loopback.
func ServeDNS(pc net.PacketConn, name, ip string) error {
	want := dnsmessage.MustNewName(strings.TrimSuffix(name, ".") + ".")
	addr := net.ParseIP(ip).To4()
	buf := make([]byte, 1500)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return err
		}
		var p dnsmessage.Parser
		h, err := p.Start(buf[:n])
		if err != nil {
			continue
		}
		q, err := p.Question()
		if err != nil {
			continue
		}
		rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true}
		b := dnsmessage.NewBuilder(nil, rh)
		b.EnableCompression()
		_ = b.StartQuestions()
		_ = b.Question(q)
		_ = b.StartAnswers()
		if q.Name.String() == want.String() && q.Type == dnsmessage.TypeA {
			_ = b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60},
				dnsmessage.AResource{A: [4]byte(addr)})
		}
		out, err := b.Finish()
		if err == nil {
			_, _ = pc.WriteTo(out, from)
		}
	}
}

// cmdDNS resolves NAME through the DNS server at SERVER (host:port) only.
func cmdDNS(a []string) error {
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", a[0])
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	ips, err := r.LookupHost(ctx, a[1])
	if err != nil {
		return err
	}
	fmt.Println(strings.Join(ips, " "))
	return nil
}

// cmdResolve uses the system configuration (/etc/hosts, /etc/resolv.conf).
func cmdResolve(a []string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupHost(ctx, a[0])
	if err != nil {
		return err
	}
	fmt.Println(strings.Join(ips, " "))
	return nil
}

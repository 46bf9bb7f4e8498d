package integration

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tcpServer listens on the host's 127.0.0.1 and answers each connection with token.
func tcpServer(t testing.TB, token string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go serveToken(l, token)
	return l.Addr().String()
}

func serveToken(l net.Listener, token string) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		fmt.Fprintln(c, token)
		c.Close()
	}
}

func TestNetworkIsOffByDefault(t *testing.T) {
	t.Parallel()
	forEachMode(t, func(t *testing.T, m mode) {
		b := newBox(t, m)
		token := "pbox-it-tcp-" + b.Mark
		addr := tcpServer(t, token)
		// The same connection from the host works: the server is really there.
		if c, err := net.DialTimeout("tcp", addr, time.Second); err != nil {
			t.Fatalf("host cannot reach its own test server: %v", err)
		} else {
			c.Close()
		}
		t.Run("TCP to the host's 127.0.0.1", func(t *testing.T) {
			r := b.attack(nil, "connect", addr)
			wantRefused(t, r, "connecting to "+addr)
			if strings.Contains(r.Stdout, token) {
				t.Fatal("reached the host's listener")
			}
		})
		t.Run("abstract unix socket of the host", func(t *testing.T) {
			// Abstract sockets belong to the network namespace: X11, D-Bus and
			// friends listen there.
			name := "@pbox-it-" + b.Mark
			l, err := net.Listen("unix", name)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			go serveToken(l, token)
			wantRefused(t, b.attack(nil, "connect-unix", name), "connecting to "+name)
		})
		t.Run("unix socket in $HOME (an ssh agent)", func(t *testing.T) {
			sock := filepath.Join(b.Home, ".ssh", "agent.sock")
			l, err := net.Listen("unix", sock)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if err := os.Chown(sock, m.uid(), m.gid()); err != nil && suite.isRoot {
				t.Fatal(err)
			}
			go serveToken(l, token)
			wantRefused(t, b.attack(nil, "connect-unix", sock), "connecting to the caller's agent socket")
		})
		t.Run("DNS through a server on the host's 127.0.0.1", func(t *testing.T) {
			dnsAddr := fmt.Sprintf("127.0.0.1:%d", 20000+rand.IntN(20000))
			startInNetns(t, "", "dnsserve", dnsAddr, "secret.pbox-it.test", "10.11.12.13")
			// The server answers the host.
			if out, err := exec.Command(suite.attack, "dns", dnsAddr, "secret.pbox-it.test").Output(); err != nil || strings.TrimSpace(string(out)) != "10.11.12.13" {
				t.Fatalf("the host's own query to the test DNS server failed: %q %v", out, err)
			}
			r := b.attack(nil, "dns", dnsAddr, "secret.pbox-it.test")
			wantRefused(t, r, "resolving through the host's loopback DNS server")
		})
		t.Run("DNS through the system resolver", func(t *testing.T) {
			wantRefused(t, b.attack(nil, "resolve", "registry.npmjs.org"), "resolving a public name")
		})
		t.Run("twin: the container's own loopback works", func(t *testing.T) {
			port := 20000 + rand.IntN(20000)
			r := b.sh(nil, `./attacks serve 127.0.0.1:$1 inner-token >/dev/null 2>&1 & srv=$!; sleep 0.5; ./attacks connect 127.0.0.1:$1; rc=$?; kill $srv; exit $rc`, fmt.Sprint(port))
			wantCode(t, r, 0, "a server and a client on the container's loopback")
			if strings.TrimSpace(r.Stdout) != "inner-token" {
				t.Errorf("got %q from the container's own server", r.Stdout)
			}
		})
		t.Run("twin: localhost resolves from /etc/hosts", func(t *testing.T) {
			wantCode(t, b.attack(nil, "resolve", "localhost"), 0, "resolving localhost")
		})
	})
}

// --network shares the caller's network namespace. The test makes that namespace a
// fresh one of its own (ip netns), with a TCP and a DNS server on its loopback, so no
// traffic leaves it.
func TestNetworkFlagReachesLoopbackServer(t *testing.T) {
	t.Parallel()
	forEachMode(t, func(t *testing.T, m mode) {
		ns := newNetns(t)
		b := newBox(t, m)
		port := 20000 + rand.IntN(20000)
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		dnsAddr := fmt.Sprintf("127.0.0.1:%d", port+1)
		token := "pbox-it-netns-" + b.Mark
		startInNetns(t, ns, "serve", addr, token)
		startInNetns(t, ns, "dnsserve", dnsAddr, "pkg.pbox-it.test", "10.11.12.13")
		run := func(flags []string, args ...string) result {
			inv := b.invoke(flags, append([]string{"./attacks"}, args...))
			inv.Prefix = netnsPrefix(ns)
			return inv.exec(t)
		}
		t.Run("with --network", func(t *testing.T) {
			r := run([]string{"--network"}, "connect", addr)
			wantCode(t, r, 0, "connecting with --network")
			if strings.TrimSpace(r.Stdout) != token {
				t.Errorf("want %q from the server, got\n%s", token, r)
			}
			r = run([]string{"--network"}, "dns", dnsAddr, "pkg.pbox-it.test")
			wantCode(t, r, 0, "resolving with --network")
			if strings.TrimSpace(r.Stdout) != "10.11.12.13" {
				t.Errorf("want 10.11.12.13, got\n%s", r)
			}
		})
		t.Run("without --network, same namespace", func(t *testing.T) {
			wantRefused(t, run(nil, "connect", addr), "connecting without --network")
			wantRefused(t, run(nil, "dns", dnsAddr, "pkg.pbox-it.test"), "resolving without --network")
		})
	})
}

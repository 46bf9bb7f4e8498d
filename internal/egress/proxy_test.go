package egress

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

func startProxy(t *testing.T, o Options) *Proxy {
	t.Helper()
	o.Dir = t.TempDir()
	p, err := Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// client talks to the proxy's unix socket as a proxy-aware HTTP client does.
func client(p *Proxy, tlsConf *tls.Config) *http.Client {
	tr := &http.Transport{
		Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: "proxy.invalid:1"}),
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", p.Socket())
		},
		TLSClientConfig: tlsConf,
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// raw sends one request line and headers on a fresh socket connection and returns
// the response.
func raw(t *testing.T, p *Proxy, req string) (*http.Response, net.Conn) {
	t.Helper()
	c, err := net.Dial("unix", p.Socket())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("%q: %v", req, err)
	}
	return resp, c
}

func hostPort(t *testing.T, rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

func TestAllowedTLSThroughConnect(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "index over tls")
	}))
	defer srv.Close()
	p := startProxy(t, Options{Allow: []string{hostPort(t, srv.URL)}})
	resp, err := client(p, srv.Client().Transport.(*http.Transport).TLSClientConfig).Get(srv.URL + "/simple/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "index over tls" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	if r := p.Refused(); len(r) != 0 {
		t.Errorf("refused %v", r)
	}
}

func TestAllowedPlainGetForwarded(t *testing.T) {
	var gotHost, gotProxyAuth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotHost, gotProxyAuth = r.Host, r.Header.Get("Proxy-Authorization")
		w.Header().Set("X-Index", "yes")
		fmt.Fprint(w, "plain index "+r.URL.RequestURI())
	}))
	defer srv.Close()
	p := startProxy(t, Options{Allow: []string{hostPort(t, srv.URL)}})
	resp, c := raw(t, p, "GET "+srv.URL+"/simple/pkg/?x=1 HTTP/1.1\r\nHost: evil.example\r\nProxy-Authorization: Basic eDp5\r\n\r\n")
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != 200 || string(body) != "plain index /simple/pkg/?x=1" || resp.Header.Get("X-Index") != "yes" {
		t.Fatalf("got %d %q %v", resp.StatusCode, body, resp.Header)
	}
	if gotHost != hostPort(t, srv.URL) {
		t.Errorf("the server saw Host %q, want the URL's host (a Host header cannot redirect the request)", gotHost)
	}
	if gotProxyAuth != "" {
		t.Errorf("Proxy-Authorization was forwarded: %q", gotProxyAuth)
	}
	// Keep-alive: a second request on the same client connection works.
	if _, err := io.WriteString(c, "HEAD "+srv.URL+"/again HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp2, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: "HEAD"})
	if err != nil || resp2.StatusCode != 200 {
		t.Fatalf("second request: %v %v", resp2, err)
	}
}

func TestDisallowedDestinationsRefusedAndRecorded(t *testing.T) {
	hit := make(chan string, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hit <- r.URL.Path }))
	defer srv.Close()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hit <- "other " + r.URL.Path }))
	defer other.Close()
	allowed := hostPort(t, srv.URL)
	host, _, _ := net.SplitHostPort(allowed)
	p := startProxy(t, Options{Allow: []string{allowed}})
	otherHP := hostPort(t, other.URL)
	_, otherPort, _ := net.SplitHostPort(otherHP)

	cases := []struct{ name, req, refused string }{
		{"plain GET to another port of the allowed host", "GET " + other.URL + "/steal HTTP/1.1\r\nHost: " + otherHP + "\r\n\r\n", otherHP},
		{"CONNECT to another port of the allowed host", "CONNECT " + otherHP + " HTTP/1.1\r\nHost: " + otherHP + "\r\n\r\n", otherHP},
		{"CONNECT to another host", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", "example.com:443"},
		{"CONNECT with the allowed host in the Host header", "CONNECT " + otherHP + " HTTP/1.1\r\nHost: " + allowed + "\r\n\r\n", otherHP},
		{"IPv6 loopback literal", "CONNECT [::1]:" + otherPort + " HTTP/1.1\r\nHost: x\r\n\r\n", "[::1]:" + otherPort},
		{"IPv4-mapped IPv6 spelling of another port", "CONNECT [::ffff:" + host + "]:" + otherPort + " HTTP/1.1\r\nHost: x\r\n\r\n", net.JoinHostPort(host, otherPort)},
		{"decimal IP spelling", "CONNECT 2130706433:" + otherPort + " HTTP/1.1\r\nHost: x\r\n\r\n", "2130706433:" + otherPort},
		{"plain GET, default port", "GET http://example.com/x HTTP/1.1\r\nHost: example.com\r\n\r\n", "example.com:80"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, _ := raw(t, p, c.req)
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("got %d, want 403", resp.StatusCode)
			}
			if !slices.Contains(p.Refused(), c.refused) {
				t.Errorf("Refused() = %v, want it to name %s", p.Refused(), c.refused)
			}
		})
	}
	select {
	case h := <-hit:
		t.Errorf("a refused request reached a server: %s", h)
	default:
	}
}

func TestMalformedRequests(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	allowed := hostPort(t, srv.URL)
	p := startProxy(t, Options{Allow: []string{allowed}})
	cases := []struct {
		name, req string
		want      int
	}{
		{"origin-form request", "GET /simple/ HTTP/1.1\r\nHost: " + allowed + "\r\n\r\n", 400},
		{"https URL in absolute form", "GET https://" + allowed + "/ HTTP/1.1\r\nHost: " + allowed + "\r\n\r\n", 400},
		{"POST to an allowed server", "POST " + srv.URL + "/upload HTTP/1.1\r\nHost: " + allowed + "\r\nContent-Length: 4\r\n\r\nloot", 405},
		{"CONNECT without a port", "CONNECT " + strings.Split(allowed, ":")[0] + " HTTP/1.1\r\nHost: x\r\n\r\n", 403},
		{"CONNECT with a path", "CONNECT /" + allowed + " HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"CONNECT with userinfo", "CONNECT " + allowed + "@example.com:443 HTTP/1.1\r\nHost: x\r\n\r\n", 403},
		{"CONNECT to port 0", "CONNECT example.com:0 HTTP/1.1\r\nHost: x\r\n\r\n", 403},
		{"garbage", "\x16\x03\x01 hello\r\n\r\n", 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, _ := raw(t, p, c.req)
			if resp.StatusCode != c.want {
				t.Fatalf("got %d, want %d", resp.StatusCode, c.want)
			}
		})
	}
}

func TestRedirectsGoBackToTheClient(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://example.com:8080/loot", http.StatusFound)
	}))
	defer srv.Close()
	p := startProxy(t, Options{Allow: []string{hostPort(t, srv.URL)}})
	resp, _ := raw(t, p, "GET "+srv.URL+"/x HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("got %d: the proxy must not follow redirects itself", resp.StatusCode)
	}
	resp, _ = raw(t, p, "GET http://example.com:8080/loot HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("following the redirect: got %d, want 403", resp.StatusCode)
	}
}

// A name in the allowlist that resolves to loopback (DNS rebinding, or a hostile
// resolver) must not reach the host's loopback services.
func TestNameResolvingToLoopbackRefused(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "host service") }))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(hostPort(t, srv.URL))
	lookup := func(ctx context.Context, host string) ([]net.IP, error) {
		switch host {
		case "index.example", "localhost":
			return []net.IP{net.ParseIP("127.0.0.1")}, nil
		case "meta.example":
			return []net.IP{net.ParseIP("169.254.169.254"), net.ParseIP("::1")}, nil
		}
		return nil, errors.New("no such host")
	}
	p := startProxy(t, Options{Allow: []string{"index.example:" + port, "meta.example:" + port, "localhost:" + port}, LookupIP: lookup})
	for _, h := range []string{"index.example", "meta.example"} {
		resp, _ := raw(t, p, "CONNECT "+h+":"+port+" HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: got %d, want 403", h, resp.StatusCode)
		}
		resp, _ = raw(t, p, "GET http://"+h+":"+port+"/ HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s plain: got %d, want 403", h, resp.StatusCode)
		}
	}
	refused := strings.Join(p.Refused(), "\n")
	if !strings.Contains(refused, "index.example resolves to 127.0.0.1") || !strings.Contains(refused, "169.254.169.254") {
		t.Errorf("Refused() = %v", p.Refused())
	}
	// localhost itself may be loopback: the user named it.
	resp, _ := raw(t, p, "GET http://localhost:"+port+"/ HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp.StatusCode != 200 {
		t.Errorf("localhost: got %d", resp.StatusCode)
	}
}

func TestCanonical(t *testing.T) {
	for in, want := range map[string]string{
		"PyPI.org:443": "pypi.org:443", "pypi.org.:0443": "pypi.org:443", "[::FFFF:127.0.0.1]:80": "127.0.0.1:80",
		"[0:0::1]:8080": "[::1]:8080",
	} {
		if got, err := Canonical(in); err != nil || got != want {
			t.Errorf("Canonical(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"pypi.org", "pypi.org:", "pypi.org:65536", "pypi.org:-1", "pypi.org:+1", ":443", "a@b:443", "a/b:443", "a b:80"} {
		if got, err := Canonical(bad); err == nil {
			t.Errorf("Canonical(%q) = %q, want an error", bad, got)
		}
	}
	if _, err := Start(Options{Allow: []string{"no-port"}, Dir: t.TempDir()}); err == nil {
		t.Error("Start accepted an allowlist entry without a port")
	}
	if _, err := Start(Options{Dir: t.TempDir()}); err == nil {
		t.Error("Start accepted an empty allowlist")
	}
}

// tcpEcho is a server that echoes lines, to hold a tunnel open.
func tcpEcho(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(c, c) }()
		}
	}()
	return ln.Addr().String()
}

func openTunnel(t *testing.T, p *Proxy, dest string) net.Conn {
	t.Helper()
	resp, c := raw(t, p, "CONNECT "+dest+" HTTP/1.1\r\nHost: "+dest+"\r\n\r\n")
	if resp.StatusCode != 200 {
		t.Fatalf("CONNECT %s: %d", dest, resp.StatusCode)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "ping\n"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping\n" {
		t.Fatalf("tunnel echo: %q %v", buf, err)
	}
	return c
}

func TestCloseEndsTunnelsAndRemovesTheSocket(t *testing.T) {
	echo := tcpEcho(t)
	p := startProxy(t, Options{Allow: []string{echo}})
	c := openTunnel(t, p, echo)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatalf("the tunnel outlived Close (read %d bytes)", n)
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the tunnel is still open after Close")
	}
	if _, err := os.Stat(p.Dir()); !os.IsNotExist(err) {
		t.Errorf("the socket dir is still there: %v", err)
	}
	if _, err := net.Dial("unix", p.Socket()); err == nil {
		t.Error("the socket still accepts")
	}
}

func TestIdleTunnelClosed(t *testing.T) {
	echo := tcpEcho(t)
	p := startProxy(t, Options{Allow: []string{echo}, IdleTimeout: 300 * time.Millisecond})
	c := openTunnel(t, p, echo)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("read data from an idle tunnel")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("an idle tunnel was not closed")
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("closed after %v, before the idle timeout", d)
	}
}

func TestConnectionLimit(t *testing.T) {
	echo := tcpEcho(t)
	p := startProxy(t, Options{Allow: []string{echo}, MaxConns: 1})
	first := openTunnel(t, p, echo)
	// The second client waits: no answer while the first holds the only slot.
	c, err := net.Dial("unix", p.Socket())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "CONNECT "+echo+" HTTP/1.1\r\nHost: x\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := c.Read(make([]byte, 1)); err == nil || n > 0 {
		t.Fatal("a connection over the limit was served")
	}
	first.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("after the first closed: %v %v", resp, err)
	}
}

package egress

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
)

// upstreamSeen is one request an upstream proxy received.
type upstreamSeen struct{ method, target, auth string }

// testUpstream is the user's own proxy (a corporate proxy, a local cntlm) on
// 127.0.0.1: it records every connection and request, tunnels CONNECT to the
// address routes maps the target to, and answers plain requests itself.
type testUpstream struct {
	addr   string
	routes map[string]string
	want   string // the Proxy-Authorization to insist on ("": none)

	mu    sync.Mutex
	conns int
	seen  []upstreamSeen
}

func startUpstream(t *testing.T, tlsConf *tls.Config, routes map[string]string, wantAuth string) *testUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if tlsConf != nil {
		ln = tls.NewListener(ln, tlsConf)
	}
	t.Cleanup(func() { ln.Close() })
	u := &testUpstream{addr: ln.Addr().String(), routes: routes, want: wantAuth}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u.mu.Lock()
			u.conns++
			u.mu.Unlock()
			go u.serve(c)
		}
	}()
	return u
}

func (u *testUpstream) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		u.mu.Lock()
		u.seen = append(u.seen, upstreamSeen{req.Method, req.RequestURI, req.Header.Get("Proxy-Authorization")})
		u.mu.Unlock()
		if u.want != "" && req.Header.Get("Proxy-Authorization") != u.want {
			io.WriteString(c, "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"corp\"\r\nContent-Length: 0\r\n\r\n")
			continue
		}
		if req.Method == http.MethodConnect {
			to, ok := u.routes[req.RequestURI]
			if !ok {
				io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
				return
			}
			s, err := net.Dial("tcp", to)
			if err != nil {
				io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
				return
			}
			defer s.Close()
			io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
			go func() { io.Copy(s, br); s.Close() }()
			io.Copy(c, s)
			return
		}
		body := "upstream answered " + req.RequestURI
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nX-Upstream: yes\r\n\r\n%s", len(body), body)
	}
}

func (u *testUpstream) stats() (int, []upstreamSeen) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.conns, slices.Clone(u.seen)
}

// noDNS is a host that resolves nothing, as often behind a corporate proxy.
func noDNS(context.Context, string) ([]net.IP, error) { return nil, errors.New("no such host") }

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// An allowed CONNECT is tunnelled through the upstream proxy, with the upstream
// credentials from the caller's environment (percent-decoded), never the
// client's; TLS passes through end to end.
func TestConnectChainedThroughUpstream(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "index behind the corporate proxy")
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(hostPort(t, srv.URL))
	dest := "example.com:" + port // in the test certificate; reachable only through the upstream
	want := basic("corp\\me", "p@ss:word")
	up := startUpstream(t, nil, map[string]string{dest: hostPort(t, srv.URL)}, want)
	p := startProxy(t, Options{Allow: []string{dest}, LookupIP: noDNS,
		Environ: []string{"PATH=/bin", "https_proxy=http://corp%5Cme:p%40ss%3Aword@" + up.addr, "NO_PROXY=elsewhere.example"}})

	resp, err := client(p, srv.Client().Transport.(*http.Transport).TLSClientConfig).Get("https://" + dest + "/simple/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "index behind the corporate proxy" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	// The client's own Proxy-Authorization does not reach the upstream.
	resp, _ = raw(t, p, "CONNECT "+dest+" HTTP/1.1\r\nHost: "+dest+"\r\nProxy-Authorization: "+basic("container", "x")+"\r\n\r\n")
	if resp.StatusCode != 200 {
		t.Fatalf("raw CONNECT: %d", resp.StatusCode)
	}
	_, seen := up.stats()
	if len(seen) != 2 {
		t.Fatalf("the upstream saw %v, want two CONNECTs", seen)
	}
	for _, s := range seen {
		if s.method != "CONNECT" || s.target != dest || s.auth != want {
			t.Errorf("the upstream saw %+v, want CONNECT %s with %q", s, dest, want)
		}
	}
	if r := p.Refused(); len(r) != 0 {
		t.Errorf("refused %v", r)
	}
}

// A destination outside the allowlist is refused before anything is sent to the
// upstream proxy; so is an allowed name the host resolves to loopback.
func TestDisallowedNeverReachesUpstream(t *testing.T) {
	up := startUpstream(t, nil, nil, "")
	lookup := func(_ context.Context, host string) ([]net.IP, error) {
		if host == "rebound.example" {
			return []net.IP{net.ParseIP("93.184.215.14"), net.ParseIP("127.0.0.1")}, nil
		}
		return nil, errors.New("no such host")
	}
	proxyURL := "http://user:secret@" + up.addr
	p := startProxy(t, Options{Allow: []string{"index.example:443", "index.example:80", "rebound.example:443"}, LookupIP: lookup,
		Environ: []string{"HTTPS_PROXY=" + proxyURL, "HTTP_PROXY=" + proxyURL}})
	for _, c := range []struct{ req, refused string }{
		{"CONNECT evil.example:443 HTTP/1.1\r\nHost: index.example:443\r\n\r\n", "evil.example:443"},
		{"CONNECT index.example:8443 HTTP/1.1\r\nHost: x\r\n\r\n", "index.example:8443"},
		{"GET http://evil.example/loot HTTP/1.1\r\nHost: index.example\r\n\r\n", "evil.example:80"},
		{"GET http://index.example:8080/ HTTP/1.1\r\nHost: x\r\n\r\n", "index.example:8080"},
		{"CONNECT rebound.example:443 HTTP/1.1\r\nHost: x\r\n\r\n", "rebound.example:443 (rebound.example resolves to 127.0.0.1)"},
	} {
		resp, _ := raw(t, p, c.req)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%q: got %d, want 403", c.req, resp.StatusCode)
		}
		if strings.Contains(string(body), "secret") || strings.Contains(string(body), "user") {
			t.Errorf("the answer to the client names the upstream's credentials: %q", body)
		}
		if !slices.Contains(p.Refused(), c.refused) {
			t.Errorf("Refused() = %v, want %q", p.Refused(), c.refused)
		}
	}
	if n, seen := up.stats(); n != 0 {
		t.Errorf("the upstream was contacted %d time(s) for refused destinations: %v", n, seen)
	}
}

// NO_PROXY destinations (and loopback ones, as for ProxyFromEnvironment) are
// dialled directly, where the loopback refusal for names still applies.
func TestNoProxyDialledDirectly(t *testing.T) {
	up := startUpstream(t, nil, nil, "")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "direct") }))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(hostPort(t, srv.URL))
	// A non-loopback address of this machine, to reach a NO_PROXY name directly.
	var local net.IP
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !special(n.IP) {
				local = n.IP
				break
			}
		}
	}
	var lan *httptest.Server
	if local != nil {
		ln, err := net.Listen("tcp", net.JoinHostPort(local.String(), "0"))
		if err == nil {
			lan = &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, "lan direct")
			})}}
			lan.Start()
			defer lan.Close()
		}
	}
	lanPort := "1"
	if lan != nil {
		_, lanPort, _ = net.SplitHostPort(hostPort(t, lan.URL))
	}
	lookup := func(_ context.Context, host string) ([]net.IP, error) {
		switch host {
		case "mirror.corp.example":
			if local != nil {
				return []net.IP{local}, nil
			}
		case "loop.corp.example":
			return []net.IP{net.ParseIP("127.0.0.1")}, nil
		}
		return nil, errors.New("no such host")
	}
	proxyURL := "http://" + up.addr
	p := startProxy(t, Options{
		Allow:    []string{"127.0.0.1:" + port, "mirror.corp.example:" + lanPort, "loop.corp.example:" + port},
		LookupIP: lookup,
		Environ:  []string{"HTTPS_PROXY=" + proxyURL, "HTTP_PROXY=" + proxyURL, "no_proxy=.corp.example"},
	})

	resp, _ := raw(t, p, "GET "+srv.URL+"/ HTTP/1.1\r\nHost: x\r\n\r\n")
	if body, _ := io.ReadAll(resp.Body); resp.StatusCode != 200 || string(body) != "direct" {
		t.Errorf("loopback literal: got %d %q, want it dialled directly", resp.StatusCode, body)
	}
	resp, _ = raw(t, p, "CONNECT loop.corp.example:"+port+" HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp.StatusCode != http.StatusForbidden || !slices.Contains(p.Refused(), "loop.corp.example:"+port+" (loop.corp.example resolves to 127.0.0.1)") {
		t.Errorf("NO_PROXY name resolving to loopback: got %d, refused %v", resp.StatusCode, p.Refused())
	}
	if lan != nil {
		resp, _ = raw(t, p, "GET http://mirror.corp.example:"+lanPort+"/ HTTP/1.1\r\nHost: x\r\n\r\n")
		if body, _ := io.ReadAll(resp.Body); resp.StatusCode != 200 || string(body) != "lan direct" {
			t.Errorf("NO_PROXY name: got %d %q, want it dialled directly", resp.StatusCode, body)
		}
		c := openTunnelTo(t, p, "mirror.corp.example:"+lanPort)
		c.Close()
	} else {
		t.Log("no non-loopback IPv4 address here: the direct NO_PROXY fetch is not exercised")
	}
	if n, seen := up.stats(); n != 0 {
		t.Errorf("the upstream was contacted %d time(s): %v", n, seen)
	}
}

func openTunnelTo(t *testing.T, p *Proxy, dest string) net.Conn {
	t.Helper()
	resp, c := raw(t, p, "CONNECT "+dest+" HTTP/1.1\r\nHost: "+dest+"\r\n\r\n")
	if resp.StatusCode != 200 {
		t.Fatalf("CONNECT %s: %d", dest, resp.StatusCode)
	}
	return c
}

// A plain-HTTP request goes to the upstream in absolute form, with the upstream's
// credentials in place of the client's; the default port stays implicit.
func TestPlainHTTPForwardedToUpstream(t *testing.T) {
	want := basic("corp", "secret")
	up := startUpstream(t, nil, nil, want)
	p := startProxy(t, Options{Allow: []string{"index.example:8080", "index.example:80"}, LookupIP: noDNS,
		Environ: []string{"HTTP_PROXY=", "http_proxy=http://corp:secret@" + up.addr, "HTTPS_PROXY=http://wrong.invalid:1"}})
	resp, c := raw(t, p, "GET http://Index.Example:8080/simple/pkg/?x=1 HTTP/1.1\r\nHost: evil.example\r\nProxy-Authorization: "+basic("container", "x")+"\r\n\r\n")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "upstream answered http://index.example:8080/simple/pkg/?x=1" || resp.Header.Get("X-Upstream") != "yes" {
		t.Fatalf("got %d %q %v", resp.StatusCode, body, resp.Header)
	}
	if _, err := io.WriteString(c, "HEAD http://index.example/files/a.tar.gz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: "HEAD"}); err != nil || resp.StatusCode != 200 {
		t.Fatalf("second request: %v %v", resp, err)
	}
	_, seen := up.stats()
	wantSeen := []upstreamSeen{
		{"GET", "http://index.example:8080/simple/pkg/?x=1", want},
		{"HEAD", "http://index.example/files/a.tar.gz", want},
	}
	if !slices.Equal(seen, wantSeen) {
		t.Errorf("the upstream saw %v, want %v", seen, wantSeen)
	}
}

// An https:// upstream is spoken to over TLS, for tunnels and forwarded
// requests; a SOCKS upstream is refused, saying why.
func TestHTTPSAndUnsupportedUpstreams(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "index") }))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(hostPort(t, srv.URL))
	dest := "pkgs.example.com:" + port
	want := basic("u", "pw")
	up := startUpstream(t, srv.TLS.Clone(), map[string]string{dest: hostPort(t, srv.URL)}, want)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	proxyURL := "https://u:pw@" + up.addr
	p := startProxy(t, Options{Allow: []string{dest, "pkgs.example.com:80"}, LookupIP: noDNS, UpstreamRootCAs: roots,
		Environ: []string{"HTTPS_PROXY=" + proxyURL, "HTTP_PROXY=" + proxyURL}})
	resp, err := client(p, srv.Client().Transport.(*http.Transport).TLSClientConfig).Get("https://" + dest + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "index" {
		t.Fatalf("through an https upstream: %d %q", resp.StatusCode, body)
	}
	resp, _ = raw(t, p, "GET http://pkgs.example.com/x HTTP/1.1\r\nHost: x\r\n\r\n")
	if body, _ := io.ReadAll(resp.Body); resp.StatusCode != 200 || string(body) != "upstream answered http://pkgs.example.com/x" {
		t.Errorf("plain through an https upstream: %d %q", resp.StatusCode, body)
	}
	if _, seen := up.stats(); len(seen) != 2 || seen[0].auth != want || seen[1].auth != want {
		t.Errorf("the upstream saw %v", seen)
	}

	// An upstream that does not trust phylum-box's certificate roots fails the
	// dial: no plain-text fallback.
	p2 := startProxy(t, Options{Allow: []string{dest}, LookupIP: noDNS, Environ: []string{"HTTPS_PROXY=" + proxyURL}})
	if resp, _ := raw(t, p2, "CONNECT "+dest+" HTTP/1.1\r\nHost: x\r\n\r\n"); resp.StatusCode != http.StatusBadGateway {
		t.Errorf("untrusted https upstream: got %d, want 502", resp.StatusCode)
	}

	p3 := startProxy(t, Options{Allow: []string{dest}, LookupIP: noDNS, Environ: []string{"HTTPS_PROXY=socks5://u:pw@" + up.addr}})
	resp, _ = raw(t, p3, "CONNECT "+dest+" HTTP/1.1\r\nHost: x\r\n\r\n")
	body, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "only http:// and https:// upstream proxies are supported") {
		t.Errorf("socks5 upstream: got %d %q", resp.StatusCode, body)
	}
	if strings.Contains(string(body), "pw") || !slices.ContainsFunc(p3.Refused(), func(s string) bool { return strings.Contains(s, "socks5://"+up.addr) }) {
		t.Errorf("socks5 upstream: body %q, refused %v", body, p3.Refused())
	}
}

// The upstream's refusal (here, of its credentials) reaches the client as a
// failed tunnel, naming the upstream without its credentials.
func TestUpstreamRefusesTunnel(t *testing.T) {
	up := startUpstream(t, nil, nil, basic("corp", "right"))
	p := startProxy(t, Options{Allow: []string{"index.example:443"}, LookupIP: noDNS,
		Environ: []string{"HTTPS_PROXY=http://corp:wrong@" + up.addr}})
	resp, _ := raw(t, p, "CONNECT index.example:443 HTTP/1.1\r\nHost: x\r\n\r\n")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(body), "407") || !strings.Contains(string(body), "http://"+up.addr) {
		t.Errorf("got %d %q", resp.StatusCode, body)
	}
	if strings.Contains(string(body), "wrong") || strings.Contains(string(body), "corp") {
		t.Errorf("the client was told the upstream's credentials: %q", body)
	}
}

// proxyConfig reads the caller's environment as httpproxy.FromEnvironment reads
// the process's: upper case first, empty values skipped.
func TestProxyConfigFromEnviron(t *testing.T) {
	cfg := proxyConfig([]string{"https_proxy=http://lower:1", "HTTPS_PROXY=http://upper:1", "HTTP_PROXY=", "http_proxy=lower-http:3128",
		"no_proxy=a.example", "NO_PROXY=b.example,10.0.0.0/8"})
	if cfg.HTTPSProxy != "http://upper:1" || cfg.HTTPProxy != "lower-http:3128" || cfg.NoProxy != "b.example,10.0.0.0/8" || cfg.CGI {
		t.Errorf("proxyConfig = %+v", cfg)
	}
	f := cfg.ProxyFunc()
	for dest, want := range map[string]string{
		"https://pypi.org:443": "http://upper:1", "http://pypi.org:80": "http://lower-http:3128",
		"https://x.b.example:443": "", "https://10.1.2.3:443": "", "https://localhost:443": "", "https://[::1]:443": "",
	} {
		u, _ := url.Parse(dest)
		got, err := f(u)
		if err != nil || (got == nil) != (want == "") || (got != nil && got.String() != want) {
			t.Errorf("%s: %v %v, want %q", dest, got, err, want)
		}
	}
	if (proxyConfig(nil) != nil && proxyConfig(nil).HTTPSProxy != "") || !proxyConfig([]string{"REQUEST_METHOD=GET"}).CGI {
		t.Error("empty environment or CGI")
	}
}

// Package egress gives a sandboxed step that may run package code a way out to a
// fixed list of servers and nowhere else. The step runs in a network namespace of
// its own (loopback only); Bridge, inside it, hands every TCP connection made to
// its loopback port to Proxy's unix socket, bound into the container; Proxy, on
// the host, serves the HTTP proxy protocol on that socket and connects only to
// the allowed host:port pairs: CONNECT tunnels (TLS passes through untouched)
// and plain-HTTP GET/HEAD forwarding. Everything else is answered 403 and
// recorded, so the orchestration can say what was refused. Where the caller's
// environment names a proxy of its own (HTTPS_PROXY, HTTP_PROXY, NO_PROXY), the
// allowed destinations are reached through it (see upstream.go).
//
// pip and poetry need this: resolving a source distribution runs its setup.py
// (or PEP 517 metadata hook) while the resolver still needs the package index.
package egress

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults for Options.
const (
	DefaultMaxConns    = 64
	DefaultIdleTimeout = 2 * time.Minute
	DefaultDialTimeout = 20 * time.Second
	// maxRefused bounds the recorded refusals (a hostile script can try many).
	maxRefused = 50
)

// SocketName is the proxy socket's name in Proxy.Dir.
const SocketName = "proxy.sock"

// Options configure Start.
type Options struct {
	// Allow are the reachable "host:port" pairs (host a name or an IP literal).
	Allow []string
	// Dir is where the private socket dir is created ("": os.TempDir()).
	Dir string
	// Chown, when set, owns the socket dir and socket to UID:GID (the container's
	// mapped root when phylum-box runs as real root).
	Chown    bool
	UID, GID int
	// MaxConns bounds the client connections open at once; IdleTimeout closes a
	// connection (or tunnel) on which nothing moved for that long.
	MaxConns    int
	IdleTimeout time.Duration
	DialTimeout time.Duration
	// LookupIP resolves a name on the host (default net.DefaultResolver).
	LookupIP func(ctx context.Context, host string) ([]net.IP, error)
	// Environ is the caller's environment: its HTTPS_PROXY, HTTP_PROXY (or
	// lower-case) and NO_PROXY pick, per allowed destination, an upstream proxy
	// to reach it through, as net/http.ProxyFromEnvironment would; http:// and
	// https:// upstreams are supported. The process's own environment is never
	// read: nil dials every destination directly.
	Environ []string
	// UpstreamRootCAs verify an https:// upstream proxy (nil: the system's).
	UpstreamRootCAs *x509.CertPool
}

// Proxy is a running filtering proxy. Close it.
type Proxy struct {
	o     Options
	allow map[string]bool
	dir   string
	ln    net.Listener
	srv   *http.Server
	tr    *http.Transport
	sem   chan struct{}
	// proxyFor picks the upstream proxy for a destination (nil: none set).
	proxyFor func(*url.URL) (*url.URL, error)
	upTr     *http.Transport

	mu      sync.Mutex
	refused []string
	conns   map[net.Conn]struct{}
	closed  bool
	done    chan struct{}
}

// Start creates a private directory with the proxy's socket in it and serves.
func Start(o Options) (*Proxy, error) {
	if o.MaxConns <= 0 {
		o.MaxConns = DefaultMaxConns
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.LookupIP == nil {
		o.LookupIP = func(ctx context.Context, host string) ([]net.IP, error) {
			return net.DefaultResolver.LookupIP(ctx, "ip", host)
		}
	}
	if len(o.Allow) == 0 {
		return nil, errors.New("egress: nothing to allow")
	}
	p := &Proxy{o: o, allow: map[string]bool{}, sem: make(chan struct{}, o.MaxConns), conns: map[net.Conn]struct{}{}, done: make(chan struct{})}
	for _, a := range o.Allow {
		c, err := Canonical(a)
		if err != nil {
			return nil, fmt.Errorf("egress: allowed destination %q: %w", a, err)
		}
		p.allow[c] = true
	}
	dir, err := os.MkdirTemp(o.Dir, "phylum-box-egress-")
	if err != nil {
		return nil, err
	}
	p.dir = dir
	sock := filepath.Join(dir, SocketName)
	ln, err := net.Listen("unix", sock)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if o.Chown {
		for _, f := range []string{dir, sock} {
			if err := os.Lchown(f, o.UID, o.GID); err != nil {
				ln.Close()
				os.RemoveAll(dir)
				return nil, err
			}
		}
	}
	p.ln = ln
	p.tr = &http.Transport{
		DialContext:           p.dialTarget,
		DisableCompression:    true,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       o.IdleTimeout,
		ResponseHeaderTimeout: o.IdleTimeout,
		TLSHandshakeTimeout:   o.DialTimeout,
		// Plain HTTP only: no proxy of our own, no HTTP/2.
		Proxy: nil,
	}
	if len(o.Environ) > 0 {
		p.proxyFor = proxyConfig(o.Environ).ProxyFunc()
	}
	p.upTr = p.newUpstreamTransport()
	p.srv = &http.Server{
		Handler:           p,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       o.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	go func() {
		defer close(p.done)
		_ = p.srv.Serve(&limitListener{Listener: ln, p: p})
	}()
	return p, nil
}

// Dir is the private directory holding the socket (bind it into the container).
func (p *Proxy) Dir() string { return p.dir }

// Socket is the proxy's unix socket.
func (p *Proxy) Socket() string { return filepath.Join(p.dir, SocketName) }

// Refused lists the destinations refused so far, each once, in order.
func (p *Proxy) Refused() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.refused)
}

// Close stops serving, closes every connection and tunnel, and removes the
// socket dir. Nothing of a step outlives it.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	conns := make([]net.Conn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	err := p.srv.Close()
	for _, c := range conns {
		c.Close()
	}
	<-p.done
	p.tr.CloseIdleConnections()
	p.upTr.CloseIdleConnections()
	if rerr := os.RemoveAll(p.dir); err == nil {
		err = rerr
	}
	return err
}

func (p *Proxy) refuse(dest, why string) {
	entry := dest
	if why != "" {
		entry += " (" + why + ")"
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.refused) < maxRefused && !slices.Contains(p.refused, entry) {
		p.refused = append(p.refused, entry)
	}
}

// track registers c so Close can close it; untrack on its own close.
func (p *Proxy) track(c net.Conn) (net.Conn, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return nil, false
	}
	p.conns[c] = struct{}{}
	return &trackedConn{Conn: c, p: p}, true
}

type trackedConn struct {
	net.Conn
	p    *Proxy
	once sync.Once
	rel  func()
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.p.mu.Lock()
		delete(c.p.conns, c.Conn)
		c.p.mu.Unlock()
		if c.rel != nil {
			c.rel()
		}
	})
	return err
}

// CloseWrite half-closes the connection when the one it wraps can (TCP, unix,
// TLS), so a tunnel passes an end of stream on.
func (c *trackedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// limitListener admits at most MaxConns client connections at once; the others
// wait in the kernel's backlog.
type limitListener struct {
	net.Listener
	p *Proxy
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.p.sem <- struct{}{}:
	case <-l.p.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.p.sem
		return nil, err
	}
	tc, ok := l.p.track(c)
	if !ok {
		<-l.p.sem
		return nil, net.ErrClosed
	}
	tc.(*trackedConn).rel = func() { <-l.p.sem }
	return tc, nil
}

// Canonical returns host:port in the form the allowlist is kept in: a lower-case
// name without a trailing dot, or an IP literal in its standard form; a decimal
// port in 1–65535.
func Canonical(hostport string) (string, error) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return "", err
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || strings.HasPrefix(port, "+") {
		return "", fmt.Errorf("bad port %q", port)
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "" {
		return "", errors.New("empty host")
	}
	if ip := net.ParseIP(host); ip != nil {
		host = ip.String()
	} else if strings.ContainsAny(host, "%/\\@ \t\r\n[]") {
		return "", fmt.Errorf("bad host %q", host)
	}
	return net.JoinHostPort(host, strconv.Itoa(n)), nil
}

// allowed canonicalises dest and checks it against the allowlist.
func (p *Proxy) allowed(dest string) (string, bool) {
	c, err := Canonical(dest)
	if err != nil {
		return dest, false
	}
	return c, p.allow[c]
}

// errAddress is a name that resolved only to addresses a name may not lead to.
type errAddress struct{ host, addrs string }

func (e *errAddress) Error() string {
	return fmt.Sprintf("%s resolves to %s", e.host, e.addrs)
}

// localName reports whether a name may resolve to loopback: only localhost.
func localName(host string) bool {
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}

// special addresses are reached only when the allowlist names them literally: a
// name of an index that resolves there (DNS rebinding) is refused.
func special(ip net.IP) bool {
	return ip.IsLoopback() || ip.IsUnspecified() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsMulticast() || ip.IsInterfaceLocalMulticast()
}

// dialTarget connects to an allowed canonical host:port. A name is resolved here,
// on the host, and the connection made to the address that was checked.
func (p *Proxy) dialTarget(ctx context.Context, _, dest string) (net.Conn, error) {
	c, ok := p.allowed(dest)
	if !ok {
		return nil, fmt.Errorf("%s is not allowed", dest)
	}
	host, port, _ := net.SplitHostPort(c)
	var ips []net.IP
	if ip := net.ParseIP(host); ip != nil {
		ips = []net.IP{ip}
	} else {
		lctx, cancel := context.WithTimeout(ctx, p.o.DialTimeout)
		all, err := p.o.LookupIP(lctx, host)
		cancel()
		if err != nil {
			return nil, err
		}
		var bad []string
		for _, ip := range all {
			if special(ip) && !(localName(host) && ip.IsLoopback()) {
				bad = append(bad, ip.String())
				continue
			}
			ips = append(ips, ip)
		}
		if len(ips) == 0 {
			if len(bad) == 0 {
				return nil, fmt.Errorf("%s has no address", host)
			}
			return nil, &errAddress{host: host, addrs: strings.Join(bad, ", ")}
		}
	}
	d := net.Dialer{Timeout: p.o.DialTimeout}
	var firstErr error
	for _, ip := range ips {
		conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(ip.String(), port))
		if err == nil {
			tc, ok := p.track(conn)
			if !ok {
				return nil, net.ErrClosed
			}
			return tc, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodConnect:
		p.connect(w, r)
	case r.URL.IsAbs():
		p.forward(w, r)
	default:
		http.Error(w, "phylum-box egress: only proxy requests (CONNECT host:port or an absolute http:// URL)", http.StatusBadRequest)
	}
}

func (p *Proxy) deny(w http.ResponseWriter, dest, why string) {
	p.refuse(dest, why)
	msg := "phylum-box egress: " + dest + " is not reachable from this sandboxed step"
	if why != "" {
		msg += " (" + why + ")"
	}
	http.Error(w, msg, http.StatusForbidden)
}

func (p *Proxy) dialFailed(w http.ResponseWriter, dest string, err error) {
	var ea *errAddress
	if errors.As(err, &ea) {
		p.deny(w, dest, ea.Error())
		return
	}
	var ec *errUpstreamConfig
	if errors.As(err, &ec) {
		p.deny(w, dest, ec.Error())
		return
	}
	http.Error(w, "phylum-box egress: "+dest+": "+err.Error(), http.StatusBadGateway)
}

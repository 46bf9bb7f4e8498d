package egress

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/net/http/httpproxy"
)

// Chaining to the user's own proxy. On a network that reaches the internet only
// through a proxy, the allowed destinations are reached through it, chosen per
// destination from the caller's HTTPS_PROXY, HTTP_PROXY and NO_PROXY as
// net/http.ProxyFromEnvironment chooses (localhost and loopback addresses are
// never proxied). The allowlist is checked on the requested host:port first;
// the upstream proxy is contacted only for an allowed destination. Its
// credentials stay here: the container never sees them, and what it is told
// about the upstream names only its scheme and host.

// proxyConfig is httpproxy.FromEnvironment read from env instead of the
// process's environment.
func proxyConfig(env []string) *httpproxy.Config {
	get := func(names ...string) string {
		for _, n := range names {
			// The last setting of a name wins, as for os.Getenv after exec.
			for i := len(env) - 1; i >= 0; i-- {
				if v, ok := strings.CutPrefix(env[i], n+"="); ok {
					if v != "" {
						return v
					}
					break
				}
			}
		}
		return ""
	}
	return &httpproxy.Config{
		HTTPProxy:  get("HTTP_PROXY", "http_proxy"),
		HTTPSProxy: get("HTTPS_PROXY", "https_proxy"),
		NoProxy:    get("NO_PROXY", "no_proxy"),
		CGI:        get("REQUEST_METHOD") != "",
	}
}

// errUpstreamConfig is an upstream proxy setting phylum-box cannot use: the
// destination is refused, with this as the reason.
type errUpstreamConfig struct{ msg string }

func (e *errUpstreamConfig) Error() string { return e.msg }

// upstreamName names an upstream proxy without its credentials.
func upstreamName(up *url.URL) string { return up.Scheme + "://" + up.Host }

// upstreamAddr is the upstream proxy's host:port.
func upstreamAddr(up *url.URL) string {
	port := up.Port()
	if port == "" {
		port = "80"
		if up.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(up.Hostname(), port)
}

// proxyAuth is the Proxy-Authorization an upstream proxy's userinfo asks for.
func proxyAuth(up *url.URL) string {
	if up.User == nil {
		return ""
	}
	pw, _ := up.User.Password()
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(up.User.Username()+":"+pw))
}

// route picks the way to the allowed canonical dest: nil to dial it directly,
// else the upstream proxy. scheme is "https" for a CONNECT tunnel, "http" for a
// forwarded request.
func (p *Proxy) route(ctx context.Context, scheme, dest string) (*url.URL, error) {
	if p.proxyFor == nil {
		return nil, nil
	}
	up, err := p.proxyFor(&url.URL{Scheme: scheme, Host: dest})
	if err != nil {
		// Only the CGI rule errs here (httpproxy drops unparsable settings);
		// its message holds no setting's value.
		return nil, &errUpstreamConfig{msg: "upstream proxy: " + err.Error()}
	}
	if up == nil {
		return nil, nil
	}
	if up.Scheme != "http" && up.Scheme != "https" {
		return nil, &errUpstreamConfig{msg: fmt.Sprintf("upstream proxy %s from %s_PROXY: only http:// and https:// upstream proxies are supported",
			upstreamName(up), strings.ToUpper(scheme))}
	}
	if err := p.checkName(ctx, dest); err != nil {
		return nil, err
	}
	return up, nil
}

// checkName keeps the DNS-rebinding refusal, as far as it can, for a
// destination the upstream proxy will resolve: a name the host resolves to a
// special address is refused. A name the host cannot resolve (a network behind
// a proxy often resolves only its own names) is left to the upstream.
func (p *Proxy) checkName(ctx context.Context, dest string) error {
	host, _, _ := net.SplitHostPort(dest)
	if net.ParseIP(host) != nil || localName(host) {
		return nil
	}
	lctx, cancel := context.WithTimeout(ctx, min(p.o.DialTimeout, 5*time.Second))
	ips, err := p.o.LookupIP(lctx, host)
	cancel()
	if err != nil {
		return nil
	}
	var bad []string
	for _, ip := range ips {
		if special(ip) {
			bad = append(bad, ip.String())
		}
	}
	if len(bad) > 0 {
		return &errAddress{host: host, addrs: strings.Join(bad, ", ")}
	}
	return nil
}

// dialUpstream connects to the upstream proxy itself (TLS for https://). Its
// address is not subject to the allowlist nor to the loopback refusal: a local
// proxy such as cntlm on 127.0.0.1:3128 is common, and it is the user's.
func (p *Proxy) dialUpstream(ctx context.Context, up *url.URL) (net.Conn, error) {
	d := net.Dialer{Timeout: p.o.DialTimeout}
	raw, err := d.DialContext(ctx, "tcp", upstreamAddr(up))
	if err != nil {
		return nil, fmt.Errorf("upstream proxy %s: %w", upstreamName(up), err)
	}
	tc, ok := p.track(raw)
	if !ok {
		return nil, net.ErrClosed
	}
	return tc, nil
}

// tunnelUpstream opens a tunnel to dest through the upstream proxy: CONNECT
// dest, with the upstream's own credentials. pending holds what the upstream
// sent after its answer.
func (p *Proxy) tunnelUpstream(ctx context.Context, up *url.URL, dest string) (conn net.Conn, pending *bufio.Reader, err error) {
	conn, err = p.dialUpstream(ctx, up)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if err != nil {
			conn.Close()
		}
	}()
	// The handshake and the upstream's answer (it connects to dest first) may
	// take a while, not forever; nor past the client's going away.
	conn.SetDeadline(time.Now().Add(p.o.IdleTimeout))
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if up.Scheme == "https" {
		tlsConn := tls.Client(conn, &tls.Config{ServerName: up.Hostname(), RootCAs: p.o.UpstreamRootCAs, NextProtos: []string{"http/1.1"}})
		if err := tlsConn.HandshakeContext(ctx); err != nil {
			return tlsConn, nil, fmt.Errorf("upstream proxy %s: %w", upstreamName(up), err)
		}
		conn = tlsConn
	}
	req := &http.Request{Method: http.MethodConnect, URL: &url.URL{Opaque: dest}, Host: dest, Header: http.Header{}}
	if auth := proxyAuth(up); auth != "" {
		req.Header.Set("Proxy-Authorization", auth)
	}
	if err := req.Write(conn); err != nil {
		return conn, nil, fmt.Errorf("upstream proxy %s: %w", upstreamName(up), err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return conn, nil, fmt.Errorf("upstream proxy %s: %w", upstreamName(up), err)
	}
	if resp.StatusCode != http.StatusOK {
		return conn, nil, fmt.Errorf("upstream proxy %s answered CONNECT %s with %s", upstreamName(up), dest, resp.Status)
	}
	if !stop() {
		return conn, nil, ctx.Err()
	}
	conn.SetDeadline(time.Time{})
	return conn, br, nil
}

type upstreamKey struct{}

// newUpstreamTransport forwards plain-HTTP requests to the upstream proxy the
// request's context names, in absolute form, with its credentials; it dials
// nothing else.
func (p *Proxy) newUpstreamTransport() *http.Transport {
	return &http.Transport{
		Proxy: func(r *http.Request) (*url.URL, error) {
			up, _ := r.Context().Value(upstreamKey{}).(*url.URL)
			if up == nil {
				return nil, fmt.Errorf("no upstream proxy for %s", r.URL.Host)
			}
			return up, nil
		},
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			up, _ := ctx.Value(upstreamKey{}).(*url.URL)
			if up == nil {
				return nil, fmt.Errorf("no upstream proxy")
			}
			return p.dialUpstream(ctx, up)
		},
		TLSClientConfig:       &tls.Config{RootCAs: p.o.UpstreamRootCAs, NextProtos: []string{"http/1.1"}},
		DisableCompression:    true,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       p.o.IdleTimeout,
		ResponseHeaderTimeout: p.o.IdleTimeout,
		TLSHandshakeTimeout:   p.o.DialTimeout,
	}
}

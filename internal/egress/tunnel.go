package egress

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// This file holds the Proxy's handling of an allowed request: CONNECT
// tunnels (connect, pipe) and plain-HTTP GET/HEAD forwarding (forward, with
// its hop-by-hop header filtering).

func (p *Proxy) connect(w http.ResponseWriter, r *http.Request) {
	dest := r.RequestURI
	if dest == "" || strings.Contains(dest, "/") {
		http.Error(w, "phylum-box egress: CONNECT needs host:port", http.StatusBadRequest)
		return
	}
	c, ok := p.allowed(dest)
	if !ok {
		p.deny(w, c, "")
		return
	}
	via, err := p.route(r.Context(), "https", c)
	if err != nil {
		p.dialFailed(w, c, err)
		return
	}
	var up net.Conn
	var upPending *bufio.Reader
	if via == nil {
		up, err = p.dialTarget(r.Context(), "tcp", c)
	} else {
		up, upPending, err = p.tunnelUpstream(r.Context(), via, c)
	}
	if err != nil {
		p.dialFailed(w, c, err)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		up.Close()
		http.Error(w, "phylum-box egress: cannot tunnel", http.StatusInternalServerError)
		return
	}
	client, buf, err := hj.Hijack()
	if err != nil {
		up.Close()
		return
	}
	if _, err := client.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n")); err != nil {
		client.Close()
		up.Close()
		return
	}
	p.pipe(client, buf.Reader, up, upPending)
}

// pipe copies both ways until either side is done or nothing moved for
// IdleTimeout, then closes both. pending and upPending hold what was already
// read from either side.
func (p *Proxy) pipe(client net.Conn, pending *bufio.Reader, up net.Conn, upPending *bufio.Reader) {
	defer client.Close()
	defer up.Close()
	var last sync.Mutex
	lastMove := time.Now()
	moved := func() { last.Lock(); lastMove = time.Now(); last.Unlock() }
	done := make(chan struct{}, 2)
	cp := func(dst net.Conn, src io.Reader) {
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				moved()
				if _, werr := dst.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
		done <- struct{}{}
	}
	var src io.Reader = client
	if pending != nil && pending.Buffered() > 0 {
		src = io.MultiReader(io.LimitReader(pending, int64(pending.Buffered())), client)
	}
	var upSrc io.Reader = up
	if upPending != nil && upPending.Buffered() > 0 {
		upSrc = io.MultiReader(io.LimitReader(upPending, int64(upPending.Buffered())), up)
	}
	go cp(up, src)
	go cp(client, upSrc)
	tick := time.NewTicker(min(p.o.IdleTimeout/4, time.Second))
	defer tick.Stop()
	finished := 0
	for finished < 2 {
		select {
		case <-done:
			finished++
		case <-p.done:
			return
		case <-tick.C:
			last.Lock()
			idle := time.Since(lastMove)
			last.Unlock()
			if idle > p.o.IdleTimeout {
				return
			}
		}
	}
}

// hopHeaders are not forwarded (RFC 9110 7.6.1), nor is the client's proxy
// authorization.
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

func copyHeaders(dst, src http.Header) {
	drop := map[string]bool{}
	for _, h := range hopHeaders {
		drop[h] = true
	}
	for _, v := range src.Values("Connection") {
		for _, f := range strings.Split(v, ",") {
			drop[http.CanonicalHeaderKey(strings.TrimSpace(f))] = true
		}
	}
	for k, vs := range src {
		if drop[http.CanonicalHeaderKey(k)] {
			continue
		}
		dst[k] = append(dst[k], vs...)
	}
}

// forward relays a plain-HTTP GET or HEAD to an allowed server, or to the
// upstream proxy in absolute form. The request goes to the URL's host (the Host
// header follows it); redirects go back to the client, whose next request is
// checked again.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request) {
	if r.URL.Scheme != "http" {
		http.Error(w, "phylum-box egress: only http:// URLs are forwarded; use CONNECT for https", http.StatusBadRequest)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "phylum-box egress: only GET and HEAD are forwarded", http.StatusMethodNotAllowed)
		return
	}
	host := r.URL.Host
	if r.URL.Port() == "" {
		host = net.JoinHostPort(strings.Trim(r.URL.Hostname(), "[]"), "80")
	}
	c, ok := p.allowed(host)
	if !ok {
		p.deny(w, c, "")
		return
	}
	u := *r.URL
	u.Host = c
	if _, port, _ := net.SplitHostPort(c); port == "80" {
		u.Host = strings.TrimSuffix(c, ":80")
	}
	out, err := http.NewRequestWithContext(r.Context(), r.Method, u.String(), nil)
	if err != nil {
		http.Error(w, "phylum-box egress: "+err.Error(), http.StatusBadRequest)
		return
	}
	copyHeaders(out.Header, r.Header)
	out.Header.Del("Host")
	via, err := p.route(r.Context(), "http", c)
	if err != nil {
		p.dialFailed(w, c, err)
		return
	}
	tr := p.tr
	if via != nil {
		out = out.WithContext(context.WithValue(out.Context(), upstreamKey{}, via))
		tr = p.upTr
	}
	resp, err := tr.RoundTrip(out)
	if err != nil {
		p.dialFailed(w, c, err)
		return
	}
	defer resp.Body.Close()
	copyHeaders(w.Header(), resp.Header)
	w.WriteHeader(resp.StatusCode)
	if r.Method == http.MethodHead {
		return
	}
	_, _ = io.Copy(w, resp.Body)
}

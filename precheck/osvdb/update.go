package osvdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// DefaultBase is where OSV publishes its exports: <base>/<Ecosystem>/all.zip.
const DefaultBase = "https://osv-vulnerabilities.storage.googleapis.com"

// maxDownload bounds one export (the npm one is ~220 MB in 2026), so a broken or
// hostile mirror cannot fill the disk.
var maxDownload int64 = 4 << 30

// Update downloads <base>/<Ecosystem>/all.zip for each ecosystem (default: all of
// Ecosystems) and rebuilds those ecosystems from them, keeping the others from the
// current database. base is an http(s) URL (OSV or a team mirror), a file:// URL or
// a local directory laid out the same way. Downloads go to temporary files next to
// the database; every zip is checked (central directory, each entry's checksum and
// JSON) while it is imported, and the database is swapped only if all succeed.
func Update(ctx context.Context, dbPath, base string, ecosystems []string, progress *Progress) error {
	if base == "" {
		base = DefaultBase
	}
	if len(ecosystems) == 0 {
		ecosystems = Ecosystems
	}
	var ecos []string
	for _, e := range ecosystems {
		c, ok := CanonicalEcosystem(e)
		if !ok {
			return fmt.Errorf("unknown ecosystem %q: choose from %s", e, strings.Join(Ecosystems, ", "))
		}
		if !contains(ecos, c) {
			ecos = append(ecos, c)
		}
	}
	// Locked before downloading: one update at a time, and stale temporary files
	// are only removed while no update can be writing them.
	unlock, err := lockUpdates(ctx, dbPath, progress)
	if err != nil {
		return err
	}
	defer unlock()

	var srcs []source
	var temps []string
	defer func() {
		for _, t := range temps {
			os.Remove(t)
		}
	}()
	localBase, isLocal := localDir(base)
	for _, eco := range ecos {
		if isLocal {
			p := filepath.Join(localBase, eco, "all.zip")
			srcs = append(srcs, source{label: p, path: p})
			continue
		}
		u := strings.TrimRight(base, "/") + "/" + url.PathEscape(eco) + "/all.zip"
		tmp, err := download(ctx, u, dbPath, eco, progress)
		if tmp != "" {
			temps = append(temps, tmp)
		}
		if err != nil {
			return fmt.Errorf("%w (the database at %s is unchanged)", err, dbPath)
		}
		srcs = append(srcs, source{label: redactURL(u), path: tmp})
	}
	return build(ctx, buildOptions{dbPath: dbPath, sources: srcs, replace: ecos, progress: progress})
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// localDir reports whether base names a local directory (a plain path or file://).
func localDir(base string) (string, bool) {
	if strings.HasPrefix(base, "file://") {
		u, err := url.Parse(base)
		if err == nil {
			return u.Path, true
		}
	}
	if strings.HasPrefix(base, "http://") || strings.HasPrefix(base, "https://") {
		return "", false
	}
	return base, true
}

var httpClient = &http.Client{
	Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   30 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		ForceAttemptHTTP2:     true,
	},
	// No overall timeout: the npm export is hundreds of MB; the context cancels.
}

// download fetches u into a temporary file next to dbPath and returns its path
// (also on error, so the caller removes it).
func download(ctx context.Context, u, dbPath, eco string, p *Progress) (string, error) {
	get := u
	u = redactURL(u) // in messages: a mirror's password stays out of them
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, get, nil)
	if err != nil {
		return "", fmt.Errorf("download %s: %w", u, err)
	}
	req.Header.Set("User-Agent", "phylum-box (OSV database update)")
	p.logf("downloading %s", u)
	resp, err := httpClient.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // it repeats the URL with its password
		}
		return "", fmt.Errorf("download %s: %w (check the network, or use --source with a mirror or a local copy)", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("download %s: %s", u, resp.Status)
	}
	f, err := os.CreateTemp(filepath.Dir(dbPath), tempPrefix(dbPath)+"download-"+strings.ReplaceAll(eco, "/", "_")+"-*.zip")
	if err != nil {
		return "", fmt.Errorf("download %s: %w", u, err)
	}
	defer f.Close()
	b := p.newBar(resp.ContentLength, true, "downloading "+eco)
	if resp.ContentLength > maxDownload {
		return f.Name(), fmt.Errorf("download %s: %d bytes is more than any OSV export (limit %d)", u, resp.ContentLength, maxDownload)
	}
	n, err := io.Copy(io.MultiWriter(f, b), io.LimitReader(resp.Body, maxDownload+1))
	b.finish()
	if err == nil && n > maxDownload {
		return f.Name(), fmt.Errorf("download %s: more than %d bytes, more than any OSV export", u, maxDownload)
	}
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = fmt.Errorf("connection closed after %d of %d bytes", n, resp.ContentLength)
		}
		return f.Name(), fmt.Errorf("download %s: %w", u, err)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return f.Name(), fmt.Errorf("download %s: got %d of %d bytes", u, n, resp.ContentLength)
	}
	p.logf("downloaded %s (%d bytes)", u, n)
	return f.Name(), nil
}

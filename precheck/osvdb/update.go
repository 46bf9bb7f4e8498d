package osvdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/phylum-box/phylum-box/internal/redact"
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
		srcs = append(srcs, source{label: redact.URL(u), path: tmp})
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
	f, err := os.CreateTemp(filepath.Dir(dbPath), tempPrefix(dbPath)+"download-"+strings.ReplaceAll(eco, "/", "_")+"-*.zip")
	if err != nil {
		return "", fmt.Errorf("download %s: %w", redact.URL(u), err)
	}
	defer f.Close()
	_, err = httpGet(ctx, u, f, getOptions{limit: maxDownload, tooBig: "more than any OSV export", progress: p, bar: "downloading " + eco})
	return f.Name(), err
}

// getOptions say how httpGet reads a body: at most limit bytes (a larger one
// is an error that says it is tooBig), a progress bar labelled bar ("" for none).
type getOptions struct {
	limit    int64
	tooBig   string
	progress *Progress
	bar      string
}

// notFound is an HTTP 404: errors.Is(err, fs.ErrNotExist) holds.
type notFound struct{ msg string }

func (e notFound) Error() string        { return e.msg }
func (e notFound) Is(target error) bool { return target == fs.ErrNotExist }

// httpGet GETs u and copies its body to w, returning the byte count. Messages
// and logs name u without its user info (a mirror's password or token stays out
// of them, also when u does not parse); a 404 is a notFound.
func httpGet(ctx context.Context, u string, w io.Writer, o getOptions) (int64, error) {
	shown := redact.URL(u)
	if _, err := url.Parse(u); err != nil {
		return 0, fmt.Errorf("download %s: not a valid URL", shown)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, fmt.Errorf("download %s: cannot request it", shown)
	}
	req.Header.Set("User-Agent", "phylum-box (OSV database update)")
	if o.bar != "" {
		o.progress.logf("downloading %s", shown)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // it repeats the URL with its password
		}
		return 0, fmt.Errorf("download %s: %w (check the network, or use --source with a mirror or a local copy)", shown, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return 0, notFound{fmt.Sprintf("download %s: %s", shown, resp.Status)}
	case resp.StatusCode != http.StatusOK:
		return 0, fmt.Errorf("download %s: %s", shown, resp.Status)
	case resp.ContentLength > o.limit:
		return 0, fmt.Errorf("download %s: %d bytes is %s (limit %d)", shown, resp.ContentLength, o.tooBig, o.limit)
	}
	b := &bar{}
	if o.bar != "" {
		b = o.progress.newBar(resp.ContentLength, true, o.bar)
	}
	n, err := io.Copy(io.MultiWriter(w, b), io.LimitReader(resp.Body, o.limit+1))
	b.finish()
	if err == nil && n > o.limit {
		return n, fmt.Errorf("download %s: more than %d bytes, %s", shown, o.limit, o.tooBig)
	}
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = fmt.Errorf("connection closed after %d of %d bytes", n, resp.ContentLength)
		}
		return n, fmt.Errorf("download %s: %w", shown, err)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return n, fmt.Errorf("download %s: got %d of %d bytes", shown, n, resp.ContentLength)
	}
	if o.bar != "" {
		o.progress.logf("downloaded %s (%d bytes)", shown, n)
	}
	return n, nil
}

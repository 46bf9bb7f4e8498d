package osvdb

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/phylum-box/phylum-box/internal/redact"
)

// An Extra is a small file a database source may serve beside the exports (a
// team mirror's toplists/top-npm.txt). OSV's own export serves none; a source that
// does not offer one is not an error.
type Extra struct {
	// Path is where the source has it, relative to the base, slash-separated.
	Path string
	// Dest is the file it is stored as, next to the database.
	Dest string
	// MaxBytes bounds the download.
	MaxBytes int64
	// Accept checks the downloaded bytes (untrusted: they came from the network)
	// and returns what to store; an error keeps what Dest holds.
	Accept func(data []byte, from ExtraSource) ([]byte, error)
}

// ExtraSource says where an Extra's bytes came from.
type ExtraSource struct {
	Location string // URL or file
	Fetched  time.Time
	SHA256   string // of the bytes as downloaded, hex
}

// ExtraResult is what UpdateExtras did with one Extra.
type ExtraResult struct {
	Extra
	Source ExtraSource
	// Missing: the source does not offer the file (HTTP 404, no such file); Dest
	// is unchanged.
	Missing bool
	// Err: the download failed or Accept refused it; Dest is unchanged.
	Err error
}

// UpdateExtras fetches each extra from base (as Update does: an http(s) URL, a
// file:// URL or a local directory) and replaces its Dest with what Accept returns,
// under the update lock and through a temporary file renamed into place, so a
// reader sees the old file or the new one, never a part. The error is for the
// lock only; each extra's outcome is in its result.
func UpdateExtras(ctx context.Context, dbPath, base string, extras []Extra, progress *Progress) ([]ExtraResult, error) {
	if base == "" {
		base = DefaultBase
	}
	unlock, err := lockUpdates(ctx, dbPath, progress)
	if err != nil {
		return nil, err
	}
	defer unlock()
	localBase, isLocal := localDir(base)
	var out []ExtraResult
	for _, x := range extras {
		r := ExtraResult{Extra: x}
		var data []byte
		if isLocal {
			r.Source.Location = filepath.Join(localBase, filepath.FromSlash(x.Path))
			data, err = readExtraFile(r.Source.Location, x.MaxBytes)
		} else {
			u := strings.TrimRight(base, "/") + "/" + escapePath(x.Path)
			// Stored and shown: a mirror's password or token stays out of both.
			r.Source.Location = redact.URL(u)
			var buf bytes.Buffer
			_, err = httpGet(ctx, u, &buf, getOptions{limit: x.MaxBytes, tooBig: "more than " + strconv.FormatInt(x.MaxBytes, 10) + " bytes"})
			data = buf.Bytes()
		}
		r.Source.Fetched = time.Now().UTC()
		switch {
		case errors.Is(err, fs.ErrNotExist):
			r.Missing = true
		case err != nil:
			r.Err = err
		default:
			sum := sha256.Sum256(data)
			r.Source.SHA256 = hex.EncodeToString(sum[:])
			var content []byte
			if content, err = x.Accept(data, r.Source); err != nil {
				r.Err = fmt.Errorf("%s: %w", r.Source.Location, err)
			} else if err = replaceFile(dbPath, x.Dest, content); err != nil {
				r.Err = err
			}
		}
		out = append(out, r)
		if ctx.Err() != nil {
			break
		}
	}
	return out, nil
}

func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

func readExtraFile(p string, limit int64) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", p)
	}
	return readCapped(f, p, limit)
}

func readCapped(r io.Reader, what string, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: more than %d bytes", what, limit)
	}
	return data, nil
}

// replaceFile writes content to dest through a temporary file next to the
// database (named so the next update's lock removes it if this one is killed).
func replaceFile(dbPath, dest string, content []byte) error {
	dir := filepath.Dir(dest)
	if filepath.Clean(dir) != filepath.Clean(filepath.Dir(dbPath)) {
		return fmt.Errorf("%s is not next to the database %s", dest, dbPath)
	}
	tmp, err := os.CreateTemp(dir, tempPrefix(dbPath)+"extra-"+path.Base(filepath.ToSlash(dest))+"-*")
	if err != nil {
		return fmt.Errorf("store %s: %w", dest, err)
	}
	committed := false
	defer func() {
		if !committed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("store %s: %w", dest, err)
	}
	if _, err := tmp.Write(content); err != nil {
		return fmt.Errorf("store %s: %w", dest, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("store %s: %w", dest, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("store %s: %w", dest, err)
	}
	if err := os.Rename(tmp.Name(), dest); err != nil {
		return fmt.Errorf("store %s: %w", dest, err)
	}
	committed = true
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

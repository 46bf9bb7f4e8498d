package registry

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/phylum-box/phylum-box/internal/safefs"
)

// DefaultCacheDir is where the metadata cache lives: <user cache dir>/phylum-box/npm-metadata.
func DefaultCacheDir() (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(base, "phylum-box", "npm-metadata"), nil
}

// cacheSchema 2: versions carry Integrity.
const cacheSchema = 2

// cacheEntry is one package's cached facts. Versions only grow: a published
// version's facts never change.
type cacheEntry struct {
	// Schema is cacheSchema when the entry was written; older entries lack facts
	// (hashes) and are refetched in full, without a conditional request that would
	// answer 304 and keep them.
	Schema       int                `json:"schema,omitempty"`
	ETag         string             `json:"etag,omitempty"`
	LastModified string             `json:"last_modified,omitempty"`
	Fetched      time.Time          `json:"fetched"`
	Versions     map[string]Version `json:"versions"`
}

func (e *cacheEntry) packument(name, reg string) *Packument {
	p := &Packument{Name: name, Registry: reg, Versions: make(map[string]Version, len(e.Versions))}
	for v, info := range e.Versions {
		info.Version = v
		p.Versions[v] = info
	}
	return p
}

// cachePath keys the cache by registry (a hash: URLs may hold odd characters) and
// by the escaped package name (no "/" in a file name).
func (c *Client) cachePath(reg, name string) string {
	if c.CacheDir == "" {
		return ""
	}
	key := reg
	if c.Abbreviated {
		key += "\x00install-v1" // another document: another cache
	}
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(c.CacheDir, hex.EncodeToString(sum[:8]), url.PathEscape(name)+".json")
}

// loadCache returns nil for a missing or unreadable entry: the cache only ever saves
// a request, a damaged file costs one.
func (c *Client) loadCache(reg, name string) (*cacheEntry, error) {
	path := c.cachePath(reg, name)
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var e cacheEntry
	if err := json.Unmarshal(b, &e); err != nil || e.Versions == nil || e.Schema < cacheSchema {
		return nil, err
	}
	return &e, nil
}

// storeCache writes the entry atomically (temp file + rename), so concurrent writers
// (goroutines or runs) never leave half a file. Failures are ignored: the cache is an optimisation.
func (c *Client) storeCache(reg, name string, p *Packument, etag, lastModified string) {
	path := c.cachePath(reg, name)
	if path == "" {
		return
	}
	e := cacheEntry{Schema: cacheSchema, ETag: etag, LastModified: lastModified, Fetched: time.Now().UTC(), Versions: map[string]Version{}}
	for v, info := range p.Versions {
		info.Version = ""
		e.Versions[v] = info
	}
	b, err := json.Marshal(&e)
	if err != nil {
		return
	}
	_ = safefs.ReplaceFile(path, b)
}

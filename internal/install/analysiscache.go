package install

// The static analysis's results, kept per package tarball: a warm `npm ci`
// installs the same hundreds of packages again and again, and reading each one
// costs ~15 ms of CPU. A result is keyed by the registry's hash of the tarball
// (the lockfile's integrity, which the precheck compared with the registry's and
// npm verified on download: the files analysed are that tarball's), the package's
// identity, and the analysis's version (new rules, new results).

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/phylum-box/phylum-box/internal/safefs"
	"github.com/phylum-box/phylum-box/precheck/analysis"
)

// analysisCache is a directory of results; the zero value caches nothing.
type analysisCache struct {
	dir  string
	salt string
}

// newAnalysisCache is the user's cache ($XDG_CACHE_HOME/phylum-box/analysis),
// keyed by the analysis's version (analysis.Version: its rules), not by this
// binary: an upgrade that leaves the rules alone keeps every result, one that
// changes them analyses again. Nothing of it is ever mounted into a container,
// and an entry is JSON findings only: what a package's code could write never
// reaches it, and a forged entry could only hide findings from a user who can
// already edit their own cache.
func newAnalysisCache() *analysisCache {
	base, err := os.UserCacheDir()
	if err != nil {
		return &analysisCache{}
	}
	return &analysisCache{dir: filepath.Join(base, "phylum-box", "analysis"), salt: "analysis " + analysis.Version()}
}

func (c *analysisCache) path(eco, name, version, integrity string) string {
	h := sha256.Sum256([]byte(c.salt + "\x00" + eco + "\x00" + name + "\x00" + version + "\x00" + integrity))
	k := hex.EncodeToString(h[:])
	return filepath.Join(c.dir, k[:2], k+".json")
}

// get returns the cached findings of a tarball, ok false when there are none.
func (c *analysisCache) get(eco, name, version, integrity string) (fs []analysis.Finding, ok bool) {
	if c.dir == "" || integrity == "" {
		return nil, false
	}
	data, err := os.ReadFile(c.path(eco, name, version, integrity))
	if err != nil || len(data) > 1<<20 {
		return nil, false
	}
	if json.Unmarshal(data, &fs) != nil {
		return nil, false
	}
	return fs, true
}

// put stores a tarball's findings (best effort: a failure only costs the next
// install the analysis).
func (c *analysisCache) put(eco, name, version, integrity string, fs []analysis.Finding) {
	if c.dir == "" || integrity == "" {
		return
	}
	if fs == nil {
		fs = []analysis.Finding{}
	}
	data, err := json.Marshal(fs)
	if err != nil {
		return
	}
	_ = safefs.ReplaceFile(c.path(eco, name, version, integrity), data)
}

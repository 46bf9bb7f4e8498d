package osvdb

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/phylum-box/phylum-box/precheck"
)

// EnvDB overrides the database location (the --db flag overrides it in turn).
const EnvDB = "PHYLUM_BOX_DB"

// formatVersion is the on-disk layout version kept in the meta bucket.
const formatVersion = 1

var (
	bucketMeta = []byte("meta")
	keyFormat  = []byte("format")
	keyStatus  = []byte("status")
)

// ErrNoDatabase is returned by Open when there is no database yet.
var ErrNoDatabase = errors.New("no OSV database")

// DefaultPath is where the database lives unless --db or PHYLUM_BOX_DB says
// otherwise: $XDG_DATA_HOME/phylum-box/osv.db, falling back to
// ~/.local/share/phylum-box/osv.db. It is data, not cache: deleting it makes every
// check incomplete until the next `db update`.
func DefaultPath() (string, error) {
	if p := os.Getenv(EnvDB); p != "" {
		return p, nil
	}
	// XDG says a relative XDG_DATA_HOME is invalid and must be ignored.
	if d := os.Getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "phylum-box", "osv.db"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot find the OSV database location: %w (set %s or XDG_DATA_HOME, or pass --db)", err, EnvDB)
	}
	return filepath.Join(home, ".local", "share", "phylum-box", "osv.db"), nil
}

// Status describes a database: what it holds and how old it is.
type Status struct {
	Path string `json:"path"`
	// Format is the on-disk layout version.
	Format int `json:"format"`
	// Updated is the time of the last successful import or update.
	Updated    time.Time         `json:"updated"`
	Ecosystems []EcosystemStatus `json:"ecosystems"`
}

// EcosystemStatus is one ecosystem's part of Status.
type EcosystemStatus struct {
	Name string `json:"name"`
	// Records is the number of advisories (distinct ids) that affect at least one
	// package of this ecosystem; Packages the number of distinct package names.
	Records  int `json:"records"`
	Packages int `json:"packages"`
	// Withdrawn counts withdrawn advisories skipped by the last import.
	Withdrawn int       `json:"withdrawn,omitempty"`
	Updated   time.Time `json:"updated"`
	// Source is the URL or file the data came from.
	Source []string `json:"source,omitempty"`
}

// Age is how long ago the database was last updated (zero time → very old).
func (s Status) Age(now time.Time) time.Duration {
	if s.Updated.IsZero() {
		return time.Duration(1<<63 - 1)
	}
	return now.Sub(s.Updated)
}

// Ecosystem returns the status of one ecosystem.
func (s Status) Ecosystem(name string) (EcosystemStatus, bool) {
	for _, e := range s.Ecosystems {
		if e.Name == name {
			return e, true
		}
	}
	return EcosystemStatus{}, false
}

// DB is an open, read-only database. It is safe for concurrent use, and any number of
// processes may hold it open while `db update` swaps in a new file.
type DB struct {
	path string
	bolt *bolt.DB
}

// Open opens the database at path read-only (shared lock).
func Open(path string) (*DB, error) {
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w at %s: run `phylum-box db update` (or `phylum-box db import` on a machine without network)", ErrNoDatabase, path)
		}
		return nil, fmt.Errorf("OSV database %s: %w", path, err)
	}
	b, err := bolt.Open(path, 0, &bolt.Options{ReadOnly: true, Timeout: 10 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open OSV database %s: %w (run `phylum-box db update` to rebuild it)", path, err)
	}
	db := &DB{path: path, bolt: b}
	if err := db.checkFormat(); err != nil {
		b.Close()
		return nil, err
	}
	return db, nil
}

func (db *DB) checkFormat() error {
	return db.bolt.View(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		if m == nil {
			return fmt.Errorf("%s is not a phylum-box OSV database (no meta bucket): remove it and run `phylum-box db update`", db.path)
		}
		if f := string(m.Get(keyFormat)); f != fmt.Sprint(formatVersion) {
			return fmt.Errorf("OSV database %s has format %q, this phylum-box reads format %d: run `phylum-box db update`", db.path, f, formatVersion)
		}
		return nil
	})
}

// Path is the file the database was opened from.
func (db *DB) Path() string { return db.path }

// Close releases the database.
func (db *DB) Close() error { return db.bolt.Close() }

// Status reads the meta bucket.
func (db *DB) Status() (Status, error) {
	var st Status
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		st, err = readStatus(tx)
		return err
	})
	st.Path = db.path
	return st, err
}

func readStatus(tx *bolt.Tx) (Status, error) {
	var st Status
	m := tx.Bucket(bucketMeta)
	if m == nil {
		return st, errors.New("database has no meta bucket")
	}
	if v := m.Get(keyStatus); v != nil {
		if err := json.Unmarshal(v, &st); err != nil {
			return st, fmt.Errorf("database status: %w", err)
		}
	}
	return st, nil
}

// Lookup returns the findings for one package version. Withdrawn advisories are
// never stored, so they never match. The ecosystem may be given in any spelling
// CanonicalEcosystem accepts; an unsupported ecosystem is an error.
func (db *DB) Lookup(ecosystem, name, version string) ([]precheck.Finding, error) {
	res, err := db.LookupBatch([]precheck.Package{{Ecosystem: ecosystem, Name: name, Version: version}})
	if err != nil {
		return nil, err
	}
	return res[0].Findings, res[0].Err
}

// Result is LookupBatch's answer for one package. Err is set when the package could
// not be checked (unsupported ecosystem, unparsable version against a range, corrupt
// entry); such a package must count as not checked, not as clean.
type Result struct {
	Findings []precheck.Finding
	Err      error
}

// LookupBatch looks up many packages in one read transaction; results are in the
// order of pkgs. Uncheckable packages (git/file/path dependencies) get an empty
// Result; the caller reports them from the Package itself. The error return is for
// failures of the database as a whole.
func (db *DB) LookupBatch(pkgs []precheck.Package) ([]Result, error) {
	out := make([]Result, len(pkgs))
	err := db.bolt.View(func(tx *bolt.Tx) error {
		buckets := map[string]*bolt.Bucket{}
		// Advisories repeat the same bounds ("1.0.0", "4.17.21") across packages;
		// parsing each once per batch halves the cost of a large check.
		cache := versionCache{}
		var prefix []byte
		for i, p := range pkgs {
			if p.Uncheckable {
				continue
			}
			eco, ok := CanonicalEcosystem(p.Ecosystem)
			if !ok {
				out[i].Err = fmt.Errorf("%s %s@%s: ecosystem %q is not in the OSV database", p.Ecosystem, p.Name, p.Version, p.Ecosystem)
				continue
			}
			b, seen := buckets[eco]
			if !seen {
				b = tx.Bucket([]byte(eco))
				buckets[eco] = b
			}
			if b == nil {
				// Ecosystem never imported: not a clean result.
				out[i].Err = fmt.Errorf("%s %s@%s: the OSV database has no %s data: run `phylum-box db update --ecosystem %s`", eco, p.Name, p.Version, eco, eco)
				continue
			}
			prefix = append(append(prefix[:0], NormalizeName(eco, p.Name)...), 0)
			out[i].Findings, out[i].Err = lookupIn(b, prefix, eco, p, cache)
		}
		return nil
	})
	return out, err
}

func lookupIn(b *bolt.Bucket, prefix []byte, eco string, p precheck.Package, cache versionCache) ([]precheck.Finding, error) {
	c := b.Cursor()
	var findings []precheck.Finding
	t := &target{ecosystem: eco, raw: targetVersion(eco, p.Version), cache: cache} // npmversion.go
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		e, err := decodeEntryPart(v, false)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %s: %w (run `phylum-box db update` to rebuild the database)", eco, p.Name, k[len(prefix):], err)
		}
		ok, err := e.affects(t)
		if err != nil {
			return nil, fmt.Errorf("%s %s@%s against %s: %w", eco, p.Name, p.Version, k[len(prefix):], err)
		}
		if ok {
			if e, err = decodeEntry(v); err != nil {
				return nil, fmt.Errorf("%s %s: %s: %w (run `phylum-box db update` to rebuild the database)", eco, p.Name, k[len(prefix):], err)
			}
			findings = append(findings, e.finding())
		}
	}
	return dedupe(findings), nil
}

// dedupe drops a finding whose id is an alias of another finding for the same
// package (OSV exports can carry both MAL-x and the GHSA it aliases), keeping the
// malicious one, else the more severe.
func dedupe(fs []precheck.Finding) []precheck.Finding {
	if len(fs) < 2 {
		return fs
	}
	drop := make([]bool, len(fs))
	for i := range fs {
		for j := range fs {
			if i == j || drop[j] || drop[i] {
				continue
			}
			if aliasOf(fs[i], fs[j]) && !better(fs[i], fs[j]) {
				drop[i] = true
			}
		}
	}
	out := fs[:0]
	for i, f := range fs {
		if !drop[i] {
			out = append(out, f)
		}
	}
	return out
}

func aliasOf(a, b precheck.Finding) bool {
	for _, x := range b.Aliases {
		if x == a.ID {
			return true
		}
	}
	for _, x := range a.Aliases {
		if x == b.ID {
			return true
		}
	}
	return false
}

// better reports whether a should be kept over its alias b.
func better(a, b precheck.Finding) bool {
	if (a.Kind == precheck.Malicious) != (b.Kind == precheck.Malicious) {
		return a.Kind == precheck.Malicious
	}
	if a.Severity != b.Severity {
		return a.Severity > b.Severity
	}
	return a.ID < b.ID
}

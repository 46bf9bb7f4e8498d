package osvdb

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/phylum-box/phylum-box/internal/flock"

	bolt "go.etcd.io/bbolt"
)

// maxRecordSize bounds one OSV document. The largest real records (kernel CVEs with
// thousands of commits) are a few MB; anything bigger is corrupt or hostile, and
// reading it would let a crafted zip exhaust memory.
const maxRecordSize = 64 << 20

// source is one input: a zip, a directory or a single JSON file. label names it in
// errors and in the status (the URL for downloads).
type source struct {
	label string
	path  string
}

// Import builds a new database from sources — OSV all.zip exports, directories of
// OSV JSON records (searched recursively) or single .json files — merged over the
// current database at dbPath: an advisory in the sources replaces the same advisory
// for the same package, a withdrawn one removes it, everything else is kept. The
// new database is written next to dbPath and renamed over it only when complete, so
// a failed, interrupted or corrupt import leaves the old database as it was.
func Import(ctx context.Context, dbPath string, sources []string, progress *Progress) error {
	if len(sources) == 0 {
		return errors.New("nothing to import: give one or more OSV zips, directories or .json files")
	}
	srcs := make([]source, len(sources))
	for i, s := range sources {
		srcs[i] = source{label: s, path: s}
	}
	unlock, err := lockUpdates(ctx, dbPath, progress)
	if err != nil {
		return err
	}
	defer unlock()
	return build(ctx, buildOptions{
		dbPath:   dbPath,
		sources:  srcs,
		progress: progress,
	})
}

type buildOptions struct {
	dbPath  string
	sources []source
	// replace lists the ecosystems whose data comes only from the sources (Update:
	// an export is complete for its ecosystem). When it is empty (Import), the
	// sources are merged over the current data of every ecosystem.
	replace  []string
	progress *Progress
	now      func() time.Time
}

// build writes a complete new database and swaps it in. The caller holds the
// update lock.
func build(ctx context.Context, o buildOptions) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("%w (the database at %s is unchanged)", err, o.dbPath)
		}
	}()
	if o.now == nil {
		o.now = time.Now
	}
	// Records of other ecosystems inside a replaced export (an advisory affecting
	// npm and PyPI is in both zips) are left to their own export.
	write := func(eco string) bool { return len(o.replace) == 0 || slices.Contains(o.replace, eco) }
	dir := filepath.Dir(o.dbPath)
	tmp, err := os.CreateTemp(dir, tempPrefix(o.dbPath)+"new-*")
	if err != nil {
		return fmt.Errorf("create the new database next to %s: %w", o.dbPath, err)
	}
	tmpPath := tmp.Name()
	// The data is public advisories; other local users' checks may read it.
	err = tmp.Chmod(0o644)
	tmp.Close()
	if err != nil {
		os.Remove(tmpPath)
		return fmt.Errorf("create the new database next to %s: %w", o.dbPath, err)
	}
	committed := false
	defer func() {
		if !committed {
			os.Remove(tmpPath)
		}
	}()

	// NoSync: nothing is visible until the rename, and one fsync at the end replaces
	// one per batch. NoFreelistSync: the finished file is only ever opened read-only,
	// which never needs the freelist.
	nb, err := bolt.Open(tmpPath, 0o644, &bolt.Options{
		NoSync: true, NoFreelistSync: true, FreelistType: bolt.FreelistMapType,
		InitialMmapSize: 256 << 20,
	})
	if err != nil {
		return fmt.Errorf("create the new database %s: %w", tmpPath, err)
	}
	// Grow the file in small steps (bbolt's default is 16 MB), so the finished
	// database carries little slack.
	nb.AllocSize = 1 << 20
	defer func() {
		if nb != nil {
			nb.Close()
		}
	}()

	w := newWriter(nb, dir, tempPrefix(o.dbPath))
	defer w.cleanup()
	old := copyOld(ctx, o, nb)
	st := Status{Format: formatVersion}

	ecoSources := map[string][]string{}
	withdrawn := map[string]int{}
	for _, src := range o.sources {
		if err := ctx.Err(); err != nil {
			return err
		}
		seen := map[string]bool{}
		convert := func(name string, data []byte) (converted, error) {
			rec, err := decodeRecord(data)
			if err != nil {
				return converted{}, fmt.Errorf("%s: %s: not a valid OSV record: %w", src.label, name, err)
			}
			return convert(rec, write), nil
		}
		err := eachRecord(ctx, src, o.progress, convert, func(c converted) error {
			counted := ""
			for _, op := range c.ops {
				seen[op.eco] = true
				// A withdrawn advisory counts once per ecosystem, not per package
				// (convert sorts ops by ecosystem).
				if c.withdrawn && op.eco != counted {
					withdrawn[op.eco]++
					counted = op.eco
				}
				if err := w.push(op); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		for eco := range seen {
			ecoSources[eco] = append(ecoSources[eco], src.label)
		}
	}
	if err := w.finish(ctx); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	now := o.now().UTC()
	st.Updated = now
	err = nb.Update(func(tx *bolt.Tx) error {
		for _, eco := range Ecosystems {
			_, fresh := ecoSources[eco]
			if slices.Contains(o.replace, eco) {
				fresh = true
				if _, err := tx.CreateBucketIfNotExists([]byte(eco)); err != nil {
					return err
				}
			}
			b := tx.Bucket([]byte(eco))
			if b == nil {
				continue
			}
			es, carried := old[eco]
			if fresh || !carried {
				es = EcosystemStatus{Name: eco, Updated: now, Source: ecoSources[eco], Withdrawn: withdrawn[eco]}
			}
			es.Records, es.Packages = countBucket(b)
			st.Ecosystems = append(st.Ecosystems, es)
		}
		m, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		js, err := json.Marshal(st)
		if err != nil {
			return err
		}
		if err := m.Put(keyFormat, []byte(fmt.Sprint(formatVersion))); err != nil {
			return err
		}
		return m.Put(keyStatus, js)
	})
	if err != nil {
		return fmt.Errorf("write the new database: %w", err)
	}
	if err := nb.Sync(); err != nil {
		return fmt.Errorf("sync the new database: %w", err)
	}
	cerr := nb.Close()
	nb = nil
	if cerr != nil {
		return fmt.Errorf("close the new database: %w", cerr)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.Rename(tmpPath, o.dbPath); err != nil {
		return fmt.Errorf("replace %s: %w", o.dbPath, err)
	}
	committed = true
	// The rename is durable only once the directory entry is on disk.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	for _, es := range st.Ecosystems {
		o.progress.logf("%s: %d advisories for %d packages", es.Name, es.Records, es.Packages)
	}
	return nil
}

// tempPrefix starts the name of every temporary file an update or import makes
// next to the database (".osv.db.new-*", ".osv.db.run-*", ".osv.db.download-*"),
// so the next one can remove what a killed process left behind.
func tempPrefix(dbPath string) string { return "." + filepath.Base(dbPath) + "." }

// lockUpdates serialises updates and imports of dbPath on dbPath+".lock" (readers
// never take it) and, once it holds the lock, removes temporary files that a killed
// update left behind.
func lockUpdates(ctx context.Context, dbPath string, p *Progress) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(dbPath), 0o755); err != nil {
		return nil, fmt.Errorf("create the database directory: %w", err)
	}
	f, err := os.OpenFile(dbPath+".lock", os.O_CREATE|os.O_RDWR|syscall.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", dbPath, err)
	}
	err = flock.Lock(ctx, f, func() {
		p.logf("waiting for another database update to finish (%s.lock)", dbPath)
	})
	if err != nil {
		f.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("lock %s: %w", dbPath, err)
	}
	if stale, _ := filepath.Glob(filepath.Join(filepath.Dir(dbPath), tempPrefix(dbPath)+"*")); len(stale) > 0 {
		for _, s := range stale {
			os.Remove(s)
		}
		p.logf("removed %d temporary files left by an interrupted update", len(stale))
	}
	return func() { f.Close() }, nil
}

// copyOld carries the chosen ecosystems of the current database into nb and returns
// their status. An unreadable current database is not fatal — rebuilding it is how
// the user repairs it — but it is reported.
func copyOld(ctx context.Context, o buildOptions, nb *bolt.DB) map[string]EcosystemStatus {
	res := map[string]EcosystemStatus{}
	if _, err := os.Stat(o.dbPath); err != nil {
		return res
	}
	old, err := Open(o.dbPath)
	if err != nil {
		o.progress.logf("warning: not keeping data from the current database: %v", err)
		return res
	}
	defer old.Close()
	st, _ := old.Status()
	// Copied in key order and in bounded transactions, like the writer does, so
	// carrying a 250,000-advisory ecosystem over costs little memory.
	err = old.bolt.View(func(otx *bolt.Tx) error {
		for _, eco := range Ecosystems {
			ob := otx.Bucket([]byte(eco))
			if ob == nil || slices.Contains(o.replace, eco) {
				continue
			}
			c := ob.Cursor()
			k, v := c.First()
			for first := true; first || k != nil; first = false {
				if err := ctx.Err(); err != nil {
					return err
				}
				err := nb.Update(func(ntx *bolt.Tx) error {
					nbk, err := ntx.CreateBucketIfNotExists([]byte(eco))
					if err != nil {
						return err
					}
					nbk.FillPercent = 1.0
					// The old mmap stays valid for the whole read transaction, which
					// outlives each of these commits.
					for n := 0; k != nil && n < txOps; n++ {
						if err := nbk.Put(k, v); err != nil {
							return err
						}
						k, v = c.Next()
					}
					return nil
				})
				if err != nil {
					return err
				}
			}
			if es, ok := st.Ecosystem(eco); ok {
				res[eco] = es
			} else {
				res[eco] = EcosystemStatus{Name: eco}
			}
		}
		return nil
	})
	if err != nil {
		o.progress.logf("warning: not keeping data from the current database: %v", err)
		return map[string]EcosystemStatus{}
	}
	return res
}

// countBucket counts distinct advisory ids and package names. Keys are
// name 0x00 id, sorted by name.
//
// Ids are counted by 64-bit FNV hash: a set of 250,000 hashes is a few MB where a
// set of strings would be tens; a collision would only miscount by one.
func countBucket(b *bolt.Bucket) (records, packages int) {
	ids := map[uint64]struct{}{}
	var last []byte
	c := b.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		i := bytes.IndexByte(k, 0)
		if i < 0 {
			continue
		}
		if last == nil || !bytes.Equal(last, k[:i]) {
			packages++
			last = k[:i]
		}
		h := fnv.New64a()
		h.Write(k[i+1:])
		ids[h.Sum64()] = struct{}{}
	}
	return len(ids), packages
}

// converted is one record turned into database writes.
type converted struct {
	ops       []op
	withdrawn bool
}

// convert runs in the decode workers: everything per-record that costs CPU
// (classification, CVSS scoring, encoding) happens here, off the writer.
func convert(rec *osvRecord, write func(string) bool) converted {
	c := converted{withdrawn: rec.Withdrawn != ""}
	if strings.IndexByte(rec.ID, 0) >= 0 {
		return c // cannot be a real id; would corrupt the key layout
	}
	for k, e := range entriesFor(rec, write) {
		if strings.IndexByte(k.Name, 0) >= 0 {
			continue
		}
		key := make([]byte, 0, len(k.Name)+1+len(rec.ID))
		key = append(append(append(key, k.Name...), 0), rec.ID...)
		o := op{eco: k.Ecosystem, key: key}
		if !c.withdrawn {
			o.val = appendEntry(nil, e)
		}
		c.ops = append(c.ops, o)
	}
	// Deterministic order, grouped by ecosystem.
	slices.SortFunc(c.ops, func(a, b op) int {
		if c := strings.Compare(a.eco, b.eco); c != 0 {
			return c
		}
		return bytes.Compare(a.key, b.key)
	})
	return c
}

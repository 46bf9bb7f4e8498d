package osvdb

import (
	"bufio"
	"bytes"
	"container/heap"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// op is one pending write: put (val != nil) or delete.
type op struct {
	eco string
	key []byte
	val []byte
}

// The writer turns the stream of ops into a database with bounded memory. One bbolt
// transaction holding every write of a 250,000-record export keeps every dirty node
// and page buffer of the whole tree in memory at commit (measured: >300 MB RSS), so
// instead ops are packed into an arena, sorted, spilled to run files next to the
// database when the arena is full, and finally merged and applied in key order in
// small transactions. Sorted application also packs leaf pages full.
// Variables so tests can force spills and many transactions.
var (
	// runBytes is the capacity of the in-memory arena of encoded ops; it is
	// allocated once and never grows (unless a single op is larger).
	runBytes = 16 << 20
	// txOps and txBytes bound one write transaction.
	txOps   = 20_000
	txBytes = 8 << 20
)

type writer struct {
	db    *bolt.DB
	dir   string
	name  string // prefix of run files
	arena []byte
	idx   []uint32 // offsets of records in arena
	seq   uint64   // order of arrival: a later op for the same key wins
	runs  []string
}

func newWriter(db *bolt.DB, dir, prefix string) *writer {
	return &writer{db: db, dir: dir, name: prefix + "run-*"}
}

// Record layout in the arena and in run files:
// uvarint seq | eco index | del flag | uvarint len(key) | key | uvarint len(val) | val
type rec struct {
	seq uint64
	eco byte
	del bool
	key []byte
	val []byte
}

func ecoIndex(eco string) (byte, bool) {
	i := slices.Index(Ecosystems, eco)
	return byte(i), i >= 0
}

func (w *writer) push(o op) error {
	e, ok := ecoIndex(o.eco)
	if !ok {
		return nil
	}
	if need := len(o.key) + len(o.val) + 32; len(w.arena)+need > cap(w.arena) {
		if len(w.idx) > 0 {
			if err := w.spill(); err != nil {
				return err
			}
		}
		if cap(w.arena) < max(runBytes, need) {
			w.arena = make([]byte, 0, max(runBytes, need))
		}
	}
	w.idx = append(w.idx, uint32(len(w.arena)))
	w.seq++
	w.arena = binary.AppendUvarint(w.arena, w.seq)
	del := byte(0)
	if o.val == nil {
		del = 1
	}
	w.arena = append(w.arena, e, del)
	w.arena = binary.AppendUvarint(w.arena, uint64(len(o.key)))
	w.arena = append(w.arena, o.key...)
	w.arena = binary.AppendUvarint(w.arena, uint64(len(o.val)))
	w.arena = append(w.arena, o.val...)
	return nil
}

// parseRec reads one record from b (trusted: we wrote it).
func parseRec(b []byte) (r rec, n int) {
	seq, k := binary.Uvarint(b)
	n += k
	r.seq = seq
	r.eco, r.del = b[n], b[n+1] == 1
	n += 2
	kl, k := binary.Uvarint(b[n:])
	n += k
	r.key = b[n : n+int(kl)]
	n += int(kl)
	vl, k := binary.Uvarint(b[n:])
	n += k
	r.val = b[n : n+int(vl)]
	n += int(vl)
	if r.del {
		r.val = nil
	}
	return r, n
}

func recLess(a, b rec) int {
	if a.eco != b.eco {
		return int(a.eco) - int(b.eco)
	}
	if c := bytes.Compare(a.key, b.key); c != 0 {
		return c
	}
	switch {
	case a.seq < b.seq:
		return -1
	case a.seq > b.seq:
		return 1
	}
	return 0
}

func (w *writer) sortArena() {
	slices.SortFunc(w.idx, func(x, y uint32) int {
		a, _ := parseRec(w.arena[x:])
		b, _ := parseRec(w.arena[y:])
		return recLess(a, b)
	})
}

// spill writes the sorted arena to a run file and empties it.
func (w *writer) spill() error {
	w.sortArena()
	f, err := os.CreateTemp(w.dir, w.name)
	if err != nil {
		return fmt.Errorf("write import run: %w", err)
	}
	w.runs = append(w.runs, f.Name())
	bw := bufio.NewWriterSize(f, 1<<20)
	for _, off := range w.idx {
		_, n := parseRec(w.arena[off:])
		bw.Write(w.arena[off : int(off)+n])
	}
	err = bw.Flush()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write import run %s: %w", f.Name(), err)
	}
	w.arena, w.idx = w.arena[:0], w.idx[:0]
	return nil
}

func (w *writer) cleanup() {
	for _, r := range w.runs {
		os.Remove(r)
	}
	w.runs = nil
}

// finish applies every op in key order.
func (w *writer) finish(ctx context.Context) error {
	var next func() (rec, bool, error)
	if len(w.runs) == 0 {
		w.sortArena()
		i := 0
		next = func() (rec, bool, error) {
			if i == len(w.idx) {
				return rec{}, false, nil
			}
			r, _ := parseRec(w.arena[w.idx[i]:])
			i++
			return r, true, nil
		}
	} else {
		if len(w.idx) > 0 {
			if err := w.spill(); err != nil {
				return err
			}
		}
		w.arena, w.idx = nil, nil
		m, err := newMerger(w.runs)
		if err != nil {
			return err
		}
		defer m.close()
		next = m.next
	}
	return w.apply(ctx, next)
}

// apply writes records in small transactions. bbolt keeps the key and value slices
// until commit: arena records do not move during apply, and the merger hands out
// copies.
func (w *writer) apply(ctx context.Context, next func() (rec, bool, error)) error {
	done := false
	for !done {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := w.db.Update(func(tx *bolt.Tx) error {
			var buckets [8]*bolt.Bucket
			for n, size := 0, 0; n < txOps && size < txBytes; n++ {
				r, ok, err := next()
				if err != nil {
					return err
				}
				if !ok {
					done = true
					return nil
				}
				b := buckets[r.eco]
				if b == nil {
					if b, err = tx.CreateBucketIfNotExists([]byte(Ecosystems[r.eco])); err != nil {
						return err
					}
					b.FillPercent = 1.0 // keys arrive in order
					buckets[r.eco] = b
				}
				if r.del {
					err = b.Delete(r.key)
				} else {
					err = b.Put(r.key, r.val)
				}
				if err != nil {
					return err
				}
				size += len(r.key) + len(r.val)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("write the new database: %w", err)
		}
	}
	return nil
}

// merger is a k-way merge over sorted run files.
type merger struct {
	files []*os.File
	heads mergeHeap
}

type runReader struct {
	r   *bufio.Reader
	buf []byte
	cur rec
}

func (rr *runReader) read() (bool, error) {
	seq, err := binary.ReadUvarint(rr.r)
	if err == io.EOF {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var hdr [2]byte
	if _, err := io.ReadFull(rr.r, hdr[:]); err != nil {
		return false, err
	}
	kl, err := binary.ReadUvarint(rr.r)
	if err != nil {
		return false, err
	}
	rr.buf = slices.Grow(rr.buf[:0], int(kl))[:kl]
	if _, err := io.ReadFull(rr.r, rr.buf); err != nil {
		return false, err
	}
	vl, err := binary.ReadUvarint(rr.r)
	if err != nil {
		return false, err
	}
	rr.buf = slices.Grow(rr.buf, int(vl))[:int(kl)+int(vl)]
	if _, err := io.ReadFull(rr.r, rr.buf[kl:]); err != nil {
		return false, err
	}
	rr.cur = rec{seq: seq, eco: hdr[0], del: hdr[1] == 1, key: rr.buf[:kl], val: rr.buf[kl:]}
	if rr.cur.del {
		rr.cur.val = nil
	}
	return true, nil
}

type mergeHeap []*runReader

func (h mergeHeap) Len() int           { return len(h) }
func (h mergeHeap) Less(i, j int) bool { return recLess(h[i].cur, h[j].cur) < 0 }
func (h mergeHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *mergeHeap) Push(x any)        { *h = append(*h, x.(*runReader)) }
func (h *mergeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func newMerger(runs []string) (*merger, error) {
	m := &merger{}
	for _, p := range runs {
		f, err := os.Open(p)
		if err != nil {
			m.close()
			return nil, err
		}
		m.files = append(m.files, f)
		rr := &runReader{r: bufio.NewReaderSize(f, 256<<10)}
		ok, err := rr.read()
		if err != nil {
			m.close()
			return nil, fmt.Errorf("read import run %s: %w", p, err)
		}
		if ok {
			m.heads = append(m.heads, rr)
		}
	}
	heap.Init(&m.heads)
	return m, nil
}

// next returns the smallest pending record (a copy: its reader reuses its buffer).
func (m *merger) next() (rec, bool, error) {
	if len(m.heads) == 0 {
		return rec{}, false, nil
	}
	top := m.heads[0]
	r := top.cur
	// Copy out before the reader reuses its buffer.
	r.key = bytes.Clone(r.key)
	if r.val != nil {
		r.val = bytes.Clone(r.val)
	}
	ok, err := top.read()
	if err != nil {
		return rec{}, false, err
	}
	if ok {
		heap.Fix(&m.heads, 0)
	} else {
		heap.Pop(&m.heads)
	}
	return r, true, nil
}

func (m *merger) close() {
	for _, f := range m.files {
		f.Close()
	}
}

package osvdb

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

// This file reads the OSV records out of an import source: eachRecord walks a
// zip archive (eachZipRecord, readZipEntry) or a directory (eachDirRecord) and
// feeds each JSON document through convert and consume; Import and build, in
// import.go, write the results to the store.

// convertFunc decodes one document (called concurrently); consumeFunc receives the
// results one at a time, in the order of the documents in the source.
type (
	convertFunc func(name string, data []byte) (converted, error)
	consumeFunc func(converted) error
)

// eachRecord feeds every OSV JSON document in src through convert and consume.
func eachRecord(ctx context.Context, src source, p *Progress, conv convertFunc, consume consumeFunc) error {
	fi, err := os.Stat(src.path)
	if err != nil {
		return fmt.Errorf("%s: %w", src.label, err)
	}
	switch {
	case fi.IsDir():
		return eachDirRecord(ctx, src, p, func(name string, data []byte) error {
			c, err := conv(name, data)
			if err != nil {
				return err
			}
			return consume(c)
		})
	case strings.HasSuffix(strings.ToLower(src.path), ".json"):
		data, err := readLimited(src.path)
		if err != nil {
			return fmt.Errorf("%s: %w", src.label, err)
		}
		c, err := conv(filepath.Base(src.path), data)
		if err != nil {
			return err
		}
		return consume(c)
	default:
		return eachZipRecord(ctx, src, fi.Size(), p, conv, consume)
	}
}

// zipChunk is a run of consecutive zip entries handled by one worker.
const zipChunk = 256

// eachZipRecord streams a zip's .json entries: archive/zip reads the central
// directory up front (a truncated download fails here) and checks each entry's
// CRC-32 when it is read to the end (a corrupt one fails there).
//
// Inflating and decoding are most of an import's CPU time, so workers (one per CPU)
// each take chunks of consecutive entries through their own decompressor; results
// are consumed in chunk order, so the outcome does not depend on scheduling. At most
// two chunks per worker are in flight, which bounds memory.
func eachZipRecord(ctx context.Context, src source, size int64, p *Progress, conv convertFunc, consume consumeFunc) error {
	f, err := os.Open(src.path)
	if err != nil {
		return fmt.Errorf("%s: %w", src.label, err)
	}
	defer f.Close()
	zr, err := zip.NewReader(f, size)
	if err != nil {
		return fmt.Errorf("%s: not a readable zip (truncated or corrupt download?): %w", src.label, err)
	}
	b := p.newBar(int64(len(zr.File)), false, "importing "+filepath.Base(src.label))
	defer b.finish()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		items []converted
		err   error
	}
	nchunks := (len(zr.File) + zipChunk - 1) / zipChunk
	workers := min(runtime.GOMAXPROCS(0), 8)
	results := make([]chan result, nchunks)
	for i := range results {
		results[i] = make(chan result, 1)
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf bytes.Buffer
			for c := range jobs {
				var r result
				end := min((c+1)*zipChunk, len(zr.File))
				for i := c * zipChunk; i < end; i++ {
					zf := zr.File[i]
					// The central directory of a 250,000-entry zip is ~60 MB of
					// *zip.File; let each entry go once it has been read.
					zr.File[i] = nil
					if ctx.Err() != nil {
						r.err = ctx.Err()
						break
					}
					data, err := readZipEntry(zf, &buf)
					if err != nil {
						r.err = fmt.Errorf("%s: %w", src.label, err)
						break
					}
					if data == nil {
						continue
					}
					cv, err := conv(zf.Name, data)
					if err != nil {
						r.err = err
						break
					}
					r.items = append(r.items, cv)
				}
				results[c] <- r
			}
		}()
	}
	// Feed chunk numbers, staying at most 2×workers chunks ahead of the consumer.
	window := make(chan struct{}, 2*workers)
	go func() {
		defer close(jobs)
		for c := 0; c < nchunks; c++ {
			select {
			case window <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- c:
			case <-ctx.Done():
				return
			}
		}
	}()
	defer wg.Wait()
	defer cancel()
	for c := 0; c < nchunks; c++ {
		var r result
		select {
		case r = <-results[c]:
		case <-ctx.Done():
			return ctx.Err()
		}
		<-window
		if r.err != nil {
			return r.err
		}
		for _, it := range r.items {
			if err := consume(it); err != nil {
				return err
			}
		}
		b.add(int64(min((c+1)*zipChunk, len(zr.File)) - c*zipChunk))
	}
	return nil
}

// readZipEntry returns the entry's bytes (valid until the next call with buf), or
// nil for entries that are not OSV JSON documents.
func readZipEntry(zf *zip.File, buf *bytes.Buffer) ([]byte, error) {
	if zf.FileInfo().IsDir() || !strings.HasSuffix(strings.ToLower(zf.Name), ".json") {
		return nil, nil
	}
	if zf.UncompressedSize64 > maxRecordSize {
		return nil, fmt.Errorf("%s: entry of %d bytes is larger than any OSV record (corrupt zip?)", zf.Name, zf.UncompressedSize64)
	}
	rc, err := zf.Open()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", zf.Name, err)
	}
	defer rc.Close()
	buf.Reset()
	if _, err := buf.ReadFrom(io.LimitReader(rc, maxRecordSize+1)); err != nil {
		return nil, fmt.Errorf("%s: corrupt zip entry: %w", zf.Name, err)
	}
	if buf.Len() > maxRecordSize {
		return nil, fmt.Errorf("%s: entry larger than its header says (corrupt zip)", zf.Name)
	}
	return buf.Bytes(), nil
}

func eachDirRecord(ctx context.Context, src source, p *Progress, fn func(string, []byte) error) error {
	b := p.newBar(-1, false, "importing "+filepath.Base(src.label))
	defer b.finish()
	n := 0
	return filepath.WalkDir(src.path, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("%s: %w", src.label, err)
		}
		if d.IsDir() || !strings.HasSuffix(strings.ToLower(d.Name()), ".json") {
			return nil
		}
		if n++; n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		b.add(1)
		data, err := readLimited(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src.path, path)
		return fn(rel, data)
	})
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxRecordSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) > maxRecordSize {
		return nil, fmt.Errorf("%s: larger than any OSV record (%d bytes)", path, maxRecordSize)
	}
	return data, nil
}

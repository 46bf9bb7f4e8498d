package osvdb

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
)

// TestConcurrentReaders: many readers (separate Opens, as separate processes would
// have, and goroutines sharing one) look up while an import swaps the file.
func TestConcurrentReaders(t *testing.T) {
	path := filepath.Join(t.TempDir(), "osv.db")
	src := filepath.Join(corpusDir(t), "osv")
	if err := Import(context.Background(), path, []string{src}, nil); err != nil {
		t.Fatal(err)
	}
	shared := mustOpen(t, path)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			db := shared
			if i%2 == 0 {
				var err error
				if db, err = Open(path); err != nil {
					errs <- err
					return
				}
				defer db.Close()
			}
			for j := 0; j < 20; j++ {
				fs, err := db.Lookup("npm", "chalk", "5.6.1")
				if err != nil || len(fs) != 1 {
					errs <- err
					return
				}
			}
		}(i)
	}
	if err := Import(context.Background(), path, []string{src}, nil); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("reader: %v", err)
	}
}

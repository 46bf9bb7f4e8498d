package safefs

import (
	"os"
	"path/filepath"
)

// ReplaceFile writes data to path through a temporary file in the same
// directory and a rename (the directory made 0700 if missing), so a concurrent
// reader sees the old file or the new one, never half of either. It is for
// phylum-box's own caches under the user's cache dir, which are never mounted
// into a container; the temporary file is removed when anything fails.
func ReplaceFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	cerr := f.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(f.Name(), path)
	}
	if werr != nil {
		os.Remove(f.Name())
	}
	return werr
}

// Package corpus finds the shared test data: ../shared/corpus beside the
// repository (real lockfiles, OSV records), where developers and CI keep it. Only
// tests import it.
package corpus

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Find returns the corpus directory: shared/corpus beside the repository root,
// the first directory above the working directory (a test's package directory)
// that holds go.mod.
func Find() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the test directory")
		}
		dir = parent
	}
	c := filepath.Join(dir, "..", "shared", "corpus")
	if _, err := os.Stat(c); err != nil {
		return "", fmt.Errorf("test corpus missing: %w (it lives beside the repository as ../shared/corpus)", err)
	}
	return c, nil
}

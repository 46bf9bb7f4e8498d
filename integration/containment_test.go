package integration

import (
	"path/filepath"
	"testing"
)

// containmentOnly writes the caller's own policy so that neither the static
// analysis nor the behaviour monitor stops a hostile fixture before it runs or
// before the sync: the test then proves what the sandbox holds by itself, the
// last line. The detections are tested in detect*_test.go with the default
// policy.
func containmentOnly(t testing.TB, m mode, home string) {
	t.Helper()
	writeFile(t, filepath.Join(home, ".config", "phylum-box", "policy.yaml"),
		"# containment tests: the sandbox alone\nbehaviour: {monitor: false}\nanalysis: {block: none}\n", 0o644)
	chownTree(t, m, filepath.Join(home, ".config"))
}

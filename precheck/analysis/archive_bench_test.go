package analysis

import (
	"context"
	"path/filepath"
	"testing"
)

// BenchmarkArchiveSetuptools: the wheel every pip install of an sdist fetches as
// its build backend.
func BenchmarkArchiveSetuptools(b *testing.B) {
	m, _ := filepath.Glob("/usr/share/python-wheels/setuptools-*.whl")
	if len(m) == 0 {
		b.Skip("no setuptools wheel in /usr/share/python-wheels")
	}
	for i := 0; i < b.N; i++ {
		if _, err := archiveIn(context.Background(), Package{"PyPI", "setuptools", ""}, filepath.Dir(m[0]), filepath.Base(m[0])); err != nil {
			b.Fatal(err)
		}
	}
}

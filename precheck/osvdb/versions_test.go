package osvdb

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phylum-box/phylum-box/precheck"
)

// TestVersionOrdering checks every comparison line of the corpus's version fixtures
// through the same parse path the matcher uses, both ways round.
func TestVersionOrdering(t *testing.T) {
	tests := []struct {
		file string
		ecos []string
	}{
		{"semver-versions.txt", []string{precheck.NPM, precheck.CratesIO}},
		{"pypi-versions.txt", []string{precheck.PyPI}},
		{"pypi-versions-generated.txt", []string{precheck.PyPI}},
		{"rubygems-versions.txt", []string{precheck.RubyGems}},
		{"rubygems-versions-generated.txt", []string{precheck.RubyGems}},
	}
	dir := filepath.Join(corpusDir(t), "versions")
	for _, tt := range tests {
		for _, eco := range tt.ecos {
			t.Run(eco+"/"+tt.file, func(t *testing.T) {
				f, err := os.Open(filepath.Join(dir, tt.file))
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				sc := bufio.NewScanner(f)
				n, failed := 0, 0
				for line := 1; sc.Scan(); line++ {
					s := strings.TrimSpace(sc.Text())
					if s == "" || strings.HasPrefix(s, "#") || strings.HasPrefix(s, "//") {
						continue
					}
					parts := strings.Fields(s)
					if len(parts) != 3 {
						t.Fatalf("%s:%d: want `A op B`, got %q", tt.file, line, s)
					}
					want := map[string]int{"<": -1, "=": 0, ">": 1}[parts[1]]
					n++
					for _, dir := range []struct {
						a, b string
						want int
					}{{parts[0], parts[2], want}, {parts[2], parts[0], -want}} {
						a, err := parseVersion(rangeEcosystem, eco, dir.a)
						if err != nil {
							t.Errorf("%s:%d: %v", tt.file, line, err)
							failed++
							continue
						}
						b, err := parseVersion(rangeEcosystem, eco, dir.b)
						if err != nil {
							t.Errorf("%s:%d: %v", tt.file, line, err)
							failed++
							continue
						}
						if got, err := a.Compare(b); err != nil || got != dir.want {
							t.Errorf("%s:%d: compare(%q, %q) = %d, %v; want %d", tt.file, line, dir.a, dir.b, got, err, dir.want)
							failed++
						}
					}
				}
				if err := sc.Err(); err != nil {
					t.Fatal(err)
				}
				if n == 0 {
					t.Fatal("no comparisons read")
				}
				t.Logf("%d comparisons, %d failures", n, failed)
			})
		}
	}
}

package install

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phylum-box/phylum-box/precheck/analysis"
)

func TestAnalysisCache(t *testing.T) {
	c := &analysisCache{dir: t.TempDir(), salt: "build-1"}
	fs := []analysis.Finding{{Rule: analysis.RuleBinaryDrop, Severity: analysis.Low, Summary: "s", Evidence: []string{"install.js:1: x"}}}
	c.put("npm", "esbuild", "0.21.5", "sha512-AAA", fs)
	c.put("npm", "left-pad", "1.3.0", "sha512-BBB", nil)
	if got, ok := c.get("npm", "esbuild", "0.21.5", "sha512-AAA"); !ok || len(got) != 1 || got[0].Evidence[0] != "install.js:1: x" {
		t.Errorf("esbuild: %v %v", got, ok)
	}
	if got, ok := c.get("npm", "left-pad", "1.3.0", "sha512-BBB"); !ok || len(got) != 0 {
		t.Errorf("a clean package is cached as clean: %v %v", got, ok)
	}
	for _, k := range [][4]string{
		{"npm", "esbuild", "0.21.5", "sha512-OTHER"}, // another tarball under the same name
		{"npm", "esbuild", "0.21.6", "sha512-AAA"},
		{"npm", "esbuild", "0.21.5", ""}, // no pinned hash: never cached
	} {
		if _, ok := c.get(k[0], k[1], k[2], k[3]); ok {
			t.Errorf("%v: a hit", k)
		}
	}
	c.put("npm", "x", "1.0.0", "", fs)
	if _, ok := c.get("npm", "x", "1.0.0", ""); ok {
		t.Error("an entry without a hash was stored")
	}
	// Another build of phylum-box (other rules) does not see the results.
	c2 := &analysisCache{dir: c.dir, salt: "build-2"}
	if _, ok := c2.get("npm", "esbuild", "0.21.5", "sha512-AAA"); ok {
		t.Error("a result of another build was used")
	}
	if _, ok := (&analysisCache{}).get("npm", "esbuild", "0.21.5", "sha512-AAA"); ok {
		t.Error("the zero cache had a hit")
	}
}

// The cache is keyed by the analysis's version, not by the binary: two builds
// (two newAnalysisCache of the same rules) share results, in the user's cache
// dir, and a result stored under another version is not used.
func TestAnalysisCacheKeyedByAnalyzerVersion(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	a, b := newAnalysisCache(), newAnalysisCache()
	if a.dir == "" || a.dir != filepath.Join(os.Getenv("XDG_CACHE_HOME"), "phylum-box", "analysis") {
		t.Fatalf("cache dir %q", a.dir)
	}
	if !strings.Contains(a.salt, analysis.Version()) {
		t.Errorf("salt %q does not name the analysis version %q", a.salt, analysis.Version())
	}
	fs := []analysis.Finding{{Rule: analysis.RuleBinaryDrop, Severity: analysis.Low, Summary: "s"}}
	a.put("npm", "esbuild", "0.21.5", "sha512-AAA", fs)
	if got, ok := b.get("npm", "esbuild", "0.21.5", "sha512-AAA"); !ok || len(got) != 1 {
		t.Errorf("another run of the same rules missed the result: %v %v", got, ok)
	}
	old := &analysisCache{dir: a.dir, salt: "analysis 0-000000000000"}
	if _, ok := old.get("npm", "esbuild", "0.21.5", "sha512-AAA"); ok {
		t.Error("a result of other rules was used")
	}
}

package install

import (
	"archive/zip"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/phylum-box/phylum-box/precheck"
	"github.com/phylum-box/phylum-box/precheck/analysis"
)

func TestArchivePackage(t *testing.T) {
	resolved := []precheck.Package{
		{Ecosystem: precheck.PyPI, Name: "Pbox.Greet", Version: "1.0"},
		{Ecosystem: precheck.PyPI, Name: "setuptools", Version: "66.1.1"},
		{Ecosystem: precheck.RubyGems, Name: "pbox-ext", Version: "1.0.0"},
		{Ecosystem: precheck.RubyGems, Name: "nokogiri", Version: "1.16.0"},
	}
	for _, c := range []struct {
		eco, file, name, version string
		ok                       bool
	}{
		{precheck.PyPI, "pbox_greet-1.0-py3-none-any.whl", "Pbox.Greet", "1.0", true},
		{precheck.PyPI, "pbox_greet-1.0.0.tar.gz", "Pbox.Greet", "1.0", true}, // PEP 440: 1.0.0 is 1.0
		{precheck.PyPI, "setuptools-66.1.1-py3-none-any.whl", "setuptools", "66.1.1", true},
		{precheck.PyPI, "other-2.0.zip", "other", "2.0", true}, // not resolved: named by its file
		{precheck.PyPI, "other-2.0.tar.xz", "other", "2.0", true},
		{precheck.PyPI, "fetch.json", "", "", false},
		{precheck.PyPI, ".tmp-x-1.0.tar.gz", "", "", false},
		{precheck.RubyGems, "pbox-ext-1.0.0.gem", "pbox-ext", "1.0.0", true},
		{precheck.RubyGems, "nokogiri-1.16.0-x86_64-linux.gem", "nokogiri", "1.16.0", true},
		{precheck.RubyGems, "rack-3.1.8.gem", "rack", "3.1.8", true},
		{precheck.RubyGems, "README", "", "", false},
	} {
		p, ok := archivePackage(c.eco, c.file, resolved)
		if ok != c.ok || ok && (p.Name != c.name || p.Version != c.version || p.Ecosystem != c.eco) {
			t.Errorf("%s: got %+v %v, want %s@%s %v", c.file, p, ok, c.name, c.version, c.ok)
		}
	}
}

// TestAnalyzeArchiveCache: a downloaded archive's result is cached under the hash
// of its own bytes — the same file again is a hit, a file changed under the same
// name and version is analysed afresh (and its payload found).
func TestAnalyzeArchiveCache(t *testing.T) {
	dir := t.TempDir()
	wheel := func(init string) {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for name, body := range map[string]string{"x/__init__.py": init, "x-1.0.dist-info/METADATA": "Name: x\nVersion: 1.0\n"} {
			w, _ := zw.Create(name)
			w.Write([]byte(body))
		}
		zw.Close()
		if err := os.WriteFile(filepath.Join(dir, "x-1.0-py3-none-any.whl"), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cache := &analysisCache{dir: t.TempDir(), salt: "build-1"}
	target := analysisTarget{pkg: precheck.Package{Ecosystem: precheck.PyPI, Name: "x", Version: "1.0"}, dir: dir, archive: "x-1.0-py3-none-any.whl"}
	wheel("VALUE = 1\n")
	for i, wantHit := range []bool{false, true} {
		fs, hit, err := analyzeArchive(context.Background(), target, cache)
		if err != nil || hit != wantHit || len(fs) != 0 {
			t.Fatalf("run %d: hit %v (want %v), %v, %v", i, hit, wantHit, fs, err)
		}
	}
	wheel("import base64\nexec(base64.b64decode('aW1wb3J0IG9z'))\n")
	fs, hit, err := analyzeArchive(context.Background(), target, cache)
	if err != nil || hit || len(fs) == 0 || fs[0].Rule != analysis.RuleEvalDecode {
		t.Fatalf("the changed file: hit %v, %v, %v", hit, fs, err)
	}
}

// An archive the analysis cannot read (an .tar.xz sdist pip would install, a tar
// Go refuses) is a medium finding the policy weighs, not a log line only; a
// readable twin has none.
func TestAnalyzeAllUnreadableArchive(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x-1.0.tar.gz"), []byte("not gzip at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("y/__init__.py")
	w.Write([]byte("VALUE = 1\n"))
	zw.Close()
	if err := os.WriteFile(filepath.Join(dir, "y-1.0-py3-none-any.whl"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	x := precheck.Package{Ecosystem: precheck.PyPI, Name: "x", Version: "1.0"}
	y := precheck.Package{Ecosystem: precheck.PyPI, Name: "y", Version: "1.0"}
	targets := []analysisTarget{{pkg: x, dir: dir, archive: "x-1.0.tar.gz"}, {pkg: y, dir: dir, archive: "y-1.0-py3-none-any.whl"}}
	var errs int
	extra, _ := analyzeAll(context.Background(), targets, &analysisCache{}, func(analysisTarget, error) { errs++ })
	if errs != 1 || len(extra[x]) != 1 || extra[x][0].ID != analysis.RuleOversized || extra[x][0].Severity != precheck.SeverityMedium {
		t.Fatalf("unreadable archive: %d error(s), findings %+v", errs, extra[x])
	}
	if len(extra[y]) != 0 {
		t.Errorf("the readable wheel has findings: %+v", extra[y])
	}
}

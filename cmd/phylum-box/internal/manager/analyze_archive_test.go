package manager

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/phylum-box/phylum-box/precheck"
)

func TestAnalyzeNameFromFile(t *testing.T) {
	for _, c := range []struct{ eco, file, name, version string }{
		{precheck.PyPI, "pbox_pr_pth-1.0-py3-none-any.whl", "pbox_pr_pth", "1.0"},
		{precheck.PyPI, "my-pkg-2.3.1.tar.gz", "my-pkg", "2.3.1"},
		{precheck.RubyGems, "nokogiri-1.16.0-x86_64-linux.gem", "nokogiri", "1.16.0"},
		{precheck.CratesIO, "serde-json-1.0.0.crate", "serde-json", "1.0.0"},
		{precheck.PyPI, "noversion.zip", "", ""},
	} {
		if n, v := nameFromFile(c.eco, c.file); n != c.name || v != c.version {
			t.Errorf("nameFromFile(%q) = %q %q, want %q %q", c.file, n, v, c.name, c.version)
		}
	}
}

func TestAnalyzeArchiveTargets(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"a-1.0-py3-none-any.whl", "b-1.0.gem", "c-1.0.crate", "d-1.0.tar.gz"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		target string
		ok     bool
		eco    string
		name   string
		err    bool
	}{
		{target: "pypi:requests==2.31.0", ok: true, eco: precheck.PyPI, name: "requests"},
		{target: "pypi:requests@2.31.0", ok: true, eco: precheck.PyPI, name: "requests"},
		{target: "rubygems:rack@3.0.0", ok: true, eco: precheck.RubyGems, name: "rack"},
		{target: "crates:serde@1.0.0", ok: true, eco: precheck.CratesIO, name: "serde"},
		{target: "crates:serde", ok: true, err: true},
		{target: "pypi:../x@1", ok: true, err: true},
		{target: "./a-1.0-py3-none-any.whl", ok: true, eco: precheck.PyPI},
		{target: "./b-1.0.gem", ok: true, eco: precheck.RubyGems},
		{target: "./c-1.0.crate", ok: true, eco: precheck.CratesIO},
		{target: "./d-1.0.tar.gz", ok: true, eco: precheck.PyPI}, // not gzip: not npm's package/
		{target: "./missing.whl", ok: true, err: true},
		{target: "npm:lodash@4.17.21"},
		{target: "lodash@4.17.21"},
		{target: "./pkg.tgz"},
		{target: "."},
	} {
		job, ok, err := parseArchiveTarget(c.target, dir)
		if ok != c.ok || (err != nil) != c.err {
			t.Errorf("%s: ok %v err %v, want ok %v err %v", c.target, ok, err, c.ok, c.err)
			continue
		}
		if ok && !c.err && (job.Ecosystem != c.eco || c.name != "" && job.Name != c.name) {
			t.Errorf("%s: %+v", c.target, job)
		}
	}
}

func TestAnalyzeSparsePath(t *testing.T) {
	for in, want := range map[string]string{"a": "1/a", "ab": "2/ab", "abc": "3/a/abc", "Serde": "se/rd/serde"} {
		if got := sparsePath(in); got != want {
			t.Errorf("sparsePath(%q) = %q, want %q", in, got, want)
		}
	}
}

package install

import (
	"testing"

	"github.com/phylum-box/phylum-box/precheck"
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

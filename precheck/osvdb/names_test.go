package osvdb

import (
	"testing"

	"github.com/phylum-box/phylum-box/precheck"
)

func TestNormalizeName(t *testing.T) {
	tests := []struct {
		eco, in, want string
	}{
		{precheck.NPM, "lodash", "lodash"},
		{precheck.NPM, "@ctrl/tinycolor", "@ctrl/tinycolor"},
		{precheck.NPM, "JSONStream", "JSONStream"}, // npm is case-sensitive for legacy names
		{precheck.NPM, "-d3-ushape", "-d3-ushape"},
		{precheck.PyPI, "Jinja2", "jinja2"},
		{precheck.PyPI, "zope.interface", "zope-interface"},
		{precheck.PyPI, "Foo__Bar-._baz", "foo-bar-baz"},
		{precheck.PyPI, "_leading", "-leading"},
		{precheck.PyPI, "trailing.", "trailing-"},
		{precheck.PyPI, "requests", "requests"},
		{precheck.RubyGems, "37_pieces-of-flair", "37_pieces-of-flair"},
		{precheck.RubyGems, "ActiveSupport", "ActiveSupport"},
		{precheck.CratesIO, "Serde_JSON", "serde-json"},
		{precheck.CratesIO, "serde-json", "serde-json"},
	}
	for _, tt := range tests {
		if got := NormalizeName(tt.eco, tt.in); got != tt.want {
			t.Errorf("NormalizeName(%s, %q) = %q, want %q", tt.eco, tt.in, got, tt.want)
		}
	}
}

func TestCanonicalEcosystem(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"npm", "npm", true}, {"NPM", "npm", true}, {"pypi", "PyPI", true}, {"PyPI", "PyPI", true},
		{"rubygems", "RubyGems", true}, {"cargo", "crates.io", true}, {"crates.io", "crates.io", true},
		{"Go", "", false}, {"", "", false},
	}
	for _, tt := range tests {
		got, ok := CanonicalEcosystem(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("CanonicalEcosystem(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

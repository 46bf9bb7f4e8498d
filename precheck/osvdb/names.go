package osvdb

import (
	"strings"

	"github.com/phylum-box/phylum-box/precheck"
)

// Ecosystems lists the ecosystems this database stores, in OSV's spelling. They are
// also the default set for Update.
var Ecosystems = []string{precheck.NPM, precheck.PyPI, precheck.RubyGems, precheck.CratesIO}

// CanonicalEcosystem maps a user- or lockfile-supplied ecosystem name to OSV's
// spelling ("pypi" → "PyPI", "cargo" → "crates.io"); ok is false for ecosystems
// this database does not hold.
func CanonicalEcosystem(s string) (string, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "npm":
		return precheck.NPM, true
	case "pypi", "pip", "python":
		return precheck.PyPI, true
	case "rubygems", "gem", "gems", "ruby":
		return precheck.RubyGems, true
	case "crates.io", "crates", "cargo", "rust":
		return precheck.CratesIO, true
	}
	return "", false
}

// NormalizeName returns the key under which a package's advisories are stored.
//
//   - npm: as-is. The registry is case-sensitive for legacy packages (JSONStream and
//     jsonstream are different packages), and scoped names keep their "@scope/".
//   - PyPI: PEP 503 — lowercase, runs of "-", "_" and "." become one "-", so
//     "Jinja2", "jinja2" and "zope.interface"/"zope-interface" meet.
//   - RubyGems: as-is; gem names are case-sensitive and "_" and "-" are distinct.
//   - crates.io: lowercase with "_" → "-". crates.io refuses a new crate whose name
//     differs from an existing one only by case or by "-" versus "_", so the folded
//     name still identifies exactly one crate, and a lockfile or advisory that spells
//     it differently (foo_bar vs foo-bar) still matches.
func NormalizeName(ecosystem, name string) string {
	switch ecosystem {
	case precheck.PyPI:
		return normalizePyPI(name)
	case precheck.CratesIO:
		return strings.ReplaceAll(strings.ToLower(name), "_", "-")
	}
	return name
}

func normalizePyPI(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	sep := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '-' || c == '_' || c == '.':
			sep = true
			continue
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		if sep {
			b.WriteByte('-')
			sep = false
		}
		b.WriteByte(c)
	}
	if sep {
		b.WriteByte('-')
	}
	return b.String()
}

package lockfile

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"slices"
	"sort"
	"strings"

	"github.com/google/osv-scalibr/extractor/filesystem"
	"github.com/google/osv-scalibr/extractor/filesystem/language/ruby/gemfilelock"

	"github.com/phylum-box/phylum-box/precheck"
)

// Gemfile.lock wraps scalibr's gemfilelock extractor (its spec-line grammar splits
// "nokogiri (1.16.0-x86_64-linux)" into name, version and platform). scalibr reports GEM,
// GIT and PATH specs alike; a second pass over the section headers tells them apart by the
// line each spec is on: GIT and non-root PATH gems are Uncheckable, a PATH with `remote: .`
// is the project's own gemspec and is left out. Platform variants of one version are the
// same (name, version) and collapse in the dedupe.
func parseGemfileLock(in *input) ([]precheck.Package, error) {
	ext, err := gemfilelock.New(nil)
	if err != nil {
		return nil, err
	}
	inv, err := ext.Extract(in.ctx, &filesystem.ScanInput{Path: in.base, Reader: bytes.NewReader(in.data)})
	if err != nil {
		return nil, err
	}
	sections := gemSections(in.data)
	sums := gemChecksums(in.data)
	out := make([]precheck.Package, 0, len(inv.Packages))
	for _, p := range inv.Packages {
		line := 0
		if d := p.Location.Descriptor; d != nil && d.File != nil {
			line = d.File.LineNumber
		}
		pkg := precheck.Package{Ecosystem: precheck.RubyGems, Name: p.Name, Version: p.Version, Source: in.at(line),
			Integrity: sums[p.Name+" "+p.Version]}
		i := sort.Search(len(sections), func(i int) bool { return sections[i].line > line }) - 1
		if i >= 0 {
			s := sections[i]
			switch s.name {
			case "GEM":
			case "GIT":
				pkg.Uncheckable, pkg.Reason = true, "git gem ("+s.remote+"@"+s.revision+")"
			case "PATH":
				if s.remote == "." || s.remote == "./" {
					continue // the project's own gemspec
				}
				pkg.Uncheckable, pkg.Reason = true, "local path gem ("+s.remote+")"
			default:
				pkg.Uncheckable, pkg.Reason = true, "gem from "+s.name+" ("+s.remote+")"
			}
		}
		out = append(out, pkg)
	}
	return out, nil
}

// gemChecksums reads Bundler's CHECKSUMS section (Bundler 2.5+), whose hashes
// Bundler verifies every downloaded .gem against: "  name (version[-platform])
// sha256=<hex>[,…]". A version's platform variants are different files; their hashes
// are kept together, sorted, as one SRI string per name and version, the unit the
// precheck reports.
func gemChecksums(data []byte) map[string]string {
	i := bytes.Index(data, []byte("\nCHECKSUMS\n"))
	if i < 0 {
		return nil
	}
	byGem := map[string][]string{}
	for _, l := range strings.Split(string(data[i+len("\nCHECKSUMS\n"):]), "\n") {
		l = strings.TrimRight(l, "\r")
		if l == "" || l[0] != ' ' {
			break
		}
		name, rest, ok := strings.Cut(strings.TrimSpace(l), " (")
		if !ok {
			continue
		}
		ver, hashes, ok := strings.Cut(rest, ")")
		if !ok {
			continue
		}
		ver, _, _ = strings.Cut(ver, "-") // a gem version has no "-"; the rest is the platform
		for _, h := range strings.Split(strings.TrimSpace(hashes), ",") {
			algo, sum, ok := strings.Cut(h, "=")
			b, err := hex.DecodeString(sum)
			if ok && err == nil && len(b) > 0 {
				byGem[name+" "+ver] = append(byGem[name+" "+ver], algo+"-"+base64.StdEncoding.EncodeToString(b))
			}
		}
	}
	out := make(map[string]string, len(byGem))
	for k, v := range byGem {
		slices.Sort(v)
		out[k] = strings.Join(slices.Compact(v), " ")
	}
	return out
}

type gemSection struct {
	name, remote, revision string
	line                   int
}

func gemSections(data []byte) []gemSection {
	var out []gemSection
	n := 0
	for len(data) > 0 {
		n++
		var l []byte
		l, data, _ = bytes.Cut(data, []byte{'\n'})
		s := strings.TrimRight(string(l), "\r")
		switch {
		case s != "" && s[0] != ' ':
			out = append(out, gemSection{name: s, line: n})
		case len(out) > 0 && strings.HasPrefix(s, "  remote: ") && out[len(out)-1].remote == "":
			out[len(out)-1].remote = strings.TrimPrefix(s, "  remote: ")
		case len(out) > 0 && strings.HasPrefix(s, "  revision: "):
			out[len(out)-1].revision = strings.TrimPrefix(s, "  revision: ")
		}
	}
	return out
}

// Cargo.lock is decoded here rather than through scalibr's cargolock, which keeps only name
// and version: without `source` a git crate looks like a crates.io crate. A crate without a
// source is a workspace member or a path crate — source code in the user's tree that Cargo
// never fetches — and is left out (Cargo.lock does not say which of the two it is).
type cargoLock struct {
	Package []struct {
		Name     string `toml:"name"`
		Version  string `toml:"version"`
		Source   string `toml:"source"`
		Checksum string `toml:"checksum"`
	} `toml:"package"`
	// Metadata holds the checksums of lockfile format 1:
	// "checksum <name> <version> (<source>)" = "<sha256>".
	Metadata map[string]string `toml:"metadata"`
}

// crates.io's index, as git and as sparse index: the namespace OSV's crates.io
// records name.
var cratesIOSources = []string{"registry+https://github.com/rust-lang/crates.io-index", "sparse+https://index.crates.io/"}

func parseCargo(in *input) ([]precheck.Package, error) {
	var lock cargoLock
	if err := tomlDecode(in, &lock, "Cargo.lock", "cargo generate-lockfile"); err != nil {
		return nil, err
	}
	lines := tomlPackageLines(in.data)
	out := make([]precheck.Package, 0, len(lock.Package))
	for i, p := range lock.Package {
		if p.Source == "" {
			continue
		}
		pkg := precheck.Package{Ecosystem: precheck.CratesIO, Name: p.Name, Version: p.Version, Source: in.at(lineAt(lines, i))}
		switch {
		case strings.HasPrefix(p.Source, "registry+"), strings.HasPrefix(p.Source, "sparse+"):
			if p.Checksum == "" {
				p.Checksum = lock.Metadata["checksum "+p.Name+" "+p.Version+" ("+p.Source+")"]
			}
			if !slices.Contains(cratesIOSources, p.Source) {
				// Another registry's crate of the same name is other code: advisories
				// about the crates.io crate neither apply nor clear it.
				pkg.Uncheckable, pkg.Reason = true, "crate from a registry other than crates.io ("+p.Source+")"
			}
			// Cargo writes the registry index's sha256 of every registry crate and
			// verifies the download against it; an entry without one is not a lockfile
			// Cargo wrote, and would take whatever the source serves.
			if p.Checksum == "" {
				pkg.Mismatch = "the Cargo.lock entry of a registry crate has no checksum; regenerate the lockfile with `cargo generate-lockfile`"
			} else if b, err := hex.DecodeString(p.Checksum); err != nil || len(b) != sha256.Size {
				pkg.Mismatch = "the Cargo.lock checksum " + clip(p.Checksum) + " is not a sha256"
			} else {
				pkg.Resolved, pkg.Integrity = p.Source, "sha256-"+base64.StdEncoding.EncodeToString(b)
			}
		case strings.HasPrefix(p.Source, "git+"):
			pkg.Uncheckable, pkg.Reason = true, "git dependency ("+strings.TrimPrefix(p.Source, "git+")+")"
		default:
			pkg.Uncheckable, pkg.Reason = true, "unknown source ("+p.Source+")"
		}
		out = append(out, pkg)
	}
	return out, nil
}

package install

import (
	"bytes"
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/phylum-box/phylum-box/precheck"
	"github.com/phylum-box/phylum-box/rootfs"
)

// RubyGems' installed tree. RubyGems knows an installed gem by its specification,
// <GEM_HOME>/specifications/NAME-VERSION[-PLATFORM].gemspec (default gems under
// specifications/default/); Bundler's path is such a GEM_HOME
// (vendor/bundle/ruby/3.1.0/). A native extension's extconf.rb runs in the build
// with that directory writable, and can install a second gem there (a vendored
// .gem, `gem install --local`) that no Gemfile.lock entry names. So every
// .gemspec the run wrote below a specifications/ directory of the plan's outputs
// is read, as data (a specification is Ruby; nothing here runs it), for the
// identities RubyGems gives it:
//
//   - the stub line "# stub: NAME VERSION PLATFORM …" on the second line, which is
//     what `require` activation and `gem list` read without loading the file; a
//     specification without one is refused (RubyGems would run it as Ruby to know
//     its name, and RubyGems writes one in every specification it installs);
//   - the literal `s.name = "…"` and `s.version = "…"` RubyGems writes;
//   - the file name, NAME-VERSION[-PLATFORM].gemspec.
//
// Each distinct identity that no lockfile entry names is checked. Git gems
// (bundler/gems/) are refused by the bundle plan, so none are installed.

// maxGemspec bounds a specification read; RubyGems writes a few KiB.
const maxGemspec = 4 << 20

var (
	gemspecNameRE    = regexp.MustCompile(`(?m)^[ \t]*s\.name[ \t]*=[ \t]*["']([^"'\n]+)["']`)
	gemspecVersionRE = regexp.MustCompile(`(?m)^[ \t]*s\.version[ \t]*=[ \t]*["']([^"'\n]+)["']`)
	gemVersionRE     = regexp.MustCompile(`^[0-9]+(\.[0-9a-zA-Z]+)*$`)
)

// isGemspecPath: p is NAME-VERSION.gemspec directly in a specifications/ dir (or
// its default/).
func isGemspecPath(p string) bool {
	dir, file := path.Split(p)
	dir = strings.TrimSuffix(dir, "/")
	if !strings.HasSuffix(file, ".gemspec") || len(file) == len(".gemspec") {
		return false
	}
	if path.Base(dir) == "default" {
		dir = path.Dir(dir)
	}
	return path.Base(dir) == "specifications"
}

// gemspecIdentities returns the (name, version) pairs a specification file shows:
// its stub line, its literal name and version, and its file name (base, without
// .gemspec). Pairs repeat nothing; a pair with no version is left out. stub is
// false when the file has no stub line where RubyGems reads it: RubyGems then
// learns the gem's name and version by running the file as Ruby, which no reading
// of it as data can follow.
func gemspecIdentities(base string, data []byte) (ids [][2]string, stub bool) {
	add := func(name, version string) {
		if name == "" || version == "" {
			return
		}
		for _, id := range ids {
			if id[0] == name && id[1] == version {
				return
			}
		}
		ids = append(ids, [2]string{name, version})
	}
	// RubyGems (Gem::StubSpecification#data) discards the first line, whatever it
	// holds, and reads the stub from the second, split on runs of white space as
	// Ruby's split(" ") does; a version Gem::Version does not take is version 0. A
	// stub on the first line, which RubyGems ignores, is read too.
	lines := bytes.SplitN(data, []byte("\n"), 3)
	for i, l := range lines[:min(2, len(lines))] {
		s, ok := strings.CutPrefix(strings.TrimSuffix(string(l), "\r"), "# stub: ")
		if !ok {
			continue
		}
		if i == 1 && len(lines) > 2 && len(lines[2]) > 0 {
			stub = true // RubyGems keeps it only when a third line can be read
		}
		f := strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(" \t\n\v\f\r", r) })
		if len(f) == 0 {
			continue
		}
		v := ""
		if len(f) >= 2 {
			v = f[1]
		}
		if !gemVersionRE.MatchString(v) {
			add(f[0], "0")
		}
		add(f[0], v)
	}
	var litName, litVersion string
	if m := gemspecNameRE.FindSubmatch(data); m != nil {
		litName = string(m[1])
	}
	if m := gemspecVersionRE.FindSubmatch(data); m != nil {
		litVersion = string(m[1])
	}
	add(litName, litVersion)
	// The file name: NAME-VERSION[-PLATFORM]. A name may hold "-" and a platform
	// several; the version is the first part after the name that looks like one.
	known := ""
	for _, id := range ids {
		if strings.HasPrefix(base, id[0]+"-") {
			known = id[0]
			break
		}
	}
	if known != "" {
		v, _, _ := strings.Cut(base[len(known)+1:], "-")
		add(known, v)
	} else {
		parts := strings.Split(base, "-")
		for i := 1; i < len(parts); i++ {
			if gemVersionRE.MatchString(parts[i]) {
				add(strings.Join(parts[:i], "-"), parts[i])
				break
			}
		}
	}
	return ids, stub
}

// installedGems lists the gems whose specification the run added or rewrote below
// outputs. A specification whose stub shows no name is skipped; one without a stub
// line, not a regular file, or too large, is an error.
func installedGems(changes []rootfs.Change, view treeView, outputs []string) (pkgs []precheck.Package, skipped []string, err error) {
	for i := range changes {
		c := &changes[i]
		if c.Kind == rootfs.Deleted || !underOutputs(c.Path, outputs) || !isGemspecPath(c.Path) {
			continue
		}
		if c.Type != rootfs.TypeRegular {
			return nil, nil, fmt.Errorf("%s is a %s, not a file: a gem's specification must be its own file", rootfs.Printable(c.Path), c.Type)
		}
		data, err := readChanged(view, c.Path, c.Size, maxGemspec, "a gem specification")
		if err != nil {
			return nil, nil, err
		}
		ids, stub := gemspecIdentities(strings.TrimSuffix(path.Base(c.Path), ".gemspec"), data)
		if !stub {
			return nil, nil, fmt.Errorf("%s has no stub line (\"# stub: NAME VERSION …\" on its second line, as RubyGems writes every specification it installs): RubyGems would run it as Ruby to learn which gem it is", rootfs.Printable(c.Path))
		}
		if len(ids) == 0 {
			skipped = append(skipped, c.Path)
			continue
		}
		for _, id := range ids {
			pkgs = append(pkgs, precheck.Package{Ecosystem: precheck.RubyGems, Name: id[0], Version: id[1], Source: c.Path})
		}
	}
	return pkgs, skipped, nil
}

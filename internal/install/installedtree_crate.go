package install

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/phylum-box/phylum-box/managers"
	"github.com/phylum-box/phylum-box/precheck"
)

// Crates' installed tree. cargo compiles a registry crate from its unpacked source,
// $CARGO_HOME/registry/src/<index>/NAME-VERSION/, and the plan's CARGO_HOME is
// phylum-box's own cache on the host (managers.cargoCache): written by the resolve
// and download steps (cargo fetch unpacks there), read-only in the build, so the
// build cannot add a crate to it and the check runs after the download only. The
// cache is shared by every project and run, so a crate is this run's when
//
//   - its directory's name is a crate the lockfile names: its Cargo.toml [package]
//     name and version are what the build compiles, and a .crate whose manifest
//     says another crate than its file name is checked under both; or
//   - cargo unpacked it during this run (its .cargo-ok marker, which cargo writes
//     when it has unpacked a crate, is newer than the start of the download step):
//     such a crate is not in the lockfile (otherwise the first case has it) and is
//     checked.
//
// Crates of other projects in the cache are neither. Vendored sources (cargo
// vendor, a [source] replacement by a directory) are checked through the
// lockfile: cargo accepts a vendored crate only under the name, version and
// checksum the lockfile records. Git dependencies are lockfile entries of their own.

// cargoHome is the plan's CARGO_HOME (the cache whose Env sets it), or "".
func cargoHome(p *managers.Plan) string {
	for _, c := range p.Sandbox.Caches {
		for _, kv := range c.Env {
			if v, ok := strings.CutPrefix(kv, "CARGO_HOME="); ok {
				return v
			}
		}
	}
	return ""
}

// crateDirRE splits NAME-VERSION: a crate name is ASCII letters, digits, "-" and
// "_"; a version is semver (which may hold "-" and "+").
var crateDirRE = regexp.MustCompile(`^([A-Za-z0-9_-]+?)-([0-9]+\.[0-9]+\.[0-9]+(?:[-+][0-9A-Za-z.+-]*)?)$`)

// maxCargoToml bounds a crate manifest read.
const maxCargoToml = 4 << 20

// installedCrates lists the crates of this run found unpacked in home (see above):
// each crate directory whose name-version isChecked says the precheck saw, or whose
// .cargo-ok is not older than since, by its directory name and by its Cargo.toml's
// [package] name and version. A crate directory that is not a directory, or whose
// Cargo.toml is not a regular file, is an error; one without a readable
// [package] name and version is checked by its directory name and listed in
// skipped.
func installedCrates(home string, since time.Time, isChecked func(precheck.Package) bool) (pkgs []precheck.Package, skipped []string, err error) {
	src := filepath.Join(home, "registry", "src")
	indexes, err := os.ReadDir(src)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	for _, ix := range indexes {
		if !ix.IsDir() {
			continue
		}
		ixDir := filepath.Join(src, ix.Name())
		ents, err := os.ReadDir(ixDir)
		if err != nil {
			return nil, nil, err
		}
		for _, e := range ents {
			m := crateDirRE.FindStringSubmatch(e.Name())
			if m == nil {
				continue
			}
			byDir := precheck.Package{Ecosystem: precheck.CratesIO, Name: m[1], Version: m[2], Source: filepath.Join(ixDir, e.Name())}
			fresh := false
			if st, err := os.Lstat(filepath.Join(ixDir, e.Name(), ".cargo-ok")); err == nil && !st.ModTime().Before(since) {
				fresh = true
			}
			if !fresh && !isChecked(byDir) {
				continue // another project's crate
			}
			if !e.IsDir() {
				return nil, nil, fmt.Errorf("%s in the crate cache is a %s, not a directory", byDir.Source, e.Type())
			}
			pkgs = append(pkgs, byDir)
			name, version, err := crateManifest(filepath.Join(byDir.Source, "Cargo.toml"))
			if err != nil {
				return nil, nil, err
			}
			if name == "" || version == "" {
				skipped = append(skipped, byDir.Source)
				continue
			}
			if own := (precheck.Package{Ecosystem: precheck.CratesIO, Name: name, Version: version, Source: byDir.Source}); !sameIdentity(own, byDir) {
				pkgs = append(pkgs, own)
			}
		}
	}
	return pkgs, skipped, nil
}

// crateManifest reads [package] name and version of a Cargo.toml without following
// a symlink; both are empty when the file does not say (a workspace-inherited
// version, which a published crate never has, or a manifest that does not parse).
func crateManifest(p string) (name, version string, err error) {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return "", "", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("reading %s: %w", p, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", "", err
	}
	if !st.Mode().IsRegular() {
		return "", "", fmt.Errorf("%s is not a regular file: a crate's manifest must be the crate's own file", p)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxCargoToml+1))
	if err != nil {
		return "", "", fmt.Errorf("reading %s: %w", p, err)
	}
	if len(data) > maxCargoToml {
		return "", "", fmt.Errorf("%s is more than %d bytes", p, maxCargoToml)
	}
	var m struct {
		Package struct {
			Name    string `toml:"name"`
			Version any    `toml:"version"`
		} `toml:"package"`
	}
	if _, err := toml.Decode(string(data), &m); err != nil {
		return "", "", nil
	}
	v, _ := m.Package.Version.(string)
	return m.Package.Name, v, nil
}

package install

// The static analysis of the archives pip, Poetry and Bundler install from: their
// download step leaves wheels, sdists and .gem files in Plan.Steps.Fetched, and the build
// step installs them from there (setup.py, PEP 517 backends and extconf.rb run
// only then). Each archive is read as data (analysis.ReadArchive), under the name the
// precheck gave its package.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/phylum-box/phylum-box/internal/safefs"
	"github.com/phylum-box/phylum-box/precheck"
	"github.com/phylum-box/phylum-box/precheck/analysis"
	"github.com/phylum-box/phylum-box/precheck/osvdb"
)

// maxFetchedArchives bounds the archives listed in the download dir.
const maxFetchedArchives = 20000

// archiveTargets lists the archives the download step left in the plan's Fetched
// dir, each with the resolved package it is a file of. The dir is listed without
// following symlinks (what is in it was written by a step); an entry that is not a
// regular file is skipped, and analyzeArchive opens each one beneath the dir
// without following any.
func (r *runner) archiveTargets(resolved []precheck.Package) (targets []analysisTarget, skipped []string) {
	rel := r.o.Plan.Steps.Fetched
	if rel == "" {
		return nil, nil
	}
	dir, err := r.sess.Scratch().HostDir(rel)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			skipped = append(skipped, fmt.Sprintf("%s (%v)", rel, err))
		}
		return nil, skipped
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, append(skipped, fmt.Sprintf("%s (%v)", rel, err))
	}
	eco := r.o.Plan.Ecosystem
	for i, e := range ents {
		if i >= maxFetchedArchives {
			skipped = append(skipped, fmt.Sprintf("%d more file(s) in %s", len(ents)-i, rel))
			break
		}
		if !e.Type().IsRegular() {
			if !e.IsDir() {
				skipped = append(skipped, fmt.Sprintf("%s/%s (not a regular file)", rel, e.Name()))
			}
			continue
		}
		p, ok := archivePackage(eco, e.Name(), resolved)
		if !ok {
			continue // not a distribution file (a fetch program's temporary file)
		}
		targets = append(targets, analysisTarget{pkg: p, dir: dir, archive: e.Name()})
	}
	return targets, skipped
}

// archivePackage names the package an archive is a file of: the resolved package
// whose name and version the file name carries (as the precheck named it), else
// the name and version read from the file name. ok is false for a file that is
// no distribution.
func archivePackage(eco, file string, resolved []precheck.Package) (precheck.Package, bool) {
	name, version, ok := archiveIdentity(eco, file)
	if !ok {
		return precheck.Package{}, false
	}
	for _, p := range resolved {
		if p.Ecosystem != eco {
			continue
		}
		switch eco {
		case precheck.RubyGems:
			// NAME-VERSION.gem or NAME-VERSION-PLATFORM.gem: names hold dashes.
			base := strings.TrimSuffix(file, ".gem")
			if base == p.Name+"-"+p.Version || strings.HasPrefix(base, p.Name+"-"+p.Version+"-") {
				return precheck.Package{Ecosystem: eco, Name: p.Name, Version: p.Version}, true
			}
		default:
			if osvdb.NormalizeName(eco, p.Name) == osvdb.NormalizeName(eco, name) && sameVersion(eco, p.Version, version) {
				return precheck.Package{Ecosystem: eco, Name: p.Name, Version: p.Version}, true
			}
		}
	}
	return precheck.Package{Ecosystem: eco, Name: name, Version: version}, true
}

// archiveIdentity reads a distribution's name and version from its file name:
// a wheel NAME-VERSION-…whl, an sdist NAME-VERSION.tar.gz (or .zip, …), a gem
// NAME-VERSION[-PLATFORM].gem.
func archiveIdentity(eco, file string) (name, version string, ok bool) {
	if strings.ContainsAny(file, "/\x00") || strings.HasPrefix(file, ".") {
		return "", "", false
	}
	switch eco {
	case precheck.RubyGems:
		base, ok := strings.CutSuffix(file, ".gem")
		if !ok {
			return "", "", false
		}
		// The version is the first dash-separated part that starts with a digit
		// after the first part.
		parts := strings.Split(base, "-")
		for i := 1; i < len(parts); i++ {
			if parts[i] != "" && parts[i][0] >= '0' && parts[i][0] <= '9' {
				return strings.Join(parts[:i], "-"), parts[i], true
			}
		}
		return "", "", false
	case precheck.PyPI:
		if base, ok := strings.CutSuffix(file, ".whl"); ok {
			parts := strings.Split(base, "-")
			if len(parts) < 5 {
				return "", "", false
			}
			return parts[0], parts[1], true
		}
		// The compressions pip unpacks; analysis.ReadArchive refuses those it cannot
		// read (xz, lzma), which is then said in the log, not skipped unseen.
		for _, ext := range []string{".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz", ".txz", ".tar.lz", ".tlz", ".tar.lzma", ".tar", ".zip"} {
			if base, ok := strings.CutSuffix(file, ext); ok {
				i := strings.LastIndex(base, "-")
				if i <= 0 || i == len(base)-1 {
					return "", "", false
				}
				return base[:i], base[i+1:], true
			}
		}
	}
	return "", "", false
}

// analyzeArchive analyses one downloaded archive, from the analysis cache when it
// has the same file: the key is the sha256 of the bytes read, hashed through the
// descriptor the analysis then reads (no container runs meanwhile), so a cached
// result is always one of exactly this file. setuptools' wheel, fetched as the
// build backend of every sdist install, costs about a second to analyse.
func analyzeArchive(ctx context.Context, t analysisTarget, cache *analysisCache) (fs []analysis.Finding, hit bool, err error) {
	f, err := safefs.Open(t.dir, t.archive, safefs.Options{})
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, false, err
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, st.Size())); err != nil {
		return nil, false, err
	}
	key := "sha256-file:" + hex.EncodeToString(h.Sum(nil))
	if fs, ok := cache.get(t.pkg.Ecosystem, t.pkg.Name, t.pkg.Version, key); ok {
		return fs, true, nil
	}
	fs, err = analysis.ReadArchive(ctx, analysis.Package{Ecosystem: t.pkg.Ecosystem, Name: t.pkg.Name, Version: t.pkg.Version}, f, st.Size(), t.archive)
	if err == nil {
		cache.put(t.pkg.Ecosystem, t.pkg.Name, t.pkg.Version, key, fs)
	}
	return fs, false, err
}

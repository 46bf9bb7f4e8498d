package install

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/google/osv-scalibr/semantic"

	"github.com/phylum-box/phylum-box/internal/exitcode"
	"github.com/phylum-box/phylum-box/managers"
	"github.com/phylum-box/phylum-box/precheck"
	"github.com/phylum-box/phylum-box/precheck/osvdb"
	"github.com/phylum-box/phylum-box/rootfs"
)

// The installed tree is what is checked, not only the lockfile. A registry tarball
// may carry its own package/node_modules/<dep> without declaring it in
// bundleDependencies; npm extracts it as is, the lockfile never names it, and
// require() loads it. A build script can write a package into node_modules too.
// So after the download step, and again after the build, every package root the
// run wrote (node_modules/<name>/package.json and node_modules/@scope/<name>/package.json
// at any depth, pnpm's node_modules/.pnpm/<key>/node_modules/<name> included) is
// read for its name and version; whatever the precheck did not already see is
// checked now, with the same engine and policy, and a block stops the install
// before anything is synced back. pip and poetry (site-packages), bundle (the
// bundle path's specifications) and cargo (the crate cache) are read the same way:
// installedtree_py.go, installedtree_gem.go, installedtree_crate.go.

// maxManifest bounds the package.json read for a name and version. Registry
// manifests are a few KiB; the largest real ones are well under this.
const maxManifest = 4 << 20

// onDiskSuffix marks, in a package's Source, an entry found only in the installed tree.
const onDiskSuffix = " (on disk only)"

// treeView reads the run's view of the project without following symlinks
// (rootfs.Scratch).
type treeView interface {
	ReadFile(rel string) ([]byte, error)
}

// readChanged reads the run's file rel, whose size the change set records, for an
// identity: one larger than limit (what names it in the error) is refused before
// and after the read.
func readChanged(view treeView, rel string, size int64, limit int, what string) ([]byte, error) {
	if size > int64(limit) {
		return nil, fmt.Errorf("%s is %d bytes, more than %s may be (%d)", rootfs.Printable(rel), size, what, limit)
	}
	data, err := view.ReadFile(rel)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", rootfs.Printable(rel), err)
	}
	if len(data) > limit {
		return nil, fmt.Errorf("%s is more than %d bytes", rootfs.Printable(rel), limit)
	}
	return data, nil
}

// isManifestPath: p is the package.json of a package root, node_modules/<name> or
// node_modules/@scope/<name>, at any depth.
func isManifestPath(p string) bool {
	dir, file := path.Split(p)
	if file != "package.json" || dir == "" {
		return false
	}
	dir = strings.TrimSuffix(dir, "/")
	return strings.Contains(dir, "node_modules") && isPackageEntry(dir)
}

// installedPackages lists the packages whose package.json the run added or rewrote
// at a package root (changes is the run's change set). A manifest that names no
// package or version, or does not parse, identifies nothing node would load as a
// package of that name and version (test fixtures ship such dirs); skipped names
// them. A manifest that is not a regular file, or is too large, is an error: node
// would follow a symlinked package.json to content never looked at here.
//
// A package entry the run made a symlink (node_modules/<name> -> somewhere) is
// the package at its target, which node loads and npm lists under the link's
// name: a target inside a node_modules tree that is not itself a package root
// (node_modules/.cache/x) is read here, whether or not the run wrote its
// package.json, since nothing else would read it. A node_modules or @scope
// directory the run made a symlink is refused: every package below it would be
// loaded from a place no package root names.
func installedPackages(changes []rootfs.Change, view treeView) (pkgs []precheck.Package, skipped []string, err error) {
	read := func(rel string, size int64, mustExist bool) error {
		data, err := readChanged(view, rel, size, maxManifest, "a package manifest")
		if !mustExist && errors.Is(err, fs.ErrNotExist) {
			return nil // a package without a manifest names no version
		}
		if err != nil {
			return err
		}
		// npm (json-parse-even-better-errors) and node strip a byte order mark
		// before JSON.parse; Go's decoder would refuse the file.
		data = bytes.TrimPrefix(data, []byte("\uFEFF"))
		name, version := manifestIdentity(data)
		if name == "" || version == "" {
			skipped = append(skipped, rel)
			return nil
		}
		pkgs = append(pkgs, precheck.Package{Ecosystem: precheck.NPM, Name: name, Version: version, Source: rel})
		return nil
	}
	for i := range changes {
		c := &changes[i]
		if c.Kind == rootfs.Deleted {
			continue
		}
		if c.Type == rootfs.TypeSymlink {
			if isPackageDirs(c.Path) {
				return nil, nil, fmt.Errorf("%s is a symlink to %s: a directory of packages must be a directory, so that each package in it is read", rootfs.Printable(c.Path), rootfs.Printable(c.Linkname))
			}
			if t, ok := linkedPackage(c.Path, c.Linkname); ok {
				if err := read(t+"/package.json", 0, false); err != nil {
					return nil, nil, err
				}
			}
		}
		if !isManifestPath(c.Path) {
			continue
		}
		if c.Type != rootfs.TypeRegular {
			return nil, nil, fmt.Errorf("%s is a %s, not a file: a package's manifest must be the package's own file", rootfs.Printable(c.Path), c.Type)
		}
		if err := read(c.Path, c.Size, true); err != nil {
			return nil, nil, err
		}
	}
	return pkgs, skipped, nil
}

// manifestIdentity reads a package.json's name and version as JSON.parse does:
// exact keys, the last of duplicates, both strings; "" when the file is not JSON
// or they are not strings. Go's decoder refuses a document nested deeper than
// 10,000 levels, which JSON.parse (and so npm and node) reads; such a document is
// walked token by token instead.
func manifestIdentity(data []byte) (name, version string) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err == nil {
		if json.Unmarshal(m["name"], &name) != nil || json.Unmarshal(m["version"], &version) != nil {
			return "", ""
		}
		return name, version
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return "", ""
	}
	raw := map[string]json.RawMessage{}
	for dec.More() {
		t, err := dec.Token()
		key, ok := t.(string)
		if err != nil || !ok {
			return "", ""
		}
		if key != "name" && key != "version" {
			if !skipJSONValue(dec) {
				return "", ""
			}
			continue
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return "", ""
		}
		raw[key] = v
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return "", ""
	}
	if _, err := dec.Token(); err != io.EOF {
		return "", "" // JSON.parse refuses anything after the document
	}
	if json.Unmarshal(raw["name"], &name) != nil || json.Unmarshal(raw["version"], &version) != nil {
		return "", ""
	}
	return name, version
}

// skipJSONValue consumes one value from dec, however deeply nested.
func skipJSONValue(dec *json.Decoder) bool {
	depth := 0
	for {
		t, err := dec.Token()
		if err != nil {
			return false
		}
		switch t {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return true
		}
	}
}

// linkedPackage: link (a symlink at target) is a package entry whose target lies
// in a node_modules tree without being a package root there; t is that target,
// project-relative. A target that is a package root is read as one when the run
// writes it; one outside node_modules is the project's own package (a workspace, a
// file: dependency), or refused by the sync's link rules (binlinks.go).
func linkedPackage(link, target string) (t string, ok bool) {
	if !isPackageEntry(link) || path.IsAbs(target) {
		return "", false
	}
	t = path.Join(path.Dir(link), target)
	if t == "." || t == ".." || strings.HasPrefix(t, "../") || !slices.Contains(strings.Split(t, "/"), "node_modules") {
		return "", false
	}
	return t, !isPackageEntry(t)
}

// isPackageDirs: p is a node_modules directory, or an @scope directory in one.
func isPackageDirs(p string) bool {
	base := path.Base(p)
	return base == "node_modules" || strings.HasPrefix(base, "@") && path.Base(path.Dir(p)) == "node_modules"
}

// notChecked returns the packages of pkgs whose name@version is not in checked,
// one per name@version (the first place it was found), each with a Source that
// says it was found only on disk and how many other places hold it. Names compare
// as the advisory database stores them (PEP 503 for PyPI) and versions by their
// ecosystem's ordering ("1.0" is PyPI's "1.0.0"); npm's exactly.
func notChecked(pkgs []precheck.Package, checked map[string]bool) []precheck.Package {
	var out []precheck.Package
	at := map[string]int{}
	more := map[string]int{}
	ix := newCheckedIndex(checked)
	for _, p := range pkgs {
		k := pkgKey(p)
		if checked[k] || ix.has(p) {
			continue
		}
		k = identityKey(p)
		if _, ok := at[k]; ok {
			more[k]++
			continue
		}
		at[k] = len(out)
		out = append(out, p)
	}
	for i := range out {
		src := out[i].Source
		if n := more[identityKey(out[i])]; n > 0 {
			src += fmt.Sprintf(" and %d more", n)
		}
		out[i].Source = src + onDiskSuffix
	}
	return out
}

// identityKey is pkgKey with the name normalised as the advisory database does.
func identityKey(p precheck.Package) string {
	return p.Ecosystem + "/" + osvdb.NormalizeName(p.Ecosystem, p.Name) + "@" + p.Version
}

// checkedIndex holds the checked packages by ecosystem and normalised name.
type checkedIndex map[string][]string

// newCheckedIndex indexes checked (keys of pkgKey: "ECOSYSTEM/NAME@VERSION").
func newCheckedIndex(checked map[string]bool) checkedIndex {
	ix := checkedIndex{}
	for k := range checked {
		eco, rest, ok := strings.Cut(k, "/")
		i := strings.LastIndexByte(rest, '@')
		if !ok || i <= 0 {
			continue
		}
		n := eco + "/" + osvdb.NormalizeName(eco, rest[:i])
		ix[n] = append(ix[n], rest[i+1:])
	}
	return ix
}

// has reports whether the precheck saw p: the same normalised name, an equal version.
func (ix checkedIndex) has(p precheck.Package) bool {
	for _, v := range ix[p.Ecosystem+"/"+osvdb.NormalizeName(p.Ecosystem, p.Name)] {
		if sameVersion(p.Ecosystem, v, p.Version) {
			return true
		}
	}
	return false
}

// sameVersion: a and b are one version of the ecosystem (PEP 440: "1.0" and
// "1.0.0", "1.0a1" and "1.0.0-alpha.1"; RubyGems: "1.0" and "1.0.0"). npm
// versions compare exactly, as the lockfile check does.
func sameVersion(eco, a, b string) bool {
	if a == b {
		return true
	}
	if eco == precheck.NPM || a == "" || b == "" {
		return false
	}
	va, err := semantic.Parse(a, eco)
	if err != nil {
		return false
	}
	c, err := va.CompareStr(b)
	return err == nil && c == 0
}

// sameIdentity: a and b name the same package version.
func sameIdentity(a, b precheck.Package) bool {
	return a.Ecosystem == b.Ecosystem && osvdb.NormalizeName(a.Ecosystem, a.Name) == osvdb.NormalizeName(b.Ecosystem, b.Name) &&
		sameVersion(a.Ecosystem, a.Version, b.Version)
}

// downloadStarted is when the download step started, within a few seconds
// earlier: the step's recorded duration back from now (the check runs right after
// it), less a margin. Earlier only widens what counts as this run's.
func (r *runner) downloadStarted() time.Time {
	var d time.Duration
	for _, s := range r.out.Steps {
		if s.Phase == managers.PhaseDownload {
			d = s.Duration
		}
	}
	return time.Now().Add(-d - 5*time.Second)
}

// checkInstalledTree checks what the step before it (phase) left installed against
// what was already checked (which it extends with what it checks). done is true
// when the install must stop; the outcome says why.
func (r *runner) checkInstalledTree(ctx context.Context, phase managers.Phase, checked map[string]bool) (done bool, err error) {
	pkgs, unreadable, err := r.installedTree(phase, checked)
	if err != nil {
		return true, err
	}
	if phase == managers.PhaseDownload || phase == managers.PhaseResolve && installsInResolve(r.o.Plan) {
		r.downloaded = pkgs // what the analysis reads (fetchinresolve.go)
	}
	if unreadable != nil {
		r.out.Code = exitcode.Sandbox
		r.out.Reason = fmt.Sprintf("the installed tree cannot be checked after the %s step: %v; nothing was synced back", phase, unreadable)
		return true, nil
	}
	extra := notChecked(pkgs, checked)
	if len(extra) == 0 {
		return false, nil
	}
	var names []string
	for _, p := range extra {
		names = append(names, p.Name+"@"+p.Version+" ("+strings.TrimSuffix(p.Source, onDiskSuffix)+")")
		checked[pkgKey(p)] = true
	}
	r.out.OnDiskOnly = append(r.out.OnDiskOnly, names...)
	r.o.Log.Warnf("the %s step installed %d package(s) that no lockfile entry names, checking them now: %s", phase, len(extra), someNames(names))
	v, err := r.o.Engine.Evaluate(ctx, extra)
	if err != nil {
		return true, err
	}
	mergeVerdict(r.out, v)
	if v.Result == precheck.Pass {
		return false, nil
	}
	r.out.Code = v.ExitCode()
	switch v.Result {
	case precheck.Blocked:
		var blocked []string
		for _, p := range v.Packages {
			if p.Blocked {
				blocked = append(blocked, p.Name+"@"+p.Version+" at "+strings.TrimSuffix(p.Source, onDiskSuffix))
			}
		}
		r.out.Reason = fmt.Sprintf("blocked by the policy: %s, installed by the %s step but in no lockfile entry (found on disk only); nothing was synced back",
			strings.Join(blocked, "; "), phase)
	default:
		r.out.Reason = fmt.Sprintf("precheck of the packages the %s step installed beyond the lockfile incomplete: %s; nothing was synced back",
			phase, strings.Join(v.Problems, "; "))
	}
	return true, nil
}

// installedTree lists the packages the step before it (phase) left installed, by
// the plan's ecosystem: node_modules (above), site-packages (installedtree_py.go),
// the bundle path (installedtree_gem.go), the crate cache (installedtree_crate.go).
// unreadable says why the tree cannot be checked (the install stops with exit 4);
// err is a failure of phylum-box itself.
func (r *runner) installedTree(phase managers.Phase, checked map[string]bool) (pkgs []precheck.Package, unreadable, err error) {
	p := r.o.Plan
	start := time.Now()
	var skipped []string
	var what string
	switch p.Ecosystem {
	case precheck.NPM, precheck.PyPI, precheck.RubyGems:
		cs, err := r.sess.Scratch().Changes()
		if err != nil {
			return nil, nil, fmt.Errorf("reading what the %s step installed: %w", phase, err)
		}
		listed := time.Since(start)
		view := r.sess.Scratch()
		switch p.Ecosystem {
		case precheck.NPM:
			what = "package.json file(s) in node_modules name no package and version, not checked"
			pkgs, skipped, unreadable = installedPackages(cs.Changes, view)
		case precheck.PyPI:
			what = "distribution metadata file(s) name no distribution and version, not checked"
			own, seeds := pyOwn{}, pyOwn{}
			pyProjectSelf(own, hostProject(p.Project.Root), "pyproject.toml")
			pySeeds(seeds, pySeedWheels)
			pkgs, skipped, unreadable = installedDists(cs.Changes, view, p.Project.Outputs, own, seeds)
		case precheck.RubyGems:
			what = "gem specification(s) show no name and version, not checked"
			pkgs, skipped, unreadable = installedGems(cs.Changes, view, p.Project.Outputs)
		}
		r.o.Log.Debugf("installed tree after the %s step: %d changes listed in %s, %d package(s) read in %s",
			phase, len(cs.Changes), listed.Round(time.Millisecond), len(pkgs)+len(skipped), (time.Since(start) - listed).Round(time.Millisecond))
	case precheck.CratesIO:
		home := cargoHome(p)
		if home == "" || phase != managers.PhaseDownload {
			return nil, nil, nil // the build cannot write the crate cache: it is read-only there
		}
		what = "crate manifest(s) name no package and version (checked by their directory's name)"
		pkgs, skipped, unreadable = installedCrates(home, r.downloadStarted(), newCheckedIndex(checked).has)
		r.o.Log.Debugf("installed tree after the %s step: %d crate(s) of this run in %s, read in %s",
			phase, len(pkgs), home, time.Since(start).Round(time.Millisecond))
	}
	if len(skipped) > 0 {
		r.o.Log.Debugf("%d %s: %s", len(skipped), what, someNames(skipped))
	}
	return pkgs, unreadable, nil
}

// mergeVerdict adds the verdict on packages found on disk to the install's verdict,
// so the report shows them with everything else.
func mergeVerdict(out *Outcome, v *precheck.Verdict) {
	if out.Verdict == nil {
		out.Verdict = v
		return
	}
	w := out.Verdict
	w.Packages = append(w.Packages, v.Packages...)
	for _, s := range v.Problems {
		if !slices.Contains(w.Problems, s) {
			w.Problems = append(w.Problems, s)
		}
	}
	for _, s := range v.Warnings {
		if !slices.Contains(w.Warnings, s) {
			w.Warnings = append(w.Warnings, s)
		}
	}
	if v.Result == precheck.Blocked || v.Result == precheck.Incomplete && w.Result == precheck.Pass {
		w.Result = v.Result
	}
}

// someNames lists up to ten names.
func someNames(names []string) string {
	if len(names) <= 10 {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:10], ", ") + fmt.Sprintf(" and %d more", len(names)-10)
}

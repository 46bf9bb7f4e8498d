package managers

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/phylum-box/phylum-box/internal/safefs"
)

// Walking node_modules as npm checks its hidden lockfile, for NpmUpToDate (split out of
// npmnoop.go, code moved unchanged).

// npmDirKind is what npmWalkInstalled is looking at.
type npmDirKind int

const (
	npmModulesDir npmDirKind = iota // a node_modules dir
	npmScopeDir                     // node_modules/@scope
	npmPackageDir                   // a package root
)

// npmWalkInstalled walks dir the way npm checks its hidden lockfile (arborist's
// assertNoNewer): no directory newer than the lockfile, every package dir recorded
// in it; symbolic links are refused. A package dir's package.json must carry the
// recorded version.
func npmWalkInstalled(r *os.Root, dir string, kind npmDirKind, lockTime time.Time, got map[string]npmLockEntry, seen map[string]bool) string {
	if len(seen) > maxNoopTree {
		return "node_modules is too large to check"
	}
	st, err := r.Lstat(dir)
	if err != nil {
		return err.Error()
	}
	if !st.IsDir() {
		return dir + " is not a directory"
	}
	if st.ModTime().After(lockTime) && !(kind == npmModulesDir && npmDotEntryChanged(r, dir, st.ModTime())) {
		return dir + " changed after node_modules/.package-lock.json"
	}
	seen[dir] = true
	list := dir
	if kind == npmPackageDir {
		e, ok := got[dir]
		if !ok {
			return dir + " is not in node_modules/.package-lock.json"
		}
		if why := npmInstalledVersion(r, dir, e); why != "" {
			return why
		}
		list = dir + "/node_modules"
		lst, err := r.Lstat(list)
		if errors.Is(err, fs.ErrNotExist) {
			return ""
		}
		if err != nil || !lst.IsDir() {
			return list + " is not a directory"
		}
	}
	f, err := r.Open(list)
	if err != nil {
		return err.Error()
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return list + ": " + err.Error()
	}
	sort.Strings(names)
	for _, n := range names {
		child := list + "/" + n
		st, err := r.Lstat(child)
		if err != nil {
			return err.Error()
		}
		switch {
		case st.Mode()&fs.ModeSymlink != 0 && n != ".bin":
			return child + " is a symbolic link"
		case !st.IsDir() || strings.HasPrefix(n, "."):
			continue // npm ignores files and dot entries here
		}
		next := npmPackageDir
		if kind != npmScopeDir && strings.HasPrefix(n, "@") {
			next = npmScopeDir
		}
		if why := npmWalkInstalled(r, child, next, lockTime, got, seen); why != "" {
			return why
		}
	}
	return ""
}

// npmDotEntryChanged says whether a node_modules dir's last change is a tool's
// dot-entry in it (vite's .vite and .vite-temp, .cache): one, other than npm's own
// .package-lock.json and .bin, changed no earlier than the dir itself. npm's check
// never looks into dot-entries, and the walk still sees every package dir.
func npmDotEntryChanged(r *os.Root, dir string, dirTime time.Time) bool {
	f, err := r.Open(dir)
	if err != nil {
		return false
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return false
	}
	for _, n := range names {
		if !strings.HasPrefix(n, ".") || n == ".package-lock.json" || n == ".bin" {
			continue
		}
		if st, err := r.Lstat(dir + "/" + n); err == nil && !st.ModTime().Before(dirTime.Add(-10*time.Millisecond)) {
			return true
		}
	}
	return false
}

// npmInstalledVersion compares a package dir's package.json with its entry.
func npmInstalledVersion(r *os.Root, dir string, e npmLockEntry) string {
	data, err := readNoLink(r, dir+"/package.json")
	if err != nil {
		return err.Error()
	}
	var m map[string]json.RawMessage
	var version string
	if json.Unmarshal(data, &m) != nil || json.Unmarshal(m["version"], &version) != nil || version != e.Version {
		return dir + "/package.json is not version " + e.Version
	}
	return ""
}

// readNoLinks reads each file beneath r with no symbolic link anywhere on the way
// (safefs), in order; the first failure is returned as the reason a nothing-to-do
// check is unsure.
func readNoLinks(r *os.Root, rels ...string) ([][]byte, error) {
	out := make([][]byte, len(rels))
	for i, rel := range rels {
		data, err := readNoLink(r, rel)
		if err != nil {
			return nil, err
		}
		out[i] = data
	}
	return out, nil
}

// readNoLink reads rel beneath the directory r holds open (not r's name again,
// which could since name another directory), under safefs's rule.
func readNoLink(r *os.Root, rel string) ([]byte, error) {
	d, err := r.Open(".")
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return safefs.ReadFileAt(int(d.Fd()), rel, maxProjectFile, safefs.Options{})
}

// npmPlatformFits is npm-install-checks' checkPlatform for this machine: false
// when the entry's os, cpu or libc exclude it.
func npmPlatformFits(e npmLockEntry) bool {
	arch := map[string]string{"amd64": "x64", "386": "ia32"}[runtime.GOARCH]
	if arch == "" {
		arch = runtime.GOARCH
	}
	libc := "glibc"
	if m, _ := filepath.Glob("/lib/ld-musl-*"); len(m) > 0 {
		libc = "musl"
	}
	return npmListFits(e.OS, runtime.GOOS) && npmListFits(e.CPU, arch) && npmListFits(e.Libc, libc)
}

// npmListFits: a list of allowed values, "!x" excluding x; an absent list fits all.
func npmListFits(raw json.RawMessage, have string) bool {
	var list []string
	if len(raw) == 0 {
		return true
	}
	if json.Unmarshal(raw, &list) != nil {
		var one string
		if json.Unmarshal(raw, &one) != nil {
			return true
		}
		list = []string{one}
	}
	if len(list) == 0 {
		return true
	}
	if slices.Contains(list, "!"+have) {
		return false
	}
	positive := false
	for _, v := range list {
		if !strings.HasPrefix(v, "!") {
			positive = true
			if v == have {
				return true
			}
		}
	}
	return !positive
}

// npmRebuildName is a valid package name (npm rebuild takes it as a spec; an
// option-looking word must never get there).
var npmRebuildName = regexp.MustCompile(`^(@[A-Za-z0-9~][A-Za-z0-9._~-]*/)?[A-Za-z0-9~][A-Za-z0-9._~-]*$`)

// NpmBuildChanged is Plan.Steps.BuildChanged for npm: of the package dirs whose
// package.json the download step wrote (dirs, relative to the root), the names of
// those whose install scripts npm would run (npmPackageScripts reads the tree), to
// pass to `npm rebuild`, as npm itself builds only the packages an install added
// or changed. ok is false — build the whole tree, as before — when the root
// project has install scripts of its own (a full rebuild runs them), when the
// tree holds links (workspaces, file: dependencies: their scripts are not tied to
// a written package.json), or when a dir is not in the hidden lockfile.
func NpmBuildChanged(read func(rel string) ([]byte, error), dirs []string) (names []string, why string, ok bool) {
	if data, err := read("package.json"); err == nil {
		var m map[string]json.RawMessage
		var scripts map[string]any
		if json.Unmarshal(data, &m) != nil || (m["scripts"] != nil && json.Unmarshal(m["scripts"], &scripts) != nil) {
			return nil, "package.json not understood", false
		}
		for _, s := range []string{"preinstall", "install", "postinstall"} {
			if _, has := scripts[s]; has {
				return nil, "the project has a " + s + " script", false
			}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, "package.json unreadable", false
	}
	data, err := read("node_modules/.package-lock.json")
	if err != nil {
		return nil, "no hidden lockfile to tell", false
	}
	var lock npmLock
	if err := json.Unmarshal(data, &lock); err != nil || lock.LockfileVersion < 2 || lock.Packages == nil {
		return nil, "hidden lockfile not understood", false
	}
	entries := map[string]npmLockEntry{}
	for loc, raw := range lock.Packages {
		var e npmLockEntry
		if json.Unmarshal(raw, &e) != nil {
			return nil, "hidden lockfile not understood", false
		}
		if e.Link || loc != "" && !strings.HasPrefix(loc, "node_modules/") {
			return nil, loc + " is a link or a workspace", false
		}
		entries[loc] = e
	}
	seen := map[string]bool{}
	for _, d := range dirs {
		e, found := entries[d]
		if !found {
			return nil, d + " is not in the hidden lockfile", false
		}
		if e.InBundle {
			continue // npm never runs a bundled dependency's scripts
		}
		if why := npmPackageScripts(read, d); why != "" {
			name := d[strings.LastIndex(d, "node_modules/")+len("node_modules/"):]
			if !npmRebuildName.MatchString(name) {
				return nil, d + " is not a package name npm rebuild takes", false
			}
			if !seen[name] {
				seen[name] = true
				names = append(names, name)
			}
		}
	}
	sort.Strings(names)
	if len(dirs) == 0 {
		return nil, "this install added or changed no package", true
	}
	if len(names) == 0 {
		return nil, fmt.Sprintf("none of the %d package(s) this install added or changed has install scripts", len(dirs)), true
	}
	return names, fmt.Sprintf("%d of the %d package(s) this install added or changed have install scripts: %s", len(names), len(dirs), strings.Join(names, ", ")), true
}

// npmNoopEdge is one dependency edge between package-lock.json locations.
type npmNoopEdge struct {
	from, to string
	optional bool // optionalDependencies, or a peer dependency marked optional
}

// npmNoopLockEdges resolves every dependency of package-lock.json's entries (the
// root's dev dependencies included) to the location node would load, as arborist
// links its tree; a dependency with no entry has no edge.
func npmNoopLockEdges(packages map[string]json.RawMessage, want map[string]npmLockEntry) (out, in map[string][]npmNoopEdge, ok bool) {
	out, in = map[string][]npmNoopEdge{}, map[string][]npmNoopEdge{}
	for loc, raw := range packages {
		var e map[string]json.RawMessage
		if json.Unmarshal(raw, &e) != nil {
			return nil, nil, false
		}
		var meta map[string]struct {
			Optional bool `json:"optional"`
		}
		_ = json.Unmarshal(e["peerDependenciesMeta"], &meta)
		for _, kind := range npmEdgeKeys {
			if kind == "devDependencies" && loc != "" {
				continue
			}
			var deps map[string]string
			if len(e[kind]) > 0 && json.Unmarshal(e[kind], &deps) != nil {
				return nil, nil, false
			}
			for name := range deps {
				to, found := npmResolveEdge(loc, name, want)
				if !found {
					continue
				}
				ed := npmNoopEdge{from: loc, to: to, optional: kind == "optionalDependencies" || kind == "peerDependencies" && meta[name].Optional}
				out[loc] = append(out[loc], ed)
				in[to] = append(in[to], ed)
			}
		}
	}
	return out, in, true
}

// npmPlatformSkipped is what npm leaves out of node_modules on this machine: each
// lockfile entry marked optional whose os, cpu or libc exclude this platform and
// that is not installed fails reify's checkPlatform, and npm drops it with its
// optional set (arborist's optionalSet: up its non-optional incoming edges to the
// optional boundary, then every dependency reached by non-optional edges that
// nothing outside the set needs). nil when the lockfile's edges are not understood.
func npmPlatformSkipped(packages map[string]json.RawMessage, want, got map[string]npmLockEntry) map[string]bool {
	out, in, ok := npmNoopLockEdges(packages, want)
	if !ok {
		return nil
	}
	skipped := map[string]bool{}
	locs := make([]string, 0, len(want))
	for loc := range want {
		locs = append(locs, loc)
	}
	sort.Strings(locs)
	for _, loc := range locs {
		w := want[loc]
		if _, installed := got[loc]; installed || !w.Optional || npmPlatformFits(w) {
			continue
		}
		set := npmNoopOptionalSet(loc, out, in)
		sure := true
		for s := range set {
			// In a lockfile npm wrote, all of an optional set is marked optional.
			sure = sure && s != "" && want[s].Optional
		}
		if !sure {
			continue
		}
		for s := range set {
			skipped[s] = true
		}
	}
	return skipped
}

// npmNoopOptionalSet is arborist's optionalSet of the optional node at loc.
func npmNoopOptionalSet(loc string, out, in map[string][]npmNoopEdge) map[string]bool {
	set := map[string]bool{loc: true}
	queue := []string{loc}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, e := range in[n] {
			if !e.optional && !set[e.from] {
				set[e.from] = true
				queue = append(queue, e.from)
			}
		}
	}
	// gatherDepSet(set, non-optional edges)
	deps := map[string]bool{}
	queue = queue[:0]
	for n := range set {
		deps[n] = true
		queue = append(queue, n)
	}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, e := range out[n] {
			if !e.optional && !deps[e.to] {
				deps[e.to] = true
				queue = append(queue, e.to)
			}
		}
	}
	for changed := true; changed && len(deps) > 0; {
		changed = false
		for d := range deps {
			for _, e := range in[d] {
				if !deps[e.from] && !e.optional {
					delete(deps, d)
					changed = true
					break
				}
			}
		}
	}
	return deps
}

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
	if st.ModTime().After(lockTime) {
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

func readNoLink(r *os.Root, rel string) ([]byte, error) {
	return safefs.ReadFile(r.Name(), rel, maxProjectFile, safefs.Options{})
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

// NpmBuildChanged is Plan.BuildChanged for npm: of the package dirs whose
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

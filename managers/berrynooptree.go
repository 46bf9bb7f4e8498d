package managers

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Reading a berry project's package.json, yarn.lock and
// node_modules/.yarn-state.yml as data, for BerryUpToDate (berrynoop.go). Every
// file is read beneath the project root with no link followed, bounded
// (readNoLink); nothing is executed.

// berryLockEntry is one entry of a berry yarn.lock (the fields yarn 4 writes).
type berryLockEntry struct {
	Version              string                     `yaml:"version"`
	Resolution           string                     `yaml:"resolution"`
	Dependencies         map[string]string          `yaml:"dependencies"`
	PeerDependencies     map[string]string          `yaml:"peerDependencies"`
	DependenciesMeta     map[string]map[string]bool `yaml:"dependenciesMeta"`
	PeerDependenciesMeta map[string]map[string]bool `yaml:"peerDependenciesMeta"`
	Bin                  map[string]string          `yaml:"bin"`
	Checksum             string                     `yaml:"checksum"`
	LanguageName         string                     `yaml:"languageName"`
	LinkType             string                     `yaml:"linkType"`
	Conditions           string                     `yaml:"conditions"`

	name      string
	fits      bool   // its conditions include this machine
	patchBase string // for yarn's builtin compat patch, the registry package it patches
}

var berryLockFields = map[string]bool{
	"version": true, "resolution": true, "dependencies": true, "peerDependencies": true,
	"dependenciesMeta": true, "peerDependenciesMeta": true, "bin": true, "checksum": true,
	"languageName": true, "linkType": true, "conditions": true,
}

// berryStateEntry is one locator of node_modules/.yarn-state.yml: the
// directories it is installed in, and the bin links of the directories'
// node_modules/.bin (keyed by the directory that holds that node_modules).
type berryStateEntry struct {
	Locations []string                     `yaml:"locations"`
	Bin       map[string]map[string]string `yaml:"bin"`
}

var berryStateFields = map[string]bool{"locations": true, "bin": true}

// berryManifestRefused are package.json fields that change what an install does
// beyond its dependencies, or that this reading does not follow.
var berryManifestRefused = []string{"workspaces", "resolutions", "dependenciesMeta", "peerDependencies",
	"peerDependenciesMeta", "optionalDependencies", "installConfig", "bundleDependencies", "bundledDependencies"}

// berryTree is one BerryUpToDate decision.
type berryTree struct {
	r          *os.Root
	scriptsOff bool
	dirs       map[string]bool // path → a real directory (no link)
	installed  int

	lock      map[string]*berryLockEntry // by resolution (locator)
	descs     map[string]string          // descriptor → resolution
	workspace string                     // the root workspace's locator
	cacheKey  string                     // yarn.lock's __metadata.cacheKey
	state     map[string]*berryStateEntry
	// installedSet are the state's locators, devirtualised.
	installedSet map[string]bool
	locs         map[string]string // location ("" for the root) → locator, devirtualised
}

func (t *berryTree) check() string {
	files, err := readNoLinks(t.r, "package.json", "yarn.lock", "node_modules/.yarn-state.yml")
	if err != nil {
		return err.Error()
	}
	for _, f := range []string{".yarn/install-state.gz", "node_modules/.package-map.json"} {
		if st, err := t.r.Lstat(f); err != nil || !st.Mode().IsRegular() {
			return f + " is missing (yarn would write it)"
		}
	}
	if why := t.readLock(files[1]); why != "" {
		return why
	}
	if why := t.matchManifest(files[0]); why != "" {
		return why
	}
	if why := t.readState(files[2]); why != "" {
		return why
	}
	if why := t.checkDirs(); why != "" {
		return why
	}
	if why := t.checkReach(); why != "" {
		return why
	}
	if why := t.checkEdges(); why != "" {
		return why
	}
	return t.checkBins()
}

// readLock reads yarn.lock: registry packages (npm:) and the root workspace only.
func (t *berryTree) readLock(data []byte) string {
	var top map[string]yaml.Node
	if err := yaml.Unmarshal(data, &top); err != nil {
		return "yarn.lock: " + err.Error()
	}
	meta, ok := top["__metadata"]
	var md struct {
		Version  string `yaml:"version"`
		CacheKey string `yaml:"cacheKey"`
	}
	if !ok || meta.Decode(&md) != nil || md.Version == "" || md.CacheKey == "" {
		return "yarn.lock is not a yarn berry lockfile"
	}
	t.cacheKey = md.CacheKey
	delete(top, "__metadata")
	if len(top) > maxNoopTree {
		return "yarn.lock is too large to check"
	}
	t.lock, t.descs = map[string]*berryLockEntry{}, map[string]string{}
	for key, node := range top {
		var fields map[string]yaml.Node
		if node.Decode(&fields) != nil {
			return "yarn.lock's " + key + " not understood"
		}
		for f := range fields {
			if !berryLockFields[f] {
				return "yarn.lock's " + key + " has " + f
			}
		}
		e := &berryLockEntry{}
		if node.Decode(e) != nil {
			return "yarn.lock's " + key + " not understood"
		}
		name, ref, ok := berrySplitLocator(e.Resolution)
		if !ok {
			return "yarn.lock's " + key + " has no resolution"
		}
		e.name = name
		switch {
		case strings.HasPrefix(ref, "workspace:"):
			if ref != "workspace:." || t.workspace != "" || e.LinkType != "soft" {
				return "yarn.lock has workspaces other than the project's root"
			}
			t.workspace = e.Resolution
		case strings.HasPrefix(ref, "npm:"):
			if v := ref[len("npm:"):]; v != e.Version || v == "" || strings.ContainsAny(v, ":/#@ ") || e.LinkType != "hard" {
				return "yarn.lock's " + key + " is not a registry package"
			}
		case strings.HasPrefix(ref, "patch:") && berryBuiltinPatched[name]:
			// yarn's own compat patch of a registry package, applied to every
			// dependency on it (typescript, resolve, fsevents).
			if e.patchBase = berryBuiltinBase(name, e.Version, ref); e.patchBase == "" || e.LinkType != "hard" {
				return "yarn.lock's " + key + " is not a registry package (" + ref + ")"
			}
		default:
			return "yarn.lock's " + key + " is not a registry package (" + ref + ")"
		}
		if _, dup := t.lock[e.Resolution]; dup {
			return "yarn.lock resolves two entries to " + e.Resolution
		}
		var known bool
		if e.fits, known = berryConditionsFit(e.Conditions); !known {
			return "yarn.lock's " + key + " has conditions this check does not read (" + e.Conditions + ")"
		}
		for dep, meta := range e.DependenciesMeta {
			for k, v := range meta {
				if k != "optional" || !v {
					return "yarn.lock's " + key + " has dependenciesMeta for " + dep
				}
			}
		}
		t.lock[e.Resolution] = e
		for _, d := range strings.Split(key, ",") {
			d = strings.TrimSpace(d)
			if dn, _, ok := berrySplitLocator(d); !ok || dn != name {
				return "yarn.lock's " + d + " is an alias for " + e.Resolution
			}
			t.descs[d] = e.Resolution
		}
	}
	if t.workspace == "" {
		return "yarn.lock has no entry for the project"
	}
	return ""
}

// matchManifest: package.json's dependencies are the ones yarn.lock was made
// from (its workspace entry lists them, devDependencies included, with the npm:
// protocol), and nothing in it changes the install beyond them.
func (t *berryTree) matchManifest(data []byte) string {
	var man map[string]json.RawMessage
	if err := json.Unmarshal(data, &man); err != nil {
		return "package.json: " + err.Error()
	}
	for _, k := range berryManifestRefused {
		if _, ok := man[k]; ok {
			return "package.json has " + k
		}
	}
	var scripts map[string]any
	_ = json.Unmarshal(man["scripts"], &scripts)
	for _, s := range berryWorkspaceEvents {
		if _, ok := scripts[s]; ok {
			return "package.json has a " + s + " script, which yarn runs as the project's build"
		}
	}
	var name string
	if json.Unmarshal(man["name"], &name) != nil || name+"@workspace:." != t.workspace {
		return "package.json's name is not yarn.lock's project"
	}
	want := map[string]string{}
	for _, kind := range []string{"dependencies", "devDependencies"} {
		var deps map[string]string
		if len(man[kind]) > 0 && json.Unmarshal(man[kind], &deps) != nil {
			return "package.json's " + kind + " not understood"
		}
		for dep, spec := range deps {
			if _, dup := want[dep]; dup {
				return dep + " is in package.json twice"
			}
			if spec == "" || strings.ContainsAny(spec, ":/#@") {
				return fmt.Sprintf("package.json's %s@%s is not a registry range", dep, spec)
			}
			want[dep] = "npm:" + spec
		}
	}
	got := t.lock[t.workspace].Dependencies
	if len(got) != len(want) || len(t.lock[t.workspace].PeerDependencies) > 0 || len(t.lock[t.workspace].DependenciesMeta) > 0 {
		return "package.json's dependencies are not the ones yarn.lock was made from"
	}
	for dep, spec := range want {
		if got[dep] != spec {
			return fmt.Sprintf("package.json's %s@%s is not what yarn.lock was made from", dep, spec[len("npm:"):])
		}
	}
	return ""
}

// readState reads node_modules/.yarn-state.yml: every locator of yarn.lock that
// fits this machine is installed, and nothing else.
func (t *berryTree) readState(data []byte) string {
	var top map[string]yaml.Node
	if err := yaml.Unmarshal(data, &top); err != nil {
		return "node_modules/.yarn-state.yml: " + err.Error()
	}
	meta, ok := top["__metadata"]
	var md struct {
		Version int    `yaml:"version"`
		NmMode  string `yaml:"nmMode"`
	}
	if !ok || meta.Decode(&md) != nil || md.Version != 1 || (md.NmMode != "" && md.NmMode != "classic") {
		return "node_modules/.yarn-state.yml records another layout"
	}
	delete(top, "__metadata")
	if len(top) > maxNoopTree {
		return "node_modules/.yarn-state.yml is too large to check"
	}
	t.state, t.locs = map[string]*berryStateEntry{}, map[string]string{}
	installed := map[string]bool{}
	for key, node := range top {
		var fields map[string]yaml.Node
		if node.Decode(&fields) != nil {
			return "node_modules/.yarn-state.yml's " + key + " not understood"
		}
		for f := range fields {
			if !berryStateFields[f] {
				return "node_modules/.yarn-state.yml's " + key + " has " + f
			}
		}
		e := &berryStateEntry{}
		if node.Decode(e) != nil || len(e.Locations) == 0 {
			return "node_modules/.yarn-state.yml's " + key + " not understood"
		}
		locator := berryDevirtualize(key)
		le, ok := t.lock[locator]
		if !ok {
			return "node_modules holds " + key + ", which yarn.lock does not have"
		}
		if !le.fits {
			return "node_modules holds " + key + ", whose conditions exclude this machine"
		}
		for _, loc := range e.Locations {
			switch {
			case locator == t.workspace:
				if loc != "" || len(e.Locations) != 1 {
					return "node_modules/.yarn-state.yml installs the project elsewhere"
				}
			case path.Clean(loc) != loc || !strings.HasPrefix(loc, "node_modules/") || !strings.HasSuffix(loc, "node_modules/"+le.name) ||
				slices.Contains(strings.Split(loc, "/"), "..") || strings.ContainsAny(loc, "\\\x00"):
				return "node_modules/.yarn-state.yml installs " + key + " at " + loc
			}
			if _, dup := t.locs[loc]; dup {
				return "node_modules/.yarn-state.yml installs two packages at " + loc
			}
			t.locs[loc] = locator
		}
		t.state[key] = e
		installed[locator] = true
	}
	t.installedSet = installed
	return ""
}

// checkDirs: every location is a directory (no link on the way) holding the
// package at the version yarn.lock gives it; a package with a build makes the
// install run unless scripts are off.
func (t *berryTree) checkDirs() string {
	for loc, locator := range t.locs {
		if loc == "" {
			continue
		}
		if !t.realDir(loc) {
			return loc + " is not installed"
		}
		data, err := readNoLink(t.r, loc+"/package.json")
		if err != nil {
			return err.Error()
		}
		var m struct {
			Name    string         `json:"name"`
			Version string         `json:"version"`
			Scripts map[string]any `json:"scripts"`
		}
		le := t.lock[locator]
		if json.Unmarshal(data, &m) != nil || m.Name != le.name || m.Version != le.Version {
			return loc + "/package.json is not " + le.name + "@" + le.Version
		}
		if !t.scriptsOff {
			for _, s := range berryWorkspaceEvents {
				if _, ok := m.Scripts[s]; ok {
					return le.name + " has a " + s + " script; whether yarn built it is recorded only in .yarn/install-state.gz"
				}
			}
			if _, err := t.r.Lstat(loc + "/binding.gyp"); err == nil {
				return le.name + " has a binding.gyp; whether yarn built it is recorded only in .yarn/install-state.gz"
			}
		}
		t.installed++
	}
	return ""
}

// checkReach: the packages installed are the ones yarn.lock reaches from the
// project through packages that fit this machine (a package only an excluded
// one needs, fsevents' node-gyp, is not installed), and every descriptor of
// yarn.lock is reached from the project at all (a bare install would prune
// one that is not).
func (t *berryTree) checkReach() string {
	used := map[string]bool{}
	needed := map[string]bool{}
	// walk visits res and what it depends on; inside is false below a package
	// that does not fit this machine.
	type visit struct {
		res    string
		inside bool
	}
	seen := map[visit]bool{}
	queue := []visit{{t.workspace, true}}
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		if seen[v] {
			continue
		}
		seen[v] = true
		le := t.lock[v.res]
		if v.inside {
			needed[v.res] = true
		}
		for dep, rng := range le.Dependencies {
			res, why := t.dependency(le, dep, rng, used)
			if why != "" {
				return why
			}
			queue = append(queue, visit{res, v.inside && t.lock[res].fits})
		}
	}
	for d := range t.descs {
		if !used[d] && t.descs[d] != t.workspace {
			return "yarn.lock's " + d + " is not used (yarn would remove it)"
		}
	}
	for res := range needed {
		if !t.installedSet[res] {
			return res + " is in yarn.lock but not installed"
		}
	}
	for res := range t.installedSet {
		if !needed[res] {
			return "node_modules holds " + res + ", which the project does not need"
		}
	}
	return ""
}

// dependency is the locator yarn.lock resolves le's dependency dep@rng to — a
// dependency on a package yarn patches itself resolves to the patch — and
// marks the descriptors it went through in used (when not nil).
func (t *berryTree) dependency(le *berryLockEntry, dep, rng string, used map[string]bool) (string, string) {
	d := dep + "@" + rng
	if pd := berryBuiltinDescriptor(dep, rng); pd != "" {
		if _, ok := t.descs[pd]; ok {
			if used != nil {
				used[d] = true
			}
			d = pd
		}
	}
	res, ok := t.descs[d]
	if !ok {
		return "", "yarn.lock has no entry for " + le.name + "'s dependency " + d
	}
	if used != nil {
		used[d] = true
	}
	return res, ""
}

// checkEdges: every dependency of every installed package (the project
// included) resolves, as node finds it from the package's directory, to the
// version yarn.lock locks it to, and every peer dependency to a directory the
// state lists.
func (t *berryTree) checkEdges() string {
	for key, e := range t.state {
		le := t.lock[berryDevirtualize(key)]
		for _, from := range e.Locations {
			for dep, rng := range le.Dependencies {
				res, why := t.dependency(le, dep, rng, nil)
				if why != "" {
					return why
				}
				if !t.lock[res].fits {
					continue
				}
				got, why := t.resolve(from, dep)
				if why != "" {
					return why
				}
				if got != res {
					return fmt.Sprintf("%s's dependency %s resolves to %s in node_modules, yarn.lock says %s", le.Resolution, dep, firstNonEmpty(got, "nothing"), res)
				}
			}
			// A peer is whatever the dependent provides (yarn's virtual
			// locators); it must at least be a directory yarn installed.
			for dep := range le.PeerDependencies {
				if _, why := t.resolve(from, dep); why != "" {
					return why
				}
			}
		}
	}
	return ""
}

// resolve finds dep the way node does from the directory from ("" the root):
// from/node_modules/dep, then each ancestor's node_modules. A directory there
// that the state does not list is an answer too: the tree is not yarn's.
func (t *berryTree) resolve(from, dep string) (locator, why string) {
	for d := from; ; {
		if path.Base(d) != "node_modules" {
			c := path.Join(d, "node_modules", dep)
			if l, ok := t.locs[c]; ok {
				return l, ""
			}
			if _, err := t.r.Lstat(c); err == nil {
				return "", c + " is not in node_modules/.yarn-state.yml"
			}
		}
		if d == "" {
			return "", ""
		}
		if d = path.Dir(d); d == "." {
			d = ""
		}
	}
}

// checkBins: the bin links the state records are there, each a relative link to
// the file it names; every bin of an installed package has a link in the
// node_modules/.bin beside it.
func (t *berryTree) checkBins() string {
	have := map[string]bool{} // dir + "\x00" + bin name
	for key, e := range t.state {
		for dir, bins := range e.Bin {
			if dir != "." && (t.locs[dir] == "" || dir == "") {
				return "node_modules/.yarn-state.yml's " + key + " has bins for " + dir
			}
			binDir := path.Join(dir, "node_modules", ".bin")
			if len(bins) > 0 && !t.realDir(binDir) {
				return binDir + " is missing"
			}
			for name, target := range bins {
				if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\\x00") {
					return "node_modules/.yarn-state.yml's " + key + " has a bin named " + name
				}
				link := path.Join(binDir, name)
				st, err := t.r.Lstat(link)
				if err != nil || st.Mode()&os.ModeSymlink == 0 {
					return link + " is not yarn's link"
				}
				got, err := t.r.Readlink(link)
				if err != nil || path.IsAbs(got) || path.Join(binDir, got) != path.Join(dir, "node_modules", target) {
					return link + " does not lead to " + path.Join(dir, "node_modules", target)
				}
				have[path.Clean(dir)+"\x00"+name] = true
			}
		}
	}
	for loc, locator := range t.locs {
		le := t.lock[locator]
		if loc == "" || len(le.Bin) == 0 {
			continue
		}
		parent := strings.TrimSuffix(strings.TrimSuffix(loc, "node_modules/"+le.name), "/")
		if parent == "" {
			parent = "."
		}
		for name := range le.Bin {
			if !have[parent+"\x00"+name] {
				return fmt.Sprintf("%s's bin %s is not linked", le.name, name)
			}
		}
	}
	return ""
}

// realDir: p is a directory beneath the root and no component of it is a link.
func (t *berryTree) realDir(p string) bool {
	if ok, seen := t.dirs[p]; seen {
		return ok
	}
	ok := true
	if parent := path.Dir(p); parent != "." {
		ok = t.realDir(parent)
	}
	if ok {
		st, err := t.r.Lstat(p)
		ok = err == nil && st.IsDir()
	}
	t.dirs[p] = ok
	return ok
}

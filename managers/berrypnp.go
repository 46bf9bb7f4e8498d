package managers

import (
	"archive/zip"
	"bytes"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// `yarn install` (berry) with nothing to do for Plug'n'Play, berry's default
// linker (issue 12). Yarn's record of a PnP install is .pnp.cjs: the runtime node
// loads, with the package registry (every locator, where its files are, what
// each dependency resolves to) inlined as a JSON string. Yarn rewrites it on
// every install (when it differs), so an install has nothing to do only when the
// file already is, byte for byte, what yarn would write: phylum-box computes the
// registry from yarn.lock and package.json, writes it the way yarn's
// generatePrettyJson does (berrypnpjs.go), and compares the whole file with it —
// the runtime after the registry with the one the project's release carries.
// Nothing in .pnp.cjs is parsed or trusted, and it is never run.
//
// Every package must be a registry zip in the user's global cache (the cache
// phylum-box's own steps fill; a project cache is attacker input and runs every
// step), with the checksum yarn.lock records. Each zip's package.json and file
// list decide what yarn decides from them: a package yarn would unplug (a
// preferUnplugged, a file yarn extracts — .node, .c, … —, a build when scripts
// are on, conditions, open/opn) and a build when scripts are on (which builds ran is recorded only in
// .yarn/install-state.gz) make the install run every step. An ES module
// package (or project) needs yarn's ESM loader, .pnp.loader.mjs, which must then
// be the one the release carries, byte for byte; without one it must be absent. So do peer
// dependencies (virtual packages), patches, aliases, workspaces and a
// non-default PnP setting: this check covers the common plain case and is exact
// there, and anything else gets the five steps.
//
// A checkout that lies gains nothing: every byte of .pnp.cjs is what this check
// computes for yarn.lock, every zip it points at is the locked one in the user's
// cache, and yarn.lock is prechecked as always. Where the model is wrong the
// bytes differ and every step runs (a package yarn's built-in package
// extensions give optional peers, debug@2 among them, is virtual in yarn's
// file: such a project is not up to date here). The one way the model could
// accept what yarn would not write is a file equal to the model where yarn
// would add such peers — still every package at its checked archive.
//
// The runtime is the project's release's (yarnPath inside the project): that
// is what bare yarn writes, and what phylum-box's own build step, which runs
// that release offline, leaves too. .yarn/install-state.gz is required, not
// read; yarn.lock's formatting is not compared (the node-modules check does the
// same).

// berryPnp is one BerryPnpUpToDate decision.
type berryPnp struct {
	berryTree
	root     string
	cacheDir string // the global cache (absolute)
	release  string // the project's yarn release, relative to the root
	esm      bool   // a package or the project is an ES module: yarn writes .pnp.loader.mjs
}

// BerryPnpUpToDate says whether yarn berry's `yarn install` at root, with
// Plug'n'Play and the global cache at cacheDir, has nothing to do; release is
// the project's yarnPath (relative to root), scriptsOff is enableScripts: false.
func BerryPnpUpToDate(root, cacheDir, release string, scriptsOff bool) (bool, string) {
	r, err := os.OpenRoot(root)
	if err != nil {
		return false, err.Error()
	}
	defer r.Close()
	t := &berryPnp{berryTree: berryTree{r: r, scriptsOff: scriptsOff, dirs: map[string]bool{}}, root: root, cacheDir: cacheDir, release: release}
	n, why := t.check()
	if why != "" {
		return false, why
	}
	return true, fmt.Sprintf(".pnp.cjs is yarn's for the %d package(s) of yarn.lock", n)
}

func (t *berryPnp) check() (int, string) {
	files, err := readNoLinks(t.r, "package.json", "yarn.lock", ".pnp.cjs")
	if err != nil {
		return 0, err.Error()
	}
	if st, err := t.r.Lstat(".yarn/install-state.gz"); err != nil || !st.Mode().IsRegular() {
		return 0, ".yarn/install-state.gz is missing (yarn would write it)"
	}
	// What yarn would remove, or write only for what this check refuses.
	for _, f := range []string{".pnp.data.json", ".yarn/unplugged", "node_modules"} {
		if _, err := t.r.Lstat(f); err == nil || !os.IsNotExist(err) {
			return 0, f + " exists (yarn would remove or rewrite it)"
		}
	}
	if why := t.readLock(files[1]); why != "" {
		return 0, why
	}
	if why := t.matchManifest(files[0]); why != "" {
		return 0, why
	}
	var man struct {
		Type any `json:"type"`
	}
	if json.Unmarshal(files[0], &man) != nil {
		return 0, "package.json not understood"
	}
	switch man.Type {
	case nil, "commonjs":
	case "module":
		t.esm = true
	default:
		return 0, fmt.Sprintf("package.json's type %v is not one this check reads", man.Type)
	}
	if why := t.pnpEntries(); why != "" {
		return 0, why
	}
	if why := t.pnpReach(); why != "" {
		return 0, why
	}
	// The registry first (cheap), then the archives it points at.
	head := []byte(berryPnpScriptHead(t.pnpState()))
	pnp := files[2]
	if !bytes.HasPrefix(pnp, head) {
		return 0, ".pnp.cjs is not what yarn would write for yarn.lock (" + berryPnpDiff(pnp, head) + ")"
	}
	for _, le := range t.lock {
		if le.Resolution == t.workspace {
			continue
		}
		if why := t.checkZip(le); why != "" {
			return 0, why
		}
	}
	release, err := readNoLink(t.r, t.release)
	if err != nil {
		return 0, err.Error()
	}
	if !berryReleaseHasHook(release, pnp[len(head):]) {
		return 0, ".pnp.cjs's runtime is not the one " + t.release + " writes"
	}
	// The ESM loader: yarn writes it when a package (or the project) is an ES
	// module, and removes it otherwise.
	loader, err := readNoLink(t.r, ".pnp.loader.mjs")
	switch {
	case !t.esm && err == nil:
		return 0, ".pnp.loader.mjs exists and no package is an ES module (yarn would remove it)"
	case !t.esm && !errors.Is(err, fs.ErrNotExist):
		return 0, err.Error()
	case t.esm && err != nil:
		return 0, ".pnp.loader.mjs: " + err.Error() + " (yarn would write it: a package is an ES module)"
	case t.esm && !berryReleaseHasLoader(release, loader):
		return 0, ".pnp.loader.mjs is not the ESM loader " + t.release + " writes"
	}
	return len(t.lock) - 1, ""
}

// pnpEntries refuses what yarn.lock may hold that this check does not compute:
// yarn's own patches, peer dependencies (virtual packages), conditions
// (unplugged), and packages yarn always unplugs.
func (t *berryPnp) pnpEntries() string {
	if t.cacheKey == "" || strings.Trim(t.cacheKey, "0123456789abcdefghijklmnopqrstuvwxyz") != "" {
		return "yarn.lock's cacheKey " + t.cacheKey + " is not one this check reads"
	}
	for _, le := range t.lock {
		switch {
		case le.patchBase != "":
			return le.Resolution + " is patched by yarn (a separate archive this check does not compute)"
		case len(le.PeerDependencies) > 0 || len(le.PeerDependenciesMeta) > 0:
			return le.Resolution + " has peer dependencies (virtual packages this check does not compute)"
		case le.Conditions != "":
			return le.Resolution + " has conditions (yarn unplugs it)"
		case le.name == "open" || le.name == "opn":
			return le.Resolution + " is one yarn always unplugs"
		case le.Resolution != t.workspace && !strings.HasPrefix(le.Checksum, t.cacheKey+"/"):
			return le.Resolution + " has no checksum for cache " + t.cacheKey
		}
	}
	return ""
}

// pnpReach: every entry of yarn.lock is reached from the project and every
// descriptor is used (a bare install would prune what is not).
func (t *berryPnp) pnpReach() string {
	used, seen := map[string]bool{}, map[string]bool{}
	queue := []string{t.workspace}
	for len(queue) > 0 {
		res := queue[0]
		queue = queue[1:]
		if seen[res] {
			continue
		}
		seen[res] = true
		le := t.lock[res]
		for dep, rng := range le.Dependencies {
			d, why := t.dependency(le, dep, rng, used)
			if why != "" {
				return why
			}
			queue = append(queue, d)
		}
	}
	for d, res := range t.descs {
		if !used[d] && res != t.workspace {
			return "yarn.lock's " + d + " is not used (yarn would remove it)"
		}
	}
	for res := range t.lock {
		if !seen[res] {
			return "yarn.lock's " + res + " is not needed by the project (yarn would remove it)"
		}
	}
	return ""
}

// berryPnpExtract are the extensions of files that make yarn unplug a package
// (its linker's extract hint).
var berryPnpExtract = map[string]bool{".exe": true, ".bin": true, ".h": true, ".hh": true, ".hpp": true,
	".c": true, ".cc": true, ".cpp": true, ".java": true, ".jar": true, ".node": true}

// berrySemver says whether v is a version node-semver's valid() returns
// unchanged (yarn names the archive after that): MAJOR.MINOR.PATCH with an
// optional prerelease, no leading zero in a number, no build metadata.
func berrySemver(v string) bool {
	core, pre, hasPre := strings.Cut(v, "-")
	parts := strings.Split(core, ".")
	if len(parts) != 3 || (hasPre && pre == "") {
		return false
	}
	ids := parts
	if hasPre {
		ids = append(ids, strings.Split(pre, ".")...)
	}
	for i, id := range ids {
		numeric := id != "" && strings.Trim(id, "0123456789") == ""
		switch {
		case id == "" || strings.Trim(id, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-") != "":
			return false
		case i < 3 && !numeric:
			return false
		case numeric && len(id) > 1 && id[0] == '0':
			return false
		}
	}
	return true
}

// maxBerryZip bounds a cache archive this check hashes and reads.
const maxBerryZip = 512 << 20

// berryZipName is the name of a registry package's archive in the global cache:
// yarn's slugifyLocator and the cache key.
func berryZipName(name, version, cacheKey string) string {
	identHash := sha512Hex(strings.TrimPrefix(strings.Replace(name, "/", "", 1), "@"))
	locatorHash := sha512Hex(identHash + "npm:" + version)
	slug := name
	if strings.HasPrefix(name, "@") {
		slug = strings.Replace(name, "/", "-", 1)
	}
	return slug + "-npm-" + version + "-" + locatorHash[:10] + "-" + cacheKey + ".zip"
}

func sha512Hex(s string) string {
	h := sha512.Sum512([]byte(s))
	return hex.EncodeToString(h[:])
}

// checkZip: le's archive is in the global cache, a regular file whose sha512 is
// yarn.lock's checksum; from its package.json and file list, yarn would neither
// unplug it, nor build it, nor need the ESM loader for it.
func (t *berryPnp) checkZip(le *berryLockEntry) string {
	if !npmRebuildName.MatchString(le.name) || !berrySemver(le.Version) {
		return le.Resolution + " is not a name and version this check reads"
	}
	name := berryZipName(le.name, le.Version, t.cacheKey)
	cr, err := os.OpenRoot(t.cacheDir)
	if err != nil {
		return "the yarn cache " + t.cacheDir + ": " + err.Error()
	}
	defer cr.Close()
	st, err := cr.Lstat(name)
	if err != nil || !st.Mode().IsRegular() || st.Size() > maxBerryZip {
		return le.Resolution + " is not in the yarn cache (" + name + ")"
	}
	f, err := cr.Open(name)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	h := sha512.New()
	if _, err := io.Copy(h, io.LimitReader(f, maxBerryZip)); err != nil {
		return err.Error()
	}
	if t.cacheKey+"/"+hex.EncodeToString(h.Sum(nil)) != le.Checksum {
		return le.Resolution + "'s archive in the yarn cache is not the one yarn.lock records"
	}
	zr, err := zip.NewReader(f, st.Size())
	if err != nil {
		return le.Resolution + "'s archive: " + err.Error()
	}
	prefix := "node_modules/" + le.name + "/"
	var manifest *zip.File
	gyp := false
	for _, zf := range zr.File {
		switch zf.Name {
		case prefix + "package.json":
			manifest = zf
		case prefix + "binding.gyp":
			gyp = true
		}
		base := path.Base(zf.Name)
		if i := strings.LastIndexByte(base, '.'); i > 0 && berryPnpExtract[base[i:]] && !strings.HasSuffix(zf.Name, "/") {
			return le.Resolution + " has " + zf.Name + " (yarn unplugs it)"
		}
	}
	if manifest == nil || manifest.UncompressedSize64 > maxProjectFile {
		return le.Resolution + "'s archive has no package.json"
	}
	rc, err := manifest.Open()
	if err != nil {
		return err.Error()
	}
	data, err := io.ReadAll(io.LimitReader(rc, maxProjectFile))
	rc.Close()
	if err != nil {
		return err.Error()
	}
	var m struct {
		Scripts         map[string]any `json:"scripts"`
		PreferUnplugged any            `json:"preferUnplugged"`
		Type            any            `json:"type"`
	}
	if json.Unmarshal(data, &m) != nil {
		return le.Resolution + "'s package.json not understood"
	}
	switch m.Type {
	case nil, "commonjs":
	case "module":
		t.esm = true
	default:
		return fmt.Sprintf("%s's type %v is not one this check reads", le.Resolution, m.Type)
	}
	if m.PreferUnplugged == true {
		return le.Resolution + " prefers to be unplugged"
	}
	_, install := m.Scripts["install"]
	build := (gyp && !install) || slices.ContainsFunc(berryWorkspaceEvents, func(s string) bool { _, ok := m.Scripts[s]; return ok })
	if build && !t.scriptsOff {
		return le.Resolution + " has a build; whether yarn built it is recorded only in .yarn/install-state.gz"
	}
	return ""
}

// pnpState is the runtime state yarn writes into .pnp.cjs for this project
// (yarn's generateSerializedState with the default settings: top-level fallback
// for dependencies only, the libzip backend, .yarn/sdks ignored).
func (t *berryPnp) pnpState() *berryJSObject {
	ws := t.lock[t.workspace]
	root := &berryJSObject{}
	root.set("name", ws.name).set("reference", "workspace:.")
	state := &berryJSObject{}
	state.set("__info", []any{"This file is automatically generated. Do not touch it, or risk", "your modifications being lost."})
	state.set("dependencyTreeRoots", []any{root})
	state.set("enableTopLevelFallback", true)
	state.set("ignorePatternData", berryPnpIgnorePattern)
	state.set("pnpZipBackend", "libzip")
	state.set("fallbackExclusionList", []any{[]any{ws.name, []any{"workspace:."}}})
	state.set("fallbackPool", []any{})

	// By name, then reference; the project first, under null.
	byName := map[string][]*berryLockEntry{}
	for _, le := range t.lock {
		byName[le.name] = append(byName[le.name], le)
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	slices.Sort(names)
	registry := []any{[]any{nil, []any{[]any{nil, t.pnpInfo(ws)}}}}
	for _, n := range names {
		les := byName[n]
		slices.SortFunc(les, func(a, b *berryLockEntry) int { return strings.Compare(a.Resolution, b.Resolution) })
		var store []any
		for _, le := range les {
			_, ref, _ := berrySplitLocator(le.Resolution)
			store = append(store, []any{ref, t.pnpInfo(le)})
		}
		registry = append(registry, []any{n, store})
	}
	state.set("packageRegistryData", registry)
	return state
}

// berryPnpIgnorePattern is yarn's pnpIgnorePatterns default (.yarn/sdks/**) as
// the regular expression it writes.
const berryPnpIgnorePattern = `(^(?:\.yarn\/sdks(?:\/(?!\.{1,2}(?:\/|$))(?:(?:(?!(?:^|\/)\.{1,2}(?:\/|$)).)*?)|$))$)`

// pnpInfo is one package's entry: where it is, and what each dependency (itself
// included) resolves to.
func (t *berryPnp) pnpInfo(le *berryLockEntry) *berryJSObject {
	_, self, _ := berrySplitLocator(le.Resolution)
	deps := map[string]string{le.name: self}
	for dep, rng := range le.Dependencies {
		res, _ := t.dependency(le, dep, rng, nil)
		_, ref, _ := berrySplitLocator(res)
		deps[dep] = ref
	}
	keys := make([]string, 0, len(deps))
	for k := range deps {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	list := make([]any, 0, len(keys))
	for _, k := range keys {
		list = append(list, []any{k, deps[k]})
	}
	info := &berryJSObject{}
	loc, link := "./", "SOFT"
	if le.Resolution != t.workspace {
		loc, link = t.zipLocation(le), "HARD"
	}
	info.set("packageLocation", loc).set("packageDependencies", list).set("linkType", link)
	return info
}

// zipLocation is the package's directory inside its cache archive, relative to
// the project the way yarn writes it ("./…" or "../…").
func (t *berryPnp) zipLocation(le *berryLockEntry) string {
	zipPath := filepath.Join(t.cacheDir, berryZipName(le.name, le.Version, t.cacheKey))
	rel, err := filepath.Rel(t.root, zipPath)
	if err != nil {
		return ""
	}
	rel = filepath.ToSlash(rel) + "/node_modules/" + le.name + "/"
	if !strings.HasPrefix(rel, "../") {
		rel = "./" + rel
	}
	return rel
}

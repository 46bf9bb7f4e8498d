package managers

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"deps.dev/util/semver"
)

// The everyday npm commands made cheap: `npm install` in a project whose
// node_modules already is what package-lock.json says (nothing to do), and, after
// an install that adds or changes some packages, a build of only those.
//
// Deciding "nothing to do" reads project files as data and runs nothing. A hostile
// project that fakes an up-to-date tree gains nothing from it: no step runs, nothing
// is synced back, and the committed lockfile is still prechecked.

// npmNoopOptions are the settings (command line, environment, .npmrc files) that
// leave what `npm install` does to node_modules unchanged: where packages come
// from and with which credentials (the tree is the lockfile's either way), and
// how npm talks. Any other setting (omit, install-strategy, legacy-peer-deps,
// overrides of platform, …) means the full steps.
var npmNoopOptions = map[string]bool{
	"audit": true, "fund": true, "loglevel": true, "silent": true, "quiet": true, "verbose": true,
	"progress": true, "color": true, "update-notifier": true, "unicode": true, "timing": true,
	"logs-dir": true, "logs-max": true, "heading": true, "registry": true, "cache": true,
	"userconfig": true, "globalconfig": true, "strict-ssl": true, "ca": true, "cafile": true,
	"proxy": true, "https-proxy": true, "noproxy": true, "no-proxy": true, "always-auth": true,
	"maxsockets": true, "fetch-retries": true, "fetch-retry-factor": true, "fetch-retry-mintimeout": true,
	"fetch-retry-maxtimeout": true, "fetch-timeout": true, "prefer-online": true, "prefer-offline": true,
	"user-agent": true, "save-exact": true, "save-prefix": true, "init-author-name": true,
	"init-author-email": true, "init-author-url": true, "init-license": true, "init-version": true,
	"sign-git-commit": true, "sign-git-tag": true, "git-tag-version": true, "tag-version-prefix": true,
	"message": true, "email": true, "auth-type": true, "otp": true, "yes": true,
	// Build settings: nothing to do builds nothing, with npm too (the root's own
	// install scripts, which npm runs every time, mean the full steps).
	"nodedir": true, "foreground-scripts": true, "ignore-scripts": true,
	// Checked against the lockfile (NpmUpToDate).
	"omit-lockfile-registry-resolved": true,
}

// npmNoopSetting reports whether a setting (an .npmrc key, a flag's long name, an
// npm_config_ variable's rest) leaves `npm install`'s tree alone.
func npmNoopSetting(key string) bool {
	key = strings.ToLower(strings.ReplaceAll(key, "_", "-"))
	switch {
	case strings.HasPrefix(key, "//"): // per-registry credentials
		return true
	case strings.HasPrefix(key, "@") && strings.HasSuffix(key, ":registry"):
		return true
	}
	return npmNoopOptions[key]
}

// npmRootScripts are the root project's scripts a bare `npm install` runs every
// time, even with nothing to install (npm's lib/commands/install.js).
var npmRootScripts = []string{"preinstall", "install", "postinstall", "prepublish", "preprepare", "prepare", "postprepare"}

// npmNoopCheck returns Plan.Steps.UpToDate for an npm command line, or nil when the
// command could change node_modules whatever the files say: anything but a bare
// `npm install` (or its aliases), options beyond npmNoopOptions, a setting in an
// .npmrc or npm_config_ variable beyond them, workspaces, a shrinkwrap.
func npmNoopCheck(cmd string, rest []string, a *npmArgv, cfg *NpmConfig, man *nodeManifest, root string) func() (bool, string) {
	if cmd != "install" || len(rest) > 0 || man == nil || len(man.workspacePatterns()) > 0 || exists(root, "npm-shrinkwrap.json") {
		return nil
	}
	for _, o := range a.occurrences {
		if !npmNoopSetting(o.name) {
			return nil
		}
	}
	if k := cfg.firstSetting(func(k string) bool { return !npmNoopSetting(k) }); k != "" {
		return nil
	}
	if cfg.env.Getenv("NODE_ENV") == "production" {
		return nil // npm's omit defaults to dev: it would remove the dev dependencies
	}
	omitResolved := cfg.get("omit-lockfile-registry-resolved") == "true"
	return func() (bool, string) { return NpmUpToDate(root, omitResolved) }
}

// firstSetting returns the first setting key, of every file, the environment
// (npm_config_*) and the command line, for which bad is true; "" when none is. A
// line under an ini [section] counts as bad ("[section]").
func (c *NpmConfig) firstSetting(bad func(key string) bool) string {
	for k := range c.cli {
		if bad(k) {
			return k
		}
	}
	for _, kv := range c.env.Environ {
		k, _, _ := strings.Cut(kv, "=")
		if rest, ok := cutPrefixFold(k, "npm_config_"); ok && bad(rest) {
			return k
		}
	}
	for _, f := range c.files {
		for _, l := range f.lines {
			if l.section {
				return "[section]"
			}
			if l.key != "" && bad(l.key) {
				return l.key
			}
		}
	}
	return ""
}

// maxNoopTree bounds the directories NpmUpToDate looks at: a larger tree gets the
// full steps.
const maxNoopTree = 100000

// npmLockEntry is one "packages" entry of package-lock.json or the hidden lockfile.
type npmLockEntry struct {
	Name      string          `json:"name"`
	Version   string          `json:"version"`
	Resolved  string          `json:"resolved"`
	Integrity string          `json:"integrity"`
	Link      bool            `json:"link"`
	Optional  bool            `json:"optional"`
	InBundle  bool            `json:"inBundle"`
	OS        json.RawMessage `json:"os"`
	CPU       json.RawMessage `json:"cpu"`
	Libc      json.RawMessage `json:"libc"`
}

type npmLock struct {
	Name            string                     `json:"name"`
	Version         string                     `json:"version"`
	LockfileVersion int                        `json:"lockfileVersion"`
	Packages        map[string]json.RawMessage `json:"packages"`
}

// NpmUpToDate says whether `npm install` at root has nothing to do: package.json's
// dependencies are the ones package-lock.json was made for, and node_modules holds
// exactly the lockfile's packages, as npm's hidden lockfile records them and npm
// itself would trust it (no directory in node_modules newer than it, every
// package's package.json the recorded version). why says what was found. Every
// file is read beneath root without following a symbolic link; a link anywhere in
// node_modules (workspaces, file: dependencies) means not up to date. With
// omitResolved (omit-lockfile-registry-resolved=true) npm rewrites a lockfile whose
// entries have a resolved URL without it: not up to date either.
func NpmUpToDate(root string, omitResolved bool) (ok bool, why string) {
	r, err := os.OpenRoot(root)
	if err != nil {
		return false, err.Error()
	}
	defer r.Close()
	files, err := readNoLinks(r, "package.json", "package-lock.json", "node_modules/.package-lock.json")
	if err != nil {
		return false, err.Error()
	}
	pj, lockData, hiddenData := files[0], files[1], files[2]
	hiddenSt, err := r.Lstat("node_modules/.package-lock.json")
	if err != nil {
		return false, err.Error()
	}
	var man map[string]json.RawMessage
	if err := json.Unmarshal(pj, &man); err != nil {
		return false, "package.json: " + err.Error()
	}
	var lock, hidden npmLock
	if err := json.Unmarshal(lockData, &lock); err != nil {
		return false, "package-lock.json: " + err.Error()
	}
	if err := json.Unmarshal(hiddenData, &hidden); err != nil {
		return false, "node_modules/.package-lock.json: " + err.Error()
	}
	if why := npmManifestMatchesLock(man, &lock); why != "" {
		return false, why
	}
	if lock.LockfileVersion < 2 || hidden.LockfileVersion < 2 || hidden.Packages == nil {
		return false, "an npm 6 lockfile (npm rewrites it)"
	}
	want := map[string]npmLockEntry{}
	for loc, raw := range lock.Packages {
		if loc == "" {
			continue
		}
		var e npmLockEntry
		if err := json.Unmarshal(raw, &e); err != nil {
			return false, fmt.Sprintf("package-lock.json %q: %v", loc, err)
		}
		want[loc] = e
	}
	got := map[string]npmLockEntry{}
	for loc, raw := range hidden.Packages {
		if loc == "" {
			continue
		}
		var e npmLockEntry
		if err := json.Unmarshal(raw, &e); err != nil {
			return false, fmt.Sprintf("node_modules/.package-lock.json %q: %v", loc, err)
		}
		got[loc] = e
	}
	for loc, w := range want {
		switch {
		case !strings.HasPrefix(loc, "node_modules/"):
			return false, loc + " is not below node_modules (a workspace)"
		case w.Link:
			return false, loc + " is a link"
		case w.InBundle:
		case w.Version == "" || w.Integrity == "" || w.Resolved != "" && !strings.HasPrefix(w.Resolved, "https://") && !strings.HasPrefix(w.Resolved, "http://"):
			return false, loc + " is not a registry package with a version and an integrity"
		case w.Resolved != "" && omitResolved:
			return false, "npm drops the lockfile's resolved URLs (omit-lockfile-registry-resolved)"
		}
	}
	// Optional packages for another platform, with the dependencies only they
	// need: npm leaves them out of node_modules.
	skipped := npmPlatformSkipped(lock.Packages, want, got)
	for _, loc := range slices.Sorted(maps.Keys(want)) {
		w := want[loc]
		g, installed := got[loc]
		switch {
		case installed && skipped[loc]:
			return false, loc + " is installed but npm leaves it out on this platform"
		case !installed && skipped[loc]:
			continue
		case !installed:
			return false, loc + " is not installed"
		}
		if g.Version != w.Version || g.Resolved != w.Resolved || g.Integrity != w.Integrity || g.Name != w.Name || g.Link {
			return false, loc + " is installed at another version or from elsewhere than the lockfile says"
		}
	}
	for loc := range got {
		if _, ok := want[loc]; !ok {
			return false, loc + " is installed but not in package-lock.json"
		}
	}
	if why := npmEdgesSatisfied(lock.Packages, want); why != "" {
		return false, why
	}
	// What npm checks before it trusts the hidden lockfile (arborist's
	// assertNoNewer), with links refused, then the version on disk.
	lockTime := hiddenSt.ModTime().Add(10 * time.Millisecond)
	seen := map[string]bool{}
	if why := npmWalkInstalled(r, "node_modules", npmModulesDir, lockTime, got, seen); why != "" {
		return false, why
	}
	for loc := range got {
		if !seen[loc] {
			return false, loc + " is missing from node_modules"
		}
	}
	if len(want) > len(got) {
		// The precheck counts the lockfile's packages: say why fewer are here.
		return true, fmt.Sprintf("node_modules holds the %d package(s) of package-lock.json that npm installs here (%d more skipped for this platform)", len(got), len(want)-len(got))
	}
	return true, fmt.Sprintf("node_modules holds the %d package(s) of package-lock.json", len(got))
}

// npmEdgeKeys are the dependency kinds npm installs, in a lockfile entry.
var npmEdgeKeys = []string{"dependencies", "optionalDependencies", "devDependencies", "peerDependencies"}

// npmEdgesSatisfied says which dependency of a lockfile entry (the root's
// included) the package node would load for it does not satisfy ("" when every
// one does): npm resolves such an edge again, so the install is not a no-op. A
// spec that is not a semver range or an npm: alias of one (a tag, a URL, a path)
// counts as not satisfied.
func npmEdgesSatisfied(packages map[string]json.RawMessage, want map[string]npmLockEntry) string {
	for loc, raw := range packages {
		var e map[string]json.RawMessage
		if json.Unmarshal(raw, &e) != nil {
			return "package-lock.json " + loc + " not understood"
		}
		var meta map[string]struct {
			Optional bool `json:"optional"`
		}
		_ = json.Unmarshal(e["peerDependenciesMeta"], &meta)
		for _, kind := range npmEdgeKeys {
			if kind == "devDependencies" && loc != "" {
				continue // only the root's are installed
			}
			var deps map[string]string
			if len(e[kind]) > 0 && json.Unmarshal(e[kind], &deps) != nil {
				return "package-lock.json " + loc + " " + kind + " not understood"
			}
			for name, spec := range deps {
				target, found := npmResolveEdge(loc, name, want)
				if !found {
					if kind == "optionalDependencies" || kind == "peerDependencies" && meta[name].Optional {
						continue
					}
					return fmt.Sprintf("%s's dependency %s is not in package-lock.json", npmLocName(loc), name)
				}
				if !npmSpecSatisfied(spec, name, want[target]) {
					return fmt.Sprintf("%s's dependency %s@%s is not satisfied by %s", npmLocName(loc), name, spec, want[target].Version)
				}
			}
		}
	}
	return ""
}

// npmResolveEdge finds the package node loads for name from the package at loc:
// loc/node_modules/name, then each ancestor's, up to the root's.
func npmResolveEdge(loc, name string, want map[string]npmLockEntry) (string, bool) {
	for {
		cand := "node_modules/" + name
		if loc != "" {
			cand = loc + "/" + cand
		}
		if _, ok := want[cand]; ok {
			return cand, true
		}
		if loc == "" {
			return "", false
		}
		i := strings.LastIndex(loc, "node_modules/")
		if i < 0 {
			return "", false
		}
		loc = strings.TrimSuffix(loc[:i], "/")
	}
}

func npmLocName(loc string) string {
	if loc == "" {
		return "the project"
	}
	return loc
}

// npmSpecSatisfied: e's version is in spec's range ("npm:name@range" aliases
// included); anything else is not known to be satisfied.
func npmSpecSatisfied(spec, name string, e npmLockEntry) bool {
	if rest, ok := strings.CutPrefix(spec, "npm:"); ok {
		i := strings.LastIndex(rest, "@")
		if i <= 0 {
			return false
		}
		if e.Name != rest[:i] {
			return false
		}
		spec = rest[i+1:]
	} else if e.Name != "" && e.Name != name {
		return false
	}
	if spec == "" || spec == "latest" {
		return false
	}
	c, err := semver.NPM.ParseConstraint(spec)
	if err != nil {
		return false
	}
	return c.Match(e.Version)
}

// npmManifestMatchesLock says how package.json differs from what the lockfile was
// made from ("" when it does not): npm rewrites the lockfile's root entry, or
// resolves again, when any of these differ.
func npmManifestMatchesLock(man map[string]json.RawMessage, lock *npmLock) string {
	for _, k := range []string{"workspaces", "overrides", "bundleDependencies", "bundledDependencies"} {
		if _, ok := man[k]; ok {
			return "package.json has " + k
		}
	}
	var scripts map[string]any
	_ = json.Unmarshal(man["scripts"], &scripts)
	for _, s := range npmRootScripts {
		if _, ok := scripts[s]; ok {
			return "package.json has a " + s + " script, which npm install runs every time"
		}
	}
	var rootEntry map[string]json.RawMessage
	if err := json.Unmarshal(lock.Packages[""], &rootEntry); err != nil || rootEntry == nil {
		return "package-lock.json has no root entry"
	}
	var name, version string
	_ = json.Unmarshal(man["name"], &name)
	_ = json.Unmarshal(man["version"], &version)
	if lock.Name != name || lock.Version != version {
		return "package.json's name or version is not the lockfile's"
	}
	for _, k := range []string{"name", "version", "dependencies", "devDependencies", "optionalDependencies",
		"peerDependencies", "peerDependenciesMeta", "acceptDependencies", "engines", "os", "cpu", "libc", "bin", "funding", "license"} {
		if !reflect.DeepEqual(npmMetaField(k, man[k]), npmMetaField(k, rootEntry[k])) {
			return "package.json's " + k + " is not what package-lock.json was made from"
		}
	}
	return ""
}

// npmMetaField is a package.json value as npm records it in the lockfile's root
// entry: falsy values and empty objects are left out, a license object is its type.
func npmMetaField(key string, raw json.RawMessage) any {
	var v any
	if len(raw) == 0 || json.Unmarshal(raw, &v) != nil {
		return nil
	}
	switch t := v.(type) {
	case nil, bool:
		if t == nil || t == false {
			return nil
		}
	case string:
		if t == "" {
			return nil
		}
	case float64:
		if t == 0 {
			return nil
		}
	case map[string]any:
		if len(t) == 0 {
			return nil
		}
		if key == "license" {
			if typ, ok := t["type"]; ok && typ != nil && typ != "" {
				return typ
			}
		}
	}
	return v
}

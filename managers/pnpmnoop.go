package managers

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// `pnpm install` with nothing to do (issue 12): the project's node_modules already
// is what pnpm-lock.yaml says, so the lockfile is prechecked and no step runs.
//
// What a hostile checkout can plant: a node_modules/.modules.yaml and a
// node_modules/.pnpm/lock.yaml that claim an installed tree the project does not
// have. The decision compares that record with pnpm-lock.yaml (byte for byte) and
// the lockfile with package.json, so a record that lies makes phylum-box skip the
// install and nothing else: no step runs, nothing is synced back, the host's tree
// is left as the checkout brought it (phylum-box put nothing unchecked there), and
// pnpm-lock.yaml — what the record says is installed — is prechecked as always.

// pnpmNoopOptions are pnpm's own options, beyond npmNoopSetting's, that leave
// what a nothing-to-do `pnpm install` does unchanged: a frozen lockfile is
// what a no-op install honours anyway, --dir only chose the project.
var pnpmNoopOptions = map[string]bool{
	"frozen-lockfile": true, "prefer-frozen-lockfile": true, "reporter": true, "dir": true, "store-dir": true,
}

// pnpmNoopCheck returns Plan.Steps.UpToDate for a pnpm command line, or nil when the
// command could change node_modules whatever the files say: anything but a bare
// `pnpm install`, an option or .npmrc setting outside the allowlists (hoisting,
// node-linker, --prod, …), workspaces, a pnpmfile (its hooks may rewrite the
// resolution on every run).
func pnpmNoopCheck(cmd string, rest []string, a *npmArgv, cfg *NpmConfig, root string, workspaces []string, hook, store string) func() (bool, string) {
	if cmd != "install" || len(rest) > 0 || len(workspaces) > 0 || hook != "" {
		return nil
	}
	for _, o := range a.occurrences {
		if !npmNoopSetting(o.name) && !pnpmNoopOptions[o.name] {
			return nil
		}
	}
	if k := cfg.firstSetting(func(k string) bool {
		return !npmNoopSetting(k) && !pnpmNoopOptions[strings.ToLower(strings.ReplaceAll(k, "_", "-"))]
	}); k != "" {
		return nil
	}
	return func() (bool, string) { return PnpmUpToDate(root, store) }
}

// pnpmLock is the part of pnpm-lock.yaml (v9) the decision reads.
type pnpmLock struct {
	LockfileVersion string `yaml:"lockfileVersion"`
	Settings        struct {
		AutoInstallPeers         bool `yaml:"autoInstallPeers"`
		ExcludeLinksFromLockfile bool `yaml:"excludeLinksFromLockfile"`
	} `yaml:"settings"`
	Importers map[string]map[string]map[string]struct {
		Specifier string `yaml:"specifier"`
		Version   string `yaml:"version"`
	} `yaml:"importers"`
	Packages  map[string]yaml.Node `yaml:"packages"`
	Snapshots map[string]yaml.Node `yaml:"snapshots"`
}

// pnpmLockKeys are the top-level keys of a lockfile that need nothing beyond the
// default settings: overrides, patches, catalogs or a pnpmfile checksum mean the
// full steps.
var pnpmLockKeys = map[string]bool{"lockfileVersion": true, "settings": true, "importers": true, "packages": true, "snapshots": true}

// pnpmModules is node_modules/.modules.yaml, pnpm's record of how it laid out the
// tree.
type pnpmModules struct {
	LayoutVersion     int             `yaml:"layoutVersion"`
	NodeLinker        string          `yaml:"nodeLinker"`
	VirtualStoreDir   string          `yaml:"virtualStoreDir"`
	StoreDir          string          `yaml:"storeDir"`
	Included          map[string]bool `yaml:"included"`
	HoistPattern      []string        `yaml:"hoistPattern"`
	PublicHoistPatt   []string        `yaml:"publicHoistPattern"`
	PendingBuilds     []string        `yaml:"pendingBuilds"`
	Skipped           []string        `yaml:"skipped"`
	IgnoredBuilds     []string        `yaml:"ignoredBuilds"`
	InjectedDeps      map[string]any  `yaml:"injectedDeps"`
	MaxLength         int             `yaml:"virtualStoreDirMaxLength"`
	HoistedDependency map[string]any  `yaml:"hoistedDependencies"`
}

// pnpmDepKinds are package.json's dependency fields and the importer's keys.
var pnpmDepKinds = []string{"dependencies", "devDependencies", "optionalDependencies"}

// PnpmUpToDate says whether `pnpm install` at root, with the store at store, has
// nothing to do: package.json's dependencies are the lockfile's importer's
// (specifier for specifier), pnpm's own record of the installed tree
// (node_modules/.pnpm/lock.yaml) is pnpm-lock.yaml byte for byte, .modules.yaml
// records the default layout with every dependency kind included and nothing
// skipped, pending or left unbuilt, and every package of the lockfile is in
// node_modules/.pnpm at its version, the direct ones linked from node_modules.
// Files are read beneath root without following a symbolic link out of it.
func PnpmUpToDate(root, store string) (bool, string) {
	r, err := os.OpenRoot(root)
	if err != nil {
		return false, err.Error()
	}
	defer r.Close()
	var allowed []string // pnpm-workspace.yaml's onlyBuiltDependencies
	if _, err := r.Lstat("pnpm-workspace.yaml"); err == nil {
		var why string
		if allowed, why = pnpmWorkspaceNoop(r); why != "" {
			return false, why
		}
	}
	files, err := readNoLinks(r, "package.json", "pnpm-lock.yaml", "node_modules/.pnpm/lock.yaml")
	if err != nil {
		return false, err.Error()
	}
	pj, lockData, current := files[0], files[1], files[2]
	if string(current) != string(lockData) {
		return false, "node_modules/.pnpm/lock.yaml is not pnpm-lock.yaml (the installed tree is another)"
	}
	modData, err := readNoLink(r, "node_modules/.modules.yaml")
	if err != nil {
		return false, err.Error()
	}
	var man map[string]json.RawMessage
	if err := json.Unmarshal(pj, &man); err != nil {
		return false, "package.json: " + err.Error()
	}
	if raw, ok := man["pnpm"]; ok {
		more, why := pnpmManifestBuildsNoop(raw)
		if why != "" {
			return false, why
		}
		allowed = append(allowed, more...)
		delete(man, "pnpm") // nothing else in it: the comparison below may ignore it
	}
	var lock pnpmLock
	if err := yaml.Unmarshal(lockData, &lock); err != nil {
		return false, "pnpm-lock.yaml: " + err.Error()
	}
	var top map[string]yaml.Node
	_ = yaml.Unmarshal(lockData, &top)
	for k := range top {
		if !pnpmLockKeys[k] {
			return false, "pnpm-lock.yaml has " + k
		}
	}
	var mods pnpmModules
	if err := yaml.Unmarshal(modData, &mods); err != nil {
		return false, "node_modules/.modules.yaml: " + err.Error()
	}
	if why := pnpmModulesDefault(&mods, store); why != "" {
		return false, why
	}
	if lock.LockfileVersion != "9.0" || !lock.Settings.AutoInstallPeers || lock.Settings.ExcludeLinksFromLockfile {
		return false, "pnpm-lock.yaml is not a lockfile v9 with the default settings"
	}
	if why := pnpmManifestMatchesLock(man, &lock); why != "" {
		return false, why
	}
	// A build pnpm left out (not in onlyBuiltDependencies) is left out by a bare
	// install with nothing to do too — unless the allowlist now names it.
	for _, b := range mods.IgnoredBuilds {
		name, _, _ := pnpmSplitDepPath(b)
		if slices.Contains(allowed, name) || slices.Contains(allowed, b) {
			return false, b + "'s build was left out and the project's onlyBuiltDependencies now allows it"
		}
	}
	skipped, why := pnpmSkippedOptional(&lock, mods.Skipped)
	if why != "" {
		return false, why
	}
	n := 0
	for depPath := range lock.Snapshots {
		if n++; n > maxNoopTree {
			return false, "the lockfile is too large to check"
		}
		if skipped[depPath] {
			continue
		}
		name, version, ok := pnpmSplitDepPath(depPath)
		if !ok {
			return false, "pnpm-lock.yaml snapshot " + depPath + " is not a registry package"
		}
		dir := "node_modules/.pnpm/" + pnpmDepPathDir(depPath) + "/node_modules/" + name
		if why := pnpmInstalledVersion(r, dir, version); why != "" {
			return false, why
		}
	}
	for _, kind := range pnpmDepKinds {
		for name, d := range lock.Importers["."][kind] {
			link := "node_modules/" + name
			if dp, _ := pnpmRefDepPath(name, d.Version); skipped[dp] {
				// A direct optional dependency pnpm skipped: pnpm links nothing.
				if _, err := r.Lstat(link); !os.IsNotExist(err) {
					return false, link + " exists but pnpm skipped " + dp
				}
				continue
			}
			st, err := r.Lstat(link)
			if err != nil || st.Mode()&os.ModeSymlink == 0 {
				return false, link + " is not pnpm's link"
			}
			target, err := r.Readlink(link)
			want := "node_modules/.pnpm/" + pnpmDepPathDir(name+"@"+d.Version) + "/node_modules/" + name
			if err != nil || path.IsAbs(target) || path.Join(path.Dir(link), target) != want {
				return false, link + " does not lead to " + want
			}
		}
	}
	all, left := pnpmPackageCount(&lock, skipped)
	if left == 0 {
		return true, fmt.Sprintf("node_modules holds the %d package(s) of pnpm-lock.yaml", all)
	}
	// The precheck counts every package of the lockfile: say why fewer are here.
	return true, fmt.Sprintf("node_modules holds the %d package(s) of pnpm-lock.yaml that pnpm installs here (%d in the lockfile, %d skipped for this platform)", all-left, all, left)
}

// pnpmWorkspaceNoop: a pnpm-workspace.yaml that only lists which packages may run
// build scripts (pnpm 10's approve-builds) leaves a nothing-to-do install alone
// (PnpmUpToDate checks that no build pnpm left out is allowed now); any other
// setting (packages, nodeLinker, overrides, catalogs, …) means the full steps.
// allowed is its onlyBuiltDependencies.
func pnpmWorkspaceNoop(r *os.Root) (allowed []string, why string) {
	data, err := readNoLink(r, "pnpm-workspace.yaml")
	if err != nil {
		return nil, err.Error()
	}
	var ws map[string]yaml.Node
	if err := yaml.Unmarshal(data, &ws); err != nil {
		return nil, "pnpm-workspace.yaml: " + err.Error()
	}
	for k, v := range ws {
		switch k {
		case "onlyBuiltDependencies":
			if v.Decode(&allowed) != nil {
				return nil, "pnpm-workspace.yaml's onlyBuiltDependencies not understood"
			}
		case "ignoredBuiltDependencies":
		default:
			return nil, "pnpm-workspace.yaml sets " + k
		}
	}
	return allowed, ""
}

// pnpmManifestBuildsNoop is pnpmWorkspaceNoop for package.json's "pnpm" field,
// where pnpm 10 reads the same build allowlist (a project's package.json often
// has it): onlyBuiltDependencies and ignoredBuiltDependencies leave a
// nothing-to-do install alone, anything else (overrides, patchedDependencies,
// neverBuiltDependencies, …) means the full steps.
func pnpmManifestBuildsNoop(raw json.RawMessage) (allowed []string, why string) {
	var field map[string]json.RawMessage
	if err := json.Unmarshal(raw, &field); err != nil {
		return nil, "package.json's pnpm field not understood"
	}
	for k, v := range field {
		switch k {
		case "onlyBuiltDependencies":
			var names []string
			if json.Unmarshal(v, &names) != nil {
				return nil, "package.json's pnpm.onlyBuiltDependencies not understood"
			}
			allowed = append(allowed, names...)
		case "ignoredBuiltDependencies":
		default:
			return nil, "package.json's pnpm field sets " + k
		}
	}
	return allowed, ""
}

// pnpmModulesDefault says how .modules.yaml differs from a default isolated
// layout of every dependency kind, stored in store, with nothing left to do.
func pnpmModulesDefault(m *pnpmModules, store string) string {
	switch {
	case m.LayoutVersion != 5 || m.NodeLinker != "isolated" || m.VirtualStoreDir != ".pnpm":
		return "node_modules/.modules.yaml records another layout"
	case !m.Included["dependencies"] || !m.Included["devDependencies"] || !m.Included["optionalDependencies"]:
		return "node_modules/.modules.yaml records an install without some dependency kinds"
	case len(m.PendingBuilds) > 0 || len(m.InjectedDeps) > 0:
		return "node_modules/.modules.yaml records pending builds or injected dependencies"
	case !reflect.DeepEqual(m.HoistPattern, []string{"*"}) || len(m.PublicHoistPatt) > 0:
		return "node_modules/.modules.yaml records other hoisting"
	case m.MaxLength != 0 && m.MaxLength != 120:
		return "node_modules/.modules.yaml records another virtual store name length"
	case path.Dir(m.StoreDir) != path.Clean(store) || !strings.HasPrefix(path.Base(m.StoreDir), "v"):
		return "node_modules/.modules.yaml records another store (" + m.StoreDir + ")"
	}
	return ""
}

// pnpmManifestMatchesLock says how package.json differs from the lockfile's root
// importer ("" when it does not).
func pnpmManifestMatchesLock(man map[string]json.RawMessage, lock *pnpmLock) string {
	for _, k := range []string{"workspaces", "pnpm", "resolutions", "overrides", "peerDependencies", "dependenciesMeta",
		"bundleDependencies", "bundledDependencies"} {
		if _, ok := man[k]; ok {
			return "package.json has " + k
		}
	}
	var scripts map[string]any
	_ = json.Unmarshal(man["scripts"], &scripts)
	for _, s := range npmRootScripts {
		if _, ok := scripts[s]; ok {
			return "package.json has a " + s + " script, which pnpm install runs"
		}
	}
	if len(lock.Importers) != 1 {
		return "pnpm-lock.yaml has more than the project's importer"
	}
	imp, ok := lock.Importers["."]
	if !ok {
		return "pnpm-lock.yaml has no importer for the project"
	}
	for k := range imp {
		if !strings.HasSuffix(k, "ependencies") {
			return "pnpm-lock.yaml's importer has " + k
		}
	}
	for _, kind := range pnpmDepKinds {
		var deps map[string]string
		if len(man[kind]) > 0 && json.Unmarshal(man[kind], &deps) != nil {
			return "package.json's " + kind + " not understood"
		}
		if len(deps) != len(imp[kind]) {
			return "package.json's " + kind + " are not the lockfile's"
		}
		for name, spec := range deps {
			d, ok := imp[kind][name]
			if !ok || d.Specifier != spec {
				return fmt.Sprintf("package.json's %s %s@%s is not what pnpm-lock.yaml was made from", kind, name, spec)
			}
			if _, _, ok := pnpmSplitDepPath(name + "@" + d.Version); !ok {
				return fmt.Sprintf("%s is not a registry package (%s)", name, d.Version)
			}
		}
	}
	return ""
}

// pnpmSplitDepPath splits a snapshot key (name@version, peers in parentheses
// after it) into the name and the version; ok is false for anything that is not a
// registry package's (a link:, file: or URL version, an alias).
func pnpmSplitDepPath(depPath string) (name, version string, ok bool) {
	base, _, _ := strings.Cut(depPath, "(")
	i := strings.LastIndex(base, "@")
	if i <= 0 {
		return "", "", false
	}
	name, version = base[:i], base[i+1:]
	if !npmRebuildName.MatchString(name) || version == "" || strings.ContainsAny(version, ":/") {
		return "", "", false
	}
	return name, version, true
}

// pnpmDepPathDir is the directory of node_modules/.pnpm a snapshot is installed
// in (pnpm's depPathToFilename): "/" becomes "+", the peers' parentheses "_". A
// name pnpm would shorten with a hash (too long, upper case) is returned as is,
// so it is not found and the install runs.
func pnpmDepPathDir(depPath string) string {
	f := strings.NewReplacer("/", "+", "\\", "+", ":", "+", "*", "+", "?", "+", "\"", "+", "<", "+", ">", "+", "|", "+").Replace(depPath)
	if strings.Contains(f, "(") {
		f = strings.TrimSuffix(f, ")")
		f = strings.NewReplacer(")(", "_", "(", "_", ")", "_").Replace(f)
	}
	if len(f) > 120 || f != strings.ToLower(f) {
		return depPath
	}
	return f
}

// pnpmInstalledVersion: dir is a directory (no link) whose package.json has
// version.
func pnpmInstalledVersion(r *os.Root, dir, version string) string {
	st, err := r.Lstat(dir)
	if err != nil || !st.IsDir() {
		return dir + " is not installed"
	}
	data, err := readNoLink(r, dir+"/package.json")
	if err != nil {
		return err.Error()
	}
	var m struct {
		Version string `json:"version"`
	}
	if json.Unmarshal(data, &m) != nil || m.Version != version {
		return dir + "/package.json is not version " + version
	}
	return ""
}

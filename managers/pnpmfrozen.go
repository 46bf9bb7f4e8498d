package managers

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"deps.dev/util/semver"
)

// `pnpm install` from the committed lockfile (issue 12): `--frozen-lockfile`, CI
// (which pnpm treats as frozen when a lockfile is there), or a plain install whose
// pnpm-lock.yaml is already what package.json asks for (a fresh clone). pnpm itself
// resolves nothing then ("Lockfile is up to date, resolution step is skipped"), so
// the resolve step (`--lockfile-only`) would only rewrite the same file: it is left
// out. The committed lockfile is what the precheck reads, as for `npm ci` (every
// entry's URL and hash checked, a mismatch blocks before anything is fetched), and
// the download step is `pnpm install --frozen-lockfile`, which fails, fetching
// nothing, when the lockfile is not up to date — exactly as bare pnpm does with
// the flag. Without the flag the decision must agree with pnpm's
// (tryFrozenInstall: the lockfile's settings are the defaults, satisfiesPackageManifest);
// any doubt keeps the resolve step, whose install then does what bare pnpm does.
//
// The build that follows is `pnpm rebuild --pending`: the download ran with scripts
// off, so pnpm recorded the packages it would have built (pendingBuilds in
// node_modules/.modules.yaml); --pending builds those it allows and records the
// others as ignored, as bare pnpm does, instead of visiting every package of the
// tree. When nothing is pending the build step does not start. A project with
// install scripts of its own keeps its by-name build (rootscripts_pnpm.go): a
// rebuild without names also runs the root's scripts.
//
// Packages are still copied out of the store, not hard-linked: inside the
// container the store is a bind mount and the project an overlay, so link(2)
// between them fails with EXDEV and pnpm's default would copy anyway; and the
// build step writes in the same upper dir the download filled, so a hard link
// there would let an install script write a store file that every other project
// on the machine links to.

// pnpmFrozenOptions change which lockfile is read or whether it is read at all, or
// spread the install over workspace projects: the resolve step stays.
var pnpmFrozenOptions = map[string]bool{
	"lockfile-dir": true, "lockfile-directory": true, "git-branch-lockfile": true, "merge-git-branch-lockfiles": true,
	"merge-git-branch-lockfiles-branch-pattern": true, "lockfile": true, "fix-lockfile": true, "resolution-only": true,
	"pnpmfile": true, "global-pnpmfile": true, "shared-workspace-lockfile": true, "recursive": true, "filter": true,
	"filter-prod": true, "lockfile-only": true, "ignore-workspace": true, "workspace-root": true,
}

// pnpmInstallsLockfile says whether `pnpm CMD rest…` at root installs the committed
// pnpm-lock.yaml as it is (why says how it knows), so the plan needs no resolve
// step. env is the caller's environment (CI).
func pnpmInstallsLockfile(cmd string, rest []string, a *npmArgv, cfg *NpmConfig, env Env, root string, workspaces []string, hook string) (ok bool, why string) {
	if cmd != "install" && cmd != "install-test" || len(rest) > 0 || len(workspaces) > 0 || hook != "" {
		return false, ""
	}
	for _, o := range a.occurrences {
		if pnpmFrozenOptions[strings.TrimPrefix(o.name, "config.")] {
			return false, ""
		}
	}
	if cfg.firstSetting(func(k string) bool { return pnpmFrozenOptions[normalizeNpmKey(k)] }) != "" {
		return false, ""
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return false, ""
	}
	defer r.Close()
	frozen, set := pnpmSetting(a, cfg, "frozen-lockfile")
	_, preferSet := pnpmSetting(a, cfg, "prefer-frozen-lockfile")
	if frozen {
		return true, "--frozen-lockfile"
	}
	lock, lockErr := readNoLink(r, "pnpm-lock.yaml")
	if !set && !preferSet && pnpmCI(a, cfg, env) && lockErr == nil && pnpmLockNonEmpty(lock) {
		// pnpm's frozenLockfileIfExists: CI, no frozen-lockfile or
		// prefer-frozen-lockfile setting either way, and a lockfile to freeze.
		return true, "CI, with a committed pnpm-lock.yaml (pnpm freezes it)"
	}
	if lockErr != nil {
		return false, ""
	}
	if prefer, _ := pnpmSetting(a, cfg, "prefer-frozen-lockfile"); preferSet && !prefer {
		return false, ""
	}
	// A plain install: only where pnpm surely skips its resolution too.
	for _, o := range a.occurrences {
		if !npmNoopSetting(o.name) && !pnpmNoopOptions[o.name] {
			return false, ""
		}
	}
	if cfg.firstSetting(func(k string) bool { return !npmNoopSetting(k) && !pnpmNoopOptions[normalizeNpmKey(k)] }) != "" {
		return false, ""
	}
	if _, err := r.Lstat("pnpm-workspace.yaml"); err == nil {
		if _, why := pnpmWorkspaceNoop(r); why != "" {
			return false, "" // overrides, catalogs, patches, settings the lockfile records
		}
	} else if !os.IsNotExist(err) {
		return false, ""
	}
	pj, err := readNoLink(r, "package.json")
	if err != nil {
		return false, ""
	}
	if why := pnpmLockCurrent(pj, lock); why != "" {
		return false, ""
	}
	return true, "pnpm-lock.yaml is up to date with package.json (pnpm skips its resolution)"
}

// pnpmSetting is a boolean pnpm setting from the command line or the config
// (command line, environment, .npmrc files); set says whether any of them sets it.
func pnpmSetting(a *npmArgv, cfg *NpmConfig, key string) (value, set bool) {
	if _, ok := a.last(key); ok {
		return a.isTrue(key), true
	}
	switch strings.ToLower(cfg.get(key)) {
	case "":
		return false, false
	case "false", "null", "0":
		return false, true
	}
	return true, true
}

// pnpmCI is pnpm's `ci` setting: set explicitly, or the CI variable (ci-info; the
// only one of its variables the steps are given).
func pnpmCI(a *npmArgv, cfg *NpmConfig, env Env) bool {
	if v, set := pnpmSetting(a, cfg, "ci"); set {
		return v
	}
	ci := env.Getenv("CI")
	return ci != "" && ci != "false"
}

// pnpmLockNonEmpty: the lockfile has an importer or a package (pnpm's
// existsNonEmptyWantedLockfile).
func pnpmLockNonEmpty(data []byte) bool {
	var lock struct {
		Importers map[string]yaml.Node `yaml:"importers"`
		Packages  map[string]yaml.Node `yaml:"packages"`
	}
	return yaml.Unmarshal(data, &lock) == nil && len(lock.Importers)+len(lock.Packages) > 0
}

// pnpmLockCurrent says why pnpm-lock.yaml (lockData) is not surely what pnpm 10
// would install package.json (pj) from without resolving ("" when it is): a v9
// lockfile with the default settings and nothing else recorded (overrides,
// patches, catalogs, a pnpmfile checksum), the root importer alone, and for each
// dependency kind exactly package.json's names with its specifiers, each resolved
// version inside its range (pnpm's satisfiesPackageManifest, narrowed: no
// peerDependencies, which autoInstallPeers folds in, no dependenciesMeta or
// publishConfig.directory, no name under two kinds, registry ranges only).
func pnpmLockCurrent(pj, lockData []byte) string {
	var top map[string]yaml.Node
	if err := yaml.Unmarshal(lockData, &top); err != nil {
		return "pnpm-lock.yaml: " + err.Error()
	}
	for k := range top {
		if !pnpmLockKeys[k] {
			return "pnpm-lock.yaml has " + k
		}
	}
	var settings map[string]any
	if n, ok := top["settings"]; !ok || n.Decode(&settings) != nil ||
		len(settings) != 2 || settings["autoInstallPeers"] != true || settings["excludeLinksFromLockfile"] != false {
		return "pnpm-lock.yaml's settings are not pnpm's defaults"
	}
	var lock pnpmLock
	if err := yaml.Unmarshal(lockData, &lock); err != nil {
		return "pnpm-lock.yaml: " + err.Error()
	}
	if lock.LockfileVersion != "9.0" {
		return "pnpm-lock.yaml is not a v9 lockfile"
	}
	var man map[string]json.RawMessage
	if err := json.Unmarshal(pj, &man); err != nil {
		return "package.json: " + err.Error()
	}
	for _, k := range []string{"workspaces", "resolutions", "overrides", "peerDependencies", "dependenciesMeta",
		"bundleDependencies", "bundledDependencies", "publishConfig"} {
		if _, ok := man[k]; ok {
			return "package.json has " + k
		}
	}
	if raw, ok := man["pnpm"]; ok {
		var pn map[string]json.RawMessage
		if json.Unmarshal(raw, &pn) != nil {
			return "package.json's pnpm field not understood"
		}
		for k := range pn {
			if !pnpmManifestBuildKeys[k] {
				return "package.json sets pnpm." + k // overrides, patchedDependencies, …
			}
		}
	}
	if len(lock.Importers) > 1 {
		return "pnpm-lock.yaml has more than the project's importer"
	}
	imp := lock.Importers["."]
	for k := range imp {
		if !slices.Contains(pnpmDepKinds, k) {
			return "pnpm-lock.yaml's importer has " + k
		}
	}
	seen := map[string]bool{}
	for _, kind := range pnpmDepKinds {
		var deps map[string]string
		if len(man[kind]) > 0 && json.Unmarshal(man[kind], &deps) != nil {
			return "package.json's " + kind + " not understood"
		}
		if len(deps) != len(imp[kind]) {
			return "package.json's " + kind + " are not the lockfile's"
		}
		for name, spec := range deps {
			if seen[name] {
				return name + " is under two dependency kinds"
			}
			seen[name] = true
			d, ok := imp[kind][name]
			if !ok || d.Specifier != spec || !npmRegistryRange(spec) {
				return fmt.Sprintf("package.json's %s %s@%s is not what pnpm-lock.yaml was made from", kind, name, spec)
			}
			version, _, _ := strings.Cut(d.Version, "(")
			if !pnpmLockVersion.MatchString(version) {
				return fmt.Sprintf("%s is not a registry package (%s)", name, d.Version)
			}
			if c, err := semver.NPM.ParseConstraint(spec); err == nil && !c.Match(version) {
				return fmt.Sprintf("pnpm-lock.yaml's %s@%s is outside %s", name, version, spec)
			} else if err != nil && spec != "latest" && spec != "*" && spec != "" {
				return fmt.Sprintf("%s's range %q not understood", name, spec)
			}
		}
	}
	if len(seen) > 0 && len(lock.Importers) == 0 {
		return "pnpm-lock.yaml has no importer for the project"
	}
	return ""
}

// pnpmFrozenSteps turns plan p of `pnpm install` at root into the install of the
// committed lockfile: no resolve step, and (unless the project has scripts a rebuild
// without names would run, or builds pnpm left out before) the build of what pnpm
// left pending.
func pnpmFrozenSteps(p *Plan, why string, projectScripts bool, root string) {
	p.Steps.Resolve = nil
	p.Notes = append(p.Notes, "pnpm: installing the committed pnpm-lock.yaml as it is ("+why+"): no resolve step; "+
		"the download runs pnpm install --frozen-lockfile, which fails like bare pnpm when the lockfile is out of date")
	if projectScripts || p.Steps.Build == nil || len(p.Steps.Build.Args) < 2 || p.Steps.Build.Args[1] != "rebuild" {
		return
	}
	if ignored, why := pnpmIgnoredBefore(root); why != "" {
		// pnpm rebuild NAMES builds those the project allows and records the others
		// as ignored again, as bare pnpm install does.
		p.Notes = append(p.Notes, "pnpm: the build is pnpm rebuild of the pending packages and of those pnpm left out before: "+why)
		b := *p.Steps.Build
		b.AppendChanged = true
		p.Steps.Build = &b
		p.Steps.BuildChanged = func(read func(rel string) ([]byte, error), _ []string) ([]string, string, bool) {
			return pnpmPendingAndIgnored(read, ignored)
		}
		return
	}
	b := *p.Steps.Build
	b.Args = concat([]string{"pnpm", "rebuild", "--pending"}, b.Args[2:])
	p.Steps.Build = &b
	p.Steps.BuildNeeded = pnpmPendingBuilds
}

// pnpmPendingBuilds is Plan.Steps.BuildNeeded after a download with scripts off:
// pnpm's record of the builds it left (pendingBuilds in node_modules/.modules.yaml,
// written by the download's pnpm, which runs no package code). Unreadable or
// unfamiliar: build.
func pnpmPendingBuilds(read func(rel string) ([]byte, error)) (bool, string) {
	data, err := read(pnpmModulesFile)
	if err != nil || len(data) > pnpmModulesMaxJSON {
		return true, "node_modules/.modules.yaml unreadable"
	}
	var mods struct {
		PendingBuilds *[]string `json:"pendingBuilds" yaml:"pendingBuilds"`
	}
	if json.Unmarshal(data, &mods) != nil {
		mods.PendingBuilds = nil
		if len(data) > pnpmModulesMaxYAML || yaml.Unmarshal(data, &mods) != nil {
			return true, "node_modules/.modules.yaml not understood"
		}
	}
	if mods.PendingBuilds == nil {
		return true, "node_modules/.modules.yaml records no pendingBuilds"
	}
	if len(*mods.PendingBuilds) == 0 {
		return false, "no installed package has install scripts (pnpm's pendingBuilds is empty)"
	}
	return true, "pnpm left " + strings.Join(*mods.PendingBuilds, ", ") + " to build"
}

// pnpmIgnoredBefore says why the build after an install from the lockfile must
// also name the builds pnpm left out before: the project's record of the tree
// (node_modules/.modules.yaml, before the install) lists them (ignoredBuilds). Bare
// pnpm install builds those the project allows now (onlyBuiltDependencies added
// since); the download with scripts off drops the list and leaves nothing pending,
// so `pnpm rebuild --pending` would build none of them (newuser7_test.go). The file
// is the project's: its names only ever add packages to a `pnpm rebuild`, which
// builds no package the project does not allow, and each must look like a package
// name (nil: the whole tree). No record or none left out: "".
func pnpmIgnoredBefore(root string) ([]string, string) {
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, ""
	}
	defer r.Close()
	data, err := readNoLink(r, pnpmModulesFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ""
	}
	if err != nil || len(data) > pnpmModulesMaxJSON {
		return nil, "node_modules/.modules.yaml unreadable"
	}
	var mods struct {
		IgnoredBuilds []string `json:"ignoredBuilds" yaml:"ignoredBuilds"`
	}
	if json.Unmarshal(data, &mods) != nil {
		mods.IgnoredBuilds = nil
		if len(data) > pnpmModulesMaxYAML || yaml.Unmarshal(data, &mods) != nil {
			return nil, "node_modules/.modules.yaml not understood"
		}
	}
	if len(mods.IgnoredBuilds) == 0 {
		return nil, ""
	}
	names, ok := pnpmDepPathNames(mods.IgnoredBuilds)
	if !ok {
		return nil, "node_modules/.modules.yaml lists a left-out build that is not a package"
	}
	return names, "node_modules/.modules.yaml records builds pnpm left out (" + strings.Join(names, ", ") + "), which the project may allow now"
}

// pnpmDepPathNames turns pnpm's name@version ids (with peers' suffixes) into
// package names, once each; false when one is not a package's.
func pnpmDepPathNames(ids []string) ([]string, bool) {
	var names []string
	for _, id := range ids {
		id = pnpmRemovePeersSuffix(id)
		if !pnpmLooksLikePackage(id) {
			return nil, false
		}
		n := id[:strings.LastIndex(id, "@")]
		if !npmRebuildName.MatchString(n) {
			return nil, false
		}
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names, true
}

// pnpmPendingAndIgnored is the BuildChanged of an install from the lockfile over a
// tree where pnpm left builds out: what the download left pending (pnpmPendingBuilds'
// record) and the packages left out before. Unsure: the whole tree.
func pnpmPendingAndIgnored(read func(rel string) ([]byte, error), ignored []string) ([]string, string, bool) {
	if ignored == nil {
		return nil, "a left-out build not understood", false
	}
	data, err := read(pnpmModulesFile)
	if err != nil || len(data) > pnpmModulesMaxJSON {
		return nil, "node_modules/.modules.yaml unreadable", false
	}
	var mods struct {
		PendingBuilds *[]string `json:"pendingBuilds" yaml:"pendingBuilds"`
	}
	if json.Unmarshal(data, &mods) != nil {
		mods.PendingBuilds = nil
		if len(data) > pnpmModulesMaxYAML || yaml.Unmarshal(data, &mods) != nil {
			return nil, "node_modules/.modules.yaml not understood", false
		}
	}
	if mods.PendingBuilds == nil {
		return nil, "node_modules/.modules.yaml records no pendingBuilds", false
	}
	pending, ok := pnpmDepPathNames(*mods.PendingBuilds)
	if !ok {
		return nil, "a pending build not understood", false
	}
	names := slices.Clone(pending)
	for _, n := range ignored {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names, "pnpm left pending " + strings.Join(pending, ", ") + "; left out before " + strings.Join(ignored, ", "), true
}

package managers

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Fetch in the resolve step for pnpm (issue 12), as npmfetch.go does for npm:
// `pnpm add X` of registry packages is one networked pnpm run, `pnpm add X
// --ignore-scripts --package-import-method=copy`, instead of `--lockfile-only`
// then `pnpm install --frozen-lockfile`. It runs no package code (scripts off, the
// pnpmfile ignored); what it fetched and linked into the scratch is trusted only
// after the host has prechecked the pnpm-lock.yaml it left and read every package
// root it wrote (internal/install/fetchinresolve.go), and a block throws the
// scratch away. The build (`pnpm rebuild`, offline) is the same step as after a
// download.
//
// Anything that is not the registry keeps the two steps, so that no git,
// directory, tarball-URL or linked dependency is fetched before the precheck has
// listed it: a spec on the command line or a range in package.json that names
// another source, a lockfile entry resolved from one, overrides, patches,
// catalogs, package extensions, workspaces, a pnpmfile. Any doubt: two steps.

// pnpmFetchFlags make the resolve step install as the download step would: no
// script of any package, no pnpmfile, packages copied out of the store, nothing
// written back to it. As settings: `pnpm remove` refuses --ignore-scripts and
// --ignore-pnpmfile as options ("Unknown options", pnpm 10.34) but reads both as
// settings (measured: a pnpmfile that writes a file when loaded wrote none, a
// postinstall allowed by dangerously-allow-all-builds did not run).
var pnpmFetchFlags = []string{"--config.ignore-scripts=true", "--config.ignore-pnpmfile=true", "--config.package-import-method=copy", "--config.side-effects-cache=false"}

// pnpmFetchStep is the resolve step that also installs: `pnpm CMD` as the user
// wrote it, with scripts and the pnpmfile off.
func pnpmFetchStep(cmd string, userFlags, rest, storeFlags []string) *Step {
	args := concat([]string{"pnpm", cmd}, userFlags, rest, pnpmFetchFlags, storeFlags, []string{"--ignore-scripts"}, pnpmNetworkedFlags)
	return &Step{Args: pnpmCommandFlags(cmd, args), Network: true, Credentials: true, Installs: true}
}

// pnpmCommandFlags spells --ignore-scripts and --ignore-pnpmfile as settings for
// `pnpm remove`, which refuses them as options (pnpm 10.34: "Unknown option:
// 'ignore-pnpmfile'", exit 1 — every `phylum-box pnpm remove` failed so) and
// honours them as settings; a setting given twice is dropped.
func pnpmCommandFlags(cmd string, args []string) []string {
	if cmd != "remove" {
		return args
	}
	var out []string
	for _, a := range args {
		switch a {
		case "--ignore-scripts":
			a = "--config.ignore-scripts=true"
		case "--ignore-pnpmfile":
			a = "--config.ignore-pnpmfile=true"
		}
		if !slices.Contains(out, a) || !strings.HasPrefix(a, "--config.ignore-") {
			out = append(out, a)
		}
	}
	return out
}

// pnpmFetchCommands are the commands that may fetch in the resolve step.
var pnpmFetchCommands = map[string]bool{"add": true, "update": true, "remove": true}

// pnpmFetchOptions are the options that change where packages come from or where
// they go in ways the decision does not read: catalogs, workspace links, a
// lockfile or virtual store elsewhere, a global virtual store outside the project.
var pnpmFetchOptions = map[string]bool{
	"recursive": true, "filter": true, "filter-prod": true, "workspace": true, "workspace-root": true,
	"save-workspace-protocol": true, "catalog-mode": true, "save-catalog-name": true, "lockfile-dir": true,
	"lockfile-directory": true, "virtual-store-dir": true, "modules-dir": true, "global-virtual-store-dir": true,
	"enable-global-virtual-store": true, "node-linker": true, "link-workspace-packages": true,
	"inject-workspace-packages": true, "lockfile": true, "pnpmfile": true, "global-pnpmfile": true,
	"lockfile-only": true, "offline": true, "fix-lockfile": true, "resolution-only": true,
}

// pnpmManifestBuildKeys are the keys of package.json's "pnpm" field (and of
// pnpm-workspace.yaml, pnpmWorkspaceNoop) that only say which packages may build.
var pnpmManifestBuildKeys = map[string]bool{"onlyBuiltDependencies": true, "ignoredBuiltDependencies": true, "neverBuiltDependencies": true}

// pnpmLockVersion is a registry version as a lockfile records it (peers already cut off).
var pnpmLockVersion = regexp.MustCompile(`^[0-9A-Za-z.+-]+$`)

// pnpmFetchesInResolve says whether `pnpm CMD rest…` at root may resolve and fetch
// in one networked step: only registry specs on the command line, in package.json
// and in the committed pnpm-lock.yaml (read beneath root, no link followed), no
// workspace, no pnpmfile (hook), no option or setting (cfg: the command line, the
// environment, the .npmrc files) that the decision does not read.
func pnpmFetchesInResolve(cmd string, rest []string, a *npmArgv, cfg *NpmConfig, root string, workspaces []string, hook string) bool {
	if !pnpmFetchCommands[cmd] || hook != "" || len(workspaces) > 0 {
		return false
	}
	for _, o := range a.occurrences {
		if pnpmFetchOptions[strings.TrimPrefix(o.name, "config.")] {
			return false
		}
	}
	if cfg.firstSetting(func(k string) bool { return pnpmFetchOptions[normalizeNpmKey(k)] }) != "" {
		return false
	}
	for _, s := range rest {
		if strings.HasPrefix(s, "-") || !npmRegistryArg(s) {
			return false
		}
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return false
	}
	defer r.Close()
	if _, err := r.Lstat("pnpm-workspace.yaml"); err == nil {
		if _, why := pnpmWorkspaceNoop(r); why != "" {
			return false // packages, overrides, catalogs, patches, settings
		}
	} else if !os.IsNotExist(err) {
		return false
	}
	data, err := readNoLink(r, "package.json")
	if err != nil || !pnpmRegistryManifest(data) {
		return false
	}
	if !pnpmInstalledBy10(r) {
		return false
	}
	data, err = readNoLink(r, "pnpm-lock.yaml")
	if os.IsNotExist(err) {
		// A first install: what it resolves is read before anything runs. A
		// symlinked lockfile is an error here, not "absent".
		if _, lerr := r.Lstat("pnpm-lock.yaml"); os.IsNotExist(lerr) {
			return true
		}
		return false
	}
	return err == nil && pnpmRegistryLock(data)
}

// pnpmRegistryManifest: package.json's dependencies are registry ranges, and it
// sets nothing that replaces, patches, extends or bundles them.
func pnpmRegistryManifest(data []byte) bool {
	var man map[string]json.RawMessage
	if json.Unmarshal(data, &man) != nil {
		return false
	}
	for _, k := range []string{"overrides", "resolutions", "bundleDependencies", "bundledDependencies", "dependenciesMeta", "workspaces"} {
		if _, ok := man[k]; ok {
			return false
		}
	}
	if raw, ok := man["pnpm"]; ok {
		var pn map[string]json.RawMessage
		if json.Unmarshal(raw, &pn) != nil {
			return false
		}
		for k := range pn {
			if !pnpmManifestBuildKeys[k] {
				return false // overrides, patchedDependencies, packageExtensions, …
			}
		}
	}
	for _, kind := range []string{"dependencies", "devDependencies", "optionalDependencies", "peerDependencies"} {
		raw, ok := man[kind]
		if !ok {
			continue
		}
		var deps map[string]string
		if json.Unmarshal(raw, &deps) != nil {
			return false
		}
		for _, v := range deps {
			if !npmRegistryRange(v) {
				return false
			}
		}
	}
	return true
}

// pnpmRegistryLock: a v9 pnpm-lock.yaml with the root importer alone, every
// specifier a registry range, every version a plain one, every package resolved by
// its integrity (or a registry tarball URL), and no top-level key beyond
// pnpmLockKeys (overrides, patchedDependencies, catalogs, pnpmfileChecksum, …).
func pnpmRegistryLock(data []byte) bool {
	var top map[string]yaml.Node
	if yaml.Unmarshal(data, &top) != nil {
		return false
	}
	for k := range top {
		if !pnpmLockKeys[k] {
			return false
		}
	}
	var lock struct {
		LockfileVersion string `yaml:"lockfileVersion"`
		Importers       map[string]map[string]map[string]struct {
			Specifier string `yaml:"specifier"`
			Version   string `yaml:"version"`
		} `yaml:"importers"`
		Packages map[string]struct {
			Resolution map[string]string `yaml:"resolution"`
		} `yaml:"packages"`
		Snapshots map[string]map[string]yaml.Node `yaml:"snapshots"`
	}
	if yaml.Unmarshal(data, &lock) != nil || lock.LockfileVersion != "9.0" {
		return false
	}
	for imp, kinds := range lock.Importers {
		if imp != "." {
			return false
		}
		for kind, deps := range kinds {
			if kind != "dependencies" && kind != "devDependencies" && kind != "optionalDependencies" {
				return false // dependenciesMeta, publishDirectory, …
			}
			for _, d := range deps {
				if !npmRegistryRange(d.Specifier) || !pnpmRegistryVersion(d.Version) {
					return false
				}
			}
		}
	}
	for key, p := range lock.Packages {
		if _, _, ok := pnpmSplitDepPath(key); !ok || !pnpmRegistryResolution(p.Resolution) {
			return false
		}
	}
	for key, snap := range lock.Snapshots {
		if _, _, ok := pnpmSplitDepPath(key); !ok {
			return false
		}
		for kind, node := range snap {
			switch kind {
			case "dependencies", "optionalDependencies":
				var deps map[string]string
				if node.Decode(&deps) != nil {
					return false
				}
				for _, v := range deps {
					if !pnpmRegistryVersion(v) {
						return false
					}
				}
			case "transitivePeerDependencies", "optional", "dev":
			default:
				return false // id, patched, …
			}
		}
	}
	return true
}

// pnpmRegistryVersion: a lockfile's version of a registry package, peers in
// parentheses after it; never link:, file:, a URL or an alias (name@version).
func pnpmRegistryVersion(v string) bool {
	base, _, _ := strings.Cut(v, "(")
	return pnpmLockVersion.MatchString(base)
}

// pnpmRegistryResolution: resolved from the registry by integrity, with at most a
// registry tarball URL; git (commit, repo, type), directory and other tarballs
// are not.
func pnpmRegistryResolution(res map[string]string) bool {
	if res["integrity"] == "" {
		return false
	}
	for k, v := range res {
		switch k {
		case "integrity":
		case "tarball":
			if !npmRegistryTarball(v) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// The build after a one-run add (issue 12). Bare pnpm builds only what it added;
// the build step is `pnpm rebuild NAMES` of the packages this install wrote that
// have install scripts (pnpmAddBuildChanged), pnpm leaving out those the project
// does not allow and recording them (ignoredBuilds); when none has any, the step
// is skipped. What the skipped rebuild would have written is pnpm's record of the
// builds it ignored (`ignoredBuilds` in node_modules/.modules.yaml, which pnpm's
// notice and `pnpm approve-builds` read): the run with scripts off leaves it out.
// The resolve step puts the project's previous record back after pnpm succeeded,
// less what is no longer installed (pnpmIgnoredBuildsScript) — what bare `pnpm add`
// writes for the same tree, as nothing it added has a build to ignore. The build
// step merges the record its rebuild writes with that one, and relinks the shims a
// build made stale (pnpmbins.go).

// pnpmIgnoredBuildsScript keeps a copy of the modules file ($0) before the resolve
// ("$@"), then, when it succeeded and the new file has no ignoredBuilds, writes the
// old ones that are still in the virtual store into it (JSON, two-space indent, as
// pnpm writes it; regular files only). pendingBuilds, the packages an install with
// scripts off left unbuilt, goes back to the old list too: the build step builds
// (or records as ignored) what this add wrote, as bare pnpm add leaves nothing of
// it pending. The node program is phylum-box's.
const pnpmIgnoredBuildsScript = `m=$0 t=
if [ -f "$m" ] && [ ! -L "$m" ]; then t=$(mktemp) && cp "$m" "$t" 2>/dev/null || t=; fi
"$@"; rc=$?
if [ $rc -eq 0 ] && [ -n "$t" ]; then node -e '
const fs = require("fs"), path = require("path");
const [f, old] = process.argv.slice(1);
const read = (p) => { try { if (fs.lstatSync(p).isFile()) return JSON.parse(fs.readFileSync(p, "utf8")); } catch (e) {} };
const n = read(f), o = read(old);
if (!n || !o || typeof n !== "object") process.exit(0);
let have = [];
try { have = fs.readdirSync(path.join(path.dirname(f), ".pnpm")); } catch (e) { process.exit(0); }
const present = (ids) => (Array.isArray(ids) ? ids : []).filter((id) => typeof id === "string" &&
  have.some((d) => { const k = id.replace(/\//g, "+"); return d === k || d.startsWith(k + "_") || d.startsWith(k + "("); }));
const keep = n.ignoredBuilds === undefined ? present(o.ignoredBuilds) : [];
const pending = present(o.pendingBuilds);
const pendingSame = !Array.isArray(n.pendingBuilds) || n.pendingBuilds.length === pending.length && pending.every((id, i) => n.pendingBuilds[i] === id);
if (keep.length === 0 && pendingSame) process.exit(0);
const out = {};
for (const [k, v] of Object.entries(n)) { out[k] = v; if (k === "injectedDeps" && keep.length > 0) out.ignoredBuilds = keep; }
if (keep.length > 0 && !("ignoredBuilds" in out)) out.ignoredBuilds = keep;
if (!pendingSame) out.pendingBuilds = pending;
fs.writeFileSync(f, JSON.stringify(out, null, 2));
' "$m" "$t" || true; fi
[ -n "$t" ] && rm -f "$t"
exit $rc`

// pnpmKeepIgnoredBuilds wraps a one-run add's resolve step in pnpmIgnoredBuildsScript.
func pnpmKeepIgnoredBuilds(s *Step, root string) *Step {
	return wrapStep(s, pnpmIgnoredBuildsScript, filepath.Join(root, "node_modules", ".modules.yaml"))
}

// pnpmAddBuildChanged is Plan.Steps.BuildChanged for a one-run pnpm add: the names
// of the package dirs this install wrote (dirs) that have install scripts, for
// `pnpm rebuild NAMES` (pnpm runs only those the project allows); none: nothing to
// build. ok is false (the whole tree is rebuilt, as before) when a package.json it
// wrote cannot be read or names itself in a way pnpm could not be given.
func pnpmAddBuildChanged(read func(rel string) ([]byte, error), dirs []string) (names []string, why string, ok bool) {
	n := 0
	for _, d := range dirs {
		if d == "." {
			continue // the project's own scripts: pnpmLockBuildNames' case
		}
		n++
		w := npmPackageScripts(read, d)
		if w == "" {
			continue
		}
		data, err := read(d + "/package.json")
		if err != nil {
			return nil, w + "; the whole tree is rebuilt", false
		}
		var pj struct {
			Name string `json:"name"`
		}
		if json.Unmarshal(data, &pj) != nil || !npmRebuildName.MatchString(pj.Name) {
			return nil, d + "/package.json has no name pnpm rebuild takes; the whole tree is rebuilt", false
		}
		if !slices.Contains(names, pj.Name) {
			names = append(names, pj.Name)
		}
	}
	switch {
	case n == 0:
		return nil, "this install added or changed no package", true
	case len(names) == 0:
		return nil, fmt.Sprintf("none of the %d package(s) this install added or changed has install scripts", n), true
	}
	slices.Sort(names)
	return names, fmt.Sprintf("%d of the %d package(s) this install added or changed have install scripts", len(names), n), true
}

// pnpmInstalledBy10: node_modules/.modules.yaml (beneath root r) says pnpm 10 or
// later installed the project: pnpm's record of the tree, whose ignoredBuilds the
// one run keeps. A project without one (its first install) takes the two steps.
func pnpmInstalledBy10(r *os.Root) bool {
	data, err := readNoLink(r, "node_modules/.modules.yaml")
	if err != nil {
		return false
	}
	var mods struct {
		PackageManager string `json:"packageManager" yaml:"packageManager"`
	}
	if yaml.Unmarshal(data, &mods) != nil {
		return false
	}
	v, ok := strings.CutPrefix(mods.PackageManager, "pnpm@")
	if !ok {
		return false
	}
	major, _, _ := strings.Cut(v, ".")
	n, err := strconv.Atoi(major)
	return err == nil && n >= 10
}

package managers

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Fetch in the resolve step, yarn classic (issue 12; npm's is npmfetch.go). Yarn 1
// cannot resolve without installing, so its resolve step already is a full
// `yarn add X --ignore-scripts` with the network, on the scratch the later steps
// use; the download step then ran `yarn install --frozen-lockfile
// --ignore-scripts` again over the same tree, a second yarn start-up and
// container that finds nothing left to fetch. When every dependency the install
// can reach is a registry one, the resolve step is marked as installing and the
// download step is dropped: the lockfile it leaves is prechecked, the tree it
// installed is checked and read by the static analysis (install.go,
// fetchinresolve.go) before the build — still the offline `yarn install
// --frozen-lockfile --offline --force`, as before — runs any of it or anything is
// synced back.
//
// A plan that names anything but the registry keeps the two steps: a git, file,
// link, tarball-URL or alias spec on the command line, in package.json or in
// yarn.lock (an entry key or a dependency range, or a `resolved` that is not a
// registry tarball), `resolutions`, workspaces, Plug'n'Play (installConfig), a
// `yarn workspace NAME` prefix, options before the command or other than the few
// that only choose where the spec is saved, or a project .yarnrc with yarn-path or
// yarn-offline-mirror. Any doubt — an unreadable or linked file, a line of
// yarn.lock not understood — keeps them too.

// yarnClassicFetchDoc is the reference page's line for add, upgrade and remove.
const yarnClassicFetchDoc = "registry packages: resolved and fetched in one run with scripts off, prechecked (lockfile and installed tree), then built in the sandbox (the whole tree, offline) only when a package it added has install scripts; " +
	"a git, file, link or tarball dependency, resolutions, workspaces, a yarn-path or an offline mirror keep resolve, precheck, then download"

// yarnFetchOptions are the add/upgrade/remove options that only say how package.json
// records the spec.
var yarnFetchOptions = map[string]bool{
	"-D": true, "--dev": true, "-P": true, "--peer": true, "-O": true, "--optional": true,
	"-E": true, "--exact": true, "-T": true, "--tilde": true, "-C": true, "--caret": true,
	"-L": true, "--latest": true,
}

// yarnClassicFetchesInResolve says whether yarn classic's `CMD rest…` at root may
// resolve and fetch in one step (see above). lead are the options before the
// command (--cwd taken out), prefix a `workspace NAME` prefix.
func yarnClassicFetchesInResolve(cmd string, lead, prefix, rest []string, root string, workspaces []string, rcs []*yarnProjectRC) bool {
	switch cmd {
	case "add", "upgrade", "remove":
	default:
		return false
	}
	if len(lead) > 0 || len(prefix) > 0 || len(workspaces) > 0 {
		return false
	}
	for _, rc := range rcs {
		if _, mirror := rc.inside["yarn-offline-mirror"]; mirror || rc.yarnPath != "" {
			return false
		}
	}
	for _, s := range rest {
		if s == "--" {
			return false
		}
		if strings.HasPrefix(s, "-") {
			if !yarnFetchOptions[s] {
				return false
			}
			continue
		}
		if !npmRegistryArg(s) {
			return false
		}
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return false
	}
	defer r.Close()
	for _, s := range rest {
		if !strings.HasPrefix(s, "-") && yarnImplicitDir(r, npmSpecRange(s)) {
			return false
		}
	}
	data, err := readNoLink(r, "package.json")
	if err != nil {
		return false
	}
	var man struct {
		Dependencies         map[string]string `json:"dependencies"`
		DevDependencies      map[string]string `json:"devDependencies"`
		OptionalDependencies map[string]string `json:"optionalDependencies"`
		PeerDependencies     map[string]string `json:"peerDependencies"`
		Resolutions          json.RawMessage   `json:"resolutions"`
		Workspaces           json.RawMessage   `json:"workspaces"`
		InstallConfig        json.RawMessage   `json:"installConfig"`
		Flat                 json.RawMessage   `json:"flat"`
		BundleDependencies   json.RawMessage   `json:"bundleDependencies"`
		BundledDependencies  json.RawMessage   `json:"bundledDependencies"`
	}
	if json.Unmarshal(data, &man) != nil || man.Resolutions != nil || man.Workspaces != nil || man.InstallConfig != nil ||
		man.Flat != nil || man.BundleDependencies != nil || man.BundledDependencies != nil {
		return false
	}
	for _, deps := range []map[string]string{man.Dependencies, man.DevDependencies, man.OptionalDependencies, man.PeerDependencies} {
		for name, v := range deps {
			if !npmRebuildName.MatchString(name) || !npmRegistryRange(v) || yarnImplicitDir(r, v) {
				return false
			}
		}
	}
	data, err = readNoLink(r, "yarn.lock")
	if os.IsNotExist(err) {
		return true // a first install: what it resolves is read before anything runs
	}
	if err != nil {
		return false
	}
	return yarnLockRegistryOnly(string(data))
}

// yarnImplicitDir: yarn 1 takes a range that is not a semver range and names a
// directory of the project holding a package.json as file:RANGE (its
// "implicitFileDeprecated" warning), so "vendor" is a directory dependency though
// it has no slash. Any entry of that name at the project root counts.
func yarnImplicitDir(r *os.Root, rng string) bool {
	if rng == "" {
		return false
	}
	_, err := r.Lstat(rng)
	return !os.IsNotExist(err)
}

// yarnLockRegistryOnly: a yarn 1 lockfile whose every entry is a registry package
// (registry specs in its key, a registry tarball as `resolved`, registry ranges as
// dependencies). A line it does not understand is a no.
func yarnLockRegistryOnly(lock string) bool {
	if !strings.Contains(lock, "# yarn lockfile v1") {
		return false
	}
	inEntry, resolved, inDeps := false, false, false
	for _, line := range strings.Split(strings.ReplaceAll(lock, "\r\n", "\n"), "\n") {
		trimmed := strings.TrimLeft(line, " ")
		indent := len(line) - len(trimmed)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") && indent == 0 {
			continue
		}
		if strings.ContainsRune(line, '\t') {
			return false
		}
		switch indent {
		case 0:
			if inEntry && !resolved {
				return false // no resolved: a file:, link: or workspace entry
			}
			key, ok := strings.CutSuffix(line, ":")
			if !ok {
				return false
			}
			for _, pat := range strings.Split(key, ", ") {
				if !yarnLockRegistryPattern(unquoteYarnLock(pat)) {
					return false
				}
			}
			inEntry, resolved, inDeps = true, false, false
		case 2:
			if !inEntry {
				return false
			}
			k, v, _ := strings.Cut(trimmed, " ")
			inDeps = false
			switch k {
			case "resolved":
				u, _, _ := strings.Cut(unquoteYarnLock(v), "#") // yarn appends #<sha1>
				if !npmRegistryTarball(u) {
					return false
				}
				resolved = true
			case "dependencies:", "optionalDependencies:":
				inDeps = v == ""
				if !inDeps {
					return false
				}
			case "version", "integrity", "uid":
			default:
				return false
			}
		case 4:
			if !inDeps {
				return false
			}
			name, v, ok := strings.Cut(trimmed, " ")
			if !ok || !npmRebuildName.MatchString(unquoteYarnLock(name)) || !npmRegistryRange(unquoteYarnLock(v)) {
				return false
			}
		default:
			return false
		}
	}
	return !inEntry || resolved
}

// yarnLockRegistryPattern: a yarn.lock entry pattern that is a registry name and range.
func yarnLockRegistryPattern(pat string) bool {
	i := strings.LastIndex(pat, "@")
	if i <= 0 {
		return false
	}
	name, rng := pat[:i], pat[i+1:]
	return npmRebuildName.MatchString(name) && npmRegistryRange(rng)
}

// unquoteYarnLock takes a yarn.lock string out of its quotes, if it has them.
func unquoteYarnLock(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		if u, err := jsonUnquote(s); err == nil {
			return u
		}
	}
	return s
}

// The build after a one-run add (issue 12). Yarn 1 cannot build by name: the build
// step, `yarn install --frozen-lockfile --offline --force`, relinks and rebuilds the
// whole tree, most of a wrapped `yarn add`. Bare `yarn add` runs the install scripts
// of only what it added; when none of the packages this install added or changed
// has any (yarnClassicBuildChanged), there is nothing to build and the step is
// skipped. What is left is the mark the resolve run's --ignore-scripts puts in
// node_modules/.yarn-integrity ("flags": ["ignoreScripts"]): synced as it is, yarn
// would take the tree for one installed without scripts, and the next `yarn
// install` (bare, or phylum-box's nothing-to-do check) would relink it all. The
// resolve step takes the mark out after yarn succeeded (yarnIntegrityScript): the
// file is then byte for byte what bare `yarn add` writes for the same tree. When a
// package has install scripts, the --force build runs as before and rewrites the
// file itself.

// yarnIntegrityScript runs the resolve ("$@"), then, when it succeeded, drops
// "ignoreScripts" from the flags of the integrity file ($0) — a regular file, not a
// link — written in yarn's own format (JSON, two-space indent, no final newline).
// The node program is phylum-box's; it reads only that file.
const yarnIntegrityScript = `f=$0
"$@" || exit
exec node -e '
const fs = require("fs"), f = process.argv[1];
let j;
try { if (fs.lstatSync(f).isFile()) j = JSON.parse(fs.readFileSync(f, "utf8")); } catch (e) { process.exit(0); }
if (j && Array.isArray(j.flags) && j.flags.includes("ignoreScripts")) {
  j.flags = j.flags.filter((x) => x !== "ignoreScripts");
  fs.writeFileSync(f, JSON.stringify(j, null, 2));
}' "$f"`

// yarnKeepIntegrity wraps a one-run add's resolve step in yarnIntegrityScript.
func yarnKeepIntegrity(s *Step, root string) *Step {
	return wrapStep(s, yarnIntegrityScript, filepath.Join(root, "node_modules", ".yarn-integrity"))
}

// wrapStep runs step s as the "$@" of a shell script that gets file as its $0; the
// step keeps its own command line as its Name (what -v and errors show).
func wrapStep(s *Step, script, file string) *Step {
	w := *s
	if w.Name == "" {
		w.Name = strings.Join(s.Args, " ")
	}
	w.Args = concat([]string{"sh", "-c", script, file}, s.Args)
	return &w
}

// changedWithoutScripts: none of the package dirs an add wrote (the project's own
// manifest, ".", aside) has install scripts; why says which has, or how many had none.
func changedWithoutScripts(read func(rel string) ([]byte, error), dirs []string) (why string, ok bool) {
	n := 0
	for _, d := range dirs {
		if d == "." {
			continue
		}
		if why := npmPackageScripts(read, d); why != "" {
			return why, false
		}
		n++
	}
	if n == 0 {
		return "this install added or changed no package", true
	}
	return fmt.Sprintf("none of the %d package(s) this install added or changed has install scripts", n), true
}

// yarnClassicBuildChanged is Plan.Steps.BuildChanged for a one-run yarn classic add:
// nothing to build when none of the package dirs this install wrote (dirs) has
// install scripts and the project has none of its own; else ok is false and the
// whole-tree build runs. It never names packages: yarn 1 has no build by name.
func yarnClassicBuildChanged(read func(rel string) ([]byte, error), dirs []string) (names []string, why string, ok bool) {
	data, err := read("package.json")
	if err != nil {
		return nil, "package.json unreadable", false
	}
	var pj struct {
		Scripts map[string]any `json:"scripts"`
	}
	if json.Unmarshal(data, &pj) != nil {
		return nil, "package.json not understood", false
	}
	for _, s := range []string{"preinstall", "install", "postinstall", "prepare"} {
		if _, has := pj.Scripts[s]; has {
			return nil, "the project has a " + s + " script", false
		}
	}
	why, ok = changedWithoutScripts(read, dirs)
	if !ok {
		return nil, why + "; yarn 1 builds only the whole tree", false
	}
	return nil, why, true
}

// yarnModulesFolderSet: a project .yarnrc moves node_modules (modules-folder), where
// the integrity file and the package dirs are not where yarnKeepIntegrity looks.
func yarnModulesFolderSet(rcs []*yarnProjectRC) bool {
	for _, rc := range rcs {
		if _, ok := rc.inside["modules-folder"]; ok {
			return true
		}
	}
	return false
}

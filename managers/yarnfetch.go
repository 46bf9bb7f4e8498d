package managers

import (
	"encoding/json"
	"os"
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
// fetchinresolve.go) before the offline build — of only the packages it wrote
// that have install scripts (yarnfetchbuild.go) — runs any of it or anything is
// synced back.
//
// A plan that names anything but the registry keeps the two steps: a git, file,
// link, tarball-URL or alias spec on the command line, in package.json or in
// yarn.lock (an entry key or a dependency range, or a `resolved` that is not a
// tarball of a registry the plan fetches from), `resolutions`, workspaces,
// Plug'n'Play (installConfig), a
// `yarn workspace NAME` prefix, options before the command or other than the few
// that only choose where the spec is saved, or a project .yarnrc with yarn-path or
// yarn-offline-mirror. Any doubt — an unreadable or linked file, a line of
// yarn.lock not understood — keeps them too.

// yarnClassicFetchDoc is the reference page's line for add, upgrade and remove.
const yarnClassicFetchDoc = "registry packages: resolved and fetched in one run with scripts off, prechecked (lockfile and installed tree), then only the packages it wrote that have install scripts are built in the sandbox, offline; " +
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
// command (--cwd taken out), prefix a `workspace NAME` prefix; regs the registries
// the plan fetches from (nil: any registry tarball URL).
func yarnClassicFetchesInResolve(cmd string, lead, prefix, rest []string, root string, workspaces []string, rcs []*yarnProjectRC, regs *yarnRegistries) bool {
	switch cmd {
	case "add", "upgrade", "remove":
	default:
		return false
	}
	if !yarnOneRunProject(lead, prefix, workspaces, rcs) {
		return false
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
	if _, ok := yarnRegistryManifest(r); !ok {
		return false
	}
	data, err := readNoLink(r, "yarn.lock")
	if os.IsNotExist(err) {
		return true // a first install: what it resolves is read before anything runs
	}
	if err != nil {
		return false
	}
	_, ok := parseYarnLockRegistry(string(data), regs)
	return ok
}

// yarnOneRunProject: nothing outside the command line keeps a one-run install from
// being one — no options before the command, no `workspace NAME` prefix, no
// workspaces, no project .yarnrc naming a yarn-path or an offline mirror.
func yarnOneRunProject(lead, prefix, workspaces []string, rcs []*yarnProjectRC) bool {
	if len(lead) > 0 || len(prefix) > 0 || len(workspaces) > 0 {
		return false
	}
	for _, rc := range rcs {
		if _, mirror := rc.inside["yarn-offline-mirror"]; mirror || rc.yarnPath != "" {
			return false
		}
	}
	return true
}

// yarnRegistryManifest reads the project's package.json (not a link) and says
// whether every dependency in it is a registry one, with nothing that changes
// how yarn resolves or links (resolutions, workspaces, Plug'n'Play, flat,
// bundled dependencies). patterns are the ones yarn installs, as yarn.lock keys
// them ("name@range": dependencies, devDependencies and optionalDependencies).
func yarnRegistryManifest(r *os.Root) (patterns []string, ok bool) {
	data, err := readNoLink(r, "package.json")
	if err != nil {
		return nil, false
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
		return nil, false
	}
	for i, deps := range []map[string]string{man.Dependencies, man.DevDependencies, man.OptionalDependencies, man.PeerDependencies} {
		for name, v := range deps {
			if !npmRebuildName.MatchString(name) || !npmRegistryRange(v) || yarnImplicitDir(r, v) {
				return nil, false
			}
			if i < 3 {
				patterns = append(patterns, name+"@"+v)
			}
		}
	}
	return patterns, true
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
	_, ok := parseYarnLockRegistry(lock, nil)
	return ok
}

// yarnLockIndex is what a registry-only yarn.lock says: its entries' patterns
// ("name@range", unquoted) and the patterns the entries depend on.
type yarnLockIndex struct {
	keys map[string]bool
	deps []string
}

// closed: every dependency of every entry has an entry of its own, so an install
// from the lockfile resolves nothing anew.
func (ix *yarnLockIndex) closed() bool {
	for _, d := range ix.deps {
		if !ix.keys[d] {
			return false
		}
	}
	return true
}

// parseYarnLockRegistry reads a yarn 1 lockfile whose every entry is a registry
// package: registry specs of one name in its key, a registry tarball of that name
// on one of regs (nil: any registry tarball URL) as `resolved`, registry ranges as
// dependencies. ok is false for anything else, a line it does not understand
// included.
func parseYarnLockRegistry(lock string, regs *yarnRegistries) (ix *yarnLockIndex, ok bool) {
	if !strings.Contains(lock, "# yarn lockfile v1") {
		return nil, false
	}
	ix = &yarnLockIndex{keys: map[string]bool{}}
	inEntry, resolved, inDeps, name := false, false, false, ""
	for _, line := range strings.Split(strings.ReplaceAll(lock, "\r\n", "\n"), "\n") {
		trimmed := strings.TrimLeft(line, " ")
		indent := len(line) - len(trimmed)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") && indent == 0 {
			continue
		}
		if strings.ContainsRune(line, '\t') {
			return nil, false
		}
		switch indent {
		case 0:
			if inEntry && !resolved {
				return nil, false // no resolved: a file:, link: or workspace entry
			}
			key, ok := strings.CutSuffix(line, ":")
			if !ok {
				return nil, false
			}
			name = ""
			for _, pat := range strings.Split(key, ", ") {
				pat = unquoteYarnLock(pat)
				n, ok := yarnLockRegistryPattern(pat)
				if !ok || name != "" && n != name {
					return nil, false
				}
				name = n
				ix.keys[pat] = true
			}
			inEntry, resolved, inDeps = true, false, false
		case 2:
			if !inEntry {
				return nil, false
			}
			k, v, _ := strings.Cut(trimmed, " ")
			inDeps = false
			switch k {
			case "resolved":
				u, _, _ := strings.Cut(unquoteYarnLock(v), "#") // yarn appends #<sha1>
				if !npmRegistryTarball(u) || regs != nil && !regs.serves(name, u) {
					return nil, false
				}
				resolved = true
			case "dependencies:", "optionalDependencies:":
				inDeps = v == ""
				if !inDeps {
					return nil, false
				}
			case "version", "integrity", "uid":
			default:
				return nil, false
			}
		case 4:
			if !inDeps {
				return nil, false
			}
			dep, v, ok := strings.Cut(trimmed, " ")
			dep, v = unquoteYarnLock(dep), unquoteYarnLock(v)
			if !ok || !npmRebuildName.MatchString(dep) || !npmRegistryRange(v) {
				return nil, false
			}
			ix.deps = append(ix.deps, dep+"@"+v)
		default:
			return nil, false
		}
	}
	if inEntry && !resolved {
		return nil, false
	}
	return ix, true
}

// yarnRegistries are the registries a plan fetches from (Plan.RegistryURLs): a
// tarball URL counts as a registry's when it is under the registry configured for
// the package's scope (else the default), or under the public registry by either
// of its names, which yarn, npm and the precheck take as one.
type yarnRegistries struct {
	def    string
	scopes map[string]string
}

var yarnPublicRegistries = []string{"https://registry.npmjs.org/", "https://registry.yarnpkg.com/"}

func (r *yarnRegistries) serves(name, tarball string) bool {
	configured := r.def
	if scope, _, ok := strings.Cut(name, "/"); ok && strings.HasPrefix(scope, "@") {
		if u := r.scopes[scope]; u != "" {
			configured = u
		}
	}
	for _, base := range append([]string{configured}, yarnPublicRegistries...) {
		if base != "" && strings.HasPrefix(tarball, strings.TrimSuffix(base, "/")+"/") {
			return true
		}
	}
	return false
}

// yarnLockRegistryPattern: a yarn.lock entry pattern that is a registry name and
// range; name is the name.
func yarnLockRegistryPattern(pat string) (name string, ok bool) {
	i := strings.LastIndex(pat, "@")
	if i <= 0 {
		return "", false
	}
	name, rng := pat[:i], pat[i+1:]
	return name, npmRebuildName.MatchString(name) && npmRegistryRange(rng)
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

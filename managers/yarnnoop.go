package managers

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
)

// `yarn` / `yarn install` (classic) with nothing to do (issue 12): yarn's own
// integrity record, node_modules/.yarn-integrity, says the tree was installed from
// exactly this yarn.lock for exactly package.json's dependencies, so the lockfile
// is prechecked and no step runs.
//
// What a hostile checkout can plant: a .yarn-integrity claiming yarn.lock's tree
// over a node_modules that is something else. The decision compares that record
// entry for entry with yarn.lock (and yarn.lock with package.json), so a record
// that lies makes phylum-box skip the install and nothing else: no step runs,
// nothing is synced back, the host's tree stays as the checkout brought it
// (phylum-box put nothing unchecked there), and yarn.lock — what the record says
// is installed — is prechecked as always.
//
// yarn berry has its own check, for the node-modules linker only (berrynoop.go).

// yarnNoopFlags are the options of a bare `yarn install` that leave what it does
// to an up-to-date tree unchanged.
var yarnNoopFlags = map[string]bool{
	"--frozen-lockfile": true, "--prefer-offline": true, "--offline": true, "--silent": true, "-s": true,
	"--non-interactive": true, "--no-progress": true, "--verbose": true, "--no-emoji": true,
}

// yarnNoopRCKeys are .yarnrc settings (classic) that leave the installed tree
// alone: where packages come from and how yarn talks.
var yarnNoopRCKeys = map[string]bool{
	"registry": true, "strict-ssl": true, "cafile": true, "ca": true, "email": true, "username": true,
	"lastUpdateCheck": true, "network-timeout": true, "network-concurrency": true, "cache-folder": true,
	"disable-self-update-check": true, "always-auth": true, "yarn-offline-mirror": true,
	"yarn-offline-mirror-pruning": true, "save-prefix": true, "init-license": true, "init-version": true,
	"init-author-name": true, "init-author-email": true, "version-git-tag": true, "version-tag-prefix": true,
	"version-git-message": true, "version-sign-git-tag": true, "https-proxy": true, "proxy": true,
	"global-folder": true, // where `yarn global` installs; yarn install never looks there
}

// yarnClassicNoopCheck returns Plan.Steps.UpToDate for a yarn classic command line, or
// nil when the command could change node_modules whatever the files say: anything
// but a bare `yarn` / `yarn install`, an option outside yarnNoopFlags, a
// subdirectory or workspaces, a setting in the environment that yarn reads as
// config, NODE_ENV=production.
func yarnClassicNoopCheck(env Env, y yarnArgv, prefix []string, cmd string, rest []string, root, dir string, workspaces []string, cfg *NpmConfig, nodedir string) func() (bool, string) {
	if (cmd != "" && cmd != "install") || len(prefix) > 0 || len(workspaces) > 0 || dir != root {
		return nil
	}
	if k := cfg.firstSetting(func(k string) bool { return !npmNoopSetting(k) }); k != "" {
		return nil
	}
	if data, err := readProjectFile(root, filepath.Join(root, ".yarnrc")); err == nil && yarnRCNoop(data) != "" {
		return nil
	}
	for _, a := range append(y.leadWithoutCwd(), rest...) {
		if !yarnNoopFlags[a] {
			return nil
		}
	}
	for _, kv := range env.Environ {
		k, v, _ := strings.Cut(kv, "=")
		lk := strings.ToLower(k)
		switch {
		case k == "NODE_ENV" && v == "production":
			return nil
		case strings.HasPrefix(lk, "yarn_") && !yarnNoopRCKeys[strings.ReplaceAll(lk[len("yarn_"):], "_", "-")]:
			return nil
		case strings.HasPrefix(lk, "npm_config_") && !npmNoopSetting(lk[len("npm_config_"):]):
			return nil
		}
	}
	// The user's own settings, and the link folder yarn records as linkedModules.
	xdg := env.Getenv("XDG_CONFIG_HOME")
	if xdg == "" {
		xdg = filepath.Join(env.Home, ".config")
	}
	if names, _ := os.ReadDir(filepath.Join(xdg, "yarn", "link")); len(names) > 0 {
		return nil
	}
	if data, err := os.ReadFile(filepath.Join(env.Home, ".yarnrc")); err == nil && yarnRCNoop(data) != "" {
		return nil
	}
	abi := nodeModuleVersion(nodedir)
	if abi == "" {
		return nil
	}
	system := "linux-" + nodeArch() + "-" + abi
	return func() (bool, string) { return YarnClassicUpToDate(root, system) }
}

// yarnRCNoop names the first setting of a .yarnrc that may change the installed
// tree; "" when there is none.
func yarnRCNoop(data []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || l[0] == '#' || l[0] == ';' {
			continue
		}
		key, _, _ := strings.Cut(l, " ")
		key = strings.TrimPrefix(strings.Trim(key, `"`), "--")
		if !yarnNoopRCKeys[key] && !strings.HasPrefix(key, "//") && !(strings.HasPrefix(key, "@") && strings.HasSuffix(key, ":registry")) {
			return key
		}
	}
	return ""
}

// nodeModuleVersion is the ABI version of the node whose headers are at nodedir
// (process.versions.modules), "" when unknown.
func nodeModuleVersion(nodedir string) string {
	return nodeVersionDefines(nodedir)["NODE_MODULE_VERSION"] // useragent.go
}

// yarnIntegrity is node_modules/.yarn-integrity.
type yarnIntegrity struct {
	SystemParams     string            `json:"systemParams"`
	ModulesFolders   []string          `json:"modulesFolders"`
	Flags            []string          `json:"flags"`
	LinkedModules    []string          `json:"linkedModules"`
	TopLevelPatterns []string          `json:"topLevelPatterns"`
	LockfileEntries  map[string]string `json:"lockfileEntries"`
}

// YarnClassicUpToDate says whether yarn classic's `yarn install` at root has
// nothing to do, as yarn itself decides it (its integrity check) and more
// strictly: .yarn-integrity records this machine (system), the default modules
// folder, no flags (production, flat, ignoreScripts, …) and no linked modules,
// package.json's dependencies as its top-level patterns, and yarn.lock's entries
// with their resolved URLs, exactly; every direct dependency is in node_modules
// (a directory, not a link) at the version yarn.lock gives it.
func YarnClassicUpToDate(root, system string) (bool, string) {
	r, err := os.OpenRoot(root)
	if err != nil {
		return false, err.Error()
	}
	defer r.Close()
	files, err := readNoLinks(r, "package.json", "yarn.lock", "node_modules/.yarn-integrity")
	if err != nil {
		return false, err.Error()
	}
	pj, lockData, intData := files[0], files[1], files[2]
	var man map[string]json.RawMessage
	if err := json.Unmarshal(pj, &man); err != nil {
		return false, "package.json: " + err.Error()
	}
	for _, k := range []string{"workspaces", "resolutions", "flat", "bundleDependencies", "bundledDependencies"} {
		if _, ok := man[k]; ok {
			return false, "package.json has " + k
		}
	}
	var scripts map[string]any
	_ = json.Unmarshal(man["scripts"], &scripts)
	for _, s := range npmRootScripts {
		if _, ok := scripts[s]; ok {
			return false, "package.json has a " + s + " script, which yarn install runs every time"
		}
	}
	var in yarnIntegrity
	if err := json.Unmarshal(intData, &in); err != nil {
		return false, "node_modules/.yarn-integrity: " + err.Error()
	}
	switch {
	case in.SystemParams != system:
		return false, fmt.Sprintf("node_modules was installed for %s, not %s", in.SystemParams, system)
	case !slices.Equal(in.ModulesFolders, []string{"node_modules"}) || len(in.Flags) > 0 || len(in.LinkedModules) > 0:
		return false, "node_modules/.yarn-integrity records other flags, folders or linked modules"
	}
	locked, versions, err := parseYarnLockV1(lockData)
	if err != nil {
		return false, "yarn.lock: " + err.Error()
	}
	if len(locked) != len(in.LockfileEntries) {
		return false, "node_modules/.yarn-integrity does not record yarn.lock's entries"
	}
	for pattern, resolved := range locked {
		if got, ok := in.LockfileEntries[pattern]; !ok || got != resolved {
			return false, "node_modules/.yarn-integrity does not record yarn.lock's " + pattern
		}
		if !strings.HasPrefix(resolved, "https://") && !strings.HasPrefix(resolved, "http://") {
			return false, "yarn.lock's " + pattern + " is not a registry package"
		}
	}
	var patterns []string
	direct := map[string]string{}
	for _, kind := range pnpmDepKinds {
		var deps map[string]string
		if len(man[kind]) > 0 && json.Unmarshal(man[kind], &deps) != nil {
			return false, "package.json's " + kind + " not understood"
		}
		for name, spec := range deps {
			p := name + "@" + spec
			patterns = append(patterns, p)
			if _, ok := locked[p]; !ok {
				return false, "yarn.lock has no entry for package.json's " + p
			}
			direct[name] = versions[p]
		}
	}
	slices.Sort(patterns)
	got := slices.Clone(in.TopLevelPatterns)
	slices.Sort(got)
	if !slices.Equal(patterns, got) {
		return false, "package.json's dependencies are not the ones node_modules was installed for"
	}
	for name, version := range direct {
		if !npmRebuildName.MatchString(name) {
			return false, name + " is not a package name"
		}
		if why := pnpmInstalledVersion(r, "node_modules/"+name, version); why != "" {
			return false, why
		}
	}
	return true, fmt.Sprintf("node_modules holds the %d entr(ies) of yarn.lock", len(locked))
}

// parseYarnLockV1 reads a yarn classic lockfile as yarn's integrity check sees
// it: every pattern of every entry's key line, with the entry's resolved URL, and
// its version.
func parseYarnLockV1(data []byte) (resolved, version map[string]string, err error) {
	resolved, version = map[string]string{}, map[string]string{}
	var keys []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		switch {
		case strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#"):
		case !strings.HasPrefix(line, " "):
			if !strings.HasSuffix(line, ":") {
				return nil, nil, fmt.Errorf("line %d not understood", n)
			}
			keys = keys[:0]
			for _, k := range strings.Split(strings.TrimSuffix(line, ":"), ", ") {
				k = strings.TrimSpace(k)
				if uq, err := strconv.Unquote(k); err == nil {
					k = uq
				}
				if k == "" {
					return nil, nil, fmt.Errorf("line %d not understood", n)
				}
				keys = append(keys, k)
				resolved[k] = ""
			}
		case strings.HasPrefix(line, "  ") && !strings.HasPrefix(line, "   "):
			field, value, _ := strings.Cut(strings.TrimSpace(line), " ")
			if uq, err := strconv.Unquote(value); err == nil {
				value = uq
			}
			for _, k := range keys {
				switch field {
				case "resolved":
					resolved[k] = value
				case "version":
					version[k] = value
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, err
	}
	if !bytes.Contains(data, []byte("# yarn lockfile v1")) {
		return nil, nil, fmt.Errorf("not a yarn lockfile v1")
	}
	return resolved, version, nil
}

// nodeArch is process.arch for this machine.
func nodeArch() string {
	if a := map[string]string{"amd64": "x64", "386": "ia32"}[runtime.GOARCH]; a != "" {
		return a
	}
	return runtime.GOARCH
}

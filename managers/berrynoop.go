package managers

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"go.yaml.in/yaml/v3"
)

// `yarn install` (berry) with nothing to do (issue 12), for the node-modules
// linker: yarn's own record of the tree it linked, node_modules/.yarn-state.yml
// (every locator and the directories it is installed in), says the tree is what
// yarn.lock resolves package.json to, so the lockfile is prechecked and no step
// runs.
//
// What yarn itself trusts there: its node-modules linker reads the same file to
// decide which directories to write, and only rescans a directory whose mtime is
// newer than the file. This check trusts the record less: every locator of
// yarn.lock is in it and nothing else, every directory it names exists (no link
// on the way) with that package's name and version, every dependency edge of
// yarn.lock resolves, the way node resolves it from that directory, to the
// directory of the locked version, and every descriptor of yarn.lock is used (a
// bare install would prune it). A record that still lies makes phylum-box skip
// the install and nothing else: no step runs, nothing is synced back, and
// yarn.lock — what the record says is installed — is prechecked as always.
//
// Plug'n'Play (berry's default linker) has a check of its own, berrypnp.go: its
// record, .pnp.cjs, is code, so it must be byte for byte what yarn would write.

// Builds: which packages yarn built is recorded only in .yarn/install-state.gz
// (a V8-serialised object of yarn's internals, not read here).
// Unless scripts are off (enableScripts: false, or unset with a committed yarn
// 4.18 release, whose default it is), a tree with a package that has a build
// (preinstall, install or postinstall script, or a binding.gyp) runs every
// step: whether its build ran cannot be told from the files phylum-box reads.

// berryNoopFlags are the options of a bare `yarn install` that leave what it does
// to an up-to-date tree unchanged.
var berryNoopFlags = map[string]bool{
	"--immutable": true, "--immutable-cache": true, "--inline-builds": true,
}

// berryNoopSettings are .yarnrc.yml settings (and YARN_* variables) that leave a
// node-modules tree alone: where packages come from, how yarn talks and prints.
// nodeLinker, nmMode and enableScripts are read for their value.
var berryNoopSettings = map[string]bool{
	"nodeLinker": true, "nmMode": true, "enableScripts": true, "yarnPath": true,
	"enableTelemetry": true, "telemetryUserId": true, "telemetryInterval": true, "lastUpdateCheck": true,
	"enableGlobalCache": true, "cacheFolder": true, "globalFolder": true, "enableMirror": true,
	"npmRegistryServer": true, "npmScopes": true, "npmRegistries": true, "npmAuthToken": true,
	"npmAuthIdent": true, "npmAlwaysAuth": true, "npmPublishRegistry": true, "npmAuditRegistry": true,
	"httpProxy": true, "httpsProxy": true, "httpsCaFilePath": true, "httpsCertFilePath": true,
	"httpsKeyFilePath": true, "httpTimeout": true, "httpRetry": true, "networkConcurrency": true,
	"networkSettings": true, "enableStrictSsl": true, "unsafeHttpWhitelist": true, "enableNetwork": true,
	"enableOfflineMode": true, "enableImmutableInstalls": true, "enableImmutableCache": true,
	"enableColors": true, "enableHyperlinks": true, "enableProgressBars": true, "enableTimers": true,
	"enableMessageNames": true, "enableTips": true, "enableInlineBuilds": true, "logFilters": true,
	"preferTruncatedLines": true, "progressBarStyle": true, "ignorePath": true,
	"initScope": true, "initFields": true, "defaultSemverRangePrefix": true, "preferInteractive": true,
}

// berryNoopEnv maps a YARN_* variable's name (without YARN_, underscores
// removed, lower case) to the setting it sets.
var berryNoopEnv = func() map[string]string {
	m := map[string]string{}
	for k := range berryNoopSettings {
		m[strings.ToLower(k)] = k
	}
	return m
}()

// berryNoopCheck returns Plan.Steps.UpToDate for a yarn berry command line, or nil
// when the command could change the tree whatever the files say: anything but a
// bare `yarn` / `yarn install` at the root, an option outside berryNoopFlags,
// workspaces, a setting outside berryNoopSettings (in the project's or the
// user's .yarnrc.yml or a YARN_* variable), a linker other than node-modules
// (with nmMode classic) or pnp, and for pnp a project cache (enableGlobalCache:
// false), a project globalFolder or a release that is not the project's own
// file (yarnPath inside the project: its runtime is what .pnp.cjs must hold).
func berryNoopCheck(env Env, y yarnArgv, prefix []string, cmd string, rest []string, root, dir string, workspaces []string, rc *berryConfig) func() (bool, string) {
	if (cmd != "" && cmd != "install") || len(prefix) > 0 || len(workspaces) > 0 || dir != root || rc == nil {
		return nil
	}
	for _, a := range append(y.leadWithoutCwd(), rest...) {
		if !berryNoopFlags[a] {
			return nil
		}
	}
	values := map[string]string{}
	for _, f := range []*berryRC{rc.home, rc.project} { // the project's wins
		keys, ok := f.topLevel()
		if !ok {
			return nil
		}
		for k, v := range keys {
			if !berryNoopSettings[k] {
				return nil
			}
			values[k] = v
		}
	}
	for _, kv := range env.Environ {
		k, v, _ := strings.Cut(kv, "=")
		name, ok := strings.CutPrefix(k, "YARN_")
		if !ok {
			continue
		}
		setting, ok := berryNoopEnv[strings.ToLower(strings.ReplaceAll(name, "_", ""))]
		if !ok {
			return nil
		}
		values[setting] = v
	}
	scripts, yarnPath := values["enableScripts"], rc.project.get("yarnPath")
	if rc.home.get("yarnPath") != "" && yarnPath == "" {
		yarnPath = "-" // the user's release: its default is not read
	}
	scriptsOff := func() bool {
		return scripts == "false" || (scripts == "" && berryScriptsOffByDefault(root, yarnPath))
	}
	if linker := values["nodeLinker"]; linker == "" || linker == "pnp" {
		// Plug'n'Play (berrypnp.go): packages in the user's global cache, and
		// the runtime of the project's own release, read as data.
		release := filepath.ToSlash(filepath.Clean(yarnPath))
		if !rc.globalCache || rc.project.get("globalFolder") != "" || yarnPath == "" || yarnPath == "-" ||
			filepath.IsAbs(yarnPath) || release == ".." || strings.HasPrefix(release, "../") {
			return nil
		}
		cacheDir := filepath.Join(rc.globalDir, "cache")
		return func() (bool, string) { return BerryPnpUpToDate(root, cacheDir, release, scriptsOff()) }
	}
	if values["nodeLinker"] != "node-modules" || (values["nmMode"] != "" && values["nmMode"] != "classic") {
		return nil
	}
	return func() (bool, string) { return BerryUpToDate(root, scriptsOff()) }
}

// berryScriptsMarker begins enableScripts' definition in a (bundled) yarn
// release: `enableScripts:{description:"…",type:"BOOLEAN",default:!1}`.
var berryScriptsMarker = []byte(`enableScripts:{description:"`)

// berryScriptsOffByDefault says whether the release the project commits
// (yarnPath, a file inside the project) runs no dependency's build script unless
// enableScripts is set — yarn 4.18's default; earlier releases default to true.
// The release is read as data, never run; anything but that exact definition
// (another release, no yarnPath, a release outside the project) counts as
// scripts on. A release that lies about it only makes phylum-box skip an install
// whose tree is otherwise what yarn.lock says: no code runs either way.
func berryScriptsOffByDefault(root, yarnPath string) bool {
	if yarnPath == "" || yarnPath == "-" || filepath.IsAbs(yarnPath) {
		return false
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return false
	}
	defer r.Close()
	data, err := readNoLink(r, filepath.ToSlash(filepath.Clean(yarnPath)))
	if err != nil || bytes.Count(data, berryScriptsMarker) != 1 {
		return false
	}
	def := data[bytes.Index(data, berryScriptsMarker):]
	end := bytes.IndexByte(def, '}')
	return end > 0 && end < 400 && bytes.HasSuffix(def[:end], []byte(`",type:"BOOLEAN",default:!1`))
}

// topLevel is the file's top-level settings, a scalar's value as written ("" for
// a mapping or a list); ok is false when the file is not a mapping.
func (rc *berryRC) topLevel() (map[string]string, bool) {
	out := map[string]string{}
	if rc == nil || len(rc.node.Content) == 0 {
		return out, true
	}
	n := rc.node.Content[0]
	if n.Kind != yaml.MappingNode {
		return nil, false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		out[n.Content[i].Value] = n.Content[i+1].Value
	}
	return out, true
}

// BerryUpToDate says whether yarn berry's `yarn install` at root, with the
// node-modules linker, has nothing to do (berrynooptree.go); scriptsOff is
// enableScripts: false.
func BerryUpToDate(root string, scriptsOff bool) (bool, string) {
	r, err := os.OpenRoot(root)
	if err != nil {
		return false, err.Error()
	}
	defer r.Close()
	t := &berryTree{r: r, scriptsOff: scriptsOff, dirs: map[string]bool{}}
	if why := t.check(); why != "" {
		return false, why
	}
	return true, fmt.Sprintf("node_modules holds the %d package(s) of yarn.lock", t.installed)
}

// berryConditionsFit says whether a lockfile entry's conditions ("os=linux &
// cpu=x64", from the package's os, cpu and libc) include this machine; ok is false
// for a condition this reading does not know (then the install runs).
func berryConditionsFit(cond string) (fit, ok bool) {
	if strings.TrimSpace(cond) == "" {
		return true, true
	}
	libc := "glibc"
	if m, _ := filepath.Glob("/lib/ld-musl-*"); len(m) > 0 {
		libc = "musl"
	}
	have := map[string]string{"os": runtime.GOOS, "cpu": nodeArch(), "libc": libc}
	fit = true
	for _, c := range strings.Split(cond, "&") {
		k, v, found := strings.Cut(strings.TrimSpace(c), "=")
		if _, known := have[k]; !found || !known || v == "" || strings.ContainsAny(v, "()|!= ") {
			return false, false
		}
		fit = fit && have[k] == v
	}
	return fit, true
}

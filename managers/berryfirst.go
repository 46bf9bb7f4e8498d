package managers

import (
	"bytes"
	"encoding/json"
	"os"
	"path"
	"slices"
	"strings"
)

// Two savings of an everyday yarn berry `yarn install` (issue 12).
//
// The committed lockfile first: when yarn.lock is already what yarn would write
// for package.json, the resolve step (`--mode=update-lockfile`, a yarn start with
// the network) only rewrites it as it is. The plan is then tried first without
// it (Plan.TryFirst): yarn.lock is prechecked as committed and the download step,
// `install --immutable --mode=skip-build`, checks it — yarn stops before
// fetching anything when the lockfile would change (YN0028). When that attempt
// fails before yarn's fetch step, or the precheck of the committed lockfile
// blocks, it is thrown away, nothing synced and its output not shown, and every
// step runs: the resolved lockfile is what gets prechecked and installed then.
//
// No build when yarn would build and record nothing: with enableScripts: false
// (set, or the committed release's default) and no dependenciesMeta asking for a
// package's build, yarn skips every dependency's build script; when the download
// step also left .yarn/install-state.gz as the last install did (the same
// packages, their skipped builds already recorded there), `yarn rebuild` would
// only start yarn to write that state again. A changed state keeps the build
// step: yarn records the builds it skipped (and says so) only when it links with
// builds on, which the download's --mode=skip-build does not.

// berryLockFirst gives the finished plan p of a bare `yarn install` (no
// package named, no option but --immutable-cache) its attempt over the committed
// yarn.lock.
func berryLockFirst(p *Plan, sub string, rest []string) {
	if p == nil || sub != "install" || p.Steps.Resolve == nil || p.Steps.Download == nil || p.Steps.Evaluate != nil || p.Steps.Hooks != nil {
		return
	}
	for _, a := range rest {
		if a != "--immutable-cache" {
			return
		}
	}
	r, err := os.OpenRoot(p.Project.Root)
	if err != nil {
		return
	}
	defer r.Close()
	if st, err := r.Lstat("yarn.lock"); err != nil || !st.Mode().IsRegular() || st.Size() == 0 {
		return
	}
	try := *p
	try.Steps.Resolve, try.Steps.Resolved, try.Steps.ResolveOutput = nil, nil, nil
	try.TryFirst = nil
	try.Sandbox.Credentials = p.Sandbox.Credentials.clone()
	try.Notes = append(slices.Clone(p.Notes), "yarn: the committed yarn.lock is prechecked and installed with --immutable, no resolve step; "+
		"if yarn would change it, every step runs")
	try.Retry = berryLockFirstRetry
	try.ShowAfter = []string{"Fetch step"}
	p.TryFirst = &try
	p.Notes = append(p.Notes, "yarn: tried first over the committed yarn.lock; these steps if yarn would change it")
}

// berryLockFirstRetry is the attempt's Plan.Retry: a download that failed before
// yarn's fetch step (the output is still held back then; YN0028, the lockfile
// would change, is reported there), or a precheck of the committed lockfile that
// blocked (the resolved one may no longer hold the package), means every step.
func berryLockFirstRetry(failed Phase) bool {
	return failed == PhaseDownload || failed == ""
}

// berryScriptsOff says whether yarn, as the steps run it, has enableScripts off:
// false in the project's .yarnrc.yml or, unset there, in the user's; unset in
// both, the committed release's default (berryScriptsOffByDefault). A
// YARN_ENABLE_SCRIPTS variable or a .yarnrc.yml below the root means scripts on:
// what the steps see of them is not read here. So does an installStatePath
// (berryBuildNeeded compares the default one).
func berryScriptsOff(env Env, rc *berryConfig, rcs []*yarnProjectRC, root string) bool {
	if rc == nil || env.Getenv("YARN_ENABLE_SCRIPTS") != "" || env.Getenv("YARN_INSTALL_STATE_PATH") != "" ||
		rc.project.get("installStatePath") != "" || rc.home.get("installStatePath") != "" ||
		len(rcs) > 1 || (len(rcs) == 1 && rootRC(root, rcs) == nil) {
		return false
	}
	v := rc.project.get("enableScripts")
	if v == "" {
		v = rc.home.get("enableScripts")
	}
	switch v {
	case "false":
		return true
	case "":
		yarnPath := rc.project.get("yarnPath")
		if yarnPath == "" && rc.home.get("yarnPath") != "" {
			return false // the user's release: its default is not read
		}
		return berryScriptsOffByDefault(root, yarnPath)
	}
	return false
}

// berryInstallState is where yarn keeps its install state unless
// installStatePath says otherwise (berryScriptsOff then answers false).
const berryInstallState = ".yarn/install-state.gz"

// berryBuildNeeded is Plan.Steps.BuildNeeded for a berry install at root whose
// yarn has enableScripts off: the build is needed when a manifest's
// dependenciesMeta asks for a package's build (`built: true` overrides
// enableScripts) or cannot be read, and when the download step changed the
// install state (or there is none to compare).
func berryBuildNeeded(root string, workspaces []string) func(read func(rel string) ([]byte, error)) (bool, string) {
	return func(read func(rel string) ([]byte, error)) (bool, string) {
		for _, dir := range append([]string{"."}, workspaces...) {
			rel := path.Join(dir, "package.json")
			data, err := read(rel)
			if err != nil {
				return true, rel + " unreadable: " + err.Error()
			}
			var m struct {
				DependenciesMeta map[string]json.RawMessage `json:"dependenciesMeta"`
			}
			if err := json.Unmarshal(data, &m); err != nil {
				return true, rel + " not understood"
			}
			for dep, raw := range m.DependenciesMeta {
				var meta map[string]json.RawMessage
				if json.Unmarshal(raw, &meta) != nil {
					return true, rel + ": dependenciesMeta of " + dep + " not understood"
				}
				if b, ok := meta["built"]; ok && strings.TrimSpace(string(b)) != "false" {
					return true, rel + ": dependenciesMeta asks for " + dep + "'s build"
				}
			}
		}
		after, err := read(berryInstallState)
		if err != nil {
			return true, berryInstallState + " after the download: " + err.Error()
		}
		r, err := os.OpenRoot(root)
		if err != nil {
			return true, err.Error()
		}
		defer r.Close()
		before, err := readNoLink(r, berryInstallState)
		if err != nil {
			return true, "no " + berryInstallState + " of an earlier install to compare"
		}
		if !bytes.Equal(before, after) {
			return true, "the download changed " + berryInstallState + " (yarn records the builds it skips when it links with builds on)"
		}
		return false, "enableScripts is false, no dependenciesMeta asks for a build and " + berryInstallState +
			" is as the last install left it: yarn builds and records nothing"
	}
}

package managers

// The project's own lifecycle scripts (Plan.Steps.ProjectScripts, issue 11 item 2):
// which ones the bare manager runs after an install, read from package.json as
// data, and the step that runs them in the sandbox after the dependencies' build.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// npmProjectEvents are the root package's scripts `npm install` (no package
// named) and `npm ci` run after installing, in order (npm's
// lib/commands/install.js and ci.js).
var npmProjectEvents = []string{"preinstall", "install", "postinstall", "prepublish", "preprepare", "prepare", "postprepare"}

// nodeWorkspaceEvents are the scripts a manager runs for a workspace package
// (a link to a directory of the project): its install scripts and prepare.
var nodeWorkspaceEvents = []string{"preinstall", "install", "postinstall", "prepare"}

// projectManifest is what the project scripts need from a package.json.
type projectManifest struct {
	Name           string         `json:"name"`
	Version        string         `json:"version"`
	Scripts        map[string]any `json:"scripts"`
	PackageManager string         `json:"packageManager"` // pnpmSwitchNotice
}

// readProjectManifest reads dir/package.json of the project at root as data
// (beneath root, no symlink followed). A missing file is an empty manifest.
func readProjectManifest(root, dir string) (*projectManifest, error) {
	rel := path.Join(dir, "package.json")
	data, err := readProjectFile(root, filepath.Join(root, filepath.FromSlash(rel)))
	if errors.Is(err, fs.ErrNotExist) {
		return &projectManifest{}, nil
	}
	if err != nil {
		return nil, err
	}
	var m projectManifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %w (fix the JSON, then retry)", rel, err)
	}
	return &m, nil
}

// has reports whether the manifest has a non-empty script named event.
func (m *projectManifest) has(event string) bool {
	s, ok := m.Scripts[event].(string)
	return ok && strings.TrimSpace(s) != ""
}

// events lists the ones of events the manifest has.
func (m *projectManifest) events(events []string) []string {
	var out []string
	for _, e := range events {
		if m.has(e) {
			out = append(out, e)
		}
	}
	return out
}

// npmRunEvents turns the root events npm would run into `npm run-script` calls
// that run each exactly once, in npm's order: `npm run-script install` runs
// preinstall and postinstall with it (as `npm run-script prepare` does
// preprepare and postprepare), so those are only named alone when their main
// script is absent. (Run alone, `npm run-script preinstall` would also run a
// "prepreinstall" script; npm install would not.)
func npmRunEvents(m *projectManifest) []string { return runGroups(m, true) }

// runGroups is npmRunEvents, with prepublish or (pnpm) without.
func runGroups(m *projectManifest, prepublish bool) []string {
	var out []string
	for _, group := range [][3]string{{"preinstall", "install", "postinstall"}, {"", "prepublish", ""}, {"preprepare", "prepare", "postprepare"}} {
		if group[1] == "prepublish" && !prepublish {
			continue
		}
		if m.has(group[1]) {
			out = append(out, group[1])
			continue
		}
		for _, e := range []string{group[0], group[2]} {
			if e != "" && m.has(e) {
				out = append(out, e)
			}
		}
	}
	return out
}

// npmProjectScripts returns the step running the project's own scripts after
// `npm install` / `npm ci`: the workspace packages' install scripts and prepare
// (`npm rebuild` of their links, as npm's reify does) and the root package's
// events, each through `npm run-script`. nil when there is none. The names of
// the workspace packages are returned too: the dependencies' build leaves them
// to this step.
func npmProjectScripts(root string, man *projectManifest, workspaces []string, build *Step) (*Step, []string, error) {
	var wsNames, labels []string
	for _, ws := range workspaces {
		wm, err := readProjectManifest(root, ws)
		if err != nil {
			return nil, nil, err
		}
		if wm.Name == "" || !npmRebuildName.MatchString(wm.Name) || len(wm.events(nodeWorkspaceEvents)) == 0 {
			continue
		}
		wsNames = append(wsNames, wm.Name)
	}
	sort.Strings(wsNames)
	events := npmRunEvents(man)
	if len(wsNames) == 0 && len(events) == 0 {
		return nil, nil, nil
	}
	var script []string
	if len(wsNames) > 0 {
		script = append(script, "npm rebuild --foreground-scripts --no-audit --no-fund "+strings.Join(wsNames, " "))
		labels = append(labels, "the workspaces' scripts ("+strings.Join(wsNames, ", ")+")")
	}
	for _, e := range events {
		script = append(script, "npm run-script "+e)
	}
	if all := man.events(npmProjectEvents); len(all) > 0 {
		labels = append(labels, strings.Join(all, ", "))
	}
	s := &Step{
		Args: []string{"sh", "-c", "set -e; " + strings.Join(script, "; ")},
		Env:  slices.Clone(build.Env),
		Name: strings.Join(labels, "; "),
	}
	return s, wsNames, nil
}

// npmRootBuildsChanged is Plan.Steps.BuildChanged for a project whose own scripts run
// in Plan.Steps.ProjectScripts: never the whole tree (`npm rebuild` with no name runs
// the root's install scripts too), and never the workspace packages, which that
// step builds. When NpmBuildChanged cannot limit the build (links in the tree,
// the root's own scripts), every installed package with install scripts is named.
// run says whether the project's scripts run after it (not after `npm install
// PKG`), for the reason given when nothing else builds.
func npmRootBuildsChanged(wsNames []string, run bool) func(read func(rel string) ([]byte, error), dirs []string) ([]string, string, bool) {
	return func(read func(rel string) ([]byte, error), dirs []string) ([]string, string, bool) {
		names, why, ok := NpmBuildChanged(read, dirs)
		if !ok {
			names, why, ok = npmAllBuildNames(read)
		}
		if !ok {
			return nil, why, false
		}
		names = slices.DeleteFunc(names, func(n string) bool { return slices.Contains(wsNames, n) })
		switch {
		case len(names) > 0:
		case run:
			why = "no installed package has install scripts but the project's own, which run after"
		default:
			why = "no installed package has install scripts but the project's own, which this command does not run (as npm does not)"
		}
		return names, why, true
	}
}

// npmAllBuildNames names every package of the hidden lockfile that `npm rebuild`
// would run scripts for (NpmBuildNeeded's rules), links included, the root not.
func npmAllBuildNames(read func(rel string) ([]byte, error)) ([]string, string, bool) {
	data, err := read("node_modules/.package-lock.json")
	if err != nil {
		return nil, "no hidden lockfile to tell", false
	}
	var lock npmLock
	if err := json.Unmarshal(data, &lock); err != nil || lock.LockfileVersion < 2 || lock.Packages == nil {
		return nil, "hidden lockfile not understood", false
	}
	seen := map[string]bool{}
	var names []string
	for loc, raw := range lock.Packages {
		i := strings.LastIndex(loc, "node_modules/")
		if loc == "" || i < 0 {
			continue // the root, or a workspace's own dir (built through its link)
		}
		var e npmLockEntry
		if json.Unmarshal(raw, &e) != nil {
			return nil, "hidden lockfile not understood", false
		}
		if e.InBundle {
			continue
		}
		if !e.Link && npmPackageScripts(read, loc) == "" {
			continue
		}
		name := loc[i+len("node_modules/"):]
		if !npmRebuildName.MatchString(name) {
			return nil, loc + " is not a package name npm rebuild takes", false
		}
		if !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names, fmt.Sprintf("%d installed package(s) with install scripts or links", len(names)), true
}

// npmIgnoresScripts: --ignore-scripts on the command line, or ignore-scripts in
// a config file or npm_config_ variable the plan reads.
func npmIgnoresScripts(a *npmArgv, cfg *NpmConfig) bool {
	if a.isTrue("ignore-scripts") {
		return true
	}
	if a.isFalse("ignore-scripts") {
		return false
	}
	return cfg.get("ignore-scripts") == "true"
}

// npmRunsProjectScripts: the npm commands after which npm runs the root's
// scripts — install with no package named (and install-test), ci.
func npmRunsProjectScripts(cmd string, rest []string) bool {
	switch cmd {
	case "install", "install-test":
		return len(rest) == 0
	case "ci", "install-ci-test":
		return true
	}
	return false
}

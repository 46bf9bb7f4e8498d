package managers

// pnpm's project scripts (rootscripts.go): `pnpm install` runs the root's and
// every workspace project's preinstall, install, postinstall, preprepare,
// prepare and postprepare after installing; `pnpm add`/`update`/`remove` run
// none. A whole-tree `pnpm rebuild` (the dependencies' build) would run the
// root's preinstall … prepare as well, so with project scripts the build names
// the installed packages instead.

import (
	"bytes"
	"context"
	"slices"
	"sort"
	"strings"

	"github.com/phylum-box/phylum-box/precheck/lockfile"
)

var pnpmProjectEvents = []string{"preinstall", "install", "postinstall", "preprepare", "prepare", "postprepare"}

// pnpmRebuildRootEvents are the root's scripts a whole-tree `pnpm rebuild` runs.
var pnpmRebuildRootEvents = []string{"preinstall", "install", "postinstall", "prepublish", "prepare"}

// pnpmProjectScripts returns the step running the workspace projects' and the
// root's lifecycle scripts after `pnpm install` (nil when there is none), and
// whether the project has scripts a whole-tree `pnpm rebuild` would run.
func pnpmProjectScripts(root string, man *projectManifest, workspaces []string, runs bool, build *Step) (*Step, bool, error) {
	var script, labels []string
	anyRebuild := len(man.events(pnpmRebuildRootEvents)) > 0
	ws := slices.Clone(workspaces)
	sort.Strings(ws)
	for _, dir := range ws {
		wm, err := readProjectManifest(root, dir)
		if err != nil {
			return nil, false, err
		}
		if len(wm.events(pnpmRebuildRootEvents)) > 0 {
			anyRebuild = true
		}
		evs := runGroups(wm, false)
		if len(evs) == 0 {
			continue
		}
		for _, e := range evs {
			script = append(script, "(cd "+shq(dir)+" && pnpm run "+e+")")
		}
		labels = append(labels, dir+": "+strings.Join(wm.events(pnpmProjectEvents), ", "))
	}
	for _, e := range runGroups(man, false) {
		script = append(script, "pnpm run "+e)
	}
	if all := man.events(pnpmProjectEvents); len(all) > 0 {
		labels = append(labels, strings.Join(all, ", "))
	}
	if !runs || len(script) == 0 {
		return nil, anyRebuild, nil
	}
	return &Step{
		Args: []string{"sh", "-c", "set -e; " + strings.Join(script, "; ")},
		Env:  slices.Clone(build.Env),
		Name: strings.Join(labels, "; "),
	}, anyRebuild, nil
}

// pnpmLockBuildNames is Plan.Steps.BuildChanged for a pnpm project with scripts of its
// own: every package of the lockfile, by name (`pnpm rebuild NAME…` leaves the
// project's own scripts out, and runs only the builds pnpm allows).
func pnpmLockBuildNames(read func(rel string) ([]byte, error), _ []string) ([]string, string, bool) {
	data, err := read("pnpm-lock.yaml")
	if err != nil {
		return nil, "pnpm-lock.yaml unreadable", false
	}
	pkgs, err := lockfile.ParseReader(context.Background(), "pnpm-lock.yaml", bytes.NewReader(data))
	if err != nil {
		return nil, "pnpm-lock.yaml not understood", false
	}
	seen := map[string]bool{}
	var names []string
	for _, pk := range pkgs {
		if seen[pk.Name] || !npmRebuildName.MatchString(pk.Name) {
			continue
		}
		seen[pk.Name] = true
		names = append(names, pk.Name)
	}
	sort.Strings(names)
	return names, "the lockfile's packages (the project's own scripts run apart)", true
}

// shq quotes s for sh.
func shq(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

package managers

// yarn berry's project scripts (rootscripts.go). Berry builds a workspace (the
// root included) like a package: its preinstall, install and postinstall run
// in the link step of an install. A whole-tree `yarn rebuild` (the
// dependencies' build) ran them there, where their files were refused; with
// such scripts the build runs with them taken out of the manifests, and the
// project step is `yarn rebuild` of the workspaces that have them — berry's own
// mechanism (enableScripts and all), in the offline project step.

import (
	"path"
	"slices"
	"sort"
	"strings"
)

var berryWorkspaceEvents = []string{"preinstall", "install", "postinstall"}

// berryProjectScripts sets Plan.Steps.ProjectScripts, and wraps Plan.Steps.Build, for a
// berry install whose workspaces have build scripts; build is the yarn argv
// that runs in the build step (its release and lead options).
func berryProjectScripts(p *Plan, workspaces []string, build []string) error {
	if p == nil || p.Steps.Build == nil || !p.Steps.Build.AppendChanged {
		return nil
	}
	root, err := readProjectManifest(p.Project.Root, ".")
	if err != nil {
		return err
	}
	var idents, labels, skipped []string
	dirs := append([]string{"."}, workspaces...)
	sort.Strings(dirs[1:])
	for _, dir := range dirs {
		wm := root
		if dir != "." {
			if wm, err = readProjectManifest(p.Project.Root, dir); err != nil {
				return err
			}
		}
		evs := wm.events(berryWorkspaceEvents)
		if len(evs) == 0 {
			continue
		}
		if wm.Name == "" || !npmRebuildName.MatchString(wm.Name) {
			skipped = append(skipped, dir)
			continue
		}
		idents = append(idents, wm.Name)
		labels = append(labels, wm.Name+": "+strings.Join(evs, ", "))
	}
	if len(idents) == 0 && len(skipped) == 0 {
		return nil
	}
	// Berry builds a workspace that was never built (or whose build inputs
	// changed) in any install, `yarn rebuild NAME…` too: for the dependencies'
	// build the workspaces' scripts are taken out of their manifests and put
	// back byte for byte when it ends (rootscripts_yarn.go).
	var hide []string
	for _, dir := range dirs {
		hide = append(hide, path.Join(dir, "package.json"))
	}
	if p.Steps.Build.Name == "" {
		p.Steps.Build.Name = strings.Join(p.Steps.Build.Args, " ")
	}
	p.Steps.Build.Args = yarnHideScripts(hide, p.Steps.Build.Args)
	for _, dir := range skipped {
		p.Notes = append(p.Notes, dir+"/package.json has build scripts but no name to rebuild it by: they do not run")
	}
	if len(idents) == 0 {
		return nil
	}
	p.Steps.ProjectScripts = &Step{
		Args: concat(build, []string{"rebuild"}, idents),
		Env:  slices.Clone(p.Steps.Build.Env),
		Name: strings.Join(labels, "; "),
	}
	p.Project.Name, p.Project.Version = root.Name, root.Version
	return nil
}

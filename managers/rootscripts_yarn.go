package managers

// yarn 1's project scripts (rootscripts.go). `yarn install`, `add` and
// `upgrade` run the root's preinstall, install, postinstall, prepublish and
// prepare (the last two not with --production), and the workspace packages'
// install scripts while linking. The build step is yarn's own install
// (--offline --force), which would run them among the dependencies' scripts,
// where their files are refused: for that step the lifecycle scripts are
// taken out of the project's manifests and put back, byte for byte, when it
// ends (the sealed-manifest check still sees them unchanged), and the project
// step runs them with `yarn run`, each once.

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"
)

// yarnClassicProjectEvents are the scripts yarn 1 runs for the root (and, while
// linking, for a workspace package: its install scripts and prepare).
var yarnClassicProjectEvents = []string{"preinstall", "install", "postinstall", "prepublish", "preprepare", "prepare", "postprepare"}

// yarnClassicHiddenEvents are the scripts taken out of the manifests for the
// dependencies' build.
var yarnClassicHiddenEvents = []string{"preinstall", "install", "postinstall", "prepublish", "prepare"}

// yarnClassicProjectScripts sets Plan.Steps.ProjectScripts for a yarn 1 install, add
// or upgrade whose project has lifecycle scripts, and wraps the build so that it
// leaves them out. all is the user's argv after "yarn" (for --ignore-scripts and
// --production).
func yarnClassicProjectScripts(p *Plan, all []string) error {
	if p == nil || p.Passthrough || p.Scratch != nil || p.Steps.Build == nil {
		return nil
	}
	switch p.Subcommand {
	case "install", "add", "upgrade":
	default:
		return nil
	}
	if hasFlag(all, "--ignore-scripts") {
		return nil
	}
	production := hasFlag(all, "--production", "--prod")
	root, err := readProjectManifest(p.Project.Root, ".")
	if err != nil {
		return err
	}
	man, _ := readNodeManifest(p.Project.Root)
	workspaces, err := workspaceDirs(p.Project.Root, man.workspacePatterns())
	if err != nil {
		return err
	}
	sort.Strings(workspaces)
	var script, labels, hide []string
	for _, ws := range workspaces {
		wm, err := readProjectManifest(p.Project.Root, ws)
		if err != nil {
			return err
		}
		if len(wm.events(yarnClassicHiddenEvents)) == 0 {
			continue
		}
		hide = append(hide, ws+"/package.json")
		for _, e := range runGroups(wm, false) {
			if production && (e == "prepare" || e == "preprepare" || e == "postprepare") {
				continue
			}
			script = append(script, "(cd "+shq(ws)+" && yarn --offline run "+e+")")
		}
		labels = append(labels, ws+": "+strings.Join(wm.events(yarnClassicProjectEvents), ", "))
	}
	if len(root.events(yarnClassicHiddenEvents)) > 0 {
		hide = append(hide, "package.json")
	}
	for _, e := range runGroups(root, !production) {
		if production && (e == "prepare" || e == "preprepare" || e == "postprepare") {
			continue
		}
		script = append(script, "yarn --offline run "+e)
	}
	if len(hide) == 0 {
		return nil
	}
	if all := root.events(yarnClassicProjectEvents); len(all) > 0 {
		labels = append(labels, strings.Join(all, ", "))
	}
	if p.Steps.Build.Name == "" {
		p.Steps.Build.Name = strings.Join(p.Steps.Build.Args, " ")
	}
	p.Steps.Build.Args = yarnHideScripts(hide, p.Steps.Build.Args)
	if len(script) > 0 {
		p.Steps.ProjectScripts = &Step{
			Args: []string{"sh", "-c", "set -e; " + strings.Join(script, "; ")},
			Env:  slices.Clone(p.Steps.Build.Env),
			Name: strings.Join(labels, "; "),
		}
		p.Project.Name, p.Project.Version = root.Name, root.Version
	}
	return nil
}

// yarnHideScriptsJS takes the lifecycle scripts out of the manifests named in
// its arguments, keeping each original in $PBOX_HIDDEN, and (with "restore")
// puts the originals back.
const yarnHideScriptsJS = `const fs=require('fs'),path=require('path');const d=process.env.PBOX_HIDDEN;const ev=%s;
const [mode,...files]=process.argv.slice(1);files.forEach((f,i)=>{const keep=path.join(d,String(i));
if(mode==='restore'){if(fs.existsSync(keep))fs.writeFileSync(f,fs.readFileSync(keep));return}
const raw=fs.readFileSync(f);fs.writeFileSync(keep,raw);const m=JSON.parse(raw);
if(m.scripts&&typeof m.scripts==='object'){for(const e of ev)delete m.scripts[e]}fs.writeFileSync(f,JSON.stringify(m,null,2)+'\n')})`

// yarnHideScripts wraps a build argv: hide, run, restore, exit with the run's
// status.
func yarnHideScripts(files, argv []string) []string {
	ev, _ := json.Marshal(yarnClassicHiddenEvents)
	js := strings.Replace(yarnHideScriptsJS, "%s", string(ev), 1)
	quoted := make([]string, len(files))
	for i, f := range files {
		quoted[i] = shq(f)
	}
	list := strings.Join(quoted, " ")
	sh := `PBOX_HIDDEN=$(mktemp -d) && export PBOX_HIDDEN && node -e "$0" hide ` + list + ` || exit 1
"$@"; rc=$?
node -e "$0" restore ` + list + ` || exit 1
exit $rc`
	return append([]string{"sh", "-c", sh, js}, argv...)
}

package managers

import (
	"os"
	"strings"
)

// `yarn` / `yarn install` (classic) from a registry-only yarn.lock (issue 12).
//
// Yarn 1 cannot resolve without installing, so the plan used to be three yarn
// runs: a resolve that is a full install on a throwaway copy, a download that
// installs the same tree again, and a forced rebuild of the whole tree. When the
// committed yarn.lock already covers package.json — every dependency it names has
// an entry, and so has every dependency of every entry — the lockfile is the
// resolution: there is nothing for a resolve step to find. The plan then has no
// resolve step: the committed yarn.lock is prechecked first, before anything has
// the network (a blocked entry stops the install there), then one networked
// `yarn install --ignore-scripts` installs it; the orchestration checks that it
// left a lockfile naming nothing unchecked (with --frozen-lockfile yarn does not
// write it; a plain install may only prune or reformat it) and that the tree it
// installed is the checked one, and the static analysis reads it; then the
// offline build runs the install scripts of the packages that have them, and only
// those (yarnfetchbuild.go) — or nothing, when none has.
//
// A plain `yarn install` whose package.json names something yarn.lock does not
// have yet changes the lockfile: that is an add, and takes the add's one run
// (yarnfetch.go: the lockfile it leaves is prechecked before anything is built or
// synced; an entry of the committed lockfile that is not what the registry serves
// is blocked before it).
//
// Everything else keeps the three steps: a git, file, link, tarball or alias
// dependency in package.json or yarn.lock, an entry on a registry the plan does not
// fetch from, resolutions, workspaces, Plug'n'Play, bundled dependencies, a
// .yarnrc yarn-path, offline mirror or modules-folder, options before the command
// or outside yarnInstallOptions, a run from a subdirectory, and any doubt (a
// linked or unreadable file, a yarn.lock line not understood).

// yarnInstallOptions are the install options that change nothing of what is
// installed, or only how yarn talks.
var yarnInstallOptions = map[string]bool{
	"--frozen-lockfile": true, "--non-interactive": true, "--no-progress": true,
	"--silent": true, "-s": true, "--prefer-offline": true, "--ignore-engines": true,
}

// yarnClassicInstallDoc is the reference page's line for yarn and yarn install.
const yarnClassicInstallDoc = "a registry-only yarn.lock that covers package.json: the lockfile is prechecked, installed in one run with scripts off " +
	"(its tree checked), then only the packages with install scripts are built in the sandbox, offline; " +
	"otherwise resolved by a full install with scripts off, prechecked, then downloaded and built in the sandbox"

// yarnInstallMode is how a yarn classic install is planned.
type yarnInstallMode int

const (
	yarnInstallSteps    yarnInstallMode = iota // resolve, download, build
	yarnInstallLockfile                        // the committed yarn.lock is the plan: one networked run, no resolve
	yarnInstallResolves                        // one networked run that may change yarn.lock, as an add
)

// yarnOneRun is what the one-run decisions of a yarn classic plan read.
type yarnOneRun struct {
	cmd          string
	lead, prefix []string
	rest         []string
	root, cwd    string
	workspaces   []string
	rcs          []*yarnProjectRC
	regs         *yarnRegistries
	quiet        []string
	buildEnv     []string
}

// yarnClassicInstallMode decides for `yarn [install] rest…` (see above).
func yarnClassicInstallMode(in yarnOneRun) yarnInstallMode {
	if in.cmd != "" && in.cmd != "install" || in.cwd != "." || !yarnOneRunProject(in.lead, in.prefix, in.workspaces, in.rcs) || yarnModulesFolderSet(in.rcs) {
		return yarnInstallSteps
	}
	for _, s := range in.rest {
		if !yarnInstallOptions[s] {
			return yarnInstallSteps
		}
	}
	frozen := hasFlag(in.rest, "--frozen-lockfile")
	r, err := os.OpenRoot(in.root)
	if err != nil {
		return yarnInstallSteps
	}
	defer r.Close()
	patterns, ok := yarnRegistryManifest(r)
	if !ok {
		return yarnInstallSteps
	}
	data, err := readNoLink(r, "yarn.lock")
	if err != nil {
		return yarnInstallSteps
	}
	ix, ok := parseYarnLockRegistry(string(data), in.regs)
	if !ok {
		return yarnInstallSteps
	}
	covered := ix.closed()
	for _, p := range patterns {
		covered = covered && ix.keys[p]
	}
	switch {
	case covered:
		return yarnInstallLockfile
	case frozen:
		return yarnInstallSteps // yarn refuses it; let it say so where it always has
	}
	return yarnInstallResolves
}

// yarnClassicOneRun changes a yarn classic plan whose command line and project
// allow fewer yarn runs: an add, upgrade or remove of registry packages
// (yarnfetch.go), or an install from a registry-only yarn.lock (above).
func yarnClassicOneRun(p *Plan, in yarnOneRun) {
	if in.cmd == "" && len(in.prefix) == 0 {
		// `yarn --frozen-lockfile`: the options are the install's.
		in.lead, in.rest = nil, in.lead
	}
	mode := yarnInstallSteps
	switch {
	case yarnClassicFetchesInResolve(in.cmd, in.lead, in.prefix, in.rest, in.root, in.workspaces, in.rcs, in.regs):
		mode = yarnInstallResolves
	case in.cmd == "" || in.cmd == "install":
		mode = yarnClassicInstallMode(in)
	}
	switch mode {
	case yarnInstallSteps:
		return
	case yarnInstallResolves:
		p.Steps.Resolve.Installs, p.Steps.Download = true, nil
		p.Notes = append(p.Notes, "registry packages only: the resolve step's install is kept, checked like a download's, and there is no download step")
		if yarnModulesFolderSet(in.rcs) {
			return // the build stays the whole-tree one
		}
		p.Steps.Resolve = yarnKeepIntegrity(p.Steps.Resolve, in.root)
	case yarnInstallLockfile:
		net := &Step{Args: concat([]string{"yarn", "install"}, in.rest, []string{"--ignore-scripts"}, in.quiet), Env: yarnNetworkEnv, Network: true, Credentials: true}
		p.Steps.Resolve, p.Steps.Download = nil, yarnKeepIntegrity(net, in.root)
		p.Notes = append(p.Notes, "registry packages only, and yarn.lock covers package.json: it is the resolution, prechecked before one networked install with scripts off; no resolve step")
	}
	// Build only the packages with install scripts that this install wrote.
	opts := yarnWithout(installOnly(options(in.rest)), "--frozen-lockfile")
	p.Steps.Build = yarnChangedBuild(concat([]string{"yarn", "install"}, opts, []string{"--frozen-lockfile", "--offline"}, in.quiet), in.buildEnv, in.root)
	p.Steps.BuildChanged = yarnClassicChangedNames
}

// yarnWithout drops opts from args.
func yarnWithout(args []string, opts ...string) []string {
	var out []string
	for _, a := range args {
		drop := false
		for _, o := range opts {
			drop = drop || a == o
		}
		if !drop {
			out = append(out, a)
		}
	}
	return out
}

// yarnRegistriesOf are the plan's registries for the one-run decisions.
func yarnRegistriesOf(p *Plan) *yarnRegistries {
	def, scopes := p.RegistryURLs()
	if def == "" {
		def = yarnPublicRegistries[0]
	}
	return &yarnRegistries{def: strings.TrimSpace(def), scopes: scopes}
}

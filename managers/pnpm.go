package managers

import (
	"fmt"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/phylum-box/phylum-box/precheck"
)

func init() {
	Register(pnpmManager{name: "pnpm"})
	Register(pnpmManager{name: "pnpx"})
}

// pnpmManager plans pnpm command lines; as "pnpx" it plans `pnpm dlx` ones.
type pnpmManager struct{ name string }

func (m pnpmManager) Name() string      { return m.name }
func (m pnpmManager) Ecosystem() string { return precheck.NPM }

// pnpmAliases maps pnpm 10's command names to the canonical one (commandNames in
// each pnpm command). Commands absent here and from pnpmCommands fall back to
// `pnpm run` (pnpm's own fallback), which passes through.
var pnpmAliases = map[string]string{
	"i": "install", "it": "install-test", "up": "update", "upgrade": "update",
	"rm": "remove", "uninstall": "remove", "un": "remove", "uni": "remove",
	"rb": "rebuild", "ln": "link", "dislink": "unlink", "clean-install": "ci", "ic": "ci",
	"install-clean": "ci", "multi": "recursive", "m": "recursive",
}

// pnpm commands and how they are handled. Everything else passes through: run, test,
// exec (runs bins already installed, like npm run: no registry code is fetched),
// list, why, outdated, audit, store, config, publish, pack, env, …
var pnpmIntercepted = map[string]string{
	"install":        "install",
	"add":            "install",
	"update":         "install",
	"remove":         "install",
	"unlink":         "install", // re-installs the dependency from the registry
	"dedupe":         "install",
	"install-test":   "install",
	"import":         "resolve", // writes pnpm-lock.yaml from another lockfile: check it now
	"fetch":          "download",
	"rebuild":        "build",
	"approve-builds": "build", // approves, then builds what was approved
	"dlx":            "exec",
	"create":         "exec",
	"link":           "refuse",
	"deploy":         "refuse",
	"self-update":    "refuse",
	"patch-commit":   "refuse",
	"patch-remove":   "refuse",
}

// pnpmBoolKeys and pnpmValueKeys are pnpm 10's own settings (beyond npm's), as
// flags and .npmrc keys; npmsettings.go classifies each of them.
var pnpmBoolKeys = strings.Fields(`auto-install-peers bail ci merge-git-branch-lockfiles
		dangerously-allow-all-builds deploy-all-files dedupe-peer-dependents dedupe-peers
		dedupe-direct-deps dedupe-injected-deps disallow-workspace-cycles enable-modules-dir
		enable-pre-post-scripts enable-global-virtual-store exclude-links-from-lockfile
		extend-node-path force-legacy-deploy frozen-lockfile git-checks git-branch-lockfile
		hoist hoist-workspace-packages ignore-compatibility-db ignore-dep-scripts
		ignore-pnpmfile ignore-workspace ignore-workspace-cycles ignore-workspace-root-check
		optimistic-repeat-install include-workspace-root init-package-manager
		inject-workspace-packages legacy-dir-filtering lockfile lockfile-include-tarball-url
		lockfile-only manage-package-manager-versions offline package-manager-strict
		package-manager-strict-version prefer-frozen-lockfile prefer-offline
		prefer-symlinked-executables prefer-workspace-packages preserve-absolute-paths
		recursive-install block-exotic-subdeps resolve-peers-from-workspace-root
		aggregate-output reporter-hide-prefix save-peer save-workspace-protocol
		shamefully-flatten shamefully-hoist shared-workspace-lockfile shell-emulator
		side-effects-cache side-effects-cache-readonly symlink sort stream strict-dep-builds
		strict-store-pkg-content-check strict-peer-dependencies use-beta-cli
		use-running-store-server use-store-server use-stderr verify-deps-before-run
		verify-store-integrity workspace-root embed-readme update-notifier
		registry-supports-time-field fail-if-no-match recursive help latest interactive
		dev production fix-lockfile resolution-only global long parseable force`)

var pnpmValueKeys = strings.Fields(`cache-dir catalog-mode child-concurrency
		merge-git-branch-lockfiles-branch-pattern color config-dir dir fetch-timeout
		fetch-warn-timeout-ms fetch-min-speed-ki-bps fetching-concurrency filter filter-prod
		git-shallow-hosts global-bin-dir global-dir global-path global-pnpmfile hoist-pattern
		init-type link-workspace-packages lockfile-dir lockfile-directory loglevel maxsockets
		modules-cache-max-age dlx-cache-max-age minimum-release-age
		minimum-release-age-exclude modules-dir network-concurrency node-linker noproxy
		npm-path only-built-dependencies pack-destination pack-gzip-level
		package-import-method patches-dir pnpmfile public-hoist-pattern publish-branch
		reporter resolution-mode save-catalog-name script-shell state-dir store-dir
		trust-policy trust-policy-exclude trust-policy-ignore-after use-node-version
		global-virtual-store-dir virtual-store-dir virtual-store-dir-max-length
		peers-suffix-max-length workspace-concurrency workspace-packages test-pattern
		changed-files-ignore-pattern sync-injected-deps-after-scripts cpu libc os
		audit-level package shell-mode`)

var pnpmSpec = func() *noptSpec {
	opts := map[string]int{}
	for k, v := range npmOptions { // pnpm reads npm's config keys too (@pnpm/npm-conf)
		opts[k] = v
	}
	for _, k := range pnpmBoolKeys {
		opts[k] = optBool
	}
	for _, k := range pnpmValueKeys {
		opts[k] = optValue
	}
	delete(opts, "color")
	opts["color"] = optValue // ["always", "auto", "never"]: takes the next argument
	return newNoptSpec(opts, map[string][]string{
		"s": {"--reporter=silent"}, "d": {"--loglevel=info"}, "dd": {"--loglevel=verbose"},
		"ddd": {"--loglevel=silly"}, "L": {"--latest"}, "r": {"--recursive"},
		"silent": {"--reporter=silent"}, "verbose": {"--loglevel=verbose"},
		"quiet": {"--loglevel=warn"}, "q": {"--loglevel=warn"}, "h": {"--help"},
		"H": {"--help"}, "?": {"--help"}, "usage": {"--help"}, "v": {"--version"},
		"f": {"--force"}, "local": {"--no-global"}, "l": {"--long"}, "p": {"--parseable"},
		"porcelain": {"--parseable"}, "prod": {"--production"}, "development": {"--dev"},
		"g": {"--global"}, "S": {"--save"}, "D": {"--save-dev"}, "P": {"--save-prod"},
		"E": {"--save-exact"}, "O": {"--save-optional"}, "C": {"--dir"},
		"w": {"--workspace-root"}, "i": {"--interactive"}, "F": {"--filter"},
	}, "create", "exec", "test") // pnpm's escapeArgs
}()

// pnpmCommand finds the subcommand: the first positional, through aliases, after a
// "recursive" prefix; "install" with package arguments is "add", as in pnpm.
func pnpmCommand(a *npmArgv) (cmd string, idx int, recursive bool) {
	if len(a.positionals) == 0 {
		return "", -1, false
	}
	canon := func(w string) string {
		if c, ok := pnpmAliases[w]; ok {
			return c
		}
		return w
	}
	idx = 0
	cmd = canon(a.positionals[0])
	if cmd == "recursive" && len(a.positionals) > 1 {
		recursive, idx, cmd = true, 1, canon(a.positionals[1])
	}
	if _, ok := pnpmIntercepted[cmd]; !ok && idx == 0 {
		// Safety net as for npm: an option value this table misreads must not hide
		// an installing command later on the line.
		for i := 1; i < len(a.positionals) && (a.afterDashes < 0 || i < a.afterDashes); i++ {
			if c := canon(a.positionals[i]); pnpmIntercepted[c] == "install" && !isPnpmScript(a.positionals[0]) {
				return c, i, recursive
			}
		}
	}
	if cmd == "install" && len(a.positionals) > idx+1 {
		cmd = "add"
	}
	return cmd, idx, recursive || a.isTrue("recursive") || len(a.opts["filter"]) > 0 || len(a.opts["filter-prod"]) > 0
}

// isPnpmScript: words pnpm runs rather than parses ("pnpm run x install").
func isPnpmScript(w string) bool {
	return w == "run" || w == "run-script" || w == "exec" || w == "test"
}

// pnpmPortableOption reports whether an option means the same to `pnpm install` as to
// the subcommand the user ran (add's -D means --save-dev, install's means --dev).
func pnpmPortableOption(name string) bool {
	if strings.HasPrefix(name, "config.") {
		return true
	}
	switch name {
	case "dir", "filter", "filter-prod", "recursive", "registry", "loglevel", "reporter",
		"ignore-workspace", "node-linker", "shamefully-hoist", "virtual-store-dir",
		"modules-dir", "lockfile-dir", "workspace-concurrency", "network-concurrency",
		"child-concurrency", "strict-peer-dependencies", "auto-install-peers",
		"resolution-mode", "color", "stream", "aggregate-output", "use-stderr", "fetch-timeout":
		return true
	}
	return false
}

func (m pnpmManager) Plan(args []string, env Env) (*Plan, error) {
	if p, err, ok := m.pnpmExecOfManager(args, env); ok {
		return p, err // pnpm exec yarn …: planned as the manager (execmanager.go)
	}
	p, err := env.checkedPlan(m.plan(args, env))
	if m.name == "pnpm" {
		nameSteps(p, err, "pnpm", args)
	}
	if err == nil {
		quietSteps(p, pnpmQuietEnv) // quietenv.go
	}
	return finish(m.name, p, err, env)
}

func (m pnpmManager) plan(args []string, env Env) (*Plan, error) {
	if m.name == "pnpx" {
		return m.planDlx(append([]string{"dlx"}, args...), args, env)
	}
	a := pnpmSpec.parse(args)
	cmd, idx, recursive := pnpmCommand(a)
	kind := pnpmIntercepted[cmd]
	if kind == "" || a.isTrue("help") || (idx < 0 && a.isTrue("version")) {
		return passthrough(m, cmd, args), nil
	}
	rest := a.positionals[idx+1:]
	switch kind {
	case "exec":
		return m.planDlx(args, args, env)
	case "refuse":
		return nil, pnpmRefusal(cmd)
	}
	if a.isTrue("global") {
		return nil, pnpmGlobalRefusal(cmd)
	}
	if a.isTrue("interactive") {
		return nil, pnpmInteractiveRefusal()
	}

	root, cwd, workspaces, err := pnpmProject(env, a)
	if err != nil {
		return nil, err
	}
	cfg, err := loadNpmConfigFor("pnpm", env, root, cwd, npmCLIConfig(a)) // pnpm reads the package's .npmrc too
	if err != nil {
		return nil, err
	}
	if err := checkPnpmWorkspaceSettings(root, cfg); err != nil {
		return nil, err
	}
	if a.isTrue("lockfile-only") && cmd != "fetch" {
		// Writes the lockfile, installs and builds nothing: passed through — but
		// not with a pnpmfile, which pnpm runs while it resolves (pnpmproject.go).
		if hook := pnpmfileOf(root, cfg); hook != "" && !a.isTrue("ignore-pnpmfile") {
			return nil, pnpmLockfileOnlyRefusal(hook)
		}
		return passthrough(m, cmd, args), nil
	}
	hook := ""
	if kind != "build" && !a.isTrue("ignore-pnpmfile") {
		hook = pnpmfileOf(root, cfg)
		// The hooks run offline after the resolve step (pnpmhooks.go); commands
		// that do not resolve, or a frozen lockfile (pnpm refuses it when run with
		// --ignore-pnpmfile, as the networked steps are), cannot be driven so.
		// pnpm freezes the lockfile by default in CI (the CI variable reaches the
		// steps).
		frozen := a.isTrue("frozen-lockfile") || env.Getenv("CI") != "" && env.Getenv("CI") != "false" && !a.isFalse("frozen-lockfile")
		if hook != "" && (kind != "install" || frozen) {
			return nil, pnpmfileRefusal(hook)
		}
	}
	store := pnpmStoreDir(env, cfg)
	p := &Plan{
		Manager:    "pnpm",
		Ecosystem:  precheck.NPM,
		Subcommand: cmd,
		Args:       args,
		Project:    nodeProject(root, cwd, workspaces, "pnpm-lock.yaml"),
		Sandbox: Sandbox{
			Caches:      pnpmCaches(env, store),
			Credentials: cfg.Credentials(),
		},
		Registries: cfg.MetadataClient(cfg.Registry),
		Notes: []string{"pnpm: packages are copied out of the store (--package-import-method=copy), not hard-linked: " +
			"a hard link would let a build script edit the shared store through node_modules, and the sync back would carry store inodes into the project"},
	}
	p.Notes = append(p.Notes, cfg.Notes...)
	// --dir is left out: the steps already run in the directory it named.
	portable := a.tokensFor(func(name string) bool { return name != "dir" && name != "prefix" && pnpmPortableOption(name) })
	userFlags := a.tokensFor(func(name string) bool { return name != "dir" && name != "prefix" })
	if recursive && !a.isTrue("recursive") && len(a.opts["filter"]) == 0 && len(a.opts["filter-prod"]) == 0 {
		// "pnpm recursive add": the prefix word is gone from the steps' argv, the
		// flag says the same.
		portable = append(portable, "--recursive")
		userFlags = append(userFlags, "--recursive")
	}
	storeFlags := []string{"--config.store-dir=" + store}
	downloadFlags := concat([]string{"--frozen-lockfile", "--ignore-scripts", "--package-import-method=copy", "--config.side-effects-cache=false"}, storeFlags, pnpmNetworkedFlags)
	download := &Step{Args: concat([]string{"pnpm", "install"}, portable, downloadFlags), Network: true, Credentials: true}
	nodedir, err := NodeHeadersDir(env)
	if err != nil {
		return nil, err
	}
	// The store is read-only in Build, and the side-effects cache (built packages
	// written back to the store) is off, so build output never becomes shared state.
	build := &Step{
		Args:          concat([]string{"pnpm", "rebuild"}, portable, []string{"--config.side-effects-cache=false"}, storeFlags),
		Env:           []string{"npm_config_nodedir=" + nodedir, "npm_config_offline=true"},
		AppendChanged: true,
	}
	resolveTail := concat([]string{"--lockfile-only", "--config.ignore-scripts=true"}, pnpmNetworkedFlags)

	switch cmd {
	case "install", "install-test":
		download.Args = concat([]string{"pnpm", "install"}, userFlags, downloadFlags)
		p.Steps.Resolve = &Step{Args: concat([]string{"pnpm", "install"}, userFlags, resolveTail, storeFlags), Network: true, Credentials: true}
		if cmd == "install-test" {
			p.Then = []string{"pnpm", "test"}
		}
	case "add", "update", "remove", "unlink", "dedupe":
		p.Steps.Resolve = &Step{Args: pnpmCommandFlags(cmd, concat([]string{"pnpm", cmd}, userFlags, rest, resolveTail, storeFlags)), Network: true, Credentials: true}
	case "import":
		p.Steps.Resolve = &Step{Args: concat([]string{"pnpm", "import"}, userFlags, rest, storeFlags, pnpmNetworkedFlags), Network: true, Credentials: true}
		p.Project.Outputs = []string{"pnpm-lock.yaml"}
		return p, nil
	case "fetch":
		p.Steps.Download = &Step{Args: concat([]string{"pnpm", "fetch"}, userFlags, []string{"--config.ignore-scripts=true", "--package-import-method=copy"}, storeFlags, pnpmNetworkedFlags), Network: true, Credentials: true}
		return p, nil
	case "rebuild", "approve-builds":
		p.Project.Outputs = nodeOutputs(workspaces)
		if cmd == "approve-builds" {
			// It edits the manifest's allowlist, then builds: the manifest is an output.
			p.Project.Outputs = nodeOutputs(workspaces, "pnpm-workspace.yaml")
			p.Project.Sealed = []string{"pnpm-lock.yaml"}
		}
		build.Args = concat([]string{"pnpm", cmd}, userFlags, rest, []string{"--config.side-effects-cache=false"}, storeFlags)
		build.AppendChanged = false
		p.Steps.Build = pnpmRelinkAfter(build, root) // pnpmbins.go: the shims a build made stale
		return p, nil
	}
	p.Steps.Download, p.Steps.Build = download, build
	// The project's own scripts, after the dependencies' (rootscripts_pnpm.go).
	pm, err := readProjectManifest(root, ".")
	if err != nil {
		return nil, err
	}
	runs := (cmd == "install" || cmd == "install-test") && !a.isTrue("ignore-scripts") && cfg.get("ignore-scripts") != "true"
	ps, rebuildRuns, err := pnpmProjectScripts(root, pm, workspaces, runs, build)
	if err != nil {
		return nil, err
	}
	if rebuildRuns {
		p.Steps.BuildChanged = pnpmLockBuildNames
	}
	if ps != nil {
		if p.Project.Cwd != "." {
			// From a member's dir, `pnpm run postinstall` is the member's script
			// (ERR_PNPM_NO_SCRIPT; found by an attacker review): the root's run at
			// the root, as bare pnpm runs them.
			ps.Dir = root
		}
		p.Steps.ProjectScripts, p.Project.Name, p.Project.Version = ps, pm.Name, pm.Version
	}
	if ok, why := pnpmInstallsLockfile(cmd, rest, a, cfg, env, root, workspaces, hook); ok {
		pnpmFrozenSteps(p, why, rebuildRuns, root) // pnpmfrozen.go
	}
	p.Steps.Notices = pnpmIgnoredBuildsNotice // pnpmnotices.go
	// A release the project names is never run (pnpmproject.go).
	if msg := pnpmSwitchNotice(env, root, pm.PackageManager); msg != "" {
		p.Notes = append(p.Notes, msg)
		ignored := p.Steps.Notices
		p.Steps.Notices = func(read func(rel string) ([]byte, error)) []string {
			return append([]string{msg}, ignored(read)...)
		}
	}
	p.Project.Bookkeeping = map[string]func(run, host []byte) bool{pnpmWorkspaceStateFile: pnpmWorkspaceStateSame}
	p.Steps.UpToDate = pnpmNoopCheck(cmd, rest, a, cfg, root, workspaces, hook, store) // pnpmnoop.go
	// Every build relinks the shims it made stale (pnpmbins.go); the one-run add's
	// also keeps pnpm's record of the builds it left out.
	relink := pnpmRelinkAfter
	// Registry packages only: resolve and fetch in one run (pnpmfetch.go).
	// The pnpm that runs, not only the one the project's record names (pnpmproject.go).
	if pnpmFetchesInResolve(cmd, rest, a, cfg, root, workspaces, hook) && !pnpmHostBefore10(env, root) {
		p.Steps.Resolve = pnpmFetchStep(cmd, userFlags, rest, storeFlags)
		p.Steps.Download = nil
		relink = pnpmRelinkBins
		if p.Steps.BuildChanged == nil {
			// Build only what it added with install scripts (pnpmfetch.go).
			p.Steps.Resolve = pnpmKeepIgnoredBuilds(p.Steps.Resolve, root)
			p.Steps.BuildChanged = pnpmAddBuildChanged
		}
	}
	if p.Steps.Build != nil {
		p.Steps.Build = relink(p.Steps.Build, root)
	}
	if hook != "" {
		pnpmHooks(p, hook, portable, storeFlags)
	}
	return p, nil
}

func pnpmGlobalRefusal(cmd string) *Refusal {
	return &Refusal{Manager: "pnpm", Reason: fmt.Sprintf("`pnpm %s --global` changes the global install, outside any project, where phylum-box cannot check it, contain it or roll it back", cmd),
		Advice: "add the tool to the project (`phylum-box pnpm add -D PKG`) or run it once with `phylum-box pnpm dlx PKG`"}
}

func pnpmInteractiveRefusal() *Refusal {
	return &Refusal{Manager: "pnpm", Reason: "interactive updates cannot be checked before they are chosen", Advice: "name the packages instead: `phylum-box pnpm update PKG@latest`"}
}

// pnpmDocHow says what phylum-box does with each kind of pnpmIntercepted, or with
// one command where it differs from its kind.
var pnpmDocHow = map[string]string{
	"install":        docInstall,
	"resolve":        "the lockfile it writes is prechecked; nothing is installed",
	"download":       "the lockfile is prechecked, then fetched into the store in the sandbox",
	"build":          "the lockfile is prechecked, then built in the sandbox with the network off",
	"exec":           docScratch,
	"install-test":   docInstall + "; then `pnpm test` runs on the host",
	"approve-builds": "the lockfile is prechecked; approves, then builds in the sandbox with the network off",
	"create":         docCreate("NAME"),
}

// pnpmDocArgs are the arguments a command needs to be intercepted.
var pnpmDocArgs = map[string][]string{"dlx": {"PKG"}, "create": {"NAME"}}

// Doc describes pnpm (or pnpx) from pnpmIntercepted and pnpmAliases.
func (m pnpmManager) Doc() ManagerDoc {
	if m.name == "pnpx" {
		return ManagerDoc{Intercepted: []DocCommand{{Args: []string{"PKG"}, How: docScratch + " (as `pnpm dlx`)"}}}
	}
	var d ManagerDoc
	for _, cmd := range sortedKeys(pnpmIntercepted) {
		kind := pnpmIntercepted[cmd]
		if kind == "refuse" {
			d.Refused = append(d.Refused, DocRefusal{Form: docAlso("pnpm "+cmd, aliasesOf(pnpmAliases, cmd)), Example: []string{cmd}, Advice: pnpmRefusal(cmd).Advice})
			continue
		}
		how, ok := pnpmDocHow[cmd]
		if !ok {
			how = pnpmDocHow[kind]
		}
		d.Intercepted = append(d.Intercepted, DocCommand{Name: cmd, Aliases: aliasesOf(pnpmAliases, cmd), Args: pnpmDocArgs[cmd], How: how})
	}
	d.Refused = append([]DocRefusal{
		{Form: "-g or --global with any intercepted command", Example: []string{"add", "-g", "PKG"}, Advice: pnpmGlobalRefusal("add").Advice},
		{Form: "update -i (--interactive)", Example: []string{"update", "-i"}, Advice: pnpmInteractiveRefusal().Advice},
	}, d.Refused...)
	d.PassThrough = []string{"exec tsc", "run build", "test", "build", "ls", "ci", "install --lockfile-only"}
	d.Notes = []string{
		"install with package names is add, as in pnpm; recursive, multi or m before a command, -r and --filter keep it intercepted.",
		"pnpm exec runs only bins already installed, and unknown words run as scripts: both pass through.",
		"install --lockfile-only passes through, except in a project with a pnpmfile, whose hooks pnpm would run on this machine " +
			"while it resolves: refused unless with --ignore-pnpmfile.",
		"every pnpm step runs your own pnpm, never the release package.json's packageManager names " +
			"(--config.manage-package-manager-versions=false); phylum-box says when the project asked for another.",
		ExecManagerNote,
		WriteBackNote,
	}
	return d
}

func pnpmRefusal(cmd string) *Refusal {
	r := &Refusal{Manager: "pnpm"}
	switch cmd {
	case "link":
		r.Reason = "`pnpm link` links through the global store and directory, outside the project"
		r.Advice = "depend on the local path instead: `phylum-box pnpm add link:../dir` or `file:../dir`"
	case "deploy":
		r.Reason = "`pnpm deploy` installs into a directory outside the project"
		r.Advice = "run it with the real pnpm after `phylum-box pnpm install` has checked the lockfile"
	case "self-update":
		r.Reason = "`pnpm self-update` replaces pnpm itself, outside any project"
		r.Advice = "update pnpm through the way it was installed (corepack, npm -g, the OS)"
	default: // patch-commit, patch-remove
		r.Reason = fmt.Sprintf("`pnpm %s` re-installs with lifecycle scripts as part of the command", cmd)
		r.Advice = "edit the patch, then run `phylum-box pnpm install`"
	}
	return r
}

// planDlx plans `pnpm dlx PKG ARGS` / `pnpm create NAME` / `pnpx`: install into a
// scratch project with the same three steps, then run the bin offline.
func (m pnpmManager) planDlx(args, userArgs []string, env Env) (*Plan, error) {
	a := pnpmSpec.parse(args)
	cmd, idx, _ := pnpmCommand(a)
	rest := a.positionals[idx+1:]
	pkgs := a.opts["package"]
	if len(rest) == 0 {
		return nil, &Refusal{Manager: m.name, Reason: fmt.Sprintf("`pnpm %s` needs a package to run", cmd), Advice: "name it: `phylum-box pnpm dlx PKG`"}
	}
	p := &Plan{
		Manager:    m.name,
		Ecosystem:  precheck.NPM,
		Subcommand: "dlx",
		Args:       userArgs,
		Scratch: &ScratchProject{
			Files: map[string]string{"package.json": `{"name":"phylum-box-dlx","private":true}`},
		},
		Project: Project{
			Lockfiles: []string{"pnpm-lock.yaml"},
		},
	}
	p.Project.Root = findNodeRoot(env.Dir)
	p.Project.Cwd = "."
	if rel, err := filepath.Rel(p.Project.Root, env.Dir); err == nil && !strings.HasPrefix(rel, "..") {
		p.Project.Cwd = rel
	}
	cfg, err := loadNpmConfigFor(m.name, env, p.Project.Root, "", npmCLIConfig(a))
	if err != nil {
		return nil, err
	}
	p.Notes = append(p.Notes, cfg.Notes...)
	p.Sandbox.Credentials = cfg.Credentials()
	p.Registries = cfg.MetadataClient(cfg.Registry)
	store := pnpmStoreDir(env, cfg)
	p.Sandbox.Caches = pnpmCaches(env, store)
	switch {
	case cmd == "create":
		// pnpm create foo → create-foo; @scope → @scope/create; @s/foo → @s/create-foo.
		pkgs = []string{npmInitializer(rest[0])}
		p.Scratch.RunBinOf = npmSpecName(pkgs[0])
		rest = rest[1:]
	case len(pkgs) == 0:
		pkgs = []string{rest[0]}
		p.Scratch.RunBinOf = npmSpecName(rest[0])
		rest = rest[1:]
	}
	nodedir, err := NodeHeadersDir(env)
	if err != nil {
		return nil, err
	}
	storeFlags := []string{"--config.store-dir=" + store}
	p.Steps.Resolve = &Step{Args: concat([]string{"pnpm", "add"}, pkgs, []string{"--lockfile-only", "--config.ignore-scripts=true"}, storeFlags, pnpmNetworkedFlags), Network: true, Credentials: true}
	p.Steps.Download = &Step{Args: concat([]string{"pnpm", "install", "--frozen-lockfile", "--ignore-scripts", "--package-import-method=copy", "--config.side-effects-cache=false"}, storeFlags, pnpmNetworkedFlags), Network: true, Credentials: true}
	// dlx builds whatever the package needs, like npx: scripts of the packages being
	// run are allowed in the scratch project.
	p.Steps.Build = &Step{
		Args: concat([]string{"pnpm", "rebuild", "--config.dangerously-allow-all-builds=true", "--config.side-effects-cache=false"}, storeFlags),
		Env:  []string{"npm_config_nodedir=" + nodedir, "npm_config_offline=true"},
	}
	p.Steps.Run = &Step{Args: rest, Env: append([]string{"npm_config_offline=true"}, userAgentEnv(env, p.Project.Root, "pnpm", nodedir)...)} // as npx's (npm.go)
	p.Notes = append(p.Notes, "dlx: the package is installed into a scratch project and run with the network off")
	return p, nil
}

// pnpmProject finds the project root the way pnpm does: --dir, then the workspace
// root (pnpm-workspace.yaml) above the working directory, then the nearest
// package.json. Workspace packages come from pnpm-workspace.yaml.
func pnpmProject(env Env, a *npmArgv) (root, cwd string, workspaces []string, err error) {
	dir := env.Dir
	if d, ok := a.last("dir"); ok && d != "" {
		if !filepath.IsAbs(d) {
			d = filepath.Join(env.Dir, d)
		}
		dir = d
	}
	root = findUp(dir, "pnpm-workspace.yaml")
	if root == "" || a.isTrue("ignore-workspace") {
		root = findNodeRoot(dir)
	}
	cwd, err = filepath.Rel(root, dir)
	if err != nil || strings.HasPrefix(cwd, "..") {
		cwd = "."
	}
	b, err := readProjectFile(root, filepath.Join(root, "pnpm-workspace.yaml"))
	if err != nil {
		return root, cwd, nil, nil
	}
	var ws struct {
		Packages []string `yaml:"packages"`
	}
	if err := yaml.Unmarshal(b, &ws); err != nil {
		return "", "", nil, fmt.Errorf("%s: %w (fix the YAML, then retry)", filepath.Join(root, "pnpm-workspace.yaml"), err)
	}
	workspaces, err = workspaceDirs(root, ws.Packages)
	return root, cwd, workspaces, err
}

// pnpmStoreDir is the content-addressed store: store-dir from the command line,
// npm_config_store_dir or .npmrc; else $PNPM_HOME/store, $XDG_DATA_HOME/pnpm/store,
// ~/.local/share/pnpm/store (pnpm's defaults on Linux). Naming it explicitly in every
// step keeps pnpm from creating a store at the root of the project's file system.
func pnpmStoreDir(env Env, cfg *NpmConfig) string {
	if d := cfg.get("store-dir"); d != "" && !cfg.fromProject("store-dir") { // see projectCacheKeys
		if strings.HasPrefix(d, "~/") {
			d = filepath.Join(env.Home, d[2:])
		}
		return d
	}
	if h := env.Getenv("PNPM_HOME"); h != "" {
		return filepath.Join(h, "store")
	}
	if x := env.Getenv("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, "pnpm", "store")
	}
	return filepath.Join(env.Home, ".local", "share", "pnpm", "store")
}

// pnpmCaches: the store and pnpm's metadata cache, written by pnpm itself in Resolve
// and Download only. The store is also mounted read-only in Build: `pnpm rebuild`
// opens it even with copied packages (measured with pnpm 10.34: an empty read-only
// store fails with "ENOENT: mkdir <store>/v10"; the real store read-only works).
// There it is a throwaway view: `pnpm approve-builds` registers the project in the
// store (a link in <store>/v10/projects) when the store has no entry for it — a
// project copied or moved since its install — and failed with EROFS (exit 226;
// found trying phylum-box as a new user); the write now reaches nothing.
func pnpmCaches(env Env, store string) []Cache {
	meta := filepath.Join(env.Home, ".cache", "pnpm")
	if x := env.Getenv("XDG_CACHE_HOME"); filepath.IsAbs(x) { // a relative one is invalid (XDG)
		meta = filepath.Join(x, "pnpm")
	}
	rw := []Phase{PhaseResolve, PhaseDownload}
	// The hooks step (a project pnpmfile, offline) reads the metadata the resolve
	// step cached; it may not write either.
	return []Cache{
		{Path: store, Env: []string{"npm_config_store_dir=" + store}, Mount: []Phase{PhaseResolve, PhaseHooks, PhaseDownload, PhaseBuild}, Writable: rw,
			Throwaway: []Phase{PhaseBuild}},
		{Path: meta, Env: []string{"npm_config_cache_dir=" + meta}, Mount: []Phase{PhaseResolve, PhaseHooks, PhaseDownload}, Writable: rw},
	}
}

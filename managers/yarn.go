package managers

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/phylum-box/phylum-box/precheck"
)

func init() { Register(yarnManager{}) }

// yarnManager plans yarn command lines, classic (1.x) and berry (2+) alike: the
// flavour is read from the project (detectYarn), then each has its own steps.
type yarnManager struct{}

func (yarnManager) Name() string      { return "yarn" }
func (yarnManager) Ecosystem() string { return precheck.NPM }

// YarnFlavor is which yarn a project uses.
type YarnFlavor string

const (
	YarnClassic YarnFlavor = "classic" // 1.x: yarn.lock v1, node_modules, .yarnrc + .npmrc
	YarnBerry   YarnFlavor = "berry"   // 2+: __metadata lockfile, PnP or node_modules, .yarnrc.yml
)

// yarnValueOptions take the next argument (yarn classic's commander options written
// "<x>" or "[x]"; berry accepts only --cwd before the command).
var yarnValueOptions = map[string]bool{
	"--link-folder": true, "--global-folder": true, "--modules-folder": true,
	"--preferred-cache-folder": true, "--cache-folder": true, "--mutex": true,
	"--emoji": true, "--cwd": true, "--proxy": true, "--https-proxy": true,
	"--registry": true, "--network-concurrency": true, "--network-timeout": true,
	"--scripts-prepend-node-path": true, "--otp": true, "--prod": true, "--production": true,
}

// yarnArgv splits a yarn command line the way yarn classic finds its command: the
// first word that is neither an option nor bound to the option before it.
type yarnArgv struct {
	lead []string // options before the command, as written
	cmd  string
	rest []string // everything after the command, as written
}

func parseYarnArgv(args []string) yarnArgv {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return yarnArgv{lead: args[:i], rest: args[i+1:]}
		}
		if strings.HasPrefix(a, "-") && len(a) > 1 {
			if !strings.Contains(a, "=") && yarnValueOptions[a] && i+1 < len(args) {
				// "[x]" options only bind a value that is not itself an option.
				if !strings.HasPrefix(args[i+1], "-") {
					i++
				}
			}
			continue
		}
		return yarnArgv{lead: args[:i], cmd: a, rest: args[i+1:]}
	}
	return yarnArgv{lead: args}
}

func (y yarnArgv) cwd() string {
	for i, a := range y.lead {
		if v, ok := strings.CutPrefix(a, "--cwd="); ok {
			return v
		}
		if a == "--cwd" && i+1 < len(y.lead) {
			return y.lead[i+1]
		}
	}
	return ""
}

func (y yarnArgv) leadWithoutCwd() []string {
	var out []string
	for i := 0; i < len(y.lead); i++ {
		switch {
		case y.lead[i] == "--cwd":
			i++
		case strings.HasPrefix(y.lead[i], "--cwd="):
		default:
			out = append(out, y.lead[i])
		}
	}
	return out
}

func hasFlag(args []string, names ...string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		for _, n := range names {
			if a == n || strings.HasPrefix(a, n+"=") {
				return true
			}
		}
	}
	return false
}

// positionals are the words of args that are not options (values of yarn's known
// value options excluded).
func positionals(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i+1:]...)
		}
		if strings.HasPrefix(a, "-") && len(a) > 1 {
			if yarnValueOptions[a] && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				i++
			}
			continue
		}
		out = append(out, a)
	}
	return out
}

func options(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return out
		}
		if strings.HasPrefix(a, "-") && len(a) > 1 {
			out = append(out, a)
			if yarnValueOptions[a] && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				out = append(out, args[i+1])
				i++
			}
		}
	}
	return out
}

func (m yarnManager) Plan(args []string, env Env) (*Plan, error) {
	if p, err, ok := yarnExecOfManager(args, env); ok {
		return p, err // yarn exec pnpm …: planned as the manager (execmanager.go)
	}
	p, err := env.checkedPlan(m.plan(args, env))
	return finish("yarn", p, err, env)
}

func (m yarnManager) plan(args []string, env Env) (*Plan, error) {
	y := parseYarnArgv(args)
	if hasFlag(y.lead, "--help", "-h", "--version", "-v") && y.cmd == "" {
		return passthrough(m, "", args), nil
	}
	dir := env.Dir
	if c := y.cwd(); c != "" {
		if !filepath.IsAbs(c) {
			c = filepath.Join(env.Dir, c)
		}
		dir = c
	}
	root, flavor, why, err := detectYarn(env, dir)
	if err != nil {
		return nil, err
	}
	// "yarn workspace NAME CMD …" runs CMD in one workspace: classify CMD, keep the
	// prefix in every step.
	var prefix []string
	cmd, rest := y.cmd, y.rest
	if cmd == "workspace" && len(rest) >= 2 {
		prefix, cmd, rest = []string{"workspace", rest[0]}, rest[1], rest[2:]
	}
	if hasFlag(rest, "--help", "-h") {
		return passthrough(m, cmd, args), nil
	}
	if flavor == YarnClassic {
		p, err := m.planClassic(args, y, prefix, cmd, rest, root, dir, why, env)
		if err == nil {
			err = yarnClassicProjectScripts(p, args) // rootscripts_yarn.go
		}
		if err == nil {
			quietSteps(p, yarnClassicQuietEnv(env.Home)) // quietenv.go
		}
		return p, err
	}
	return m.planBerry(args, y, prefix, cmd, rest, root, dir, why, env)
}

// detectYarn finds the project root and its yarn: the packageManager field, a
// .yarnrc.yml (berry's config), the lockfile's format; last, the version of the yarn
// in PATH, read from its installation's package.json. Nothing is run: `yarn
// --version` in the project would follow the project's yarn-path/yarnPath (its own
// JavaScript, on the host, with the user's environment).
func detectYarn(env Env, dir string) (root string, flavor YarnFlavor, why string, err error) {
	root = findNodeRoot(dir)
	// A workspace member: the project root is the nearest parent with a yarn.lock.
	if lockRoot := findUp(dir, "yarn.lock"); lockRoot != "" && strings.HasPrefix(root, lockRoot) {
		root = lockRoot
	}
	if man, err := readNodeManifest(root); err == nil && man.PackageManager != "" {
		if v, ok := strings.CutPrefix(man.PackageManager, "yarn@"); ok {
			if strings.Contains(v, ":") || strings.Contains(v, "/") {
				// corepack downloads and runs a yarn from a URL named here: project
				// code with the network.
				return "", "", "", &Refusal{Manager: "yarn", Reason: "package.json packageManager " + man.PackageManager + " names a yarn by URL, which corepack would download and run with the network",
					Advice: "name a released version (\"yarn@4.5.0\", optionally +sha512.…)"}
			}
			if strings.HasPrefix(v, "1.") {
				return root, YarnClassic, "packageManager " + man.PackageManager, nil
			}
			return root, YarnBerry, "packageManager " + man.PackageManager, nil
		}
	}
	if rc := findUp(root, ".yarnrc.yml"); rc != "" && rc != env.Home {
		return root, YarnBerry, filepath.Join(rc, ".yarnrc.yml"), nil
	}
	if b, err := readProjectFile(root, filepath.Join(root, "yarn.lock")); err == nil {
		if bytes.Contains(b, []byte("\n__metadata:")) || bytes.HasPrefix(b, []byte("__metadata:")) {
			return root, YarnBerry, "yarn.lock format", nil
		}
		if bytes.Contains(b, []byte("# yarn lockfile v1")) {
			return root, YarnClassic, "yarn.lock format", nil
		}
	}
	inst, err := findYarnInstall(env)
	if err != nil {
		return "", "", "", fmt.Errorf("yarn is not in PATH; install it (corepack enable, or npm install -g yarn)")
	}
	switch {
	case inst.corepack:
		// Without packageManager, corepack runs its default yarn, a 1.x.
		return root, YarnClassic, "corepack's default yarn", nil
	case inst.version == "":
		return "", "", "", &Refusal{Manager: "yarn", Reason: "nothing in the project says which yarn it uses, and the version of " + inst.bin + " cannot be read from its installation (phylum-box does not run it to ask)",
			Advice: "set \"packageManager\": \"yarn@VERSION\" in package.json"}
	case inst.berry():
		return root, YarnBerry, "yarn " + inst.version + " in PATH", nil
	}
	return root, YarnClassic, "yarn " + inst.version + " in PATH", nil
}

// Yarn classic.
//
// It cannot resolve without installing, so Resolve is a full install with scripts
// off, on the throwaway copy. Download repeats it on the install tree against the
// resolved lockfile (everything comes from the cache Resolve filled). Build is
// `yarn install --frozen-lockfile --offline --force`: yarn 1 has no rebuild command,
// and a plain second install finds node_modules up to date and builds nothing (it
// only builds packages it linked in the same run); --force relinks from the cache
// and runs every lifecycle script, --offline keeps it from reaching for the network,
// and the cache can stay read-only (measured: yarn 1.22.22, read-only cache, no
// network namespace: "Rebuilding all packages", postinstall ran). `npm rebuild`
// would work on the tree too, but applies npm's settings (npm 11 skips scripts not
// in allowScripts) instead of yarn's.
var yarnClassicIntercepted = map[string]bool{
	"": true, "install": true, "add": true, "upgrade": true, "remove": true,
	"upgrade-interactive": true, "create": true, "global": true, "link": true,
}

func (m yarnManager) planClassic(args []string, y yarnArgv, prefix []string, cmd string, rest []string, root, dir, why string, env Env) (*Plan, error) {
	if !yarnClassicIntercepted[cmd] {
		return passthrough(m, cmd, args), nil
	}
	if r := yarnClassicRefusal(cmd); r != nil {
		return nil, r
	}
	if hasFlag(rest, "--no-lockfile", "--pure-lockfile") || hasFlag(y.lead, "--no-lockfile", "--pure-lockfile") {
		return nil, yarnNoLockfileRefusal()
	}
	man, _ := readNodeManifest(root)
	workspaces, err := workspaceDirs(root, man.workspacePatterns())
	if err != nil {
		return nil, err
	}
	cfg, err := LoadNpmConfig(env, root, nil)
	if err != nil {
		return nil, err
	}
	rcs, rcFiles, err := yarnProjectConfig(root, dir, YarnClassic)
	if err != nil {
		return nil, err
	}
	// yarn 1.22 also follows a .yarnrc.yml yarnPath (in the build step only).
	if err := checkClassicYarnPathYML(root, dir); err != nil {
		return nil, err
	}
	if err := checkClassicCredentialTargets(env, rcs, cfg); err != nil {
		return nil, err
	}
	cache := yarnClassicCache(env)
	cwd := relOrDot(root, dir)
	lead := y.leadWithoutCwd() // the steps already run in the --cwd directory
	p := &Plan{
		Manager:    "yarn",
		Ecosystem:  precheck.NPM,
		Subcommand: cmd,
		Args:       args,
		Project:    nodeProject(root, cwd, workspaces, "yarn.lock"),
		Sandbox: Sandbox{
			Caches:      []Cache{cache},
			Credentials: yarnClassicCredentials(env, cfg),
		},
		Registries: cfg.MetadataClient(yarnClassicRegistry(env, root, cfg)),
		Notes:      []string{"yarn classic (" + why + "): resolving needs a full install with scripts off; the build step relinks from the read-only cache with --offline --force to run lifecycle scripts"},
	}
	for _, rc := range rcs {
		if _, ok := rc.inside["cache-folder"]; ok {
			p.Notes = append(p.Notes, rc.rel+": cache-folder is replaced by your own yarn cache ("+cache.Path+")")
		}
		if dir, ok := rc.inside["yarn-offline-mirror"]; ok && dir != root {
			p.Project.Outputs = append(p.Project.Outputs, filepath.ToSlash(relOrDot(root, dir))+"/")
		}
		if rc.yarnPath != "" {
			p.Notes = append(p.Notes, fmt.Sprintf("%s:%d yarn-path %s runs only in the build step (no network); the resolve and download steps run your yarn", rc.rel, rc.yarnPathLine, rc.yarnPath))
		}
	}
	if p.Subcommand == "" {
		p.Subcommand = "install"
	}
	nodedir, err := NodeHeadersDir(env)
	if err != nil {
		return nil, err
	}
	quiet := []string{"--non-interactive"}
	resolveCmd := concat([]string{"yarn"}, lead, prefix, []string{p.Subcommand}, rest, []string{"--ignore-scripts"}, quiet)
	if cmd == "create" {
		return m.planClassicCreate(p, rest, cache, nodedir, userAgentEnv(env, root, "yarn", nodedir)) // useragent.go
	}
	if len(rcFiles) > 0 {
		if p.Sandbox.Credentials == nil {
			p.Sandbox.Credentials = &Credentials{}
		}
		p.Sandbox.Credentials.Files = append(p.Sandbox.Credentials.Files, rcFiles...)
	}
	portable := options(rest) // yarn 1 shares its options between install/add/upgrade/remove
	p.Steps.Resolve = &Step{Args: resolveCmd, Env: yarnNetworkEnv, Network: true, Credentials: true}
	// Install is project-wide, also after "yarn workspace NAME add": no prefix.
	p.Steps.Download = &Step{Args: concat([]string{"yarn"}, lead, []string{"install"}, installOnly(portable), []string{"--frozen-lockfile", "--ignore-scripts"}, quiet), Env: yarnNetworkEnv, Network: true, Credentials: true}
	p.Steps.Build = &Step{
		Args: concat([]string{"yarn"}, lead, []string{"install"}, installOnly(portable), []string{"--frozen-lockfile", "--offline", "--force"}, quiet),
		Env:  []string{"npm_config_nodedir=" + nodedir},
	}
	p.Steps.UpToDate = yarnClassicNoopCheck(env, y, prefix, cmd, rest, root, dir, workspaces, cfg, nodedir) // yarnnoop.go
	// Registry packages only: one networked yarn run, and a build of only what has
	// install scripts (yarnfetchinstall.go).
	yarnClassicOneRun(p, yarnOneRun{cmd: cmd, lead: lead, prefix: prefix, rest: rest, root: root, cwd: cwd, workspaces: workspaces, rcs: rcs,
		regs: yarnRegistriesOf(p), quiet: quiet, buildEnv: p.Steps.Build.Env})
	return p, nil
}

// yarnClassicRefusal is the refusal of a yarnClassicIntercepted command that is
// never run, nil for the others.
func yarnClassicRefusal(cmd string) *Refusal {
	switch cmd {
	case "global", "link":
		return &Refusal{Manager: "yarn", Reason: fmt.Sprintf("`yarn %s` installs outside the project, where phylum-box cannot check it, contain it or roll it back", cmd),
			Advice: "add the tool to the project (`phylum-box yarn add --dev PKG`), or depend on a local path with `file:../dir`"}
	case "upgrade-interactive":
		return &Refusal{Manager: "yarn", Reason: "interactive upgrades cannot be checked before they are chosen", Advice: "name the packages: `phylum-box yarn upgrade PKG@VERSION`"}
	}
	return nil
}

func yarnNoLockfileRefusal() *Refusal {
	return &Refusal{Manager: "yarn", Reason: "--no-lockfile/--pure-lockfile leave no lockfile to check", Advice: "run it without that flag"}
}

// installOnly drops add/upgrade's options that mean nothing (or something else) to
// install: --dev, --peer, --optional, --exact, --tilde, --latest, ….
func installOnly(opts []string) []string {
	var out []string
	for i := 0; i < len(opts); i++ {
		switch opts[i] {
		case "-D", "--dev", "-P", "--peer", "-O", "--optional", "-E", "--exact", "-T", "--tilde", "--latest", "-L", "--caret", "-C", "-W", "--ignore-workspace-root-check", "--audit":
			continue
		}
		out = append(out, opts[i])
	}
	return out
}

func (m yarnManager) planClassicCreate(p *Plan, rest []string, cache Cache, nodedir string, ua []string) (*Plan, error) {
	if len(rest) == 0 {
		return nil, &Refusal{Manager: "yarn", Reason: "`yarn create` needs a starter kit name", Advice: "name it: `phylum-box yarn create vite`"}
	}
	pkg := npmInitializer(rest[0])
	*p = Plan{
		Manager:    "yarn",
		Ecosystem:  precheck.NPM,
		Subcommand: "create",
		Args:       p.Args,
		Project: Project{
			Root:      p.Project.Root,
			Cwd:       p.Project.Cwd,
			Lockfiles: []string{"yarn.lock"},
		},
		Scratch: &ScratchProject{
			Files:    map[string]string{"package.json": `{"name":"phylum-box-create","private":true}`},
			RunBinOf: npmSpecName(pkg),
		},
		Sandbox: Sandbox{
			Caches:      []Cache{cache},
			Credentials: p.Sandbox.Credentials,
		},
		Registries: p.Registries,
		Steps: Steps{
			Resolve:  &Step{Args: []string{"yarn", "add", pkg, "--ignore-scripts", "--non-interactive"}, Env: yarnNetworkEnv, Network: true, Credentials: true},
			Download: &Step{Args: []string{"yarn", "install", "--frozen-lockfile", "--ignore-scripts", "--non-interactive"}, Env: yarnNetworkEnv, Network: true, Credentials: true},
			Build:    &Step{Args: []string{"yarn", "install", "--frozen-lockfile", "--offline", "--force", "--non-interactive"}, Env: []string{"npm_config_nodedir=" + nodedir}},
			Run:      &Step{Args: rest[1:], Env: ua},
		},
		Notes: []string{"create: the starter kit is installed into a scratch project and run with the network off"},
	}
	return p, nil
}

// yarnNetworkEnv is set in every step with the network: yarn (classic and berry)
// ignores yarn-path/yarnPath and runs itself, never the project's committed release.
var yarnNetworkEnv = []string{"YARN_IGNORE_PATH=1"}

// berryNetworkEnv: berry loads environment files (.env.yarn by default) into the
// processes it starts — git for a git dependency, with a project's GIT_SSH_COMMAND —
// and may run a project's yarn.config.cjs during installs; neither in a step with
// the network. /dev/null is an empty environment file (an empty value would name
// the project directory).
var berryNetworkEnv = []string{"YARN_INJECT_ENVIRONMENT_FILES=/dev/null", "YARN_ENABLE_CONSTRAINTS_CHECKS=false"}

// yarnDocHow says what phylum-box does with each intercepted command of a flavour
// (by command, else by its kind in yarnBerryIntercepted).
var yarnDocHow = map[YarnFlavor]map[string]string{
	YarnClassic: {
		"install": yarnClassicInstallDoc,
		"add":     yarnClassicFetchDoc,
		"upgrade": yarnClassicFetchDoc,
		"remove":  yarnClassicFetchDoc,
		"create":  docCreate("NAME"),
	},
	YarnBerry: {
		"install": "resolved (--mode=update-lockfile), prechecked, then downloaded and built in the sandbox; a bare `yarn install` over a committed yarn.lock is tried first without the resolve step: the lockfile prechecked as committed, then installed with --immutable (every step when yarn would change it)",
		"build":   "yarn.lock is prechecked, then rebuilt in the sandbox with the network off",
		"exec":    docScratch,
		"create":  docCreate("NAME"),
	},
}

// yarnDocArgs are the arguments a command needs to be intercepted.
var yarnDocArgs = map[string][]string{"dlx": {"PKG"}, "create": {"NAME"}}

// Doc describes both yarns from yarnClassicIntercepted and yarnBerryIntercepted.
func (yarnManager) Doc() ManagerDoc {
	var d ManagerDoc
	classic, berry := string(YarnClassic), string(YarnBerry)
	for _, cmd := range sortedKeys(yarnClassicIntercepted) {
		if r := yarnClassicRefusal(cmd); r != nil {
			ex := []string{cmd}
			if cmd == "global" {
				ex = append(ex, "add", "PKG")
			}
			d.Refused = append(d.Refused, DocRefusal{Form: "yarn " + cmd, Example: ex, Advice: r.Advice, Variant: classic})
			continue
		}
		how, ok := yarnDocHow[YarnClassic][cmd]
		if !ok {
			how = yarnDocHow[YarnClassic]["install"] // bare yarn, add, upgrade, remove
		}
		d.Intercepted = append(d.Intercepted, DocCommand{Name: cmd, Args: yarnDocArgs[cmd], How: how, Variant: classic})
	}
	d.Refused = append(d.Refused, DocRefusal{Form: "--no-lockfile or --pure-lockfile", Example: []string{"install", "--pure-lockfile"}, Advice: yarnNoLockfileRefusal().Advice, Variant: classic})
	for _, cmd := range sortedKeys(yarnBerryIntercepted) {
		switch kind := yarnBerryIntercepted[cmd]; kind {
		case "refuse":
			d.Refused = append(d.Refused, DocRefusal{Form: "yarn " + cmd, Example: []string{cmd}, Advice: yarnBerryRefusal(cmd).Advice, Variant: berry})
		case "workspaces":
			d.Refused = append(d.Refused,
				DocRefusal{Form: "yarn workspaces focus", Example: []string{"workspaces", "focus"}, Advice: yarnWorkspacesRefusal("focus").Advice, Variant: berry},
				DocRefusal{Form: "yarn workspaces foreach with an intercepted command", Example: []string{"workspaces", "foreach", "-A", "add", "PKG"}, Advice: yarnWorkspacesRefusal("foreach").Advice, Variant: berry})
		default:
			how, ok := yarnDocHow[YarnBerry][cmd]
			if !ok {
				how = yarnDocHow[YarnBerry][kind]
			}
			d.Intercepted = append(d.Intercepted, DocCommand{Name: cmd, Args: yarnDocArgs[cmd], How: how, Variant: berry})
		}
	}
	d.Refused = append(d.Refused, DocRefusal{Form: "-i or --interactive (yarn up -i)", Example: []string{"up", "-i", "PKG"}, Advice: yarnInteractiveRefusal().Advice, Variant: berry})
	d.PassThrough = []string{"run build", "test", "why PKG", "exec tsc", "workspaces list", "add --help"}
	d.Notes = []string{
		"classic is yarn 1, berry yarn 2 and later; which one is read from packageManager in package.json, .yarnrc.yml, the yarn.lock format, else the package.json of the yarn installed in PATH (phylum-box runs nothing on the host to find out).",
		"the networked steps (resolve, download) never run a project's yarn-path/yarnPath release or plugins: they run your yarn with YARN_IGNORE_PATH=1; for a berry project that needs yarn berry while your PATH has yarn classic, set PHYLUM_BOX_YARN_BERRY to a yarn berry release you trust. See yarnrc-settings.md for how each project setting is treated.",
		"`yarn workspace NAME CMD` is handled as CMD.",
		ExecManagerNote,
		WriteBackNote,
	}
	return d
}

func relOrDot(root, dir string) string {
	rel, err := filepath.Rel(root, dir)
	if err != nil || strings.HasPrefix(rel, "..") {
		return "."
	}
	return rel
}

package managers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
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
	p, err := m.plan(args, env)
	var extra []string // a trusted yarn release outside PATH (berryRunner)
	if p != nil {
		extra = p.HostPaths
	}
	p, err = finishPlan(p, err, env, "node", "yarn")
	if p != nil && len(extra) > 0 {
		p.HostPaths = append(p.HostPaths, extra...)
	}
	return p, err
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
		return m.planClassic(args, y, prefix, cmd, rest, root, dir, why, env)
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
	if b, err := os.ReadFile(filepath.Join(root, "yarn.lock")); err == nil {
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
		Manager: "yarn", Ecosystem: precheck.NPM, Subcommand: cmd, Args: args,
		Root: root, Cwd: cwd,
		Lockfiles:       []string{"yarn.lock"},
		CarryOver:       append(nodeManifests(workspaces), "yarn.lock"),
		Outputs:         nodeOutputs(workspaces, "yarn.lock"),
		Sealed:          append(nodeManifests(workspaces), "yarn.lock"),
		Caches:          []Cache{cache},
		Credentials:     yarnClassicCredentials(env, cfg),
		Registry:        yarnClassicRegistry(env, root, cfg),
		ScopeRegistries: cfg.Scopes,
		Metadata:        cfg.MetadataClient(yarnClassicRegistry(env, root, cfg)),
		Notes:           []string{"yarn classic (" + why + "): resolving needs a full install with scripts off; the build step relinks from the read-only cache with --offline --force to run lifecycle scripts"},
	}
	for _, rc := range rcs {
		if _, ok := rc.inside["cache-folder"]; ok {
			p.Notes = append(p.Notes, rc.rel+": cache-folder is replaced by your own yarn cache ("+cache.Path+")")
		}
		if dir, ok := rc.inside["yarn-offline-mirror"]; ok && dir != root {
			p.Outputs = append(p.Outputs, filepath.ToSlash(relOrDot(root, dir))+"/")
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
		return m.planClassicCreate(p, rest, cache, nodedir)
	}
	if len(rcFiles) > 0 {
		if p.Credentials == nil {
			p.Credentials = &Credentials{}
		}
		p.Credentials.Files = append(p.Credentials.Files, rcFiles...)
	}
	portable := options(rest) // yarn 1 shares its options between install/add/upgrade/remove
	p.Resolve = &Step{Args: resolveCmd, Env: yarnNetworkEnv, Network: true, Credentials: true}
	// Install is project-wide, also after "yarn workspace NAME add": no prefix.
	p.Download = &Step{Args: concat([]string{"yarn"}, lead, []string{"install"}, installOnly(portable), []string{"--frozen-lockfile", "--ignore-scripts"}, quiet), Env: yarnNetworkEnv, Network: true, Credentials: true}
	p.Build = &Step{Args: concat([]string{"yarn"}, lead, []string{"install"}, installOnly(portable), []string{"--frozen-lockfile", "--offline", "--force"}, quiet),
		Env: []string{"npm_config_nodedir=" + nodedir}, Scripts: true}
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

func (m yarnManager) planClassicCreate(p *Plan, rest []string, cache Cache, nodedir string) (*Plan, error) {
	if len(rest) == 0 {
		return nil, &Refusal{Manager: "yarn", Reason: "`yarn create` needs a starter kit name", Advice: "name it: `phylum-box yarn create vite`"}
	}
	pkg := npmInitializer(rest[0])
	*p = Plan{
		Manager: "yarn", Ecosystem: precheck.NPM, Subcommand: "create", Args: p.Args, Root: p.Root, Cwd: p.Cwd,
		Scratch: true, ScratchFiles: map[string]string{"package.json": `{"name":"phylum-box-create","private":true}`},
		Lockfiles: []string{"yarn.lock"}, Caches: []Cache{cache}, Credentials: p.Credentials,
		Registry: p.Registry, ScopeRegistries: p.ScopeRegistries, RunBinOf: npmSpecName(pkg),
		Resolve:  &Step{Args: []string{"yarn", "add", pkg, "--ignore-scripts", "--non-interactive"}, Env: yarnNetworkEnv, Network: true, Credentials: true},
		Download: &Step{Args: []string{"yarn", "install", "--frozen-lockfile", "--ignore-scripts", "--non-interactive"}, Env: yarnNetworkEnv, Network: true, Credentials: true},
		Build:    &Step{Args: []string{"yarn", "install", "--frozen-lockfile", "--offline", "--force", "--non-interactive"}, Env: []string{"npm_config_nodedir=" + nodedir}, Scripts: true},
		Run:      &Step{Args: rest[1:], Scripts: true},
		Notes:    []string{"create: the starter kit is installed into a scratch project and run with the network off"},
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

// yarnClassicCache is yarn 1's cache: YARN_CACHE_FOLDER, cache-folder in the user's
// ~/.yarnrc, /usr/local/share/.cache/yarn for root, else $XDG_CACHE_HOME/yarn or
// ~/.cache/yarn. Written by yarn in Resolve and Download; read-only in Build, which
// relinks from it. A project's cache-folder is never used: the cache is a host
// directory phylum-box mounts (and, as root, chowns).
func yarnClassicCache(env Env) Cache {
	dir := env.Getenv("YARN_CACHE_FOLDER")
	if dir == "" {
		dir = yarnrcValue(filepath.Join(env.Home, ".yarnrc"), "cache-folder")
	}
	if dir == "" && os.Geteuid() == 0 {
		dir = "/usr/local/share/.cache/yarn" // yarn 1's choice for root
	}
	if dir == "" {
		base := env.Getenv("XDG_CACHE_HOME")
		if base == "" {
			base = filepath.Join(env.Home, ".cache")
		}
		dir = filepath.Join(base, "yarn")
	}
	return Cache{
		Path:     dir,
		Env:      []string{"YARN_CACHE_FOLDER=" + dir},
		Mount:    []Phase{PhaseResolve, PhaseDownload, PhaseBuild},
		Writable: []Phase{PhaseResolve, PhaseDownload},
	}
}

// yarnrcValue reads `key value` / `key "value"` from a yarn 1 .yarnrc.
func yarnrcValue(path, key string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	val := ""
	for _, line := range yarnrcLines(b) {
		if line == "" || line[0] == ' ' || line[0] == '\t' {
			continue // a nested block's line
		}
		if k, v := splitYarnrcLine(line); k == key && v != "" {
			val = v
		}
	}
	return val
}

func jsonUnquote(s string) (string, error) {
	var out string
	err := json.Unmarshal([]byte(s), &out)
	return out, err
}

// yarnClassicRegistry: .yarnrc's registry wins over .npmrc's; yarn 1's default is
// registry.yarnpkg.com, which serves npm's registry.
func yarnClassicRegistry(env Env, root string, cfg *NpmConfig) string {
	for _, p := range []string{filepath.Join(root, ".yarnrc"), filepath.Join(env.Home, ".yarnrc")} {
		if r := yarnrcValue(p, "registry"); r != "" {
			return normalizeRegistry(r)
		}
	}
	if cfg.Registry == DefaultNpmRegistry && cfg.get("registry") == "" {
		return "https://registry.yarnpkg.com/"
	}
	return cfg.Registry
}

// yarnClassicCredentials carries the npm config (yarn 1 reads .npmrc) and the user's
// ~/.yarnrc, minus lines that look like secrets in the public copy.
func yarnClassicCredentials(env Env, cfg *NpmConfig) *Credentials {
	cr := cfg.Credentials()
	b, err := os.ReadFile(filepath.Join(env.Home, ".yarnrc"))
	if err != nil {
		return cr
	}
	if cr == nil {
		cr = &Credentials{}
	}
	var public bytes.Buffer
	for _, line := range strings.Split(string(b), "\n") {
		l := strings.ToLower(line)
		if strings.Contains(l, "_auth") || strings.Contains(l, "token") || strings.Contains(l, "password") {
			public.WriteString("# (credential removed by phylum-box)\n")
			continue
		}
		public.WriteString(line + "\n")
	}
	cr.Files = append(cr.Files, ConfigFile{Home: ".yarnrc", Secret: b, Public: public.Bytes()})
	return cr
}

// Yarn berry.
//
// Resolve: `--mode=update-lockfile` writes yarn.lock (and fetches only what it needs
// for checksums) without linking or building. Download: `install --immutable
// --mode=skip-build` fetches and links against that lockfile, builds nothing.
// Build: `yarn rebuild` runs the build scripts (it also unplugs the packages it
// builds and rewrites .pnp.cjs, so .pnp.cjs is an output, not sealed).
var yarnBerryIntercepted = map[string]string{
	"": "install", "install": "install", "add": "install", "up": "install",
	"remove": "install", "dedupe": "install", "rebuild": "build", "dlx": "exec",
	"create": "exec", "unplug": "refuse", "patch-commit": "refuse", "link": "refuse",
	"unlink": "refuse", "workspaces": "workspaces",
}

func (m yarnManager) planBerry(args []string, y yarnArgv, prefix []string, cmd string, rest []string, root, dir, why string, env Env) (*Plan, error) {
	kind := yarnBerryIntercepted[cmd]
	switch kind {
	case "":
		return passthrough(m, cmd, args), nil
	case "workspaces":
		pos := positionals(rest)
		installs := len(pos) > 0 && pos[0] == "focus"
		for i := 1; len(pos) > 0 && pos[0] == "foreach" && i < len(pos); i++ {
			if k := yarnBerryIntercepted[pos[i]]; k != "" && k != "workspaces" {
				installs = true
			}
		}
		if installs {
			return nil, yarnWorkspacesRefusal(pos[0])
		}
		return passthrough(m, cmd, args), nil
	case "refuse":
		return nil, yarnBerryRefusal(cmd)
	}
	if hasFlag(rest, "--interactive", "-i") {
		return nil, yarnInteractiveRefusal()
	}
	rcs, rcFiles, err := yarnProjectConfig(root, dir, YarnBerry)
	if err != nil {
		return nil, err
	}
	prc := rootRC(root, rcs)
	rc, err := loadBerryConfig(env, root, prc)
	if err != nil {
		return nil, err
	}
	for _, r := range rcs {
		if err := rc.checkCredentialTargets(r); err != nil {
			return nil, err
		}
	}
	var released *yarnProjectRC // the rc file whose yarnPath yarn would follow
	for _, r := range rcs {
		if r.yarnPath != "" && released == nil {
			released = r
		}
	}
	run, runErr := newBerryRunner(env, released)
	man, _ := readNodeManifest(root)
	workspaces, err := workspaceDirs(root, man.workspacePatterns())
	if err != nil {
		return nil, err
	}
	nodedir, err := NodeHeadersDir(env)
	if err != nil {
		return nil, err
	}
	sub := cmd
	if sub == "" {
		sub = "install"
	}
	p := &Plan{
		Manager: "yarn", Ecosystem: precheck.NPM, Subcommand: sub, Args: args,
		Root: root, Cwd: relOrDot(root, dir),
		Lockfiles:       []string{"yarn.lock"},
		CarryOver:       append(nodeManifests(workspaces), "yarn.lock"),
		Sealed:          append(nodeManifests(workspaces), "yarn.lock"),
		Caches:          rc.caches(),
		Credentials:     rc.credentials(),
		Registry:        rc.registry,
		ScopeRegistries: rc.scopes,
		Metadata:        rc.metadataClient(),
		Notes:           []string{"yarn berry (" + why + ")"},
	}
	if len(rcFiles) > 0 {
		if p.Credentials == nil {
			p.Credentials = &Credentials{}
		}
		p.Credentials.Files = append(p.Credentials.Files, rcFiles...)
	}
	for _, r := range rcs {
		if _, ok := r.inside["globalFolder"]; ok {
			p.Notes = append(p.Notes, r.rel+": globalFolder is replaced by your own ("+rc.globalDir+")")
		}
	}
	outputs := nodeOutputs(workspaces, "yarn.lock", ".pnp.cjs", ".pnp.loader.mjs", ".pnp.data.json",
		".yarn/install-state.gz", ".yarn/unplugged/", ".yarn/build-state.yml")
	if !rc.globalCache {
		// The project keeps its own cache (zero-installs); never .yarn/releases or
		// .yarn/plugins: those are code yarn itself runs.
		outputs = append(outputs, ".yarn/cache/")
		if rel := relOrDot(root, rc.cacheDir); within(root, rc.cacheDir) && rel != "." && rel != ".yarn/cache" {
			outputs = append(outputs, filepath.ToSlash(rel)+"/")
		}
	}
	p.Outputs = outputs
	env2 := rc.env()
	netEnv := append(append(append([]string(nil), env2...), yarnNetworkEnv...), berryNetworkEnv...)
	buildEnv := append(append([]string(nil), env2...), "npm_config_nodedir="+nodedir, "YARN_ENABLE_NETWORK=0")
	lead := y.leadWithoutCwd() // the steps already run in the --cwd directory
	if sub == "rebuild" {
		// No network: the project's own yarn may run.
		yarnCmd := []string{"yarn"}
		if runErr == nil {
			yarnCmd = run.build
			p.HostPaths = append(p.HostPaths, run.hostPaths...)
		}
		p.CarryOver = nil
		p.Build = &Step{Args: concat(yarnCmd, lead, prefix, []string{"rebuild"}, rest), Env: buildEnv, Scripts: true}
		return p, nil
	}
	if runErr != nil {
		return nil, runErr
	}
	if run.note != "" {
		p.Notes = append(p.Notes, run.note)
	}
	p.HostPaths = append(p.HostPaths, run.hostPaths...)
	if kind == "exec" {
		return m.planBerryDlx(p, run, cmd, rest, netEnv, buildEnv, man)
	}
	p.Resolve = &Step{Args: concat(run.net, lead, prefix, []string{sub}, rest, []string{"--mode=update-lockfile"}), Env: netEnv, Network: true, Credentials: true}
	p.Download = &Step{Args: concat(run.net, lead, []string{"install", "--immutable", "--mode=skip-build"}), Env: netEnv, Network: true, Credentials: true}
	p.Build = &Step{Args: concat(run.build, lead, []string{"rebuild"}), Env: buildEnv, Scripts: true, AppendChanged: true}
	return p, nil
}

func yarnWorkspacesRefusal(sub string) *Refusal {
	return &Refusal{Manager: "yarn", Reason: "`yarn workspaces " + sub + "` installs across workspaces in one go, which phylum-box does not plan yet",
		Advice: "run it per workspace (`phylum-box yarn workspace NAME add PKG`) or at the root (`phylum-box yarn install`)"}
}

func yarnBerryRefusal(cmd string) *Refusal {
	return &Refusal{Manager: "yarn", Reason: fmt.Sprintf("`yarn %s` re-installs with build scripts as part of the command", cmd),
		Advice: "make the change in package.json (dependenciesMeta, resolutions, a link:/portal: dependency), then run `phylum-box yarn install`"}
}

func yarnInteractiveRefusal() *Refusal {
	return &Refusal{Manager: "yarn", Reason: "interactive choices cannot be checked before they are made", Advice: "name the versions: `phylum-box yarn up PKG@VERSION`"}
}

// yarnDocHow says what phylum-box does with each intercepted command of a flavour
// (by command, else by its kind in yarnBerryIntercepted).
var yarnDocHow = map[YarnFlavor]map[string]string{
	YarnClassic: {
		"install": "resolved by a full install with scripts off, prechecked, then downloaded and built in the sandbox",
		"create":  docCreate("NAME"),
	},
	YarnBerry: {
		"install": "resolved (--mode=update-lockfile), prechecked, then downloaded and built in the sandbox",
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
	}
	return d
}

func (m yarnManager) planBerryDlx(p *Plan, yr *berryRunner, cmd string, rest, env, buildEnv []string, man *nodeManifest) (*Plan, error) {
	pkgs := []string{}
	var run []string
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		switch {
		case (a == "-p" || a == "--package") && i+1 < len(rest):
			pkgs = append(pkgs, rest[i+1])
			i++
		case strings.HasPrefix(a, "--package="):
			pkgs = append(pkgs, strings.TrimPrefix(a, "--package="))
		case a == "-q" || a == "--quiet":
		default:
			run = rest[i:]
			i = len(rest)
		}
	}
	if len(run) == 0 && len(pkgs) == 0 {
		return nil, &Refusal{Manager: "yarn", Reason: "`yarn " + cmd + "` needs a package to run", Advice: "name it: `phylum-box yarn dlx PKG`"}
	}
	switch {
	case cmd == "create":
		pkgs = []string{npmInitializer(run[0])}
		p.RunBinOf, run = npmSpecName(pkgs[0]), run[1:]
	case len(pkgs) == 0:
		pkgs = []string{run[0]}
		p.RunBinOf, run = npmSpecName(run[0]), run[1:]
	}
	manifest := map[string]string{"name": "phylum-box-dlx"}
	if man != nil && man.PackageManager != "" {
		manifest["packageManager"] = man.PackageManager // the same yarn as the project
	}
	mj, _ := json.Marshal(manifest)
	// node_modules linker so that the bin is a file the orchestration can run.
	scratchEnv := append(append([]string(nil), env...), "YARN_NODE_LINKER=node-modules", "YARN_ENABLE_SCRIPTS=true")
	p.Subcommand, p.Scratch = "dlx", true
	p.ScratchFiles = map[string]string{"package.json": string(mj), "yarn.lock": ""}
	if err := berryScratchRelease(p); err != nil {
		return nil, err
	}
	p.CarryOver, p.Outputs, p.Sealed = nil, nil, nil
	p.Resolve = &Step{Args: concat(yr.net, []string{"add"}, pkgs, []string{"--mode=update-lockfile"}), Env: scratchEnv, Network: true, Credentials: true}
	p.Download = &Step{Args: concat(yr.net, []string{"install", "--immutable", "--mode=skip-build"}), Env: scratchEnv, Network: true, Credentials: true}
	p.Build = &Step{Args: concat(yr.build, []string{"rebuild"}), Env: append(append([]string(nil), buildEnv...), "YARN_NODE_LINKER=node-modules", "YARN_ENABLE_SCRIPTS=true"), Scripts: true}
	p.Run = &Step{Args: run, Scripts: true}
	p.Notes = append(p.Notes, "dlx: the package is installed into a scratch project and run with the network off; the project is read-only to it")
	return p, nil
}

// maxYarnRelease bounds the yarnPath file copied into a dlx scratch project.
const maxYarnRelease = 64 << 20

// berryScratchRelease gives a dlx scratch project the project's yarn: with a
// packageManager field but no yarnPath, the global yarn (often 1.x, or corepack
// with no network in the build step) refuses to run. The release named by the
// project's yarnPath is copied to the same relative path in the scratch project
// (so a project .yarnrc.yml bound over the scratch one still points at it).
func berryScratchRelease(p *Plan) error {
	rc, err := readBerryRC(filepath.Join(p.Root, ".yarnrc.yml"))
	if err != nil || rc == nil {
		return err
	}
	yp := rc.get("yarnPath")
	if yp == "" {
		return nil
	}
	src := yp
	if !filepath.IsAbs(src) {
		src = filepath.Join(p.Root, src)
	}
	rel, err := filepath.Rel(p.Root, src)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") || filepath.IsAbs(rel) {
		rel = filepath.Join(".yarn", "releases", filepath.Base(src))
	}
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("yarnPath %s: %w", yp, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxYarnRelease+1))
	if err != nil {
		return fmt.Errorf("yarnPath %s: %w", yp, err)
	}
	if len(data) > maxYarnRelease {
		return fmt.Errorf("yarnPath %s: larger than %d MiB; is it a yarn release?", yp, maxYarnRelease>>20)
	}
	p.ScratchFiles[filepath.ToSlash(rel)] = string(data)
	p.ScratchFiles[".yarnrc.yml"] = "yarnPath: " + filepath.ToSlash(rel) + "\n"
	return nil
}

func relOrDot(root, dir string) string {
	rel, err := filepath.Rel(root, dir)
	if err != nil || strings.HasPrefix(rel, "..") {
		return "."
	}
	return rel
}

package managers

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/phylum-box/phylum-box/precheck"
	"github.com/phylum-box/phylum-box/rootfs"
)

func init() {
	Register(npmManager{name: "npm"})
	Register(npmManager{name: "npx"})
}

// npmManager plans npm command lines; as "npx" it plans `npm exec` ones.
type npmManager struct{ name string }

func (m npmManager) Name() string      { return m.name }
func (m npmManager) Ecosystem() string { return precheck.NPM }

// How each npm command is handled. Anything not listed passes through.
var npmIntercepted = map[string]bool{
	"install": true, "ci": true, "update": true, "uninstall": true, "rebuild": true,
	"dedupe": true, "prune": true, "install-test": true, "install-ci-test": true,
	"exec": true, "link": true, "init": true, "audit": true,
}

// npmRefused are the commands of npmIntercepted that are always refused: `npm link`
// symlinks into and installs from the global prefix.
var npmRefused = map[string]bool{"link": true}

// npmFlagsForResolve are appended (last wins in npm) to every resolve step: write the
// lockfile only, run nothing, and skip the audit/fund requests the report replaces.
var npmResolveFlags = []string{"--package-lock-only", "--ignore-scripts", "--no-audit", "--no-fund"}

func (m npmManager) Plan(args []string, env Env) (*Plan, error) {
	if p, err, ok := m.npmExecOfManager(args, env); ok {
		return p, err // npx yarn …: planned as the manager (execmanager.go)
	}
	p, err := env.checkedPlan(m.plan(args, env))
	if m.name == "npm" {
		nameSteps(p, err, "npm", args)
	}
	if err == nil {
		quietSteps(p, npmQuietEnv) // quietenv.go
	}
	return finish(m.name, p, err, env)
}

func (m npmManager) plan(args []string, env Env) (*Plan, error) {
	if m.name == "npx" {
		// npx is npm exec with npx's own short flags (npm/bin/npx-cli.js).
		return m.planExec(npxToExec(args), args, env)
	}
	a := parseNpmArgv(args)
	cmd, cmdIdx := npmCommand(a)
	if !npmIntercepted[cmd] {
		return passthrough(m, cmd, args), nil
	}
	if a.isTrue("usage") || a.isTrue("version") && cmdIdx < 0 {
		return passthrough(m, cmd, args), nil
	}
	rest := a.positionals[cmdIdx+1:]
	switch cmd {
	case "exec":
		return m.planExec(args, args, env)
	case "init":
		// "npm init <initializer>" is "npm exec create-<initializer>"; bare init
		// only writes package.json.
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			return passthrough(m, cmd, args), nil
		}
		return m.planExec(append([]string{"exec", "--package=" + npmInitializer(rest[0]), "--", npmInitializerBin(rest[0])}, rest[1:]...), args, env)
	case "audit":
		if len(rest) == 0 || rest[0] != "fix" {
			return passthrough(m, cmd, args), nil
		}
	}
	if a.isTrue("dry-run") || (a.isTrue("package-lock-only") && cmd != "exec") {
		return passthrough(m, cmd, args), nil // resolves, writes and runs nothing
	}
	if a.isTrue("global") || lastOr(a, "location", "") == "global" || npmRefused[cmd] {
		return nil, npmGlobalRefusal(cmd)
	}
	if a.isFalse("package-lock") && cmd != "rebuild" && cmd != "prune" {
		return nil, npmNoLockRefusal()
	}
	if a.isFalse("save") && len(rest) > 0 && (cmd == "install" || cmd == "update" || cmd == "uninstall") {
		return nil, npmNoSaveRefusal()
	}

	var root, member string
	if prefix, ok := a.last("prefix"); ok && prefix != "" {
		root = prefix
		if !filepath.IsAbs(root) {
			root = filepath.Join(env.Dir, root)
		}
	} else {
		root = findNodeRoot(env.Dir)
		if !a.isFalse("workspaces") {
			if ws := npmWorkspaceRoot(root); ws != "" {
				member = root
				root = ws // node.go: npm installs at the workspace root
			}
		}
	}
	cwd, err := filepath.Rel(root, env.Dir)
	if err != nil || strings.HasPrefix(cwd, "..") {
		cwd = "." // --prefix elsewhere: npm runs there
	}
	man, err := readNodeManifest(root)
	if err != nil && !isNotExist(err) {
		return nil, err
	}
	workspaces, err := workspaceDirs(root, man.workspacePatterns())
	if err != nil {
		return nil, err
	}
	cfg, err := loadNpmConfigFor("npm", env, root, "", npmCLIConfig(a))
	if err != nil {
		return nil, err
	}
	lockfile := "package-lock.json"
	if exists(root, "npm-shrinkwrap.json") {
		lockfile = "npm-shrinkwrap.json"
	}

	p := &Plan{
		Manager:    "npm",
		Ecosystem:  precheck.NPM,
		Subcommand: cmd,
		Args:       args,
		Project:    nodeProject(root, cwd, workspaces, lockfile),
		Sandbox: Sandbox{
			Caches:      []Cache{npmCache(env, cfg)},
			Credentials: cfg.Credentials(),
		},
		Registries: cfg.MetadataClient(cfg.Registry),
		Notes:      cfg.Notes,
	}
	if member != "" {
		rel, _ := filepath.Rel(root, member)
		p.Notes = append(p.Notes, fmt.Sprintf("npm: installing at the workspace root %s, of which %s is a workspace, as npm does (--workspaces=false installs in %s alone)",
			rootfs.Printable(root), rootfs.Printable(filepath.ToSlash(rel)), rootfs.Printable(filepath.ToSlash(rel))))
	}
	// The user's options go to every step (--omit, -w, --registry, …); a --prefix is
	// made absolute, and the steps then run at that root.
	flags := a.tokensFor(func(name string) bool { return name != "prefix" })
	if _, ok := a.last("prefix"); ok {
		flags = append(flags, "--prefix", root)
		p.Project.Cwd = "."
	}
	// --prefer-offline: the resolve step has just refreshed the metadata the download
	// needs (a lockfile without resolved URLs names only versions), so npm need not
	// revalidate it, one round trip per new package; tarballs stay pinned by the
	// prechecked integrity, and the user's own --prefer-online, later, still wins.
	download := &Step{Args: concat([]string{"npm", "install", "--prefer-offline"}, flags, []string{"--ignore-scripts", "--no-audit", "--no-fund"}), Network: true, Credentials: true}
	resolve := &Step{Args: concat([]string{"npm", cmd}, flags, rest, npmResolveFlags, npmQuietFlags(a, cfg)), Network: true, Credentials: true}

	switch cmd {
	case "install", "update", "uninstall", "dedupe":
		p.Steps.Resolve, p.Steps.Download = resolve, download
	case "audit":
		p.Steps.Resolve = &Step{Args: concat([]string{"npm", "audit", "fix"}, flags, rest[1:], []string{"--package-lock-only", "--ignore-scripts", "--no-fund"}), Network: true, Credentials: true}
		p.Steps.Download = download
	case "install-test":
		p.Steps.Resolve, p.Steps.Download = resolve, download
		p.Steps.Resolve.Args[1] = "install"
		p.Then = []string{"npm", "test"}
	case "ci", "install-ci-test":
		// The committed lockfile is the resolution; npm ci refuses a stale one itself.
		p.Steps.Download = &Step{Args: concat([]string{"npm", "ci"}, flags, []string{"--ignore-scripts", "--no-audit", "--no-fund"}), Network: true, Credentials: true}
		if cmd == "install-ci-test" {
			p.Then = []string{"npm", "test"}
		}
	case "prune":
		// Only removes packages: no network, nothing new to check or build.
		p.Steps.Download = &Step{Args: concat([]string{"npm", "prune"}, flags, rest, []string{"--ignore-scripts", "--no-audit", "--no-fund"})}
		p.Project.Lockfiles = []string{lockfile, "node_modules/.package-lock.json"}
		return p, nil
	case "rebuild":
		// Runs the scripts of what is installed: check what node_modules holds.
		p.Project.Lockfiles = []string{"node_modules/.package-lock.json", lockfile}
		p.Project.Outputs = nodeOutputs(workspaces)
	}
	nodedir, err := NodeHeadersDir(env)
	if d := cfg.get("nodedir"); d != "" && hasNodeHeaders(d) {
		// The user's .npmrc choice (dropped from the sandbox's copy, see renderNpmrc).
		nodedir, err = d, nil
	}
	if err != nil {
		return nil, err
	}
	p.Steps.Build = &Step{
		Args: concat([]string{"npm", "rebuild"}, flags, restIf(cmd == "rebuild", rest), []string{"--foreground-scripts", "--no-audit", "--no-fund"}, npmQuietFlags(a, cfg)),
		// No network: node-gyp must use this machine's headers, and npm must not try.
		Env:           append(npmNodeGypEnv(nodedir), "npm_config_offline=true", "npm_config_update_notifier=false"),
		AppendChanged: cmd != "rebuild",
	}
	if cmd != "rebuild" {
		p.Steps.BuildNeeded = NpmBuildNeeded
		p.Steps.BuildChanged = NpmBuildChanged // npmnoop.go
		p.Steps.BuildOptionalFailed = NpmOptionalFailed
	}
	if cmd != "rebuild" {
		// The project's own scripts, after the dependencies' (rootscripts.go); the
		// dependencies' build never rebuilds the whole tree then, which would run
		// them too (after `npm install PKG` as well, where npm runs none).
		pm, err := readProjectManifest(root, ".")
		if err != nil {
			return nil, err
		}
		ps, wsNames, err := npmProjectScripts(root, pm, workspaces, p.Steps.Build)
		if err != nil {
			return nil, err
		}
		if ps != nil {
			runs := npmRunsProjectScripts(cmd, rest) && !npmIgnoresScripts(a, cfg)
			p.Steps.BuildChanged = npmRootBuildsChanged(wsNames, runs)
			if runs {
				if member != "" {
					// From the member's dir, `npm run-script prepare` would be the
					// workspace's script (found by an attacker review: "Missing
					// script"); bare npm runs the root's.
					ps.Dir = root
				}
				p.Steps.ProjectScripts, p.Project.Name, p.Project.Version = ps, pm.Name, pm.Version
			}
		}
	}
	p.Steps.UpToDate = npmNoopCheck(cmd, rest, a, cfg, man, root)
	p.Project.Freshen = []string{"node_modules/.package-lock.json"}
	if p.Steps.Download == download && npmFetchesInResolve(cmd, rest, root, lockfile, workspaces, cfg) { // npmfetch.go
		p.Steps.Resolve = &Step{Args: concat([]string{"npm", cmd}, flags, rest, []string{"--ignore-scripts", "--no-audit", "--no-fund"}), Network: true, Credentials: true, Installs: true}
		p.Steps.Download = nil
	}
	p.Steps.Resolve = npmKeepHidden(p.Steps.Resolve, root) // npmhidden.go
	return p, nil
}

// npmPackageScripts says why the installed package at path would build: an install
// lifecycle script in its package.json, or a binding.gyp (npm runs `node-gyp
// rebuild` for it unless gypfile is false). "" when neither; unreadable means build.
func npmPackageScripts(read func(rel string) ([]byte, error), path string) string {
	data, err := read(path + "/package.json")
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "" // an optional dependency for another platform, not installed
		}
		return path + "/package.json unreadable"
	}
	var pj struct {
		Scripts map[string]any `json:"scripts"`
		Gypfile *bool          `json:"gypfile"`
	}
	if err := json.Unmarshal(data, &pj); err != nil {
		return path + "/package.json not understood"
	}
	for _, k := range []string{"preinstall", "install", "postinstall"} {
		if _, ok := pj.Scripts[k]; ok {
			return path + " has a " + k + " script"
		}
	}
	if pj.Gypfile == nil || *pj.Gypfile {
		if _, err := read(path + "/binding.gyp"); err == nil || !errors.Is(err, fs.ErrNotExist) {
			return path + " has a binding.gyp"
		}
	}
	return ""
}

// NpmBuildNeeded reads the hidden lockfile npm writes after installing
// (node_modules/.package-lock.json) and says whether `npm rebuild` has any script to
// run. npm records hasInstallScript for every package whose install, preinstall or
// postinstall script (or an implied `node-gyp rebuild` for a binding.gyp) would run,
// from the registry's packument. Anything not from a registry — a link (workspace,
// file: directory), a local tarball, a git dependency, an entry with neither
// integrity nor resolved — may have scripts the lockfile does not announce, so it
// means a build. Bin links are made by the download step itself.
func NpmBuildNeeded(read func(rel string) ([]byte, error)) (bool, string) {
	data, err := read("node_modules/.package-lock.json")
	if err != nil {
		return true, "no hidden lockfile to tell"
	}
	var lock struct {
		LockfileVersion int `json:"lockfileVersion"`
		Packages        map[string]struct {
			HasInstallScript bool   `json:"hasInstallScript"`
			Link             bool   `json:"link"`
			Resolved         string `json:"resolved"`
			Integrity        string `json:"integrity"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(data, &lock); err != nil || lock.LockfileVersion < 2 || lock.Packages == nil {
		return true, "hidden lockfile not understood"
	}
	n := 0
	for path, e := range lock.Packages {
		switch {
		case path == "":
			continue
		case e.HasInstallScript:
			return true, path + " has install scripts"
		case e.Link:
			return true, path + " is a link (its scripts are not in the lockfile)"
		case e.Resolved != "" && !strings.HasPrefix(e.Resolved, "https://") && !strings.HasPrefix(e.Resolved, "http://"):
			return true, path + " is not from a registry (" + e.Resolved + ")"
		case e.Resolved == "" && e.Integrity == "":
			return true, path + " has neither resolved nor integrity"
		}
		// The lockfile's word is not the last: what is on disk is what npm
		// rebuild would run.
		if why := npmPackageScripts(read, path); why != "" {
			return true, why
		}
		n++
	}
	return false, fmt.Sprintf("none of the %d installed package(s) has install scripts", n)
}

// npmCommand finds the command the way npm does (the first positional), with one
// safety net: if that word is not an npm command (an option this table does not
// know took a value, say), the first later word that is one is used. Unknown
// commands fail in npm, so erring towards interception costs nothing.
func npmCommand(a *npmArgv) (string, int) {
	if len(a.positionals) == 0 {
		return "", -1
	}
	if c := npmDeref(a.positionals[0]); c != "" {
		return c, 0
	}
	for i := 1; i < len(a.positionals) && (a.afterDashes < 0 || i < a.afterDashes); i++ {
		if c := npmDeref(a.positionals[i]); npmIntercepted[c] {
			return c, i
		}
	}
	return a.positionals[0], 0
}

func (m npmManager) planExec(execArgs, userArgs []string, env Env) (*Plan, error) {
	a := parseNpmArgv(execArgs)
	_, cmdIdx := npmCommand(a)
	rest := a.positionals[cmdIdx+1:]
	pkgs := a.opts["package"]
	callFlag, hasCall := a.last("call")
	if len(pkgs) == 0 {
		if len(rest) == 0 {
			// Interactive shell or --call with no package: runs local code only.
			return passthrough(m, "exec", userArgs), nil
		}
		// npm runs an existing local bin without installing anything (libnpmexec
		// walks up from the working directory through node_modules/.bin).
		if !strings.ContainsAny(rest[0], "@/:") && localBinExists(env.Dir, rest[0]) {
			return passthrough(m, "exec", userArgs), nil
		}
	}
	if a.isTrue("global") {
		return nil, npmExecGlobalRefusal(m.name)
	}
	cfg, err := loadNpmConfigFor(m.name, env, findNodeRoot(env.Dir), "", npmCLIConfig(a))
	if err != nil {
		return nil, err
	}
	nodedir, err := NodeHeadersDir(env)
	if err != nil {
		return nil, err
	}
	p := &Plan{
		Manager:    m.name,
		Ecosystem:  precheck.NPM,
		Subcommand: "exec",
		Args:       userArgs,
		Project: Project{
			Root:      findNodeRoot(env.Dir),
			Cwd:       ".",
			Lockfiles: []string{"package-lock.json"},
		},
		Scratch: &ScratchProject{
			Files: map[string]string{"package.json": `{"name":"phylum-box-exec","private":true}`},
		},
		Sandbox: Sandbox{
			Caches:      []Cache{npmCache(env, cfg)},
			Credentials: cfg.Credentials(),
		},
		Registries: cfg.MetadataClient(cfg.Registry),
		Notes:      cfg.Notes,
	}
	if rel, err := filepath.Rel(p.Project.Root, env.Dir); err == nil && !strings.HasPrefix(rel, "..") {
		p.Project.Cwd = rel
	}
	var bin []string
	if len(pkgs) == 0 {
		pkgs = []string{rest[0]}
		p.Scratch.RunBinOf = npmSpecName(rest[0])
		rest = rest[1:]
	} else if len(rest) > 0 {
		bin, rest = rest[:1], rest[1:]
	} else if !hasCall {
		p.Scratch.RunBinOf = npmSpecName(pkgs[0])
	}
	p.Steps.Resolve = &Step{Args: concat([]string{"npm", "install"}, pkgs, npmResolveFlags), Network: true, Credentials: true}
	p.Steps.Download = &Step{Args: []string{"npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"}, Network: true, Credentials: true}
	p.Steps.Build = &Step{
		Args: []string{"npm", "rebuild", "--foreground-scripts", "--loglevel=error"},
		Env:  append(npmNodeGypEnv(nodedir), "npm_config_offline=true"),
	}
	p.Steps.BuildNeeded = NpmBuildNeeded
	// The run has no network: an npm or npx the tool starts itself (create-next-app
	// runs `npx next typegen`) answers from the cache at once instead of retrying
	// the registry for a minute.
	runEnv := append([]string{"npm_config_offline=true"}, userAgentEnv(env, p.Project.Root, "npm", nodedir)...) // useragent.go
	if hasCall {
		p.Steps.Run = &Step{Args: []string{"sh", "-c", callFlag}, Env: runEnv}
	} else {
		p.Steps.Run = &Step{Args: concat(bin, rest), Env: runEnv}
	}
	p.Notes = append(p.Notes, "exec: the package is installed into a scratch project and run with the network off")
	return p, nil
}

// npxToExec rewrites npx's argv to npm exec's (npm/bin/npx-cli.js): npx's own
// -p/--package, -c/--call and -y/--yes, up to the first positional, which starts the
// command; everything from there on belongs to the command.
func npxToExec(args []string) []string {
	out := []string{"exec"}
	for i := 0; i < len(args); i++ {
		a := args[i]
		// npx-cli.js reads an option by its name with every leading dash dropped and
		// the value after "=": -p=yarn, --p yarn and -package yarn are --package,
		// -c=CMD and --c CMD are --call (npm's -p would be --parseable).
		if key, v, hasV := strings.Cut(strings.TrimLeft(a, "-"), "="); strings.HasPrefix(a, "-") && a != "--" {
			switch key {
			case "p", "package":
				a = "--package"
			case "c", "call":
				a = "--call"
			}
			if hasV && (a == "--package" || a == "--call") {
				a += "=" + v
			}
		}
		switch {
		case a == "--":
			return append(append(out, "--"), args[i+1:]...)
		case a == "-p" || a == "--package":
			if i+1 < len(args) {
				out = append(out, "--package="+args[i+1])
				i++
			}
		case strings.HasPrefix(a, "--package="):
			out = append(out, a)
		case a == "-c" || a == "--call":
			if i+1 < len(args) {
				out = append(out, "--call="+args[i+1])
				i++
			}
		case strings.HasPrefix(a, "--call="):
			out = append(out, a)
		case a == "-y":
			out = append(out, "--yes")
		case strings.HasPrefix(a, "-"):
			out = append(out, a)
		default:
			return append(append(out, "--"), args[i:]...)
		}
	}
	return out
}

// npmInitializer maps "npm init foo" to create-foo, "@scope" to @scope/create,
// "@scope/foo" to @scope/create-foo (npm's init docs).
func npmInitializer(s string) string {
	name, version := s, ""
	if i := strings.LastIndex(s, "@"); i > 0 {
		name, version = s[:i], s[i:]
	}
	switch {
	case strings.HasPrefix(name, "@") && !strings.Contains(name, "/"):
		name += "/create"
	case strings.HasPrefix(name, "@"):
		scope, base, _ := strings.Cut(name, "/")
		name = scope + "/create-" + base
	default:
		name = "create-" + name
	}
	return name + version
}

func npmInitializerBin(s string) string {
	name := npmSpecName(npmInitializer(s))
	if i := strings.LastIndex(name, "/"); i >= 0 {
		return name[i+1:]
	}
	return name
}

// npmSpecName is the package name of a registry spec ("@s/x@1" → "@s/x").
func npmSpecName(spec string) string {
	if strings.HasPrefix(spec, "@") {
		if i := strings.Index(spec[1:], "@"); i >= 0 {
			return spec[:i+1]
		}
		return spec
	}
	name, _, _ := strings.Cut(spec, "@")
	return name
}

func localBinExists(dir, bin string) bool {
	for d := dir; ; {
		if exists(d, filepath.Join("node_modules", ".bin", bin)) {
			return true
		}
		parent := filepath.Dir(d)
		if parent == d {
			return false
		}
		d = parent
	}
}

func npmGlobalRefusal(cmd string) *Refusal {
	advice := "install the tool into the project instead (`phylum-box npm install --save-dev PKG`, then `npx PKG`), or run it once with `phylum-box npx PKG`"
	if cmd == "link" {
		advice = "depend on the local path instead (`phylum-box npm install ../dir`)"
	}
	return &Refusal{Manager: "npm", Reason: fmt.Sprintf("`npm %s` would change the global install (%s), outside any project, where phylum-box cannot check it, contain it or roll it back", cmd, npmGlobalWhat(cmd)),
		Advice: advice}
}

func npmNoLockRefusal() *Refusal {
	return &Refusal{Manager: "npm", Reason: "package-lock=false leaves no lockfile to check before installing", Advice: "drop --no-package-lock (and package-lock=false in .npmrc) for this install"}
}

func npmNoSaveRefusal() *Refusal {
	return &Refusal{Manager: "npm", Reason: "--no-save changes node_modules without recording it in the lockfile phylum-box checks", Advice: "run it without --no-save"}
}

func npmExecGlobalRefusal(name string) *Refusal {
	return &Refusal{Manager: name, Reason: "exec with --global would install into the global prefix", Advice: "drop --global"}
}

// loadNpmConfigFor is loadNpmConfig with the refusal of a project .npmrc naming the
// command the user ran. npm itself reads only the root's .npmrc (it ignores a
// workspace's: "ignoring workspace config"), so npm passes no sub.
func loadNpmConfigFor(manager string, env Env, root, sub string, cli map[string]string) (*NpmConfig, error) {
	cfg, err := loadNpmConfig(env, root, sub, cli)
	var ref *Refusal
	if errors.As(err, &ref) {
		ref.Manager = manager
	}
	return cfg, err
}

// npmCLIConfig extracts the settings that change where metadata comes from.
func npmCLIConfig(a *npmArgv) map[string]string {
	cli := map[string]string{}
	for _, k := range []string{"registry", "userconfig", "globalconfig", "cache"} {
		if v, ok := a.last(k); ok && v != "" {
			cli[k] = v
		}
	}
	// "--@scope:registry=URL" is an unknown option to nopt; it arrives as a boolean
	// named "@scope:registry" with the value split off by "=".
	for _, tok := range a.optTokens {
		if k, v, ok := strings.Cut(strings.TrimLeft(tok, "-"), "="); ok && strings.HasPrefix(k, "@") && strings.HasSuffix(k, ":registry") {
			cli[k] = v
		}
	}
	return cli
}

// npmCache is npm's cache directory: written by npm itself in Resolve and Download
// (content-addressed tarballs and metadata), absent from Build and Run, where package
// code could plant entries the next install would trust.
func npmCache(env Env, cfg *NpmConfig) Cache {
	dir := cfg.Cache
	if dir == "" {
		dir = filepath.Join(env.Home, ".npm")
	}
	if strings.HasPrefix(dir, "~/") {
		dir = filepath.Join(env.Home, dir[2:])
	}
	return Cache{
		Path:     dir,
		Env:      []string{"npm_config_cache=" + dir},
		Mount:    []Phase{PhaseResolve, PhaseDownload},
		Writable: []Phase{PhaseResolve, PhaseDownload},
	}
}

package managers

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// A package manager installed as a project tool (`npm install -D yarn`, then `npx
// yarn add x`) would otherwise run on the host: npx, `npm exec`, `pnpm exec`, `yarn
// run` find the project's node_modules/.bin/yarn and pass through. Such a command is
// planned as the manager itself (`phylum-box yarn add x`: resolved, prechecked and
// installed in the sandbox by the yarn of this machine), or refused with the exact
// command to run instead when it asks for a particular release of the manager.

// ExecManagerNote is the reference pages' word on it.
const ExecManagerNote = "A package manager run this way (npx yarn add x, npm exec, pnpm exec, pnpm dlx, yarn exec, yarn run, yarn dlx of yarn, pnpm, npm, pip, poetry, bundle or cargo, or corepack launching one) is planned as that manager — `npx yarn add x` is `phylum-box yarn add x`, run by the manager outside the project, never the project's node_modules/.bin copy; a pinned release (npx yarn@1.22.19 …) or a shell line running one (npx -c '…') is refused with the command to run."

// execManagerBins maps a command name to the manager phylum-box plans it as.
var execManagerBins = map[string]string{
	"npm": "npm", "npx": "npx", "yarn": "yarn", "yarnpkg": "yarn", "pnpm": "pnpm",
	"pnpx": "pnpx", "pip": "pip", "pip3": "pip3", "poetry": "poetry", "bundle": "bundle",
	"bundler": "bundle", "cargo": "cargo",
}

// execManagerPackages maps an npm package to the manager its (only or main) bin
// runs: `npx yarn@1.22.22 add x` fetches the package yarn and runs its bin yarn.
var execManagerPackages = map[string]string{
	"npm": "npm", "yarn": "yarn", "@yarnpkg/cli-dist": "yarn", "@yarnpkg/cli": "yarn",
	"pnpm": "pnpm", "@pnpm/exe": "pnpm",
}

// managerOfSpec says which manager an npm package spec or command word runs, and
// whether the spec pins a release ("yarn@1.22.22", "pnpm@latest"). corepack is a
// launcher: "corepack" alone is not a manager, its first argument is.
func managerOfSpec(spec string) (mgr string, pinned bool) {
	name := npmSpecName(spec)
	if m, ok := execManagerPackages[name]; ok {
		return m, spec != name
	}
	if m, ok := execManagerBins[filepath.Base(name)]; ok && !strings.HasPrefix(name, "@") {
		return m, spec != name
	}
	return "", false
}

// execOfManager plans `via …` running argv[0] (a command word or package spec) with
// the arguments argv[1:], when argv[0] is a package manager phylum-box wraps (or
// corepack launching one). handled is false when it is not, or when the manager
// classifies the command as one that installs nothing: the caller plans it as
// before (a local bin runs on the host, a registry package in the sandbox offline).
func execOfManager(via string, argv []string, dir string, env Env) (p *Plan, err error, handled bool) {
	if len(argv) == 0 {
		return nil, nil, false
	}
	spec, rest := argv[0], argv[1:]
	if npmSpecName(spec) == "corepack" && len(rest) > 0 {
		if m, _ := managerOfSpec(rest[0]); m != "" {
			return execOfManager(via, rest, dir, env)
		}
		return nil, nil, false
	}
	if pipArgs, ok := pythonMPip(spec, rest); ok {
		return execOfManager(via, append([]string{"pip"}, pipArgs...), dir, env) // python -m pip install x
	}
	mgr, pinned := managerOfSpec(spec)
	if mgr == "" {
		return shellOfManager(via, argv, dir, env)
	}
	instead := "phylum-box " + shellJoin(append([]string{mgr}, rest...))
	if pinned {
		return nil, execManagerRefusal(via, fmt.Sprintf("`%s %s` would install packages with %s, a package manager fetched from the registry, outside phylum-box's checks",
			via, shellJoin(argv), spec), "run "+instead+" (phylum-box runs the "+mgr+" of this machine, or the release package.json's packageManager names)"), true
	}
	// The npm family's managers must be this machine's, not a node_modules/.bin copy;
	// the Python, Ruby and Rust planners find their own tools (a project's virtualenv
	// included) and refuse what they cannot run.
	nodeFamily := mgr == "npm" || mgr == "npx" || mgr == "yarn" || mgr == "pnpm" || mgr == "pnpx"
	if nodeFamily {
		bin, lerr := env.LookPath(mgr)
		if lerr != nil {
			return nil, execManagerRefusal(via, fmt.Sprintf("`%s %s` would run the %s installed in the project, on this machine, outside phylum-box's checks, and there is no %s outside the project to run in the sandbox instead",
				via, shellJoin(argv), mgr, mgr), "install "+mgr+" on this machine (for yarn and pnpm: `corepack enable`), then run "+instead), true
		}
		if root := findNodeRoot(dir); root != "" && within(root, absPath(bin, env.Dir)) {
			return nil, execManagerRefusal(via, fmt.Sprintf("`%s %s` would run %s, the project's own %s: project code with your network and credentials",
				via, shellJoin(argv), bin, mgr), "put a "+mgr+" from outside the project first in PATH, then run "+instead), true
		}
	}
	m, ok := Lookup(mgr)
	if !ok {
		return nil, nil, false
	}
	denv := env
	denv.Dir = dir
	p, err = m.Plan(rest, denv)
	if err != nil {
		return nil, err, true
	}
	if p.Passthrough {
		if via == "poetry" {
			return nil, nil, false // poetry run pip list: the virtualenv's pip, as before
		}
		// `npx yarn why x` installs nothing, but npx would run the project's
		// node_modules/.bin/yarn: the plan passes it through to this machine's yarn
		// (Manager and Args are the manager's, checked above for the npm family).
		return p, nil, true
	}
	p.Notes = append(p.Notes, fmt.Sprintf("`%s %s` runs %s, a package manager: planned as `%s`", via, shellJoin(argv), mgr, instead))
	return p, nil, true
}

// shellOfManager: `npx sh -c 'yarn add x'` and `npx env yarn add x` are the
// shell line of `npx -c` by another name — npm exec, pnpm exec and yarn run put
// node_modules/.bin first in PATH, so the project's own yarn ran on the host.
func shellOfManager(via string, argv []string, dir string, env Env) (*Plan, error, bool) {
	switch filepath.Base(argv[0]) {
	case "sh", "bash", "dash", "zsh", "ksh", "ash", "busybox":
		for i, a := range argv[1:] {
			if len(a) > 1 && a[0] == '-' && a[1] != '-' && strings.Contains(a, "c") && i+2 < len(argv) {
				return callOfManager(via, argv[i+2], dir, env)
			}
		}
	case "env", "nohup", "time", "nice", "exec", "command":
		rest := argv[1:]
		for len(rest) > 0 && (strings.HasPrefix(rest[0], "-") || strings.Contains(rest[0], "=")) {
			rest = rest[1:]
		}
		if len(rest) > 0 {
			return execOfManager(via, rest, dir, env)
		}
	}
	return nil, nil, false
}

func execManagerRefusal(via, reason, advice string) error {
	return &Refusal{Manager: via, Reason: reason, Advice: advice}
}

// callOfManager handles npm exec's --call (npx -c) string: a plain command that
// starts a manager is planned as that manager; a shell line that runs one anywhere
// is refused, naming the command to run instead.
func callOfManager(via, call, dir string, env Env) (p *Plan, err error, handled bool) {
	if !strings.ContainsAny(call, ";&|<>$`()'\"\\\n*?[]{}~#=") {
		if p, err, handled := execOfManager(via, strings.Fields(call), dir, env); handled {
			return p, err, true
		}
	}
	words := strings.FieldsFunc(call, func(r rune) bool { return strings.ContainsRune(" \t\n;&|()`", r) })
	for i, w := range words {
		if m, _ := managerOfSpec(strings.Trim(w, `'"`)); m != "" {
			cmd := []string{m}
			for _, x := range words[i+1:] {
				if _, isMgr := execManagerBins[x]; isMgr {
					break
				}
				cmd = append(cmd, x)
			}
			return nil, execManagerRefusal(via, fmt.Sprintf("the command line %q runs %s, a package manager, outside phylum-box's checks", call, w),
				"run the install through phylum-box (`phylum-box "+strings.Join(cmd, " ")+"`) and the rest yourself"), true
		}
	}
	return nil, nil, false
}

// nodeScript reports whether package.json in root has a script named name (yarn
// run and pnpm run it instead of a bin of that name).
func nodeScript(root, name string) bool {
	data, err := os.ReadFile(filepath.Join(root, "package.json"))
	if err != nil {
		return false
	}
	var pj struct {
		Scripts map[string]json.RawMessage `json:"scripts"`
	}
	if json.Unmarshal(data, &pj) != nil {
		return false
	}
	_, ok := pj.Scripts[name]
	return ok
}

// firstWord splits args at the first word that is not an option: the options
// before it, the word and everything after it, as written.
func firstWord(args []string) (word string, after []string, ok bool) {
	for i, a := range args {
		if a == "--" {
			if i+1 < len(args) {
				return args[i+1], args[i+2:], true
			}
			return "", nil, false
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			return a, args[i+1:], true
		}
	}
	return "", nil, false
}

// npmExecOfManager is execOfManager for npx and `npm exec`/`npm x`.
func (m npmManager) npmExecOfManager(args []string, env Env) (*Plan, error, bool) {
	execArgs := args
	if m.name == "npx" {
		execArgs = npxToExec(args)
	}
	a := parseNpmArgv(execArgs)
	cmd, idx := npmCommand(a)
	if cmd == "explore" && m.name == "npm" {
		return npmExploreOfManager(a.positionals[idx+1:])
	}
	if cmd != "exec" {
		return nil, nil, false
	}
	dir := env.Dir
	if prefix, ok := a.last("prefix"); ok && prefix != "" {
		dir = absPath(prefix, env.Dir)
	}
	if call, ok := a.last("call"); ok && call != "" {
		return callOfManager(m.name, call, dir, env)
	}
	rest := a.positionals[idx+1:]
	pkgs := a.opts["package"]
	if len(pkgs) == 0 {
		return execOfManager(m.name, rest, dir, env)
	}
	if len(rest) == 0 {
		// npx -p yarn: runs the package's bin.
		return execOfManager(m.name, pkgs[:1], dir, env)
	}
	return execWithPackages(m.name, pkgs, rest, dir, env)
}

// npmExploreOfManager: `npm explore PKG -- CMD …` runs CMD through a shell in
// node_modules/PKG on the host; `npm explore lodash -- npm install x` installed x
// there, unchecked, install scripts included. A command line that runs a package
// manager is refused with the command to run instead; anything else passes through.
func npmExploreOfManager(words []string) (*Plan, error, bool) {
	if len(words) < 2 {
		return nil, nil, false
	}
	pkg, line := words[0], strings.Join(words[1:], " ")
	parts := strings.FieldsFunc(line, func(r rune) bool { return strings.ContainsRune(" \t\n;&|()`", r) })
	for i, w := range parts {
		if m, _ := managerOfSpec(strings.Trim(w, `'"`)); m != "" {
			return nil, execManagerRefusal("npm", fmt.Sprintf("`npm explore %s -- %s` runs %s, a package manager, in node_modules/%s on this machine, outside phylum-box's checks", pkg, line, w, pkg),
				"cd node_modules/"+pkg+" and run phylum-box "+shellJoin(append([]string{m}, parts[i+1:]...))), true
		}
	}
	return nil, nil, false
}

// execWithPackages: `npx -p SPEC… CMD ARGS`. CMD names the manager; the packages say
// where it comes from: an unpinned manager package (or none of them one) plans CMD
// as this machine's manager, a pinned one is refused with the command to run.
func execWithPackages(via string, pkgs, argv []string, dir string, env Env) (*Plan, error, bool) {
	mgr, _ := managerOfSpec(npmSpecName(argv[0]))
	if mgr == "" || npmSpecName(argv[0]) != argv[0] {
		return execOfManager(via, argv, dir, env)
	}
	for _, spec := range pkgs {
		if pm, pinned := managerOfSpec(spec); pm != "" && pinned {
			return execOfManager(via, append([]string{spec}, argv[1:]...), dir, env)
		}
	}
	return execOfManager(via, argv, dir, env)
}

// pnpmExecOfManager is execOfManager for `pnpm exec`, `pnpm dlx`, pnpx and pnpm's
// fallback of an unknown command to a bin ("pnpm yarn add x").
func (m pnpmManager) pnpmExecOfManager(args []string, env Env) (*Plan, error, bool) {
	if m.name == "pnpx" {
		args = append([]string{"dlx"}, args...)
	}
	a := pnpmSpec.parse(args)
	if len(a.positionals) == 0 {
		return nil, nil, false
	}
	dir := env.Dir
	if d, ok := a.last("dir"); ok && d != "" {
		dir = absPath(d, env.Dir)
	}
	cmd, rest := a.positionals[0], a.positionals[1:]
	if c, ok := pnpmAliases[cmd]; ok {
		cmd = c
	}
	switch cmd {
	case "exec":
		word, after, ok := firstWord(rest)
		if !ok {
			return nil, nil, false
		}
		return execOfManager(m.name, append([]string{word}, after...), dir, env)
	case "dlx":
		if pkgs := a.opts["package"]; len(pkgs) > 0 && len(rest) > 0 {
			return execWithPackages(m.name, pkgs, rest, dir, env)
		}
		return execOfManager(m.name, rest, dir, env)
	case "run", "run-script":
		return nil, nil, false // scripts only
	}
	if _, known := pnpmIntercepted[cmd]; known || nodeScript(findNodeRoot(dir), cmd) {
		return nil, nil, false
	}
	if _, isMgr := execManagerBins[cmd]; isMgr {
		return execOfManager(m.name, append([]string{cmd}, rest...), dir, env)
	}
	return nil, nil, false
}

// yarnExecOfManager is execOfManager for `yarn exec`, `yarn run`, `yarn dlx` and
// yarn's fallback of an unknown command to a script or bin ("yarn pnpm add x").
func yarnExecOfManager(args []string, env Env) (*Plan, error, bool) {
	y := parseYarnArgv(args)
	dir := env.Dir
	if c := y.cwd(); c != "" {
		dir = absPath(c, env.Dir)
	}
	cmd, rest := y.cmd, y.rest
	if cmd == "workspaces" && len(rest) >= 2 && rest[0] == "run" {
		// Classic's `yarn workspaces run CMD …` is `yarn run CMD …` in every
		// workspace: a script, else a node_modules/.bin program — the project's own
		// yarn, say, on the host with the network.
		if word, after, ok := firstWord(rest[1:]); ok {
			if m, _ := managerOfSpec(word); m != "" {
				return yarnManagerInWorkspaceRefusal("yarn workspaces run", "every workspace", "each workspace", append([]string{word}, after...))
			}
		}
		return nil, nil, false
	}
	workspace := false
	if cmd == "workspace" && len(rest) >= 2 {
		workspace, cmd, rest = true, rest[1], rest[2:]
	}
	root := findNodeRoot(dir)
	var argv []string
	switch cmd {
	case "exec":
		word, after, ok := firstWord(rest)
		if !ok {
			return nil, nil, false
		}
		argv = append([]string{word}, after...)
	case "run":
		word, after, ok := firstWord(rest)
		if !ok || (!workspace && nodeScript(root, word)) {
			return nil, nil, false
		}
		argv = append([]string{word}, after...)
	case "dlx":
		var pkgs []string
		for i := 0; i < len(rest); i++ {
			switch a := rest[i]; {
			case (a == "-p" || a == "--package") && i+1 < len(rest):
				pkgs = append(pkgs, rest[i+1])
				i++
			case strings.HasPrefix(a, "--package="):
				pkgs = append(pkgs, strings.TrimPrefix(a, "--package="))
			case a == "-q" || a == "--quiet":
			default:
				argv = rest[i:]
				i = len(rest)
			}
		}
		if len(argv) == 0 {
			return nil, nil, false
		}
		if len(pkgs) > 0 {
			if workspace {
				return yarnWorkspaceManagerRefusal(argv)
			}
			return execWithPackages("yarn", pkgs, argv, dir, env)
		}
	default:
		if _, isMgr := execManagerBins[cmd]; !isMgr || (!workspace && nodeScript(root, cmd)) {
			return nil, nil, false
		}
		argv = append([]string{cmd}, rest...)
	}
	if m, _ := managerOfSpec(argv[0]); m == "" {
		if workspace {
			return nil, nil, false
		}
		return shellOfManager("yarn", argv, dir, env) // yarn exec sh -c 'npm i x'
	}
	if workspace {
		return yarnWorkspaceManagerRefusal(argv)
	}
	return execOfManager("yarn", argv, dir, env)
}

func yarnWorkspaceManagerRefusal(argv []string) (*Plan, error, bool) {
	return yarnManagerInWorkspaceRefusal("yarn workspace …", "a workspace", "the workspace", argv)
}

func yarnManagerInWorkspaceRefusal(via, where, cd string, argv []string) (*Plan, error, bool) {
	m, _ := managerOfSpec(argv[0])
	return nil, execManagerRefusal("yarn", fmt.Sprintf("`%s %s` would run %s, a package manager, in %s outside phylum-box's checks", via, shellJoin(argv), argv[0], where),
		"cd into "+cd+" and run phylum-box "+shellJoin(append([]string{m}, argv[1:]...))), true
}

func absPath(p, base string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(base, p)
}

// shellJoin quotes words that a POSIX shell would split or expand.
func shellJoin(words []string) string {
	out := make([]string, len(words))
	for i, w := range words {
		if w == "" || strings.ContainsAny(w, " \t\n'\"\\$`;&|<>()*?[]{}~#!") {
			w = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
		}
		out[i] = w
	}
	return strings.Join(out, " ")
}

// poetryRunOfManager is execOfManager for `poetry run pip install x` (and any
// other manager run through poetry run): the virtualenv's own pip would install on
// the host, unchecked. pip is then planned as `phylum-box pip …`, which installs into
// the project's .venv (or refuses, saying why).
func poetryRunOfManager(args []string, env Env) (*Plan, error, bool) {
	for i := 0; i < len(args); i++ {
		w := args[i]
		if poetryValueOpts[w] {
			i++
			continue
		}
		if strings.HasPrefix(w, "-") {
			continue
		}
		if w != "run" {
			return nil, nil, false
		}
		word, after, ok := firstWord(args[i+1:])
		if !ok {
			return nil, nil, false
		}
		if rest, ok := pythonMPip(word, after); ok {
			word, after = "pip", rest // poetry run python -m pip install x
		}
		if m, _ := managerOfSpec(word); m == "" {
			return shellOfManager("poetry", append([]string{word}, after...), env.Dir, env) // poetry run sh -c 'pip install x'
		}
		return execOfManager("poetry", append([]string{word}, after...), env.Dir, env)
	}
	return nil, nil, false
}

// pythonRE matches the names a Python interpreter goes by (python, python3,
// python3.11, a path to one).
var pythonRE = regexp.MustCompile(`^python(\d+(\.\d+)?)?$`)

// pythonMPip recognises `python [flags] -m pip ARGS` (pip's own recommended
// spelling, -mpip included) and returns ARGS: it is pip, which would install on the
// host, unchecked. Flags that take a value or a command (-c, -X, -W) end the match.
func pythonMPip(word string, after []string) (pipArgs []string, ok bool) {
	if !pythonRE.MatchString(filepath.Base(word)) {
		return nil, false
	}
	for i, a := range after {
		switch {
		case a == "-m" && i+1 < len(after) && (after[i+1] == "pip" || after[i+1] == "pip3"):
			return after[i+2:], true
		case a == "-mpip" || a == "-mpip3":
			return after[i+1:], true
		case !strings.HasPrefix(a, "-") || a == "-" || a == "--" || strings.ContainsAny(a[1:2], "cmXW"):
			return nil, false
		}
	}
	return nil, false
}

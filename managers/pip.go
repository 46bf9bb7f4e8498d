package managers

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/phylum-box/phylum-box/internal/lazyre"
	"github.com/phylum-box/phylum-box/internal/redact"
	"github.com/phylum-box/phylum-box/precheck"
	"github.com/phylum-box/phylum-box/rootfs"
)

func init() {
	Register(pipManager{name: "pip"})
	Register(pipManager{name: "pip3"})
}

// pipManager plans `pip install`. The design keeps the tool-specific parts (which
// python runs, how the resolution is written) in a few fields so that uv is one more
// file: uv's `uv pip install --dry-run` has no report, but `uv pip compile` writes a
// requirements.txt the precheck reads, and the download/build steps are the same.
type pipManager struct{ name string }

func (m pipManager) Name() string      { return m.name }
func (m pipManager) Ecosystem() string { return precheck.PyPI }

// pipWork is the directory (relative to Root) where the download step puts the
// checked distributions for the build. The build step deletes it: it is not an
// output, and the sync back refuses everything that is not.
const pipWork = ".phylum-box-pip"

// pipValueOpts are pip install's options that take a value (pip 23–25, general and
// install options). optparse also accepts unique prefixes of long options, which
// pipLong resolves.
var pipValueOpts = map[string]bool{
	"requirement": true, "constraint": true, "editable": true, "target": true, "platform": true,
	"python-version": true, "implementation": true, "abi": true, "root": true, "prefix": true,
	"src": true, "upgrade-strategy": true, "config-settings": true, "global-option": true,
	"no-binary": true, "only-binary": true, "progress-bar": true, "root-user-action": true,
	"report": true, "index-url": true, "extra-index-url": true, "find-links": true,
	"python": true, "log": true, "log-file": true, "proxy": true, "retries": true, "timeout": true,
	"exists-action": true, "trusted-host": true, "cert": true, "client-cert": true,
	"cache-dir": true, "keyring-provider": true, "use-feature": true, "use-deprecated": true,
	"resume-retries": true, "group": true, "build-option": true, "install-option": true,
	"local-log": true,
}

// pipBoolOpts are the flags this planner looks at or that share a prefix with a
// value option (so abbreviations resolve as pip resolves them).
var pipBoolOpts = map[string]bool{
	"user": true, "dry-run": true, "upgrade": true, "force-reinstall": true, "ignore-installed": true,
	"no-deps": true, "pre": true, "no-build-isolation": true, "require-hashes": true,
	"no-compile": true, "compile": true, "break-system-packages": true, "quiet": true, "verbose": true,
	"isolated": true, "no-cache-dir": true, "no-color": true, "require-virtualenv": true,
	"no-index": true, "prefer-binary": true, "no-clean": true, "help": true, "version": true,
	"no-input": true, "no-python-version-warning": true, "disable-pip-version-check": true,
	"no-warn-script-location": true, "no-warn-conflicts": true, "ignore-requires-python": true,
	"check-build-dependencies": true, "use-pep517": true, "no-use-pep517": true,
	"ignore-installed-packages": true, "debug": true, "exists": true,
}

var pipShortValue = map[byte]string{'r': "requirement", 'c': "constraint", 'e': "editable", 't': "target", 'i': "index-url", 'f': "find-links", 'C': "config-settings"}

// pipLong resolves a long option name as optparse does: exact, else a unique prefix.
func pipLong(name string) string {
	if pipValueOpts[name] || pipBoolOpts[name] {
		return name
	}
	found := ""
	for _, set := range []map[string]bool{pipValueOpts, pipBoolOpts} {
		for k := range set {
			if strings.HasPrefix(k, name) {
				if found != "" && found != k {
					return name // ambiguous: pip errors out itself
				}
				found = k
			}
		}
	}
	if found == "" {
		return name
	}
	return found
}

// pipArgv is a parsed pip command line: the subcommand and the last value of each
// long option (short ones mapped to their long names).
type pipArgv struct {
	cmd   string
	opts  map[string][]string
	flags map[string]bool
	args  []string // positionals after the subcommand
}

func parsePipArgv(args []string) *pipArgv {
	a := &pipArgv{opts: map[string][]string{}, flags: map[string]bool{}}
	for i := 0; i < len(args); i++ {
		w := args[i]
		switch {
		case w == "--":
			a.args = append(a.args, args[i+1:]...)
			return a
		case strings.HasPrefix(w, "--"):
			name, val, hasVal := strings.Cut(w[2:], "=")
			name = pipLong(name)
			if pipValueOpts[name] {
				if !hasVal && i+1 < len(args) {
					i++
					val = args[i]
				}
				a.opts[name] = append(a.opts[name], val)
				continue
			}
			a.flags[name] = true
		case strings.HasPrefix(w, "-") && len(w) > 1:
			// Clustered short flags: -Uq, -tDIR, -r req.txt.
			for j := 1; j < len(w); j++ {
				if long, ok := pipShortValue[w[j]]; ok {
					val := w[j+1:]
					if val == "" && i+1 < len(args) {
						i++
						val = args[i]
					}
					a.opts[long] = append(a.opts[long], val)
					break
				}
				switch w[j] {
				case 'U':
					a.flags["upgrade"] = true
				case 'I':
					a.flags["ignore-installed"] = true
				case 'h':
					a.flags["help"] = true
				case 'V':
					a.flags["version"] = true
				}
			}
		case a.cmd == "":
			a.cmd = w
		default:
			a.args = append(a.args, w)
		}
	}
	return a
}

func (a *pipArgv) last(name string) (string, bool) {
	v := a.opts[name]
	if len(v) == 0 {
		return "", false
	}
	return v[len(v)-1], true
}

func (m pipManager) Plan(args []string, env Env) (*Plan, error) {
	p, err := env.checkedPlan(m.plan(args, env))
	p, err = finish(m.name, p, err, env)
	if p != nil && p.Sandbox.Credentials != nil {
		p.Sandbox.Credentials.Env = pipOwnEnv(p.Sandbox.Credentials.Env)
	}
	if err != nil || p == nil || p.Passthrough || p.Steps.Resolve == nil || len(p.Steps.Resolve.Args) == 0 {
		return p, err
	}
	// A venv made from a pyenv/conda/asdf python: that installation, read-only.
	paths, err := pipInterpreterPaths(env, p.Steps.Resolve.Args[0])
	if err != nil {
		return nil, err
	}
	p.Sandbox.HostPaths = append(p.Sandbox.HostPaths, paths...)
	for _, d := range paths {
		p.Notes = append(p.Notes, "pip: the virtualenv's interpreter is in "+d+", which the steps see read-only (nothing else of your home directory)")
	}
	return m.pipWithOneRun(p, args, env), nil // piponerun.go
}

func (m pipManager) plan(args []string, env Env) (*Plan, error) {
	a := parsePipArgv(args)
	switch pipCommands[a.cmd] {
	case "install":
	case "refuse":
		return nil, pipBuildRefusal(m.name, a.cmd)
	default:
		return passthrough(m, a.cmd, args), nil
	}
	if a.flags["help"] || a.flags["version"] {
		return passthrough(m, a.cmd, args), nil
	}
	if a.flags["dry-run"] {
		// pip still runs sdists' metadata hooks while resolving a dry run.
		return nil, pipDryRunRefusal(m.name)
	}
	if a.flags["user"] {
		return nil, pipUserRefusal(m.name)
	}

	python := ""
	var root, out string
	var targetOpts []string
	for _, o := range []string{"target", "prefix", "root"} {
		if v, ok := a.last(o); ok {
			targetOpts = append(targetOpts, o)
			d := v
			if !filepath.IsAbs(d) {
				d = filepath.Join(env.Dir, d)
			}
			d = filepath.Clean(d)
			if !within(env.Dir, d) || d == env.Dir {
				return nil, pipOutsideRefusal(m.name, o, v, env.Dir)
			}
			root = env.Dir
			if out == "" {
				out = d
			}
		}
	}
	if root == "" {
		venv := env.Getenv("VIRTUAL_ENV")
		if venv == "" {
			venv = findUpDir(env.Dir, ".venv", "pyvenv.cfg")
		}
		if venv == "" {
			return nil, &Refusal{Manager: m.name, Reason: "no virtualenv is active and the project has no .venv: pip would install into the system site-packages, outside the project",
				Advice: "create one in the project (`python3 -m venv .venv`) and run `phylum-box pip install ...` again, or use --target DIR inside the project"}
		}
		if !filepath.IsAbs(venv) {
			venv = filepath.Join(env.Dir, venv)
		}
		venv = filepath.Clean(venv)
		root = filepath.Dir(venv)
		if !within(root, env.Dir) {
			// An activated venv elsewhere: the project is where the command runs.
			root = env.Dir
		}
		if !within(root, venv) || venv == root {
			return nil, &Refusal{Manager: m.name, Reason: fmt.Sprintf("the active virtualenv %s is outside the project (%s)", venv, root),
				Advice: "create the virtualenv inside the project (`python3 -m venv .venv`) and activate that one"}
		}
		if _, err := os.Stat(filepath.Join(venv, "pyvenv.cfg")); err != nil {
			return nil, &Refusal{Manager: m.name, Reason: fmt.Sprintf("%s is not a virtualenv (no pyvenv.cfg)", venv),
				Advice: "recreate it with `python3 -m venv " + venv + "`"}
		}
		python = filepath.Join(venv, "bin", "python")
		out = venv
	}
	if python == "" {
		python = "python3"
	}
	cwd, _ := filepath.Rel(root, env.Dir)
	outRel, _ := filepath.Rel(root, out)
	work := filepath.Join(root, pipWork)
	if _, err := os.Lstat(work); err == nil {
		// The build installs what is in its dist dir, which the analysis reads with
		// no link followed: only the download may make it (a link to a directory of
		// the project hid every archive from the analysis).
		return nil, &Refusal{Manager: m.name, Reason: work + " exists in the project (phylum-box's download dir)", Advice: "remove it"}
	}
	// -I: pip itself imports nothing from the project's directory (a committed
	// json.py or base64.py would shadow the standard library) and ignores PYTHON*
	// variables; the venv's site-packages is still its own.
	pip := []string{python, "-I", "-m", "pip"}

	p := &Plan{
		Manager:    m.name,
		Ecosystem:  precheck.PyPI,
		Subcommand: "install",
		Args:       args,
		Project: Project{
			Root:    root,
			Cwd:     cwd,
			Outputs: []string{filepath.ToSlash(outRel) + "/"},
		},
		// No persistent cache: resolving an sdist runs its setup code (see Notes), and
		// a cache written there could feed the next resolve poisoned index pages.
	}
	p.Sandbox.Credentials = pipCredentials(env)
	// Resolve: pip's own resolver, nothing installed.
	// The default build backend is resolved with the requirements, so that it is
	// checked and fetched too — except in hash-checking mode, where pip would
	// demand hashes for it (an sdist then needs its backend among the hashed
	// requirements, as pip itself requires there).
	backend := []string{"setuptools", "wheel"}
	// Nor when the user builds without isolation (the backend is what is installed
	// already) or without an index (bare pip could not fetch it either).
	if pipHashMode(a, env.Dir) || a.flags["no-build-isolation"] || a.flags["no-index"] || truthy(env.Getenv("PIP_NO_INDEX")) {
		backend = nil
	}
	// Resolving an sdist runs its metadata hook (setup.py egg_info, PEP 517
	// prepare_metadata): the step reaches only the configured indexes, through
	// phylum-box's proxy (--proxy is dropped: the proxy variables point there). Its
	// report comes out on standard output and is checked on the host
	// (pipResolver); whatever the step wrote is thrown away.
	venv := ""
	if len(targetOpts) == 0 {
		venv = out
	}
	p.Steps.Resolve = &Step{
		Args:   concat(pip, stripPipOpts(args, "report", "dry-run", "ignore-installed", "target", "prefix", "root", "quiet", "verbose", "proxy", "log", "log-file", "local-log"), backend, []string{"--dry-run", "--ignore-installed", "--report", "-", "--quiet"}),
		Egress: pipEgress(a, env, venv), Credentials: true,
		Name: pipShown(m.name, args),
	}
	// A resolve holding your credentials reaches only servers you configured (credhosts.go).
	if err := pipCheckCredentialHosts(m.name, a, env, venv, p); err != nil {
		return nil, err
	}
	cert := pipUserCert(env)
	pr := &pipResolver{src: pipGatherSources(a, env, venv), auth: pipUserAuth(env), home: env.Home, plan: p,
		certPEM: cert, client: pipHTTPClient(cert), pages: map[string][]pipLink{}}
	p.Steps.ResolveOutput = pr.resolve
	// Download: phylum-box's fetch program under the system python, isolated,
	// outside the project, fetching exactly the checked list by hash; it runs no
	// package or project code, so this step keeps the network.
	sysPython, err := pipSystemPython(env)
	if err != nil {
		return nil, err
	}
	fetchArgs := []string{sysPython, "-I", "-S", filepath.Join(env.Home, pipFetchScript), filepath.Join(env.Home, pipFetchList), filepath.Join(work, "dist")}
	if cert != nil {
		fetchArgs = append(fetchArgs, filepath.Join(env.Home, pipFetchCert))
	}
	p.Steps.Download = &Step{Args: fetchArgs, Network: true, Credentials: true, Dir: "/",
		Name: "phylum-box's fetch of the checked files (the system python3, isolated)"}
	p.Steps.Fetched = pipWork + "/dist" // read by the static analysis before the build
	// A local project's by-products (pipByproducts): egg-info synced, a new build/
	// removed with the download dir.
	byOut, byRemove := pipByproducts(a, env, root)
	p.Project.Outputs = append(p.Project.Outputs, byOut...)
	buildScript := `"$0" -I -m pip "$@" --no-index --find-links "$PHYLUM_BOX_PIP_DIST"; rc=$?; rm -rf "$PHYLUM_BOX_PIP_WORK"; ` +
		`printf '%s\n' "$PHYLUM_BOX_PIP_BYPRODUCTS" | while IFS= read -r d; do [ -z "$d" ] || rm -rf "$d"; done; exit $rc`
	p.Steps.Build = &Step{
		Args: concat([]string{"sh", "-c", buildScript, python}, stripPipOpts(args, "report", "index-url", "extra-index-url", "find-links")),
		Env: []string{"PHYLUM_BOX_PIP_DIST=" + filepath.Join(work, "dist"), "PHYLUM_BOX_PIP_WORK=" + work, "PIP_NO_CACHE_DIR=1",
			"PHYLUM_BOX_PIP_BYPRODUCTS=" + strings.Join(byRemove, "\n")},
		Name: pipShown(m.name, args),
	}
	if len(targetOpts) > 0 {
		p.Notes = append(p.Notes, "pip: installing into --"+strings.Join(targetOpts, "/--")+" "+outRel)
	} else {
		p.Notes = append(p.Notes, "pip: installing into the virtualenv "+outRel)
	}
	p.Notes = append(p.Notes, "pip: "+pipSdistNote)
	p.Steps.UpToDate = pipNoopCheck(p, a, env, root, venv) // pipnoop.go
	return p, nil
}

// pipShown is the user's pip command for messages, URLs without their user info.
func pipShown(name string, args []string) string {
	shown := []string{name}
	for _, a := range args {
		if strings.Contains(a, "://") {
			if k, v, ok := strings.Cut(a, "="); ok && strings.HasPrefix(k, "-") {
				a = k + "=" + redact.URL(v)
			} else {
				a = redact.URL(a)
			}
		}
		shown = append(shown, a)
	}
	return strings.Join(shown, " ")
}

// pipCommands are the pip commands phylum-box does not pass through: "install" is
// planned, "refuse" refused.
var pipCommands = map[string]string{"install": "install", "download": "refuse", "wheel": "refuse"}

// pipSdistNote is the caveat of every pip plan.
const pipSdistNote = "resolving a source distribution runs its metadata hook (setup.py egg_info) in the resolve step, as pip cannot read its dependencies otherwise; " +
	"that step has no network of its own, only a proxy to the configured package indexes, and nothing it writes or reports reaches a later step unchecked"

func pipBuildRefusal(name, cmd string) *Refusal {
	return &Refusal{Manager: name, Reason: fmt.Sprintf("`pip %s` builds source distributions (runs their setup.py) with the network on", cmd),
		Advice: "install into the project's virtualenv with `phylum-box pip install ...` instead"}
}

func pipDryRunRefusal(name string) *Refusal {
	return &Refusal{Manager: name, Reason: "`pip install --dry-run` runs the setup code of source distributions with the network on",
		Advice: "use `phylum-box check` on a lockfile or requirements file, or run the real install through phylum-box"}
}

func pipUserRefusal(name string) *Refusal {
	return &Refusal{Manager: name, Reason: "--user installs into your home directory (~/.local), outside any project, where phylum-box cannot check, contain or roll it back",
		Advice: "create a virtualenv in the project (`python3 -m venv .venv`) and run `phylum-box pip install ...` there, or use --target DIR inside the project"}
}

func pipOutsideRefusal(name, opt, val, dir string) *Refusal {
	return &Refusal{Manager: name, Reason: fmt.Sprintf("--%s %s is outside the project (%s)", opt, val, dir),
		Advice: fmt.Sprintf("run phylum-box from the directory that contains it, or name a directory below %s", dir)}
}

// Doc describes pip from pipCommands.
func (m pipManager) Doc() ManagerDoc {
	var d ManagerDoc
	for _, cmd := range sortedKeys(pipCommands) {
		if pipCommands[cmd] == "refuse" {
			d.Refused = append(d.Refused, DocRefusal{Form: m.name + " " + cmd, Example: []string{cmd, "PKG"}, Advice: pipBuildRefusal(m.name, cmd).Advice})
			continue
		}
		d.Intercepted = append(d.Intercepted, DocCommand{Name: cmd,
			How: "resolved by pip (--dry-run --report; what that step wrote is thrown away); every file its report names is checked on the host against the configured index (listed there for that name and version, the index's hash) and prechecked, fetched by phylum-box under the system python, then installed in the sandbox with the network off"})
	}
	d.Refused = append(d.Refused,
		DocRefusal{Form: m.name + " install --dry-run", Example: []string{"install", "--dry-run", "PKG"}, Advice: pipDryRunRefusal(m.name).Advice},
		DocRefusal{Form: m.name + " install --user", Example: []string{"install", "--user", "PKG"}, Advice: pipUserRefusal(m.name).Advice},
		DocRefusal{Form: "--target, --prefix or --root outside the working directory", Example: []string{"install", "--target", "/usr/lib/python3/dist-packages", "PKG"},
			Advice: pipOutsideRefusal(m.name, "target", "DIR", "the working directory").Advice})
	d.PassThrough = []string{"list", "show PKG", "freeze", "uninstall PKG", "install --help"}
	d.Notes = []string{
		"install goes into the virtualenv ($VIRTUAL_ENV, else .venv found upwards), which must be inside the project, or into --target, --prefix or --root below the working directory; with neither it is refused.",
		"Caveat: " + pipSdistNote + ".",
	}
	return d
}

// pipHashMode reports whether pip will check hashes: --require-hashes, or a
// requirements file with --hash options.
func pipHashMode(a *pipArgv, dir string) bool {
	if a.flags["require-hashes"] {
		return true
	}
	for _, f := range append(a.opts["requirement"], a.opts["constraint"]...) {
		if !filepath.IsAbs(f) {
			f = filepath.Join(dir, f)
		}
		if data, err := os.ReadFile(f); err == nil && strings.Contains(string(data), "--hash") {
			return true
		}
	}
	return false
}

// stripPipOpts removes the named long options (and their values) from a pip argv,
// keeping everything else in order. Short forms of value options are mapped.
func stripPipOpts(args []string, names ...string) []string {
	drop := map[string]bool{}
	for _, n := range names {
		drop[n] = true
	}
	var out []string
	for i := 0; i < len(args); i++ {
		w := args[i]
		if w == "--" {
			return append(out, args[i:]...)
		}
		if strings.HasPrefix(w, "--") {
			name, _, hasVal := strings.Cut(w[2:], "=")
			name = pipLong(name)
			if drop[name] {
				if pipValueOpts[name] && !hasVal {
					i++
				}
				continue
			}
		} else if strings.HasPrefix(w, "-") && len(w) == 2 {
			if long, ok := pipShortValue[w[1]]; ok && drop[long] {
				i++
				continue
			}
			if w == "-q" && drop["quiet"] || w == "-v" && drop["verbose"] {
				continue
			}
		} else if strings.HasPrefix(w, "-") && len(w) > 2 {
			if long, ok := pipShortValue[w[1]]; ok && drop[long] {
				continue
			}
			if strings.Trim(w[1:], "qv") == "" && (drop["quiet"] || drop["verbose"]) {
				continue // -qq, -vv: the captured report must be all the resolve prints
			}
		}
		out = append(out, w)
	}
	return out
}

// runScriptFromEnv runs the Python program in $PHYLUM_BOX_SCRIPT (the step's argv
// stays short enough to log).
const runScriptFromEnv = `import os, sys; sys.argv[0] = "phylum-box-fetch"; exec(compile(os.environ.pop("PHYLUM_BOX_SCRIPT"), "phylum-box-fetch", "exec"))`

// pipUserConfigFiles are the user's pip config files: the XDG one and the legacy
// ~/.pip/pip.conf.
func pipUserConfigFiles(env Env) []string {
	return []string{filepath.Join(env.ConfigHome(), "pip", "pip.conf"), filepath.Join(env.Home, ".pip", "pip.conf")}
}

// pipConfigFileEnv is the file PIP_CONFIG_FILE names, if any (os.DevNull turns the
// config files off; nothing to read).
func pipConfigFileEnv(env Env) []string {
	if f := env.Getenv("PIP_CONFIG_FILE"); f != "" && f != os.DevNull {
		return []string{f}
	}
	return nil
}

// pipCredentials carries the user's pip configuration into the sandbox, whose $HOME is
// empty: the secret version (with index passwords) for the network steps, a copy
// without them for the build.
func pipCredentials(env Env) *Credentials {
	var c Credentials
	for _, f := range append(pipUserConfigFiles(env), pipConfigFileEnv(env)...) {
		if rel, err := filepath.Rel(env.Home, f); err == nil && !strings.HasPrefix(rel, "..") {
			c.addConfig(f, rel)
		}
	}
	c.addConfig(filepath.Join(env.Home, ".netrc"), ".netrc")
	if len(c.Files) == 0 && len(c.Env) == 0 {
		return nil
	}
	return &c
}

// addConfig adds a file of the user's home (rel to $HOME) in two versions: as is for
// the network steps, without its credentials for the rest. A missing file is skipped.
func (c *Credentials) addConfig(hostPath, rel string) {
	data, err := os.ReadFile(hostPath)
	if err != nil {
		return
	}
	cf := ConfigFile{Home: filepath.ToSlash(rel), Secret: data}
	if filepath.Base(rel) != ".netrc" && filepath.Base(rel) != "credentials.toml" && filepath.Base(rel) != "credentials" {
		cf.Public = []byte(rootfs.SanitizeConfig(string(data)))
	}
	c.Files = append(c.Files, cf)
}

// urlUserinfoRE finds a URL with a password in it (https://user:pass@host).
var urlUserinfoRE = lazyre.New(`://[^/@\s:]+:[^/@\s]*@`)

// findUpDir returns dir/name for the first dir from start upwards where dir/name/marker
// exists, or "".
func findUpDir(start, name, marker string) string {
	w := newAncestorWalk(start) // ancestors.go: not above a directory the user does not control
	for d := start; d == start || w.trusted(d); d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, name, marker)); err == nil {
			return filepath.Join(d, name)
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
	return ""
}

// within reports whether p is root or below it (both clean and absolute).
func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

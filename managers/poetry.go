package managers

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/phylum-box/phylum-box/internal/redact"
	"github.com/phylum-box/phylum-box/precheck"
)

func init() { Register(poetryManager{}) }

// poetryManager plans Poetry: the lockfile is resolved with `poetry lock` (or add,
// remove, update with --lock), poetry.lock is prechecked, the locked distributions
// are fetched by URL and hash with the network on, and the build installs them into
// the in-project .venv with pip, offline (`poetry install` itself asks the index
// for links even with a lockfile, so it cannot run without the network).
type poetryManager struct{}

func (poetryManager) Name() string      { return "poetry" }
func (poetryManager) Ecosystem() string { return precheck.PyPI }

// poetryWork holds the fetched distributions between Download and Build; the build
// deletes it.
const poetryWork = ".phylum-box-poetry"

// poetryValueOpts take a value (Poetry's global and the intercepted commands' options).
var poetryValueOpts = map[string]bool{
	"--directory": true, "-C": true, "--group": true, "-G": true, "--only": true, "--without": true,
	"--with": true, "--extras": true, "-E": true, "--source": true, "--python": true,
}

// poetryIntercepted are the commands that resolve or install; the rest pass through.
var poetryIntercepted = map[string]bool{"add": true, "install": true, "update": true, "lock": true, "remove": true, "sync": true}

func poetryDirectoryRefusal(w string) *Refusal {
	return &Refusal{Manager: "poetry", Reason: w + " is not supported by phylum-box yet", Advice: "run poetry from the project's directory"}
}

// poetryDocHow says what phylum-box does with each command of poetryIntercepted.
var poetryDocHow = map[string]string{
	"add":     "resolved (poetry add --lock), prechecked, then installed into the project's .venv in the sandbox with the network off",
	"remove":  "resolved (poetry remove --lock), prechecked, then installed into the project's .venv in the sandbox with the network off",
	"update":  "resolved (poetry update --lock), prechecked, then installed into the project's .venv in the sandbox with the network off",
	"lock":    "resolved and prechecked; nothing is installed",
	"install": "a missing or stale poetry.lock is locked (--no-update), prechecked, then installed into the project's .venv in the sandbox with the network off",
	"sync":    "a missing or stale poetry.lock is locked (--no-update), prechecked, then installed into the project's .venv in the sandbox with the network off",
}

// Doc describes Poetry from poetryIntercepted.
func (poetryManager) Doc() ManagerDoc {
	var d ManagerDoc
	for _, cmd := range sortedKeys(poetryIntercepted) {
		d.Intercepted = append(d.Intercepted, DocCommand{Name: cmd, How: poetryDocHow[cmd]})
	}
	d.Refused = []DocRefusal{{Form: "-C or --directory, with any command", Example: []string{"-C", "DIR", "install"}, Advice: poetryDirectoryRefusal("-C").Advice}}
	d.PassThrough = []string{"show", "run pytest", "build", "install --dry-run", "install --help"}
	d.Notes = []string{
		"Intercepted commands need a pyproject.toml in the working directory or above, and no active virtualenv outside the project.",
		"The locked files are installed with pip, offline; the project itself with `poetry install --only-root`.",
		"Caveat: `poetry lock` may build a source distribution to read its metadata, which runs its setup code in the resolve step; " +
			"that step has no network of its own, only a proxy to the configured sources (and PyPI unless a source is the default one).",
	}
	return d
}

func (m poetryManager) Plan(args []string, env Env) (*Plan, error) {
	if p, err, ok := poetryRunOfManager(args, env); ok {
		return p, err // poetry run pip install …: planned as the manager (execmanager.go)
	}
	var used map[string]bool
	p, err := env.checkedPlan(m.plan(args, env, &used))
	p, err = finish("poetry", p, err, env)
	if p != nil && p.Sandbox.Credentials != nil && used != nil {
		p.Sandbox.Credentials.Env = poetryUsedEnv(p.Sandbox.Credentials.Env, used)
	}
	if err == nil && p != nil && !p.Passthrough {
		// A resolve holding credentials reaches only servers you configured (credhosts.go).
		if rerr := poetryCheckCredentialHosts(p, env, args); rerr != nil {
			return nil, rerr
		}
	}
	return p, err
}

func (m poetryManager) plan(args []string, env Env, usedOut *map[string]bool) (*Plan, error) {
	cmd, idx := "", -1
	for i := 0; i < len(args); i++ {
		w := args[i]
		if poetryValueOpts[w] {
			i++
			continue
		}
		if !strings.HasPrefix(w, "-") {
			cmd, idx = w, i
			break
		}
	}
	var rest []string
	if idx >= 0 {
		rest = args[idx+1:]
	}
	for _, w := range args {
		if w == "--help" || w == "-h" || w == "--dry-run" {
			return passthrough(m, cmd, args), nil
		}
		if w == "--directory" || w == "-C" || strings.HasPrefix(w, "--directory=") {
			return nil, poetryDirectoryRefusal(w)
		}
	}
	if !poetryIntercepted[cmd] {
		return passthrough(m, cmd, args), nil
	}
	root := findUp(env.Dir, "pyproject.toml")
	if root == "" {
		return nil, &Refusal{Manager: "poetry", Reason: "no pyproject.toml in " + env.Dir + " or above", Advice: "run it in a Poetry project (poetry init)"}
	}
	if venv := env.Getenv("VIRTUAL_ENV"); venv != "" && !within(root, venv) {
		return nil, &Refusal{Manager: "poetry", Reason: "the active virtualenv " + venv + " is outside the project",
			Advice: "deactivate it; phylum-box installs into the project's .venv (virtualenvs.in-project)"}
	}
	cwd, _ := filepath.Rel(root, env.Dir)
	work := filepath.Join(root, poetryWork)
	pyprojectPath := filepath.Join(root, "pyproject.toml")
	if why := projectFileProblem(root, pyprojectPath); why != "" {
		return nil, &Refusal{Manager: "poetry", Reason: why, Advice: "make pyproject.toml the project's own file"}
	}
	if _, err := os.Lstat(work); err == nil {
		// The build installs what is in it: only the download may fill it.
		return nil, &Refusal{Manager: "poetry", Reason: work + " exists in the project (phylum-box's download dir)", Advice: "remove it"}
	}
	pyproject, err := os.ReadFile(pyprojectPath)
	if err != nil {
		return nil, &Refusal{Manager: "poetry", Reason: "reading pyproject.toml: " + err.Error(), Advice: "run it in a Poetry project"}
	}
	sources, err := poetrySources(pyproject, env)
	if err != nil {
		return nil, err
	}
	python, poetryBin, hostPATH, hostDirs, err := poetryHostTools(env, root)
	if err != nil {
		return nil, err
	}
	// Copies, not symlinks to /usr/bin/python3: the sync back refuses symlinks that
	// point out of the project. Resolve and Download make no venv at all.
	stepEnv := []string{
		"POETRY_VIRTUALENVS_IN_PROJECT=true", "POETRY_VIRTUALENVS_OPTIONS_ALWAYS_COPY=true",
		"POETRY_NO_INTERACTION=1", "PIP_DISABLE_PIP_VERSION_CHECK=1",
		// No keyring: there is no session bus in the sandbox, and a lookup can hang.
		"PYTHON_KEYRING_BACKEND=keyring.backends.null.Keyring",
	}
	// The networked steps find no program in the project (an activated .venv/bin
	// first on PATH would hold a poetry, git or python of the project's choosing).
	// Nor do they use the project's .venv: with virtualenvs.in-project Poetry
	// takes an existing .venv as the environment and runs its python (and so its
	// .pth files) while locking, with the network and the credentials.
	noVenv := append(stepEnv[:len(stepEnv):len(stepEnv)], "POETRY_VIRTUALENVS_CREATE=false", "POETRY_VIRTUALENVS_IN_PROJECT=false", "PATH="+hostPATH)
	p := &Plan{
		Manager:    "poetry",
		Ecosystem:  precheck.PyPI,
		Subcommand: cmd,
		Args:       args,
		Project: Project{
			Root:      root,
			Cwd:       cwd,
			Lockfiles: []string{"poetry.lock"},
			Outputs:   []string{"poetry.lock", ".venv/"},
			Sealed:    []string{"pyproject.toml", "poetry.lock"},
		},
		// No persistent cache: `poetry lock` may build an sdist to read its metadata
		// (its setup code runs), and must not leave anything the next run trusts.
	}
	used := poetryUsedSources(pyproject, sources)
	*usedOut = used
	p.Sandbox.Credentials = poetryCredentials(env, used)
	if err := poetryHideLocalConfig(p, root); err != nil {
		return nil, err
	}
	// `poetry lock` builds an sdist's metadata when it cannot read it statically
	// (setup.py egg_info in a throwaway venv): the resolve step reaches only the
	// project's and Poetry's configured sources, through phylum-box's proxy.
	egress := poetryEgress(pyprojectPath, env, rest)
	// Poetry installs an sdist's build requirements (setuptools, wheel) with pip,
	// which asks PyPI: with a default source PyPI is not among the reachable
	// servers, and pip's retries through the refusing proxy took `poetry lock` from
	// 2 s to 18 s. pip is pointed at the default source, and Debian's wheels.
	noVenv = append(noVenv, poetryBuildEnvIndex(pyproject, sources, env)...)
	fetch := &poetryFetch{sources: sources, mayChange: []string{"poetry.lock"}, plan: p}
	p.Steps.Resolved = fetch.resolved
	switch cmd {
	case "add", "remove", "update":
		p.Steps.Resolve = &Step{Args: concat([]string{poetryBin, cmd}, rest, []string{"--lock"}), Env: noVenv, Egress: egress, Credentials: true,
			Name: "poetry " + cmd + " --lock"}
		if cmd != "update" {
			p.Project.Outputs = append(p.Project.Outputs, "pyproject.toml")
			fetch.mayChange = append(fetch.mayChange, "pyproject.toml")
		}
	case "lock":
		p.Steps.Resolve = &Step{Args: concat([]string{poetryBin, "lock"}, rest), Env: noVenv, Egress: egress, Credentials: true, Name: "poetry lock"}
		p.Project.Outputs = []string{"poetry.lock"}
		return p, finishHostDirs(p, hostDirs)
	default: // install, sync
		// A current lockfile is the resolution; a missing or stale one is locked
		// without upgrading what it pins (what `poetry install` would do).
		p.Steps.Resolve = &Step{Args: []string{"/bin/sh", "-c", `if [ -e poetry.lock ] && "$0" lock --check >/dev/null 2>&1; then exit 0; fi; exec "$0" lock --no-update`, poetryBin},
			Env: noVenv, Egress: egress, Credentials: true, Name: "poetry lock --no-update"}
	}
	if cwd != "." {
		p.Steps.Resolve.Args = concat([]string{"/bin/sh", "-c", `cd "$0" && exec "$@"`, root}, p.Steps.Resolve.Args)
	}
	for i := 0; i < len(rest); i++ {
		switch w := rest[i]; {
		case (w == "--with" || w == "--only" || w == "--without") && i+1 < len(rest):
			fetch.opts = append(fetch.opts, w+"="+rest[i+1])
			i++
		case strings.HasPrefix(w, "--with=") || strings.HasPrefix(w, "--only=") || strings.HasPrefix(w, "--without="):
			fetch.opts = append(fetch.opts, w)
		case w == "--no-dev" || w == "--only-root" || w == "--no-root" || w == "--sync":
			fetch.opts = append(fetch.opts, w)
		}
	}
	// The download is phylum-box's own fetch of the validated list (poetryfetch.go):
	// the system interpreter, isolated, outside the project.
	p.Steps.Download = &Step{
		Args:    []string{python, "-I", "-S", "-c", runScriptFromEnv, filepath.Join(env.Home, poetryFetchList), filepath.Join(work, "dist")},
		Env:     []string{"PHYLUM_BOX_SCRIPT=" + poetryFetchScript, "PATH=" + hostPATH},
		Network: true, Credentials: true, Dir: "/", Name: "poetry: fetching the locked files",
	}
	p.Steps.Fetched = poetryWork + "/dist" // read by the static analysis before the build
	p.Steps.Build = &Step{
		Args: []string{"sh", "-c", `eval "$PHYLUM_BOX_SCRIPT"`, work, filepath.Join(env.Home, poetryBuildFiles)},
		Env: append(stepEnv, "PIP_NO_CACHE_DIR=1", "PIP_NO_INDEX=1", "PHYLUM_BOX_SCRIPT="+poetryBuildScript,
			"PHYLUM_BOX_NO_PROGRAMS="+pipNoProgramsPATH),
		Name: "poetry install",
	}
	p.Notes = append(p.Notes, "poetry: installing into the project's .venv with pip from the locked, prechecked files (offline); the root package with `poetry install --only-root`")
	p.Steps.UpToDate = poetryNoopCheck(cmd, args, env, root) // poetrynoop.go
	return p, finishHostDirs(p, hostDirs)
}

// finishHostDirs records the directories the steps need shown (an interpreter
// under $HOME); finish puts the tools' own before them.
func finishHostDirs(p *Plan, dirs []string) error {
	p.Sandbox.HostPaths = append(p.Sandbox.HostPaths, dirs...)
	return nil
}

// poetryBuildScript (a new .venv is made with --copies: the sync back refuses
// symlinks to absolute paths such as /usr/bin/python3) installs what the download
// step fetched, offline: the locked versions as constraints, the project's direct
// dependencies as requirements (pip evaluates markers and extras below them) —
// both written by phylum-box from the validated lockfile ($1) —, Debian's
// setuptools/wheel wheels for building sdists, then the project itself. When
// the download fetched wheels only, pip builds nothing and starts no program:
// its PATH names none, which spares its User-Agent probes (py8_probes.go).
const poetryBuildScript = `set -e
work="$0" in="$1"
[ -x .venv/bin/python ] || python3 -m venv --copies .venv
links="--find-links $work/dist"
[ -d /usr/share/python-wheels ] && links="$links --find-links /usr/share/python-wheels"
if [ -s "$in/requirements.txt" ]; then
	path="$PATH"
	for f in "$work"/dist/*; do
		case "$f" in *.whl) ;; *) path="$PATH" && break ;; esac
		path="${PHYLUM_BOX_NO_PROGRAMS:-$PATH}"
	done
	PATH="$path" .venv/bin/python -m pip install --no-index $links -c "$in/constraints.txt" -r "$in/requirements.txt"
fi
if [ -s "$in/install-root" ]; then
	poetry install --only-root
fi
rm -rf "$work"
`

// poetryConfigDir is where Poetry keeps config.toml and auth.toml.
func poetryConfigDir(env Env) string {
	if d := env.Getenv("POETRY_CONFIG_DIR"); d != "" {
		return d
	}
	return filepath.Join(env.ConfigHome(), "pypoetry")
}

// poetryCredentials carries Poetry's user config (sources, settings) and auth.toml
// (http-basic passwords) for the network steps; the build sees the config only.
// The networked steps get the http-basic credentials of the sources this project
// uses only (used, by poetrySourceKey), and no pypi-token: `poetry lock` runs
// sdists' metadata hooks, and a path dependency's setup.py, with a proxy to every
// server the project names — the password of an index the project never uses, or
// the PyPI upload token, reached a second source the project named (measured).
// Poetry itself sends neither while locking.
func poetryCredentials(env Env, used map[string]bool) *Credentials {
	dir := poetryConfigDir(env)
	var c Credentials
	for _, name := range []string{"config.toml", "auth.toml"} {
		f := filepath.Join(dir, name)
		rel, err := filepath.Rel(env.Home, f)
		if err != nil || strings.HasPrefix(rel, "..") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		cf := ConfigFile{Home: filepath.ToSlash(rel), Secret: poetryUsedAuth(data, used)}
		if name == "config.toml" {
			cf.Public = data
		}
		if cf.Secret == nil && cf.Public == nil {
			continue
		}
		c.Files = append(c.Files, cf)
	}
	if len(c.Files) == 0 {
		return nil
	}
	return &c
}

// poetryUsedSources are the keys (poetrySourceKey) of the sources `poetry lock`
// may read with credentials: those the pyproject names, a source of the user's
// config whose URL is one of theirs (Poetry matches credentials by URL too), and
// PyPI.
func poetryUsedSources(pyproject []byte, sources map[string]*poetrySource) map[string]bool {
	used := map[string]bool{"PYPI": true}
	var doc poetryPyproject
	if _, err := toml.Decode(string(pyproject), &doc); err != nil {
		return used
	}
	for _, src := range doc.Tool.Poetry.Source {
		if src.Name == "" {
			continue
		}
		used[poetrySourceKey(src.Name)] = true
		for k, s := range sources {
			if src.URL != "" && sameIndexURL(s.URL, src.URL) {
				used[k] = true
			}
		}
	}
	return used
}

// poetryUsedAuth is a Poetry config or auth.toml with only the http-basic
// entries of used sources and no pypi-token; nil when nothing is left or it does
// not parse (Poetry would refuse it too).
func poetryUsedAuth(data []byte, used map[string]bool) []byte {
	var doc map[string]any
	if _, err := toml.Decode(string(data), &doc); err != nil {
		return nil
	}
	delete(doc, "pypi-token")
	if hb, ok := doc["http-basic"].(map[string]any); ok {
		for name := range hb {
			if !used[poetrySourceKey(name)] {
				delete(hb, name)
			}
		}
		if len(hb) == 0 {
			delete(doc, "http-basic")
		}
	}
	// A password in the URL of a source the project does not use goes too.
	if repos, ok := doc["repositories"].(map[string]any); ok {
		for name, r := range repos {
			if rm, ok := r.(map[string]any); ok && !used[poetrySourceKey(name)] {
				if u, ok := rm["url"].(string); ok {
					rm["url"] = redact.URL(u)
				}
			}
		}
	}
	if len(doc) == 0 {
		return nil
	}
	var b bytes.Buffer
	if err := toml.NewEncoder(&b).Encode(doc); err != nil {
		return nil
	}
	return b.Bytes()
}

// poetryUsedEnv drops from the networked steps' variables the credentials of
// sources the project does not use and every POETRY_PYPI_TOKEN_* (see
// poetryCredentials).
func poetryUsedEnv(env []string, used map[string]bool) []string {
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "POETRY_PYPI_TOKEN_") || !(strings.HasPrefix(k, "POETRY_") || strings.HasPrefix(k, "PIP_")) {
			continue // another tool's token (CARGO_*, BUNDLE_*) has nothing to do there
		}
		if name, ok := strings.CutPrefix(k, "POETRY_HTTP_BASIC_"); ok {
			name = strings.TrimSuffix(strings.TrimSuffix(name, "_USERNAME"), "_PASSWORD")
			if !used[poetrySourceKey(name)] {
				continue
			}
		}
		out = append(out, kv)
	}
	return out
}

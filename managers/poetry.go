package managers

import (
	"os"
	"path/filepath"
	"strings"

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
	p, err := m.plan(args, env)
	return finishTool(p, err, env, nil)
}

func (m poetryManager) plan(args []string, env Env) (*Plan, error) {
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
	// Copies, not symlinks to /usr/bin/python3: the sync back refuses symlinks that
	// point out of the project. Resolve and Download make no venv at all.
	stepEnv := []string{
		"POETRY_VIRTUALENVS_IN_PROJECT=true", "POETRY_VIRTUALENVS_OPTIONS_ALWAYS_COPY=true",
		"POETRY_NO_INTERACTION=1", "PIP_DISABLE_PIP_VERSION_CHECK=1",
		// No keyring: there is no session bus in the sandbox, and a lookup can hang.
		"PYTHON_KEYRING_BACKEND=keyring.backends.null.Keyring",
	}
	noVenv := append(stepEnv[:len(stepEnv):len(stepEnv)], "POETRY_VIRTUALENVS_CREATE=false")
	p := &Plan{
		Manager: "poetry", Ecosystem: precheck.PyPI, Subcommand: cmd, Args: args,
		Root: root, Cwd: cwd,
		Lockfiles: []string{"poetry.lock"},
		CarryOver: []string{"pyproject.toml", "poetry.lock"},
		Outputs:   []string{"poetry.lock", ".venv/"},
		Sealed:    []string{"pyproject.toml", "poetry.lock"},
		// No persistent cache: `poetry lock` may build an sdist to read its metadata
		// (its setup code runs), and must not leave anything the next run trusts.
	}
	p.Credentials = poetryCredentials(env)
	// `poetry lock` builds an sdist's metadata when it cannot read it statically
	// (setup.py egg_info in a throwaway venv): the resolve step reaches only the
	// project's and Poetry's configured sources, through phylum-box's proxy.
	egress := poetryEgress(filepath.Join(root, "pyproject.toml"), env, rest)
	switch cmd {
	case "add", "remove", "update":
		p.Resolve = &Step{Args: concat([]string{"poetry", cmd}, rest, []string{"--lock"}), Env: noVenv, Egress: egress, Credentials: true}
		if cmd != "update" {
			p.Outputs = append(p.Outputs, "pyproject.toml")
		}
	case "lock":
		p.Resolve = &Step{Args: concat([]string{"poetry", "lock"}, rest), Env: noVenv, Egress: egress, Credentials: true}
		p.Outputs = []string{"poetry.lock"}
		return p, nil
	default: // install, sync
		// A current lockfile is the resolution; a missing or stale one is locked
		// without upgrading what it pins (what `poetry install` would do).
		p.Resolve = &Step{Args: []string{"sh", "-c", `if [ -e poetry.lock ] && poetry lock --check >/dev/null 2>&1; then exit 0; fi; exec poetry lock --no-update`},
			Env: noVenv, Egress: egress, Credentials: true}
	}
	if cwd != "." {
		p.Resolve.Args = concat([]string{"sh", "-c", `cd "$0" && exec "$@"`, root}, p.Resolve.Args)
	}
	var groups []string
	for i := 0; i < len(rest); i++ {
		switch w := rest[i]; {
		case (w == "--with" || w == "--only" || w == "--without") && i+1 < len(rest):
			groups = append(groups, w+"="+rest[i+1])
			i++
		case strings.HasPrefix(w, "--with=") || strings.HasPrefix(w, "--only=") || strings.HasPrefix(w, "--without="):
			groups = append(groups, w)
		case w == "--no-dev" || w == "--only-root" || w == "--no-root" || w == "--sync":
			groups = append(groups, w)
		}
	}
	if cmd == "sync" {
		groups = append(groups, "--sync")
	}
	p.Download = &Step{
		Args:    concat([]string{"python3", "-c", runScriptFromEnv, root, work}, groups),
		Env:     append(noVenv[:len(noVenv):len(noVenv)], "PHYLUM_BOX_SCRIPT="+poetryFetchScript),
		Network: true, Credentials: true,
	}
	p.Build = &Step{
		Args:    []string{"sh", "-c", `eval "$PHYLUM_BOX_SCRIPT"`, work},
		Env:     append(stepEnv, "PIP_NO_CACHE_DIR=1", "PIP_NO_INDEX=1", "PHYLUM_BOX_SCRIPT="+poetryBuildScript),
		Scripts: true,
	}
	p.Notes = append(p.Notes, "poetry: installing into the project's .venv with pip from the locked, prechecked files (offline); the root package with `poetry install --only-root`")
	return p, nil
}

// poetryBuildScript (a new .venv is made with --copies: the sync back refuses
// symlinks to absolute paths such as /usr/bin/python3) installs what the download step fetched, offline: the locked
// versions as constraints, the project's direct dependencies as requirements (pip
// evaluates markers and extras below them), Debian's setuptools/wheel wheels for
// building sdists, then the project itself.
const poetryBuildScript = `set -e
work="$0"
[ -x .venv/bin/python ] || python3 -m venv --copies .venv
links="--find-links $work/dist"
[ -d /usr/share/python-wheels ] && links="$links --find-links /usr/share/python-wheels"
if [ -s "$work/requirements.txt" ]; then
	.venv/bin/python -m pip install --no-index $links -c "$work/constraints.txt" -r "$work/requirements.txt"
fi
if [ -e "$work/install-root" ]; then
	poetry install --only-root
fi
rm -rf "$work"
`

// poetryFetchScript reads poetry.lock and pyproject.toml, downloads the locked
// files (those that fit this interpreter, else the sdist) from each package's
// source with their hashes checked, and writes the constraints and the direct
// requirements for the build. It runs nothing it fetches.
const poetryFetchScript = `
import base64, hashlib, html.parser, os, re, sys, urllib.parse, urllib.request
try:
    import tomllib
except ImportError:
    from pip._vendor import tomli as tomllib
root, work = sys.argv[1], sys.argv[2]
opts = sys.argv[3:]
dist = os.path.join(work, "dist")
os.makedirs(dist, exist_ok=True)
with open(os.path.join(root, "poetry.lock"), "rb") as f:
    lock = tomllib.load(f)
with open(os.path.join(root, "pyproject.toml"), "rb") as f:
    project = tomllib.load(f)
tp = project.get("tool", {}).get("poetry", {})
def norm(n): return re.sub(r"[-_.]+", "-", n).lower()
sources = {s["name"]: s["url"] for s in tp.get("source", [])}
default = next((s["url"] for s in tp.get("source", []) if s.get("default")), "https://pypi.org/simple/")
def creds(name, url):
    k = re.sub(r"[^A-Z0-9]", "_", name.upper())
    u, p = os.environ.get("POETRY_HTTP_BASIC_%s_USERNAME" % k), os.environ.get("POETRY_HTTP_BASIC_%s_PASSWORD" % k)
    if u is not None:
        return (u, p or "")
    parts = urllib.parse.urlsplit(url)
    if parts.username:
        return (urllib.parse.unquote(parts.username), urllib.parse.unquote(parts.password or ""))
    return None
def get(url, auth):
    parts = urllib.parse.urlsplit(url)
    req = urllib.request.Request(urllib.parse.urlunsplit(parts._replace(netloc=parts.hostname + (":%d" % parts.port if parts.port else ""))))
    if auth:
        req.add_header("Authorization", "Basic " + base64.b64encode(("%s:%s" % auth).encode()).decode())
    return urllib.request.urlopen(req, timeout=120).read()
class Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(); self.links = {}
    def handle_starttag(self, tag, attrs):
        if tag == "a":
            href = dict(attrs).get("href", "")
            name = urllib.parse.unquote(urllib.parse.urlsplit(href).path.rsplit("/", 1)[-1])
            self.links[name] = href
try:
    from pip._vendor.packaging.tags import sys_tags
    from pip._vendor.packaging.utils import parse_wheel_filename
    supported = set(sys_tags())
except Exception:
    supported = None
def fits(fn):
    if not fn.endswith(".whl") or supported is None:
        return False
    try:
        return bool(set(parse_wheel_filename(fn)[3]) & supported)
    except Exception:
        return False
pins = []
for pkg in lock.get("package", []):
    src = pkg.get("source") or {}
    if src.get("type") in ("directory", "file", "git", "url"):
        continue  # not from an index: reported as not checkable, pip reads it itself
    files = pkg.get("files") or lock.get("metadata", {}).get("files", {}).get(pkg["name"], [])
    wheels = [f for f in files if fits(f["file"])]
    chosen = wheels[:1] or [f for f in files if not f["file"].endswith(".whl")][:1]
    if not chosen:
        continue
    pins.append("%s==%s" % (pkg["name"], pkg["version"]))
    index = src.get("url") or default
    auth = creds(src.get("reference", ""), index)
    page = Links(); page.feed(get(index.rstrip("/") + "/" + norm(pkg["name"]) + "/", auth).decode("utf-8", "replace"))
    for f in chosen:
        href = page.links.get(f["file"])
        if href is None:
            sys.exit("phylum-box: %s is not on %s any more" % (f["file"], index))
        data = get(urllib.parse.urljoin(index.rstrip("/") + "/" + norm(pkg["name"]) + "/", href), auth)
        alg, _, want = f["hash"].partition(":")
        if hashlib.new(alg, data).hexdigest() != want:
            sys.exit("phylum-box: %s: %s hash mismatch (the index served other bytes than the lockfile pins)" % (f["file"], alg))
        with open(os.path.join(dist, f["file"]), "wb") as out:
            out.write(data)
        print("fetched", f["file"])
with open(os.path.join(work, "constraints.txt"), "w") as f:
    f.write("\n".join(pins) + "\n")
groups = {"main": tp.get("dependencies", {})}
for g, spec in tp.get("group", {}).items():
    if not spec.get("optional"):
        groups[g] = spec.get("dependencies", {})
if tp.get("dev-dependencies"):
    groups["dev"] = tp["dev-dependencies"]
only = [x for o in opts if o.startswith("--only=") for x in o[7:].split(",")]
without = [x for o in opts if o.startswith("--without=") for x in o[10:].split(",")]
if "--no-dev" in opts:
    without.append("dev")
reqs = []
if "--only-root" not in opts:
    for g, deps in groups.items():
        if (only and g not in only) or g in without:
            continue
        for name, spec in deps.items():
            if name.lower() == "python" or (isinstance(spec, dict) and (spec.get("optional") or "path" in spec or "git" in spec or "url" in spec)):
                continue
            extras = spec.get("extras", []) if isinstance(spec, dict) else []
            reqs.append(name + ("[%s]" % ",".join(extras) if extras else ""))
with open(os.path.join(work, "requirements.txt"), "w") as f:
    f.write("\n".join(reqs) + ("\n" if reqs else ""))
if "--no-root" not in opts and tp.get("packages", True) and tp.get("package-mode", True):
    open(os.path.join(work, "install-root"), "w").close()
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
func poetryCredentials(env Env) *Credentials {
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
		cf := ConfigFile{Home: filepath.ToSlash(rel), Secret: data}
		if name == "config.toml" {
			cf.Public = data
		}
		c.Files = append(c.Files, cf)
	}
	if len(c.Files) == 0 {
		return nil
	}
	return &c
}

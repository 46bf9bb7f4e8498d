package managers

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/phylum-box/phylum-box/internal/lazyre"
	"github.com/phylum-box/phylum-box/internal/redact"
	"github.com/phylum-box/phylum-box/rootfs"
)

// pip's and poetry's resolve steps run package and project code (an sdist's
// setup.py or PEP 517 metadata hook, a path dependency's build) while holding
// the user's index credentials, with a proxy to the servers in Step.Egress. A
// project that names a server of its own next to the user's private index (a
// second source, an --extra-index-url in a requirements file, a url or git
// dependency) had that code send it the password (measured). So: a step that
// holds credentials reaches only the servers the USER configured (their own
// config files and variables, the command line they typed) and PyPI when none of
// those replaces it; a server only a project file names is refused at plan time
// (exit 2), naming the file, line and server, with how to pin it. A step with no
// credentials at all keeps every server the project names.

// credentialsHeld reports whether the credential steps of a plan hold a secret: a
// variable, a user file kept whole for them (~/.netrc, auth.toml), or a user
// config file with a line the sanitizer drops as a credential (a password, a
// token, user:password@ in a URL). The project's own files (a stand-in
// poetry.toml) are no credentials.
func credentialsHeld(c *Credentials) bool {
	if c == nil {
		return false
	}
	if len(c.Env) > 0 {
		return true
	}
	for _, f := range c.Files {
		if f.Home == "" || len(strings.TrimSpace(string(f.Secret))) == 0 {
			continue
		}
		if f.Public == nil || rootfs.SanitizeConfig(string(f.Secret)) != string(f.Secret) {
			return true
		}
	}
	return false
}

// credHostSite is where a project file names a server.
type credHostSite struct {
	where string // "requirements.txt:3"
	url   string // the URL, without its user info
}

var credURLRE = lazyre.New(`[A-Za-z][A-Za-z0-9+.-]*://[^\s"'<>,;\]\[]+`)

// credScanFile records, for each server a URL in file names, the first line
// naming it (shown is the file's name in messages).
func credScanFile(sites map[string]credHostSite, file, shown string) {
	f, err := os.Open(file)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		for _, u := range credURLRE().FindAllString(sc.Text(), -1) {
			hp, ok := urlServer(u)
			if !ok {
				continue
			}
			if _, ok := sites[hp]; !ok {
				sites[hp] = credHostSite{where: fmt.Sprintf("%s:%d", shown, n), url: pipPrintable(redact.URL(u))}
			}
		}
	}
}

// credForeignHosts are the servers of egress that are not in user.
func credForeignHosts(egress []string, user map[string]bool) []string {
	var out []string
	for _, hp := range egress {
		if !user[hp] {
			out = append(out, hp)
		}
	}
	sort.Strings(out)
	return out
}

// credDescribe names each foreign server and where the project names it.
func credDescribe(foreign []string, sites map[string]credHostSite, unknown string) string {
	var parts []string
	for _, hp := range foreign {
		if s, ok := sites[hp]; ok {
			parts = append(parts, fmt.Sprintf("%s names %s (%s)", s.where, hp, s.url))
		} else {
			parts = append(parts, fmt.Sprintf("%s names %s", unknown, hp))
		}
	}
	return strings.Join(parts, "; ")
}

// ---- pip ----

// pipUserHosts are the servers the user configured for pip: the command line they
// typed (indexes, find-links, URL requirements and requirements files given by
// URL), the PIP_* variables and pip's config files other than the virtualenv's
// (site-wide, the user's, PIP_CONFIG_FILE), and PyPI unless one of those sets
// the index.
func pipUserHosts(a *pipArgv, env Env) map[string]bool {
	var e egressSet
	index := false
	for _, v := range a.opts["index-url"] {
		index = e.addURL(v) || index
	}
	for _, name := range []string{"extra-index-url", "find-links", "editable", "requirement", "constraint"} {
		for _, v := range a.opts[name] {
			if strings.Contains(v, "://") {
				e.addURL(v)
			}
		}
	}
	for _, v := range a.args {
		pipAddRequirementURL(&e, v)
	}
	for _, v := range strings.Fields(env.Getenv("PIP_INDEX_URL")) {
		index = e.addURL(v) || index
	}
	for _, k := range []string{"PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS"} {
		for _, v := range strings.Fields(env.Getenv(k)) {
			e.addURL(v)
		}
	}
	for _, f := range pipConfigFiles(env, "") {
		for _, kv := range pipConfigValues(f) {
			switch kv[0] {
			case "index-url", "index", "i":
				for _, u := range strings.Fields(kv[1]) {
					index = e.addURL(u) || index
				}
			case "extra-index-url", "find-links", "f":
				for _, u := range strings.Fields(kv[1]) {
					e.addURL(u)
				}
			}
		}
	}
	if !index {
		e.add(pypiEgress)
	}
	e.result()
	return e.seen
}

// pipHeldEnv reports whether a PIP_* variable the credential steps get holds a
// secret (as finish sorts them).
func pipHeldEnv(env Env) bool {
	for _, kv := range env.Environ {
		k, v, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "PIP_") && !pythonEnvControlled[k] && (isSecretEnv(k) || urlUserinfoRE().MatchString(v)) {
			return true
		}
	}
	return false
}

// pipOwnEnv keeps of the credential steps' variables pip's own (PIP_*): another
// tool's token (POETRY_HTTP_BASIC_*, CARGO_REGISTRIES_*_TOKEN) has nothing to do in
// a step that runs sdists' setup code.
func pipOwnEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		if strings.HasPrefix(kv, "PIP_") {
			out = append(out, kv)
		}
	}
	return out
}

// pipProjectHostSites reads the project files that can name servers — the
// requirements and constraints files (nested ones too), the virtualenv's
// pip.conf — for where each server is named.
func pipProjectHostSites(a *pipArgv, env Env, venv string) map[string]credHostSite {
	sites := map[string]credHostSite{}
	visited := map[string]bool{}
	var walk func(file string, depth int)
	walk = func(file string, depth int) {
		if depth > 10 || visited[file] || strings.Contains(file, "://") {
			return
		}
		visited[file] = true
		shown := file
		if rel, err := filepath.Rel(env.Dir, file); err == nil && !strings.HasPrefix(rel, "..") {
			shown = rel
		}
		credScanFile(sites, file, shown)
		data, err := os.ReadFile(file)
		if err != nil {
			return
		}
		for _, l := range strings.Split(string(data), "\n") {
			l = strings.TrimSpace(l)
			if !strings.HasPrefix(l, "-") {
				continue
			}
			opt, val := l, ""
			if i := strings.IndexAny(l, " =\t"); i >= 0 {
				opt, val = l[:i], strings.TrimSpace(strings.TrimLeft(l[i:], " =\t"))
			} else if len(l) > 2 && l[1] != '-' {
				opt, val = l[:2], strings.TrimSpace(l[2:])
			}
			if f := strings.Fields(val); len(f) > 0 {
				val = f[0]
			}
			switch pipLong(strings.TrimLeft(opt, "-")) {
			case "requirement", "r", "constraint", "c":
				if val != "" && !filepath.IsAbs(val) {
					val = filepath.Join(filepath.Dir(file), val)
				}
				walk(val, depth+1)
			}
		}
	}
	for _, f := range append(append([]string{}, a.opts["requirement"]...), a.opts["constraint"]...) {
		if !filepath.IsAbs(f) && !strings.Contains(f, "://") {
			f = filepath.Join(env.Dir, f)
		}
		walk(f, 0)
	}
	if venv != "" {
		shown := filepath.Join(venv, "pip.conf")
		if rel, err := filepath.Rel(env.Dir, shown); err == nil && !strings.HasPrefix(rel, "..") {
			shown = rel
		}
		credScanFile(sites, filepath.Join(venv, "pip.conf"), shown)
	}
	return sites
}

// pipCheckCredentialHosts refuses a pip resolve that holds the user's index
// credentials and would reach a server only a project file names.
func pipCheckCredentialHosts(name string, a *pipArgv, env Env, venv string, p *Plan) error {
	if p.Steps.Resolve == nil || len(p.Steps.Resolve.Egress) == 0 || !(credentialsHeld(p.Sandbox.Credentials) || pipHeldEnv(env)) {
		return nil
	}
	foreign := credForeignHosts(p.Steps.Resolve.Egress, pipUserHosts(a, env))
	if len(foreign) == 0 {
		return nil
	}
	sites := pipProjectHostSites(a, env, venv)
	return &Refusal{Manager: name,
		Reason: credDescribe(foreign, sites, "a project file (a requirements file or the virtualenv's pip.conf)") +
			": a server your own pip settings and command line do not name. pip's resolve runs source distributions' setup code with your index credentials " +
			"(your pip.conf, ~/.netrc, PIP_* variables), so it reaches only the servers you configured",
		Advice: "if you trust that server, name it yourself: `pip config set global.extra-index-url URL` (or global.find-links; the value replaces the one you have, so list all of them), " +
			"or give it on the command line (--extra-index-url URL, --find-links URL, `NAME @ URL`); then run the command again"}
}

// ---- poetry ----

// poetryUserHosts are the servers the user configured for Poetry: the URLs of
// repositories.NAME.url in their Poetry config and POETRY_REPOSITORIES_NAME_URL,
// those on the command line they typed (poetry add URL), and PyPI (Poetry's own
// default, which no user setting replaces).
func poetryUserHosts(env Env, args []string) map[string]bool {
	var e egressSet
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			pipAddRequirementURL(&e, a)
		}
	}
	var cfg poetryUserConfig
	if data, err := os.ReadFile(filepath.Join(poetryConfigDir(env), "config.toml")); err == nil {
		if _, err := toml.Decode(string(data), &cfg); err == nil {
			for _, r := range cfg.Repositories {
				e.addURL(r.URL)
			}
		}
	}
	for _, kv := range env.Environ {
		k, v, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "POETRY_REPOSITORIES_") && strings.HasSuffix(k, "_URL") {
			e.addURL(v)
		}
	}
	e.add(pypiEgress)
	e.result()
	return e.seen
}

// poetryCheckCredentialHosts refuses a Poetry resolve that holds credentials and
// would reach a server only the project's pyproject.toml names (a source, a url
// or git dependency).
func poetryCheckCredentialHosts(p *Plan, env Env, args []string) error {
	if p == nil || p.Steps.Resolve == nil || len(p.Steps.Resolve.Egress) == 0 || !credentialsHeld(p.Sandbox.Credentials) {
		return nil
	}
	foreign := credForeignHosts(p.Steps.Resolve.Egress, poetryUserHosts(env, args))
	if len(foreign) == 0 {
		return nil
	}
	sites := map[string]credHostSite{}
	pyproject := filepath.Join(p.Project.Root, "pyproject.toml")
	credScanFile(sites, pyproject, "pyproject.toml")
	// The project's sources on those servers, for the exact command to pin them.
	var pins []string
	var doc poetryPyproject
	if data, err := os.ReadFile(pyproject); err == nil {
		if _, err := toml.Decode(string(data), &doc); err == nil {
			for _, src := range doc.Tool.Poetry.Source {
				if hp, ok := urlServer(src.URL); src.Name != "" && ok && slices.Contains(foreign, hp) {
					pins = append(pins, fmt.Sprintf("`poetry config repositories.%s %s`", src.Name, pipPrintable(redact.URL(src.URL))))
				}
			}
		}
	}
	advice := "if you trust that server, pin it yourself: "
	if len(pins) > 0 {
		advice += strings.Join(pins, " and ")
		if len(pins) < len(foreign) {
			advice += "; for a url or git dependency's server `poetry config repositories.NAME URL` with a name of your choice"
		}
	} else {
		advice += "`poetry config repositories.NAME URL` (NAME: the project's source name, or a name of your choice for a url or git dependency's server)"
	}
	return &Refusal{Manager: "poetry",
		Reason: credDescribe(foreign, sites, "pyproject.toml") +
			": a server your Poetry config does not name. `poetry lock` runs source distributions' and path dependencies' build code with the credentials of your sources " +
			"(auth.toml, POETRY_HTTP_BASIC_*), so it reaches only the servers you configured (a credential kept by source name alone would otherwise go wherever the project points that name)",
		Advice: advice + "; then run the command again"}
}

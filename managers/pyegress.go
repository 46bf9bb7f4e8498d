package managers

import (
	"bufio"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/BurntSushi/toml"
)

// The resolve steps of pip and poetry run package code (an sdist's setup.py or
// PEP 517 metadata hook) while the resolver still needs the index: they get
// Step.Egress, the index servers the command is configured with, instead of the
// network. What is gathered here is a union of every place an index can be set
// (command line, requirements files, environment, config files, pyproject.toml):
// a server missing from it is refused and named in a warning, one too many only
// stays reachable.

// PyPI's index and the host its files are served from.
const (
	pypiEgress      = "pypi.org:443"
	pypiFilesEgress = "files.pythonhosted.org:443"
)

// pipSiteConfig is pip's legacy site-wide config file (a variable for tests).
var pipSiteConfig = "/etc/pip.conf"

// egressSet collects host:port pairs, each once, in order.
type egressSet struct {
	list []string
	seen map[string]bool
}

// addURL adds the server of an http(s) URL (a VCS URL's too: git+https://…);
// local paths and other schemes are skipped. It reports whether one was added.
func (e *egressSet) addURL(raw string) bool {
	hp, ok := urlServer(raw)
	if ok {
		e.add(hp)
	}
	return ok
}

// urlServer is the host:port of an http(s) URL (a VCS URL's too: git+https://…),
// the host in lower case without a trailing dot and the scheme's default port
// made explicit; false for local paths and other schemes.
func urlServer(raw string) (string, bool) {
	raw = strings.TrimSpace(raw)
	if i := strings.Index(raw, "+"); i > 0 && i < strings.Index(raw, "://") {
		raw = raw[i+1:] // git+https://, hg+http://
	}
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return "", false
	}
	port := u.Port()
	switch u.Scheme {
	case "https":
		if port == "" {
			port = "443"
		}
	case "http":
		if port == "" {
			port = "80"
		}
	default:
		return "", false
	}
	return net.JoinHostPort(strings.ToLower(strings.TrimSuffix(u.Hostname(), ".")), port), true
}

func (e *egressSet) add(hp string) {
	if e.seen == nil {
		e.seen = map[string]bool{}
	}
	if !e.seen[hp] {
		e.seen[hp] = true
		e.list = append(e.list, hp)
	}
}

// result adds PyPI's file host when PyPI is an index (its pages link there).
func (e *egressSet) result() []string {
	if e.seen[pypiEgress] {
		e.add(pypiFilesEgress)
	}
	return e.list
}

// pipEgress is where pip's resolve may connect: the indexes and find-links of the
// command line, requirements files, PIP_* variables and pip's config files, the
// servers of direct URL requirements, and PyPI unless another index replaces it.
// With --no-index (anywhere pip reads it) no index is reachable: pip asks none,
// and an index a project file names (the venv's pip.conf) would only be a way out
// for the code this step runs, with the user's credentials. venv is the target
// virtualenv ("" for --target).
func pipEgress(a *pipArgv, env Env, venv string) []string {
	var e, ix egressSet // ix: the indexes, added unless --no-index
	index, noIndex := false, a.flags["no-index"]
	for _, v := range a.opts["index-url"] {
		index = ix.addURL(v) || index
	}
	for _, v := range a.opts["extra-index-url"] {
		ix.addURL(v)
	}
	for _, name := range []string{"find-links", "editable"} {
		for _, v := range a.opts[name] {
			e.addURL(v)
		}
	}
	for _, v := range a.args {
		pipAddRequirementURL(&e, v)
	}
	visited := map[string]bool{}
	for _, f := range append(append([]string{}, a.opts["requirement"]...), a.opts["constraint"]...) {
		if !filepath.IsAbs(f) && !strings.Contains(f, "://") {
			f = filepath.Join(env.Dir, f)
		}
		i, n := pipRequirementsEgress(&e, &ix, f, visited, 0)
		index, noIndex = index || i, noIndex || n
	}
	if v := env.Getenv("PIP_INDEX_URL"); v != "" {
		index = ix.addURL(v) || index
	}
	for _, v := range strings.Fields(env.Getenv("PIP_EXTRA_INDEX_URL")) {
		ix.addURL(v)
	}
	for _, v := range strings.Fields(env.Getenv("PIP_FIND_LINKS")) {
		e.addURL(v)
	}
	if truthy(env.Getenv("PIP_NO_INDEX")) {
		noIndex = true
	}
	for _, f := range pipConfigFiles(env, venv) {
		i, n := pipConfigEgress(&e, &ix, f)
		index, noIndex = index || i, noIndex || n
	}
	if noIndex {
		return e.result()
	}
	var out egressSet
	for _, hp := range append(ix.list, e.list...) {
		out.add(hp)
	}
	if !index {
		out.add(pypiEgress)
	}
	return out.result()
}

func truthy(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

// pipAddRequirementURL adds the server of a requirement given as a URL
// ("https://…/x.tar.gz", "name @ https://…", "git+https://…").
func pipAddRequirementURL(e *egressSet, req string) {
	req = strings.TrimSpace(req)
	scheme := strings.Index(req, "://")
	if scheme < 0 {
		return
	}
	if at := strings.Index(req, "@"); at >= 0 && at < scheme {
		req = strings.TrimSpace(req[at+1:]) // name @ URL (a URL's own user@ comes after ://)
	}
	if f := strings.Fields(req); len(f) > 0 {
		e.addURL(strings.TrimSuffix(f[0], ";"))
	}
}

// pipConfigFiles are the config files pip reads, in its order: site-wide, the
// user's (new and legacy location), the virtualenv's, and PIP_CONFIG_FILE.
func pipConfigFiles(env Env, venv string) []string {
	dirs := env.Getenv("XDG_CONFIG_DIRS")
	if dirs == "" {
		dirs = "/etc/xdg"
	}
	var files []string
	for _, d := range filepath.SplitList(dirs) {
		files = append(files, filepath.Join(d, "pip", "pip.conf"))
	}
	files = append(files, pipSiteConfig)
	files = append(files, pipUserConfigFiles(env)...)
	if venv != "" {
		files = append(files, filepath.Join(venv, "pip.conf"))
	}
	return append(files, pipConfigFileEnv(env)...)
}

// pipConfigEgress reads index-url, extra-index-url (into ix), find-links and
// no-index from a pip config file's [global] and [install] sections (values may
// continue on indented lines).
func pipConfigEgress(e, ix *egressSet, file string) (index, noIndex bool) {
	data, err := os.ReadFile(file)
	if err != nil {
		return false, false
	}
	section, key := "", ""
	for _, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") || strings.HasPrefix(trimmed, ";") {
			continue
		}
		var val string
		switch {
		case strings.HasPrefix(trimmed, "[") && strings.HasSuffix(trimmed, "]"):
			section, key = strings.ToLower(strings.TrimSpace(trimmed[1:len(trimmed)-1])), ""
			continue
		case line[0] == ' ' || line[0] == '\t':
			val = trimmed // a continuation of key
		default:
			k, v, ok := strings.Cut(trimmed, "=")
			if !ok {
				k, v, ok = strings.Cut(trimmed, ":")
			}
			if !ok {
				key = ""
				continue
			}
			key = strings.ReplaceAll(strings.ToLower(strings.TrimSpace(k)), "_", "-")
			val = strings.TrimSpace(v)
		}
		if section != "global" && section != "install" {
			continue
		}
		switch key {
		case "index-url", "index", "i":
			for _, u := range strings.Fields(val) {
				index = ix.addURL(u) || index
			}
		case "extra-index-url":
			for _, u := range strings.Fields(val) {
				ix.addURL(u)
			}
		case "find-links", "f":
			for _, u := range strings.Fields(val) {
				e.addURL(u)
			}
		case "no-index":
			noIndex = noIndex || truthy(val)
		}
	}
	return index, noIndex
}

// pipRequirementsEgress reads a requirements file's index options (into ix),
// nested requirement and constraint files and URL requirements.
func pipRequirementsEgress(e, ix *egressSet, file string, visited map[string]bool, depth int) (index, noIndex bool) {
	if strings.Contains(file, "://") {
		e.addURL(file) // pip fetches it; its content is not known here
		return false, false
	}
	if depth > 10 || visited[file] {
		return false, false
	}
	visited[file] = true
	f, err := os.Open(file)
	if err != nil {
		return false, false
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	cont := ""
	for sc.Scan() {
		l := sc.Text()
		if strings.HasSuffix(l, "\\") {
			cont += strings.TrimSuffix(l, "\\") + " "
			continue
		}
		lines = append(lines, cont+l)
		cont = ""
	}
	lines = append(lines, cont)
	for _, l := range lines {
		if i := strings.Index(l, " #"); i >= 0 {
			l = l[:i]
		}
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if !strings.HasPrefix(l, "-") {
			pipAddRequirementURL(e, l)
			continue
		}
		opt, val := l, ""
		if i := strings.IndexAny(l, " =\t"); i >= 0 {
			opt, val = l[:i], strings.TrimSpace(strings.TrimLeft(l[i:], " =\t"))
		} else if len(l) > 2 && l[1] != '-' {
			opt, val = l[:2], strings.TrimSpace(l[2:])
		}
		if val != "" {
			val = strings.Fields(val)[0]
		}
		switch pipLong(strings.TrimLeft(opt, "-")) {
		case "index-url", "i":
			index = ix.addURL(val) || index
		case "extra-index-url":
			ix.addURL(val)
		case "find-links", "f", "editable", "e":
			e.addURL(val)
		case "no-index":
			noIndex = true
		case "requirement", "r", "constraint", "c":
			if !filepath.IsAbs(val) && !strings.Contains(val, "://") {
				val = filepath.Join(filepath.Dir(file), val)
			}
			i, n := pipRequirementsEgress(e, ix, val, visited, depth+1)
			index, noIndex = index || i, noIndex || n
		}
	}
	return index, noIndex
}

// poetryEgress is where `poetry lock` may connect: the project's sources and
// those of Poetry's config (repositories.*), the servers of url and git
// dependencies (in pyproject.toml or named on the command line), and PyPI unless
// a source is the default one.
func poetryEgress(pyproject string, env Env, args []string) []string {
	var e egressSet
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			pipAddRequirementURL(&e, a) // poetry add https://…, git+https://…, name@url
		}
	}
	var doc struct {
		Tool struct {
			Poetry struct {
				Source []struct {
					URL      string `toml:"url"`
					Default  bool   `toml:"default"`
					Priority string `toml:"priority"`
				} `toml:"source"`
				Dependencies    map[string]any            `toml:"dependencies"`
				DevDependencies map[string]any            `toml:"dev-dependencies"`
				Group           map[string]map[string]any `toml:"group"`
			} `toml:"poetry"`
		} `toml:"tool"`
		Project struct {
			Dependencies []string            `toml:"dependencies"`
			Optional     map[string][]string `toml:"optional-dependencies"`
		} `toml:"project"`
	}
	pypi := true
	if data, err := os.ReadFile(pyproject); err == nil {
		_, _ = toml.Decode(string(data), &doc)
	}
	tp := doc.Tool.Poetry
	for _, s := range tp.Source {
		e.addURL(s.URL)
		if s.Default || strings.EqualFold(s.Priority, "default") {
			pypi = false
		}
	}
	deps := []map[string]any{tp.Dependencies, tp.DevDependencies}
	for _, g := range tp.Group {
		if d, ok := g["dependencies"].(map[string]any); ok {
			deps = append(deps, d)
		}
	}
	for _, d := range deps {
		for _, spec := range d {
			specs := []any{spec}
			if list, ok := spec.([]any); ok {
				specs = list
			}
			for _, s := range specs {
				if m, ok := s.(map[string]any); ok {
					for _, k := range []string{"url", "git"} {
						if v, ok := m[k].(string); ok {
							e.addURL(v)
						}
					}
				}
			}
		}
	}
	for _, r := range doc.Project.Dependencies {
		pipAddRequirementURL(&e, r)
	}
	for _, rs := range doc.Project.Optional {
		for _, r := range rs {
			pipAddRequirementURL(&e, r)
		}
	}
	// Poetry's config: repositories.NAME.url in config.toml, POETRY_REPOSITORIES_*_URL.
	dir := poetryConfigDir(env)
	var cfg struct {
		Repositories map[string]struct {
			URL string `toml:"url"`
		} `toml:"repositories"`
	}
	if data, err := os.ReadFile(filepath.Join(dir, "config.toml")); err == nil {
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
	if pypi {
		e.add(pypiEgress)
	}
	return e.result()
}

package managers

import (
	"bufio"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/phylum-box/phylum-box/internal/lazyre"
)

// pipSources is where a pip install may take distributions from, read on the host
// before anything runs: the indexes and find-links pages the resolve's report is
// checked against, the URLs the user named directly, the hashes requirements files
// pin, and which requirement line named each project (for messages). Project files
// (requirements files, the venv's pip.conf) may name indexes: a project may use its
// own index. Credentials never come from them (see pipAuth).
type pipSources struct {
	indexes   []string // simple-API base URLs, in pip's order
	findLinks []string // http(s) find-links pages
	noIndex   bool
	// direct are URLs named as requirements (`name @ URL`, a bare URL), without
	// fragment, mapped to the hashes their fragment or --hash options give.
	direct map[string][]string
	// hashes are a requirements file's --hash values by normalised project name.
	hashes map[string][]string
	// named says where each directly requested project was named ("requirements.txt:3").
	named map[string]string
}

var pipNameRE = lazyre.New(`^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?`)

// pipNormName is PEP 503's normalised project name.
func pipNormName(name string) string {
	return strings.ToLower(pipSepRE().ReplaceAllString(name, "-"))
}

var pipSepRE = lazyre.New(`[-_.]+`)

func (s *pipSources) addIndex(u string) {
	u = strings.TrimSpace(u)
	if u == "" {
		return
	}
	for _, have := range s.indexes {
		if have == u {
			return
		}
	}
	s.indexes = append(s.indexes, u)
}

func (s *pipSources) addFindLinks(u string) {
	if strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://") {
		s.findLinks = append(s.findLinks, u)
	}
}

// pipGatherSources reads the command line, its requirements files, the PIP_*
// variables and pip's config files (venv is the target virtualenv, "" for --target)
// the way pipEgress does, keeping the URLs themselves.
func pipGatherSources(a *pipArgv, env Env, venv string) *pipSources {
	s := &pipSources{direct: map[string][]string{}, hashes: map[string][]string{}, named: map[string]string{}}
	var cmdIndex []string
	cmdIndex = append(cmdIndex, a.opts["index-url"]...)
	var extra []string
	extra = append(extra, a.opts["extra-index-url"]...)
	for _, v := range a.opts["find-links"] {
		s.addFindLinks(v)
	}
	s.noIndex = a.flags["no-index"]
	for _, v := range a.args {
		s.addRequirement(v, "the command line", nil)
	}
	visited := map[string]bool{}
	for _, f := range append(append([]string{}, a.opts["requirement"]...), a.opts["constraint"]...) {
		rel := f
		if !filepath.IsAbs(f) && !strings.Contains(f, "://") {
			f = filepath.Join(env.Dir, f)
		}
		s.readRequirements(f, rel, visited, 0, &cmdIndex, &extra)
	}
	if v := env.Getenv("PIP_INDEX_URL"); v != "" {
		cmdIndex = append(cmdIndex, strings.Fields(v)...)
	}
	extra = append(extra, strings.Fields(env.Getenv("PIP_EXTRA_INDEX_URL"))...)
	for _, v := range strings.Fields(env.Getenv("PIP_FIND_LINKS")) {
		s.addFindLinks(v)
	}
	if truthy(env.Getenv("PIP_NO_INDEX")) {
		s.noIndex = true
	}
	var cfgIndex []string
	for _, f := range pipConfigFiles(env, venv) {
		for _, kv := range pipConfigValues(f) {
			switch kv[0] {
			case "index-url", "index", "i":
				cfgIndex = append(cfgIndex, strings.Fields(kv[1])...)
			case "extra-index-url":
				extra = append(extra, strings.Fields(kv[1])...)
			case "find-links", "f":
				for _, u := range strings.Fields(kv[1]) {
					s.addFindLinks(u)
				}
			case "no-index":
				s.noIndex = s.noIndex || truthy(kv[1])
			}
		}
	}
	// pip takes one index URL (the command line's over the environment's over the
	// config's); every one named anywhere is accepted here, as pipEgress does: the
	// check is that a file is listed for its name by a configured index.
	for _, u := range cmdIndex {
		s.addIndex(u)
	}
	for _, u := range cfgIndex {
		s.addIndex(u)
	}
	if len(cmdIndex) == 0 && len(cfgIndex) == 0 {
		s.addIndex("https://pypi.org/simple/")
	}
	for _, u := range extra {
		s.addIndex(u)
	}
	if s.noIndex {
		s.indexes = nil
	}
	return s
}

// addRequirement notes a requirement line: a direct URL (with its #sha256= and
// --hash values), or the project it names and where.
func (s *pipSources) addRequirement(req, where string, hashes []string) {
	req = strings.TrimSpace(req)
	if req == "" {
		return
	}
	if i := strings.Index(req, "://"); i >= 0 {
		u := req
		if at := strings.Index(req, "@"); at >= 0 && at < i {
			name := strings.TrimSpace(req[:at])
			if m := pipNameRE().FindString(name); m != "" {
				s.note(m, where)
			}
			u = strings.TrimSpace(req[at+1:])
		}
		if f := strings.Fields(u); len(f) > 0 {
			u = strings.TrimSuffix(f[0], ";")
		}
		key, frag := pipURLKey(u)
		hs := append([]string{}, hashes...)
		if alg, val, ok := strings.Cut(frag, "="); ok && pipStrongHash[alg] {
			hs = append(hs, alg+":"+strings.ToLower(val))
		}
		s.direct[key] = append(s.direct[key], hs...)
		return
	}
	if m := pipNameRE().FindString(req); m != "" {
		s.note(m, where)
		if len(hashes) > 0 {
			n := pipNormName(m)
			s.hashes[n] = append(s.hashes[n], hashes...)
		}
	}
}

func (s *pipSources) note(name, where string) {
	n := pipNormName(name)
	if _, ok := s.named[n]; !ok {
		s.named[n] = where
	}
}

// readRequirements reads one requirements file (nested -r/-c files too).
func (s *pipSources) readRequirements(file, shown string, visited map[string]bool, depth int, index, extra *[]string) {
	if strings.Contains(file, "://") || depth > 10 || visited[file] {
		return
	}
	visited[file] = true
	f, err := os.Open(file)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	cont, line, start := "", 0, 0
	for sc.Scan() {
		line++
		l := sc.Text()
		if cont == "" {
			start = line
		}
		if strings.HasSuffix(l, "\\") {
			cont += strings.TrimSuffix(l, "\\") + " "
			continue
		}
		l, cont = cont+l, ""
		if i := strings.Index(l, " #"); i >= 0 {
			l = l[:i]
		}
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		where := shown + ":" + strconv.Itoa(start)
		if !strings.HasPrefix(l, "-") {
			req, hashes := pipSplitHashes(l)
			s.addRequirement(req, where, hashes)
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
		case "index-url", "i":
			*index = append(*index, val)
		case "extra-index-url":
			*extra = append(*extra, val)
		case "find-links", "f":
			s.addFindLinks(val)
		case "no-index":
			s.noIndex = true
		case "requirement", "r", "constraint", "c":
			next, nshown := val, val
			if !filepath.IsAbs(val) && !strings.Contains(val, "://") {
				next = filepath.Join(filepath.Dir(file), val)
				nshown = filepath.Join(filepath.Dir(shown), val)
			}
			s.readRequirements(next, nshown, visited, depth+1, index, extra)
		}
	}
}

// pipSplitHashes cuts a requirement line's --hash=alg:hex options off.
func pipSplitHashes(l string) (string, []string) {
	var hashes []string
	fields := strings.Fields(l)
	var keep []string
	for i := 0; i < len(fields); i++ {
		f := fields[i]
		if f == "--hash" && i+1 < len(fields) {
			i++
			f = "--hash=" + fields[i]
		}
		if v, ok := strings.CutPrefix(f, "--hash="); ok {
			if alg, val, ok := strings.Cut(v, ":"); ok && pipStrongHash[alg] {
				hashes = append(hashes, alg+":"+strings.ToLower(val))
			}
			continue
		}
		keep = append(keep, f)
	}
	return strings.Join(keep, " "), hashes
}

// pipStrongHash are the hash algorithms a download may be checked with.
var pipStrongHash = map[string]bool{"sha256": true, "sha384": true, "sha512": true}

// pipURLKey is a URL as compared here: no user info, no fragment, lower-case scheme
// and host, no default port; and the fragment it had.
func pipURLKey(raw string) (key, fragment string) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return raw, ""
	}
	fragment = u.Fragment
	// The path re-encoded one way: an index page's "+" and pip's "%2B" are one file.
	u.Fragment, u.RawFragment, u.User, u.RawPath = "", "", nil, ""
	u.Scheme = strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		port = ""
	}
	if port != "" {
		host += ":" + port
	}
	u.Host = host
	return u.String(), fragment
}

// pipConfigValues are the [global] and [install] settings of a pip config file as
// (key, value) pairs, continuation lines joined.
func pipConfigValues(file string) [][2]string {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	var out [][2]string
	section := ""
	for _, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") || strings.HasPrefix(trimmed, ";") {
			continue
		}
		switch {
		case strings.HasPrefix(trimmed, "[") && strings.HasSuffix(trimmed, "]"):
			section = strings.ToLower(strings.TrimSpace(trimmed[1 : len(trimmed)-1]))
			continue
		case line[0] == ' ' || line[0] == '\t':
			if len(out) > 0 && (section == "global" || section == "install") {
				out[len(out)-1][1] += " " + trimmed
			}
			continue
		}
		k, v, ok := strings.Cut(trimmed, "=")
		if !ok {
			k, v, ok = strings.Cut(trimmed, ":")
		}
		if !ok || (section != "global" && section != "install") {
			continue
		}
		out = append(out, [2]string{strings.ReplaceAll(strings.ToLower(strings.TrimSpace(k)), "_", "-"), strings.TrimSpace(v)})
	}
	return out
}

// pipLocalDirs are the local project directories the command installs (`.`,
// `-e .`, `./lib`, and the same lines of its requirements files), absolute.
func pipLocalDirs(a *pipArgv, env Env) []string {
	var out []string
	add := func(base, v string) {
		v = strings.TrimSpace(v)
		if v == "" || strings.Contains(v, "://") || !(strings.HasPrefix(v, ".") || strings.HasPrefix(v, "/")) {
			return
		}
		if f := strings.Fields(v); len(f) > 0 {
			v = f[0]
		}
		v, _, _ = strings.Cut(v, "[") // .[extra]
		if !filepath.IsAbs(v) {
			v = filepath.Join(base, v)
		}
		if st, err := os.Stat(v); err == nil && st.IsDir() {
			out = append(out, filepath.Clean(v))
		}
	}
	for _, v := range append(append([]string{}, a.args...), a.opts["editable"]...) {
		add(env.Dir, v)
	}
	for _, f := range a.opts["requirement"] {
		if !filepath.IsAbs(f) {
			f = filepath.Join(env.Dir, f)
		}
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(data), "\n") {
			l = strings.TrimSpace(l)
			for _, pre := range []string{"-e ", "--editable ", "--editable="} {
				l = strings.TrimPrefix(l, pre)
			}
			add(filepath.Dir(f), l)
		}
	}
	return out
}

var pipEggRE = lazyre.New(`[^A-Za-z0-9.]+`)

// pipSetupNameRE is a literal name= in setup.py, on a line of its own or among
// setup(...)'s arguments on one line.
var pipSetupNameRE = lazyre.New(`(?m)(?:^|[(,])\s*name\s*=\s*["']([A-Za-z0-9._-]+)["']`)

// pipSetupCfgName is the name of setup.cfg's [metadata] section, written as
// setuptools reads it: unquoted (`name = my-pkg`).
func pipSetupCfgName(data []byte) string {
	section := ""
	for _, line := range strings.Split(string(data), "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "[") && strings.HasSuffix(t, "]") {
			section = strings.ToLower(strings.TrimSpace(t[1 : len(t)-1]))
			continue
		}
		k, v, ok := strings.Cut(t, "=")
		if !ok || section != "metadata" || strings.TrimSpace(k) != "name" {
			continue
		}
		if m := pipNameRE().FindString(strings.TrimSpace(v)); m != "" && m == strings.TrimSpace(v) {
			return m
		}
	}
	return ""
}

// pipProjectName is a local project's name from pyproject.toml, setup.cfg or a
// literal name= in setup.py ("" when none says).
func pipProjectName(dir string) string {
	if data, err := os.ReadFile(filepath.Join(dir, "pyproject.toml")); err == nil {
		var doc struct {
			Project struct {
				Name string `toml:"name"`
			} `toml:"project"`
		}
		if _, err := toml.Decode(string(data), &doc); err == nil && doc.Project.Name != "" {
			return doc.Project.Name
		}
	}
	if data, err := os.ReadFile(filepath.Join(dir, "setup.cfg")); err == nil {
		if name := pipSetupCfgName(data); name != "" {
			return name
		}
	}
	if data, err := os.ReadFile(filepath.Join(dir, "setup.py")); err == nil {
		if m := pipSetupNameRE().FindSubmatch(data); m != nil {
			return string(m[1])
		}
	}
	return ""
}

// pipByproducts are what setuptools writes into a local project it installs
// (in-tree builds, pip ≥ 21.3): <name>.egg-info (beside setup.py or in src/),
// synced as outputs because a legacy editable install (`setup.py develop`) uses it
// as the installed metadata, as bare pip leaves it; and build/, which the build
// step removes again when the project had none (a by-product nothing reads after
// the install), or synced when the project already has one. All relative to root.
func pipByproducts(a *pipArgv, env Env, root string) (outputs, remove []string) {
	for _, d := range pipLocalDirs(a, env) {
		rel, err := filepath.Rel(root, d)
		if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
			continue
		}
		if name := pipProjectName(d); name != "" {
			egg := strings.ReplaceAll(pipEggRE().ReplaceAllString(name, "-"), "-", "_") + ".egg-info"
			outputs = append(outputs, filepath.ToSlash(filepath.Join(rel, egg))+"/", filepath.ToSlash(filepath.Join(rel, "src", egg))+"/")
		}
		build := filepath.Join(rel, "build")
		if _, err := os.Lstat(filepath.Join(d, "build")); err == nil {
			outputs = append(outputs, filepath.ToSlash(build)+"/")
		} else {
			remove = append(remove, filepath.Join(root, build))
		}
	}
	return outputs, remove
}

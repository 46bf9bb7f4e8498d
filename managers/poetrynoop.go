package managers

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/BurntSushi/toml"
)

// `poetry install` with nothing to do (issue 12): poetry.lock is current for
// pyproject.toml (its content-hash, computed as Poetry computes it), every package
// the lock installs here is in the project's .venv at its locked version, and the
// project itself was installed from this pyproject.toml (bare Poetry reinstalls
// the root package on every install; with pyproject.toml unchanged since, that
// rewrites the same editable install). poetry.lock is prechecked and no step runs.
//
// What a hostile checkout can plant: a .venv whose *.dist-info METADATA claims the
// locked versions, a poetry.lock whose content-hash matches. The decision
// compares the record with the lock, so a record that lies makes phylum-box skip
// the install and nothing else: no step runs, nothing is synced back, the venv
// stays as the checkout brought it, and poetry.lock — what the record says is
// installed — is prechecked as always.

// poetryNoopFlags are the options of `poetry install` that leave a nothing-to-do
// install alone.
var poetryNoopFlags = map[string]bool{
	"--no-root": true, "-n": true, "--no-interaction": true, "-q": true, "--quiet": true, "-v": true, "-vv": true,
	"--verbose": true, "--ansi": true, "--no-ansi": true,
}

// poetryNoopCheck returns Plan.Steps.UpToDate for a poetry command line, or nil when
// the command could change the venv whatever the files say: anything but
// `poetry install` with poetryNoopFlags, a POETRY_ variable that is a setting.
func poetryNoopCheck(cmd string, args []string, env Env, root string) func() (bool, string) {
	if cmd != "install" {
		return nil
	}
	noRoot := false
	for _, a := range args {
		if a == cmd {
			continue
		}
		if !poetryNoopFlags[a] {
			return nil
		}
		noRoot = noRoot || a == "--no-root"
	}
	for _, kv := range env.Environ {
		k, _, _ := strings.Cut(kv, "=")
		if rest, ok := strings.CutPrefix(k, "POETRY_"); ok {
			switch {
			case rest == "NO_INTERACTION", rest == "CACHE_DIR", rest == "HOME", rest == "CONFIG_DIR",
				strings.HasPrefix(rest, "HTTP_"), strings.HasPrefix(rest, "REPOSITORIES_"), strings.HasPrefix(rest, "PYPI_TOKEN_"):
			default:
				return nil
			}
		}
	}
	return func() (bool, string) { return PoetryUpToDate(root, noRoot) }
}

// poetryLegacyKeys are [tool.poetry]'s keys in Poetry's content-hash (present or
// not); "group" counts when present.
var poetryLegacyKeys = []string{"dependencies", "source", "extras", "dev-dependencies"}

// poetryNoopLock is the part of poetry.lock the decision reads.
type poetryNoopLock struct {
	Package []struct {
		Name         string              `toml:"name"`
		Version      string              `toml:"version"`
		Optional     bool                `toml:"optional"`
		Dependencies map[string]any      `toml:"dependencies"`
		Extras       map[string][]string `toml:"extras"`
		Source       struct {
			Type string `toml:"type"`
		} `toml:"source"`
	} `toml:"package"`
	Metadata struct {
		ContentHash string `toml:"content-hash"`
	} `toml:"metadata"`
}

// PoetryUpToDate says whether `poetry install` at root (into root/.venv) has
// nothing to do; with noRoot the project itself is not installed.
func PoetryUpToDate(root string, noRoot bool) (bool, string) {
	r, err := os.OpenRoot(root)
	if err != nil {
		return false, err.Error()
	}
	defer r.Close()
	pyData, err := readNoLink(r, "pyproject.toml")
	if err != nil {
		return false, err.Error()
	}
	lockData, err := readNoLink(r, "poetry.lock")
	if err != nil {
		return false, err.Error()
	}
	var py map[string]any
	if _, err := toml.Decode(string(pyData), &py); err != nil {
		return false, "pyproject.toml: " + err.Error()
	}
	if _, ok := py["project"]; ok {
		return false, "pyproject.toml has a [project] table (Poetry 2's content-hash)"
	}
	if _, ok := py["dependency-groups"]; ok {
		return false, "pyproject.toml has [dependency-groups]"
	}
	tool, _ := py["tool"].(map[string]any)
	poetry, _ := tool["poetry"].(map[string]any)
	if poetry == nil {
		return false, "pyproject.toml has no [tool.poetry]"
	}
	var lock poetryNoopLock
	if _, err := toml.Decode(string(lockData), &lock); err != nil {
		return false, "poetry.lock: " + err.Error()
	}
	hash, ok := poetryContentHash(poetry)
	if !ok || hash != lock.Metadata.ContentHash {
		return false, "poetry.lock is not current for pyproject.toml (its content-hash)"
	}
	site, pyVersion, why := pipSitePackages(r, ".venv")
	if why != "" {
		return false, why
	}
	dists, why := pipInstalled(r, site)
	if why != "" {
		return false, why
	}
	env := pipMarkerEnv{python: pyVersion}
	locked := map[string]int{}
	for i, p := range lock.Package {
		locked[pipNormName(p.Name)] = i
	}
	// The packages Poetry installs: the root's dependencies (every group that is
	// not optional), then theirs, each edge whose markers apply here.
	type edge struct {
		name string
		spec any
	}
	var todo []edge
	for _, g := range poetryNoopGroups(poetry) {
		if g == nil {
			return false, "pyproject.toml has an optional group or a group it does not read"
		}
		for name, spec := range g {
			if name != "python" {
				todo = append(todo, edge{name, spec})
			}
		}
	}
	needed := map[string]bool{}
	for len(todo) > 0 {
		e := todo[0]
		todo = todo[1:]
		applies, extras, why := poetryEdge(e.spec, env)
		if why != "" {
			return false, e.name + ": " + why
		}
		if !applies {
			continue
		}
		name := pipNormName(e.name)
		i, ok := locked[name]
		if !ok {
			return false, name + " is not in poetry.lock"
		}
		p := lock.Package[i]
		for _, x := range extras {
			for _, req := range p.Extras[x] {
				dep, _, marker, ok := pipSplitRequirement(req)
				if !ok || marker != "" {
					return false, fmt.Sprintf("%s's extra %s not understood", name, x)
				}
				todo = append(todo, edge{dep, "*"})
			}
		}
		if needed[name] {
			continue
		}
		needed[name] = true
		if len(needed) > maxNoopTree {
			return false, "poetry.lock is too large to check"
		}
		if t := p.Source.Type; t != "" && t != "legacy" {
			return false, name + " comes from a " + t + " source"
		}
		d, ok := dists[name]
		if !ok {
			return false, name + " is not installed in .venv"
		}
		if !pipSameVersion(d.version, p.Version) {
			return false, fmt.Sprintf("%s %s is installed, poetry.lock has %s", name, d.version, p.Version)
		}
		for dep, spec := range p.Dependencies {
			todo = append(todo, edge{dep, spec})
		}
	}
	if !noRoot {
		if why := poetryRootInstalled(r, poetry, dists, site); why != "" {
			return false, why
		}
	}
	return true, fmt.Sprintf(".venv holds the %d package(s) poetry.lock installs here", len(needed))
}

// poetryNoopGroups are the dependency tables Poetry installs by default:
// [tool.poetry.dependencies], dev-dependencies, and every group not optional; a
// nil entry means one it cannot read (an optional group).
func poetryNoopGroups(poetry map[string]any) []map[string]any {
	var out []map[string]any
	if d, ok := poetry["dependencies"].(map[string]any); ok {
		out = append(out, d)
	}
	if d, ok := poetry["dev-dependencies"].(map[string]any); ok {
		out = append(out, d)
	}
	groups, _ := poetry["group"].(map[string]any)
	for _, g := range groups {
		gt, ok := g.(map[string]any)
		if !ok {
			return append(out, nil)
		}
		if opt, _ := gt["optional"].(bool); opt {
			return append(out, nil)
		}
		deps, _ := gt["dependencies"].(map[string]any)
		out = append(out, deps)
	}
	return out
}

// poetryEdge reads a dependency's specification (a version string, or a table
// with version, markers, python, optional, extras): whether it applies here and
// which extras it asks for; why is set for a form it does not read (several
// constraints, git, path, url).
func poetryEdge(spec any, env pipMarkerEnv) (applies bool, extras []string, why string) {
	switch s := spec.(type) {
	case string:
		return true, nil, ""
	case map[string]any:
		for k, v := range s {
			switch k {
			case "version", "source", "allow-prereleases", "allows-prereleases":
			case "optional":
				if b, _ := v.(bool); b {
					return false, nil, "" // an extra's: not installed unless asked for
				}
			case "markers":
				m, _ := v.(string)
				ok, known := env.eval(m)
				if !known {
					return false, nil, "a marker phylum-box does not evaluate"
				}
				if !ok {
					return false, nil, ""
				}
			case "python":
				c, _ := v.(string)
				ok, known := poetryPythonApplies(c, env.python)
				if !known {
					return false, nil, "a python constraint phylum-box does not read"
				}
				if !ok {
					return false, nil, ""
				}
			case "extras":
				list, _ := v.([]any)
				for _, x := range list {
					xs, _ := x.(string)
					extras = append(extras, xs)
				}
			default:
				return false, nil, "a " + k + " dependency"
			}
		}
		return true, extras, ""
	}
	return false, nil, "a dependency form phylum-box does not read"
}

// poetryPythonApplies evaluates a python constraint of a dependency for the venv's
// python (X.Y): PEP 440 ranges, "*", and Poetry's ^X.Y and ~X.Y.
func poetryPythonApplies(c, python string) (applies, known bool) {
	c = strings.TrimSpace(c)
	if c == "*" || c == "" {
		return true, true
	}
	if strings.Contains(c, "||") {
		return false, false
	}
	env := pipMarkerEnv{python: python}
	for _, p := range strings.Split(c, ",") {
		p = strings.TrimSpace(p)
		var atoms []string
		switch {
		case strings.HasPrefix(p, "^") || strings.HasPrefix(p, "~") && !strings.HasPrefix(p, "~="):
			base := strings.TrimLeft(p, "^~")
			f := strings.Split(base, ".")
			major, err := strconv.Atoi(f[0])
			if err != nil {
				return false, false
			}
			upper := strconv.Itoa(major+1) + ".0"
			if strings.HasPrefix(p, "~") && len(f) > 1 {
				minor, err := strconv.Atoi(f[1])
				if err != nil {
					return false, false
				}
				upper = f[0] + "." + strconv.Itoa(minor+1)
			}
			atoms = []string{`python_version >= "` + base + `"`, `python_version < "` + upper + `"`}
		default:
			op := strings.TrimRight(p, "0123456789.*")
			atoms = []string{`python_version ` + op + ` "` + p[len(op):] + `"`}
		}
		for _, a := range atoms {
			ok, known := env.atom(a)
			if !known {
				return false, false
			}
			if !ok {
				return false, true
			}
		}
	}
	return true, true
}

// poetryRootInstalled: the project itself is in the venv at pyproject.toml's
// version, installed after pyproject.toml last changed (bare Poetry reinstalls
// it every time, which with the same pyproject.toml rewrites the same thing).
func poetryRootInstalled(r *os.Root, poetry map[string]any, dists map[string]pipDist, site string) string {
	name, _ := poetry["name"].(string)
	version, _ := poetry["version"].(string)
	if name == "" || version == "" {
		return "pyproject.toml has no name or version"
	}
	d, ok := dists[pipNormName(name)]
	if !ok || !pipSameVersion(d.version, version) {
		return "the project itself is not installed at " + version
	}
	py, err := r.Lstat("pyproject.toml")
	if err != nil {
		return err.Error()
	}
	f, err := r.Open(site)
	if err != nil {
		return err.Error()
	}
	names, _ := f.Readdirnames(-1)
	f.Close()
	for _, n := range names {
		if !strings.HasSuffix(n, ".dist-info") || pipNormName(strings.SplitN(strings.TrimSuffix(n, ".dist-info"), "-", 2)[0]) != pipNormName(name) {
			continue
		}
		st, err := r.Lstat(path.Join(site, n, "METADATA"))
		if err != nil {
			return err.Error()
		}
		if py.ModTime().After(st.ModTime()) {
			return "pyproject.toml changed since the project itself was installed"
		}
		return ""
	}
	return "the project itself is not installed"
}

// poetryContentHash is Poetry's content-hash of pyproject.toml ([tool.poetry]'s
// dependencies, source, extras, dev-dependencies and group, as Python's
// json.dumps(sort_keys=True) writes them); ok is false for a value it cannot
// write the same way (a float, a date).
func poetryContentHash(poetry map[string]any) (string, bool) {
	rel := map[string]any{}
	for _, k := range poetryLegacyKeys {
		rel[k] = poetry[k] // absent: null
	}
	if g, ok := poetry["group"]; ok {
		rel["group"] = g
	}
	var b strings.Builder
	if !pyJSON(&b, rel) {
		return "", false
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:]), true
}

// pyJSON writes v as Python's json.dumps(v, sort_keys=True) does.
func pyJSON(b *strings.Builder, v any) bool {
	switch t := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(t))
	case int64:
		b.WriteString(strconv.FormatInt(t, 10))
	case string:
		pyJSONString(b, t)
	case []any:
		b.WriteByte('[')
		for i, e := range t {
			if i > 0 {
				b.WriteString(", ")
			}
			if !pyJSON(b, e) {
				return false
			}
		}
		b.WriteByte(']')
	case []map[string]any:
		b.WriteByte('[')
		for i, e := range t {
			if i > 0 {
				b.WriteString(", ")
			}
			if !pyJSON(b, e) {
				return false
			}
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys) // Python sorts by code point; Go's byte order agrees for UTF-8
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			pyJSONString(b, k)
			b.WriteString(": ")
			if !pyJSON(b, t[k]) {
				return false
			}
		}
		b.WriteByte('}')
	default:
		return false
	}
	return true
}

// pyJSONString writes s as Python's json (ensure_ascii) does.
func pyJSONString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20 || r >= 0x7f && r <= 0xffff:
			fmt.Fprintf(b, `\u%04x`, r)
		case r > 0xffff:
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(b, `\u%04x\u%04x`, r1, r2)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}

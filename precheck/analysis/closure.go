package analysis

import (
	"bytes"
	"context"
	"errors"
	"path"
	"strings"

	"github.com/phylum-box/phylum-box/internal/lazyre"
)

// closure reads files and the package-local files they load, breadth by depth,
// as units of one role.
type closure struct {
	t     *tree
	seen  map[string]bool
	max   int
	depth int
	role  role
	n     int
	// budgeted closures (the rest of a package) stop at the cap by design.
	budgeted bool
}

var (
	pyLocalRE   = lazyre.New(`(?m)^\s*(?:from\s+(\.?[\w.]+)\s+import|import\s+([\w.]+))`)
	rbLocalRE   = lazyre.New(`\brequire_relative\s*\(?\s*['"]([^'"\n]{1,200})['"]`)
	rbLibRE     = lazyre.New(`\brequire\s*\(?\s*['"]([\w/.-]{1,200})['"]`)
	rustLocalRE = lazyre.New(`(?m)^\s*(?:pub(?:\([\w ]+\))?\s+)?mod\s+(\w+)\s*;|\binclude(?:_str)?!\s*\(\s*"([^"\n]{1,200})"`)
)

func (c *closure) follow(rel string, depth int) []*unit {
	rel = cleanRel(rel)
	if c.seen[rel] || c.n >= c.max || !codeFile(rel) {
		return nil
	}
	c.seen[rel] = true
	data, truncated, err := c.t.read(rel)
	if err != nil {
		if errors.Is(err, errReadCap) && !c.budgeted {
			c.t.unread = append(c.t.unread, rel)
		}
		return nil
	}
	c.n++
	if bytes.IndexByte(data[:min(len(data), 8192)], 0) >= 0 {
		return nil // a binary (a .node addon named by exports): nothing to read as code
	}
	u := &unit{rel: rel, text: data, lineBase: 1, langs: langOf(rel), role: c.role, truncated: truncated}
	out := []*unit{u}
	if depth >= c.depth {
		return out
	}
	for _, next := range c.locals(u) {
		out = append(out, c.follow(next, depth+1)...)
	}
	return out
}

var scriptExts = []string{".sh", ".bash", ".js", ".cjs", ".mjs", ".py", ".rb", ".ps1", ".bat", ".cmd"}

// scriptRefs are the path-like tokens ending in a script extension in text
// (a byte scan from each extension back over path characters).
func scriptRefs(text []byte) []string {
	var out []string
	for _, ext := range scriptExts {
		e := []byte(ext)
		for off := 0; off < len(text) && len(out) < 200; {
			i := bytes.Index(text[off:], e)
			if i < 0 {
				break
			}
			end := off + i + len(e)
			off = end
			if end < len(text) && isWord(text[end]) {
				continue // .json, .jsx, .shadow
			}
			start := end - len(e)
			for start > 0 && end-start < 200 && (isWord(text[start-1]) || text[start-1] == '.' || text[start-1] == '/' || text[start-1] == '-') {
				start--
			}
			if end-start > len(e) {
				out = append(out, string(text[start:end]))
			}
		}
	}
	return out
}

// locals are the package files u loads.
func (c *closure) locals(u *unit) []string {
	var out []string
	if c.role == roleInstall {
		// exec('bash setup.sh'), spawn('node', ['lib/x.js']): at install time a
		// script named in a string runs as surely as one required.
		for _, m := range scriptRefs(u.text) {
			ref := strings.TrimPrefix(m, "./")
			for _, cand := range []string{path.Join(path.Dir(u.rel), ref), ref} {
				if cand = cleanRel(cand); c.t.exists(cand) {
					out = append(out, cand)
					break
				}
			}
		}
	}
	switch {
	case u.langs&langJS != 0:
		for _, spec := range jsLocals(u.text) {
			out = append(out, resolveJS(c.t, u.rel, spec)...)
		}
	case u.langs&langPy != 0:
		dir := path.Dir(u.rel)
		for _, m := range pyLocalRE().FindAllSubmatch(u.text, 200) {
			name := string(m[1]) + string(m[2])
			name = strings.TrimLeft(name, ".")
			p := strings.ReplaceAll(name, ".", "/")
			// from .core import x (relative to the file), from pkg.core import x (from the root)
			for _, cand := range []string{path.Join(dir, p+".py"), path.Join(dir, p, "__init__.py"), p + ".py", path.Join(p, "__init__.py")} {
				if c.t.exists(cand) {
					out = append(out, cand)
					break
				}
			}
		}
	case u.langs&langRuby != 0:
		for _, m := range rbLocalRE().FindAllSubmatch(u.text, 200) {
			p := path.Join(path.Dir(u.rel), string(m[1]))
			if !strings.HasSuffix(p, ".rb") {
				p += ".rb"
			}
			if c.t.exists(p) {
				out = append(out, p)
			}
		}
		for _, m := range rbLibRE().FindAllSubmatch(u.text, 200) { // require 'x/y' -> lib/x/y.rb
			if p := "lib/" + string(m[1]) + ".rb"; c.t.exists(p) {
				out = append(out, p)
			}
		}
	case u.langs&langRust != 0:
		dir := path.Dir(u.rel)
		for _, m := range rustLocalRE().FindAllSubmatch(u.text, 200) {
			if len(m[2]) > 0 {
				out = append(out, path.Join(dir, string(m[2])))
				continue
			}
			name := string(m[1])
			for _, cand := range []string{path.Join(dir, name+".rs"), path.Join(dir, name, "mod.rs")} {
				if c.t.exists(cand) {
					out = append(out, cand)
					break
				}
			}
		}
	}
	return out
}

func langOf(rel string) lang {
	switch path.Ext(rel) {
	case ".js", ".cjs", ".mjs", ".ts", ".cts", ".mts", ".jsx":
		return langJS
	case ".py", ".pyw", ".pth":
		return langPy
	case ".rb", ".gemspec", ".rake":
		return langRuby
	case ".rs":
		return langRust
	case ".sh", ".bash", ".gyp", ".gypi":
		return langShell
	}
	switch path.Base(rel) {
	case "Rakefile", "Gemfile":
		return langRuby
	}
	return langJS | langShell
}

const (
	maxRestFiles = 400
	maxRestBytes = 24 << 20
)

// restOf reads the package's other code files (want), not tests or examples, as
// load-time code judged file by file, within a budget: what the static walk from
// the entry points did not reach may still be loaded by a computed path.
func restOf(ctx context.Context, t *tree, seen map[string]bool, want func(string) bool) ([]*unit, error) {
	rest := &closure{t: t, seen: seen, max: maxRestFiles, depth: 0, role: roleEntry, budgeted: true}
	var units []*unit
	for _, n := range t.list() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !want(n) || testPath(n) {
			continue
		}
		if t.total >= maxRestBytes {
			break
		}
		units = append(units, rest.follow(n, 0)...)
	}
	return units, nil
}

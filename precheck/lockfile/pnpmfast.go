package lockfile

import (
	"bytes"
	"strconv"
	"strings"
)

// pnpmFast reads a pnpm-lock.yaml written the way pnpm writes it: block mappings indented by
// two spaces, one key per line, plain or quoted scalars, single-line flow mappings for
// `resolution`. It returns ok=false as soon as a line falls outside that subset, and the
// caller reads the document with yaml.v3 instead — a fallback costs time, never correctness.
//
// Levels (indentation / 2) it reads:
//
//	0  lockfileVersion, importers, packages, snapshots, and v5's top-level dependency groups
//	1  importer dirs, package keys, snapshot keys, v5 top-level dependencies (name: version)
//	2  package props (name, version, dev, resolution); importer and snapshot dependency groups
//	3  importer/snapshot dependencies (name: version, or name: followed by level 4)
//	4  importer dependency specifier/version
//
// Everything else is skipped by indentation.
func pnpmFast(data []byte) (doc *pnpmDoc, ok bool) {
	doc, stop := pnpmFastAt(data)
	return doc, stop == 0
}

// pnpmFastAt is pnpmFast reporting the line it gave up at (-1 before the first line), or 0.
func pnpmFastAt(data []byte) (*pnpmDoc, int) {
	if bytes.IndexByte(data, '\t') >= 0 || bytes.IndexByte(data, '\r') >= 0 {
		return nil, -1
	}
	r := fastReader{doc: &pnpmDoc{}, topSeen: map[string]bool{}, pkgSeen: make(map[string]bool, bytes.Count(data, []byte("\n  "))/2)}
	lineNo := 0
	prevIndent, prevScalar := -2, false
	content := false
	rest := string(data) // one copy; lines are substrings of it
	for len(rest) > 0 {
		lineNo++
		var line string
		line, rest, _ = strings.Cut(rest, "\n")
		t := strings.TrimLeft(line, " ")
		if t == "" || t[0] == '#' {
			continue
		}
		indent := len(line) - len(t)
		if indent > 0 && len(r.topSeen) == 0 {
			return nil, lineNo // the document must start at column 0
		}
		// A key with an inline scalar has no children: a deeper line after it is a
		// multi-line scalar or an error, both for yaml.v3 to judge.
		if indent > prevIndent && (prevScalar || indent != prevIndent+2) {
			return nil, lineNo // nesting is always by exactly two spaces in pnpm's output
		}
		if strings.HasPrefix(t, "- ") || t == "-" {
			// Block sequence items only occur in sections skipped here.
			item := strings.TrimSpace(strings.TrimPrefix(t, "-"))
			if !r.skipping(indent) || item == "" {
				return nil, lineNo
			}
			if _, v, ok := splitKV(item); ok && (v == "" || !skippable(v)) || !ok && !skippable(item) {
				return nil, lineNo
			}
			prevIndent, prevScalar = indent, true
			continue
		}
		key, value, ok := splitKV(t)
		if !ok || value != "" && !skippable(value) {
			return nil, lineNo
		}
		if !r.line(indent, key, value, lineNo) {
			return nil, lineNo
		}
		content = true
		prevIndent, prevScalar = indent, value != ""
	}
	if !content {
		return &pnpmDoc{empty: true}, 0
	}
	r.finish()
	return r.doc, 0
}

type fastReader struct {
	doc     *pnpmDoc
	topSeen map[string]bool
	pkgSeen map[string]bool

	section  string // current top-level key
	pkg      *pnpmRaw
	propSeen uint8
	imp      *pnpmImporter
	v5deps   *pnpmImporter // v5 top-level dependency groups
	snapKey  string
	snapDeps []string
	group    string // importer/snapshot dependency group being read, "" if skipped
	dep      *pnpmDep
	depNames map[string]bool

	haveImporters bool
}

// skipping reports whether a line at indent belongs to content this reader ignores.
func (r *fastReader) skipping(indent int) bool {
	switch r.section {
	case "lockfileVersion":
		return false
	case "packages":
		return indent >= 6
	case "importers":
		return indent >= 6 && r.group == "" || indent >= 10
	case "snapshots":
		return indent >= 6 && r.group == "" || indent >= 8
	case "dependencies", "devDependencies", "optionalDependencies":
		return indent >= 6
	}
	return indent > 0
}

func (r *fastReader) line(indent int, key, value string, lineNo int) bool {
	if indent%2 != 0 {
		return false
	}
	if indent == 0 {
		return r.top(key, value)
	}
	if r.skipping(indent) {
		return true
	}
	switch r.section {
	case "packages":
		return r.packageLine(indent, key, value, lineNo)
	case "importers":
		return r.importerLine(indent, key, value, lineNo)
	case "snapshots":
		return r.snapshotLine(indent, key, value)
	case "dependencies", "devDependencies", "optionalDependencies":
		// Single-project lockfiles: name: version (v5), or name: {specifier, version} (v6).
		switch indent {
		case 2:
			v, ok := scalar(value)
			if !ok || !r.newDep(key) {
				return false
			}
			r.v5deps.deps = append(r.v5deps.deps, pnpmDep{group: r.section, name: key, version: v, line: lineNo})
			r.dep = &r.v5deps.deps[len(r.v5deps.deps)-1]
			r.propSeen = 0
		case 4:
			return r.depProp(key, value)
		}
		return true
	}
	return true
}

func (r *fastReader) top(key, value string) bool {
	r.finishSnapshot()
	r.pkg, r.imp, r.group, r.dep = nil, nil, "", nil
	if r.topSeen[key] {
		return false // duplicate key: yaml.v3 reports it
	}
	r.topSeen[key] = true
	r.section = key
	switch key {
	case "lockfileVersion":
		v, ok := scalar(value)
		if !ok || v == "" {
			return false
		}
		r.doc.version = v
	case "importers":
		r.haveImporters = true
		return value == "" || value == "{}"
	case "packages":
		return value == "" || value == "{}"
	case "snapshots":
		r.doc.snapshots = map[string][]string{}
		return value == "" || value == "{}"
	case "dependencies", "devDependencies", "optionalDependencies":
		if r.v5deps == nil {
			r.v5deps = &pnpmImporter{dir: "."}
		}
		r.depNames = map[string]bool{}
		r.group = key
		return value == "" || value == "{}"
	default:
		// Sections not read here may hold anything a later line check accepts.
		if value != "" {
			if !skippable(value) {
				return false
			}
		}
	}
	return true
}

func (r *fastReader) packageLine(indent int, key, value string, lineNo int) bool {
	switch indent {
	case 2:
		if value != "" && value != "{}" || r.pkgSeen[key] {
			return false
		}
		r.pkgSeen[key] = true
		r.doc.packages = append(r.doc.packages, pnpmRaw{key: key, line: lineNo})
		r.pkg = &r.doc.packages[len(r.doc.packages)-1]
		r.propSeen = 0
		r.group = ""
		return true
	case 4:
		if r.pkg == nil {
			return false
		}
		var bit uint8
		switch key {
		case "name":
			bit = 1
		case "version":
			bit = 2
		case "dev":
			bit = 4
		case "resolution":
			bit = 8
		default:
			if value != "" {
				if !skippable(value) {
					return false
				}
			}
			return true
		}
		if r.propSeen&bit != 0 {
			return false
		}
		r.propSeen |= bit
		p := &r.pkg.pkg
		switch key {
		case "name", "version":
			v, ok := scalar(value)
			if !ok || v == "" {
				return false
			}
			if key == "name" {
				p.Name = v
			} else {
				p.Version = v
			}
		case "dev":
			switch value {
			case "true":
				p.Dev = true
			case "false":
			default:
				return false
			}
		case "resolution":
			return flowResolution(value, p)
		}
	}
	return true
}

func (r *fastReader) importerLine(indent int, key, value string, lineNo int) bool {
	switch indent {
	case 2:
		if value != "" && value != "{}" {
			return false
		}
		for _, imp := range r.doc.importers {
			if imp.dir == key {
				return false
			}
		}
		r.doc.importers = append(r.doc.importers, pnpmImporter{dir: key})
		r.imp = &r.doc.importers[len(r.doc.importers)-1]
		r.group, r.dep = "", nil
		r.depNames = map[string]bool{}
	case 4:
		if r.imp == nil {
			return false
		}
		r.group, r.dep = "", nil
		if key == "dependencies" || key == "devDependencies" || key == "optionalDependencies" {
			if value != "" && value != "{}" {
				return false
			}
			r.group = key
			r.depNames = map[string]bool{}
		} else if value != "" {
			if !skippable(value) {
				return false
			}
		}
	case 6:
		if r.group == "" || !r.newDep(key) {
			return false
		}
		d := pnpmDep{group: r.group, name: key, line: lineNo}
		if value != "" {
			v, ok := scalar(value)
			if !ok {
				return false
			}
			d.version = v
		}
		r.imp.deps = append(r.imp.deps, d)
		r.dep = &r.imp.deps[len(r.imp.deps)-1]
		r.propSeen = 0
	case 8:
		return r.depProp(key, value)
	}
	return true
}

// depProp reads the specifier/version lines below a dependency name.
func (r *fastReader) depProp(key, value string) bool {
	if r.dep == nil || r.dep.version != "" && r.propSeen&1 == 0 {
		return false // name: version already had its value inline
	}
	if key == "version" {
		if r.propSeen&1 != 0 {
			return false
		}
		r.propSeen |= 1
		v, ok := scalar(value)
		if !ok {
			return false
		}
		r.dep.version = v
	}
	return true
}

func (r *fastReader) snapshotLine(indent int, key, value string) bool {
	switch indent {
	case 2:
		r.finishSnapshot()
		if value != "" && value != "{}" {
			return false
		}
		if _, dup := r.doc.snapshots[key]; dup {
			return false
		}
		r.snapKey, r.snapDeps, r.group = key, nil, ""
		r.doc.snapshots[key] = nil
	case 4:
		r.group = ""
		if key == "dependencies" || key == "optionalDependencies" {
			if value != "" && value != "{}" {
				return false
			}
			r.group = key
			r.depNames = map[string]bool{}
		} else if value != "" {
			if !skippable(value) {
				return false
			}
		}
	case 6:
		if r.group == "" || value == "" || !r.newDep(key) {
			return false
		}
		v, ok := scalar(value)
		if !ok {
			return false
		}
		r.snapDeps = appendDepKey(r.snapDeps, key, v)
	}
	return true
}

func (r *fastReader) newDep(name string) bool {
	if r.depNames[name] {
		return false
	}
	r.depNames[name] = true
	return true
}

func (r *fastReader) finishSnapshot() {
	if r.snapKey != "" {
		r.doc.snapshots[r.snapKey] = r.snapDeps
		r.snapKey, r.snapDeps = "", nil
	}
}

func (r *fastReader) finish() {
	r.finishSnapshot()
	if !r.haveImporters {
		imp := pnpmImporter{dir: "."}
		if r.v5deps != nil {
			imp = *r.v5deps
		}
		r.doc.importers = []pnpmImporter{imp}
	}
}

// splitKV splits "key: value" / "key:" with a plain, single- or double-quoted key.
func splitKV(t string) (key, value string, ok bool) {
	var rest string
	switch t[0] {
	case '\'', '"':
		end := quotedEnd(t)
		if end < 0 {
			return "", "", false
		}
		k, ok := scalar(t[:end+1])
		if !ok {
			return "", "", false
		}
		key, rest = k, t[end+1:]
		if !strings.HasPrefix(rest, ":") {
			return "", "", false
		}
		rest = rest[1:]
	default:
		if strings.ContainsAny(t[:1], "&*!|>%@`?{}[],:#-") {
			return "", "", false
		}
		i := strings.Index(t, ": ")
		if i < 0 {
			if !strings.HasSuffix(t, ":") {
				return "", "", false
			}
			i = len(t) - 1
		}
		key, rest = t[:i], t[i+1:]
		if strings.Contains(key, " #") || strings.HasSuffix(key, " ") {
			return "", "", false
		}
	}
	if rest != "" && rest[0] != ' ' {
		return "", "", false
	}
	value = strings.TrimSpace(rest)
	if strings.Contains(value, " #") {
		return "", "", false // a comment after the value
	}
	return key, value, true
}

// quotedEnd returns the index of the quote closing the scalar that starts t, or -1.
func quotedEnd(t string) int {
	q := t[0]
	for i := 1; i < len(t); i++ {
		switch {
		case q == '"' && t[i] == '\\':
			i++
		case t[i] == q && q == '\'' && i+1 < len(t) && t[i+1] == '\'':
			i++
		case t[i] == q:
			return i
		}
	}
	return -1
}

// scalar reads a single-line scalar value. Anything whose meaning yaml.v3 could read
// differently — null, tags, anchors, block scalars, flow collections — is refused.
func scalar(v string) (string, bool) {
	if v == "" {
		return "", true
	}
	switch v[0] {
	case '\'':
		if len(v) < 2 || quotedEnd(v) != len(v)-1 {
			return "", false
		}
		return strings.ReplaceAll(v[1:len(v)-1], "''", "'"), true
	case '"':
		if len(v) < 2 || quotedEnd(v) != len(v)-1 {
			return "", false
		}
		s, err := strconv.Unquote(v)
		if err != nil || strings.ContainsAny(v, "\\") {
			return "", false // YAML and Go escapes differ; leave them to yaml.v3
		}
		return s, true
	case '&', '*', '!', '|', '>', '%', '@', '`', '{', '[', '}', ']', '#', ',', '?', ':', '-':
		return "", false
	}
	switch v {
	case "~", "null", "Null", "NULL":
		return "", false
	}
	if strings.Contains(v, ": ") || strings.HasSuffix(v, ":") {
		return "", false
	}
	return v, true
}

// flowClosed reports whether v is a single-line flow collection ({…} or […]) without
// nesting or quotes, which the skipped sections may hold (engines, cpu, os …).
func flowClosed(v string) bool {
	if len(v) < 2 || !(v[0] == '{' && v[len(v)-1] == '}' || v[0] == '[' && v[len(v)-1] == ']') {
		return false
	}
	inner := v[1 : len(v)-1]
	return !strings.ContainsAny(inner, "{}[]'\"&*!|>#")
}

// flowResolution reads `resolution: {integrity: …, tarball: …}`.
func flowResolution(v string, p *pnpmPackage) bool {
	if !flowClosed(v) || v[0] != '{' {
		return false
	}
	inner := strings.TrimSpace(v[1 : len(v)-1])
	if inner == "" {
		return true
	}
	seen := map[string]bool{}
	for _, item := range strings.Split(inner, ",") {
		item = strings.TrimSpace(item)
		k, val, ok := strings.Cut(item, ": ")
		if !ok || k == "" || seen[k] || strings.Contains(val, ": ") || strings.HasSuffix(val, ":") {
			return false
		}
		if s, ok := scalar(k); !ok || s != k {
			return false
		}
		seen[k] = true
		val = strings.TrimSpace(val)
		if s, ok := scalar(val); !ok || s != val {
			return false
		}
		switch k {
		case "tarball":
			p.Resolution.Tarball = val
		case "integrity":
			p.Resolution.Integrity = val
		case "commit":
			p.Resolution.Commit = val
		case "repo":
			p.Resolution.Repo = val
		case "type":
			p.Resolution.Type = val
		case "directory":
			p.Resolution.Directory = val
		}
	}
	return true
}

// skippable reports whether a value the reader does not need is complete on its line: a
// scalar, or a flow collection whose quotes and brackets all close at the end of the line,
// without anchors, aliases, tags or comments. Anything else could continue on the next
// lines, or mean something else, and is left to yaml.v3.
func skippable(v string) bool {
	if _, ok := scalar(v); ok {
		return true
	}
	if v[0] != '{' && v[0] != '[' {
		return false
	}
	depth := 0
	nodeStart := true
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' {
			if i+1 < len(v) && v[i+1] == '#' {
				return false
			}
			continue
		}
		if nodeStart && strings.IndexByte("&*!?|>%@`-", c) >= 0 {
			return false
		}
		nodeStart = false
		switch c {
		case '\'', '"':
			end := quotedEnd(v[i:])
			if end < 0 || c == '"' && strings.Contains(v[i:i+end], "\\") {
				return false
			}
			i += end
		case '{', '[':
			depth++
			nodeStart = true
		case '}', ']':
			depth--
			if depth < 0 || depth == 0 && i != len(v)-1 {
				return false
			}
		case ',':
			nodeStart = true
		case ':':
			nodeStart = i+1 < len(v) && v[i+1] == ' '
		}
	}
	return depth == 0
}

package lockfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/phylum-box/phylum-box/precheck"
)

// Pipfile.lock, poetry.lock, uv.lock and pdm.lock.
//
// Hand-written with the decoders scalibr uses (encoding/json, BurntSushi/toml) rather than
// wrapping scalibr's extractors, because those keep only name and version: scalibr's
// pipfilelock skips every entry without an "==" version (git, path, editable) silently, and
// its poetrylock, uvlock and pdmlock report git, directory, path, URL and editable packages
// as index packages. The source/git/path fields are what tell them apart.

// ---- Pipfile.lock ----

type pipfileEntry struct {
	Version  string `json:"version"`
	Git      string `json:"git"`
	Ref      string `json:"ref"`
	Path     string `json:"path"`
	File     string `json:"file"`
	Editable bool   `json:"editable"`
}

func parsePipfileLock(in *input) ([]precheck.Package, error) {
	if len(bytes.TrimSpace(in.data)) == 0 {
		return nil, fmt.Errorf("%w: not JSON; regenerate it with `pipenv lock`", errEmpty)
	}
	var lock struct {
		Default map[string]pipfileEntry `json:"default"`
		Develop map[string]pipfileEntry `json:"develop"`
	}
	if err := json.Unmarshal(in.data, &lock); err != nil {
		return nil, fmt.Errorf("not a valid Pipfile.lock: %w", jsonError(in.data, err))
	}
	lines := pipfileLines(in.data)
	var out []precheck.Package
	add := func(group string, m map[string]pipfileEntry, dev bool) {
		for name, e := range m {
			p := precheck.Package{Ecosystem: precheck.PyPI, Name: name, Source: in.at(lines[group+"/"+name]), Dev: dev}
			switch {
			case e.Git != "":
				p.Uncheckable, p.Reason = true, "git dependency ("+e.Git+"@"+e.Ref+")"
			case e.Path == "." && e.Editable:
				continue // the project itself, installed editable
			case e.Path != "":
				p.Uncheckable, p.Reason = true, "local path dependency ("+e.Path+")"
			case e.File != "":
				p.Uncheckable, p.Reason = true, "direct file/URL dependency ("+e.File+")"
			case strings.HasPrefix(e.Version, "==") && len(e.Version) > 2:
				p.Version = e.Version[2:]
			default:
				p.Uncheckable, p.Reason = true, fmt.Sprintf("no pinned version (%q)", e.Version)
			}
			out = append(out, p)
		}
	}
	add("default", lock.Default, false)
	add("develop", lock.Develop, true)
	return out, nil
}

// pipfileLines finds the `"name": {` line of each package under "default"/"develop". The
// indentation is whatever the writer used: the first object key below a group header
// sets the package level for that group.
func pipfileLines(data []byte) map[string]int {
	lines := map[string]int{}
	group, pkgIndent := "", -1
	n := 0
	for len(data) > 0 {
		n++
		var l []byte
		l, data, _ = bytes.Cut(data, []byte{'\n'})
		s := strings.TrimRight(string(l), "\r")
		t := strings.TrimLeft(s, " \t")
		indent := len(s) - len(t)
		if !strings.HasPrefix(t, `"`) || !strings.HasSuffix(t, "{") {
			continue
		}
		key, _, _ := strings.Cut(t[1:], `"`)
		switch {
		case key == "default" || key == "develop":
			group, pkgIndent = key, -1
		case group == "":
		case pkgIndent < 0 || indent == pkgIndent:
			pkgIndent = indent
			if _, ok := lines[group+"/"+key]; !ok {
				lines[group+"/"+key] = n
			}
		}
	}
	return lines
}

// ---- poetry.lock ----

type poetryLock struct {
	Package []struct {
		Name     string   `toml:"name"`
		Version  string   `toml:"version"`
		Category string   `toml:"category"` // lock-version < 2: "main" or "dev"
		Groups   []string `toml:"groups"`   // lock-version 2
		Optional bool     `toml:"optional"`
		Source   struct {
			Type              string `toml:"type"`
			URL               string `toml:"url"`
			ResolvedReference string `toml:"resolved_reference"`
		} `toml:"source"`
	} `toml:"package"`
}

func parsePoetry(in *input) ([]precheck.Package, error) {
	var lock poetryLock
	if err := tomlDecode(in, &lock, "poetry.lock", "poetry lock"); err != nil {
		return nil, err
	}
	lines := tomlPackageLines(in.data)
	out := make([]precheck.Package, 0, len(lock.Package))
	for i, p := range lock.Package {
		pkg := precheck.Package{Ecosystem: precheck.PyPI, Name: p.Name, Version: p.Version, Source: in.at(lineAt(lines, i))}
		pkg.Dev = p.Category == "dev" || (len(p.Groups) > 0 && !contains(p.Groups, "main"))
		switch p.Source.Type {
		case "", "legacy", "explicit", "supplemental", "primary", "secondary":
			// An index (PyPI or a mirror/private index with the same names).
		case "git":
			pkg.Uncheckable, pkg.Reason = true, "git dependency ("+p.Source.URL+"@"+p.Source.ResolvedReference+")"
		case "directory", "file":
			pkg.Uncheckable, pkg.Reason = true, "local "+p.Source.Type+" dependency ("+p.Source.URL+")"
		default:
			pkg.Uncheckable, pkg.Reason = true, p.Source.Type+" dependency ("+p.Source.URL+")"
		}
		out = append(out, pkg)
	}
	return out, nil
}

// ---- uv.lock ----

type uvLock struct {
	Manifest struct {
		Members []string `toml:"members"`
	} `toml:"manifest"`
	Package []struct {
		Name    string         `toml:"name"`
		Version string         `toml:"version"`
		Source  *uvSourceTable `toml:"source"`
	} `toml:"package"`
}

func parseUV(in *input) ([]precheck.Package, error) {
	var lock uvLock
	if err := tomlDecode(in, &lock, "uv.lock", "uv lock"); err != nil {
		return nil, err
	}
	members := map[string]bool{}
	for _, m := range lock.Manifest.Members {
		members[normalizePyPI(m)] = true
	}
	lines := tomlPackageLines(in.data)
	out := make([]precheck.Package, 0, len(lock.Package))
	for i, p := range lock.Package {
		pkg := precheck.Package{Ecosystem: precheck.PyPI, Name: p.Name, Version: p.Version, Source: in.at(lineAt(lines, i))}
		kind, ref := uvSource(p.Source)
		switch kind {
		case "registry":
		case "virtual", "editable", "directory", "path":
			if ref == "." || members[normalizePyPI(p.Name)] {
				continue // the project itself or a member of its workspace
			}
			pkg.Uncheckable, pkg.Reason = true, "local "+kind+" dependency ("+ref+")"
		case "git":
			pkg.Uncheckable, pkg.Reason = true, "git dependency ("+ref+")"
		case "url":
			pkg.Uncheckable, pkg.Reason = true, "direct URL dependency ("+ref+")"
		default:
			pkg.Uncheckable, pkg.Reason = true, "source of a kind phylum-box does not know"
		}
		out = append(out, pkg)
	}
	return out, nil
}

// uvSourceTable is uv's `source = { registry = "…" }`; exactly one key is set.
type uvSourceTable struct {
	Registry  string `toml:"registry"`
	Virtual   string `toml:"virtual"`
	Editable  string `toml:"editable"`
	Directory string `toml:"directory"`
	Path      string `toml:"path"`
	Git       string `toml:"git"`
	URL       string `toml:"url"`
}

// uvSource returns the kind of a uv source and its value.
func uvSource(src *uvSourceTable) (kind, ref string) {
	if src == nil {
		return "registry", "" // older lockfiles omit it for the default index
	}
	switch {
	case src.Registry != "":
		return "registry", src.Registry
	case src.Virtual != "":
		return "virtual", src.Virtual
	case src.Editable != "":
		return "editable", src.Editable
	case src.Directory != "":
		return "directory", src.Directory
	case src.Path != "":
		return "path", src.Path
	case src.Git != "":
		return "git", src.Git
	case src.URL != "":
		return "url", src.URL
	}
	return "unknown", "" // a source kind this version does not know: not assumed to be an index
}

// ---- pdm.lock ----

type pdmLock struct {
	Package []struct {
		Name     string   `toml:"name"`
		Version  string   `toml:"version"`
		Groups   []string `toml:"groups"`
		Git      string   `toml:"git"`
		Revision string   `toml:"revision"`
		Path     string   `toml:"path"`
		URL      string   `toml:"url"`
		Editable bool     `toml:"editable"`
	} `toml:"package"`
}

func parsePDM(in *input) ([]precheck.Package, error) {
	var lock pdmLock
	if err := tomlDecode(in, &lock, "pdm.lock", "pdm lock"); err != nil {
		return nil, err
	}
	lines := tomlPackageLines(in.data)
	out := make([]precheck.Package, 0, len(lock.Package))
	for i, p := range lock.Package {
		pkg := precheck.Package{Ecosystem: precheck.PyPI, Name: p.Name, Version: p.Version, Source: in.at(lineAt(lines, i))}
		pkg.Dev = len(p.Groups) > 0 && !contains(p.Groups, "default")
		switch {
		case p.Git != "":
			pkg.Uncheckable, pkg.Reason = true, "git dependency ("+p.Git+"@"+p.Revision+")"
		case p.Path != "":
			pkg.Uncheckable, pkg.Reason = true, "local path dependency ("+p.Path+")"
		case p.URL != "":
			pkg.Uncheckable, pkg.Reason = true, "direct URL dependency ("+p.URL+")"
		}
		out = append(out, pkg)
	}
	return out, nil
}

// ---- shared ----

func tomlDecode(in *input, v any, what, regen string) error {
	md, err := toml.Decode(string(in.data), v)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return fmt.Errorf("not a valid %s: line %d: %s; regenerate it with `%s`", what, pe.Position.Line, pe.Message, regen)
		}
		return fmt.Errorf("not a valid %s: %w; regenerate it with `%s`", what, err, regen)
	}
	_ = md
	return nil
}

// tomlPackageLines returns the line of each [[package]] header, in order; the n-th
// decoded package is the n-th header.
func tomlPackageLines(data []byte) []int {
	var lines []int
	n := 0
	for len(data) > 0 {
		n++
		var l []byte
		l, data, _ = bytes.Cut(data, []byte{'\n'})
		if bytes.Equal(bytes.TrimSpace(l), []byte("[[package]]")) {
			lines = append(lines, n)
		}
	}
	return lines
}

func lineAt(lines []int, i int) int {
	if i < len(lines) {
		return lines[i]
	}
	return 0
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// normalizePyPI is PEP 503 normalisation: lowercase, runs of -_. become one -.
func normalizePyPI(name string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(name) {
		if c == '-' || c == '_' || c == '.' {
			if !dash {
				b.WriteByte('-')
			}
			dash = true
			continue
		}
		dash = false
		b.WriteRune(c)
	}
	return b.String()
}

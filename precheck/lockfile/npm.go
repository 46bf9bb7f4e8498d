package lockfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/phylum-box/phylum-box/internal/lazyre"
	"github.com/phylum-box/phylum-box/precheck"
)

// package-lock.json / npm-shrinkwrap.json, lockfileVersion 1 (nested "dependencies"),
// 2 (both) and 3 ("packages" only).
//
// Hand-written rather than wrapping scalibr's packagelockjson: scalibr reports workspace
// directories and file: directories as ordinary packages (it keeps no key, so a workspace
// cannot be told from a file: dependency afterwards), reports git dependencies with a
// commit in place of the version, and skips link entries without a trace. We need all three
// distinctions to report uncheckable entries and leave out the project's own workspaces.
type npmLock struct {
	LockfileVersion int                   `json:"lockfileVersion"`
	Packages        map[string]npmPackage `json:"packages"`
	Dependencies    map[string]npmV1Entry `json:"dependencies"`
}

type npmPackage struct {
	Name       string          `json:"name"`
	Version    string          `json:"version"`
	Resolved   string          `json:"resolved"`
	Integrity  string          `json:"integrity"`
	Link       bool            `json:"link"`
	Dev        bool            `json:"dev"`
	Workspaces json.RawMessage `json:"workspaces"`
}

type npmV1Entry struct {
	Version      string                `json:"version"`
	Resolved     string                `json:"resolved"`
	Integrity    string                `json:"integrity"`
	Dev          bool                  `json:"dev"`
	Dependencies map[string]npmV1Entry `json:"dependencies"`
}

func parseNPM(in *input) ([]precheck.Package, error) {
	if len(bytes.TrimSpace(in.data)) == 0 {
		return nil, fmt.Errorf("%w: not JSON; regenerate it with `npm install --package-lock-only`", errEmpty)
	}
	var lock npmLock
	if err := json.Unmarshal(in.data, &lock); err != nil {
		return nil, fmt.Errorf("not a valid package-lock.json: %w", jsonError(in.data, err))
	}
	lines := npmKeyLines(in.data)
	if lock.Packages != nil {
		return npmPackages(in, lock.Packages, lines)
	}
	var out []precheck.Package
	npmV1(in, lock.Dependencies, lines, 0, &out)
	return out, nil
}

// npmPackages reads the lockfileVersion 2/3 "packages" map, keyed by install path.
func npmPackages(in *input, pkgs map[string]npmPackage, lines map[string]int) ([]precheck.Package, error) {
	workspaces := npmWorkspaceGlobs(pkgs[""].Workspaces)
	out := make([]precheck.Package, 0, len(pkgs))
	for key, p := range pkgs {
		if key == "" {
			continue // the project itself
		}
		src := in.at(lines[key])
		i := strings.LastIndex(key, "node_modules/")
		if i < 0 {
			// A directory of the project's tree: a workspace, or a file: directory dependency.
			if npmIsWorkspace(key, workspaces) {
				continue
			}
			name := p.Name
			if name == "" {
				name = path.Base(key)
			}
			out = append(out, precheck.Package{Ecosystem: precheck.NPM, Name: name, Version: p.Version, Source: src,
				Uncheckable: true, Reason: "local directory dependency (" + key + ")", Dev: p.Dev})
			continue
		}
		if p.Link {
			// The link's target has its own key and is reported there; a target that is not
			// in the lockfile is outside the project and must still be seen.
			if _, ok := pkgs[p.Resolved]; ok {
				continue
			}
			out = append(out, precheck.Package{Ecosystem: precheck.NPM, Name: key[i+len("node_modules/"):], Source: src,
				Uncheckable: true, Reason: "linked local directory (" + p.Resolved + ")", Dev: p.Dev})
			continue
		}
		// "name" is set when the install path differs from the package: aliases
		// (node_modules/string-width-cjs → string-width).
		name := p.Name
		if name == "" {
			name = key[i+len("node_modules/"):]
		}
		pkg := precheck.Package{Ecosystem: precheck.NPM, Name: name, Version: npmLockVersion(p.Version), Source: src, Dev: p.Dev,
			Resolved: p.Resolved, Integrity: p.Integrity}
		if r := npmOrigin(p.Resolved); r != "" {
			pkg.Uncheckable, pkg.Reason = true, r
		} else if r := npmVersionOrigin(p.Version); r != "" {
			pkg.Uncheckable, pkg.Reason = true, r
		}
		out = append(out, pkg)
	}
	return out, nil
}

// npmV1 walks the lockfileVersion 1 "dependencies" tree.
func npmV1(in *input, deps map[string]npmV1Entry, lines map[string]int, depth int, out *[]precheck.Package) {
	for name, d := range deps {
		line := 0
		if depth == 0 {
			line = lines[name]
		}
		pkg := precheck.Package{Ecosystem: precheck.NPM, Name: name, Version: npmLockVersion(d.Version), Source: in.at(line), Dev: d.Dev,
			Resolved: d.Resolved, Integrity: d.Integrity}
		if real, ok := strings.CutPrefix(d.Version, "npm:"); ok {
			// Alias: "string-width-cjs": {"version": "npm:string-width@4.2.0"}.
			if at := strings.LastIndexByte(real, '@'); at > 0 {
				pkg.Name, pkg.Version = real[:at], real[at+1:]
			}
		}
		if r := npmVersionOrigin(d.Version); r != "" {
			pkg.Uncheckable, pkg.Reason, pkg.Version = true, r, ""
		} else if r := npmOrigin(d.Resolved); r != "" {
			pkg.Uncheckable, pkg.Reason = true, r
		}
		*out = append(*out, pkg)
		npmV1(in, d.Dependencies, lines, depth+1, out)
	}
}

// npmVersionOrigin recognises a version field that is really a specifier
// (lockfileVersion 1 writes "file:deps/x" or a git URL there).
func npmVersionOrigin(v string) string {
	if v == "" || strings.HasPrefix(v, "npm:") || (v[0] >= '0' && v[0] <= '9') || npmLooseVersion().MatchString(v) {
		return ""
	}
	return npmOrigin(v)
}

// npmLooseVersion is a version as node-semver reads it loosely ("v1.2.3", "=1.2.3"):
// found in real lockfiles, matched as that version (osvdb's npmCleanVersion).
// npmLockVersion is v without the leading "v", "=" and white space npm ignores
// ("v4.17.11" is 4.17.11: its advisories, its registry tarball lodash-4.17.11.tgz).
func npmLockVersion(v string) string {
	if v == "" || (v[0] >= '0' && v[0] <= '9') || !npmLooseVersion().MatchString(v) {
		return v
	}
	return strings.TrimSpace(strings.TrimLeft(v, "v= \t\n"))
}

var npmLooseVersion = lazyre.New(`^[v=\s]*\d+\.\d+\.\d+(?:-?[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?\s*$`)

// npmWorkspaceGlobs reads the root's "workspaces": either a list of globs or
// {"packages": [...]} (the yarn-compatible form).
func npmWorkspaceGlobs(raw json.RawMessage) []string {
	if len(raw) == 0 {
		return nil
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return list
	}
	var obj struct {
		Packages []string `json:"packages"`
	}
	_ = json.Unmarshal(raw, &obj)
	return obj.Packages
}

func npmIsWorkspace(key string, globs []string) bool {
	for _, g := range globs {
		g = strings.TrimPrefix(strings.TrimSuffix(g, "/"), "./")
		if ok, _ := path.Match(g, key); ok {
			return true
		}
		// "packages/**" matches any depth below packages/.
		if prefix, ok := strings.CutSuffix(g, "/**"); ok && strings.HasPrefix(key, prefix+"/") {
			return true
		}
	}
	return false
}

// npmKeyLines finds the line of every key at the second level of the document
// ("packages" keys in v2/v3, top-level "dependencies" in v1) by their indentation, which npm
// always writes as two spaces per level. Cheap, and good enough for "where is it".
func npmKeyLines(data []byte) map[string]int {
	lines := make(map[string]int)
	n := 0
	for len(data) > 0 {
		n++
		var l []byte
		l, data, _ = bytes.Cut(data, []byte{'\n'})
		if len(l) < 8 || string(l[:5]) != `    "` || l[5] == ' ' {
			continue
		}
		end := bytes.Index(l, []byte(`": {`))
		if end < 0 {
			continue
		}
		key := string(l[5:end])
		if strings.IndexByte(key, '\\') >= 0 {
			if k, err := strconv.Unquote(`"` + key + `"`); err == nil {
				key = k
			}
		}
		if _, ok := lines[key]; !ok {
			lines[key] = n
		}
	}
	return lines
}

// jsonError adds the line and column to encoding/json's syntax and type errors, which
// otherwise only give a byte offset.
func jsonError(data []byte, err error) error {
	var off int64
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	default:
		return err
	}
	line, col := 1, 1
	for _, c := range data[:min(int(off), len(data))] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return fmt.Errorf("line %d, column %d: %w", line, col, err)
}

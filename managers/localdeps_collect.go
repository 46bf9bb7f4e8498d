package managers

import (
	"encoding/json"
	"path/filepath"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
	"go.yaml.in/yaml/v3"
)

// Where each manager's local dependencies are named (see localdeps.go). Every
// function here only reads: the command line, and project files through
// readProjectFile (never through a symlink out of the project).

// nodeValueFlags are pnpm's and yarn's options that take a separate value, so that
// `pnpm add --dir ../x lodash` does not read ../x as a package.
var nodeValueFlags = map[string]bool{
	"--dir": true, "-C": true, "--cwd": true, "--prefix": true, "--filter": true, "-F": true,
	"--registry": true, "--cache": true, "--cache-dir": true, "--cache-folder": true, "--store-dir": true,
	"--modules-dir": true, "--modules-folder": true, "--virtual-store-dir": true, "--global-dir": true,
	"--global-folder": true, "--config": true, "--userconfig": true, "--workspace": true, "-w": false,
	"--mutex": true, "--network-timeout": true, "--reporter": true, "--loglevel": true,
}

// nodePathSpec is the directory a package spec names ("../lib", "file:../lib",
// "lib@link:../lib", "portal:/abs"), or ok false for anything else (a registry
// name, a git URL, a tarball URL).
func nodePathSpec(spec string) (path string, ok bool) {
	s := strings.TrimSpace(spec)
	// An alias or a named spec: name@<spec>, @scope/name@<spec>.
	if at := strings.Index(strings.TrimPrefix(s, "@"), "@"); at >= 0 && !strings.HasPrefix(s, ".") && !strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "~") {
		if strings.HasPrefix(s, "@") {
			at++
		}
		s = s[at+1:]
	}
	lower := strings.ToLower(s)
	for _, pre := range []string{"file://", "file:", "link:", "portal:"} {
		if strings.HasPrefix(lower, pre) {
			s = s[len(pre):]
			if pre == "file://" && !strings.HasPrefix(s, "/") {
				return "", false // file://host/… is not a local path
			}
			return s, s != ""
		}
	}
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "/") || s == "~" || strings.HasPrefix(s, "~/") {
		return s, true
	}
	return "", false
}

// nodeLocalSpecs: the command line's package specs, every package.json's
// dependency fields (the root's and its workspaces'), and npm's lockfile entries
// for directories outside the project.
func nodeLocalSpecs(p *Plan, root string) []localSpec {
	var out []localSpec
	cwd := filepath.Join(root, p.Project.Cwd)
	for _, arg := range nodeCLIPackageArgs(p) {
		if path, ok := nodePathSpec(arg); ok {
			out = append(out, localSpec{named: arg, path: path, base: cwd, from: "the command line", user: true})
		}
	}
	var patterns []string
	if data, err := readProjectFile(root, filepath.Join(root, "package.json")); err == nil {
		var m nodeManifest
		if json.Unmarshal(data, &m) == nil {
			patterns = m.workspacePatterns()
		}
	}
	workspaces, _ := workspaceDirs(root, patterns)
	for _, mf := range nodeManifests(workspaces) {
		data, err := readProjectFile(root, filepath.Join(root, mf))
		if err != nil {
			continue
		}
		out = append(out, nodeManifestSpecs(data, mf, filepath.Join(root, filepath.Dir(mf)))...)
	}
	if p.Manager == "pnpm" {
		// pnpm 10 keeps overrides in pnpm-workspace.yaml.
		if data, err := readProjectFile(root, filepath.Join(root, "pnpm-workspace.yaml")); err == nil {
			var ws struct {
				Overrides map[string]string `yaml:"overrides"`
			}
			if yaml.Unmarshal(data, &ws) == nil {
				for _, k := range sortedKeys(ws.Overrides) {
					if path, ok := nodePathSpec(ws.Overrides[k]); ok {
						out = append(out, localSpec{named: ws.Overrides[k], path: path, base: root, from: "pnpm-workspace.yaml overrides." + k})
					}
				}
			}
		}
	}
	if p.Manager == "npm" {
		for _, lf := range []string{"npm-shrinkwrap.json", "package-lock.json"} {
			data, err := readProjectFile(root, filepath.Join(root, lf))
			if err != nil {
				continue
			}
			var lock struct {
				Packages map[string]struct {
					Resolved string `json:"resolved"`
					Link     bool   `json:"link"`
				} `json:"packages"`
			}
			if json.Unmarshal(data, &lock) != nil {
				break
			}
			keys := make([]string, 0, len(lock.Packages))
			for k := range lock.Packages {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if k != "" && !strings.Contains(k, "node_modules/") && (strings.HasPrefix(k, "../") || strings.HasPrefix(k, "/")) {
					out = append(out, localSpec{named: k, path: k, base: root, from: lf + ` "packages" entry`})
				}
			}
			break
		}
	}
	return out
}

// nodeCLIPackageArgs are the package arguments of an install-like command line.
func nodeCLIPackageArgs(p *Plan) []string {
	if p.Manager == "npm" {
		a := parseNpmArgv(p.Args)
		cmd, idx := npmCommand(a)
		switch cmd {
		case "install", "install-test", "update":
			return a.positionals[idx+1:]
		}
		return nil
	}
	var out []string
	sub := false
	for i := 0; i < len(p.Args); i++ {
		arg := p.Args[i]
		switch {
		case arg == "--":
			if sub {
				out = append(out, p.Args[i+1:]...)
			}
			return out
		case strings.HasPrefix(arg, "-"):
			if !strings.Contains(arg, "=") && nodeValueFlags[arg] {
				i++
			}
		case !sub:
			sub = true // the subcommand
		default:
			out = append(out, arg)
		}
	}
	return out
}

// nodeManifestSpecs are the local paths one package.json (mf, relative to the
// project, in dir) names in its dependency fields, overrides and resolutions.
func nodeManifestSpecs(data []byte, mf, dir string) []localSpec {
	var m map[string]json.RawMessage
	if json.Unmarshal(data, &m) != nil {
		return nil
	}
	var out []localSpec
	var walk func(field string, raw json.RawMessage, depth int)
	walk = func(field string, raw json.RawMessage, depth int) {
		if depth > 8 {
			return
		}
		var s string
		if json.Unmarshal(raw, &s) == nil {
			if path, ok := nodePathSpec(s); ok {
				out = append(out, localSpec{named: s, path: path, base: dir, from: filepath.ToSlash(mf) + " " + field})
			}
			return
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil {
			return
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			walk(field+"."+k, obj[k], depth+1)
		}
	}
	for _, f := range []string{"dependencies", "devDependencies", "optionalDependencies", "peerDependencies", "overrides", "resolutions"} {
		if raw, ok := m[f]; ok {
			walk(f, raw, 0)
		}
	}
	if raw, ok := m["pnpm"]; ok {
		var pn map[string]json.RawMessage
		if json.Unmarshal(raw, &pn) == nil && pn["overrides"] != nil {
			walk("pnpm.overrides", pn["overrides"], 0)
		}
	}
	return out
}

// pyLocalSpecs: pip's local directories on the command line (`../lib`, `-e
// ../lib`) and in its requirements files; poetry's path dependencies.
func pyLocalSpecs(p *Plan, root string) []localSpec {
	cwd := filepath.Join(root, p.Project.Cwd)
	if p.Manager == "poetry" {
		return poetryLocalSpecs(root)
	}
	a := parsePipArgv(p.Args)
	var out []localSpec
	add := func(v, base, from string, user bool) {
		v = strings.TrimSpace(v)
		if _, url, ok := strings.Cut(v, " @ "); ok {
			v = strings.TrimSpace(url) // PEP 508: name @ file:///abs/path
		}
		if f := strings.Fields(v); len(f) > 0 {
			v = f[0]
		}
		if after, ok := strings.CutPrefix(v, "file://"); ok && strings.HasPrefix(after, "/") {
			v = after
		}
		if v == "" || strings.Contains(v, "://") || !(strings.HasPrefix(v, ".") || strings.HasPrefix(v, "/") || strings.HasPrefix(v, "~/")) {
			return
		}
		named := v
		v, _, _ = strings.Cut(v, "[") // .[extra]
		out = append(out, localSpec{named: named, path: v, base: base, from: from, user: user})
	}
	for _, v := range a.args {
		add(v, cwd, "the command line", true)
	}
	for _, v := range a.opts["editable"] {
		add(v, cwd, "the command line (-e)", true)
	}
	for _, f := range a.opts["requirement"] {
		if !filepath.IsAbs(f) {
			f = filepath.Join(cwd, f)
		}
		f = filepath.Clean(f)
		if !below(f, root) || f == root {
			continue // a requirements file outside the project is not read here
		}
		data, err := readProjectFile(root, f)
		if err != nil {
			continue
		}
		rel, _ := filepath.Rel(root, f)
		for _, l := range strings.Split(string(data), "\n") {
			l = strings.TrimSpace(l)
			for _, pre := range []string{"-e ", "--editable ", "--editable="} {
				l = strings.TrimPrefix(l, pre)
			}
			add(l, filepath.Dir(f), filepath.ToSlash(rel), false)
		}
	}
	return out
}

// poetryLocalSpecs are the path dependencies of pyproject.toml's Poetry tables.
func poetryLocalSpecs(root string) []localSpec {
	data, err := readProjectFile(root, filepath.Join(root, "pyproject.toml"))
	if err != nil {
		return nil
	}
	var doc struct {
		Tool struct {
			Poetry struct {
				Dependencies    map[string]any `toml:"dependencies"`
				DevDependencies map[string]any `toml:"dev-dependencies"`
				Group           map[string]struct {
					Dependencies map[string]any `toml:"dependencies"`
				} `toml:"group"`
			} `toml:"poetry"`
		} `toml:"tool"`
	}
	if _, err := toml.Decode(string(data), &doc); err != nil {
		return nil
	}
	var out []localSpec
	tables := map[string]map[string]any{
		"tool.poetry.dependencies":     doc.Tool.Poetry.Dependencies,
		"tool.poetry.dev-dependencies": doc.Tool.Poetry.DevDependencies,
	}
	for g, t := range doc.Tool.Poetry.Group {
		tables["tool.poetry.group."+g+".dependencies"] = t.Dependencies
	}
	for _, name := range sortedKeys(tables) {
		out = append(out, tomlPathSpecs(tables[name], root, "pyproject.toml ["+name+"]")...)
	}
	return out
}

// tomlPathSpecs are the `path = "…"` entries of a TOML dependency table (a table
// per dependency, or a list of them).
func tomlPathSpecs(deps map[string]any, base, from string) []localSpec {
	var out []localSpec
	for _, name := range sortedKeys(deps) {
		var entries []map[string]any
		switch v := deps[name].(type) {
		case map[string]any:
			entries = append(entries, v)
		case []map[string]any:
			entries = append(entries, v...)
		case []any:
			for _, e := range v {
				if t, ok := e.(map[string]any); ok {
					entries = append(entries, t)
				}
			}
		}
		for _, e := range entries {
			if p, ok := e["path"].(string); ok && p != "" {
				out = append(out, localSpec{named: p, path: p, base: base, from: from + " " + name})
			}
		}
	}
	return out
}

// maxCrates bounds the path crates followed from one project.
const maxCrates = 256

// cargoManifestSpecs are the path dependencies, [patch] and [replace] paths and
// plain workspace members one Cargo.toml (data, in dir; from names it) declares.
func cargoManifestSpecs(data []byte, dir, from string) []localSpec {
	var doc map[string]any
	if _, err := toml.Decode(string(data), &doc); err != nil {
		return nil
	}
	var out []localSpec
	depTables := func(t map[string]any, where string) {
		for _, k := range []string{"dependencies", "dev-dependencies", "build-dependencies", "dev_dependencies", "build_dependencies"} {
			if deps, ok := t[k].(map[string]any); ok {
				out = append(out, tomlPathSpecs(deps, dir, from+" ["+where+k+"]")...)
			}
		}
	}
	depTables(doc, "")
	if targets, ok := doc["target"].(map[string]any); ok {
		for _, name := range sortedKeys(targets) {
			if t, ok := targets[name].(map[string]any); ok {
				depTables(t, "target."+name+".")
			}
		}
	}
	if ws, ok := doc["workspace"].(map[string]any); ok {
		if deps, ok := ws["dependencies"].(map[string]any); ok {
			out = append(out, tomlPathSpecs(deps, dir, from+" [workspace.dependencies]")...)
		}
		if members, ok := ws["members"].([]any); ok {
			for _, m := range members {
				s, ok := m.(string)
				if !ok || s == "" {
					continue
				}
				if !strings.ContainsAny(s, "*?[") {
					out = append(out, localSpec{named: s, path: s, base: dir, from: from + " [workspace] members"})
					continue
				}
				// A glob ("crates/*"): each match is a member, judged like any path.
				matches, _ := filepath.Glob(filepath.Join(dir, s))
				for i, mt := range matches {
					if i >= maxCrates {
						break
					}
					out = append(out, localSpec{named: s, path: mt, base: dir, from: from + " [workspace] members"})
				}
			}
		}
	}
	if patch, ok := doc["patch"].(map[string]any); ok {
		for _, src := range sortedKeys(patch) {
			if deps, ok := patch[src].(map[string]any); ok {
				out = append(out, tomlPathSpecs(deps, dir, from+" [patch."+src+"]")...)
			}
		}
	}
	if repl, ok := doc["replace"].(map[string]any); ok {
		out = append(out, tomlPathSpecs(repl, dir, from+" [replace]")...)
	}
	return out
}

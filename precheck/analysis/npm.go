package analysis

import (
	"bytes"
	"context"
	"encoding/json"
	"path"
	"sort"
	"strings"

	"github.com/phylum-box/phylum-box/internal/lazyre"
)

// npmHooks are the lifecycle scripts npm runs for a dependency, in order.
var npmHooks = []string{"preinstall", "install", "postinstall", "prepare"}

const (
	maxInstallFiles = 60 // files one install closure follows
	maxEntryFiles   = 40
	installDepth    = 4
	entryDepth      = 2
)

type npmManifest struct {
	Main    string            `json:"main"`
	Module  string            `json:"module"`
	Bin     json.RawMessage   `json:"bin"`
	Exports json.RawMessage   `json:"exports"`
	Scripts map[string]string `json:"scripts"`
}

func npmUnits(ctx context.Context, t *tree) ([]*unit, error) {
	raw, _, err := t.read("package.json")
	if err != nil {
		return nil, err
	}
	var m npmManifest
	if err := json.Unmarshal(raw, &m); err != nil {
		// A manifest npm could not read either: nothing of it runs.
		return nil, nil
	}
	var units []*unit
	c := &closure{t: t, seen: map[string]bool{}}

	// Install time: each hook's text (shell, maybe `node -e`), the files it names,
	// and what those load; binding.gyp when node-gyp runs (an explicit hook or npm's
	// default `node-gyp rebuild` when there is no install script).
	var roots []string
	for _, h := range npmHooks {
		s, ok := m.Scripts[h]
		if !ok || s == "" {
			continue
		}
		units = append(units, &unit{rel: "package.json", text: []byte(s), lineBase: lineOfKey(raw, h),
			langs: langJS | langShell, role: roleInstall})
		roots = append(roots, hookFiles(t, m.Scripts, s, 0)...)
		for _, spec := range jsLocals([]byte(s)) { // node -e "require('./x')"
			roots = append(roots, resolveJS(t, "", spec)...)
		}
	}
	gyp := t.exists("binding.gyp") && (m.Scripts["install"] == "" && m.Scripts["preinstall"] == "" || strings.Contains(strings.Join(hookTexts(m.Scripts), " "), "node-gyp"))
	if gyp {
		roots = append(roots, "binding.gyp")
	}
	c.max, c.depth, c.role = maxInstallFiles, installDepth, roleInstall
	for _, r := range roots {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		units = append(units, c.follow(r, 0)...)
	}

	// Load time: main/module/exports/bin, index.js by default.
	c2 := &closure{t: t, seen: map[string]bool{}, max: maxEntryFiles, depth: entryDepth, role: roleEntry}
	for r := range c.seen {
		c2.seen[r] = true // already read as install-time code, judged more strictly there
	}
	for _, r := range npmEntries(t, m) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		units = append(units, c2.follow(r, 0)...)
	}

	// The rest of the package's JavaScript: a computed require (path.join(__dirname,
	// name)) reaches files no static walk finds, and a payload waits there as well
	// as in main.
	more, err := restOf(ctx, t, c2.seen, jsFile)
	return append(units, more...), err
}

func jsFile(n string) bool {
	switch path.Ext(n) {
	case ".js", ".cjs", ".mjs":
		return true
	}
	return false
}

// testPath: tests, examples and benchmarks that ship in the tarball but are not
// loaded by the package.
func testPath(n string) bool {
	for _, d := range strings.Split(path.Dir(n), "/") {
		switch d {
		case "test", "tests", "__tests__", "spec", "example", "examples", "benchmark", "benchmarks", "bench", "docs", "fixtures", "__fixtures__":
			return true
		}
	}
	return false
}

func hookTexts(s map[string]string) []string {
	var out []string
	for _, h := range npmHooks {
		out = append(out, s[h])
	}
	return out
}

// lineOfKey is the line of "key": in a JSON text, 1 if not found.
func lineOfKey(raw []byte, key string) int {
	i := bytes.Index(raw, []byte(`"`+key+`"`))
	if i < 0 {
		return 1
	}
	return 1 + bytes.Count(raw[:i], []byte{'\n'})
}

var shellSplit = lazyre.New(`&&|\|\||[;|&]`)

// hookFiles are the package files a hook command runs: `node [flags] FILE`,
// `node -r FILE`, `sh FILE`, `./FILE`, and through `npm run X` the files of X.
func hookFiles(t *tree, scripts map[string]string, cmd string, depth int) []string {
	var out []string
	cwd := "" // `cd scripts && node install.js`
	for _, part := range shellSplit().Split(cmd, -1) {
		f := strings.Fields(part)
		for len(f) > 0 && strings.Contains(f[0], "=") && !strings.HasPrefix(f[0], "-") { // FOO=bar node x.js
			f = f[1:]
		}
		if len(f) == 0 {
			continue
		}
		prog := path.Base(f[0])
		switch {
		case prog == "cd" && len(f) == 2:
			cwd = cleanRel(path.Join(cwd, strings.Trim(f[1], `"'`)))
			if cwd == "." || strings.HasPrefix(cwd, "../") || cwd == ".." || path.IsAbs(f[1]) {
				cwd = ""
			}
		case prog == "node" || prog == "node.exe" || prog == "nodejs":
			for i := 1; i < len(f); i++ {
				a := strings.Trim(f[i], `"'`)
				if a == "-r" || a == "--require" || a == "--import" || a == "--loader" {
					if i+1 < len(f) {
						out = append(out, resolveJS(t, "", path.Join(cwd, strings.Trim(f[i+1], `"'`)))...)
						i++
					}
					continue
				}
				if strings.HasPrefix(a, "-") {
					continue
				}
				out = append(out, resolveJS(t, "", path.Join(cwd, a))...)
				break
			}
		case prog == "sh" || prog == "bash" || prog == "zsh" || prog == "dash":
			for _, a := range f[1:] {
				if !strings.HasPrefix(a, "-") {
					out = append(out, cleanRel(path.Join(cwd, strings.Trim(a, `"'`))))
					break
				}
			}
		case (prog == "npm" || prog == "yarn" || prog == "pnpm") && len(f) >= 3 && (f[1] == "run" || f[1] == "run-script"):
			if s, ok := scripts[f[2]]; ok && depth < 3 {
				out = append(out, hookFiles(t, scripts, s, depth+1)...)
			}
		case strings.HasPrefix(f[0], "./") || strings.HasSuffix(f[0], ".js") || strings.HasSuffix(f[0], ".sh") || strings.HasSuffix(f[0], ".cjs") || strings.HasSuffix(f[0], ".mjs"):
			out = append(out, cleanRel(path.Join(cwd, f[0])))
		}
	}
	return out
}

func cleanRel(p string) string { return path.Clean(strings.TrimPrefix(p, "./")) }

// resolveJS finds the file node would load for spec (relative to the package file
// from, "" for the root): the file itself, with a JS extension, or its index.
func resolveJS(t *tree, from, spec string) []string {
	base := cleanRel(path.Join(path.Dir(from), spec))
	if from == "" {
		base = cleanRel(spec)
	}
	for _, c := range []string{base, base + ".js", base + ".cjs", base + ".mjs", base + "/index.js", base + "/index.cjs", base + "/index.mjs"} {
		if t.exists(c) {
			return []string{c}
		}
	}
	return nil
}

// npmEntries are the files the application loads: main (index.js by default),
// module, the exports map's targets and the bins.
func npmEntries(t *tree, m npmManifest) []string {
	var specs []string
	if m.Main != "" {
		specs = append(specs, m.Main)
	} else {
		specs = append(specs, "index.js")
	}
	if m.Module != "" {
		specs = append(specs, m.Module)
	}
	var bin any
	if json.Unmarshal(m.Bin, &bin) == nil {
		specs = append(specs, jsonStrings(bin)...)
	}
	var exp any
	if json.Unmarshal(m.Exports, &exp) == nil {
		for _, s := range jsonStrings(exp) {
			if strings.HasPrefix(s, "./") && !strings.Contains(s, "*") && !strings.HasSuffix(s, ".json") && !strings.HasSuffix(s, ".d.ts") && !strings.HasSuffix(s, ".css") {
				specs = append(specs, s)
			}
		}
	}
	var out []string
	seen := map[string]bool{}
	for _, s := range specs {
		for _, r := range resolveJS(t, "", s) {
			if !seen[r] {
				seen[r] = true
				out = append(out, r)
			}
		}
	}
	if len(out) > 16 {
		out = out[:16]
	}
	return out
}

func jsonStrings(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var out []string
		for _, k := range keys {
			out = append(out, jsonStrings(v[k])...)
		}
		return out
	case []any:
		var out []string
		for _, x := range v {
			out = append(out, jsonStrings(x)...)
		}
		return out
	}
	return nil
}

// codeFile: files a closure reads as code. node loads any other extension named
// by main, bin or a require as JavaScript ("main": "logo.png" runs), so only what
// it loads otherwise is left out: JSON as data, .node addons and wasm as binaries.
func codeFile(rel string) bool {
	switch path.Ext(rel) {
	case ".json", ".node", ".wasm":
		return false
	}
	return true
}

// jsLocals are the package-relative specifiers a JS file loads: './x' and '../x'
// after require(, import(, import or from. A byte scan: RE2 over a multi-megabyte
// bundle costs seconds.
func jsLocals(text []byte) []string {
	var out []string
	for off := 0; off < len(text) && len(out) < 200; {
		i := bytes.Index(text[off:], []byte("./"))
		if i < 0 {
			break
		}
		s := off + i
		off = s + 2
		q := s - 1
		if q >= 1 && text[q] == '.' { // "../"
			q--
		}
		if q < 0 || !isQuote(text[q]) {
			continue
		}
		end := bytes.IndexByte(text[q+1:min(len(text), q+1+200)], text[q])
		if end < 0 {
			continue
		}
		before := bytes.TrimRight(text[max(0, q-16):q], " \t\n(")
		if !bytes.HasSuffix(before, []byte("require")) && !bytes.HasSuffix(before, []byte("import")) && !bytes.HasSuffix(before, []byte("from")) {
			continue
		}
		out = append(out, string(text[q+1:q+1+end]))
	}
	return out
}

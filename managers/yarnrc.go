package managers

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// A project's .yarnrc / .yarnrc.yml is attacker input (it came with the checkout).
// This file reads them as data against the tables of yarnsettings.go: ${VAR} is
// refused (never expanded from the user's environment), paths must stay inside the
// project, and the copy the networked steps see has no setting that makes yarn run
// code (yarnPath, plugins, …). Which yarn the user has, and which runs each step, is
// yarninstall.go.

// yarnProjectRC is a project's .yarnrc.yml (berry) or .yarnrc (classic), checked.
type yarnProjectRC struct {
	path         string // absolute
	rel          string // relative to the project root, slash-separated
	yarnPath     string // as written ("" when not set)
	yarnPathLine int
	networked    []byte            // the copy for the resolve and download steps
	public       []byte            // the copy for the build step: no credential
	inside       map[string]string // path settings → absolute path inside the project
}

// yarnConfigRefusal is a project config line phylum-box will not honour.
func yarnConfigRefusal(path string, line int, setting, why, advice string) *Refusal {
	return &Refusal{Manager: "yarn", Reason: fmt.Sprintf("%s:%d: %s %s", path, line, setting, why), Advice: advice}
}

const yarnEnvAdvice = "a project file must not pull values from your environment: move the line to your ~/.yarnrc.yml (berry) or ~/.yarnrc (classic), or write the value itself"

// insideProject resolves value (relative to base, the directory of the file that
// sets it) and reports whether it stays inside root, symlinks included: the longest
// existing prefix is resolved on the host and must not leave the project.
func insideProject(root, base, value string) (string, bool) {
	p := value
	if !filepath.IsAbs(p) {
		p = filepath.Join(base, p)
	}
	p = filepath.Clean(p)
	if !within(root, p) {
		return p, false
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return p, false
	}
	for q := p; ; q = filepath.Dir(q) {
		if real, err := filepath.EvalSymlinks(q); err == nil {
			return p, within(realRoot, real)
		}
		if q == root || q == filepath.Dir(q) {
			return p, false
		}
	}
}

// berryLegacyRC is yarn berry's test for a file it parses as yarn 1's syntax
// instead of YAML (leading comments, then "# yarn lockfile v1").
var berryLegacyRC = regexp.MustCompile(`(?i)^(#.*(\r?\n))*?#\s+yarn\s+lockfile\s+v1\r?\n`)

// checkBerryProjectRC reads a project .yarnrc.yml; nil when there is none.
func checkBerryProjectRC(root, path string) (*yarnProjectRC, error) {
	rc, err := readBerryRC(path)
	if err != nil || rc == nil {
		return nil, err
	}
	if berryLegacyRC.Match(rc.raw) {
		return nil, yarnConfigRefusal(path, 1, "a \"# yarn lockfile v1\" header", "makes yarn berry read the file with its yarn 1 parser, not as YAML",
			"remove the header line")
	}
	rel, _ := filepath.Rel(root, path)
	out := &yarnProjectRC{path: path, rel: filepath.ToSlash(rel), inside: map[string]string{}}
	if len(rc.node.Content) == 0 {
		out.networked, out.public = rc.raw, rc.raw
		return out, nil
	}
	doc := rc.node.Content[0]
	// ${VAR} anywhere: berry expands it from the environment of the process that
	// reads the file, which for the networked steps carries the user's secrets.
	// Settings must be read as written: berry (js-yaml) follows an alias
	// (`corp: *s` took a checked scope's registry, with the user's corp token) and
	// turns a sequence key (`? [plugins]`) into the plain one, where the checks
	// below see neither.
	const plainAdvice = "write each setting plainly in the project file: no YAML anchors, aliases or complex keys"
	var envErr error
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if envErr != nil {
			return
		}
		if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "${") {
			envErr = yarnConfigRefusal(path, n.Line, fmt.Sprintf("%q", n.Value), "refers to an environment variable", yarnEnvAdvice)
			return
		}
		if n.Kind == yaml.AliasNode || n.Anchor != "" {
			envErr = yarnConfigRefusal(path, n.Line, "a YAML anchor or alias", "makes one setting's value another's, which phylum-box does not follow", plainAdvice)
			return
		}
		if n.Kind == yaml.MappingNode {
			for i := 0; i < len(n.Content); i += 2 {
				if k := n.Content[i]; k.Kind != yaml.ScalarNode {
					envErr = yarnConfigRefusal(path, k.Line, "a complex mapping key", "is read by yarn as the setting its text spells", plainAdvice)
					return
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(doc)
	if envErr != nil {
		return nil, envErr
	}
	if doc.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: not a mapping of settings (fix the YAML, then retry)", path)
	}
	base := filepath.Dir(path)
	checkPath := func(key string, v *yaml.Node) error {
		if v.Kind != yaml.ScalarNode || v.Value == "" {
			return nil
		}
		abs, ok := insideProject(root, base, v.Value)
		if !ok {
			return yarnConfigRefusal(path, v.Line, key+" "+v.Value, "is outside the project; phylum-box creates, mounts and writes nothing outside it",
				"use a path inside the project, or set it in your ~/.yarnrc.yml")
		}
		out.inside[key] = abs
		return nil
	}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		k, v := doc.Content[i], doc.Content[i+1]
		s, known := berrySettings[k.Value]
		if !known || !s.Path && k.Value != "networkSettings" {
			continue
		}
		switch k.Value {
		case "plugins", "injectEnvironmentFiles":
			for _, item := range v.Content {
				if item.Kind == yaml.MappingNode {
					for j := 0; j+1 < len(item.Content); j += 2 {
						if item.Content[j].Value == "path" {
							if err := checkPath(k.Value, item.Content[j+1]); err != nil {
								return nil, err
							}
						}
					}
					continue
				}
				if err := checkPath(k.Value, item); err != nil {
					return nil, err
				}
			}
		case "networkSettings":
			for _, host := range v.Content {
				for j := 0; j+1 < len(host.Content); j += 2 {
					if sub, ok := berrySettings[host.Content[j].Value]; ok && sub.Path {
						if err := checkPath("networkSettings "+host.Content[j].Value, host.Content[j+1]); err != nil {
							return nil, err
						}
					}
				}
			}
		default:
			if err := checkPath(k.Value, v); err != nil {
				return nil, err
			}
			if k.Value == "yarnPath" {
				out.yarnPath, out.yarnPathLine = v.Value, v.Line
			}
		}
	}
	// The networked copy: no setting that runs code, none that is the user's.
	var net yaml.Node
	if err := yaml.Unmarshal(rc.raw, &net); err != nil {
		return nil, err
	}
	m := net.Content[0]
	kept := m.Content[:0:0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if s, ok := berrySettings[m.Content[i].Value]; ok && (s.Class == YarnExec || s.Class == YarnUserOnly) {
			continue
		}
		kept = append(kept, m.Content[i], m.Content[i+1])
	}
	m.Content = kept
	if out.networked, err = yaml.Marshal(&net); err != nil {
		return nil, err
	}
	out.public, _ = rc.public()
	return out, nil
}

// checkClassicProjectRC reads a project .yarnrc (yarn 1's lockfile-like syntax: `key
// value`, a nested block indented under a key); nil when there is none.
func checkClassicProjectRC(root, path string) (*yarnProjectRC, error) {
	b, err := readProjectFile(root, path)
	if err != nil {
		if isNotExist(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	rel, _ := filepath.Rel(root, path)
	out := &yarnProjectRC{path: path, rel: filepath.ToSlash(rel), inside: map[string]string{}}
	var net, public bytes.Buffer
	dropBlock := false // the indented lines under a dropped key
	for i, raw := range yarnrcLines(b) {
		line := strings.TrimSpace(raw)
		if strings.Contains(line, "${") && !strings.HasPrefix(line, "#") {
			return nil, yarnConfigRefusal(path, i+1, line, "refers to an environment variable", yarnEnvAdvice)
		}
		if line == "" || strings.HasPrefix(line, "#") {
			net.WriteString(raw + "\n")
			public.WriteString(raw + "\n")
			continue
		}
		indented := raw[0] == ' ' || raw[0] == '\t'
		if indented {
			if !dropBlock {
				net.WriteString(raw + "\n")
			}
			public.WriteString(raw + "\n")
			continue
		}
		key, val, ok := parseYarnrcLine(line)
		if !ok {
			return nil, yarnConfigRefusal(path, i+1, line, "is not one `key value` setting: yarn 1 reads several settings from such a line "+
				"(`a, registry \"URL\"`, `a \"b\" registry \"URL\"`) or cannot parse it (an unquoted URL)", "write one setting per line, the value quoted: key \"value\"")
		}
		s, _ := classicSettingFor(key)
		dropBlock = false
		if s.Path && val != "" {
			abs, ok := insideProject(root, filepath.Dir(path), val)
			if !ok {
				return nil, yarnConfigRefusal(path, i+1, key+" "+val, "is outside the project; phylum-box creates, mounts and writes nothing outside it",
					"use a path inside the project, or set it in your ~/.yarnrc")
			}
			out.inside[classicSettingName(key)] = abs
		}
		if classicSettingName(key) == "yarn-path" {
			out.yarnPath, out.yarnPathLine = val, i+1
		}
		switch s.Class {
		case YarnExec, YarnUserOnly:
			net.WriteString("# (" + classicSettingName(key) + ": not in the networked steps; phylum-box)\n")
			public.WriteString(raw + "\n")
			dropBlock = true
		case YarnCredential:
			net.WriteString(raw + "\n")
			public.WriteString("# (credential removed by phylum-box)\n")
		default:
			net.WriteString(raw + "\n")
			public.WriteString(raw + "\n")
		}
	}
	out.networked, out.public = net.Bytes(), public.Bytes()
	return out, nil
}

// splitYarnrcLine reads one line of a yarn 1 rc file as yarn's lockfile tokenizer
// does (`key value`, `"key" "value"`, `key:value`, `key:` opening a nested block).
// Everything yarn would read from the line must be seen here: `registry:"http://x/"`,
// `"\u0072egistry" …`, `a, registry …` (one value for several keys) and
// `a "b" registry …` (two settings on a line) all set registry in yarn 1.
// A line yarn cannot parse (an unquoted _authToken: yarn then ignores the whole
// file) is split at its first space, as written: the user's own files are read
// for the credentials they may hold, and a project's such lines are refused first.
func splitYarnrcLine(line string) (key, val string) {
	key, val, ok := parseYarnrcLine(line)
	if toks, valid := yarnrcTokens(strings.TrimSpace(line)); ok || valid && len(toks) > 0 && toks[0].kind == 's' {
		return key, val
	}
	line = strings.TrimSpace(line)
	if strings.HasPrefix(line, `"`) {
		if end := strings.Index(line[1:], `"`); end >= 0 {
			key, val = line[1:end+1], strings.TrimSpace(line[end+2:])
		}
	} else {
		key, val, _ = strings.Cut(line, " ")
		val = strings.TrimSpace(val)
	}
	key = strings.TrimSuffix(key, ":")
	if uq, err := jsonUnquote(val); err == nil {
		val = uq
	}
	return key, val
}

// parseYarnrcLine is splitYarnrcLine that also reports whether the line is a single
// setting phylum-box can read as yarn does; yarn fails on the malformed ones, the
// others (several keys, several settings) are refused by the callers.
func parseYarnrcLine(line string) (key, val string, ok bool) {
	toks, ok := yarnrcTokens(strings.TrimSpace(line))
	if len(toks) == 0 || toks[0].kind != 's' {
		return strings.TrimSpace(line), "", false
	}
	key = toks[0].val
	toks = toks[1:]
	if len(toks) > 0 && toks[0].kind == ':' {
		toks = toks[1:]
	}
	if len(toks) > 0 && toks[0].kind != ',' && toks[0].kind != ':' {
		val = toks[0].val
		toks = toks[1:]
	}
	return key, val, ok && len(toks) == 0
}

type yarnrcToken struct {
	kind byte // 's' string, 'v' number or boolean, ':' or ','
	val  string
}

// yarnrcTokens splits a line into yarn 1's tokens (the rules of its lockfile
// tokenizer); ok is false when yarn would find an invalid token.
func yarnrcTokens(s string) (toks []yarnrcToken, ok bool) {
	for s != "" {
		switch c := s[0]; {
		case c == '#':
			return toks, true
		case c == ' ':
			s = s[1:]
		case c == '"':
			i := 1
			for ; i < len(s); i++ {
				if s[i] == '"' && !(s[i-1] == '\\' && (i < 2 || s[i-2] != '\\')) {
					i++
					break
				}
			}
			if i > len(s) {
				i = len(s)
			}
			uq, err := jsonUnquote(s[:i])
			if err != nil {
				return toks, false
			}
			toks, s = append(toks, yarnrcToken{'s', uq}), s[i:]
		case c >= '0' && c <= '9':
			i := 0
			for i < len(s) && s[i] >= '0' && s[i] <= '9' {
				i++
			}
			toks, s = append(toks, yarnrcToken{'v', s[:i]}), s[i:]
		case strings.HasPrefix(s, "true"):
			toks, s = append(toks, yarnrcToken{'v', "true"}), s[4:]
		case strings.HasPrefix(s, "false"):
			toks, s = append(toks, yarnrcToken{'v', "false"}), s[5:]
		case c == ':' || c == ',':
			toks, s = append(toks, yarnrcToken{c, ""}), s[1:]
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '/' || c == '.' || c == '-':
			i := strings.IndexAny(s, ": ,\r\n")
			if i < 0 {
				i = len(s)
			}
			toks, s = append(toks, yarnrcToken{'s', s[:i]}), s[i:]
		default:
			return toks, false
		}
	}
	return toks, true
}

// yarnrcLines splits a yarn 1 rc file into lines as yarn's tokenizer does: a lone
// "\r" ends a line too.
func yarnrcLines(b []byte) []string { return npmrcLines(b) }

// projectRCFiles lists the rc files named name that yarn reads for a command run
// in dir: those in dir and its parents up to root (yarn walks up from its cwd).
func projectRCFiles(root, dir, name string) []string {
	var out []string
	for d := dir; within(root, d); d = filepath.Dir(d) {
		p := filepath.Join(d, name)
		if st, err := os.Lstat(p); err == nil && !st.IsDir() {
			out = append(out, p)
		}
		if d == root {
			break
		}
	}
	return out
}

// yarnProjectConfig checks every project rc file of one flavour and returns them
// (the root's first when there is one) and their credential-file entries: the
// networked copy as Secret, the build copy as Public.
func yarnProjectConfig(root, dir string, flavor YarnFlavor) ([]*yarnProjectRC, []ConfigFile, error) {
	name, check := ".yarnrc", checkClassicProjectRC
	if flavor == YarnBerry {
		name, check = ".yarnrc.yml", checkBerryProjectRC
	}
	var rcs []*yarnProjectRC
	var files []ConfigFile
	for _, p := range projectRCFiles(root, dir, name) {
		if why := projectFileProblem(root, p); why != "" {
			return nil, nil, &Refusal{Manager: "yarn", Reason: "the project's " + name + " is refused (a checkout's files are untrusted input): " + why,
				Advice: "replace it with a plain file holding the settings the project needs"}
		}
		rc, err := check(root, p)
		if err != nil {
			return nil, nil, err
		}
		if rc == nil {
			continue
		}
		if filepath.Dir(p) == root {
			rcs = append([]*yarnProjectRC{rc}, rcs...)
		} else {
			rcs = append(rcs, rc)
		}
		files = append(files, ConfigFile{Project: rc.rel, Secret: rc.networked, Public: rc.public})
	}
	return rcs, files, nil
}

// rootRC is the project root's rc file among rcs, or nil.
func rootRC(root string, rcs []*yarnProjectRC) *yarnProjectRC {
	if len(rcs) > 0 && filepath.Dir(rcs[0].path) == root {
		return rcs[0]
	}
	return nil
}

// checkClassicYarnPathYML refuses a .yarnrc.yml yarnPath outside the project in a
// yarn classic project: yarn 1.22 follows it too (the networked steps ignore it,
// YARN_IGNORE_PATH=1; the build step would run it).
func checkClassicYarnPathYML(root, dir string) error {
	for _, p := range projectRCFiles(root, dir, ".yarnrc.yml") {
		rc, err := readBerryRC(p)
		if err != nil || rc == nil || len(rc.node.Content) == 0 {
			return err
		}
		doc := rc.node.Content[0]
		for i := 0; i+1 < len(doc.Content); i += 2 {
			if k, v := doc.Content[i], doc.Content[i+1]; k.Value == "yarnPath" || k.Kind != yaml.ScalarNode {
				if _, ok := insideProject(root, filepath.Dir(p), v.Value); !ok || strings.Contains(v.Value, "${") || v.Kind != yaml.ScalarNode || k.Kind != yaml.ScalarNode {
					return yarnConfigRefusal(p, v.Line, "yarnPath "+v.Value, "is not a path inside the project; phylum-box runs no yarn release from outside it",
						"commit the release inside the project, or remove the line")
				}
			}
		}
	}
	return nil
}

// checkClassicCredentialTargets refuses a project .yarnrc that would send the user's
// registry credentials somewhere the user did not choose. yarn 1 sends an unbound
// _authToken/_auth/_password (one without a "//host/:" prefix, in ~/.yarnrc or
// ~/.npmrc) to whichever registry is configured; any token crosses a proxy, and
// strict-ssl false or a project CA lets that proxy read it.
//
// yarn 1 reads the project's .npmrc too: its registry and @scope:registry lines
// count the same (registry=http://127.0.0.1:PORT/ with always-auth=true there sent
// the unbound ~/.npmrc token to that listener).
func checkClassicCredentialTargets(env Env, rcs []*yarnProjectRC, npm *NpmConfig) error {
	unbound, any := false, false
	userRegistry := ""
	for _, name := range []string{".yarnrc", ".npmrc"} {
		b, err := os.ReadFile(filepath.Join(env.Home, name))
		if err != nil {
			continue
		}
		for _, raw := range yarnrcLines(b) {
			line := strings.TrimSpace(raw)
			if line == "" || line[0] == '#' || line[0] == ';' {
				continue
			}
			var key, val string
			if name == ".npmrc" {
				key, val, _ = strings.Cut(line, "=")
				key, val = strings.TrimSpace(key), strings.Trim(strings.TrimSpace(val), `"'`)
			} else {
				key, val = splitYarnrcLine(line)
			}
			if key == "registry" && userRegistry == "" {
				userRegistry = normalizeRegistry(val)
			}
			if s, _ := classicSettingFor(key); s.Class == YarnCredential {
				any = true
				unbound = unbound || !strings.HasPrefix(strings.Trim(key, `"`), "//")
			}
		}
	}
	for _, kv := range env.Environ {
		k, _, _ := strings.Cut(kv, "=")
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "npm_config_") || strings.HasPrefix(lk, "yarn_") {
			if isSecretEnv(k) {
				any, unbound = true, true
			}
		}
	}
	if !any {
		return nil
	}
	same := func(r string) bool {
		r = normalizeRegistry(r)
		switch {
		case userRegistry != "":
			return r == userRegistry
		default: // yarn 1's default and npm's, which it treats as one
			return r == "https://registry.yarnpkg.com/" || r == DefaultNpmRegistry
		}
	}
	advice := "set it in your own ~/.yarnrc instead, and bind each token to its registry (\"//host/:_authToken\")"
	if npm != nil && unbound {
		for _, f := range npm.files {
			if !f.project {
				continue
			}
			for _, l := range f.lines {
				if l.key == "" || l.section || classicSettingName(l.key) != "registry" {
					continue
				}
				if !same(l.value) {
					return yarnConfigRefusal(f.path, l.no, l.key+"="+l.value, "would receive the registry token of your ~/.yarnrc or ~/.npmrc (yarn 1 reads the project's .npmrc)",
						"set it in your own ~/.npmrc instead, and bind each token to its registry (//host/:_authToken=…)")
				}
			}
		}
	}
	for _, rc := range rcs {
		b, err := os.ReadFile(rc.path)
		if err != nil {
			return err
		}
		for i, raw := range yarnrcLines(b) {
			line := strings.TrimSpace(raw)
			if line == "" || line[0] == '#' || raw[0] == ' ' || raw[0] == '\t' {
				continue
			}
			key, val := splitYarnrcLine(line)
			name := classicSettingName(key)
			switch {
			case name == "registry" && unbound && !same(val):
				return yarnConfigRefusal(rc.path, i+1, key+" "+val, "would receive the registry token of your ~/.yarnrc or ~/.npmrc", advice)
			case name == "proxy" || name == "https-proxy" || name == "ca" || name == "cafile":
				return yarnConfigRefusal(rc.path, i+1, key, "would route or intercept the connections that carry your registry credentials", advice)
			case name == "strict-ssl" && val == "false":
				return yarnConfigRefusal(rc.path, i+1, key+" false", "would let anyone on the way read your registry credentials", advice)
			}
		}
	}
	return nil
}

package managers

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/phylum-box/phylum-box/rootfs"
)

// cargoProjectFiles reads the project's cargo config files (.cargo/config and
// .cargo/config.toml from the working directory up to the workspace root) as data.
// It refuses the settings cargoSettings does not allow from a project and returns,
// per file, the copy the networked steps read (Secret: without exec and unknown
// settings) and the one the build reads (Public: the file as it is). Files above
// the root are not in the sandbox; they are only noted.
func cargoProjectFiles(env Env, root string, user cargoUserConfig) ([]ConfigFile, []string, error) {
	var files []ConfigFile
	var notes []string
	var problems []string
	for d := env.Dir; ; d = filepath.Dir(d) {
		for _, name := range []string{"config", "config.toml"} {
			p := filepath.Join(d, ".cargo", name)
			_, err := os.Lstat(p)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, nil, fmt.Errorf("reading cargo config %s: %w", p, err)
			}
			if within(root, d) {
				// A .cargo that is a symlink out of the project could show the
				// host's config (the user's own, unsanitized) as the project's.
				if real, ok := cargoRealPath(filepath.Join(d, ".cargo")); !ok || !within(cargoRealRoot(root), real) {
					problems = append(problems, filepath.Join(d, ".cargo")+": a symlink out of the project; the project's .cargo must be inside it")
					break
				}
			}
			if !within(root, d) {
				if filepath.Join(d, ".cargo") == cargoUserHome(env) {
					continue // the user's own, named with --config
				}
				if !underAnyDir(d, rootfs.SystemDirs) {
					notes = append(notes, "cargo: "+p+" is above the workspace root; the sandbox does not show it to cargo (pass what you need from it with --config)")
					continue
				}
				// A system directory is in the sandbox as it is: phylum-box cannot
				// give the networked steps another copy, so it must be data only.
				data, err := os.ReadFile(p)
				if err != nil {
					continue // unreadable to the user: to the sandbox too
				}
				_, dropped, probs := cargoCheckProjectConfig(p, d, root, data, user)
				problems = append(problems, probs...)
				for _, k := range dropped {
					problems = append(problems, p+": "+k+": names a program, flags or environment, and this file is above the workspace root, where the sandbox shows it as it is to the networked steps")
				}
				continue
			}
			// Read as itself: a link elsewhere in the project is followed, one out
			// of it (to ~/.cargo/credentials.toml) or a hard link is refused.
			data, err := readProjectFile(root, p)
			var pe *ProjectFileError
			if errors.As(err, &pe) {
				problems = append(problems, pe.Why)
				continue
			}
			if err != nil {
				return nil, nil, fmt.Errorf("reading cargo config %s: %w", p, err)
			}
			secret, dropped, probs := cargoCheckProjectConfig(p, d, root, data, user)
			problems = append(problems, probs...)
			rel, _ := filepath.Rel(root, p)
			files = append(files, ConfigFile{Project: filepath.ToSlash(rel), Secret: secret, Public: data})
			if len(dropped) > 0 {
				notes = append(notes, "cargo: "+p+": left out of the resolve and download steps (honoured in the offline build): "+strings.Join(dropped, ", "))
			}
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	if len(problems) > 0 {
		return nil, nil, cargoConfigRefusal(problems)
	}
	return files, notes, nil
}

func cargoConfigRefusal(problems []string) *Refusal {
	const most = 6
	more := ""
	if len(problems) > most {
		more = fmt.Sprintf(" (and %d more)", len(problems)-most)
		problems = problems[:most]
	}
	return &Refusal{Manager: "cargo",
		Reason: "the project's cargo configuration has settings phylum-box does not take from a checkout: " + strings.Join(problems, "; ") + more,
		Advice: "remove them from the project's .cargo/config.toml; settings you trust go in ~/.cargo/config.toml or on the command line (--config KEY=VALUE), see docs/reference/cargo-config-settings.md"}
}

// cargoCheckProjectConfig classifies every setting of one project config file at
// path (in directory dir, whose .cargo it is). It returns the networked copy (the
// file itself when nothing is left out), the keys left out of it, and the
// problems that refuse the plan, each as "file:line: key: why".
func cargoCheckProjectConfig(path, dir, root string, data []byte, user cargoUserConfig) (secret []byte, dropped, problems []string) {
	var tree map[string]any
	if _, err := toml.Decode(string(data), &tree); err != nil {
		return nil, nil, []string{path + ": not valid TOML: " + err.Error()}
	}
	lines := cargoKeyLines(data)
	at := func(key []string) string {
		for n := len(key); n > 0; n-- {
			if l, ok := lines[strings.Join(key[:n], "\x00")]; ok {
				return fmt.Sprintf("%s:%d: %s", path, l, strings.Join(key, "."))
			}
		}
		return path + ": " + strings.Join(key, ".")
	}
	keep := map[string]any{}
	var walk func(prefix []string, v any)
	walk = func(prefix []string, v any) {
		if m, ok := v.(map[string]any); ok && (len(prefix) == 0 || cargoHasDeeper(prefix)) {
			for _, k := range sortedAnyKeys(m) {
				walk(append(append([]string(nil), prefix...), k), m[k])
			}
			return
		}
		s, known := classifyCargoKey(prefix)
		class := s.Class
		if !known {
			class = cargoUnknownClass
		}
		bad := func(why string) { problems = append(problems, at(prefix)+": "+why) }
		switch class {
		case cargoData:
			cargoKeep(keep, prefix, v)
		case cargoPath:
			if why := cargoPathProblem(s.Key, v, dir, root); why != "" {
				bad(why)
				return
			}
			cargoKeep(keep, prefix, v)
		case cargoExec:
			if cargoProgramKeys[s.Key] && known {
				if why := cargoProgramProblem(s.Key, v, dir, root); why != "" {
					bad(why)
					return
				}
			}
			dropped = append(dropped, strings.Join(prefix, "."))
		case cargoCredential:
			if why := cargoCredentialProblem(s.Key, v); why != "" {
				bad(why)
				return
			}
			cargoKeep(keep, prefix, v)
		case cargoNetwork:
			if s.Key == "registries.<name>.index" {
				if k := cargoRegistryKey(prefix[1]); user.tokens[k] && !user.indexes[k] {
					bad("you hold a token for registry " + prefix[1] + " and the project names its index: cargo would send your token there; name the index in ~/.cargo/config.toml if you trust it")
					return
				}
			}
			cargoKeep(keep, prefix, v)
		case cargoUserOnly:
			bad("not taken from a project (" + s.Why + ")")
		}
	}
	walk(nil, tree)
	if len(dropped) == 0 {
		return data, nil, problems
	}
	var buf bytes.Buffer
	buf.WriteString("# phylum-box: the project's " + filepath.Base(path) + " without the settings that run programs (" + strings.Join(dropped, ", ") + ")\n")
	if err := toml.NewEncoder(&buf).Encode(keep); err != nil {
		problems = append(problems, path+": cannot rewrite it for the networked steps: "+err.Error())
	}
	return buf.Bytes(), dropped, problems
}

// cargoHasDeeper reports whether a pattern longer than prefix starts like it:
// then a table there holds further settings (net.ssh, target.<triple>,
// profile.<name>), not one value (env.<name> = {value = …}, a links override).
func cargoHasDeeper(prefix []string) bool {
	for _, c := range cargoSettings {
		segs := strings.Split(c.Key, ".")
		if len(segs) <= len(prefix) {
			continue
		}
		match := true
		for i, p := range prefix {
			if !strings.HasPrefix(segs[i], "<") && segs[i] != p {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}

// cargoKeep sets key in tree, creating tables on the way.
func cargoKeep(tree map[string]any, key []string, v any) {
	for _, k := range key[:len(key)-1] {
		next, ok := tree[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			tree[k] = next
		}
		tree = next
	}
	tree[key[len(key)-1]] = v
}

func sortedAnyKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// cargoStrings returns the strings of a string or array-of-strings value.
func cargoStrings(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// cargoPathProblem says why a path setting is refused: cargo resolves a relative
// path from the directory that holds .cargo.
func cargoPathProblem(key string, v any, dir, root string) string {
	for _, s := range cargoStrings(v) {
		if key == "build.build-dir" {
			rest, ok := strings.CutPrefix(s, "{workspace-root}")
			if strings.Contains(rest, "{") {
				return "a template other than {workspace-root} names a directory outside the project"
			}
			if ok {
				s = root + rest
			}
		}
		p := s
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		if !within(root, filepath.Clean(p)) {
			return fmt.Sprintf("%q is outside the project (%s); only paths inside it are used", s, root)
		}
		// Commands that pass through (cargo clean deletes the target dir) use it
		// on the host: a symlink in the project must not lead it outside.
		if real, ok := cargoRealPath(filepath.Clean(p)); !ok || !within(cargoRealRoot(root), real) {
			return fmt.Sprintf("%q leads outside the project (%s) through a symlink; only paths inside it are used", s, root)
		}
	}
	return ""
}

// cargoRealRoot is root with its symlinks resolved (root when it cannot be).
func cargoRealRoot(root string) string {
	if r, err := filepath.EvalSymlinks(root); err == nil {
		return r
	}
	return root
}

// cargoRealPath resolves the symlinks of the part of p that exists; the rest is
// appended as it is. ok is false when a part cannot be resolved (a dangling
// symlink, which cargo would follow when it creates the directory).
func cargoRealPath(p string) (string, bool) {
	rest := ""
	for q := p; ; q = filepath.Dir(q) {
		if r, err := filepath.EvalSymlinks(q); err == nil {
			return filepath.Join(r, rest), true
		}
		if _, err := os.Lstat(q); err == nil {
			return "", false // there, yet not resolvable: a dangling or looping link
		}
		if filepath.Dir(q) == q {
			return p, true
		}
		rest = filepath.Join(filepath.Base(q), rest)
	}
}

// cargoVisibleDirs are the host trees the sandbox shows besides the project, where
// a configured program may live.
var cargoVisibleDirs = []string{"/usr", "/opt", "/bin", "/sbin"}

// cargoProgramProblem says why a program setting is refused: a program given by
// path must be one the sandbox can see (a bare name is looked up in PATH there).
func cargoProgramProblem(key string, v any, dir, root string) string {
	prog := ""
	switch x := v.(type) {
	case string:
		prog = x
		if key == "target.<triple>.runner" || key == "doc.browser" {
			prog, _, _ = strings.Cut(strings.TrimSpace(x), " ")
		}
	case []any:
		if len(x) > 0 {
			prog, _ = x[0].(string)
		}
	}
	if prog == "" || !strings.Contains(prog, "/") {
		return ""
	}
	p := prog
	if !filepath.IsAbs(p) {
		p = filepath.Join(dir, p)
	}
	p = filepath.Clean(p)
	if within(root, p) {
		return ""
	}
	for _, d := range cargoVisibleDirs {
		if within(d, p) {
			return ""
		}
	}
	return fmt.Sprintf("the program %q is outside the project and the system directories; name one inside the project or on PATH", prog)
}

// cargoCredentialProblem says why a credential setting is refused; cargo's own
// providers are allowed.
func cargoCredentialProblem(key string, v any) string {
	switch key {
	case "registries.<name>.credential-provider", "registry.credential-provider", "registry.global-credential-providers":
		vals := cargoStrings(v)
		if key != "registry.global-credential-providers" {
			if s, ok := v.(string); ok {
				vals = []string{strings.TrimSpace(s)}
			} else if len(vals) > 0 {
				vals = []string{strings.Join(vals, " ")}
			}
		}
		for _, p := range vals {
			if !cargoBuiltinProviders[p] {
				return fmt.Sprintf("the credential provider %q is a program handed your registry token; configure providers in ~/.cargo/config.toml", p)
			}
		}
		return ""
	case "credential-alias.<name>":
		return "defines a credential provider program; configure providers in ~/.cargo/config.toml"
	}
	return "a registry token in the project; tokens belong in ~/.cargo/credentials.toml"
}

// cargoKeyLines maps each key of a TOML file (table headers and assignments,
// joined with NUL) to its line, for messages. It reads lines the simple way: a
// key inside a multi-line string or an inline table is found through its parent.
func cargoKeyLines(data []byte) map[string]int {
	out := map[string]int{}
	var table []string
	record := func(key []string, line int) {
		for n := 1; n <= len(key); n++ {
			k := strings.Join(key[:n], "\x00")
			if _, ok := out[k]; !ok {
				out[k] = line
			}
		}
	}
	for i, raw := range strings.Split(string(data), "\n") {
		s := strings.TrimSpace(raw)
		switch {
		case s == "" || s[0] == '#':
		case strings.HasPrefix(s, "[[") || s[0] == '[':
			inner := strings.TrimLeft(s, "[")
			key, rest, ok := tomlKey(inner)
			if ok && strings.HasPrefix(strings.TrimSpace(rest), "]") {
				table = key
				record(key, i+1)
			}
		default:
			key, rest, ok := tomlKey(s)
			if ok && strings.HasPrefix(strings.TrimSpace(rest), "=") {
				record(append(append([]string(nil), table...), key...), i+1)
			}
		}
	}
	return out
}

// tomlKey parses a dotted TOML key (bare and quoted parts) at the start of s.
func tomlKey(s string) (key []string, rest string, ok bool) {
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return nil, "", false
		}
		switch s[0] {
		case '"', '\'':
			end := strings.IndexByte(s[1:], s[0])
			if end < 0 {
				return nil, "", false
			}
			key = append(key, s[1:end+1])
			s = s[end+2:]
		default:
			n := 0
			for n < len(s) && (s[n] == '-' || s[n] == '_' || s[n] >= 'a' && s[n] <= 'z' || s[n] >= 'A' && s[n] <= 'Z' || s[n] >= '0' && s[n] <= '9') {
				n++
			}
			if n == 0 {
				return nil, "", false
			}
			key = append(key, s[:n])
			s = s[n:]
		}
		s = strings.TrimLeft(s, " \t")
		if !strings.HasPrefix(s, ".") {
			return key, s, true
		}
		s = s[1:]
	}
}

// cargoAlias finds name among cargo's aliases as cargo does: CARGO_ALIAS_<NAME>,
// then the config files from the working directory up, then $CARGO_HOME's. It
// returns the expansion (nil if name is no alias) and where it was found. An
// alias from a project file may not carry options that are settings
// (--config, -Z, +TOOLCHAIN, --manifest-path, -C): on the command line they
// would be trusted as the user's.
func cargoAlias(env Env, name string) (exp []string, from string, err error) {
	split := func(v any) []string {
		if s, ok := v.(string); ok {
			return strings.Fields(s)
		}
		return cargoStrings(v)
	}
	if v, ok := env.LookupEnv("CARGO_ALIAS_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))); ok {
		return strings.Fields(v), "CARGO_ALIAS_" + name, nil
	}
	cargoHome := cargoUserHome(env)
	var candidates []string
	for d := env.Dir; ; d = filepath.Dir(d) {
		if filepath.Join(d, ".cargo") != cargoHome {
			candidates = append(candidates, filepath.Join(d, ".cargo", "config"), filepath.Join(d, ".cargo", "config.toml"))
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	candidates = append(candidates, filepath.Join(cargoHome, "config"), filepath.Join(cargoHome, "config.toml"))
	for _, p := range candidates {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var f struct {
			Alias map[string]any `toml:"alias"`
		}
		if _, err := toml.Decode(string(data), &f); err != nil {
			continue // a planned command reports it
		}
		v, ok := f.Alias[name]
		if !ok {
			continue
		}
		exp = split(v)
		if len(exp) == 0 {
			return nil, "", &Refusal{Manager: "cargo", Reason: p + ": alias." + name + " is empty"}
		}
		if filepath.Dir(p) != cargoHome { // a project's
			for _, w := range exp {
				if w == "--config" || strings.HasPrefix(w, "--config=") || strings.HasPrefix(w, "-Z") || strings.HasPrefix(w, "+") ||
					strings.HasPrefix(w, "--manifest-path") || w == "-C" {
					line := cargoKeyLines(data)["alias\x00"+name]
					return nil, "", &Refusal{Manager: "cargo",
						Reason: fmt.Sprintf("%s:%d: alias.%s passes %s, a setting the project would choose as if you had typed it", p, line, name, w),
						Advice: "type the command yourself, or define the alias in ~/.cargo/config.toml"}
				}
			}
		}
		return exp, p, nil
	}
	return nil, "", nil
}

// underAnyDir reports whether p is one of dirs or below one.
func underAnyDir(p string, dirs []string) bool {
	for _, d := range dirs {
		if within(d, p) {
			return true
		}
	}
	return false
}

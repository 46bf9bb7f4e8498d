package managers

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// The project's .npmrc is attacker input (a repository cloned an hour ago), read by
// npm and pnpm inside steps that have the network and the user's registry token. So
// phylum-box never lets them read it as written: every setting is classified here,
// and each step sees phylum-box's rendering of the file (see renderProjectNpmrc).

// SettingClass says what a configuration setting can do, and so where a project may
// set it.
type SettingClass string

const (
	// SettingData changes how the tool behaves but names no program, path or secret.
	SettingData SettingClass = "data"
	// SettingNetwork names a registry, proxy or address: allowed (only the steps that
	// run no code have the network), userinfo in a URL counts as a credential.
	SettingNetwork SettingClass = "network-target"
	// SettingCredential is a secret: only the networked steps' copy carries it.
	SettingCredential SettingClass = "credential"
	// SettingPath names a file or directory: from a project, honoured only inside the
	// project (relative paths resolve against the project root), else refused.
	SettingPath SettingClass = "path"
	// SettingExec names a program, hook or node option: left out of the networked
	// steps' copy, kept in the copy the offline build step sees (where a project's
	// script-shell or node-options is legitimately needed and can reach nothing).
	SettingExec SettingClass = "exec"
	// SettingUserOnly is meaningless or dangerous from a project (where the user's
	// config lives, the global prefix): refused in a project file.
	SettingUserOnly SettingClass = "user-only"
	// SettingUnknown is any key not in the table: left out of the networked steps'
	// copy (a -v note says so), kept in the build copy.
	SettingUnknown SettingClass = "unknown"
)

// settingClassWhy explains each class on refusals, notes and the reference page.
var settingClassWhy = map[SettingClass]string{
	SettingData:       "honoured in every step",
	SettingNetwork:    "honoured in every step; a user:password@ in the URL is a credential",
	SettingCredential: "only the resolve and download steps (network, no package code) see it; the build copy has the line removed",
	SettingPath:       "from a project file: honoured only inside the project (relative paths resolve against the project root), else refused",
	SettingExec:       "from a project file: left out of the resolve and download steps (network and credentials), honoured in the offline build step",
	SettingUserOnly:   "refused in a project file; set it in ~/.npmrc",
	SettingUnknown:    "from a project file: left out of the resolve and download steps, kept for the build step",
}

// npmSettingOverrides classifies the settings of npm 11 (npmOptions, from
// @npmcli/config's definitions.js) and pnpm 10 (pnpmBoolKeys, pnpmValueKeys and the
// .npmrc-only keys below) that are not plain data. Everything else in those lists
// is SettingData.
var npmSettingOverrides = map[string]SettingClass{
	// Programs, hooks, scripts and node options.
	"git": SettingExec, "script-shell": SettingExec, "shell": SettingExec,
	"node-options": SettingExec, "node-gyp": SettingExec, "init-module": SettingExec,
	"init.module": SettingExec, "editor": SettingExec, "viewer": SettingExec,
	"browser": SettingExec, "call": SettingExec, "onload-script": SettingExec,
	"pnpmfile": SettingExec, "npm-path": SettingExec, "use-node-version": SettingExec,
	"token-helper": SettingExec,
	// Where the user's config, the global prefix and pnpm's global state live.
	"userconfig": SettingUserOnly, "globalconfig": SettingUserOnly, "prefix": SettingUserOnly,
	"global": SettingUserOnly, "location": SettingUserOnly, "global-dir": SettingUserOnly,
	"global-bin-dir": SettingUserOnly, "global-path": SettingUserOnly, "config-dir": SettingUserOnly,
	"global-pnpmfile": SettingUserOnly, "global-virtual-store-dir": SettingUserOnly,
	"enable-global-virtual-store": SettingUserOnly, "pnpm-home": SettingUserOnly,
	// Files and directories.
	"cache": SettingPath, "cafile": SettingPath, "logs-dir": SettingPath,
	"pack-destination": SettingPath, "provenance-file": SettingPath, "store-dir": SettingPath,
	"cache-dir": SettingPath, "state-dir": SettingPath, "virtual-store-dir": SettingPath,
	"modules-dir": SettingPath, "lockfile-dir": SettingPath, "lockfile-directory": SettingPath,
	"patches-dir": SettingPath, "dir": SettingPath,
	// Secrets.
	"_auth": SettingCredential, "_authToken": SettingCredential, "_password": SettingCredential,
	"username": SettingCredential, "password": SettingCredential, "email": SettingCredential,
	"cert": SettingCredential, "key": SettingCredential, "certfile": SettingCredential,
	"keyfile": SettingCredential, "otp": SettingCredential,
	// Where requests go.
	"registry": SettingNetwork, "proxy": SettingNetwork, "https-proxy": SettingNetwork,
	"http-proxy": SettingNetwork, "noproxy": SettingNetwork, "no-proxy": SettingNetwork,
	"local-address": SettingNetwork, "replace-registry-host": SettingNetwork,
}

// npmrcOnlyKeys are settings read from .npmrc that are not command-line options in
// npmOptions or pnpm's lists: legacy npm keys pnpm still reads and pnpm's rc-only ones.
var npmrcOnlyKeys = []string{
	"_authToken", "_password", "username", "email", "certfile", "keyfile", "always-auth",
	"onload-script", "http-proxy", "no-proxy", "token-helper", "pnpm-home",
	"public-hoist-pattern", "hoist-pattern", "package-manager-strict",
}

// npmSettingKeys is every classified key with the tools that read it, for the
// reference page and the completeness test.
func npmSettingKeys() map[string][]string {
	keys := map[string][]string{}
	add := func(tool string, names ...string) {
		for _, k := range names {
			if !contains(keys[k], tool) {
				keys[k] = append(keys[k], tool)
			}
		}
	}
	for k := range npmOptions {
		add("npm", k)
		add("pnpm", k) // pnpm reads npm's keys too (@pnpm/npm-conf)
	}
	add("pnpm", pnpmBoolKeys...)
	add("pnpm", pnpmValueKeys...)
	add("npm", npmrcOnlyKeys...)
	add("pnpm", npmrcOnlyKeys...)
	return keys
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

var knownNpmSettings = sync.OnceValue(npmSettingKeys)

// normalizeNpmKey spells a key the way the tables do: pnpm camel-cases every rc key
// (storeDir and store_dir mean store-dir to it), so the classification must see
// through those spellings.
func normalizeNpmKey(key string) string {
	lead := len(key) - len(strings.TrimLeft(key, "_"))
	var b strings.Builder
	for i, r := range key[lead:] {
		switch {
		case r >= 'A' && r <= 'Z':
			if i > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r + 'a' - 'A')
		case r == '_':
			b.WriteByte('-')
		default:
			b.WriteRune(r)
		}
	}
	return key[:lead] + b.String()
}

// classifyNpmKey classifies one .npmrc key. "//host/path/:name" keys are per-registry
// settings, "@scope:registry" a scope's registry.
func classifyNpmKey(key string) SettingClass {
	if strings.HasPrefix(key, "//") {
		i := strings.LastIndex(key, ":")
		if i < 0 {
			return SettingUnknown
		}
		switch normalizeNpmKey(key[i+1:]) {
		case "always-auth":
			return SettingData
		case "token-helper":
			return SettingExec
		}
		return SettingCredential // _authToken, _auth, username, _password, certfile, …
	}
	if strings.HasPrefix(key, "@") {
		if strings.HasSuffix(key, ":registry") {
			return SettingNetwork
		}
		return SettingUnknown
	}
	if c, ok := npmSettingOverrides[key]; ok {
		return c
	}
	if _, ok := knownNpmSettings()[key]; ok {
		return SettingData
	}
	if n := normalizeNpmKey(key); n != key {
		if c, ok := npmSettingOverrides[n]; ok {
			return c
		}
		if _, ok := knownNpmSettings()[n]; ok {
			return SettingData
		}
	}
	return SettingUnknown
}

// projectPath resolves a path setting from a project file (relative to base, the
// file's directory, where the tool runs): inside the project (not the root itself,
// nothing under .git), through no symlink. It returns the absolute
// path, or why it is refused.
func projectPath(root, base, home, value string) (string, string) {
	p := value
	switch {
	case p == "~" || strings.HasPrefix(p, "~/"):
		p = filepath.Join(home, strings.TrimPrefix(p, "~"))
	case !filepath.IsAbs(p):
		p = filepath.Join(base, p)
	}
	p = filepath.Clean(p)
	rel, err := filepath.Rel(root, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Sprintf("names %s, outside the project", p)
	}
	if rel == "." {
		return "", "names the project root itself"
	}
	if rel == ".git" || strings.HasPrefix(rel, ".git/") {
		return "", "names a path under .git"
	}
	cur := root
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		cur = filepath.Join(cur, part)
		st, err := os.Lstat(cur)
		if err != nil {
			break // created inside the project when needed
		}
		if st.Mode()&os.ModeSymlink != 0 {
			return "", fmt.Sprintf("goes through the symbolic link %s", cur)
		}
	}
	return p, ""
}

// stripUserinfo removes user:password@ from a URL value; ok reports whether there was one.
func stripUserinfo(value string) (string, bool) {
	if !strings.Contains(value, "@") || !strings.Contains(value, "://") {
		return value, false
	}
	u, err := url.Parse(strings.TrimSpace(value))
	if err != nil || u.User == nil {
		return value, false
	}
	u.User = nil
	return u.String(), true
}

// NpmrcSettingsReference renders docs/reference/npmrc-settings.md from the tables.
func NpmrcSettingsReference() string {
	var b strings.Builder
	b.WriteString("# .npmrc settings (npm and pnpm)\n\n")
	b.WriteString("A project's `.npmrc` is untrusted input, like the rest of the checkout. phylum-box reads it as data " +
		"and hands npm and pnpm its own rendering of it in every step: the resolve and download steps " +
		"(network and your registry credentials, no package code) see only the settings below that are safe there; " +
		"the build step (package code, no network, no credentials) sees the file without credentials.\n\n")
	b.WriteString("Your own `~/.npmrc` (and `npm_config_*` variables, the command line) is trusted and is not limited by this table; " +
		"`${VAR}` references expand there as in npm.\n\n")
	b.WriteString("## What happens to a setting in the project's .npmrc\n\n| class | what phylum-box does |\n| --- | --- |\n")
	for _, c := range []SettingClass{SettingData, SettingNetwork, SettingCredential, SettingPath, SettingExec, SettingUserOnly, SettingUnknown} {
		fmt.Fprintf(&b, "| %s | %s |\n", c, settingClassWhy[c])
	}
	b.WriteString("\nAlso, in a project file:\n\n" +
		"- a `${VAR}` reference is refused (a cloned project must not choose which of your environment variables becomes a registry token); " +
		"move the line to `~/.npmrc`;\n" +
		"- `//host/path/:_authToken`, `:_auth`, `:username`, `:_password`, `:certfile`, `:keyfile` (and any other per-registry key) are credentials, " +
		"`//host/:tokenHelper` is exec, `//host/:always-auth` is data; `@scope:registry` is network-target;\n" +
		"- a URL with `user:password@` in any file (project or user) is a credential: the build step's copy has it removed;\n" +
		"- keys spelled in camelCase or with `_` are classified as their kebab-case name (pnpm reads them so);\n" +
		"- `cache`, `store-dir` and `cache-dir` inside the project are accepted, and phylum-box keeps its own cache and store location " +
		"(the sandbox sees the project through an overlay; the cache only makes installs faster);\n" +
		"- a project `.npmrc` that is a symbolic link out of the project is refused;\n" +
		"- a lone carriage return ends a line, as in npm's and pnpm's ini parser;\n" +
		"- when your own config holds a registry credential, a project's `proxy`, `https-proxy`, `http-proxy`, `ca`, `cafile` " +
		"or `strict-ssl` other than `true` is refused: it would route or intercept the connections that carry it;\n" +
		"- pnpm run in a workspace package also reads that package's `.npmrc`: it is checked and rendered the same way " +
		"(relative paths resolve against its directory);\n" +
		"- settings under an `[ini section]` are dropped (npm and pnpm ignore them);\n" +
		"- pnpm's `.pnpmfile.cjs` (or a `pnpmfile` setting in `.npmrc` or `pnpm-workspace.yaml`, or a plugin among its `configDependencies`) " +
		"never runs with the network or your token: the resolve and download steps run with `--ignore-pnpmfile`; " +
		"the hooks run in a step of their own with neither, which writes the lockfile (fetching the metadata they ask for in between, " +
		"from a step that runs no project code), and in the offline build step, which links node_modules from the store. " +
		"A hook that changes anything but the lockfile while resolving stops the install (exit 4). " +
		"`pnpm install --frozen-lockfile`, `fetch` and `import` cannot be driven so and are refused with a pnpmfile; `--ignore-pnpmfile` runs without it;\n" +
		"- pnpm's `manage-package-manager-versions` (in `.npmrc` or `pnpm-workspace.yaml`) is read, but every pnpm step runs with " +
		"`--config.manage-package-manager-versions=false`: in an install's steps the pnpm release a project's `packageManager` names is never downloaded or run " +
		"(it would run with the network and your token); your own pnpm runs, and phylum-box says which release the project asked for " +
		"(corepack's pnpm shim picks the project's release itself, before pnpm starts; commands phylum-box passes through, such as `pnpm run`, run as typed);\n" +
		"- `pnpm install --lockfile-only` is passed through (it installs and builds nothing), except in a project with a pnpmfile, " +
		"whose hooks pnpm would run on the host while it resolves: refused, unless with `--ignore-pnpmfile`.\n\n")
	b.WriteString("Refusals name the file, the line and the setting, and exit with code 2.\n\n")
	b.WriteString("## Settings\n\n| setting | read by | class |\n| --- | --- | --- |\n")
	keys := make([]string, 0, len(knownNpmSettings()))
	for k := range knownNpmSettings() {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		tools := append([]string(nil), knownNpmSettings()[k]...)
		sort.Strings(tools)
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", k, strings.Join(tools, ", "), classifyNpmKey(k))
	}
	return b.String()
}

// projectCacheKeys are the path settings phylum-box replaces by its own: the
// sandbox sees the project through an overlay, so a cache inside the project would
// be written into the overlay and refused at the sync back, and bind-mounting it
// writable would let the networked steps write the project tree directly. The cache
// only makes installs faster; where it lives changes nothing else.
var projectCacheKeys = map[string]bool{"cache": true, "store-dir": true, "cache-dir": true}

const projectCacheNote = "inside the project, accepted; phylum-box uses its usual cache or store location instead (the project is an overlay in the sandbox)"

// checkProjectFile refuses a project .npmrc that is not a regular file inside the
// project: a symbolic link to ~/.npmrc or ~/.ssh/id_rsa would make phylum-box read
// and render a host file as the project's settings.
func checkProjectFile(root, path string) error {
	if why := projectFileProblem(root, path); why != "" {
		return npmrcRefusal([]string{why}, "replace it with a plain file holding the settings the project needs")
	}
	return nil
}

// checkProject enforces the table on the project's file, before anything runs:
// ${VAR} references, user-only settings and paths outside the project are refused;
// paths inside are made absolute. Settings the networked steps will not see are
// noted.
func (c *NpmConfig) checkProject(f *npmrcFile, root string) error {
	var problems []string
	where := func(l npmrcLine) string { return fmt.Sprintf("%s:%d: %s", f.path, l.no, strings.TrimSpace(l.raw)) }
	for i := range f.lines {
		l := &f.lines[i]
		if l.key == "" {
			continue
		}
		if l.section {
			c.Notes = append(c.Notes, where(*l)+": under an [ini section], which npm and pnpm ignore; left out")
			continue
		}
		if len(l.refs) > 0 {
			problems = append(problems, where(*l)+": reads the environment variable "+strings.Join(l.refs, ", ")+
				"; a project file may not choose which of your variables npm sends (move the line to ~/.npmrc, which may use ${VAR})")
			continue
		}
		switch class := classifyNpmKey(l.key); class {
		case SettingUserOnly:
			problems = append(problems, where(*l)+": "+l.key+" only makes sense in your own config (set it in ~/.npmrc if you want it)")
		case SettingPath:
			abs, why := projectPath(root, filepath.Dir(f.path), c.env.Home, l.value)
			if why != "" {
				problems = append(problems, where(*l)+": "+l.key+" "+why+
					"; a project file may only name paths inside the project (use a relative path such as ./.npm-cache, or set it in ~/.npmrc)")
				continue
			}
			l.value, l.rewritten = abs, true
			if projectCacheKeys[normalizeNpmKey(l.key)] {
				c.Notes = append(c.Notes, where(*l)+": "+projectCacheNote)
			}
		case SettingExec:
			c.Notes = append(c.Notes, where(*l)+": "+l.key+" runs a program; left out of the networked steps, honoured in the offline build step")
		case SettingUnknown:
			c.Notes = append(c.Notes, where(*l)+": "+l.key+" is not a setting phylum-box knows; left out of the networked steps, kept for the build step")
		}
	}
	if len(problems) > 0 {
		return npmrcRefusal(problems, "see docs/reference/npmrc-settings.md for what a project .npmrc may set (your own ~/.npmrc is trusted)")
	}
	return nil
}

// holdsCredentials reports whether the user's side of the configuration (their
// files, npm_config_* variables) carries a registry credential.
func (c *NpmConfig) holdsCredentials() bool {
	for _, f := range c.files {
		if f.project {
			continue
		}
		for _, l := range f.lines {
			if l.key == "" || l.section {
				continue
			}
			if _, userinfo := stripUserinfo(l.value); userinfo || classifyNpmKey(l.key) == SettingCredential {
				return true
			}
		}
	}
	for _, kv := range c.env.Environ {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := cutPrefixFold(k, "npm_config_"); ok && isSecretEnv(k) {
			return true
		}
	}
	return false
}

// checkCredentialTargets refuses project settings that decide which way the
// requests carrying the user's credentials go and which certificate they trust,
// when the user holds any: a project https-proxy with strict-ssl=false (or its own
// ca/cafile) read the bearer token npm sent to registry.npmjs.org (measured with a
// loopback proxy terminating TLS).
func (c *NpmConfig) checkCredentialTargets() error {
	if !c.holdsCredentials() {
		return nil
	}
	var problems []string
	for _, f := range c.files {
		if !f.project {
			continue
		}
		for _, l := range f.lines {
			if l.key == "" || l.section {
				continue
			}
			where := fmt.Sprintf("%s:%d: %s", f.path, l.no, strings.TrimSpace(l.raw))
			switch n := normalizeNpmKey(l.key); {
			case n == "proxy" || n == "https-proxy" || n == "http-proxy" || n == "ca" || n == "cafile":
				problems = append(problems, where+": "+l.key+" would route or intercept the connections that carry your registry credentials")
			case n == "strict-ssl" && l.value != "true":
				problems = append(problems, where+": "+l.key+" would let anyone on the way read your registry credentials")
			}
		}
	}
	if len(problems) > 0 {
		return npmrcRefusal(problems, "set it in your own ~/.npmrc if you want it (your config holds registry credentials)")
	}
	return nil
}

// npmrcRefusal is a *Refusal (exit 2, like a refused command line): the project's
// configuration asks for something phylum-box will not do, and the fix is an edit.
// LoadNpmConfig's callers set Manager.
func npmrcRefusal(problems []string, advice string) *Refusal {
	reason := "the project's .npmrc is refused (a checkout's files are untrusted input):\n  " + strings.Join(problems, "\n  ")
	return &Refusal{Manager: "npm", Reason: reason, Advice: advice}
}

// renderProjectNpmrc renders the project's file for the networked steps (only data,
// network-target, credential and in-project path settings) and for the offline steps
// (everything checkProject let through, without credentials and URL userinfo).
func renderProjectNpmrc(f *npmrcFile) (networked, build []byte) {
	var n, b strings.Builder
	n.WriteString("; the project's .npmrc as phylum-box renders it for the steps with network and credentials\n")
	b.WriteString("; the project's .npmrc as phylum-box renders it for the steps without network\n")
	for _, l := range f.lines {
		if l.key == "" || l.section {
			if !l.section {
				n.WriteString(l.raw + "\n")
				b.WriteString(l.raw + "\n")
			}
			continue
		}
		line := l.raw
		if l.rewritten {
			line = l.key + "=" + quoteNpmrc(l.value)
		}
		if projectCacheKeys[normalizeNpmKey(l.key)] {
			n.WriteString("; (" + l.key + ": phylum-box uses its own)\n")
			b.WriteString("; (" + l.key + ": phylum-box uses its own)\n")
			continue
		}
		class := classifyNpmKey(l.key)
		switch class {
		case SettingData, SettingNetwork, SettingPath:
			n.WriteString(line + "\n")
		case SettingCredential:
			n.WriteString(line + "\n")
			b.WriteString("; (credential removed by phylum-box)\n")
			continue
		default: // exec, unknown (user-only was refused)
			n.WriteString("; (" + l.key + ": " + settingClassWhy[class] + ")\n")
		}
		if bare, ok := stripUserinfo(l.value); ok {
			b.WriteString("; (user:password@ removed by phylum-box)\n" + l.key + "=" + quoteNpmrc(bare) + "\n")
			continue
		}
		b.WriteString(line + "\n")
	}
	return []byte(n.String()), []byte(b.String())
}

// quoteNpmrc writes a value npm's ini parser reads back unchanged: JSON-quoted, so
// that ";" or "#" in it is not a comment.
func quoteNpmrc(v string) string {
	q, _ := json.Marshal(v)
	return string(q)
}

func init() { RegisterSettingsPage("npmrc-settings.md", NpmrcSettingsReference) }

package managers

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/phylum-box/phylum-box/precheck/registry"
)

// DefaultNpmRegistry is npm's built-in registry.
const DefaultNpmRegistry = "https://registry.npmjs.org/"

// npmrc files are ini-like: "key = value" lines, ";" or "#" comments, values
// optionally JSON-quoted, "${VAR}" expanded from the environment when the variable is
// set (left as written when not, as npm does), "${VAR?}" expanded to "" when unset.

type npmrcLine struct {
	raw     string // the line as written
	key     string // "" for comments, blanks and sections
	value   string // env-expanded, unquoted (a project path: absolute)
	refs    []string
	no      int  // line number, from 1
	section bool // a "[section]" header or a line under one: npm and pnpm ignore them
	// rewritten: value differs from raw's and is written back as key="value".
	rewritten bool
}

type npmrcFile struct {
	path    string
	project bool
	rel     string // a project file's path relative to the project root
	lines   []npmrcLine
}

var envRef = regexp.MustCompile(`(\\*)\$\{([^${}?]+)(\?)?\}`)

func expandNpmrcEnv(s string, env Env) (string, []string) {
	var refs []string
	out := envRef.ReplaceAllStringFunc(s, func(m string) string {
		sub := envRef.FindStringSubmatch(m)
		esc, name, optional := sub[1], sub[2], sub[3] == "?"
		if len(esc)%2 == 1 { // escaped: drop half the backslashes, keep the literal
			return m[(len(esc)+1)/2:]
		}
		refs = append(refs, name)
		val, ok := env.LookupEnv(name)
		if !ok {
			if optional {
				val = ""
			} else {
				val = "${" + name + "}"
			}
		}
		return esc[len(esc)/2:] + val
	})
	return out, refs
}

// npmrcLines splits a file into lines the way npm's and pnpm's ini parser does: a
// lone "\r" ends a line too. Read as one line, "save-exact=true\rgit=/x" was a data
// setting to phylum-box, written as it was into the networked steps' copy, where npm
// read git=/x from it.
func npmrcLines(data []byte) []string {
	s := strings.ReplaceAll(string(data), "\r\n", "\n")
	lines := strings.Split(strings.ReplaceAll(s, "\r", "\n"), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

func parseNpmrc(data []byte, path string, env Env) *npmrcFile {
	f := &npmrcFile{path: path}
	inSection := false
	for _, raw := range npmrcLines(data) {
		line := strings.TrimSpace(raw)
		l := npmrcLine{raw: raw, no: len(f.lines) + 1}
		if line != "" && line[0] == '[' {
			inSection = true
		}
		l.section = inSection
		if line != "" && line[0] != ';' && line[0] != '#' && line[0] != '[' {
			k, v, _ := strings.Cut(line, "=")
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			k = strings.TrimSuffix(k, "[]")
			if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"') {
				var s string
				if json.Unmarshal([]byte(v), &s) == nil {
					v = s
				}
			} else if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
				v = v[1 : len(v)-1]
			}
			var krefs, vrefs []string
			l.key, krefs = expandNpmrcEnv(k, env)
			l.value, vrefs = expandNpmrcEnv(v, env)
			l.refs = append(krefs, vrefs...)
		}
		f.lines = append(f.lines, l)
	}
	return f
}

// NpmConfig is the merged registry configuration of the npm-family tools: the
// project's .npmrc, the user's (npm_config_userconfig or ~/.npmrc), the global one,
// npm_config_* environment variables and command-line flags, with npm's precedence.
type NpmConfig struct {
	// Registry is the default registry, always ending in "/".
	Registry string
	// Scopes maps "@scope" to its registry.
	Scopes map[string]string
	// Cache is the "cache" setting when one was given ("" = the tool's default).
	Cache string

	// Notes say which project settings the networked steps do not see (for -v).
	Notes []string

	files []*npmrcFile // highest precedence first: project, user, global
	env   Env
	cli   map[string]string
}

// npmrc keys that hold secrets, after any "//host/path/:" prefix.
var npmSecretKeys = map[string]bool{
	"_authToken": true, "_auth": true, "_password": true, "username": true,
	"certfile": true, "keyfile": true, "email": true,
}

func isSecretKey(key string) bool {
	if i := strings.LastIndex(key, ":"); i >= 0 && strings.HasPrefix(key, "//") {
		key = key[i+1:]
	}
	return npmSecretKeys[key]
}

// LoadNpmConfig reads the npm configuration that applies to a project at root. cli
// holds settings given on the command line ("registry", "@scope:registry", "userconfig").
func LoadNpmConfig(env Env, root string, cli map[string]string) (*NpmConfig, error) {
	return loadNpmConfig(env, root, "", cli)
}

// loadNpmConfig is LoadNpmConfig for a tool that also reads the .npmrc of the
// directory it runs in (sub, relative to root; pnpm in a workspace package), with
// precedence over the root's.
func loadNpmConfig(env Env, root, sub string, cli map[string]string) (*NpmConfig, error) {
	c := &NpmConfig{Scopes: map[string]string{}, env: env, cli: cli}
	userconfig := firstNonEmpty(cli["userconfig"], envConfig(env, "userconfig"), filepath.Join(env.Home, ".npmrc"))
	globalconfig := firstNonEmpty(cli["globalconfig"], envConfig(env, "globalconfig"), globalNpmrc(env))
	type candidate struct {
		path    string
		project bool
	}
	var candidates []candidate
	if sub = filepath.Clean(sub); sub != "." && sub != "" && !strings.HasPrefix(sub, "..") && !filepath.IsAbs(sub) {
		candidates = append(candidates, candidate{filepath.Join(root, sub, ".npmrc"), true})
	}
	candidates = append(candidates, candidate{filepath.Join(root, ".npmrc"), true}, candidate{userconfig, false}, candidate{globalconfig, false})
	for _, cand := range candidates {
		if cand.path == "" {
			continue
		}
		if cand.project {
			if err := checkProjectFile(root, cand.path); err != nil {
				return nil, err
			}
		}
		var data []byte
		var err error
		if cand.project {
			data, err = readProjectFile(root, cand.path) // as itself (checked above)
		} else {
			data, err = os.ReadFile(cand.path)
		}
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading npm config %s: %w (fix its permissions or remove it)", cand.path, err)
		}
		f := parseNpmrc(data, cand.path, env)
		f.project = cand.project
		if f.project {
			f.rel, _ = filepath.Rel(root, cand.path)
			if err := c.checkProject(f, root); err != nil {
				return nil, err
			}
		}
		c.files = append(c.files, f)
	}

	if err := c.checkCredentialTargets(); err != nil {
		return nil, err
	}
	c.Registry = normalizeRegistry(firstNonEmpty(c.get("registry"), DefaultNpmRegistry))
	if _, err := url.Parse(c.Registry); err != nil {
		return nil, fmt.Errorf("npm registry %q is not a URL: %w (fix the registry setting)", c.Registry, err)
	}
	c.Cache = c.get("cache")
	if c.fromProject("cache") {
		c.Cache = "" // see projectCacheNote
	}
	// Scoped registries from every level; the highest level wins per scope.
	for i := len(c.files) - 1; i >= 0; i-- {
		for _, l := range c.files[i].lines {
			if scope, ok := strings.CutSuffix(l.key, ":registry"); ok && strings.HasPrefix(scope, "@") && !l.section {
				c.Scopes[scope] = normalizeRegistry(l.value)
			}
		}
	}
	for _, kv := range env.Environ {
		k, v, _ := strings.Cut(kv, "=")
		if rest, ok := cutPrefixFold(k, "npm_config_"); ok {
			if scope, ok := strings.CutSuffix(rest, ":registry"); ok && strings.HasPrefix(scope, "@") {
				c.Scopes[scope] = normalizeRegistry(v)
			}
		}
	}
	for k, v := range cli {
		if scope, ok := strings.CutSuffix(k, ":registry"); ok && strings.HasPrefix(scope, "@") {
			c.Scopes[scope] = normalizeRegistry(v)
		}
	}
	return c, nil
}

// get returns a setting with npm's precedence: command line, environment, project,
// user, global.
func (c *NpmConfig) get(key string) string {
	if v, ok := c.cli[key]; ok {
		return v
	}
	if v := envConfig(c.env, key); v != "" {
		return v
	}
	for _, f := range c.files {
		for i := len(f.lines) - 1; i >= 0; i-- { // the last assignment in a file wins
			if f.lines[i].key == key && !f.lines[i].section {
				return f.lines[i].value
			}
		}
	}
	return ""
}

// fromProject reports whether the value get(key) returns is the project file's.
func (c *NpmConfig) fromProject(key string) bool {
	if _, ok := c.cli[key]; ok || envConfig(c.env, key) != "" {
		return false
	}
	for _, f := range c.files {
		for i := len(f.lines) - 1; i >= 0; i-- {
			if f.lines[i].key == key && !f.lines[i].section {
				return f.project
			}
		}
	}
	return false
}

// RegistryFor returns the registry that serves package name.
func (c *NpmConfig) RegistryFor(name string) string {
	if scope, _, ok := strings.Cut(name, "/"); ok && strings.HasPrefix(scope, "@") {
		if r, ok := c.Scopes[scope]; ok {
			return r
		}
	}
	return c.Registry
}

// MetadataClient returns a registry client for the default and scoped registries,
// each with the credentials npm would send to it.
func (c *NpmConfig) MetadataClient(defaultRegistry string) *registry.Client {
	cl := &registry.Client{Registry: defaultRegistry, Scopes: map[string]registry.Endpoint{}}
	if a, ok := c.AuthFor(defaultRegistry); ok {
		cl.Token, cl.Basic = a.Token, a.Basic
	}
	for scope, url := range c.Scopes {
		ep := registry.Endpoint{URL: url}
		if a, ok := c.AuthFor(url); ok {
			ep.Token, ep.Basic = a.Token, a.Basic
		}
		cl.Scopes[scope] = ep
	}
	return cl
}

// Auth is how to authenticate to one registry. Never print it.
type Auth struct {
	Token string // Bearer token (_authToken)
	Basic string // base64 user:password (_auth, or username + _password)
}

func (a Auth) String() string {
	switch {
	case a.Token != "":
		return "Auth{Token: <redacted>}"
	case a.Basic != "":
		return "Auth{Basic: <redacted>}"
	}
	return "Auth{}"
}

// GoString keeps %#v from printing secrets.
func (a Auth) GoString() string { return a.String() }

// AuthFor returns the credentials npm would send to registryURL: the "//host/path/:"
// keys, trying the URL's path and then each parent path, like npm-registry-fetch.
// A value still holding an unexpanded ${VAR} is not a credential and is skipped.
func (c *NpmConfig) AuthFor(registryURL string) (Auth, bool) {
	u, err := url.Parse(registryURL)
	if err != nil || u.Host == "" {
		return Auth{}, false
	}
	p := u.Path
	if !strings.HasSuffix(p, "/") {
		p = p[:strings.LastIndex(p, "/")+1]
	}
	for {
		nerf := "//" + u.Host + p
		if tok := c.get(nerf + ":_authToken"); usable(tok) {
			return Auth{Token: tok}, true
		}
		if a := c.get(nerf + ":_auth"); usable(a) {
			return Auth{Basic: a}, true
		}
		user, pass := c.get(nerf+":username"), c.get(nerf+":_password")
		if usable(user) && usable(pass) {
			if raw, err := base64.StdEncoding.DecodeString(pass); err == nil {
				return Auth{Basic: base64.StdEncoding.EncodeToString([]byte(user + ":" + string(raw)))}, true
			}
		}
		if p == "/" || p == "" {
			return Auth{}, false
		}
		p = p[:strings.LastIndex(strings.TrimSuffix(p, "/"), "/")+1]
	}
}

func usable(v string) bool { return v != "" && !strings.Contains(v, "${") }

// Credentials returns what the sandbox needs to see the user's npm settings: the
// user-level file (the sandbox's $HOME is empty) with and without secrets, the
// project's .npmrc without secrets for the steps that run package code, and the
// environment variables that secrets reference. Nil when there is nothing to carry.
func (c *NpmConfig) Credentials() *Credentials {
	cr := &Credentials{}
	var user, userPublic bytes.Buffer
	// User and global settings merge into one user-level file: the lower levels
	// first, so that the user's own lines come last and win.
	for i := len(c.files) - 1; i >= 0; i-- {
		f := c.files[i]
		if f.project {
			// Always replaced, in every step: the networked copy holds only the
			// allowlisted settings, the build copy no credentials.
			networked, build := renderProjectNpmrc(f)
			cr.Files = append(cr.Files, ConfigFile{Project: f.rel, Secret: networked, Public: build})
			continue
		}
		secret, public, refs := renderNpmrc(f, true)
		fmt.Fprintf(&user, "; from %s\n", f.path)
		user.Write(secret)
		fmt.Fprintf(&userPublic, "; from %s\n", f.path)
		userPublic.Write(public)
		cr.addEnv(c.env, refs)
	}
	return cr.finish(&user, &userPublic)
}

// Credentials carries configuration files that hold secrets, for the orchestration to
// mount: Secret content in the steps with Step.Credentials, Public content elsewhere.
// Its String, GoString and JSON forms never contain the secrets.
type Credentials struct {
	Files []ConfigFile
	// Env are KEY=VALUE pairs that secrets reference (${NPM_TOKEN}); set them only in
	// credential steps and make sure the other steps do not inherit them.
	Env []string
}

// ConfigFile is one configuration file in two versions.
type ConfigFile struct {
	// Exactly one of Home (path relative to the sandbox's $HOME) and Project (path
	// relative to Plan.Project.Root, replaced in the overlay for every step that has a
	// version of it — Secret for the steps with credentials, Public for the others —
	// and restored before the sync back) is set.
	Home    string
	Project string
	Secret  []byte
	Public  []byte
}

// clone copies c for another plan (an attempt tried first), its lists too, so
// neither plan's changes reach the other; nil stays nil.
func (c *Credentials) clone() *Credentials {
	if c == nil {
		return nil
	}
	d := *c
	d.Files, d.Env = slices.Clone(c.Files), slices.Clone(c.Env)
	return &d
}

func (c *Credentials) addEnv(env Env, refs []string) {
	for _, name := range refs {
		if v, ok := env.LookupEnv(name); ok {
			kv := name + "=" + v
			dup := false
			for _, have := range c.Env {
				dup = dup || have == kv
			}
			if !dup {
				c.Env = append(c.Env, kv)
			}
		}
	}
}

// String lists what is carried without the secrets.
func (c *Credentials) String() string {
	if c == nil {
		return "no credentials"
	}
	var parts []string
	for _, f := range c.Files {
		name := f.Project
		if f.Home != "" {
			name = "~/" + f.Home
		}
		parts = append(parts, name+" (secrets redacted)")
	}
	for _, kv := range c.Env {
		k, _, _ := strings.Cut(kv, "=")
		parts = append(parts, "$"+k)
	}
	return "credentials: " + strings.Join(parts, ", ")
}

// GoString keeps %#v from printing secrets.
func (c *Credentials) GoString() string { return c.String() }

// MarshalJSON keeps JSON reports from carrying secrets.
func (c *Credentials) MarshalJSON() ([]byte, error) { return json.Marshal(c.String()) }

// renderNpmrc returns the file as written (secret) and without secret lines (public),
// plus the environment variables its secret lines reference. With expand, values are
// written expanded: the file moves into the sandbox's $HOME, where the variables may
// not be set; expanded secrets only ever land in the secret version.
func renderNpmrc(f *npmrcFile, expand bool) (secret, public []byte, refs []string) {
	var s, p bytes.Buffer
	for _, l := range f.lines {
		if l.key != "" && isSecretKey(l.key) {
			refs = append(refs, l.refs...)
			if expand {
				fmt.Fprintf(&s, "%s=%s\n", l.key, l.value)
			} else {
				s.WriteString(l.raw + "\n")
			}
			p.WriteString("; (credential removed by phylum-box)\n")
			continue
		}
		if expand && strings.EqualFold(l.key, "nodedir") {
			// npm 11 warns about this node-gyp setting on every command; the build
			// step hands node-gyp the headers itself (NodeGypNodedirEnv).
			s.WriteString("; (nodedir: set for node-gyp by phylum-box's build step)\n")
			p.WriteString("; (nodedir: set for node-gyp by phylum-box's build step)\n")
			continue
		}
		line := l.raw
		if expand && l.key != "" {
			line = l.key + "=" + l.value
		}
		if l.key != "" {
			// A URL's user:password@ is a credential wherever it appears.
			if bare, ok := stripUserinfo(l.value); ok {
				refs = append(refs, l.refs...)
				s.WriteString(line + "\n")
				p.WriteString("; (user:password@ removed by phylum-box)\n" + l.key + "=" + quoteNpmrc(bare) + "\n")
				continue
			}
			if strings.Contains(l.value, "@") && strings.HasSuffix(l.key, "proxy") {
				refs = append(refs, l.refs...)
				s.WriteString(line + "\n")
				p.WriteString("; (proxy with credentials removed by phylum-box)\n")
				continue
			}
		}
		s.WriteString(line + "\n")
		p.WriteString(line + "\n")
	}
	return s.Bytes(), p.Bytes(), refs
}

func (c *Credentials) finish(user, userPublic *bytes.Buffer) *Credentials {
	if user.Len() > 0 {
		c.Files = append(c.Files, ConfigFile{Home: ".npmrc", Secret: user.Bytes(), Public: userPublic.Bytes()})
	}
	if len(c.Files) == 0 && len(c.Env) == 0 {
		return nil
	}
	return c
}

// envConfig reads npm_config_<key> (npm accepts any case; "-" may be written "_").
func envConfig(env Env, key string) string {
	want := strings.ReplaceAll(key, "-", "_")
	val := ""
	for _, kv := range env.Environ {
		k, v, _ := strings.Cut(kv, "=")
		if rest, ok := cutPrefixFold(k, "npm_config_"); ok && strings.EqualFold(strings.ReplaceAll(rest, "-", "_"), want) && v != "" {
			val = v
		}
	}
	return val
}

// globalNpmrc is <node prefix>/etc/npmrc, npm's default globalconfig.
func globalNpmrc(env Env) string {
	if p := envConfig(env, "prefix"); p != "" {
		return filepath.Join(p, "etc", "npmrc")
	}
	node, err := env.LookPath("node")
	if err != nil {
		return ""
	}
	if real, err := filepath.EvalSymlinks(node); err == nil {
		node = real
	}
	return filepath.Join(filepath.Dir(filepath.Dir(node)), "etc", "npmrc")
}

func normalizeRegistry(r string) string {
	r = strings.TrimSpace(r)
	if r != "" && !strings.HasSuffix(r, "/") {
		r += "/"
	}
	return r
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

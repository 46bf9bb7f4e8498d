package managers

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/phylum-box/phylum-box/precheck/registry"
)

// Yarn berry's configuration as phylum-box reads it: the user's ~/.yarnrc.yml
// (trusted, ${VAR} expanded), the project's root .yarnrc.yml (checked by
// yarnrc.go first) and YARN_* variables; the global folder, the registries and
// their tokens for the metadata client, and the credential files.

// berryConfig is what phylum-box reads from .yarnrc.yml files (the user's and the
// project's, the project's winning) and YARN_* variables.
type berryConfig struct {
	registry    string
	scopes      map[string]string
	globalCache bool
	globalDir   string
	cacheDir    string // only when !globalCache; may be inside the project
	home        *berryRC
	project     *berryRC
	environ     Env
}

type berryRC struct {
	raw  []byte
	node yaml.Node
}

func readBerryRC(path string) (*berryRC, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if isNotExist(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	rc := &berryRC{raw: b}
	if err := yaml.Unmarshal(b, &rc.node); err != nil {
		return nil, fmt.Errorf("%s: %w (fix the YAML, then retry)", path, err)
	}
	return rc, nil
}

// get returns a top-level scalar or a nested one ("npmScopes", "corp", "npmRegistryServer").
func (rc *berryRC) get(keys ...string) string {
	if rc == nil || len(rc.node.Content) == 0 {
		return ""
	}
	n := rc.node.Content[0]
	for _, k := range keys {
		if n.Kind != yaml.MappingNode {
			return ""
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
			}
		}
		if next == nil {
			return ""
		}
		n = next
	}
	if n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

func (rc *berryRC) scopeNames() []string {
	if rc == nil || len(rc.node.Content) == 0 {
		return nil
	}
	root := rc.node.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "npmScopes" && root.Content[i+1].Kind == yaml.MappingNode {
			var out []string
			m := root.Content[i+1]
			for j := 0; j+1 < len(m.Content); j += 2 {
				out = append(out, m.Content[j].Value)
			}
			return out
		}
	}
	return nil
}

var berrySecretKeys = map[string]bool{"npmAuthToken": true, "npmAuthIdent": true, "npmPassword": true}

// public returns the file with every secret value removed (at any depth: npmScopes
// and npmRegistries carry their own), and the ${VARS} the secrets referenced.
func (rc *berryRC) public() ([]byte, []string) {
	var refs []string
	var strip func(n *yaml.Node)
	strip = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			kept := n.Content[:0:0]
			for i := 0; i+1 < len(n.Content); i += 2 {
				if berrySecretKeys[n.Content[i].Value] {
					for _, m := range envRef.FindAllStringSubmatch(n.Content[i+1].Value, -1) {
						refs = append(refs, m[2])
					}
					continue
				}
				strip(n.Content[i+1])
				kept = append(kept, n.Content[i], n.Content[i+1])
			}
			n.Content = kept
			return
		}
		for _, c := range n.Content {
			strip(c)
		}
	}
	var copyNode yaml.Node
	if err := yaml.Unmarshal(rc.raw, &copyNode); err != nil {
		return nil, nil
	}
	strip(&copyNode)
	out, err := yaml.Marshal(&copyNode)
	if err != nil {
		return nil, refs
	}
	return out, refs
}

// loadBerryConfig reads the user's ~/.yarnrc.yml, the project's root .yarnrc.yml
// (checked by checkBerryProjectRC: no ${VAR}, paths inside the project) and YARN_*
// variables. ${VAR} is expanded in the user's file only. The global folder is
// always the user's: a project's globalFolder is never created, mounted or chowned.
func loadBerryConfig(env Env, root string, prc *yarnProjectRC) (*berryConfig, error) {
	home, err := readBerryRC(filepath.Join(env.Home, ".yarnrc.yml"))
	if err != nil {
		return nil, err
	}
	project, err := readBerryRC(filepath.Join(root, ".yarnrc.yml"))
	if err != nil {
		return nil, err
	}
	c := &berryConfig{home: home, project: project, scopes: map[string]string{}, environ: env}
	expand := func(s string) string { v, _ := expandNpmrcEnv(s, env); return v }
	// get: the environment, then the project's value as written, then the user's expanded.
	get := func(envName string, keys ...string) string {
		if v := env.Getenv(envName); v != "" && envName != "" {
			return v
		}
		if v := project.get(keys...); v != "" {
			return v
		}
		return expand(home.get(keys...))
	}
	c.registry = normalizeRegistry(firstNonEmpty(get("YARN_NPM_REGISTRY_SERVER", "npmRegistryServer"), "https://registry.yarnpkg.com"))
	for _, f := range []struct {
		rc     *berryRC
		expand func(string) string
	}{{home, expand}, {project, func(s string) string { return s }}} {
		for _, s := range f.rc.scopeNames() {
			if r := f.rc.get("npmScopes", s, "npmRegistryServer"); r != "" {
				c.scopes["@"+strings.TrimPrefix(s, "@")] = normalizeRegistry(f.expand(r))
			}
		}
	}
	c.globalCache = get("YARN_ENABLE_GLOBAL_CACHE", "enableGlobalCache") != "false"
	c.globalDir = firstNonEmpty(env.Getenv("YARN_GLOBAL_FOLDER"), expand(home.get("globalFolder")), filepath.Join(env.Home, ".yarn", "berry"))
	if !c.globalCache {
		c.cacheDir = env.Getenv("YARN_CACHE_FOLDER")
		if c.cacheDir == "" && prc != nil {
			c.cacheDir = prc.inside["cacheFolder"] // resolved, inside the project
		}
		if c.cacheDir == "" {
			c.cacheDir = expand(home.get("cacheFolder"))
		}
		if c.cacheDir == "" {
			c.cacheDir = filepath.Join(root, ".yarn", "cache")
		} else if !filepath.IsAbs(c.cacheDir) {
			c.cacheDir = filepath.Join(root, c.cacheDir)
		}
	}
	return c, nil
}

// checkCredentialTargets refuses a project .yarnrc.yml that would send the user's
// registry credentials somewhere the user did not choose. Yarn berry sends a
// top-level npmAuthToken/npmAuthIdent to every registry that has no npmRegistries
// entry of its own, and a scope's token to the scope's registry: a project naming
// another registry, proxy or certificate authority would receive or intercept them.
func (c *berryConfig) checkCredentialTargets(prc *yarnProjectRC) error {
	if prc == nil {
		return nil
	}
	project, err := readBerryRC(prc.path)
	if err != nil || project == nil || len(project.node.Content) == 0 {
		return err
	}
	env := c.environ
	topToken := env.Getenv("YARN_NPM_AUTH_TOKEN") != "" || env.Getenv("YARN_NPM_AUTH_IDENT") != "" ||
		c.home.get("npmAuthToken") != "" || c.home.get("npmAuthIdent") != ""
	anyToken := topToken
	for _, s := range c.home.scopeNames() {
		anyToken = anyToken || c.home.get("npmScopes", s, "npmAuthToken") != "" || c.home.get("npmScopes", s, "npmAuthIdent") != ""
	}
	anyToken = anyToken || c.home != nil && bytes.Contains(c.home.raw, []byte("npmRegistries"))
	if !anyToken {
		return nil
	}
	userRegistry := normalizeRegistry(firstNonEmpty(env.Getenv("YARN_NPM_REGISTRY_SERVER"), c.home.get("npmRegistryServer"), "https://registry.yarnpkg.com"))
	advice := "set it in your own ~/.yarnrc.yml instead, and bind each token to its registry there (npmRegistries: {\"//host/\": {npmAuthToken: …}})"
	refuse := func(line int, setting, why string) error {
		return yarnConfigRefusal(prc.path, line, setting, why, advice)
	}
	doc := project.node.Content[0]
	for i := 0; i+1 < len(doc.Content); i += 2 {
		k, v := doc.Content[i], doc.Content[i+1]
		switch k.Value {
		case "npmRegistryServer":
			if topToken && normalizeRegistry(v.Value) != userRegistry {
				return refuse(v.Line, "npmRegistryServer "+v.Value, "would receive the registry token of your ~/.yarnrc.yml or YARN_NPM_AUTH_TOKEN")
			}
		case "npmScopes":
			for j := 0; j+1 < len(v.Content); j += 2 {
				scope := v.Content[j].Value
				srv := ""
				line := v.Content[j].Line
				for x := 0; x+1 < len(v.Content[j+1].Content); x += 2 {
					if v.Content[j+1].Content[x].Value == "npmRegistryServer" {
						srv, line = v.Content[j+1].Content[x+1].Value, v.Content[j+1].Content[x+1].Line
					}
				}
				if srv == "" {
					continue
				}
				scopeToken := c.home.get("npmScopes", scope, "npmAuthToken") != "" || c.home.get("npmScopes", scope, "npmAuthIdent") != ""
				userSrv := normalizeRegistry(firstNonEmpty(c.home.get("npmScopes", scope, "npmRegistryServer"), userRegistry))
				if (topToken || scopeToken) && normalizeRegistry(srv) != userSrv {
					return refuse(line, "npmScopes."+scope+".npmRegistryServer "+srv, "would receive a registry token of your ~/.yarnrc.yml")
				}
			}
		case "httpProxy", "httpsProxy", "httpsCaFilePath", "networkSettings":
			return refuse(k.Line, k.Value, "would route or intercept the connections that carry your registry credentials")
		case "enableStrictSsl":
			if v.Value == "false" {
				return refuse(k.Line, "enableStrictSsl false", "would let anyone on the way read your registry credentials")
			}
		}
	}
	return nil
}

// env points yarn at the global folder in every step (the sandbox's $HOME is empty)
// and keeps telemetry from writing into it.
func (c *berryConfig) env() []string {
	return []string{"YARN_GLOBAL_FOLDER=" + c.globalDir, "YARN_ENABLE_TELEMETRY=0", "YARN_ENABLE_GLOBAL_CACHE=" + fmt.Sprint(c.globalCache)}
}

// caches: the global folder (with the global cache) is written by yarn in Resolve
// and Download, and read-only later: PnP loads packages from the zip archives in it,
// at build time and when the project runs. A project-local cache is part of the
// project (an output) and needs no mount.
func (c *berryConfig) caches() []Cache {
	return []Cache{{
		Path:     c.globalDir,
		Env:      []string{"YARN_GLOBAL_FOLDER=" + c.globalDir},
		Mount:    []Phase{PhaseResolve, PhaseDownload, PhaseBuild, PhaseRun},
		Writable: []Phase{PhaseResolve, PhaseDownload},
	}}
}

func (c *berryConfig) credentials() *Credentials {
	// The project's files are carried by yarnProjectConfig (a networked and a
	// build copy); the user's file moves into the sandbox's $HOME.
	if c.home == nil {
		return nil
	}
	public, refs := c.home.public()
	cr := &Credentials{Files: []ConfigFile{{Home: ".yarnrc.yml", Secret: c.home.raw, Public: public}}}
	cr.addEnv(c.environ, refs)
	return cr
}

// metadataClient: the registries of .yarnrc.yml with their tokens — npmAuthToken or
// npmAuthIdent at the top level (the default registry), under npmScopes.<scope>, or
// under npmRegistries."//host/path" — project file first, then the user's.
func (c *berryConfig) metadataClient() *registry.Client {
	expand := func(s string) string { v, _ := expandNpmrcEnv(s, c.environ); return v }
	// found turns a token or an ident (user:password, or already base64) into what
	// the client sends.
	found := func(t, b string) (string, string) {
		if b != "" && strings.Contains(b, ":") {
			b = base64.StdEncoding.EncodeToString([]byte(expand(b)))
		} else {
			b = expand(b)
		}
		return expand(t), b
	}
	// auth follows berry's order: the scope's own token, then the registry's
	// npmRegistries entry, then (for the default registry) the top-level token;
	// within each, the project's file before the user's.
	auth := func(scope, url string) (token, basic string) {
		rcs := []*berryRC{c.project, c.home}
		if scope != "" {
			s := strings.TrimPrefix(scope, "@")
			for _, rc := range rcs {
				if t, b := rc.get("npmScopes", s, "npmAuthToken"), rc.get("npmScopes", s, "npmAuthIdent"); t != "" || b != "" {
					return found(t, b)
				}
			}
		}
		nerf := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(url, "https:"), "http:"), "/")
		for _, rc := range rcs {
			for _, key := range []string{nerf, nerf + "/", url, strings.TrimSuffix(url, "/")} {
				if t, b := rc.get("npmRegistries", key, "npmAuthToken"), rc.get("npmRegistries", key, "npmAuthIdent"); t != "" || b != "" {
					return found(t, b)
				}
			}
		}
		if scope == "" {
			for _, rc := range rcs {
				if t, b := rc.get("npmAuthToken"), rc.get("npmAuthIdent"); t != "" || b != "" {
					return found(t, b)
				}
			}
		}
		return "", ""
	}
	cl := &registry.Client{Registry: c.registry, Scopes: map[string]registry.Endpoint{}}
	cl.Token, cl.Basic = auth("", c.registry)
	for scope, url := range c.scopes {
		ep := registry.Endpoint{URL: url}
		ep.Token, ep.Basic = auth(scope, url)
		cl.Scopes[scope] = ep
	}
	return cl
}

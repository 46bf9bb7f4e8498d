package managers

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
)

// Where yarn 1 keeps its cache and which registry and credentials it uses, from the
// user's settings (never the project's cache-folder).

// yarnClassicCache is yarn 1's cache: YARN_CACHE_FOLDER, cache-folder in the user's
// ~/.yarnrc, /usr/local/share/.cache/yarn for root, else $XDG_CACHE_HOME/yarn or
// ~/.cache/yarn. Written by yarn in Resolve and Download; read-only in Build, which
// relinks from it. A project's cache-folder is never used: the cache is a host
// directory phylum-box mounts (and, as root, chowns).
func yarnClassicCache(env Env) Cache {
	dir := env.Getenv("YARN_CACHE_FOLDER")
	if dir == "" {
		dir = yarnrcValue(filepath.Join(env.Home, ".yarnrc"), "cache-folder")
	}
	if dir == "" && os.Geteuid() == 0 {
		dir = "/usr/local/share/.cache/yarn" // yarn 1's choice for root
	}
	if dir == "" {
		base := env.Getenv("XDG_CACHE_HOME")
		if base == "" {
			base = filepath.Join(env.Home, ".cache")
		}
		dir = filepath.Join(base, "yarn")
	}
	return Cache{
		Path:     dir,
		Env:      []string{"YARN_CACHE_FOLDER=" + dir},
		Mount:    []Phase{PhaseResolve, PhaseDownload, PhaseBuild},
		Writable: []Phase{PhaseResolve, PhaseDownload},
		// yarn 1's offline build copies every file: dependency into the cache
		// again (a fresh uuid-named dir each install): EROFS on the read-only one.
		Throwaway: []Phase{PhaseBuild},
	}
}

// yarnrcValue reads `key value` / `key "value"` from a yarn 1 .yarnrc.
func yarnrcValue(path, key string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	val := ""
	for _, line := range yarnrcLines(b) {
		if line == "" || line[0] == ' ' || line[0] == '\t' {
			continue // a nested block's line
		}
		if k, v := splitYarnrcLine(line); k == key && v != "" {
			val = v
		}
	}
	return val
}

func jsonUnquote(s string) (string, error) {
	var out string
	err := json.Unmarshal([]byte(s), &out)
	return out, err
}

// yarnClassicRegistry: .yarnrc's registry wins over .npmrc's; yarn 1's default is
// registry.yarnpkg.com, which serves npm's registry.
func yarnClassicRegistry(env Env, root string, cfg *NpmConfig) string {
	for _, p := range []string{filepath.Join(root, ".yarnrc"), filepath.Join(env.Home, ".yarnrc")} {
		if r := yarnrcValue(p, "registry"); r != "" {
			return normalizeRegistry(r)
		}
	}
	if cfg.Registry == DefaultNpmRegistry && cfg.get("registry") == "" {
		return "https://registry.yarnpkg.com/"
	}
	return cfg.Registry
}

// yarnClassicCredentials carries the npm config (yarn 1 reads .npmrc) and the user's
// ~/.yarnrc, minus lines that look like secrets in the public copy.
func yarnClassicCredentials(env Env, cfg *NpmConfig) *Credentials {
	cr := cfg.Credentials()
	b, err := os.ReadFile(filepath.Join(env.Home, ".yarnrc"))
	if err != nil {
		return cr
	}
	if cr == nil {
		cr = &Credentials{}
	}
	var public bytes.Buffer
	for _, line := range strings.Split(string(b), "\n") {
		l := strings.ToLower(line)
		if strings.Contains(l, "_auth") || strings.Contains(l, "token") || strings.Contains(l, "password") {
			public.WriteString("# (credential removed by phylum-box)\n")
			continue
		}
		public.WriteString(line + "\n")
	}
	cr.Files = append(cr.Files, ConfigFile{Home: ".yarnrc", Secret: b, Public: public.Bytes()})
	return cr
}

package managers

import (
	"bytes"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/phylum-box/phylum-box/internal/lazyre"
	"github.com/phylum-box/phylum-box/internal/redact"
)

// Poetry's configured sources: the user's config and environment, the pyproject's
// [[tool.poetry.source]], and how index URLs compare (split out of poetryfetch.go, code
// moved unchanged).

// poetrySource is one index a poetry.lock entry may come from, as configured.
type poetrySource struct {
	URL      string `json:"url"` // the simple index, ending in "/", without userinfo
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	HasAuth  bool   `json:"auth"`
	// where says where URL was configured, for messages.
	where string
}

// poetrySourceKey is how Poetry matches a source name with its settings
// (POETRY_HTTP_BASIC_<KEY>_USERNAME, repositories.<name>): case-insensitive.
func poetrySourceKey(name string) string {
	return strings.ToUpper(nonAlnum().ReplaceAllString(name, "_"))
}

var (
	nonAlnum = lazyre.New(`[^A-Za-z0-9]`)
	hexHash  = lazyre.New(`^[0-9a-f]{64,128}$`)
)

// poetryUserConfig is what phylum-box reads of the user's Poetry config.toml and
// auth.toml: the repositories' URLs and the http-basic credentials.
type poetryUserConfig struct {
	Repositories map[string]struct {
		URL string `toml:"url"`
	} `toml:"repositories"`
	HTTPBasic map[string]struct {
		Username string `toml:"username"`
		Password string `toml:"password"`
	} `toml:"http-basic"`
}

// poetryPyproject is what the plan reads of pyproject.toml (as data).
type poetryPyproject struct {
	Tool struct {
		Poetry struct {
			Source []struct {
				Name string `toml:"name"`
				URL  string `toml:"url"`
			} `toml:"source"`
			Dependencies    map[string]any `toml:"dependencies"`
			DevDependencies map[string]any `toml:"dev-dependencies"`
			Group           map[string]struct {
				Optional     bool           `toml:"optional"`
				Dependencies map[string]any `toml:"dependencies"`
			} `toml:"group"`
			Packages    any   `toml:"packages"`
			PackageMode *bool `toml:"package-mode"`
		} `toml:"poetry"`
	} `toml:"tool"`
}

// poetrySources are the configured sources by key: the user's Poetry config and
// environment pin a source's URL; a source only the pyproject names has the URL the
// pyproject gives (Poetry sends a name's credentials there too). A pyproject that
// gives another URL to a source the user pinned and holds credentials for is
// refused: Poetry itself would send those credentials to the project's URL.
func poetrySources(pyproject []byte, env Env) (map[string]*poetrySource, error) {
	var user poetryUserConfig
	dir := poetryConfigDir(env)
	for _, name := range []string{"config.toml", "auth.toml"} {
		if data, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
			_, _ = toml.Decode(string(data), &user)
		}
	}
	out := map[string]*poetrySource{}
	get := func(name string) *poetrySource {
		k := poetrySourceKey(name)
		if out[k] == nil {
			out[k] = &poetrySource{}
		}
		return out[k]
	}
	for name, r := range user.Repositories {
		if r.URL != "" {
			s := get(name)
			s.URL, s.where = r.URL, filepath.Join(dir, "config.toml")
		}
	}
	for _, kv := range env.Environ {
		k, v, _ := strings.Cut(kv, "=")
		if name, ok := strings.CutPrefix(k, "POETRY_REPOSITORIES_"); ok && strings.HasSuffix(name, "_URL") && v != "" {
			s := get(strings.TrimSuffix(name, "_URL"))
			s.URL, s.where = v, "$"+k
		}
	}
	var doc poetryPyproject
	if _, err := toml.Decode(string(pyproject), &doc); err != nil {
		return nil, &Refusal{Manager: "poetry", Reason: "pyproject.toml does not parse: " + err.Error(), Advice: "fix it (poetry check)"}
	}
	for name, c := range user.HTTPBasic {
		s := get(name)
		s.Username, s.Password, s.HasAuth = c.Username, c.Password, true
	}
	for _, kv := range env.Environ {
		k, v, _ := strings.Cut(kv, "=")
		if name, ok := strings.CutPrefix(k, "POETRY_HTTP_BASIC_"); ok {
			switch {
			case strings.HasSuffix(name, "_USERNAME"):
				s := get(strings.TrimSuffix(name, "_USERNAME"))
				s.Username, s.HasAuth = v, true
			case strings.HasSuffix(name, "_PASSWORD"):
				s := get(strings.TrimSuffix(name, "_PASSWORD"))
				s.Password, s.HasAuth = v, true
			}
		}
	}
	for i, src := range doc.Tool.Poetry.Source {
		if src.Name == "" || src.URL == "" {
			continue
		}
		s := get(src.Name)
		if s.URL == "" {
			s.URL, s.where = src.URL, "pyproject.toml"
			continue
		}
		if s.HasAuth && !sameIndexURL(s.URL, src.URL) {
			return nil, &Refusal{Manager: "poetry",
				Reason: fmt.Sprintf("pyproject.toml:%d: source %q is %s, but your Poetry config pins it to %s and holds its credentials; Poetry would send them to the project's URL",
					tomlTableLine(pyproject, "[[tool.poetry.source]]", i), src.Name, redact.URL(src.URL), redact.URL(s.URL)),
				Advice: "check the project's source; if it is right, change repositories." + src.Name + ".url in your Poetry config"}
		}
	}
	for k, s := range out {
		if s.URL == "" {
			delete(out, k) // credentials for a source this project does not use
			continue
		}
		u, err := url.Parse(s.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, &Refusal{Manager: "poetry", Reason: fmt.Sprintf("source %s (%s) is not an http(s) URL", k, s.where), Advice: "give it the URL of a simple index"}
		}
		if u.User != nil {
			// Credentials in the URL go with that URL only.
			if !s.HasAuth {
				s.Username = u.User.Username()
				s.Password, _ = u.User.Password()
				s.HasAuth = true
			}
			u.User = nil
		}
		u.Fragment, u.RawQuery = "", ""
		s.URL = strings.TrimSuffix(u.String(), "/") + "/"
	}
	return out, nil
}

// sameIndexURL compares two index URLs as servers do: scheme and host without case,
// the default port implied, userinfo, query and fragment ignored, the path without
// its trailing slashes.
func sameIndexURL(a, b string) bool {
	ca, oka := canonIndexURL(a)
	cb, okb := canonIndexURL(b)
	return oka && okb && ca == cb
}

func canonIndexURL(raw string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	host, port := strings.ToLower(strings.TrimSuffix(u.Hostname(), ".")), u.Port()
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	if port != "" {
		host = net.JoinHostPort(host, port)
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return scheme + "://" + host + strings.TrimRight(u.EscapedPath(), "/"), true
}

// tomlTableLine is the line of the n-th (0-based) header line of an array of
// tables ("[[package]]"), or 0.
func tomlTableLine(data []byte, header string, n int) int {
	for i, l := range bytes.Split(data, []byte("\n")) {
		if string(bytes.TrimSpace(l)) == header {
			if n == 0 {
				return i + 1
			}
			n--
		}
	}
	return 0
}

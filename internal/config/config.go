package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"go.yaml.in/yaml/v3"
)

// DefaultDBSource is the public OSV export: <base>/<Ecosystem>/all.zip.
const DefaultDBSource = "https://osv-vulnerabilities.storage.googleapis.com"

// Config is the merged user configuration. Its YAML form is the config file.
type Config struct {
	Database Database  `yaml:"database"`
	Policy   string    `yaml:"policy"` // default policy file; empty means the built-in policy
	Limits   Limits    `yaml:"limits"`
	Color    ColorMode `yaml:"color"`
	CacheDir string    `yaml:"cache_dir"`
	// KeepEnv names environment variables passed to every step of a wrapped install
	// (as --keep-env does), besides the built-in non-secret list; a name that looks
	// like a credential is left out with a warning.
	KeepEnv []string `yaml:"keep_env"`

	// File is the config file that was read, or "" when none exists.
	File string `yaml:"-"`

	origins map[string]string
}

// Database says where the local OSV database lives and where `db update` fetches it.
type Database struct {
	Path   string `yaml:"path"`
	Source string `yaml:"source"` // OSV base URL, or a local directory holding <Ecosystem>/all.zip
}

// Limits are the sandbox's resource limits. Zero means no limit.
type Limits struct {
	Memory  ByteSize      `yaml:"memory"`
	Pids    int64         `yaml:"pids"`
	CPUs    float64       `yaml:"cpus"`
	Timeout time.Duration `yaml:"timeout"`
	// Disk bounds what one sandbox session may write to the host's disk: the
	// project's scratch (overlay upper or staging copy) and the caches mounted
	// writable.
	Disk ByteSize `yaml:"disk"`
}

// DefaultDisk is the default disk limit. A large node_modules is about 1 GiB and a
// Rust target/ of a big workspace several; 8 GiB leaves room for both while still
// stopping a build from filling the host's disk. Raise it for bigger builds.
const DefaultDisk = 8 << 30

// Getenv is how Load reads the environment: os.Getenv in production, a map in
// tests. (managers.Env is another thing: the environment a plan is made in.)
type Getenv func(string) string

// Defaults returns the built-in configuration. Paths follow the XDG base directory
// spec, read through env.
func Defaults(env Getenv) *Config {
	c := &Config{
		Database: Database{
			Path:   filepath.Join(xdgDir(env, "XDG_DATA_HOME", ".local/share"), "phylum-box", "osv.db"),
			Source: DefaultDBSource,
		},
		Limits: Limits{
			Memory:  4 << 30,
			Pids:    1024,
			CPUs:    2,
			Timeout: 30 * time.Minute,
			Disk:    DefaultDisk,
		},
		Color:    ColorAuto,
		CacheDir: filepath.Join(xdgDir(env, "XDG_CACHE_HOME", ".cache"), "phylum-box"),
		origins:  map[string]string{},
	}
	for _, s := range settings {
		c.origins[s.key] = "default"
	}
	return c
}

// DefaultPath is the config file used when no --config is given:
// $XDG_CONFIG_HOME/phylum-box/config.yaml, falling back to ~/.config.
func DefaultPath(env Getenv) string {
	return filepath.Join(xdgDir(env, "XDG_CONFIG_HOME", ".config"), "phylum-box", "config.yaml")
}

// Load merges the built-in defaults, the config file and the PHYLUM_BOX_* variables.
// path is an explicit --config (it must exist); "" means DefaultPath, which may be
// absent. Flags are applied afterwards by binding them with the Add*Flags helpers.
func Load(path string, env Getenv) (*Config, error) {
	if env == nil {
		env = os.Getenv
	}
	c := Defaults(env)
	explicit := path != ""
	if !explicit {
		path = DefaultPath(env)
	}
	data, err := readTrusted(path)
	switch {
	case err == nil:
		if err := c.decodeFile(path, data); err != nil {
			return nil, err
		}
		c.File = path
	case errors.Is(err, os.ErrNotExist) && !explicit:
		// No file is the normal first-run state.
	case errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("config file %s does not exist (create it, or drop --config to use %s)", path, DefaultPath(env))
	default:
		return nil, fmt.Errorf("reading config: %w", err)
	}
	for _, s := range settings {
		v := env(s.env)
		if v == "" {
			continue
		}
		if err := s.bind(c).Set(v); err != nil {
			return nil, fmt.Errorf("environment variable %s=%q: %w", s.env, v, err)
		}
		c.origins[s.key] = "environment " + s.env
	}
	c.expandPaths(env)
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// readTrusted reads the config file only if no one but its reader (or root) can
// have written it: the file names the policy, so a file another user can change
// is a way to turn the checks off.
func readTrusted(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat() // the opened file itself, not whatever the path names later
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if err := checkOwner(path, fi); err != nil {
		return nil, err
	}
	if di, err := os.Stat(filepath.Dir(path)); err == nil {
		if err := checkOwner(filepath.Dir(path), di); err != nil {
			return nil, err
		}
	}
	return io.ReadAll(f)
}

func checkOwner(path string, fi os.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	me := uint32(os.Geteuid())
	if st.Uid != me && st.Uid != 0 {
		return fmt.Errorf("%s belongs to uid %d, not to you (uid %d) or root; refusing to read settings another user controls (chown it, or use --config)", path, st.Uid, me)
	}
	perm := fi.Mode().Perm()
	if perm&0o020 != 0 && st.Gid == uint32(os.Getegid()) && privateGroup(st.Gid) {
		perm &^= 0o020 // umask 002 with a user-private group (Fedora's default) is safe
	}
	// A sticky world-writable directory (like /tmp) still protects its entries.
	if perm&0o022 != 0 && !(fi.IsDir() && fi.Mode()&os.ModeSticky != 0) {
		return fmt.Errorf("%s is writable by group or others (mode %#o); refusing to read settings others can change (chmod go-w %s)", path, fi.Mode().Perm(), path)
	}
	return nil
}

// privateGroup reports whether gid is a user-private group: named like the
// current user, as useradd makes them.
func privateGroup(gid uint32) bool {
	u, err := user.Current()
	if err != nil {
		return false
	}
	g, err := user.LookupGroupId(fmt.Sprint(gid))
	return err == nil && g.Name == u.Username
}

// decodeFile reads the YAML file over the defaults: keys that are present replace the
// default, keys that are absent keep it, unknown keys are an error with a line number.
func (c *Config) decodeFile(path string, data []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // empty file
		}
		return fmt.Errorf("config %s: %s", path, describeYAMLError(err))
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	recordLines(&doc, "", func(key string, line int) {
		if _, ok := c.origins[key]; ok {
			c.origins[key] = fmt.Sprintf("%s:%d", path, line)
		}
	})
	return nil
}

// envNameRE is a portable environment variable name.
var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

var unknownField = regexp.MustCompile(`field (\S+) not found in type \S+`)

// describeYAMLError flattens yaml's multi-line TypeError into one line and says
// "unknown key" with the valid keys, instead of naming Go types.
func describeYAMLError(err error) string {
	var te *yaml.TypeError
	msgs := []string{err.Error()}
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	unknown := false
	for i, m := range msgs {
		if unknownField.MatchString(m) {
			unknown = true
			msgs[i] = unknownField.ReplaceAllString(m, "unknown key \"$1\"")
		}
		if strings.HasSuffix(m, "into time.Duration") {
			msgs[i] += " (use a number with a unit, e.g. 30m or 90s)"
		}
	}
	s := strings.Join(msgs, "; ")
	if unknown {
		s += " (valid keys: " + strings.Join(append(Keys(), "keep_env"), ", ") + ")"
	}
	return s
}

// recordLines calls fn with the dotted key path and line of every mapping value.
func recordLines(n *yaml.Node, prefix string, fn func(key string, line int)) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			recordLines(c, prefix, fn)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			if prefix != "" {
				key = prefix + "." + key
			}
			fn(key, n.Content[i].Line)
			recordLines(n.Content[i+1], key, fn)
		}
	}
}

// Origin says where the value of key (a dotted YAML key such as "limits.memory")
// came from: "default", "FILE:LINE", "environment PHYLUM_BOX_…" or "flag --…".
func (c *Config) Origin(key string) string { return c.origins[key] }

// Keys lists every dotted key the config file accepts.
func Keys() []string {
	out := make([]string, len(settings))
	for i, s := range settings {
		out[i] = s.key
	}
	return out
}

func (c *Config) validate() error {
	bad := func(key, msg string) error {
		return fmt.Errorf("config value %s (from %s) %s", key, c.Origin(key), msg)
	}
	switch {
	case c.Limits.Memory < 0:
		return bad("limits.memory", "must not be negative (0 means no limit)")
	case c.Limits.Pids < 0:
		return bad("limits.pids", "must not be negative (0 means no limit)")
	case c.Limits.CPUs < 0:
		return bad("limits.cpus", "must not be negative (0 means no limit)")
	case c.Limits.Timeout < 0:
		return bad("limits.timeout", "must not be negative (0 means no limit)")
	case c.Limits.Disk < 0:
		return bad("limits.disk", "must not be negative (0 means no limit)")
	case c.Database.Path == "":
		return bad("database.path", "must not be empty")
	case c.Database.Source == "":
		return bad("database.source", "must not be empty (an OSV base URL or a directory)")
	case c.CacheDir == "":
		return bad("cache_dir", "must not be empty")
	}
	for _, k := range c.KeepEnv {
		if !envNameRE.MatchString(k) {
			return fmt.Errorf("config %s: keep_env entry %q is not an environment variable name", c.File, k)
		}
	}
	return c.Color.check()
}

// expandPaths turns a leading "~/" into the home directory, so the file can say
// "~/osv.db" portably. Relative paths are left as written (relative to the working
// directory), as a shell would.
func (c *Config) expandPaths(env Getenv) {
	home := homeDir(env)
	for _, p := range []*string{&c.Database.Path, &c.Policy, &c.CacheDir, &c.Database.Source} {
		if home != "" && (*p == "~" || strings.HasPrefix(*p, "~/")) {
			*p = filepath.Join(home, strings.TrimPrefix(*p, "~"))
		}
	}
}

// xdgDir returns $name when it is an absolute path (the spec says relative values
// must be ignored), else ~/fallback.
func xdgDir(env Getenv, name, fallback string) string {
	if d := env(name); filepath.IsAbs(d) {
		return d
	}
	return filepath.Join(homeDir(env), fallback)
}

func homeDir(env Getenv) string {
	if h := env("HOME"); h != "" {
		return h
	}
	if u, err := user.Current(); err == nil {
		return u.HomeDir
	}
	return "/"
}

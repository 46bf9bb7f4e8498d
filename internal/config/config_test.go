package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func mapEnv(m map[string]string) Getenv { return func(k string) string { return m[k] } }

// writeConfig puts body at $XDG_CONFIG_HOME/phylum-box/config.yaml under a temp dir
// and returns that XDG_CONFIG_HOME.
func writeConfig(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	if body != "" {
		p := filepath.Join(dir, "phylum-box", "config.yaml")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// allFlags binds every flag group, the way a command that uses all of them would.
func allFlags(c *Config) *pflag.FlagSet {
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	c.AddDatabaseFlags(fs)
	c.AddPolicyFlag(fs)
	c.AddLimitFlags(fs)
	c.AddColorFlag(fs)
	c.AddCacheDirFlag(fs)
	return fs
}

// get reads a setting back through its own flag value, so the test covers every key.
func get(c *Config, key string) string {
	for _, s := range settings {
		if s.key == key {
			return s.bind(c).String()
		}
	}
	panic("no setting " + key)
}

// TestPrecedence checks defaults < file < environment < flag for every setting.
func TestPrecedence(t *testing.T) {
	cases := []struct {
		key     string
		file    string // YAML for this key
		env     string
		flag    string
		def     string
		fileVal string
	}{
		{"database.path", "database:\n  path: /f/osv.db\n", "/e/osv.db", "/x/osv.db", "/home/u/.local/share/phylum-box/osv.db", "/f/osv.db"},
		{"database.source", "database:\n  source: https://mirror.example/osv\n", "/srv/osv", "file:///x", DefaultDBSource, "https://mirror.example/osv"},
		{"policy", "policy: /f/policy.yaml\n", "/e/policy.yaml", "/x/policy.yaml", "", "/f/policy.yaml"},
		{"limits.memory", "limits:\n  memory: 2GiB\n", "1GiB", "512MiB", "4GiB", "2GiB"},
		{"limits.pids", "limits:\n  pids: 200\n", "300", "400", "1024", "200"},
		{"limits.cpus", "limits:\n  cpus: 1.5\n", "3", "0.5", "2", "1.5"},
		{"limits.timeout", "limits:\n  timeout: 10m\n", "20m0s", "1h0m0s", "30m0s", "10m0s"},
		{"limits.disk", "limits:\n  disk: 20GiB\n", "64MiB", "1GiB", "8GiB", "20GiB"},
		{"color", "color: never\n", "always", "auto", "auto", "never"},
		{"cache_dir", "cache_dir: /f/cache\n", "/e/cache", "/x/cache", "/home/u/.cache/phylum-box", "/f/cache"},
	}
	for _, tc := range cases {
		envName := EnvVars()[tc.key]
		flagName := FlagName(tc.key)
		for _, l := range []struct {
			name         string
			file, env, f bool
			want, origin string
		}{
			{"default", false, false, false, tc.def, "default"},
			{"file", true, false, false, tc.fileVal, "config.yaml:"},
			{"env over file", true, true, false, tc.env, "environment " + envName},
			{"flag over env", true, true, true, tc.flag, "flag --" + flagName},
			{"flag over file", true, false, true, tc.flag, "flag --" + flagName},
		} {
			t.Run(tc.key+"/"+l.name, func(t *testing.T) {
				body := ""
				if l.file {
					body = tc.file
				}
				env := map[string]string{"HOME": "/home/u", "XDG_CONFIG_HOME": writeConfig(t, body)}
				if l.env {
					env[envName] = tc.env
				}
				c, err := Load("", mapEnv(env))
				if err != nil {
					t.Fatal(err)
				}
				fs := allFlags(c)
				var args []string
				if l.f {
					args = []string{"--" + flagName + "=" + tc.flag}
				}
				if err := fs.Parse(args); err != nil {
					t.Fatal(err)
				}
				if got := get(c, tc.key); got != l.want {
					t.Errorf("%s = %q, want %q", tc.key, got, l.want)
				}
				if got := c.Origin(tc.key); !strings.Contains(got, l.origin) {
					t.Errorf("Origin(%s) = %q, want it to contain %q", tc.key, got, l.origin)
				}
			})
		}
	}
}

// TestFlagDefaultShowsMergedValue: --help must show the value the user will get.
func TestFlagDefaultShowsMergedValue(t *testing.T) {
	env := map[string]string{"HOME": "/home/u", "XDG_CONFIG_HOME": writeConfig(t, "limits: {memory: 1GiB}\n"), "PHYLUM_BOX_PIDS": "77"}
	c, err := Load("", mapEnv(env))
	if err != nil {
		t.Fatal(err)
	}
	fs := allFlags(c)
	if got := fs.Lookup("memory").DefValue; got != "1GiB" {
		t.Errorf("--memory default = %q, want 1GiB", got)
	}
	if got := fs.Lookup("pids").DefValue; got != "77" {
		t.Errorf("--pids default = %q, want 77", got)
	}
}

func TestLoadErrors(t *testing.T) {
	cases := []struct {
		name string
		file string
		env  map[string]string
		want []string // substrings of the error
	}{
		{"unknown key", "limits:\n  memory: 1GiB\n  memroy: 2GiB\n", nil, []string{"line 3", "memroy", "valid keys", "limits.memory"}},
		{"unknown top key", "colour: never\n", nil, []string{"line 1", "colour"}},
		{"bad size", "limits:\n  memory: lots\n", nil, []string{"line 2", "invalid size", "4GiB"}},
		{"bad duration", "\n\nlimits:\n  timeout: soon\n", nil, []string{"line 4", "30m"}},
		{"bare number duration", "limits:\n  timeout: 30\n", nil, []string{"line 2", "30m"}},
		{"bad color", "color: rainbow\n", nil, []string{"line 1", "auto, always or never"}},
		{"bad yaml", "limits: [\n", nil, []string{"config.yaml"}},
		{"negative pids", "limits: {pids: -1}\n", nil, []string{"limits.pids", "config.yaml:1", "negative"}},
		{"bad env size", "", map[string]string{"PHYLUM_BOX_MEMORY": "big"}, []string{"PHYLUM_BOX_MEMORY", "invalid size"}},
		{"bad env pids", "", map[string]string{"PHYLUM_BOX_PIDS": "many"}, []string{"PHYLUM_BOX_PIDS", "whole number"}},
		{"bad env color", "", map[string]string{"PHYLUM_BOX_COLOR": "yes"}, []string{"PHYLUM_BOX_COLOR", "auto, always or never"}},
		{"bad env timeout", "", map[string]string{"PHYLUM_BOX_TIMEOUT": "5"}, []string{"PHYLUM_BOX_TIMEOUT", "30m"}},
		{"bad disk", "limits:\n  disk: plenty\n", nil, []string{"line 2", "invalid size"}},
		{"negative disk", "limits: {disk: -1GiB}\n", nil, []string{"line 1", "invalid size"}},
		{"bad env disk", "", map[string]string{"PHYLUM_BOX_DISK": "huge"}, []string{"PHYLUM_BOX_DISK", "invalid size"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"HOME": "/home/u", "XDG_CONFIG_HOME": writeConfig(t, tc.file)}
			for k, v := range tc.env {
				env[k] = v
			}
			_, err := Load("", mapEnv(env))
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			t.Log(err)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestExplicitPath(t *testing.T) {
	dir := t.TempDir()
	env := mapEnv(map[string]string{"HOME": dir})
	if _, err := Load(filepath.Join(dir, "missing.yaml"), env); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Fatalf("explicit missing --config: err = %v, want it to name the file", err)
	}
	p := filepath.Join(dir, "team.yaml")
	if err := os.WriteFile(p, []byte("database:\n  source: ~/mirror\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p, env)
	if err != nil {
		t.Fatal(err)
	}
	if c.File != p {
		t.Errorf("File = %q, want %q", c.File, p)
	}
	if want := filepath.Join(dir, "mirror"); c.Database.Source != want {
		t.Errorf("~ not expanded: source = %q, want %q", c.Database.Source, want)
	}
	// The default file is optional: no file, no error, no File.
	c, err = Load("", env)
	if err != nil || c.File != "" {
		t.Fatalf("Load without a file: %v, File=%q", err, c.File)
	}
}

func TestDefaultPaths(t *testing.T) {
	cases := []struct {
		env        map[string]string
		configFile string
		cache      string
		db         string
	}{
		{map[string]string{"HOME": "/home/u"}, "/home/u/.config/phylum-box/config.yaml", "/home/u/.cache/phylum-box", "/home/u/.local/share/phylum-box/osv.db"},
		{map[string]string{"HOME": "/home/u", "XDG_CONFIG_HOME": "/c", "XDG_CACHE_HOME": "/k", "XDG_DATA_HOME": "/d"},
			"/c/phylum-box/config.yaml", "/k/phylum-box", "/d/phylum-box/osv.db"},
		// Relative XDG values must be ignored (XDG base directory spec).
		{map[string]string{"HOME": "/home/u", "XDG_CONFIG_HOME": "rel", "XDG_CACHE_HOME": "rel"},
			"/home/u/.config/phylum-box/config.yaml", "/home/u/.cache/phylum-box", "/home/u/.local/share/phylum-box/osv.db"},
	}
	for _, tc := range cases {
		env := mapEnv(tc.env)
		if got := DefaultPath(env); got != tc.configFile {
			t.Errorf("DefaultPath(%v) = %q, want %q", tc.env, got, tc.configFile)
		}
		d := Defaults(env)
		if d.CacheDir != tc.cache || d.Database.Path != tc.db {
			t.Errorf("Defaults(%v): cache %q db %q, want %q %q", tc.env, d.CacheDir, d.Database.Path, tc.cache, tc.db)
		}
	}
}

func TestByteSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want ByteSize
		str  string
	}{
		{"4GiB", 4 << 30, "4GiB"},
		{"4g", 4 << 30, "4GiB"},
		{"512MiB", 512 << 20, "512MiB"},
		{"1.5GiB", 3 << 29, "1.5GiB"},
		{"1048576", 1 << 20, "1MiB"},
		{"0", 0, "0"},
	} {
		got, err := ParseByteSize(tc.in)
		if err != nil || got != tc.want || got.String() != tc.str {
			t.Errorf("ParseByteSize(%q) = %d (%s), %v; want %d (%s)", tc.in, got, got, err, tc.want, tc.str)
		}
	}
	if _, err := ParseByteSize("4 parsecs"); err == nil {
		t.Error("ParseByteSize accepted a bad unit")
	}
}

// TestExampleFile loads the example documented in docs/configuration.md, so the
// documentation cannot show a file that does not load.
func TestExampleFile(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "configuration.md"))
	if err != nil {
		t.Skipf("docs/configuration.md not present: %v", err)
	}
	body, ok := between(string(doc), "```yaml\n", "```")
	if !ok {
		t.Fatal("docs/configuration.md has no ```yaml example")
	}
	env := map[string]string{"HOME": "/home/u", "XDG_CONFIG_HOME": writeConfig(t, body)}
	c, err := Load("", mapEnv(env))
	if err != nil {
		t.Fatalf("the documented example does not load: %v", err)
	}
	if c.Limits.Timeout != 30*time.Minute || c.Limits.Memory != 4<<30 {
		t.Errorf("example limits = %+v", c.Limits)
	}
	// Every key must be documented with its variable and its flag.
	for _, s := range settings {
		for _, w := range []string{s.key, s.env, "--" + s.flag} {
			if !strings.Contains(string(doc), w) {
				t.Errorf("docs/configuration.md does not mention %s", w)
			}
		}
	}
}

func between(s, start, end string) (string, bool) {
	i := strings.Index(s, start)
	if i < 0 {
		return "", false
	}
	s = s[i+len(start):]
	j := strings.Index(s, end)
	if j < 0 {
		return "", false
	}
	return s[:j], true
}

func TestSetAndSettings(t *testing.T) {
	env := map[string]string{"HOME": "/home/u", "XDG_CONFIG_HOME": writeConfig(t, "color: never\n"), "PHYLUM_BOX_PIDS": "9"}
	c, err := Load("", mapEnv(env))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Set("color", "always"); err != nil || c.Color != ColorAlways || c.Origin("color") != "flag --color" {
		t.Fatalf("Set(color, always): %v, color=%q origin=%q", err, c.Color, c.Origin("color"))
	}
	if err := c.Set("color", "sometimes"); err == nil {
		t.Error("Set accepted an invalid colour")
	}
	if err := c.Set("nope", "x"); err == nil || !strings.Contains(err.Error(), "limits.memory") {
		t.Errorf("Set(unknown key): %v", err)
	}
	got := map[string]Setting{}
	for _, s := range c.Settings() {
		got[s.Key] = s
	}
	if len(got) != len(Keys()) {
		t.Fatalf("Settings has %d entries, want %d", len(got), len(Keys()))
	}
	if s := got["limits.pids"]; s.Value != "9" || s.Origin != "environment PHYLUM_BOX_PIDS" || s.Flag != "--pids" {
		t.Errorf("limits.pids setting = %+v", s)
	}
	if s := got["limits.memory"]; s.Value != "4GiB" || s.Origin != "default" {
		t.Errorf("limits.memory setting = %+v", s)
	}
}

func TestRefusesFilesOthersCanWrite(t *testing.T) {
	cases := []struct {
		name    string
		fileMod os.FileMode
		dirMod  os.FileMode
		want    string
	}{
		{"private", 0o600, 0o700, ""},
		{"readable", 0o644, 0o755, ""},
		{"group writable file", 0o664, 0o755, "writable by group or others"},
		{"world writable file", 0o646, 0o755, "chmod go-w"},
		{"world writable dir", 0o644, 0o777, "writable by group or others"},
		{"sticky world writable dir", 0o644, os.ModeSticky | 0o777, ""},
	}
	// New files get the creator's primary group: if that is a user-private group
	// (root's is), group-writable is allowed.
	upg := privateGroup(uint32(os.Getegid()))
	for _, tc := range cases {
		if upg && tc.name == "group writable file" {
			tc.want = ""
		}
		t.Run(tc.name, func(t *testing.T) {
			xdg := writeConfig(t, "color: never\n")
			dir := filepath.Join(xdg, "phylum-box")
			file := filepath.Join(dir, "config.yaml")
			if err := os.Chmod(file, tc.fileMod); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, tc.dirMod); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Chmod(dir, 0o755) })
			c, err := Load("", mapEnv(map[string]string{"HOME": "/home/u", "XDG_CONFIG_HOME": xdg}))
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Load: %v", err)
			case tc.want == "" && c.Color != ColorNever:
				t.Fatalf("the file was not read: color %q", c.Color)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Load: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestRefusesFilesOfOtherUsers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give the file to another user")
	}
	xdg := writeConfig(t, "color: never\n")
	file := filepath.Join(xdg, "phylum-box", "config.yaml")
	if err := os.Chown(file, 12345, 12345); err != nil {
		t.Fatal(err)
	}
	_, err := Load("", mapEnv(map[string]string{"HOME": "/home/u", "XDG_CONFIG_HOME": xdg}))
	if err == nil || !strings.Contains(err.Error(), "uid 12345") {
		t.Fatalf("Load of a file owned by uid 12345: %v", err)
	}
}

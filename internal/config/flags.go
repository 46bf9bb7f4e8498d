package config

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"
)

// Flag groups. A command adds the groups it uses; the flag's default shown in
// --help and in the reference is the merged file+environment value, and a flag that
// is given overrides it (the last step of the precedence chain).

// AddDatabaseFlags adds --db and --db-source.
func (c *Config) AddDatabaseFlags(fs *pflag.FlagSet) {
	c.addFlags(fs, "database.path", "database.source")
}

// AddPolicyFlag adds --policy.
func (c *Config) AddPolicyFlag(fs *pflag.FlagSet) { c.addFlags(fs, "policy") }

// AddLimitFlags adds --memory, --pids, --cpus, --timeout and --disk.
func (c *Config) AddLimitFlags(fs *pflag.FlagSet) {
	c.addFlags(fs, "limits.memory", "limits.pids", "limits.cpus", "limits.timeout", "limits.disk")
}

// AddColorFlag adds --color.
func (c *Config) AddColorFlag(fs *pflag.FlagSet) { c.addFlags(fs, "color") }

// AddCacheDirFlag adds --cache-dir.
func (c *Config) AddCacheDirFlag(fs *pflag.FlagSet) { c.addFlags(fs, "cache_dir") }

// FlagName returns the flag that sets key (e.g. "memory" for "limits.memory").
func FlagName(key string) string {
	for _, s := range settings {
		if s.key == key {
			return s.flag
		}
	}
	return ""
}

func (c *Config) addFlags(fs *pflag.FlagSet, keys ...string) {
	for _, k := range keys {
		for _, s := range settings {
			if s.key != k || fs.Lookup(s.flag) != nil {
				continue
			}
			fs.Var(&originValue{Value: s.bind(c), c: c, key: s.key, flag: s.flag}, s.flag, s.usage)
		}
	}
}

// originValue records that a value was set by a flag; pflag calls Set only for
// flags that appear on the command line, so defaults keep their origin.
type originValue struct {
	pflag.Value
	c    *Config
	key  string
	flag string
}

func (v *originValue) Set(s string) error {
	if err := v.Value.Set(s); err != nil {
		return err
	}
	if v.c.origins == nil {
		v.c.origins = map[string]string{}
	}
	v.c.origins[v.key] = "flag --" + v.flag
	return nil
}

// Set assigns key (a dotted key such as "color") from a flag parsed before the
// config was loaded — the global --color, for instance — and records the flag as
// its origin. The value is checked like any other.
func (c *Config) Set(key, value string) error {
	for _, s := range settings {
		if s.key == key {
			return (&originValue{Value: s.bind(c), c: c, key: s.key, flag: s.flag}).Set(value)
		}
	}
	return fmt.Errorf("unknown config key %q (valid keys: %s)", key, strings.Join(Keys(), ", "))
}

// Setting is one effective value with its names and origin, for `doctor`-style
// listings.
type Setting struct {
	Key, Env, Flag, Value, Origin string
}

// Settings lists every value in file order with where it came from.
func (c *Config) Settings() []Setting {
	out := make([]Setting, 0, len(settings))
	for _, s := range settings {
		out = append(out, Setting{Key: s.key, Env: s.env, Flag: "--" + s.flag, Value: s.bind(c).String(), Origin: c.Origin(s.key)})
	}
	return out
}

package config

import (
	"fmt"
	"strconv"
	"time"

	"github.com/docker/go-units"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// ByteSize is an amount of memory or disk in bytes. The config file, the environment and
// flags all accept "4GiB", "512m", "1.5g" or a plain number of bytes.
type ByteSize int64

// ParseByteSize reads a size with binary units (k = 1024).
func ParseByteSize(s string) (ByteSize, error) {
	n, err := units.RAMInBytes(s)
	if err != nil {
		return 0, fmt.Errorf("invalid size %q: use a number with an optional unit, e.g. 4GiB or 512MiB", s)
	}
	return ByteSize(n), nil
}

func (b ByteSize) String() string {
	if b == 0 {
		return "0"
	}
	return units.BytesSize(float64(b))
}

// UnmarshalYAML accepts both "4GiB" and a bare number of bytes.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: a size must be a single value such as 4GiB", n.Line)
	}
	v, err := ParseByteSize(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*b = v
	return nil
}

// MarshalYAML writes the human form, so a written file reads back the same.
func (b ByteSize) MarshalYAML() (any, error) { return b.String(), nil }

// ColorMode says when output may be coloured.
type ColorMode string

const (
	ColorAuto   ColorMode = "auto"   // colour when stdout is a terminal and not in CI
	ColorAlways ColorMode = "always" // colour even when piped (e.g. into less -R)
	ColorNever  ColorMode = "never"
)

func (m ColorMode) check() error {
	switch m {
	case ColorAuto, ColorAlways, ColorNever:
		return nil
	}
	return fmt.Errorf("invalid colour mode %q: use auto, always or never", string(m))
}

// UnmarshalYAML rejects unknown modes with the line number.
func (m *ColorMode) UnmarshalYAML(n *yaml.Node) error {
	v := ColorMode(n.Value)
	if err := v.check(); n.Kind != yaml.ScalarNode || err != nil {
		return fmt.Errorf("line %d: invalid colour mode %q: use auto, always or never", n.Line, n.Value)
	}
	*m = v
	return nil
}

// setting ties one config key to its environment variable and flag, so the three
// ways of setting a value cannot disagree on names or parsing.
type setting struct {
	key   string // dotted YAML key
	env   string
	flag  string
	usage string
	bind  func(c *Config) pflag.Value
}

var settings = []setting{
	{"database.path", "PHYLUM_BOX_DB", "db", "local OSV database file",
		func(c *Config) pflag.Value { return stringValue{&c.Database.Path} }},
	{"database.source", "PHYLUM_BOX_DB_SOURCE", "db-source", "where `db update` fetches OSV exports: a base URL (<base>/<Ecosystem>/all.zip, and <base>/toplists/top-<ecosystem>.txt when served) or a directory",
		func(c *Config) pflag.Value { return stringValue{&c.Database.Source} }},
	{"policy", "PHYLUM_BOX_POLICY", "policy", "policy file (default: the built-in policy plus the project's .phylum-box.yaml)",
		func(c *Config) pflag.Value { return stringValue{&c.Policy} }},
	{"limits.memory", "PHYLUM_BOX_MEMORY", "memory", "memory limit for sandboxed steps, e.g. 4GiB (0: none)",
		func(c *Config) pflag.Value { return (*byteSizeValue)(&c.Limits.Memory) }},
	{"limits.pids", "PHYLUM_BOX_PIDS", "pids", "maximum number of processes in the sandbox (0: none)",
		func(c *Config) pflag.Value { return int64Value{&c.Limits.Pids} }},
	{"limits.cpus", "PHYLUM_BOX_CPUS", "cpus", "CPUs the sandbox may use, e.g. 1.5 (0: none)",
		func(c *Config) pflag.Value { return floatValue{&c.Limits.CPUs} }},
	{"limits.timeout", "PHYLUM_BOX_TIMEOUT", "timeout", "wall-clock limit for each sandboxed step, e.g. 30m (0: none)",
		func(c *Config) pflag.Value { return durationValue{&c.Limits.Timeout} }},
	{"limits.disk", "PHYLUM_BOX_DISK", "disk", "what a sandboxed run may write to the host disk (scratch and caches), e.g. 8GiB (0: none)",
		func(c *Config) pflag.Value { return (*byteSizeValue)(&c.Limits.Disk) }},
	{"color", "PHYLUM_BOX_COLOR", "color", "colour output: auto, always or never",
		func(c *Config) pflag.Value { return (*colorValue)(&c.Color) }},
	{"cache_dir", "PHYLUM_BOX_CACHE_DIR", "cache-dir", "directory for package-manager caches and downloads",
		func(c *Config) pflag.Value { return stringValue{&c.CacheDir} }},
}

// EnvVars lists every PHYLUM_BOX_* variable Load reads, keyed by config key.
func EnvVars() map[string]string {
	out := map[string]string{}
	for _, s := range settings {
		out[s.key] = s.env
	}
	return out
}

type stringValue struct{ p *string }

func (v stringValue) String() string     { return *v.p }
func (v stringValue) Set(s string) error { *v.p = s; return nil }
func (v stringValue) Type() string       { return "string" }

type int64Value struct{ p *int64 }

func (v int64Value) String() string { return strconv.FormatInt(*v.p, 10) }
func (v int64Value) Set(s string) error {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("invalid number %q: use a whole number such as 1024", s)
	}
	*v.p = n
	return nil
}
func (v int64Value) Type() string { return "int" }

type floatValue struct{ p *float64 }

func (v floatValue) String() string { return strconv.FormatFloat(*v.p, 'g', -1, 64) }
func (v floatValue) Set(s string) error {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("invalid number %q: use a number such as 2 or 1.5", s)
	}
	*v.p = f
	return nil
}
func (v floatValue) Type() string { return "float" }

type durationValue struct{ p *time.Duration }

func (v durationValue) String() string { return v.p.String() }
func (v durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q: use a number with a unit, e.g. 30m or 90s", s)
	}
	*v.p = d
	return nil
}
func (v durationValue) Type() string { return "duration" }

type byteSizeValue ByteSize

func (v *byteSizeValue) String() string { return ByteSize(*v).String() }
func (v *byteSizeValue) Set(s string) error {
	b, err := ParseByteSize(s)
	if err != nil {
		return err
	}
	*v = byteSizeValue(b)
	return nil
}
func (v *byteSizeValue) Type() string { return "size" }

type colorValue ColorMode

func (v *colorValue) String() string { return string(*v) }
func (v *colorValue) Set(s string) error {
	if err := ColorMode(s).check(); err != nil {
		return err
	}
	*v = colorValue(s)
	return nil
}
func (v *colorValue) Type() string { return "auto|always|never" }

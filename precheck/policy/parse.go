package policy

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	str2duration "github.com/xhit/go-str2duration/v2"
	"go.yaml.in/yaml/v3"

	"github.com/phylum-box/phylum-box/internal/egress"
	"github.com/phylum-box/phylum-box/internal/lazyre"
)

// Error is a malformed policy: it names the file, and the line and column when known.
type Error struct {
	File   string
	Line   int // 1-based; 0 when unknown
	Column int // 1-based; 0 when unknown
	Msg    string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// layer is one policy file: nil/empty fields were not set and leave the value below.
type layer struct {
	file string

	malicious     *bool
	vulnerability *Threshold
	minReleaseAge *time.Duration
	scripts       *ScriptsMode
	allowScripts  []string
	scriptNetwork []ScriptNetwork
	allowBins     []string
	keepEnv       []string
	ignore        []Ignore
	memory        *uint64
	pids          *int
	cpus          *float64
	timeout       *time.Duration
	maxAge        *time.Duration
	whenStale     *Action
	uncheckable   *Action
	detection     detectionLayer
}

// Parse reads one policy document and returns it merged over the defaults. name is
// used in error messages and in Policy.Files.
func Parse(name string, data []byte) (*Policy, error) {
	l, err := parseLayer(name, data)
	if err != nil {
		return nil, err
	}
	p := Default()
	p.apply(l, false)
	return p, nil
}

var envNameRE = lazyre.New(`^[A-Za-z_][A-Za-z0-9_]*$`)

var yamlLine = lazyre.New(`^yaml: line (\d+): (.*)$`)

func parseLayer(name string, data []byte) (*layer, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		// yaml.v3 reports syntax errors as text only ("yaml: line N: ..."); lift the
		// line out so the error reads like every other policy error.
		msg := err.Error()
		if m := yamlLine().FindStringSubmatch(msg); m != nil {
			line, _ := strconv.Atoi(m[1])
			return nil, &Error{File: name, Line: line, Msg: "invalid YAML: " + m[2]}
		}
		return nil, &Error{File: name, Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
	}
	l := &layer{file: name}
	if doc.Kind == 0 { // empty file
		return l, nil
	}
	p := &parser{file: name}
	root := p.deref(&doc)
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return l, nil
		}
		root = p.deref(root.Content[0])
	}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return l, nil
	}
	err := p.mapping(root, "", map[string]func(*yaml.Node) error{
		"block": func(n *yaml.Node) error {
			return p.mapping(n, "block.", map[string]func(*yaml.Node) error{
				"malicious":     func(n *yaml.Node) error { return p.boolean(n, &l.malicious) },
				"vulnerability": func(n *yaml.Node) error { return p.threshold(n, &l.vulnerability) },
			})
		},
		"min_release_age": func(n *yaml.Node) error { return p.duration(n, &l.minReleaseAge) },
		"scripts": func(n *yaml.Node) error {
			s, err := p.enum(n, string(ScriptsSandbox), string(ScriptsAllowlist), string(ScriptsNone))
			if err == nil {
				m := ScriptsMode(s)
				l.scripts = &m
			}
			return err
		},
		"allow_scripts": func(n *yaml.Node) error {
			return p.sequence(n, func(item *yaml.Node) error {
				s, err := p.str(item)
				if err != nil {
					return err
				}
				if !validNameVersion(s) || strings.TrimSpace(s) != s {
					return p.errorf(item, `allow_scripts entry %q: want "name" or "name@version"`, s)
				}
				l.allowScripts = append(l.allowScripts, s)
				return nil
			})
		},
		"script_network": func(n *yaml.Node) error {
			return p.sequence(n, func(item *yaml.Node) error {
				e, err := p.scriptNetwork(item)
				if err == nil {
					l.scriptNetwork = append(l.scriptNetwork, e)
				}
				return err
			})
		},
		"allow_bins": func(n *yaml.Node) error {
			return p.sequence(n, func(item *yaml.Node) error {
				s, err := p.str(item)
				if err != nil {
					return err
				}
				if !validNameVersion(s) || strings.TrimSpace(s) != s {
					return p.errorf(item, `allow_bins entry %q: want "name" or "name@version" of the package whose bins may shadow a system command`, s)
				}
				l.allowBins = append(l.allowBins, s)
				return nil
			})
		},
		"keep_env": func(n *yaml.Node) error {
			return p.sequence(n, func(item *yaml.Node) error {
				s, err := p.str(item)
				if err != nil {
					return err
				}
				if !envNameRE().MatchString(s) {
					return p.errorf(item, `keep_env entry %q: want an environment variable name`, s)
				}
				l.keepEnv = append(l.keepEnv, s)
				return nil
			})
		},
		"ignore": func(n *yaml.Node) error {
			return p.sequence(n, func(item *yaml.Node) error {
				ig, err := p.ignore(item)
				if err == nil {
					l.ignore = append(l.ignore, ig)
				}
				return err
			})
		},
		"limits": func(n *yaml.Node) error {
			return p.mapping(n, "limits.", map[string]func(*yaml.Node) error{
				"memory":  func(n *yaml.Node) error { return p.bytes(n, &l.memory) },
				"pids":    func(n *yaml.Node) error { return p.positiveInt(n, &l.pids) },
				"cpus":    func(n *yaml.Node) error { return p.positiveFloat(n, &l.cpus) },
				"timeout": func(n *yaml.Node) error { return p.duration(n, &l.timeout) },
			})
		},
		"database": func(n *yaml.Node) error {
			return p.mapping(n, "database.", map[string]func(*yaml.Node) error{
				"max_age":    func(n *yaml.Node) error { return p.duration(n, &l.maxAge) },
				"when_stale": func(n *yaml.Node) error { return p.action(n, &l.whenStale) },
			})
		},
		"uncheckable": func(n *yaml.Node) error { return p.action(n, &l.uncheckable) },
		"behaviour":   func(n *yaml.Node) error { return p.behaviourSection(n, &l.detection) },
		"analysis":    func(n *yaml.Node) error { return p.analysisSection(n, &l.detection) },
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

type parser struct {
	file string
}

func (p *parser) errorf(n *yaml.Node, format string, args ...any) error {
	return &Error{File: p.file, Line: n.Line, Column: n.Column, Msg: fmt.Sprintf(format, args...)}
}

// deref follows aliases. The schema is at most three levels deep and each level
// is walked once, so alias chains cannot blow up the walk.
func (p *parser) deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 16; i++ {
		n = n.Alias
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "empty"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "an alias"
}

func (p *parser) mapping(n *yaml.Node, prefix string, fields map[string]func(*yaml.Node) error) error {
	n = p.deref(n)
	// "block:" with every child commented out is null: no keys, not an error.
	if n != nil && prefix != "" && n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n == nil || n.Kind != yaml.MappingNode {
		where := strings.TrimSuffix(prefix, ".")
		if where == "" {
			where = "the policy"
		}
		return p.errorf(orEmpty(n), "%s must be a mapping of keys, got %s", where, kindName(orEmpty(n)))
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return p.errorf(k, "keys must be plain words")
		}
		set, ok := fields[k.Value]
		if !ok {
			return p.errorf(k, "unknown key %q (known keys%s: %s)", prefix+k.Value, inSection(prefix), knownKeys(fields))
		}
		if line, dup := seen[k.Value]; dup {
			return p.errorf(k, "key %q is set twice (first on line %d)", prefix+k.Value, line)
		}
		seen[k.Value] = k.Line
		if err := set(v); err != nil {
			return err
		}
	}
	return nil
}

func orEmpty(n *yaml.Node) *yaml.Node {
	if n == nil {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}
	}
	return n
}

func inSection(prefix string) string {
	if prefix == "" {
		return ""
	}
	return " in " + strings.TrimSuffix(prefix, ".")
}

func knownKeys(fields map[string]func(*yaml.Node) error) string {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}

func (p *parser) sequence(n *yaml.Node, each func(*yaml.Node) error) error {
	n = p.deref(n)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		return p.errorf(n, "want a list, got %s", kindName(n))
	}
	for _, item := range n.Content {
		if err := each(p.deref(item)); err != nil {
			return err
		}
	}
	return nil
}

func (p *parser) str(n *yaml.Node) (string, error) {
	n = p.deref(n)
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return "", p.errorf(n, "want a single value, got %s", kindName(n))
	}
	return n.Value, nil
}

func (p *parser) boolean(n *yaml.Node, out **bool) error {
	s, err := p.str(n)
	if err != nil {
		return err
	}
	// Only YAML 1.2's true/false: "no" meaning false is a classic way to be surprised.
	switch s {
	case "true":
		v := true
		*out = &v
	case "false":
		v := false
		*out = &v
	default:
		return p.errorf(n, "want true or false, got %q", s)
	}
	return nil
}

func (p *parser) enum(n *yaml.Node, allowed ...string) (string, error) {
	s, err := p.str(n)
	if err != nil {
		return "", err
	}
	for _, a := range allowed {
		if s == a {
			return s, nil
		}
	}
	return "", p.errorf(n, "want one of %s, got %q", strings.Join(allowed, ", "), s)
}

func (p *parser) action(n *yaml.Node, out **Action) error {
	s, err := p.enum(n, string(Fail), string(Warn))
	if err == nil {
		a := Action(s)
		*out = &a
	}
	return err
}

func (p *parser) threshold(n *yaml.Node, out **Threshold) error {
	s, err := p.str(n)
	if err != nil {
		return err
	}
	t := Threshold(strings.ToLower(s))
	if t == "moderate" { // GitHub's name for medium
		t = ThresholdMedium
	}
	switch t {
	case ThresholdCritical, ThresholdHigh, ThresholdMedium, ThresholdLow, ThresholdNone:
		*out = &t
		return nil
	}
	return p.errorf(n, "want one of critical, high, medium, low, none (none: vulnerabilities never block), got %q", s)
}

func (p *parser) duration(n *yaml.Node, out **time.Duration) error {
	s, err := p.str(n)
	if err != nil {
		return err
	}
	d, err := parseDuration(s)
	if err != nil {
		return p.errorf(n, "%v", err)
	}
	*out = &d
	return nil
}

func parseDuration(s string) (time.Duration, error) {
	d, err := str2duration.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("want a duration such as 48h, 7d, 2w or 30m, got %q", s)
	}
	return d, nil
}

func (p *parser) bytes(n *yaml.Node, out **uint64) error {
	s, err := p.str(n)
	if err != nil {
		return err
	}
	// humanize keeps SI and IEC apart: 4GB is 4e9 bytes, 4GiB is 4<<30.
	b, err := humanize.ParseBytes(s)
	if err != nil || b == 0 {
		return p.errorf(n, "want a size such as 4GiB or 512MiB, got %q", s)
	}
	*out = &b
	return nil
}

func (p *parser) positiveInt(n *yaml.Node, out **int) error {
	s, err := p.str(n)
	if err != nil {
		return err
	}
	v, err := strconv.Atoi(s)
	if err != nil || v <= 0 {
		return p.errorf(n, "want a whole number above 0, got %q", s)
	}
	*out = &v
	return nil
}

func (p *parser) positiveFloat(n *yaml.Node, out **float64) error {
	s, err := p.str(n)
	if err != nil {
		return err
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || !(v > 0) || math.IsInf(v, 0) {
		return p.errorf(n, "want a number above 0 (e.g. 2 or 0.5), got %q", s)
	}
	*out = &v
	return nil
}

func (p *parser) ignore(n *yaml.Node) (Ignore, error) {
	ig := Ignore{Source: fmt.Sprintf("%s:%d", p.file, n.Line)}
	var until *time.Time
	err := p.mapping(n, "ignore[].", map[string]func(*yaml.Node) error{
		"id": func(n *yaml.Node) error {
			s, err := p.str(n)
			ig.ID = strings.TrimSpace(s)
			return err
		},
		"package": func(n *yaml.Node) error {
			s, err := p.str(n)
			if err != nil {
				return err
			}
			ig.Package = strings.TrimSpace(s)
			if !validNameVersion(ig.Package) {
				return p.errorf(n, `ignore package %q: want "name" or "name@version"`, s)
			}
			return nil
		},
		"reason": func(n *yaml.Node) error {
			s, err := p.str(n)
			ig.Reason = strings.TrimSpace(s)
			return err
		},
		"until": func(n *yaml.Node) error {
			s, err := p.str(n)
			if err != nil {
				return err
			}
			t, err := parseDate(s)
			if err != nil {
				return p.errorf(n, "%v", err)
			}
			until = &t
			return nil
		},
	})
	if err != nil {
		return ig, err
	}
	if ig.ID == "" {
		return ig, p.errorf(n, "ignore entry needs an id (the advisory id or one of its aliases)")
	}
	if ig.Reason == "" {
		return ig, p.errorf(n, "ignore entry for %s needs a reason (why it is safe to install anyway)", ig.ID)
	}
	if until != nil {
		ig.Until = *until
	}
	return ig, nil
}

func (p *parser) scriptNetwork(n *yaml.Node) (ScriptNetwork, error) {
	e := ScriptNetwork{Source: fmt.Sprintf("%s:%d", p.file, n.Line)}
	err := p.mapping(n, "script_network[].", map[string]func(*yaml.Node) error{
		"package": func(n *yaml.Node) error {
			s, err := p.str(n)
			if err != nil {
				return err
			}
			if !validNameVersion(s) || strings.TrimSpace(s) != s {
				return p.errorf(n, `script_network package %q: want "name" or "name@version"`, s)
			}
			e.Package = s
			return nil
		},
		"hosts": func(n *yaml.Node) error {
			return p.sequence(n, func(item *yaml.Node) error {
				s, err := p.str(item)
				if err != nil {
					return err
				}
				c, err := egress.Canonical(s)
				if err != nil || strings.Contains(s, "://") {
					why := "want host:port, such as storage.googleapis.com:443"
					if err != nil {
						why = err.Error() + "; " + why
					}
					return p.errorf(item, "script_network host %q: %s", s, why)
				}
				e.Hosts = append(e.Hosts, c)
				return nil
			})
		},
	})
	if err != nil {
		return e, err
	}
	if e.Package == "" {
		return e, p.errorf(n, "script_network entry needs a package (\"name\" or \"name@version\")")
	}
	if len(e.Hosts) == 0 {
		return e, p.errorf(n, "script_network entry for %s needs hosts (the host:port pairs its install script downloads from)", e.Package)
	}
	slices.Sort(e.Hosts)
	e.Hosts = slices.Compact(e.Hosts)
	return e, nil
}

// validNameVersion accepts "name" and "name@version" (scoped npm names included),
// not an empty name or a dangling "name@".
func validNameVersion(s string) bool {
	name, version := SplitNameVersion(s)
	return name != "" && !(version == "" && strings.Contains(s[1:], "@"))
}

// parseDate accepts a date (2027-01-01, meaning 00:00 UTC that day, as osv-scanner's
// ignoreUntil does) or a full RFC 3339 time.
func parseDate(s string) (time.Time, error) {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, errors.New("want a date such as 2027-01-01, got " + strconv.Quote(s))
}

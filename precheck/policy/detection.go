package policy

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/phylum-box/phylum-box/internal/egress"
	"github.com/phylum-box/phylum-box/internal/lazyre"
)

// RuleAction is what a behaviour or analysis rule does when it fires, overriding
// the severity threshold.
type RuleAction string

const (
	// RuleBlock blocks the package whatever the finding's severity.
	RuleBlock RuleAction = "block"
	// RuleWarn lists the finding in the report and lets the install go on.
	RuleWarn RuleAction = "warn"
	// RuleOff drops the finding: it is neither reported nor blocks.
	RuleOff RuleAction = "off"
)

// strictness orders actions from the loosest (off) to the strictest (block).
func (a RuleAction) strictness() int {
	switch a {
	case RuleOff:
		return 0
	case RuleWarn:
		return 1
	}
	return 2
}

// Rule id prefixes: behaviour.rules takes only behaviour rules and analysis.rules
// only analysis rules, so a rule written in the wrong section is an error rather
// than an override that silently never applies.
const (
	BehaviourRulePrefix = "PB-BEHAVIOUR-"
	AnalysisRulePrefix  = "PB-ANALYSIS-"
	// TyposquatRule is the analysis rule for a name that imitates a popular one;
	// analysis.typosquat governs it and every rule whose id starts with it and "-"
	// (PB-ANALYSIS-TYPOSQUAT-SCOPE, …), unless analysis.rules names the rule itself.
	TyposquatRule = "PB-ANALYSIS-TYPOSQUAT"
)

var ruleIDRE = lazyre.New(`^PB-[A-Z0-9]+(-[A-Z0-9]+)+$`)

// Behaviour is the behaviour: section: what the monitor's findings (what package
// code tried while it ran in the sandbox) do to the verdict.
type Behaviour struct {
	// Monitor runs the behaviour monitor in the steps that run package code. Only
	// the user's own policy (or --policy) can turn it off; a project file cannot.
	Monitor bool
	// Block is the lowest severity of a behaviour finding that blocks; ThresholdNone
	// means only rules set to block in Rules block.
	Block Threshold
	// Rules overrides the threshold per rule id (upper case).
	Rules map[string]RuleAction
}

// Analysis is the analysis: section: what the static analysis of packages new to
// the project does to the verdict.
type Analysis struct {
	// Block is the lowest severity of an analysis finding that blocks.
	Block Threshold
	// Typosquat is what a typosquatting finding does (TyposquatRule), whatever its
	// severity: a name one letter off a popular one is a signal, not a proof.
	Typosquat RuleAction
	// Rules overrides the threshold (and Typosquat) per rule id (upper case).
	Rules map[string]RuleAction
}

// RuleOverride is the action the policy sets for one rule id: from behaviour.rules
// or analysis.rules, then analysis.typosquat for typosquatting rules. ok is false
// when the rule is judged by its severity against the section's block threshold;
// key names the policy key that decided, for reasons ("analysis.typosquat").
func (p *Policy) RuleOverride(id string) (action RuleAction, key string, ok bool) {
	id = strings.ToUpper(id)
	switch {
	case strings.HasPrefix(id, BehaviourRulePrefix):
		if a, ok := p.Behaviour.Rules[id]; ok {
			return a, "behaviour.rules", true
		}
	case strings.HasPrefix(id, AnalysisRulePrefix):
		if a, ok := p.Analysis.Rules[id]; ok {
			return a, "analysis.rules", true
		}
		if IsTyposquatRule(id) && p.Analysis.Typosquat != "" {
			return p.Analysis.Typosquat, "analysis.typosquat", true
		}
	}
	return "", "", false
}

// IsTyposquatRule reports whether analysis.typosquat governs the rule id.
func IsTyposquatRule(id string) bool {
	id = strings.ToUpper(id)
	return id == TyposquatRule || strings.HasPrefix(id, TyposquatRule+"-")
}

// ScriptNetworkAllows reports whether script_network lets the package's install
// script reach hostport ("host:port"; canonicalised as the policy's entries are).
// A network attempt it allows is what the entry is for, not a finding.
func (p *Policy) ScriptNetworkAllows(ecosystem, name, version, hostport string) bool {
	c, err := egress.Canonical(hostport)
	if err != nil {
		return false
	}
	_, found := slices.BinarySearch(p.ScriptHosts(ecosystem, name, version), c)
	return found
}

// detectionLayer holds what one policy file says in behaviour: and analysis:.
type detectionLayer struct {
	monitor        *bool
	behaviourBlock *Threshold
	behaviourRules []ruleEntry
	analysisBlock  *Threshold
	typosquat      *RuleAction
	analysisRules  []ruleEntry
}

type ruleEntry struct {
	id     string
	action RuleAction
}

func (p *parser) behaviourSection(n *yaml.Node, d *detectionLayer) error {
	return p.mapping(n, "behaviour.", map[string]func(*yaml.Node) error{
		"monitor": func(n *yaml.Node) error { return p.boolean(n, &d.monitor) },
		"block":   func(n *yaml.Node) error { return p.detectionThreshold(n, "behaviour", &d.behaviourBlock) },
		"rules": func(n *yaml.Node) error {
			return p.rules(n, "behaviour.rules", BehaviourRulePrefix, &d.behaviourRules)
		},
	})
}

func (p *parser) analysisSection(n *yaml.Node, d *detectionLayer) error {
	return p.mapping(n, "analysis.", map[string]func(*yaml.Node) error{
		"block": func(n *yaml.Node) error { return p.detectionThreshold(n, "analysis", &d.analysisBlock) },
		"typosquat": func(n *yaml.Node) error {
			a, err := p.ruleAction(n)
			if err == nil {
				d.typosquat = &a
			}
			return err
		},
		"rules": func(n *yaml.Node) error {
			return p.rules(n, "analysis.rules", AnalysisRulePrefix, &d.analysisRules)
		},
	})
}

// detectionThreshold reads high, medium, low or none. critical is refused: the
// rules rate themselves high at most, so "critical" would quietly mean "never".
func (p *parser) detectionThreshold(n *yaml.Node, section string, out **Threshold) error {
	s, err := p.str(n)
	if err != nil {
		return err
	}
	t := Threshold(strings.ToLower(s))
	switch t {
	case ThresholdHigh, ThresholdMedium, ThresholdLow, ThresholdNone:
		*out = &t
		return nil
	}
	return p.errorf(n, "want one of high, medium, low, none (none: %s findings block only through %s.rules), got %q", section, section, s)
}

func (p *parser) ruleAction(n *yaml.Node) (RuleAction, error) {
	s, err := p.enum(n, string(RuleBlock), string(RuleWarn), string(RuleOff))
	return RuleAction(s), err
}

func (p *parser) rules(n *yaml.Node, key, prefix string, out *[]ruleEntry) error {
	n = p.deref(n)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return p.errorf(n, "%s must be a mapping of rule ids to block, warn or off, got %s", key, kindName(n))
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := p.deref(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return p.errorf(k, "%s: keys must be rule ids", key)
		}
		id := strings.ToUpper(strings.TrimSpace(k.Value))
		if !strings.HasPrefix(id, prefix) || !ruleIDRE().MatchString(id) {
			return p.errorf(k, "%s: %q is not a rule id of this section (want %s…, as printed in the report)", key, k.Value, prefix)
		}
		if line, dup := seen[id]; dup {
			return p.errorf(k, "%s: rule %s is set twice (first on line %d)", key, id, line)
		}
		seen[id] = k.Line
		a, err := p.ruleAction(v)
		if err != nil {
			return err
		}
		*out = append(*out, ruleEntry{id: id, action: a})
	}
	return nil
}

func defaultBehaviour() Behaviour {
	return Behaviour{Monitor: true, Block: ThresholdHigh, Rules: map[string]RuleAction{}}
}

func defaultAnalysis() Analysis {
	return Analysis{Block: ThresholdHigh, Typosquat: RuleWarn, Rules: map[string]RuleAction{}}
}

// applyDetection merges the behaviour: and analysis: sections of a layer. A
// project file may only make them stricter: what would loosen them (monitor off,
// a higher threshold, a rule set to warn or off) is not applied and is recorded in
// Refused, which every report shows.
func (p *Policy) applyDetection(d *detectionLayer, file string, project bool) {
	refuse := func(format string, args ...any) {
		p.Refused = append(p.Refused, file+": "+fmt.Sprintf(format, args...))
	}
	if p.Behaviour.Rules == nil {
		p.Behaviour.Rules = map[string]RuleAction{}
	}
	if p.Analysis.Rules == nil {
		p.Analysis.Rules = map[string]RuleAction{}
	}
	if v := d.monitor; v != nil {
		if project && p.Behaviour.Monitor && !*v {
			refuse("behaviour.monitor: false would turn the behaviour monitor off; only your own policy or --policy can")
		} else {
			p.Behaviour.Monitor = *v
		}
	}
	if v := d.behaviourBlock; v != nil {
		if project && loosensThreshold(p.Behaviour.Block, *v) {
			refuse("behaviour.block: %s would raise the blocking threshold from %s", *v, p.Behaviour.Block)
		} else {
			p.Behaviour.Block = *v
		}
	}
	if v := d.analysisBlock; v != nil {
		if project && loosensThreshold(p.Analysis.Block, *v) {
			refuse("analysis.block: %s would raise the blocking threshold from %s", *v, p.Analysis.Block)
		} else {
			p.Analysis.Block = *v
		}
	}
	if v := d.typosquat; v != nil {
		if project && v.strictness() < p.Analysis.Typosquat.strictness() {
			refuse("analysis.typosquat: %s would loosen it from %s", *v, p.Analysis.Typosquat)
		} else {
			p.Analysis.Typosquat = *v
		}
	}
	mergeRules := func(section string, rules map[string]RuleAction, entries []ruleEntry) {
		for _, e := range entries {
			// Without an override below, a rule is judged by its severity and may
			// block: only block is certainly no looser than that.
			old, set := rules[e.id]
			if project && e.action != RuleBlock && (!set || e.action.strictness() < old.strictness()) {
				refuse("%s: %s: %s may stop it from blocking", section, e.id, e.action)
				continue
			}
			rules[e.id] = e.action
		}
	}
	mergeRules("behaviour.rules", p.Behaviour.Rules, d.behaviourRules)
	mergeRules("analysis.rules", p.Analysis.Rules, d.analysisRules)
}

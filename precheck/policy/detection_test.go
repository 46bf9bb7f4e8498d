package policy

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDetectionDefaults(t *testing.T) {
	p := Default()
	if !p.Behaviour.Monitor || p.Behaviour.Block != ThresholdHigh || p.Analysis.Block != ThresholdHigh || p.Analysis.Typosquat != RuleWarn {
		t.Errorf("defaults: behaviour %+v analysis %+v", p.Behaviour, p.Analysis)
	}
	if a, key, ok := p.RuleOverride("PB-ANALYSIS-TYPOSQUAT"); !ok || a != RuleWarn || key != "analysis.typosquat" {
		t.Errorf("typosquat override = %v %q %v", a, key, ok)
	}
	if _, _, ok := p.RuleOverride("PB-ANALYSIS-EVAL-CHAIN"); ok {
		t.Error("a rule without an override reports one")
	}
}

func TestParseDetection(t *testing.T) {
	p, err := Parse("p.yaml", []byte(`
behaviour:
  monitor: false
  block: medium
  rules: {PB-BEHAVIOUR-DETACH: warn, pb-behaviour-network: block}
analysis:
  block: none
  typosquat: block
  rules:
    PB-ANALYSIS-TYPOSQUAT-SCOPE: off
    PB-ANALYSIS-MINIFIED-SCRIPT: warn
`))
	if err != nil {
		t.Fatal(err)
	}
	if p.Behaviour.Monitor || p.Behaviour.Block != ThresholdMedium || p.Analysis.Block != ThresholdNone || p.Analysis.Typosquat != RuleBlock {
		t.Errorf("behaviour %+v analysis %+v", p.Behaviour, p.Analysis)
	}
	for _, tt := range []struct {
		id   string
		want RuleAction
		key  string
	}{
		{"PB-BEHAVIOUR-DETACH", RuleWarn, "behaviour.rules"},
		{"PB-BEHAVIOUR-NETWORK", RuleBlock, "behaviour.rules"}, // ids are upper-cased
		{"pb-behaviour-network", RuleBlock, "behaviour.rules"},
		{"PB-ANALYSIS-TYPOSQUAT", RuleBlock, "analysis.typosquat"},
		{"PB-ANALYSIS-TYPOSQUAT-KEYBOARD", RuleBlock, "analysis.typosquat"},
		{"PB-ANALYSIS-TYPOSQUAT-SCOPE", RuleOff, "analysis.rules"}, // the rule's own entry wins
		{"PB-ANALYSIS-MINIFIED-SCRIPT", RuleWarn, "analysis.rules"},
		{"PB-ANALYSIS-TYPOSQUATTER", "", ""}, // a prefix of the word is not the rule
		{"PB-BEHAVIOUR-SECRET-READ", "", ""},
	} {
		a, key, ok := p.RuleOverride(tt.id)
		if a != tt.want || key != tt.key || ok != (tt.want != "") {
			t.Errorf("RuleOverride(%s) = %v %q %v, want %v %q", tt.id, a, key, ok, tt.want, tt.key)
		}
	}
}

func TestParseDetectionErrors(t *testing.T) {
	tests := []struct {
		name      string
		yaml      string
		line, col int
		contains  string
	}{
		{"unknown key", "behaviour:\n  monitr: false\n", 2, 3, `unknown key "behaviour.monitr"`},
		{"critical threshold", "analysis: {block: critical}\n", 1, 19, "want one of high, medium, low, none"},
		{"bad monitor", "behaviour: {monitor: off}\n", 1, 22, "want true or false"},
		{"bad typosquat", "analysis: {typosquat: ignore}\n", 1, 23, "want one of block, warn, off"},
		{"bad rule action", "behaviour:\n  rules: {PB-BEHAVIOUR-DETACH: allow}\n", 2, 32, "want one of block, warn, off"},
		{"rule in the wrong section", "behaviour:\n  rules:\n    PB-ANALYSIS-EVAL: warn\n", 3, 5, `"PB-ANALYSIS-EVAL" is not a rule id of this section (want PB-BEHAVIOUR-…`},
		{"advisory id as rule", "analysis: {rules: {GHSA-1234: off}}\n", 1, 20, "not a rule id"},
		{"rule set twice", "analysis:\n  rules:\n    PB-ANALYSIS-EVAL: warn\n    pb-analysis-eval: off\n", 4, 5, "set twice (first on line 3)"},
		{"rules a list", "analysis: {rules: [PB-ANALYSIS-EVAL]}\n", 1, 19, "analysis.rules must be a mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("proj/.phylum-box.yaml", []byte(tt.yaml))
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *policy.Error", err)
			}
			if pe.Line != tt.line || pe.Column != tt.col || !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("err = %v (line %d col %d), want line %d col %d containing %q", err, pe.Line, pe.Column, tt.line, tt.col, tt.contains)
			}
		})
	}
}

// A project file may only make behaviour: and analysis: stricter: what would loosen
// them is not applied and is listed in Refused. The same file as --policy applies.
func TestProjectCannotLoosenDetection(t *testing.T) {
	tests := []struct {
		name, user, project string
		refused             []string
		check               func(*Policy) bool
	}{
		{"monitor off", "", "behaviour: {monitor: false}", []string{"behaviour.monitor: false would turn the behaviour monitor off"},
			func(p *Policy) bool { return p.Behaviour.Monitor }},
		{"behaviour threshold raised", "", "behaviour: {block: none}", []string{"behaviour.block: none would raise the blocking threshold from high"},
			func(p *Policy) bool { return p.Behaviour.Block == ThresholdHigh }},
		{"analysis threshold raised", "analysis: {block: low}", "analysis: {block: medium}", []string{"analysis.block: medium would raise the blocking threshold from low"},
			func(p *Policy) bool { return p.Analysis.Block == ThresholdLow }},
		{"typosquat off", "", "analysis: {typosquat: off}", []string{"analysis.typosquat: off would loosen it from warn"},
			func(p *Policy) bool { return p.Analysis.Typosquat == RuleWarn }},
		{"rule set to warn", "", "behaviour: {rules: {PB-BEHAVIOUR-NETWORK: warn}}", []string{"behaviour.rules: PB-BEHAVIOUR-NETWORK: warn may stop it from blocking"},
			func(p *Policy) bool { _, _, ok := p.RuleOverride("PB-BEHAVIOUR-NETWORK"); return !ok }},
		{"rule loosened from the user's warn", "analysis: {rules: {PB-ANALYSIS-EVAL: warn}}", "analysis: {rules: {PB-ANALYSIS-EVAL: off}}",
			[]string{"analysis.rules: PB-ANALYSIS-EVAL: off"},
			func(p *Policy) bool { a, _, _ := p.RuleOverride("PB-ANALYSIS-EVAL"); return a == RuleWarn }},
		// Tightening applies, silently.
		{"monitor on", "behaviour: {monitor: false}", "behaviour: {monitor: true}", nil,
			func(p *Policy) bool { return p.Behaviour.Monitor }},
		{"threshold lowered", "", "behaviour: {block: low}\nanalysis: {block: medium}", nil,
			func(p *Policy) bool { return p.Behaviour.Block == ThresholdLow && p.Analysis.Block == ThresholdMedium }},
		{"typosquat block", "", "analysis: {typosquat: block}", nil,
			func(p *Policy) bool { return p.Analysis.Typosquat == RuleBlock }},
		{"rule set to block over the user's off", "behaviour: {rules: {PB-BEHAVIOUR-DETACH: off}}", "behaviour: {rules: {PB-BEHAVIOUR-DETACH: block}}", nil,
			func(p *Policy) bool { a, _, _ := p.RuleOverride("PB-BEHAVIOUR-DETACH"); return a == RuleBlock }},
		{"rule warn over the user's off", "behaviour: {rules: {PB-BEHAVIOUR-DETACH: off}}", "behaviour: {rules: {PB-BEHAVIOUR-DETACH: warn}}", nil,
			func(p *Policy) bool { a, _, _ := p.RuleOverride("PB-BEHAVIOUR-DETACH"); return a == RuleWarn }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			user := write(t, filepath.Join(dir, "user.yaml"), tt.user)
			write(t, filepath.Join(dir, "proj", ProjectFile), tt.project)
			p, err := Load(Sources{UserFile: user, ProjectDir: filepath.Join(dir, "proj")})
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Refused) != len(tt.refused) {
				t.Fatalf("refused = %q, want %d entries", p.Refused, len(tt.refused))
			}
			for i, w := range tt.refused {
				if !strings.Contains(p.Refused[i], w) || !strings.Contains(p.Refused[i], ProjectFile) {
					t.Errorf("refused[%d] = %q, want it to name the file and contain %q", i, p.Refused[i], w)
				}
			}
			if !tt.check(p) {
				t.Errorf("effective policy: behaviour %+v analysis %+v", p.Behaviour, p.Analysis)
			}
			if len(p.Weakened) != 0 {
				t.Errorf("weakened = %q; a refused setting did not loosen anything", p.Weakened)
			}
			// The same settings in --policy are the user's own choice: applied, not refused.
			p2, err := Load(Sources{UserFile: user, File: filepath.Join(dir, "proj", ProjectFile)})
			if err != nil {
				t.Fatal(err)
			}
			if len(p2.Refused) != 0 {
				t.Errorf("--policy refused: %q", p2.Refused)
			}
		})
	}
}

// Ignoring a detection rule from a project file applies (a team shares its false
// alarms there) but is reported, like ignoring a malware advisory.
func TestProjectIgnoreOfRuleIsReported(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "proj", ProjectFile), `
ignore:
  - {id: PB-BEHAVIOUR-NETWORK, package: esbuild@0.21.5, reason: fetches its binary}
  - {id: pb-analysis-eval, reason: all of them}
  - {id: GHSA-1, reason: r}
`)
	p, err := Load(Sources{NoUser: true, ProjectDir: filepath.Join(dir, "proj")})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Weakened) != 2 || !strings.Contains(p.Weakened[0], "ignores the detection rule PB-BEHAVIOUR-NETWORK for esbuild@0.21.5 (fetches its binary)") ||
		!strings.Contains(p.Weakened[1], "pb-analysis-eval for every package") {
		t.Errorf("weakened = %q", p.Weakened)
	}
	if _, ok := p.MatchIgnore([]string{"PB-BEHAVIOUR-NETWORK"}, "npm", "esbuild", "0.21.5", time.Now()); !ok {
		t.Error("the project's ignore does not apply")
	}
}

func TestScriptNetworkAllows(t *testing.T) {
	p, err := Parse("p.yaml", []byte(`script_network: [{package: puppeteer@22.0.0, hosts: ["storage.googleapis.com:443", "[::1]:8080"]}]`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, version, hostport string
		want                    bool
	}{
		{"puppeteer", "22.0.0", "storage.googleapis.com:443", true},
		{"puppeteer", "22.0.0", "Storage.GoogleAPIs.com.:0443", true}, // canonicalised like the entries
		{"puppeteer", "22.0.0", "[::1]:8080", true},
		{"puppeteer", "22.0.0", "storage.googleapis.com:80", false},
		{"puppeteer", "22.0.0", "evil.example:443", false},
		{"puppeteer", "21.0.0", "storage.googleapis.com:443", false},
		{"puppeteer-core", "22.0.0", "storage.googleapis.com:443", false},
		{"puppeteer", "22.0.0", "storage.googleapis.com", false}, // no port: never allowed
	} {
		if got := p.ScriptNetworkAllows("npm", tt.name, tt.version, tt.hostport); got != tt.want {
			t.Errorf("ScriptNetworkAllows(%s@%s, %s) = %v, want %v", tt.name, tt.version, tt.hostport, got, tt.want)
		}
	}
}

package report

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phylum-box/phylum-box/precheck"
	"github.com/phylum-box/phylum-box/precheck/policy"
)

// detectionVerdict: evil-pkg blocked by a behaviour finding (five evidence lines,
// one with control characters), a warning from the analysis on the same package,
// typo-pkg warned by the typosquat rule, ignored-pkg with an ignored finding, the
// (build) pseudo-package, and lodash with its advisory.
func detectionVerdict(t *testing.T, dir, extraPolicy string) *precheck.Verdict {
	t.Helper()
	lock := filepath.Join(dir, "package-lock.json")
	evil := precheck.Package{Ecosystem: "npm", Name: "evil-pkg", Version: "1.0.0", Source: lock + ":40"}
	typo := precheck.Package{Ecosystem: "npm", Name: "lodahs", Version: "4.17.21", Source: lock + ":50"}
	ign := precheck.Package{Ecosystem: "npm", Name: "ignored-pkg", Version: "2.0.0", Source: lock + ":60"}
	lodash := precheck.Package{Ecosystem: "npm", Name: "lodash", Version: "4.17.11", Source: lock + ":300"}
	pol, err := policy.Parse("policy.yaml", []byte("ignore: [{id: PB-BEHAVIOUR-SECRET-READ, package: ignored-pkg@2.0.0, reason: reads its own config}]\n"+extraPolicy))
	if err != nil {
		t.Fatal(err)
	}
	db := tableDB{"lodash@4.17.11": {{ID: "GHSA-jf85-cpcp-j695", Kind: precheck.Vulnerability, Severity: precheck.SeverityCritical, Summary: "Prototype Pollution in lodash"}}}
	base, err := (&precheck.Engine{DB: db, Policy: pol, Now: now}).Evaluate(context.Background(), []precheck.Package{evil, typo, ign, lodash})
	if err != nil {
		t.Fatal(err)
	}
	e := &precheck.Engine{Policy: pol, Now: now}
	return e.Judge(context.Background(), base, map[precheck.Package][]precheck.Finding{
		evil: {
			{ID: "PB-BEHAVIOUR-NETWORK", Kind: precheck.Behaviour, Severity: precheck.SeverityHigh, Summary: "install script tried the network",
				Evidence: []string{"pid 12 node install.js: connect 203.0.113.5:443", "pid 12 node install.js: dns exfil.example\x1b[2J",
					"pid 13 curl: connect 203.0.113.5:80", "pid 13 curl: connect 203.0.113.6:80", "pid 13 curl: connect 203.0.113.7:80"}},
			{ID: "PB-ANALYSIS-ENCODED-BLOB", Kind: precheck.Analysis, Severity: precheck.SeverityMedium, Summary: "long base64 string",
				Evidence: []string{"lib/data.js:7: const s = \"aGVsbG8…\" (40 kB)", "lib/more.js:9: another"}},
		},
		typo: {{ID: "PB-ANALYSIS-TYPOSQUAT", Kind: precheck.Analysis, Severity: precheck.SeverityHigh, Summary: "one edit from lodash", Evidence: []string{"lodahs ~ lodash (transposition)"}}},
		ign:  {{ID: "PB-BEHAVIOUR-SECRET-READ", Kind: precheck.Behaviour, Severity: precheck.SeverityHigh, Summary: "read a credential file", Evidence: []string{"open ~/.npmrc"}}},
		precheck.StepPackage("npm", "build"): {{ID: "PB-BEHAVIOUR-DETACH", Kind: precheck.Behaviour, Severity: precheck.SeverityLow,
			Summary: "a process outlived the step", Evidence: []string{"pid 30 sleep 600"}, Candidates: []string{"a@1.0.0", "b@2.0.0"}}},
	})
}

func TestTextDetection(t *testing.T) {
	dir := t.TempDir()
	v := detectionVerdict(t, dir, "")
	var buf bytes.Buffer
	if err := WriteText(&buf, v, Options{BaseDir: dir}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"evil-pkg@1.0.0 (npm) BLOCKED  package-lock.json:40\n" +
			"  ✗ PB-BEHAVIOUR-NETWORK  behaviour high  install script tried the network\n" +
			"      pid 12 node install.js: connect 203.0.113.5:443\n" +
			"      pid 12 node install.js: dns exfil.example [2J\n" +
			"      pid 13 curl: connect 203.0.113.5:80\n" +
			"      … and 2 more (--format json lists them all)\n" +
			"      PB-BEHAVIOUR-NETWORK: behaviour high ≥ high (behaviour.block)\n" +
			"      if it is a false alarm, add to the ignore list of the policy (.phylum-box.yaml, or your own ~/.config/phylum-box/policy.yaml):\n" +
			"        - {id: \"PB-BEHAVIOUR-NETWORK\", package: \"evil-pkg@1.0.0\", reason: \"why this is a false alarm\"}\n" +
			// A warning: compact, first evidence line, no ignore entry.
			"  · PB-ANALYSIS-ENCODED-BLOB  analysis medium  long base64 string\n" +
			"      lib/data.js:7: const s = \"aGVsbG8…\" (40 kB)\n" +
			"      … and 1 more (--format json lists them all)\n" +
			"      PB-ANALYSIS-ENCODED-BLOB: analysis medium < high, not blocking (analysis.block)\n\n",
		"ignored-pkg@2.0.0 (npm) allowed  package-lock.json:60\n" +
			"  ~ PB-BEHAVIOUR-SECRET-READ  behaviour high  read a credential file\n" +
			"      ignored PB-BEHAVIOUR-SECRET-READ: reads its own config\n\n",
		"lodahs@4.17.21 (npm) allowed  package-lock.json:50\n" +
			"  · PB-ANALYSIS-TYPOSQUAT  analysis high  one edit from lodash\n" +
			"      lodahs ~ lodash (transposition)\n" +
			"      PB-ANALYSIS-TYPOSQUAT: warn, not blocking (analysis.typosquat)\n\n",
		"(build) (npm) allowed  (code that ran outside every package)\n" +
			"  · PB-BEHAVIOUR-DETACH  behaviour low  a process outlived the step\n" +
			"      pid 30 sleep 600\n" +
			"      the monitor could not tell which package ran it; it may be any of: a@1.0.0, b@2.0.0\n",
		"  ✗ GHSA-jf85-cpcp-j695  critical  Prototype Pollution in lodash\n",
		"blocked: 2 of 5 packages blocked; 6 findings in 5 packages; 1 ignored by policy",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks\n%s\n--- output:\n%s", want, out)
		}
	}
	if strings.ContainsRune(out, 0x1b) {
		t.Error("a control character from the evidence reached the terminal")
	}
}

func TestJSONDetection(t *testing.T) {
	dir := t.TempDir()
	v := detectionVerdict(t, dir, "behaviour: {rules: {PB-BEHAVIOUR-DETACH: warn}}\nanalysis: {typosquat: warn}\n")
	var buf bytes.Buffer
	if err := WriteJSON(&buf, v, Options{}); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Summary  map[string]int
		Packages []struct {
			Name         string
			Findings     []map[string]any
			Behaviour    []map[string]any
			Analysis     []map[string]any
			Blocked      bool
			Reasons      []string
			Unattributed bool
		}
		Policy struct {
			Behaviour map[string]any
			Analysis  map[string]any
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"packages": 5, "blocked": 2, "findings": 1, "behaviour": 3, "analysis": 2, "ignored": 1}
	for k, n := range want {
		if doc.Summary[k] != n {
			t.Errorf("summary.%s = %d, want %d", k, doc.Summary[k], n)
		}
	}
	for _, p := range doc.Packages {
		if p.Findings == nil || p.Behaviour == nil || p.Analysis == nil {
			t.Errorf("%s: findings/behaviour/analysis must be lists, never null", p.Name)
		}
		switch p.Name {
		case "evil-pkg":
			if len(p.Findings) != 0 || len(p.Behaviour) != 1 || len(p.Analysis) != 1 || !p.Blocked {
				t.Fatalf("evil-pkg = %+v", p)
			}
			b := p.Behaviour[0]
			for k, w := range map[string]any{"id": "PB-BEHAVIOUR-NETWORK", "severity": "high", "summary": "install script tried the network",
				"blocking": true, "ignored": false, "reason": "PB-BEHAVIOUR-NETWORK: behaviour high ≥ high (behaviour.block)",
				"ignore_entry": `{id: "PB-BEHAVIOUR-NETWORK", package: "evil-pkg@1.0.0", reason: "why this is a false alarm"}`} {
				if b[k] != w {
					t.Errorf("behaviour.%s = %v, want %v", k, b[k], w)
				}
			}
			if ev := b["evidence"].([]any); len(ev) != 5 || ev[1] != "pid 12 node install.js: dns exfil.example\x1b[2J" {
				t.Errorf("evidence = %q: JSON carries every line as it was", ev)
			}
			if c, ok := b["candidates"].([]any); !ok || len(c) != 0 {
				t.Errorf("candidates = %#v, want []", b["candidates"])
			}
			if len(p.Reasons) != 1 || p.Reasons[0] != b["reason"] {
				t.Errorf("reasons = %q", p.Reasons)
			}
		case "lodash":
			if len(p.Findings) != 1 || len(p.Behaviour) != 0 {
				t.Errorf("lodash = %+v", p)
			}
		case "(build)":
			if !p.Unattributed || len(p.Behaviour) != 1 || p.Behaviour[0]["reason"] != "PB-BEHAVIOUR-DETACH: warn, not blocking (behaviour.rules)" ||
				len(p.Behaviour[0]["candidates"].([]any)) != 2 {
				t.Errorf("(build) = %+v", p)
			}
		}
	}
	if b := doc.Policy.Behaviour; b["monitor"] != true || b["block"] != "high" || b["rules"].(map[string]any)["PB-BEHAVIOUR-DETACH"] != "warn" {
		t.Errorf("policy.behaviour = %v", b)
	}
	if a := doc.Policy.Analysis; a["block"] != "high" || a["typosquat"] != "warn" || len(a["rules"].(map[string]any)) != 0 {
		t.Errorf("policy.analysis = %v", a)
	}
}

func TestSARIFDetection(t *testing.T) {
	dir := t.TempDir()
	v := detectionVerdict(t, dir, "")
	var buf bytes.Buffer
	if err := WriteSARIF(&buf, v, Options{BaseDir: dir}); err != nil {
		t.Fatal(err)
	}
	var log struct {
		Runs []struct {
			Tool struct {
				Driver struct {
					Rules []struct {
						ID               string
						HelpURI          string `json:"helpUri"`
						ShortDescription struct{ Text string }
						Properties       map[string]any
					}
				}
			}
			Results []struct {
				RuleID           string
				RuleIndex        int
				Level            string
				Message          struct{ Text string }
				Locations        []map[string]any
				RelatedLocations []struct {
					ID               int
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI       string
							URIBaseID string `json:"uriBaseId"`
						}
						Region struct{ StartLine int }
					}
					Message struct{ Text string }
				}
				Suppressions []map[string]any
			}
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	run := log.Runs[0]
	rules := map[string]int{}
	for i, r := range run.Tool.Driver.Rules {
		rules[r.ID] = i
		if strings.HasPrefix(r.ID, "PB-") {
			if !strings.HasSuffix(r.HelpURI, "docs/detection.md") || !strings.Contains(r.ShortDescription.Text, r.ID) {
				t.Errorf("rule %s = %+v", r.ID, r)
			}
		}
	}
	if r := run.Tool.Driver.Rules[rules["PB-BEHAVIOUR-NETWORK"]]; r.Properties["security-severity"] != "8.0" {
		t.Errorf("network rule properties = %v", r.Properties)
	}
	seen := map[string]bool{}
	for _, r := range run.Results {
		seen[r.RuleID] = true
		if rules[r.RuleID] != r.RuleIndex {
			t.Errorf("%s: ruleIndex %d, want %d", r.RuleID, r.RuleIndex, rules[r.RuleID])
		}
		switch r.RuleID {
		case "PB-BEHAVIOUR-NETWORK":
			if r.Level != "error" || !strings.Contains(r.Message.Text, "evil-pkg@1.0.0 (npm): PB-BEHAVIOUR-NETWORK (behaviour high) — install script tried the network. Evidence: pid 12 node install.js: connect 203.0.113.5:443; ") ||
				!strings.Contains(r.Message.Text, `add to the policy's ignore list: {id: "PB-BEHAVIOUR-NETWORK", package: "evil-pkg@1.0.0"`) ||
				strings.ContainsRune(r.Message.Text, 0x1b) {
				t.Errorf("network result = %+v", r)
			}
			if len(r.RelatedLocations) != 0 || len(r.Locations) != 1 {
				t.Errorf("behaviour evidence has no file:line: %+v", r.RelatedLocations)
			}
		case "PB-ANALYSIS-ENCODED-BLOB":
			if r.Level != "warning" || len(r.RelatedLocations) != 2 {
				t.Fatalf("blob result = %+v", r)
			}
			rl := r.RelatedLocations[0]
			if rl.PhysicalLocation.ArtifactLocation.URI != "lib/data.js" || rl.PhysicalLocation.ArtifactLocation.URIBaseID != "PACKAGE_ROOT" ||
				rl.PhysicalLocation.Region.StartLine != 7 || !strings.HasPrefix(rl.Message.Text, "lib/data.js:7: ") || r.RelatedLocations[1].ID != 1 {
				t.Errorf("related location = %+v", rl)
			}
		case "PB-BEHAVIOUR-SECRET-READ":
			if len(r.Suppressions) != 1 || strings.Contains(r.Message.Text, "false alarm") {
				t.Errorf("ignored result = %+v", r)
			}
		}
	}
	for _, id := range []string{"PB-BEHAVIOUR-NETWORK", "PB-ANALYSIS-ENCODED-BLOB", "PB-ANALYSIS-TYPOSQUAT", "PB-BEHAVIOUR-SECRET-READ", "PB-BEHAVIOUR-DETACH", "GHSA-jf85-cpcp-j695"} {
		if !seen[id] {
			t.Errorf("no result for %s", id)
		}
	}
	if seen["phylum-box/policy"] {
		t.Error("a finding's reason was reported again as a policy result")
	}
}

func TestEvidenceLocations(t *testing.T) {
	f := precheck.Finding{Evidence: []string{
		"index.js:3: eval(x)",
		"lib/a b.js:12:5: spaced path, column",
		"/etc/passwd:1: absolute path",
		"../../x.js:2: escapes the package",
		"pid 12 node: connect 1.2.3.4:443",
		"setup.py:0: line zero",
	}}
	var got []string
	for _, l := range evidenceLocations(f) {
		got = append(got, l.PhysicalLocation.ArtifactLocation.URI+"#"+string(rune('0'+l.PhysicalLocation.Region.StartLine%10)))
	}
	if strings.Join(got, " ") != "index.js#3 lib/a%20b.js#2" {
		t.Errorf("locations = %q", got)
	}
}

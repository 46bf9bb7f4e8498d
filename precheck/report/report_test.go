package report

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/phylum-box/phylum-box/precheck"
	"github.com/phylum-box/phylum-box/precheck/policy"
)

// tableDB is a fixed in-memory database; the reports are rendered from verdicts the
// real engine produces.
type tableDB map[string][]precheck.Finding

func (t tableDB) LookupAll(_ context.Context, pkgs []precheck.Package) ([]precheck.Lookup, error) {
	out := make([]precheck.Lookup, len(pkgs))
	for i, p := range pkgs {
		out[i].Findings = t[p.Name+"@"+p.Version]
	}
	return out, nil
}

func (t tableDB) Status() (precheck.DatabaseStatus, error) {
	return precheck.DatabaseStatus{Path: "/cache/osv.db", Updated: now.Add(-3 * time.Hour), Ecosystems: []precheck.EcosystemStatus{
		{Name: "npm", Records: 42, Updated: now.Add(-3 * time.Hour)}}}, nil
}

var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func verdict(t *testing.T, projectDir, policyYAML string) *precheck.Verdict {
	t.Helper()
	lock := filepath.Join(projectDir, "package-lock.json")
	pkgs := []precheck.Package{
		{Ecosystem: "npm", Name: "chalk", Version: "5.6.1", Source: lock + ":120"},
		{Ecosystem: "npm", Name: "lodash", Version: "4.17.11", Source: lock + ":300"},
		{Ecosystem: "npm", Name: "semver", Version: "7.5.1", Source: lock + ":410"},
		{Ecosystem: "npm", Name: "left-pad", Version: "1.3.0", Source: lock + ":500"},
		{Ecosystem: "npm", Name: "mylib", Source: lock + ":12", Uncheckable: true, Reason: "git dependency"},
		{Ecosystem: "npm", Name: "evil\x1b[2Jname", Version: "1.0.0", Source: lock},
	}
	db := tableDB{
		"chalk@5.6.1": {{ID: "MAL-2025-46969", Kind: precheck.Malicious, Summary: "Malicious code in chalk (npm)"}},
		"lodash@4.17.11": {{ID: "GHSA-jf85-cpcp-j695", Kind: precheck.Vulnerability, Severity: precheck.SeverityCritical,
			Aliases: []string{"CVE-2019-10744"}, Summary: "Prototype Pollution in lodash", Score: 9.1}},
		"semver@7.5.1": {{ID: "GHSA-c2qf-rxjj-qqgw", Kind: precheck.Vulnerability, Severity: precheck.SeverityMedium,
			Summary: "semver vulnerable to Regular Expression Denial of Service\nsecond line"}},
		"evil\x1b[2Jname@1.0.0": {{ID: "GHSA-evil", Kind: precheck.Vulnerability, Severity: precheck.SeverityLow, Summary: "bell\a and \x1b]0;title\a"}},
	}
	pol, err := policy.Parse("policy.yaml", []byte(policyYAML))
	if err != nil {
		t.Fatal(err)
	}
	v, err := (&precheck.Engine{DB: db, Policy: pol, Now: now}).Evaluate(context.Background(), pkgs)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

const ignoreLodash = "ignore: [{id: CVE-2019-10744, package: lodash, until: 2027-01-01, reason: not reachable}]\n"

func TestJSON(t *testing.T) {
	dir := t.TempDir()
	v := verdict(t, dir, ignoreLodash)
	var buf bytes.Buffer
	if err := Write(&buf, JSON, v, Options{BaseDir: dir}); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		SchemaVersion int    `json:"schema_version"`
		Verdict       string `json:"verdict"`
		Summary       map[string]int
		Packages      []map[string]any
		Database      map[string]any
		Policy        map[string]any
		Problems      []string
		Warnings      []string
	}
	dec := json.NewDecoder(&buf)
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if doc.SchemaVersion != 1 || doc.Verdict != "blocked" {
		t.Errorf("schema_version %d verdict %q", doc.SchemaVersion, doc.Verdict)
	}
	want := map[string]int{"packages": 6, "blocked": 1, "unchecked": 1, "findings": 4, "ignored": 1}
	for k, n := range want {
		if doc.Summary[k] != n {
			t.Errorf("summary.%s = %d, want %d", k, doc.Summary[k], n)
		}
	}
	byName := map[string]map[string]any{}
	for _, p := range doc.Packages {
		for _, k := range []string{"ecosystem", "name", "version", "findings", "blocked", "reasons"} {
			if _, ok := p[k]; !ok {
				t.Errorf("package %v lacks %q", p["name"], k)
			}
		}
		byName[p["name"].(string)] = p
	}
	chalk := byName["chalk"]
	f := chalk["findings"].([]any)[0].(map[string]any)
	for k, want := range map[string]any{"id": "MAL-2025-46969", "kind": "malicious", "severity": "unknown",
		"summary": "Malicious code in chalk (npm)", "blocking": true, "ignored": false, "reason": "malicious (block.malicious)"} {
		if f[k] != want {
			t.Errorf("chalk finding %s = %v, want %v", k, f[k], want)
		}
	}
	if a, ok := f["aliases"].([]any); !ok || len(a) != 0 {
		t.Errorf("aliases = %#v, want an empty list, never null", f["aliases"])
	}
	if chalk["blocked"] != true || chalk["source"] != filepath.Join(dir, "package-lock.json")+":120" {
		t.Errorf("chalk = %v", chalk)
	}
	lf := byName["lodash"]["findings"].([]any)[0].(map[string]any)
	if lf["ignored"] != true || lf["severity"] != "critical" || lf["score"] != 9.1 || lf["aliases"].([]any)[0] != "CVE-2019-10744" {
		t.Errorf("lodash finding = %v", lf)
	}
	if r := byName["lodash"]["reasons"].([]any); len(r) != 1 || r[0] != "ignored CVE-2019-10744 until 2027-01-01: not reachable" {
		t.Errorf("lodash reasons = %v", r)
	}
	if fs, ok := byName["left-pad"]["findings"].([]any); !ok || len(fs) != 0 {
		t.Errorf("clean package findings = %#v, want []", byName["left-pad"]["findings"])
	}
	if m := byName["mylib"]; m["uncheckable"] != true || m["uncheckable_reason"] != "git dependency" || m["unchecked"] != true {
		t.Errorf("mylib = %v", m)
	}
	db := doc.Database
	if db["available"] != true || db["path"] != "/cache/osv.db" || db["max_age"] != "3d" || db["stale"] != false ||
		db["updated"] != "2026-11-25T09:00:00Z" {
		t.Errorf("database = %v", db)
	}
	if eco := db["ecosystems"].([]any)[0].(map[string]any); eco["name"] != "npm" || eco["records"] != 42.0 {
		t.Errorf("ecosystems = %v", db["ecosystems"])
	}
	if doc.Policy["block_vulnerability"] != "high" || doc.Policy["block_malicious"] != true || doc.Policy["ignores"] != 1.0 ||
		doc.Policy["database_when_stale"] != "fail" || doc.Policy["min_release_age"] != "0s" {
		t.Errorf("policy = %v", doc.Policy)
	}
	if doc.Problems == nil || doc.Warnings == nil {
		t.Error("problems and warnings must be lists, never null")
	}
}

func TestJSONNoDatabase(t *testing.T) {
	v, err := (&precheck.Engine{Now: now}).Evaluate(context.Background(), []precheck.Package{{Ecosystem: "npm", Name: "a", Version: "1.0.0"}})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteJSON(&buf, v, Options{}); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	db := doc["database"].(map[string]any)
	if doc["verdict"] != "incomplete" || db["available"] != false || db["updated"] != nil || db["stale"] != true {
		t.Errorf("doc = %v", doc)
	}
	if p := doc["problems"].([]any); len(p) != 1 || !strings.Contains(p[0].(string), "phylum-box db update") {
		t.Errorf("problems = %v", p)
	}
}

func TestSARIF(t *testing.T) {
	dir := t.TempDir()
	v := verdict(t, dir, ignoreLodash+"uncheckable: fail\n")
	var buf bytes.Buffer
	if err := Write(&buf, SARIF, v, Options{BaseDir: dir, ToolVersion: "1.2.3"}); err != nil {
		t.Fatal(err)
	}
	var log struct {
		Version string `json:"version"`
		Schema  string `json:"$schema"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name    string
					Version string
					Rules   []struct {
						ID                   string
						ShortDescription     struct{ Text string }
						HelpURI              string
						DefaultConfiguration struct{ Level string }
						Properties           map[string]any
					}
				}
			}
			Invocations []struct {
				ExecutionSuccessful        bool
				ToolExecutionNotifications []struct {
					Level   string
					Message struct{ Text string }
				}
			}
			Results []struct {
				RuleID    string
				RuleIndex int
				Level     string
				Message   struct{ Text string }
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI       string
							URIBaseID string `json:"uriBaseId"`
						}
						Region *struct{ StartLine int }
					}
					LogicalLocations []struct{ FullyQualifiedName string }
				}
				PartialFingerprints map[string]string
				Suppressions        []struct{ Kind, Justification string }
			}
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	if log.Version != "2.1.0" || !strings.Contains(log.Schema, "sarif-2.1.0") || len(log.Runs) != 1 {
		t.Fatalf("version %q schema %q runs %d", log.Version, log.Schema, len(log.Runs))
	}
	run := log.Runs[0]
	if run.Tool.Driver.Name != "phylum-box" || run.Tool.Driver.Version != "1.2.3" {
		t.Errorf("driver = %+v", run.Tool.Driver)
	}
	rules := map[string]int{}
	for i, r := range run.Tool.Driver.Rules {
		if _, dup := rules[r.ID]; dup {
			t.Errorf("rule %s twice", r.ID)
		}
		rules[r.ID] = i
		if r.ShortDescription.Text == "" || r.DefaultConfiguration.Level == "" {
			t.Errorf("rule %s incomplete: %+v", r.ID, r)
		}
	}
	for _, id := range []string{"MAL-2025-46969", "GHSA-jf85-cpcp-j695", "GHSA-c2qf-rxjj-qqgw", "GHSA-evil", "phylum-box/uncheckable"} {
		if _, ok := rules[id]; !ok {
			t.Errorf("no rule for %s (rules %v)", id, rules)
		}
	}
	mal := run.Tool.Driver.Rules[rules["MAL-2025-46969"]]
	if mal.HelpURI != "https://osv.dev/vulnerability/MAL-2025-46969" || mal.Properties["security-severity"] != "10.0" {
		t.Errorf("malware rule = %+v", mal)
	}
	if s := run.Tool.Driver.Rules[rules["GHSA-jf85-cpcp-j695"]].Properties["security-severity"]; s != "9.1" {
		t.Errorf("security-severity from CVSS score = %v", s)
	}
	if len(run.Results) != 5 {
		t.Errorf("%d results, want one per (package, advisory) plus the uncheckable entry", len(run.Results))
	}
	levels := map[string]string{}
	for _, r := range run.Results {
		if i, ok := rules[r.RuleID]; !ok || i != r.RuleIndex {
			t.Errorf("result %s has ruleIndex %d, rule is at %d", r.RuleID, r.RuleIndex, i)
		}
		if r.Message.Text == "" || len(r.Locations) != 1 || len(r.PartialFingerprints) != 1 {
			t.Errorf("result %s incomplete: %+v", r.RuleID, r)
		}
		al := r.Locations[0].PhysicalLocation.ArtifactLocation
		if al.URI != "package-lock.json" || al.URIBaseID != "%SRCROOT%" {
			t.Errorf("result %s artifact = %+v, want package-lock.json relative to the project", r.RuleID, al)
		}
		levels[r.RuleID] = r.Level
		switch r.RuleID {
		case "MAL-2025-46969":
			if reg := r.Locations[0].PhysicalLocation.Region; reg == nil || reg.StartLine != 120 {
				t.Errorf("malware result region = %+v, want line 120", reg)
			}
			if fq := r.Locations[0].LogicalLocations[0].FullyQualifiedName; fq != "npm/chalk@5.6.1" {
				t.Errorf("logical location = %q", fq)
			}
		case "GHSA-jf85-cpcp-j695":
			if len(r.Suppressions) != 1 || r.Suppressions[0].Kind != "external" || !strings.Contains(r.Suppressions[0].Justification, "not reachable") {
				t.Errorf("ignored result suppressions = %+v", r.Suppressions)
			}
		case "GHSA-evil":
			if r.Locations[0].PhysicalLocation.Region != nil {
				t.Error("a source without a line must not get a region")
			}
		}
	}
	for id, want := range map[string]string{"MAL-2025-46969": "error", "GHSA-jf85-cpcp-j695": "warning",
		"GHSA-c2qf-rxjj-qqgw": "warning", "phylum-box/uncheckable": "error"} {
		if levels[id] != want {
			t.Errorf("level of %s = %q, want %q", id, levels[id], want)
		}
	}
	inv := run.Invocations[0]
	if !inv.ExecutionSuccessful || len(inv.ToolExecutionNotifications) == 0 || inv.ToolExecutionNotifications[0].Level != "error" {
		t.Errorf("invocation = %+v, want the uncheckable problem as an error notification", inv)
	}
}

func TestSARIFLockfileOutsideProject(t *testing.T) {
	v := verdict(t, "/elsewhere/proj", "")
	var buf bytes.Buffer
	if err := WriteSARIF(&buf, v, Options{BaseDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"uri": "file:///elsewhere/proj/package-lock.json"`) {
		t.Errorf("outside the project the uri must be absolute:\n%s", buf.String())
	}
}

func TestText(t *testing.T) {
	dir := t.TempDir()
	v := verdict(t, dir, ignoreLodash)
	var plain, colour bytes.Buffer
	if err := Write(&plain, Text, v, Options{BaseDir: dir}); err != nil {
		t.Fatal(err)
	}
	if err := Write(&colour, Text, v, Options{BaseDir: dir, Color: true}); err != nil {
		t.Fatal(err)
	}
	out := plain.String()
	if strings.ContainsAny(out, "\x1b\a") {
		t.Errorf("plain output has control characters:\n%q", out)
	}
	if !strings.Contains(colour.String(), "\x1b[31m") {
		t.Error("colour output has no colour")
	}
	for _, want := range []string{
		"chalk@5.6.1 (npm) BLOCKED  package-lock.json:120\n",
		"  ✗ MAL-2025-46969  malicious  Malicious code in chalk (npm)\n      malicious (block.malicious)\n",
		"lodash@4.17.11 (npm) allowed",
		"  ~ GHSA-jf85-cpcp-j695 (CVE-2019-10744)  critical  Prototype Pollution in lodash\n      ignored CVE-2019-10744 until 2027-01-01: not reachable\n",
		"  · GHSA-c2qf-rxjj-qqgw  medium  semver vulnerable to Regular Expression Denial of Service\n      vulnerability medium < high, not blocking",
		"Not checked (1):\n  ? mylib (npm)  package-lock.json:12 — uncheckable: git dependency (uncheckable: warn)\n",
		"evil [2Jname@1.0.0",
		"Warnings:\n  ! mylib (npm) cannot be checked: git dependency\n",
		"blocked: 1 of 6 packages blocked; 4 findings in 4 packages; 1 ignored by policy; 1 unchecked; database updated 3h ago\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "left-pad") {
		t.Error("a clean package is listed; it should only be counted")
	}
	if strings.Contains(out, "second line") {
		t.Error("summary not cut to one line")
	}
}

func TestTextPassAndIncomplete(t *testing.T) {
	pkgs := []precheck.Package{{Ecosystem: "npm", Name: "left-pad", Version: "1.3.0"}}
	v, _ := (&precheck.Engine{DB: tableDB{}, Now: now}).Evaluate(context.Background(), pkgs)
	var buf bytes.Buffer
	_ = WriteText(&buf, v, Options{})
	if got := buf.String(); got != "pass: 1 package checked, nothing blocks; database updated 3h ago\n" {
		t.Errorf("pass output = %q", got)
	}
	v, _ = (&precheck.Engine{Now: now}).Evaluate(context.Background(), pkgs)
	buf.Reset()
	_ = WriteText(&buf, v, Options{})
	if got := buf.String(); !strings.Contains(got, "The precheck could not decide:\n  ✗ no OSV database") ||
		!strings.HasSuffix(got, "incomplete: 1 package; the precheck could not decide (1 problem); 1 unchecked; no database\n") {
		t.Errorf("incomplete output = %q", got)
	}
}

func TestUnknownFormat(t *testing.T) {
	err := Write(&bytes.Buffer{}, "xml", &precheck.Verdict{}, Options{})
	if err == nil || !strings.Contains(err.Error(), "text, json, sarif") {
		t.Errorf("err = %v", err)
	}
}

func TestTextNotCheckedIsBounded(t *testing.T) {
	var pkgs []precheck.Package
	for i := range 25 {
		pkgs = append(pkgs, precheck.Package{Ecosystem: "npm", Name: fmt.Sprintf("local-%02d", i), Uncheckable: true, Reason: "local file dependency"})
	}
	v, err := (&precheck.Engine{DB: tableDB{}, Now: now}).Evaluate(context.Background(), pkgs)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	_ = WriteText(&buf, v, Options{})
	out := buf.String()
	if !strings.Contains(out, "Not checked (25):\n") || !strings.Contains(out, "? local-19 (npm) — uncheckable") ||
		strings.Contains(out, "local-20 (npm) —") || !strings.Contains(out, "  … and 5 more (--format json lists every package)\n") {
		t.Errorf("output:\n%s", out)
	}
	if !strings.Contains(out, "25 packages cannot be checked") || strings.Count(out, "\n") > 30 {
		t.Errorf("warnings not summarised:\n%s", out)
	}
}

// A blocked vulnerability says what to do next: a fixed release, or the ignore
// entry that accepts it for this version alone; malware gets no such entry.
func TestTextVulnerabilityNextStep(t *testing.T) {
	dir := t.TempDir()
	var buf bytes.Buffer
	if err := Write(&buf, Text, verdict(t, dir, ""), Options{BaseDir: dir}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	want := "      vulnerability critical ≥ high (block.vulnerability)\n" +
		"      install a release the advisory lists as fixed, or to accept the risk add to the ignore list of the policy (.phylum-box.yaml, or your own ~/.config/phylum-box/policy.yaml):\n" +
		"        - {id: \"GHSA-jf85-cpcp-j695\", package: \"lodash@4.17.11\", reason: \"why the risk is accepted\"}\n"
	if !strings.Contains(out, want) {
		t.Errorf("text output lacks %q:\n%s", want, out)
	}
	if strings.Count(out, "to accept the risk") != 1 {
		t.Errorf("the ignore entry is offered for other findings too:\n%s", out)
	}
}

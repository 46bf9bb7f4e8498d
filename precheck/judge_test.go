package precheck

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/phylum-box/phylum-box/precheck/policy"
)

var (
	evil      = Package{Ecosystem: NPM, Name: "evil-pkg", Version: "1.0.0", Source: "package-lock.json:40"}
	netHigh   = Finding{ID: "PB-BEHAVIOUR-NETWORK", Kind: Behaviour, Severity: SeverityHigh, Summary: "install script tried the network", Evidence: []string{"pid 12 node install.js: connect 203.0.113.5:443", "pid 12 node install.js: dns exfil.example"}}
	detachMed = Finding{ID: "PB-BEHAVIOUR-DETACH", Kind: Behaviour, Severity: SeverityMedium, Summary: "a process tried to outlive the script", Evidence: []string{"pid 14 setsid sleep 600"}}
	evalHigh  = Finding{ID: "PB-ANALYSIS-EVAL-DECODE", Kind: Analysis, Severity: SeverityHigh, Summary: "eval of decoded data", Evidence: []string{"package/index.js:3: eval(Buffer.from(s, 'base64').toString())"}}
	typoHigh  = Finding{ID: "PB-ANALYSIS-TYPOSQUAT", Kind: Analysis, Severity: SeverityHigh, Summary: "name one edit away from lodash", Evidence: []string{"lodahs ~ lodash"}}
	blobLow   = Finding{ID: "PB-ANALYSIS-ENCODED-BLOB", Kind: Analysis, Severity: SeverityLow, Evidence: []string{"package/a.js:1: 40 kB base64"}}
)

func baseVerdict(t *testing.T, pol *policy.Policy, pkgs ...Package) *Verdict {
	t.Helper()
	v, err := (&Engine{DB: freshDB(nil), Policy: pol, Now: now}).Evaluate(context.Background(), pkgs)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestJudgeDetection(t *testing.T) {
	tests := []struct {
		name     string
		policy   string
		finding  Finding
		blocking bool
		ignored  bool
		dropped  bool
		reason   string
	}{
		{"behaviour high blocks by default", "", netHigh, true, false, false, "PB-BEHAVIOUR-NETWORK: behaviour high ≥ high (behaviour.block)"},
		{"behaviour medium warns by default", "", detachMed, false, false, false, "PB-BEHAVIOUR-DETACH: behaviour medium < high, not blocking (behaviour.block)"},
		{"behaviour medium blocks under block: medium", "behaviour: {block: medium}", detachMed, true, false, false, "PB-BEHAVIOUR-DETACH: behaviour medium ≥ medium (behaviour.block)"},
		{"behaviour block: none", "behaviour: {block: none}", netHigh, false, false, false, "PB-BEHAVIOUR-NETWORK: behaviour high not blocking (behaviour.block: none)"},
		{"analysis high blocks by default", "", evalHigh, true, false, false, "PB-ANALYSIS-EVAL-DECODE: analysis high ≥ high (analysis.block)"},
		{"analysis low warns", "", blobLow, false, false, false, "PB-ANALYSIS-ENCODED-BLOB: analysis low < high, not blocking (analysis.block)"},
		{"behaviour threshold does not apply to analysis", "behaviour: {block: low}", blobLow, false, false, false, "(analysis.block)"},
		{"unknown severity counts as medium", "analysis: {block: medium}", Finding{ID: "PB-ANALYSIS-X", Kind: Analysis}, true, false, false,
			"PB-ANALYSIS-X: analysis of unknown severity, counted as medium, ≥ medium (analysis.block)"},
		{"rule set to warn", "behaviour: {rules: {PB-BEHAVIOUR-NETWORK: warn}}", netHigh, false, false, false, "PB-BEHAVIOUR-NETWORK: warn, not blocking (behaviour.rules)"},
		{"rule set to block", "behaviour: {rules: {PB-BEHAVIOUR-DETACH: block}}", detachMed, true, false, false, "PB-BEHAVIOUR-DETACH: block (behaviour.rules)"},
		{"rule set to off", "analysis: {rules: {PB-ANALYSIS-EVAL-DECODE: off}}", evalHigh, false, false, true, ""},
		{"typosquat warns by default, whatever its severity", "", typoHigh, false, false, false, "PB-ANALYSIS-TYPOSQUAT: warn, not blocking (analysis.typosquat)"},
		{"typosquat: block", "analysis: {typosquat: block}", typoHigh, true, false, false, "PB-ANALYSIS-TYPOSQUAT: block (analysis.typosquat)"},
		{"typosquat: off", "analysis: {typosquat: off}", typoHigh, false, false, true, ""},
		{"ignore honoured", "ignore: [{id: PB-BEHAVIOUR-NETWORK, package: evil-pkg@1.0.0, reason: our mirror}]", netHigh, false, true, false,
			"ignored PB-BEHAVIOUR-NETWORK: our mirror"},
		{"ignore of another version does not apply", "ignore: [{id: PB-BEHAVIOUR-NETWORK, package: evil-pkg@0.9.0, reason: r}]", netHigh, true, false, false,
			"PB-BEHAVIOUR-NETWORK: behaviour high ≥ high (behaviour.block)"},
		{"ignore of another rule does not apply", "ignore: [{id: PB-BEHAVIOUR-SECRET-READ, package: evil-pkg, reason: r}]", netHigh, true, false, false,
			"(behaviour.block)"},
		{"expired ignore", "ignore: [{id: PB-ANALYSIS-EVAL-DECODE, until: 2026-01-01, reason: r}]", evalHigh, true, false, false,
			"PB-ANALYSIS-EVAL-DECODE: analysis high ≥ high (analysis.block); the ignore of PB-ANALYSIS-EVAL-DECODE expired on 2026-01-01 (test.yaml:1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pol := mustPolicy(t, tt.policy)
			base := baseVerdict(t, pol, evil, clean)
			e := Engine{Policy: pol, Now: now}
			v := e.Judge(context.Background(), base, map[Package][]Finding{{Ecosystem: NPM, Name: "evil-pkg", Version: "1.0.0"}: {tt.finding}})
			if len(v.Packages) != 2 {
				t.Fatalf("packages = %+v", v.Packages)
			}
			var r PackageResult
			for _, p := range v.Packages {
				if p.Name == "evil-pkg" {
					r = p
				} else if len(p.Findings) > 0 || p.Blocked {
					t.Errorf("%s got the finding too", p.Name)
				}
			}
			if tt.dropped {
				if len(r.Findings) != 0 || r.Blocked || v.Result != Pass {
					t.Errorf("a rule set to off still reported: %+v, %s", r, v.Result)
				}
				return
			}
			if len(r.Findings) != 1 {
				t.Fatalf("findings = %+v", r.Findings)
			}
			f := r.Findings[0]
			if f.Blocking != tt.blocking || f.Ignored != tt.ignored || !strings.Contains(f.Reason, tt.reason) {
				t.Errorf("finding = blocking %v ignored %v reason %q, want %v %v %q", f.Blocking, f.Ignored, f.Reason, tt.blocking, tt.ignored, tt.reason)
			}
			if r.Blocked != tt.blocking || (v.Result == Blocked) != tt.blocking || (v.ExitCode() == 3) != tt.blocking {
				t.Errorf("package blocked %v, verdict %s; want blocked %v", r.Blocked, v.Result, tt.blocking)
			}
			if (tt.blocking || tt.ignored) && !slices.Contains(r.Reasons, f.Reason) {
				t.Errorf("reasons %q lack %q", r.Reasons, f.Reason)
			}
			if !tt.blocking && !tt.ignored && len(r.Reasons) != 0 {
				t.Errorf("a warning made reasons %q", r.Reasons)
			}
			if f.IgnoreEntry != `{id: "`+tt.finding.ID+`", package: "evil-pkg@1.0.0", reason: "why this is a false alarm"}` {
				t.Errorf("ignore entry = %s", f.IgnoreEntry)
			}
			if len(f.Evidence) != len(tt.finding.Evidence) {
				t.Errorf("evidence = %q", f.Evidence)
			}
			nb := NotBlockingFindings(v)
			if warned := !tt.blocking && !tt.ignored; warned != (len(nb) == 1) {
				t.Errorf("not-blocking list = %+v", nb)
			}
		})
	}
}

// The entry a blocked report prints, pasted into the policy, is an ignore that
// applies — to this version only.
func TestJudgeIgnoreEntryRoundTrip(t *testing.T) {
	for _, p := range []Package{evil, {Ecosystem: NPM, Name: "@scope/evil", Version: "2.0.0"}, {Ecosystem: PyPI, Name: "Evil_Pkg", Version: "1.0"},
		StepPackage(NPM, "build"), {Ecosystem: NPM, Name: `we"ird\name`, Version: "1"}} {
		v := (&Engine{Now: now}).Judge(context.Background(), baseVerdict(t, nil, p), map[Package][]Finding{p: {netHigh}})
		r := findPackage(t, v, p.Name)
		if !r.Blocked {
			t.Fatalf("%s not blocked", p.Name)
		}
		entry := r.Findings[0].IgnoreEntry
		pol := mustPolicy(t, "ignore:\n  - "+entry+"\n")
		v = (&Engine{Now: now}).Judge(context.Background(), baseVerdict(t, pol, p), map[Package][]Finding{p: {netHigh}})
		if r := findPackage(t, v, p.Name); r.Blocked || !r.Findings[0].Ignored || v.Result != Pass {
			t.Errorf("%s: the printed entry %s does not silence the finding: %+v", p.Name, entry, r)
		}
		if p.Version != "" {
			next := p
			next.Version += ".1"
			v = (&Engine{Now: now}).Judge(context.Background(), baseVerdict(t, pol, next), map[Package][]Finding{next: {netHigh}})
			if !findPackage(t, v, p.Name).Blocked {
				t.Errorf("%s: the entry also silences the next version", p.Name)
			}
		}
	}
}

func findPackage(t *testing.T, v *Verdict, name string) PackageResult {
	t.Helper()
	for _, p := range v.Packages {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no package %q in %+v", name, v.Packages)
	return PackageResult{}
}

func TestJudgePseudoAndUnlistedPackages(t *testing.T) {
	base := baseVerdict(t, nil, clean)
	v := (&Engine{Now: now}).Judge(context.Background(), base, map[Package][]Finding{
		StepPackage(NPM, "build"):          {netHigh},
		{Ecosystem: NPM}:                   {detachMed},
		{Ecosystem: NPM, Name: "new-dep"}:  {evalHigh},
		{Ecosystem: NPM, Name: "left-pad"}: {}, // nothing to say: untouched
	})
	if v.Result != Blocked {
		t.Errorf("result = %s", v.Result)
	}
	var names []string
	for _, p := range v.Packages {
		names = append(names, p.Name)
	}
	if strings.Join(names, " ") != "(build) (unattributed) left-pad new-dep" {
		t.Errorf("packages = %q, want sorted with the pseudo-packages", names)
	}
	if b := findPackage(t, v, "(build)"); !b.Blocked || !b.Unattributed || b.Findings[0].IgnoreEntry != `{id: "PB-BEHAVIOUR-NETWORK", package: "(build)", reason: "why this is a false alarm"}` {
		t.Errorf("(build) = %+v", b)
	}
	if u := findPackage(t, v, UnattributedName); u.Blocked || !u.Unattributed || len(u.Findings) != 1 {
		t.Errorf("(unattributed) = %+v", u)
	}
	if n := findPackage(t, v, "new-dep"); !n.Blocked || n.Unattributed {
		t.Errorf("new-dep = %+v", n)
	}
	if len(base.Packages) != 1 || base.Result != Pass {
		t.Errorf("base changed: %+v", base)
	}
}

func TestJudgeMergesAndKeepsBase(t *testing.T) {
	// Two lockfile entries of the same version, a vulnerability already on one and a
	// release-age block on another package: all of it survives, base is unchanged.
	evil2 := evil
	evil2.Source = "packages/a/package-lock.json:7"
	db := freshDB(map[string][]Finding{"npm/evil-pkg@1.0.0": {{ID: "GHSA-med", Kind: Vulnerability, Severity: SeverityMedium}}})
	base, err := (&Engine{DB: db, Now: now}).Evaluate(context.Background(), []Package{evil, evil2, clean})
	if err != nil {
		t.Fatal(err)
	}
	baseFindings := len(base.Packages[1].Findings)
	e := &Engine{Now: now}
	// An empty version matches every version of the name.
	key := Package{Ecosystem: NPM, Name: "evil-pkg"}
	v := e.Judge(context.Background(), base, map[Package][]Finding{key: {detachMed}})
	if v.Result != Pass {
		t.Fatalf("a medium finding blocked: %s", v.Result)
	}
	// The build's monitor sees the same rule again, higher, with new evidence.
	again := detachMed
	again.Severity = SeverityHigh
	again.Evidence = []string{"pid 20 nohup node payload.js", detachMed.Evidence[0]}
	v2 := e.Judge(context.Background(), v, map[Package][]Finding{key: {again, netHigh}})
	if v2.Result != Blocked || v.Result != Pass {
		t.Fatalf("results %s then %s", v.Result, v2.Result)
	}
	n := 0
	for _, p := range v2.Packages {
		if p.Name != "evil-pkg" {
			continue
		}
		n++
		var ids []string
		for _, f := range p.Findings {
			ids = append(ids, f.ID)
		}
		if strings.Join(ids, " ") != "PB-BEHAVIOUR-DETACH PB-BEHAVIOUR-NETWORK GHSA-med" {
			t.Errorf("%s findings = %q (blocking first, then by severity)", p.Source, ids)
		}
		d := p.Findings[0]
		if d.Severity != SeverityHigh || strings.Join(d.Evidence, "|") != "pid 14 setsid sleep 600|pid 20 nohup node payload.js" || !d.Blocking {
			t.Errorf("merged finding = %+v", d)
		}
		want := []string{"PB-BEHAVIOUR-DETACH: behaviour high ≥ high (behaviour.block)", "PB-BEHAVIOUR-NETWORK: behaviour high ≥ high (behaviour.block)"}
		if !slices.Equal(p.Reasons, want) {
			t.Errorf("reasons = %q, want %q", p.Reasons, want)
		}
	}
	if n != 2 {
		t.Errorf("%d evil-pkg entries judged, want both lockfile entries", n)
	}
	if len(base.Packages[1].Findings) != baseFindings || len(v.Packages[1].Findings) != 2 {
		t.Error("Judge changed the verdict it was given")
	}
}

func TestJudgeKeepsIncomplete(t *testing.T) {
	base, err := (&Engine{Now: now}).Evaluate(context.Background(), []Package{evil}) // no database: incomplete
	if err != nil {
		t.Fatal(err)
	}
	e := &Engine{Now: now}
	if v := e.Judge(context.Background(), base, map[Package][]Finding{evil: {detachMed}}); v.Result != Incomplete || len(v.Problems) != 1 {
		t.Errorf("a warning changed an incomplete verdict: %s %q", v.Result, v.Problems)
	}
	if v := e.Judge(context.Background(), base, map[Package][]Finding{evil: {netHigh}}); v.Result != Blocked {
		t.Errorf("blocked must win over incomplete: %s", v.Result)
	}
	if v := e.Judge(context.Background(), nil, map[Package][]Finding{evil: {netHigh}}); v.Result != Blocked || len(v.Packages) != 1 {
		t.Errorf("nil base: %+v", v)
	}
}

func TestExplain(t *testing.T) {
	v := (&Engine{Now: now}).Judge(context.Background(), baseVerdict(t, nil, evil), map[Package][]Finding{evil: {netHigh}})
	r := findPackage(t, v, "evil-pkg")
	got := Explain(r.Package, r.Findings[0])
	want := `evil-pkg@1.0.0 (npm): PB-BEHAVIOUR-NETWORK install script tried the network (pid 12 node install.js: connect 203.0.113.5:443; 1 more) — ` +
		`PB-BEHAVIOUR-NETWORK: behaviour high ≥ high (behaviour.block); if it is a false alarm, add to the policy's ignore list: ` +
		`{id: "PB-BEHAVIOUR-NETWORK", package: "evil-pkg@1.0.0", reason: "why this is a false alarm"}`
	if got != want {
		t.Errorf("Explain =\n%s\nwant\n%s", got, want)
	}
}

func TestRefusedProjectSettingsWarn(t *testing.T) {
	pol := policy.Default()
	pol.Refused = []string{".phylum-box.yaml: behaviour.monitor: false would turn the behaviour monitor off; only your own policy or --policy can"}
	v := baseVerdict(t, pol, clean)
	if len(v.Warnings) != 1 || !strings.Contains(v.Warnings[0], "not applied") || !strings.Contains(v.Warnings[0], "behaviour.monitor: false") {
		t.Errorf("warnings = %q", v.Warnings)
	}
}

func TestNotBlockingSummaryDetection(t *testing.T) {
	v := (&Engine{Now: now}).Judge(context.Background(), baseVerdict(t, nil, evil), map[Package][]Finding{evil: {detachMed}})
	got := NotBlockingSummary(v, 5)
	want := []string{"1 finding did not block; installed anyway:",
		"  PB-BEHAVIOUR-DETACH  behaviour medium  evil-pkg@1.0.0  a process tried to outlive the script (pid 14 setsid sleep 600)"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestFileFinding(t *testing.T) {
	a := Package{Ecosystem: NPM, Name: "a", Version: "1.0.0"}
	b := Package{Ecosystem: NPM, Name: "b", Version: "2.0.0"}
	extra := map[Package][]Finding{}
	FileFinding(extra, NPM, "build", a, nil, netHigh)
	FileFinding(extra, NPM, "build", Package{}, []Package{a, b}, detachMed)
	FileFinding(extra, NPM, "build", Package{}, nil, evalHigh)
	if len(extra[a]) != 2 || len(extra[b]) != 1 || len(extra[StepPackage(NPM, "build")]) != 1 {
		t.Fatalf("extra = %+v", extra)
	}
	if c := extra[b][0].Candidates; strings.Join(c, " ") != "a@1.0.0 b@2.0.0" {
		t.Errorf("candidates = %q", c)
	}
	v := (&Engine{Now: now}).Judge(context.Background(), baseVerdict(t, mustPolicy(t, "behaviour: {block: medium}"), a, b), extra)
	if !findPackage(t, v, "a").Blocked || !findPackage(t, v, "b").Blocked || !findPackage(t, v, "(build)").Blocked {
		t.Errorf("every candidate and the step must be judged: %+v", v.Packages)
	}
}

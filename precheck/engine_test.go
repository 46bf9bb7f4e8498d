package precheck

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/phylum-box/phylum-box/precheck/policy"
)

// memDB is an in-memory Database for engine tests; the real osvdb is exercised
// end to end in engine_osvdb_test.go.
type memDB struct {
	status    DatabaseStatus
	findings  map[string][]Finding // "ecosystem/name@version"
	errs      map[string]error     // per-package lookup errors, same keys
	err       error
	statusErr error
	looked    []Package
}

func (m *memDB) LookupAll(_ context.Context, pkgs []Package) ([]Lookup, error) {
	if m.err != nil {
		return nil, m.err
	}
	m.looked = append(m.looked, pkgs...)
	out := make([]Lookup, len(pkgs))
	for i, p := range pkgs {
		k := p.Ecosystem + "/" + p.Name + "@" + p.Version
		out[i] = Lookup{Findings: m.findings[k], Err: m.errs[k]}
	}
	return out, nil
}

func (m *memDB) Status() (DatabaseStatus, error) { return m.status, m.statusErr }

var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func freshDB(findings map[string][]Finding) *memDB {
	up := now.Add(-2 * time.Hour)
	return &memDB{
		status: DatabaseStatus{Path: "/db", Updated: up, Ecosystems: []EcosystemStatus{
			{Name: NPM, Records: 100, Updated: up}, {Name: PyPI, Records: 10, Updated: up},
		}},
		findings: findings,
	}
}

var (
	chalk    = Package{Ecosystem: NPM, Name: "chalk", Version: "5.6.1", Source: "package-lock.json"}
	lodash   = Package{Ecosystem: NPM, Name: "lodash", Version: "4.17.11", Source: "package-lock.json"}
	minimist = Package{Ecosystem: NPM, Name: "minimist", Version: "1.2.5", Source: "package-lock.json"}
	clean    = Package{Ecosystem: NPM, Name: "left-pad", Version: "1.3.0", Source: "package-lock.json"}
	jinja    = Package{Ecosystem: PyPI, Name: "jinja2", Version: "3.1.2", Source: "requirements.txt"}
	gitDep   = Package{Ecosystem: NPM, Name: "mylib", Source: "package-lock.json", Uncheckable: true, Reason: "git dependency git+https://example.com/mylib.git"}

	malChalk   = Finding{ID: "MAL-2025-46969", Kind: Malicious, Summary: "Malicious code in chalk (npm)"}
	critLodash = Finding{ID: "GHSA-jf85-cpcp-j695", Kind: Vulnerability, Severity: SeverityCritical, Aliases: []string{"CVE-2019-10744"}, Summary: "Prototype Pollution in lodash"}
	medJinja   = Finding{ID: "GHSA-h5c8-rqwp-cp95", Kind: Vulnerability, Severity: SeverityMedium, Summary: "Jinja vulnerable to HTML attribute injection"}
	unkMini    = Finding{ID: "GHSA-unknown-sev", Kind: Vulnerability, Severity: SeverityUnknown, Summary: "no severity given"}
)

func corpusFindings() map[string][]Finding {
	return map[string][]Finding{
		"npm/chalk@5.6.1":    {malChalk},
		"npm/lodash@4.17.11": {critLodash, critLodash}, // a duplicate from the database is folded
		"npm/minimist@1.2.5": {unkMini},
		"PyPI/jinja2@3.1.2":  {medJinja},
	}
}

func mustPolicy(t *testing.T, yaml string) *policy.Policy {
	t.Helper()
	p, err := policy.Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func find(v *Verdict, name string) *PackageResult {
	for i := range v.Packages {
		if v.Packages[i].Name == name {
			return &v.Packages[i]
		}
	}
	return nil
}

func TestEvaluate(t *testing.T) {
	tests := []struct {
		name     string
		pkgs     []Package
		db       Database // nil: freshDB(corpusFindings())
		noDB     bool
		policy   string
		want     Result
		blocked  []string          // names of blocked packages
		reasons  map[string]string // package name → substring of one of its Reasons
		problems []string          // substrings, in order
		warnings []string          // substrings, any order
	}{
		{name: "clean packages pass", pkgs: []Package{clean, jinja}, want: Pass},
		{name: "malware blocks by default", pkgs: []Package{clean, chalk}, want: Blocked,
			blocked: []string{"chalk"}, reasons: map[string]string{"chalk": "malicious (block.malicious)"}},
		{name: "malware not blocking when turned off", pkgs: []Package{chalk}, policy: "block: {malicious: false}", want: Pass},
		{name: "critical blocks at high", pkgs: []Package{lodash}, want: Blocked, blocked: []string{"lodash"},
			reasons: map[string]string{"lodash": "vulnerability critical ≥ high (block.vulnerability)"}},
		{name: "medium passes at high", pkgs: []Package{jinja}, want: Pass},
		{name: "medium blocks at medium", pkgs: []Package{jinja}, policy: "block: {vulnerability: medium}", want: Blocked, blocked: []string{"jinja2"}},
		{name: "threshold none never blocks", pkgs: []Package{lodash, jinja}, policy: "block: {vulnerability: none}", want: Pass},
		{name: "unknown severity passes at high", pkgs: []Package{minimist}, want: Pass},
		{name: "unknown severity counts as medium", pkgs: []Package{minimist}, policy: "block: {vulnerability: medium}", want: Blocked,
			blocked: []string{"minimist"}, reasons: map[string]string{"minimist": "of unknown severity, counted as medium, ≥ medium"}},
		{name: "live ignore by alias", pkgs: []Package{lodash},
			policy: "ignore: [{id: CVE-2019-10744, package: lodash, until: 2027-01-01, reason: not reachable}]", want: Pass,
			reasons: map[string]string{"lodash": "ignored CVE-2019-10744 until 2027-01-01: not reachable"}},
		{name: "ignore for another package does not apply", pkgs: []Package{lodash},
			policy: "ignore: [{id: GHSA-jf85-cpcp-j695, package: lodash-es, reason: r}]", want: Blocked, blocked: []string{"lodash"}},
		{name: "expired ignore no longer applies", pkgs: []Package{lodash},
			policy: "ignore: [{id: GHSA-jf85-cpcp-j695, until: 2026-01-01, reason: was fine}]", want: Blocked, blocked: []string{"lodash"},
			reasons:  map[string]string{"lodash": "the ignore of GHSA-jf85-cpcp-j695 expired on 2026-01-01 (test.yaml:1)"},
			warnings: []string{"ignore of GHSA-jf85-cpcp-j695 expired on 2026-01-01"}},
		{name: "ignoring malware is possible and said", pkgs: []Package{chalk},
			policy: "ignore: [{id: MAL-2025-46969, reason: false positive}]", want: Pass,
			reasons: map[string]string{"chalk": "ignored MAL-2025-46969: false positive"}},
		{name: "missing database is incomplete", pkgs: []Package{clean}, noDB: true, want: Incomplete,
			problems: []string{"no OSV database; run `phylum-box db update`"}},
		{name: "missing database under warn passes with a warning", pkgs: []Package{clean}, noDB: true,
			policy: "database: {when_stale: warn}", want: Pass, warnings: []string{"no OSV database"}},
		{name: "missing database still blocks nothing it cannot see", pkgs: []Package{chalk}, noDB: true,
			policy: "database: {when_stale: warn}", want: Pass},
		{name: "stale database is incomplete", pkgs: []Package{clean},
			db:   &memDB{status: DatabaseStatus{Ecosystems: []EcosystemStatus{{Name: NPM, Records: 5, Updated: now.Add(-100 * time.Hour)}}}},
			want: Incomplete, problems: []string{"the npm advisories were updated 4d ago, more than database.max_age 3d"}},
		{name: "stale under warn still finds malware", pkgs: []Package{chalk}, policy: "database: {when_stale: warn}",
			db: &memDB{status: DatabaseStatus{Ecosystems: []EcosystemStatus{{Name: NPM, Records: 5, Updated: now.Add(-100 * time.Hour)}}},
				findings: corpusFindings()},
			want: Blocked, blocked: []string{"chalk"}, warnings: []string{"updated 4d ago"}},
		{name: "max_age from the policy", pkgs: []Package{clean}, policy: "database: {max_age: 1h}", want: Incomplete,
			problems: []string{"updated 2h ago, more than database.max_age 1h0m0s"}},
		{name: "ecosystem missing from the database", pkgs: []Package{clean, {Ecosystem: CratesIO, Name: "regex", Version: "1.5.4"}},
			want: Incomplete, problems: []string{"no crates.io advisories; run `phylum-box db update --ecosystem crates.io`"}},
		{name: "ecosystem with zero records", pkgs: []Package{clean},
			db:   &memDB{status: DatabaseStatus{Ecosystems: []EcosystemStatus{{Name: NPM, Records: 0, Updated: now}}}},
			want: Incomplete, problems: []string{"no npm advisories"}},
		{name: "database-wide update time is used when the ecosystem has none", pkgs: []Package{clean},
			db:   &memDB{status: DatabaseStatus{Updated: now.Add(-time.Hour), Ecosystems: []EcosystemStatus{{Name: NPM, Records: 3}}}},
			want: Pass},
		{name: "uncheckable warns by default", pkgs: []Package{clean, gitDep}, want: Pass,
			warnings: []string{"mylib (npm) cannot be checked: git dependency"}, reasons: map[string]string{"mylib": "uncheckable: git dependency"}},
		{name: "uncheckable fails when strict", pkgs: []Package{gitDep}, policy: "uncheckable: fail", want: Incomplete,
			problems: []string{"mylib (npm) cannot be checked: git dependency git+https://example.com/mylib.git (uncheckable: fail)"}},
		{name: "many uncheckable packages make one line", pkgs: []Package{
			{Ecosystem: NPM, Name: "a", Uncheckable: true, Reason: "file"}, {Ecosystem: NPM, Name: "b", Uncheckable: true, Reason: "file"},
			{Ecosystem: NPM, Name: "c", Uncheckable: true, Reason: "file"}, {Ecosystem: NPM, Name: "d", Uncheckable: true, Reason: "file"},
			{Ecosystem: NPM, Name: "e", Uncheckable: true, Reason: "file"}, {Ecosystem: NPM, Name: "f", Uncheckable: true, Reason: "file"},
			{Ecosystem: NPM, Name: "g", Uncheckable: true, Reason: "file"}}, policy: "uncheckable: fail", want: Incomplete,
			problems: []string{"7 packages cannot be checked (git, file, path or URL sources, or failed lookups): a (npm), b (npm), c (npm), d (npm), e (npm) and 2 more (uncheckable: fail)"},
			reasons:  map[string]string{"g": "uncheckable: file (uncheckable: fail)"}},
		{name: "only uncheckable packages need no database", pkgs: []Package{gitDep}, noDB: true, want: Pass},
		{name: "blocked wins over incomplete", pkgs: []Package{chalk, gitDep}, policy: "uncheckable: fail", want: Blocked,
			blocked: []string{"chalk"}, problems: []string{"cannot be checked"}},
		{name: "no packages pass", pkgs: nil, want: Pass},
		{name: "unreadable database is like a missing one", pkgs: []Package{chalk},
			db:   &memDB{statusErr: errors.New("format 7, this phylum-box reads format 1: run `phylum-box db update`"), err: errors.New("must not be called")},
			want: Incomplete, problems: []string{"the OSV database cannot be used: format 7"}},
		{name: "a failed lookup is unchecked, not clean", pkgs: []Package{{Ecosystem: PyPI, Name: "odd", Version: "2004d"}}, want: Pass,
			db: func() *memDB {
				d := freshDB(nil)
				d.errs = map[string]error{"PyPI/odd@2004d": errors.New("invalid PEP 440 version")}
				return d
			}(),
			warnings: []string{"odd@2004d (PyPI) cannot be checked: lookup failed: invalid PEP 440 version"},
			reasons:  map[string]string{"odd": "uncheckable: lookup failed"}},
		{name: "findings that matched before a lookup error still block", pkgs: []Package{chalk},
			db: func() *memDB {
				d := freshDB(corpusFindings())
				d.errs = map[string]error{"npm/chalk@5.6.1": errors.New("range GHSA-x: bad version")}
				return d
			}(),
			want: Blocked, blocked: []string{"chalk"}, warnings: []string{"lookup failed: range GHSA-x"}},
		{name: "a failed lookup under uncheckable: fail is incomplete", pkgs: []Package{{Ecosystem: PyPI, Name: "odd", Version: "2004d"}},
			policy: "uncheckable: fail", want: Incomplete,
			db: func() *memDB {
				d := freshDB(nil)
				d.errs = map[string]error{"PyPI/odd@2004d": errors.New("invalid PEP 440 version")}
				return d
			}(),
			problems: []string{"odd@2004d (PyPI) cannot be checked: lookup failed: invalid PEP 440 version (uncheckable: fail)"}},
		{name: "release age without metadata is a warning", pkgs: []Package{clean}, policy: "min_release_age: 2d", want: Pass,
			warnings: []string{"min_release_age 2d is not enforced here"}},
		{name: "weakening project policy is a warning", pkgs: []Package{clean}, want: Pass, warnings: []string{"project policy loosens"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var db Database = freshDB(corpusFindings())
			if tt.db != nil {
				db = tt.db
			}
			if tt.noDB {
				db = nil
			}
			pol := mustPolicy(t, tt.policy)
			if strings.HasPrefix(tt.name, "weakening") {
				pol.Weakened = []string{".phylum-box.yaml: block.malicious: false"}
			}
			v, err := (&Engine{DB: db, Policy: pol, Now: now}).Evaluate(context.Background(), tt.pkgs)
			if err != nil {
				t.Fatal(err)
			}
			if code := map[Result]int{Pass: 0, Blocked: 3, Incomplete: 5}[tt.want]; v.ExitCode() != code {
				t.Errorf("exit code = %d, want %d", v.ExitCode(), code)
			}
			if v.Result != tt.want {
				t.Errorf("result = %s, want %s (problems %q, warnings %q)", v.Result, tt.want, v.Problems, v.Warnings)
			}
			var blocked []string
			for _, p := range v.Packages {
				if p.Blocked {
					blocked = append(blocked, p.Name)
				}
			}
			if strings.Join(blocked, ",") != strings.Join(tt.blocked, ",") {
				t.Errorf("blocked = %v, want %v", blocked, tt.blocked)
			}
			for name, want := range tt.reasons {
				p := find(v, name)
				if p == nil {
					t.Fatalf("package %s missing from verdict", name)
				}
				if !containsAny(p.Reasons, want) {
					t.Errorf("%s reasons = %q, want one containing %q", name, p.Reasons, want)
				}
			}
			if len(v.Problems) != len(tt.problems) {
				t.Errorf("problems = %q, want %d", v.Problems, len(tt.problems))
			}
			for i, want := range tt.problems {
				if i < len(v.Problems) && !strings.Contains(v.Problems[i], want) {
					t.Errorf("problem %d = %q, want it to contain %q", i, v.Problems[i], want)
				}
			}
			for _, want := range tt.warnings {
				if !containsAny(v.Warnings, want) {
					t.Errorf("warnings = %q, want one containing %q", v.Warnings, want)
				}
			}
			if len(v.Packages) != len(dedupe(tt.pkgs)) {
				t.Errorf("%d package results for %d packages", len(v.Packages), len(tt.pkgs))
			}
		})
	}
}

func containsAny(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func TestEvaluateDetails(t *testing.T) {
	db := freshDB(corpusFindings())
	pkgs := []Package{lodash, chalk, gitDep, lodash, jinja, clean}
	v, err := (&Engine{DB: db, Now: now}).Evaluate(context.Background(), pkgs)
	if err != nil {
		t.Fatal(err)
	}
	// Sorted by ecosystem then name; the duplicate lodash folded.
	var order []string
	for _, p := range v.Packages {
		order = append(order, p.Ecosystem+"/"+p.Name)
	}
	if got := strings.Join(order, " "); got != "PyPI/jinja2 npm/chalk npm/left-pad npm/lodash npm/mylib" {
		t.Errorf("order = %s", got)
	}
	// The uncheckable entry never went to the database.
	for _, p := range db.looked {
		if p.Uncheckable {
			t.Errorf("uncheckable %s was looked up", p.Name)
		}
	}
	l := find(v, "lodash")
	if len(l.Findings) != 1 || !l.Findings[0].Blocking || l.Findings[0].Severity != SeverityCritical {
		t.Errorf("lodash findings = %+v", l.Findings)
	}
	j := find(v, "jinja2")
	if len(j.Findings) != 1 || j.Findings[0].Blocking || j.Blocked || len(j.Reasons) != 0 {
		t.Errorf("jinja2 = %+v (a non-blocking finding is listed, but is not a reason)", j)
	}
	if !strings.Contains(j.Findings[0].Reason, "vulnerability medium < high, not blocking") {
		t.Errorf("jinja2 reason = %q", j.Findings[0].Reason)
	}
	if m := find(v, "mylib"); !m.Unchecked {
		t.Error("uncheckable package not marked unchecked")
	}
	if c := find(v, "left-pad"); c.Findings == nil {
		t.Error("clean packages carry an empty, non-nil findings list")
	}
	if !v.Database.Available || v.Database.Stale || v.Database.MaxAge != 72*time.Hour || v.Database.Path != "/db" {
		t.Errorf("database = %+v", v.Database)
	}
}

func TestFindingOrder(t *testing.T) {
	db := freshDB(map[string][]Finding{"npm/x@1": {
		{ID: "GHSA-b", Kind: Vulnerability, Severity: SeverityLow},
		{ID: "GHSA-a", Kind: Vulnerability, Severity: SeverityCritical},
		{ID: "MAL-1", Kind: Malicious},
		{ID: "GHSA-c", Kind: Vulnerability, Severity: SeverityHigh},
	}})
	v, err := (&Engine{DB: db, Now: now}).Evaluate(context.Background(), []Package{{Ecosystem: NPM, Name: "x", Version: "1"}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range v.Packages[0].Findings {
		ids = append(ids, f.ID)
	}
	if got := strings.Join(ids, ","); got != "MAL-1,GHSA-a,GHSA-c,GHSA-b" {
		t.Errorf("order = %s, want blocking first, malware first, then by severity", got)
	}
}

func TestEvaluateDatabaseError(t *testing.T) {
	db := freshDB(nil)
	db.err = errors.New("bbolt: corrupt page")
	_, err := (&Engine{DB: db, Now: now}).Evaluate(context.Background(), []Package{clean})
	if err == nil || !strings.Contains(err.Error(), "corrupt page") {
		t.Errorf("err = %v", err)
	}
}

type memMetadata map[string]Metadata

func (m memMetadata) Metadata(_ context.Context, p Package) (Metadata, error) {
	md, ok := m[p.Name]
	if !ok {
		return Metadata{}, errors.New("registry returned 404")
	}
	return md, nil
}

func TestReleaseAge(t *testing.T) {
	md := memMetadata{
		"left-pad": {Published: now.Add(-5 * time.Hour)},
		"lodash":   {Published: now.Add(-400 * 24 * time.Hour)},
		"chalk":    {},
	}
	e := Engine{DB: freshDB(nil), Policy: mustPolicy(t, "min_release_age: 2d"), Metadata: md, Now: now}
	v, err := e.Evaluate(context.Background(), []Package{clean, lodash, chalk, minimist, gitDep})
	if err != nil {
		t.Fatal(err)
	}
	if v.Result != Blocked {
		t.Errorf("result = %s", v.Result)
	}
	lp := find(v, "left-pad")
	if !lp.Blocked || !containsAny(lp.Reasons, "published 5h ago, younger than min_release_age 2d") {
		t.Errorf("left-pad = %+v", lp)
	}
	if find(v, "lodash").Blocked {
		t.Error("an old release was blocked")
	}
	if !containsAny(v.Warnings, "chalk@5.6.1 (npm): the registry gives no publish time") {
		t.Errorf("warnings = %q", v.Warnings)
	}
	if !containsAny(v.Problems, "minimist@1.2.5 (npm): cannot read registry metadata") {
		t.Errorf("problems = %q", v.Problems)
	}
	if find(v, "mylib").Metadata != nil {
		t.Error("metadata was fetched for an uncheckable package")
	}
	if m := find(v, "minimist"); m.Blocked || !containsAny(m.Reasons, "no registry metadata for min_release_age: registry returned 404") {
		t.Errorf("minimist = %+v", m)
	}
}

// A registry outage gives one problem line, not one per package.
func TestReleaseAgeOutageIsOneLine(t *testing.T) {
	var pkgs []Package
	for i := range 30 {
		pkgs = append(pkgs, Package{Ecosystem: NPM, Name: fmt.Sprintf("p%02d", i), Version: "1.0.0"})
	}
	e := Engine{DB: freshDB(nil), Policy: mustPolicy(t, "min_release_age: 2d"), Metadata: memMetadata{}, Now: now}
	v, err := e.Evaluate(context.Background(), pkgs)
	if err != nil {
		t.Fatal(err)
	}
	if v.Result != Incomplete || len(v.Problems) != 1 ||
		v.Problems[0] != "cannot read registry metadata for min_release_age for 30 packages: p00@1.0.0 (npm), p01@1.0.0 (npm), p02@1.0.0 (npm), p03@1.0.0 (npm), p04@1.0.0 (npm) and 25 more (first error: registry returned 404)" {
		t.Errorf("result %s, problems %q", v.Result, v.Problems)
	}
}

// BenchmarkEvaluate measures the engine alone (policy and bookkeeping, no database
// I/O) on a lockfile-sized input: 1,405 packages, as in vite's pnpm-lock.yaml.
func BenchmarkEvaluate(b *testing.B) {
	findings := map[string][]Finding{}
	var pkgs []Package
	for i := range 1405 {
		p := Package{Ecosystem: NPM, Name: fmt.Sprintf("pkg-%d", i), Version: "1.0.0", Source: "pnpm-lock.yaml"}
		pkgs = append(pkgs, p)
		if i%50 == 0 {
			findings["npm/"+p.Name+"@1.0.0"] = []Finding{{ID: fmt.Sprintf("GHSA-%d", i), Kind: Vulnerability, Severity: SeverityMedium}}
		}
	}
	db := freshDB(findings)
	pol := policy.Default()
	pol.Ignore = []policy.Ignore{{ID: "GHSA-100", Reason: "r"}, {ID: "GHSA-200", Until: now.Add(-time.Hour), Reason: "r"}}
	b.ReportAllocs()
	for b.Loop() {
		db.looked = db.looked[:0]
		if _, err := (&Engine{DB: db, Policy: pol, Now: now}).Evaluate(context.Background(), pkgs); err != nil {
			b.Fatal(err)
		}
	}
}

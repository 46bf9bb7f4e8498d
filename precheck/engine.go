package precheck

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/phylum-box/phylum-box/internal/exitcode"
	"github.com/phylum-box/phylum-box/precheck/policy"
)

// Database is what the engine needs of the advisory database. osvdb.DB satisfies it
// through a small adapter; tests use an in-memory one.
type Database interface {
	// LookupAll returns one Lookup per package, in the order of pkgs. The error is
	// for failures of the database as a whole.
	LookupAll(ctx context.Context, pkgs []Package) ([]Lookup, error)
	Status() (DatabaseStatus, error)
}

// Lookup is the database's answer for one package. Err is set when the package could
// not be checked (an unparsable version against a range, an unsupported ecosystem);
// such a package counts as unchecked, never as clean.
type Lookup struct {
	Findings []Finding
	Err      error
}

// DatabaseStatus describes the database's contents and freshness.
type DatabaseStatus struct {
	Path string `json:"path,omitempty"`
	// Updated is the time of the last successful import or update.
	Updated    time.Time         `json:"updated"`
	Ecosystems []EcosystemStatus `json:"ecosystems"`
}

// EcosystemStatus is one ecosystem's part of DatabaseStatus.
type EcosystemStatus struct {
	Name    string    `json:"name"`
	Records int       `json:"records"`
	Updated time.Time `json:"updated"`
}

// RegistryMetadata answers what only the package registry knows. It is the hook for
// the package-manager wrappers, which talk to the registry while resolving; the
// offline `phylum-box check` has none, and then min_release_age is reported as not
// enforced rather than guessed.
type RegistryMetadata interface {
	Metadata(ctx context.Context, pkg Package) (Metadata, error)
}

// Metadata is what the registry says about one package version.
type Metadata struct {
	// Published is when this version was published; zero when the registry does not say.
	Published time.Time `json:"published,omitzero"`
	// InstallScripts is set when the version declares install-time scripts.
	InstallScripts bool `json:"install_scripts,omitempty"`
	// Integrity is the registry's hash of the version's tarball (SRI; npm's
	// dist.integrity and dist.shasum), "" when it gives none.
	Integrity string `json:"integrity,omitempty"`
	// ScriptsAddedAfter is the version before this one when this one is the first
	// to run an install script; OnlyVersion is set when the package has no other
	// published version. Signals for the analysis of a package new to a project.
	ScriptsAddedAfter string `json:"scripts_added_after,omitempty"`
	OnlyVersion       bool   `json:"only_version,omitempty"`
}

// Result is the overall outcome of a precheck.
type Result string

const (
	// Pass: nothing blocks and the precheck could decide.
	Pass Result = "pass"
	// Blocked: at least one package is blocked by the policy (exit 3). Blocked wins
	// over Incomplete: a definite "no" is more useful than "could not decide".
	Blocked Result = "blocked"
	// Incomplete: the precheck could not decide under a fail-closed policy (exit 5).
	Incomplete Result = "incomplete"
)

// Verdict is the engine's answer for a set of packages.
type Verdict struct {
	Result Result
	// Packages holds every distinct package checked, sorted by ecosystem, name,
	// version and source.
	Packages []PackageResult
	Database DatabaseReport
	// Problems are the reasons the verdict is Incomplete (each would make it so
	// on its own); Warnings are the same kinds of problem under a "warn" policy,
	// plus notes such as expired ignores and weakening project policies.
	Problems []string
	Warnings []string
	// ExpiredIgnores are policy ignore entries whose date has passed.
	ExpiredIgnores []policy.Ignore
	// PolicyFiles are the policy files that were merged, lowest precedence first.
	PolicyFiles []string
	// Policy is the merged policy the verdict was reached under.
	Policy    *policy.Policy
	CheckedAt time.Time
}

// ExitCode maps the result to the exit-code contract: 0 pass, 3 blocked, 5 incomplete.
func (v *Verdict) ExitCode() int {
	switch v.Result {
	case Blocked:
		return exitcode.Blocked
	case Incomplete:
		return exitcode.Incomplete
	}
	return exitcode.OK
}

// PackageResult is the verdict for one package.
type PackageResult struct {
	Package
	Findings []FindingResult
	Blocked  bool
	// Reasons name the rules that fired for this package, e.g.
	// "malicious (block.malicious)" or "ignored GHSA-x until 2027-01-01: reason".
	Reasons []string
	// Metadata is set when registry metadata was consulted.
	Metadata *Metadata
	// Unchecked is set when the package could not be looked up (uncheckable
	// entry, or no usable database for its ecosystem).
	Unchecked bool
	// Unattributed is set for a pseudo-package (StepPackage, UnattributedName) that
	// holds behaviour findings no installed package could be tied to.
	Unattributed bool
}

// FindingResult is one finding with what the policy made of it.
type FindingResult struct {
	Finding
	Blocking bool
	Ignored  bool
	// Reason is the rule that decided this finding.
	Reason string
	// IgnoreEntry, for a behaviour or analysis finding, is the ignore entry that
	// silences it for this package version if it is a false alarm (IgnoreEntry).
	IgnoreEntry string
}

// DatabaseReport is the database's status as the verdict saw it.
type DatabaseReport struct {
	DatabaseStatus
	// Available is false when there was no database to open.
	Available bool
	MaxAge    time.Duration
	// Stale is set when a needed ecosystem is missing or older than MaxAge.
	Stale bool
}

// UnknownSeverityAs is the severity assumed for a vulnerability whose record gives
// none (no severity field, no CVSS vector). Medium is the middle of the scale: such
// a finding blocks under a "medium" or "low" threshold but not under the default
// "high", where blocking on missing data would stop installs for no known reason.
// The reason string always says the severity was unknown.
const UnknownSeverityAs = SeverityMedium

// Engine evaluates packages against a database and a policy.
type Engine struct {
	DB     Database // nil: no database (missing), handled per database.when_stale
	Policy *policy.Policy
	// Metadata is optional; see RegistryMetadata.
	Metadata RegistryMetadata
	Now      time.Time
	// DBPath names the database in messages when DB is nil.
	DBPath string
	// DBFlag is the --db option the db commands need to make that database
	// ("--db PATH"), "" when it is the default one (cmdutil.DBFlag).
	DBFlag string
}

// dbFlag is DBFlag and a space, or "".
func (e *Engine) dbFlag() string {
	if e.DBFlag == "" {
		return ""
	}
	return e.DBFlag + " "
}

// Evaluate runs the precheck. It returns an error only when the engine itself fails
// (the database cannot be read, the context is cancelled); everything about the
// packages is in the Verdict.
func (e *Engine) Evaluate(ctx context.Context, pkgs []Package) (*Verdict, error) {
	pol := e.Policy
	if pol == nil {
		pol = policy.Default()
	}
	now := e.Now
	if now.IsZero() {
		now = time.Now()
	}
	v := &Verdict{CheckedAt: now, PolicyFiles: pol.Files, Policy: pol}
	for _, w := range pol.Weakened {
		v.Warnings = append(v.Warnings, "project policy loosens your settings: "+w)
	}
	for _, w := range pol.Refused {
		v.Warnings = append(v.Warnings, "project policy setting not applied (a project file may only make behaviour: and analysis: stricter): "+w)
	}

	pkgs = dedupe(pkgs)
	results := make([]PackageResult, len(pkgs))
	for i, p := range pkgs {
		results[i] = PackageResult{Package: p, Findings: []FindingResult{}}
	}

	usable := e.checkDatabase(v, pol, pkgs, now)

	// Only packages that can be looked up go to the database.
	var unchecked []string
	var lookup []Package
	var index []int
	for i, p := range pkgs {
		switch {
		case p.Uncheckable:
			results[i].Unchecked = true
			why := p.Reason
			if why == "" {
				why = "not a registry package"
			}
			unchecked = append(unchecked, uncheckable(&results[i], pol, why))
		case !usable[strings.ToLower(p.Ecosystem)]:
			results[i].Unchecked = true
		default:
			lookup = append(lookup, p)
			index = append(index, i)
		}
	}
	if len(lookup) > 0 {
		found, err := e.DB.LookupAll(ctx, lookup)
		if err != nil {
			return nil, fmt.Errorf("look up %d packages in the OSV database: %w", len(lookup), err)
		}
		if len(found) != len(lookup) {
			return nil, fmt.Errorf("OSV database answered %d lookups for %d packages", len(found), len(lookup))
		}
		for j, l := range found {
			r := &results[index[j]]
			if l.Err != nil {
				// Same knob as git/file deps: the package cannot be fully judged. Any
				// findings that did match still count (a blocking one still blocks).
				r.Unchecked = true
				unchecked = append(unchecked, uncheckable(r, pol, fmt.Sprintf("lookup failed: %v", l.Err)))
			}
			for _, f := range dedupeFindings(l.Findings) {
				r.Findings = append(r.Findings, e.judge(pol, r.Package, f, now))
			}
		}
	}

	reportUnchecked(v, pol, unchecked)

	if err := e.checkReleaseAge(ctx, v, pol, pkgs, results, now); err != nil {
		return nil, err
	}
	if err := e.checkLockfileIntegrity(ctx, v, pol, results); err != nil {
		return nil, err
	}

	for i := range results {
		r := &results[i]
		slices.SortFunc(r.Findings, compareFindings)
		for _, f := range r.Findings {
			if f.Blocking {
				r.Blocked = true
			}
			if (f.Blocking || f.Ignored) && !slices.Contains(r.Reasons, f.Reason) {
				r.Reasons = append(r.Reasons, f.Reason)
			}
		}
	}
	sortResults(results)
	v.Packages = results

	v.ExpiredIgnores = pol.ExpiredIgnores(now)
	for _, ig := range v.ExpiredIgnores {
		v.Warnings = append(v.Warnings, fmt.Sprintf("ignore of %s%s expired on %s (%s); it no longer applies — renew it with a new until date or remove it",
			ig.ID, forPackage(ig.Package), ig.Until.Format(time.DateOnly), ig.Source))
	}

	switch {
	case slices.ContainsFunc(results, func(r PackageResult) bool { return r.Blocked }):
		v.Result = Blocked
	case len(v.Problems) > 0:
		v.Result = Incomplete
	default:
		v.Result = Pass
	}
	return v, nil
}

// sortResults sorts by package. It sorts an index, not the results: moving these
// pointer-heavy structs around in a sort was most of the engine's time (write
// barriers). The order is total (packages are distinct after dedupe), so it is
// deterministic.
func sortResults(results []PackageResult) {
	order := make([]int, len(results))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(i, j int) int { return comparePackages(results[i].Package, results[j].Package) })
	sorted := make([]PackageResult, len(results))
	for k, i := range order {
		sorted[k] = results[i]
	}
	copy(results, sorted)
}

// uncheckable records on r that it cannot be judged and returns the line for the
// verdict's problems or warnings.
func uncheckable(r *PackageResult, pol *policy.Policy, why string) string {
	r.Unchecked = true
	r.Reasons = append(r.Reasons, fmt.Sprintf("uncheckable: %s (uncheckable: %s)", why, pol.Uncheckable))
	return label(r.Package) + " cannot be checked: " + why
}

// reportUnchecked adds one problem or warning for all unchecked packages: a large
// workspace can have a hundred local packages, and each package's own reasons
// already say why.
func reportUnchecked(v *Verdict, pol *policy.Policy, lines []string) {
	if len(lines) == 0 {
		return
	}
	msg := lines[0]
	if len(lines) > 1 {
		var names []string
		for _, l := range lines {
			names = append(names, l[:strings.Index(l, " cannot be checked: ")])
		}
		msg = fmt.Sprintf("%d packages cannot be checked (git, file, path or URL sources, or failed lookups): %s",
			len(lines), someOf(names))
	}
	if pol.Uncheckable == policy.Fail {
		v.Problems = append(v.Problems, msg+" (uncheckable: fail)")
	} else {
		v.Warnings = append(v.Warnings, msg)
	}
}

// checkDatabase fills v.Database and reports, per ecosystem the packages need,
// whether lookups there can be trusted enough to run. Under when_stale: warn a
// stale ecosystem is still looked up; a missing one never can be.
func (e *Engine) checkDatabase(v *Verdict, pol *policy.Policy, pkgs []Package, now time.Time) map[string]bool {
	v.Database.MaxAge = pol.Database.MaxAge
	report := func(msg string) {
		v.Database.Stale = true
		if pol.Database.WhenStale == policy.Fail {
			v.Problems = append(v.Problems, msg+" (database.when_stale: fail)")
		} else {
			v.Warnings = append(v.Warnings, msg)
		}
	}
	var needed []string
	for _, p := range pkgs {
		if !p.Uncheckable && !slices.Contains(needed, p.Ecosystem) {
			needed = append(needed, p.Ecosystem)
		}
	}
	slices.Sort(needed)
	usable := map[string]bool{}
	if e.DB == nil {
		v.Database.Path = e.DBPath
		if len(needed) > 0 {
			where := ""
			if e.DBPath != "" {
				where = " at " + e.DBPath
			}
			db := e.dbFlag()
			report("no OSV database" + where + "; run `phylum-box " + db + "db update` (or `phylum-box " + db + "db import` on an air-gapped machine)")
		}
		return usable
	}
	st, err := e.DB.Status()
	if err != nil {
		report(fmt.Sprintf("the OSV database cannot be used: %v", err))
		return usable
	}
	v.Database.DatabaseStatus = st
	v.Database.Available = true
	for _, eco := range needed {
		var es *EcosystemStatus
		for i := range st.Ecosystems {
			if strings.EqualFold(st.Ecosystems[i].Name, eco) {
				es = &st.Ecosystems[i]
			}
		}
		if es == nil || es.Records == 0 {
			report(fmt.Sprintf("the OSV database has no %s advisories; run `phylum-box %sdb update --ecosystem %s`", eco, e.dbFlag(), eco))
			continue
		}
		updated := es.Updated
		if updated.IsZero() {
			updated = st.Updated
		}
		age := now.Sub(updated)
		if updated.IsZero() || age > pol.Database.MaxAge {
			when := "at an unknown time"
			if !updated.IsZero() {
				when = humanAge(age) + " ago"
			}
			report(fmt.Sprintf("the %s advisories were updated %s, more than database.max_age %s; run `phylum-box `+e.dbFlag()+`db update`",
				eco, when, policy.FormatDuration(pol.Database.MaxAge)))
		}
		usable[strings.ToLower(eco)] = true
	}
	return usable
}

// judge applies the policy to one finding.
func (e *Engine) judge(pol *policy.Policy, p Package, f Finding, now time.Time) FindingResult {
	r := FindingResult{Finding: f}
	var expiredNote string
	if m, ok := pol.MatchIgnore(append([]string{f.ID}, f.Aliases...), p.Ecosystem, p.Name, p.Version, now); ok {
		if !m.Expired {
			r.Ignored = true
			r.Reason = "ignored " + m.Ignore.ID
			if !m.Ignore.Until.IsZero() {
				r.Reason += " until " + m.Ignore.Until.Format(time.DateOnly)
			}
			r.Reason += ": " + m.Ignore.Reason
			return r
		}
		expiredNote = fmt.Sprintf("; the ignore of %s expired on %s (%s)", m.Ignore.ID, m.Ignore.Until.Format(time.DateOnly), m.Ignore.Source)
	}
	switch f.Kind {
	case Malicious:
		if pol.Block.Malicious {
			r.Blocking, r.Reason = true, "malicious (block.malicious)"
		} else {
			r.Reason = "malicious, not blocking (block.malicious: false)"
		}
	default:
		r.Blocking, r.Reason = vulnerabilityRule(pol.Block.Vulnerability, f.Severity)
	}
	r.Reason += expiredNote
	return r
}

func vulnerabilityRule(threshold policy.Threshold, s Severity) (bool, string) {
	sev := s.String()
	eff := s
	if s == SeverityUnknown {
		eff = UnknownSeverityAs
		sev = "of unknown severity, counted as " + eff.String() + ","
	}
	t, _ := ParseSeverity(string(threshold))
	if threshold == policy.ThresholdNone || t == SeverityUnknown {
		return false, fmt.Sprintf("vulnerability %s not blocking (block.vulnerability: none)", strings.TrimSuffix(sev, ","))
	}
	if eff >= t {
		return true, fmt.Sprintf("vulnerability %s ≥ %s (block.vulnerability)", sev, t)
	}
	return false, fmt.Sprintf("vulnerability %s < %s, not blocking (block.vulnerability)", sev, t)
}

// checkReleaseAge applies min_release_age through the registry metadata hook.
func (e *Engine) checkReleaseAge(ctx context.Context, v *Verdict, pol *policy.Policy, pkgs []Package, results []PackageResult, now time.Time) error {
	if pol.MinReleaseAge <= 0 {
		return nil
	}
	if e.Metadata == nil {
		v.Warnings = append(v.Warnings, fmt.Sprintf("min_release_age %s is not enforced here: it needs registry metadata, which the package-manager wrappers provide",
			policy.FormatDuration(pol.MinReleaseAge)))
		return nil
	}
	// One line each for failures and unknown publish times, however many packages:
	// a registry outage must not print a thousand problems. Each package's own
	// reasons carry its detail.
	var failed, unknown []string
	var firstErr error
	for i := range results {
		r := &results[i]
		if r.Uncheckable {
			continue
		}
		md, err := e.Metadata.Metadata(ctx, r.Package)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if firstErr == nil {
				firstErr = err
			}
			failed = append(failed, label(r.Package))
			r.Reasons = append(r.Reasons, fmt.Sprintf("no registry metadata for min_release_age: %v", err))
			continue
		}
		r.Metadata = &md
		if md.Published.IsZero() {
			unknown = append(unknown, label(r.Package))
			r.Reasons = append(r.Reasons, "the registry gives no publish time; min_release_age not applied")
			continue
		}
		if age := now.Sub(md.Published); age < pol.MinReleaseAge {
			r.Blocked = true
			r.Reasons = append(r.Reasons, fmt.Sprintf("published %s ago, younger than min_release_age %s", humanAge(age), policy.FormatDuration(pol.MinReleaseAge)))
		}
	}
	switch len(failed) {
	case 0:
	case 1:
		v.Problems = append(v.Problems, fmt.Sprintf("%s: cannot read registry metadata for min_release_age: %v", failed[0], firstErr))
	default:
		v.Problems = append(v.Problems, fmt.Sprintf("cannot read registry metadata for min_release_age for %d packages: %s (first error: %v)",
			len(failed), someOf(failed), firstErr))
	}
	switch len(unknown) {
	case 0:
	case 1:
		v.Warnings = append(v.Warnings, unknown[0]+": the registry gives no publish time; min_release_age not applied")
	default:
		v.Warnings = append(v.Warnings, fmt.Sprintf("the registry gives no publish time for %d packages: %s; min_release_age not applied to them",
			len(unknown), someOf(unknown)))
	}
	return nil
}

// someOf lists the first few names and counts the rest.
func someOf(names []string) string {
	const show = 5
	s := strings.Join(names[:min(show, len(names))], ", ")
	if len(names) > show {
		s += fmt.Sprintf(" and %d more", len(names)-show)
	}
	return s
}

func dedupe(pkgs []Package) []Package {
	seen := make(map[Package]bool, len(pkgs))
	out := make([]Package, 0, len(pkgs))
	for _, p := range pkgs {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

func dedupeFindings(fs []Finding) []Finding {
	out := make([]Finding, 0, len(fs))
	for _, f := range fs {
		if !slices.ContainsFunc(out, func(g Finding) bool { return g.ID == f.ID }) {
			out = append(out, f)
		}
	}
	return out
}

// compareFindings puts blocking findings first, then malicious ones, then by
// severity, then by id, so the most important line is read first.
func compareFindings(a, b FindingResult) int {
	rank := func(f FindingResult) int {
		if f.Kind == Malicious {
			return 100
		}
		return int(f.Severity)
	}
	return cmp.Or(-cmp.Compare(btoi(a.Blocking), btoi(b.Blocking)), -cmp.Compare(rank(a), rank(b)), cmp.Compare(a.ID, b.ID))
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func label(p Package) string {
	s := p.Name
	if p.Version != "" {
		s += "@" + p.Version
	}
	return s + " (" + p.Ecosystem + ")"
}

func forPackage(pkg string) string {
	if pkg == "" {
		return ""
	}
	return " for " + pkg
}

// humanAge prints a duration for people: "5h", "3d", "45m".
func humanAge(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d >= time.Hour:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d >= time.Minute:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return "moments"
}

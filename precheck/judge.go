package precheck

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/phylum-box/phylum-box/precheck/policy"
)

// UnattributedName is the name Judge files a finding under when its package has
// no name: code the monitor saw run that belongs to no package it could tell.
// StepPackage gives a more precise pseudo-package when the step is known.
const UnattributedName = "(unattributed)"

// StepPackage is the pseudo-package for findings tied to a step rather than to a
// package: code that ran in the step outside every package (the package manager
// itself, a script of the project). Its name is the step in parentheses, "(build)",
// which is also what an ignore entry names as its package.
func StepPackage(ecosystem, step string) Package {
	return Package{Ecosystem: ecosystem, Name: "(" + step + ")"}
}

// IsPseudoPackage reports whether p is a pseudo-package (StepPackage, or a finding
// filed under UnattributedName) rather than a package that is installed.
func IsPseudoPackage(p Package) bool {
	return p.Name == "" || (strings.HasPrefix(p.Name, "(") && strings.HasSuffix(p.Name, ")"))
}

// FileFinding adds f to extra (Judge's input) under the package it belongs to: pkg
// when it has a name; else, when the monitor could only narrow it down to some
// candidates, under each of them with f.Candidates naming them all (so each is
// blocked, and each needs its own ignore); else under StepPackage(ecosystem, step).
func FileFinding(extra map[Package][]Finding, ecosystem, step string, pkg Package, candidates []Package, f Finding) {
	switch {
	case pkg.Name != "":
		extra[pkg] = append(extra[pkg], f)
	case len(candidates) > 0:
		f.Candidates = nil
		for _, c := range candidates {
			f.Candidates = appendNew(f.Candidates, c.Name+"@"+c.Version)
		}
		for _, c := range candidates {
			extra[c] = append(extra[c], f)
		}
	default:
		sp := StepPackage(ecosystem, step)
		extra[sp] = append(extra[sp], f)
	}
}

// Judge applies the policy to behaviour and analysis findings (Kind Behaviour or
// Analysis; other kinds are judged like the database's) and returns base's verdict
// with them added. It can be called more than once on the way through an install —
// after the static analysis, before any package code runs, then after the build with
// the monitor's findings — each time on the verdict the call before returned; a
// finding whose package already has one with the same rule id is merged with it
// (evidence appended, the higher severity kept). base is not changed. The policy
// is the one base was reached under (e.Policy when base has none), and ignore
// expiry is judged at base's CheckedAt, so one install has one policy and one clock.
//
// extra is keyed by the package the findings belong to. A key matches every package
// of base with its ecosystem, name (compared the ecosystem's way) and version (an
// empty version matches every version of the name). A key that matches none is
// added as a package of its own: a package the lockfile did not list, or a
// pseudo-package (StepPackage; a key with an empty name is filed as
// UnattributedName), which is judged and blocks like any other.
//
// Per finding: a rule set to off in the policy drops it; an ignore entry naming its
// id (and the package) makes it ignored; a rule set to block or warn decides; else
// the finding blocks when its severity is at least the section's block threshold
// (unknown severity counts as UnknownSeverityAs). Every finding that is reported gets
// its Reason (naming the rule and the policy key that decided) and IgnoreEntry.
func (e *Engine) Judge(ctx context.Context, base *Verdict, extra map[Package][]Finding) *Verdict {
	pol := e.Policy
	if base != nil && base.Policy != nil {
		pol = base.Policy
	}
	if pol == nil {
		pol = policy.Default()
	}
	now := e.Now
	if base != nil && !base.CheckedAt.IsZero() {
		now = base.CheckedAt
	}
	if now.IsZero() {
		now = time.Now()
	}
	v := &Verdict{Result: Pass, Policy: pol, PolicyFiles: pol.Files, CheckedAt: now}
	if base != nil {
		*v = *base
		v.Packages = slices.Clone(base.Packages)
		v.Problems = slices.Clone(base.Problems)
		v.Warnings = slices.Clone(base.Warnings)
	}
	touched := map[int]bool{}
	for _, key := range slices.SortedFunc(maps.Keys(extra), comparePackages) {
		fs := extra[key]
		if len(fs) == 0 {
			continue
		}
		if key.Name == "" {
			key.Name = UnattributedName
		}
		var idx []int
		for i := range v.Packages {
			p := &v.Packages[i].Package
			if p.Ecosystem == key.Ecosystem && policy.SameName(p.Ecosystem, p.Name, key.Name) && (key.Version == "" || key.Version == p.Version) {
				idx = append(idx, i)
			}
		}
		if len(idx) == 0 {
			v.Packages = append(v.Packages, PackageResult{Package: key, Findings: []FindingResult{}, Unattributed: IsPseudoPackage(key)})
			idx = []int{len(v.Packages) - 1}
		}
		for _, i := range idx {
			r := &v.Packages[i]
			if !touched[i] {
				// Copy before changing: base shares these slices.
				r.Findings = slices.Clone(r.Findings)
				r.Reasons = slices.Clone(r.Reasons)
				touched[i] = true
			}
			for _, f := range fs {
				e.addDetection(pol, r, f, now)
			}
		}
	}
	for i := range touched {
		r := &v.Packages[i]
		slices.SortFunc(r.Findings, compareFindings)
		r.Reasons = packageReasons(r)
		if slices.ContainsFunc(r.Findings, func(f FindingResult) bool { return f.Blocking }) {
			r.Blocked = true
		}
	}
	if len(touched) > 0 {
		sortResults(v.Packages)
	}
	switch {
	case slices.ContainsFunc(v.Packages, func(r PackageResult) bool { return r.Blocked }):
		v.Result = Blocked
	case len(v.Problems) > 0:
		v.Result = Incomplete
	default:
		v.Result = Pass
	}
	return v
}

// addDetection judges f for r's package and puts it in r.Findings, merged with a
// finding of the same id already there.
func (e *Engine) addDetection(pol *policy.Policy, r *PackageResult, f Finding, now time.Time) {
	if j := slices.IndexFunc(r.Findings, func(g FindingResult) bool { return strings.EqualFold(g.ID, f.ID) }); j >= 0 {
		f = mergeFinding(r.Findings[j].Finding, f)
		r.Findings = slices.Delete(r.Findings, j, j+1)
	}
	if f.Kind != Behaviour && f.Kind != Analysis {
		r.Findings = append(r.Findings, e.judge(pol, r.Package, f, now))
		return
	}
	if fr, ok := judgeDetection(pol, r.Package, f, now); ok {
		r.Findings = append(r.Findings, fr)
	}
}

// mergeFinding folds b into a (same rule, same package): the higher severity, the
// evidence and candidates of both without repeats, a's summary unless it has none.
func mergeFinding(a, b Finding) Finding {
	out := a
	out.Severity = max(a.Severity, b.Severity)
	if out.Summary == "" {
		out.Summary = b.Summary
	}
	out.Evidence = appendNew(slices.Clone(a.Evidence), b.Evidence...)
	out.Candidates = appendNew(slices.Clone(a.Candidates), b.Candidates...)
	out.Aliases = appendNew(slices.Clone(a.Aliases), b.Aliases...)
	return out
}

func appendNew(s []string, more ...string) []string {
	for _, m := range more {
		if !slices.Contains(s, m) {
			s = append(s, m)
		}
	}
	return s
}

// judgeDetection applies the behaviour: or analysis: section to one finding. ok is
// false when the policy turns the rule off.
func judgeDetection(pol *policy.Policy, p Package, f Finding, now time.Time) (FindingResult, bool) {
	r := FindingResult{Finding: f, IgnoreEntry: IgnoreEntry(p, f.ID)}
	action, key, overridden := pol.RuleOverride(f.ID)
	if overridden && action == policy.RuleOff {
		return r, false
	}
	var expiredNote string
	if m, ok := pol.MatchIgnore(append([]string{f.ID}, f.Aliases...), p.Ecosystem, p.Name, p.Version, now); ok {
		if !m.Expired {
			r.Ignored = true
			r.Reason = "ignored " + m.Ignore.ID
			if !m.Ignore.Until.IsZero() {
				r.Reason += " until " + m.Ignore.Until.Format(time.DateOnly)
			}
			r.Reason += ": " + m.Ignore.Reason
			return r, true
		}
		expiredNote = fmt.Sprintf("; the ignore of %s expired on %s (%s)", m.Ignore.ID, m.Ignore.Until.Format(time.DateOnly), m.Ignore.Source)
	}
	section, threshold := "analysis", pol.Analysis.Block
	if f.Kind == Behaviour {
		section, threshold = "behaviour", pol.Behaviour.Block
	}
	switch {
	case overridden && action == policy.RuleBlock:
		r.Blocking, r.Reason = true, fmt.Sprintf("%s: block (%s)", f.ID, key)
	case overridden:
		r.Reason = fmt.Sprintf("%s: %s, not blocking (%s)", f.ID, action, key)
	default:
		sev, eff := f.Severity.String(), f.Severity
		if eff == SeverityUnknown || eff == SeverityNone {
			eff = UnknownSeverityAs
			sev = "of unknown severity, counted as " + eff.String() + ","
		}
		t, _ := ParseSeverity(string(threshold))
		switch {
		case threshold == policy.ThresholdNone || t == SeverityUnknown:
			r.Reason = fmt.Sprintf("%s: %s %s not blocking (%s.block: none)", f.ID, section, strings.TrimSuffix(sev, ","), section)
		case eff >= t:
			r.Blocking, r.Reason = true, fmt.Sprintf("%s: %s %s ≥ %s (%s.block)", f.ID, section, sev, t, section)
		default:
			r.Reason = fmt.Sprintf("%s: %s %s < %s, not blocking (%s.block)", f.ID, section, sev, t, section)
		}
	}
	r.Reason += expiredNote
	return r, true
}

// IgnoreEntry is the policy entry that silences rule id for p alone (its name and
// version): a YAML flow mapping that goes into an ignore: list as it is, after its
// reason is filled in.
func IgnoreEntry(p Package, id string) string {
	return IgnoreEntryWhy(p, id, "why this is a false alarm")
}

// IgnoreEntryWhy is IgnoreEntry with the placeholder for its reason: a
// vulnerability's ignore accepts a risk (report/text.go).
func IgnoreEntryWhy(p Package, id, why string) string {
	pkg := p.Name
	if p.Version != "" {
		pkg += "@" + p.Version
	}
	return fmt.Sprintf("{id: %s, package: %s, reason: %s}", strconv.Quote(id), strconv.Quote(pkg), strconv.Quote(why))
}

// Explain is one line for people about a behaviour or analysis finding: the
// package, the rule and its summary, the first evidence line, what the policy made
// of it and, when it blocks or warns, the ignore entry for a false alarm.
func Explain(p Package, f FindingResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", label(p), f.ID)
	if s := oneLine(f.Summary, 200); s != "" {
		b.WriteString(" " + s)
	}
	if len(f.Evidence) > 0 {
		fmt.Fprintf(&b, " (%s", oneLine(f.Evidence[0], 200))
		if n := len(f.Evidence) - 1; n > 0 {
			fmt.Fprintf(&b, "; %d more", n)
		}
		b.WriteString(")")
	}
	fmt.Fprintf(&b, " — %s", f.Reason)
	if !f.Ignored && f.IgnoreEntry != "" {
		fmt.Fprintf(&b, "; if it is a false alarm, add to the policy's ignore list: %s", f.IgnoreEntry)
	}
	return b.String()
}

// packageReasons rebuilds a package's reasons after its findings changed: the
// reasons no finding gave (release age, uncheckable, lockfile mismatch) as they
// were, then those of its blocking and ignored findings in their order.
func packageReasons(r *PackageResult) []string {
	var out []string
	for _, s := range r.Reasons {
		if !slices.ContainsFunc(r.Findings, func(f FindingResult) bool { return f.Reason == s }) && !isFindingReason(s) {
			out = append(out, s)
		}
	}
	for _, f := range r.Findings {
		if (f.Blocking || f.Ignored) && !slices.Contains(out, f.Reason) {
			out = append(out, f.Reason)
		}
	}
	return out
}

// isFindingReason recognises the reason of a detection finding that a merge has
// since replaced (its severity or evidence changed, so its reason may have too).
func isFindingReason(s string) bool {
	return strings.HasPrefix(s, policy.BehaviourRulePrefix) || strings.HasPrefix(s, policy.AnalysisRulePrefix)
}

func comparePackages(a, b Package) int {
	return cmp.Or(cmp.Compare(a.Ecosystem, b.Ecosystem), cmp.Compare(a.Name, b.Name),
		cmp.Compare(a.Version, b.Version), cmp.Compare(a.Source, b.Source),
		cmp.Compare(btoi(a.Uncheckable), btoi(b.Uncheckable)), cmp.Compare(a.Reason, b.Reason),
		cmp.Compare(btoi(a.Dev), btoi(b.Dev)))
}

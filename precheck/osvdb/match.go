package osvdb

import (
	"fmt"
	"slices"

	"github.com/google/osv-scalibr/semantic"
)

// parseVersion parses v under a range type: SEMVER ranges use SemVer 2.0 ordering
// whatever the ecosystem (the OSV schema says so), ECOSYSTEM ranges and `versions`
// lists use the ecosystem's own ordering (npm and crates.io semver, PyPI PEP 440,
// RubyGems Gem::Version).
func parseVersion(t rangeType, ecosystem, v string) (semantic.Version, error) {
	if t == rangeSemver {
		return semantic.ParseSemverVersion(v), nil
	}
	pv, err := semantic.Parse(v, ecosystem)
	if err != nil {
		return nil, fmt.Errorf("version %q is not a valid %s version: %w", v, ecosystem, err)
	}
	return pv, nil
}

// versionCache memoises parseVersion within one batch. Parsed versions are
// immutable, so sharing them is safe.
type versionCache map[cacheKey]cached

type cacheKey struct {
	t        rangeType
	eco, ver string
}

type cached struct {
	v   semantic.Version
	err error
}

func (c versionCache) parse(t rangeType, eco, v string) (semantic.Version, error) {
	if c == nil {
		return parseVersion(t, eco, v)
	}
	k := cacheKey{t, eco, v}
	if r, ok := c[k]; ok {
		return r.v, r.err
	}
	pv, err := parseVersion(t, eco, v)
	c[k] = cached{pv, err}
	return pv, err
}

// target is the package version being checked, parsed lazily once per range type.
type target struct {
	ecosystem string
	raw       string
	cache     versionCache
	parsed    [3]semantic.Version // indexed by rangeType
	errs      [3]error
}

func (t *target) get(rt rangeType) (semantic.Version, error) {
	if t.parsed[rt] == nil && t.errs[rt] == nil {
		t.parsed[rt], t.errs[rt] = t.cache.parse(rt, t.ecosystem, t.raw)
	}
	return t.parsed[rt], t.errs[rt]
}

// affects implements the OSV schema's IsVulnerable for one stored entry (which holds
// every affected[] entry of the advisory for this package): the version is affected
// if it is listed in `versions` or lies in any range.
func (e *entry) affects(t *target) (bool, error) {
	if len(e.Versions) > 0 {
		if ok, err := inVersions(t, e.Versions); ok || err != nil {
			return ok, err
		}
	}
	for i := range e.Ranges {
		ok, err := inRange(t, &e.Ranges[i])
		if ok || err != nil {
			return ok, err
		}
	}
	return false, nil
}

// inVersions is the schema's `v == version`. Exact string equality first; then
// equality under the ecosystem's ordering, so "1.0" matches a listed "1.0.0" on PyPI
// and RubyGems where those are the same release.
func inVersions(t *target, versions []string) (bool, error) {
	if slices.Contains(versions, t.raw) {
		return true, nil
	}
	v, err := t.get(rangeEcosystem)
	if err != nil {
		// An unparsable version can still match exactly (done above); it cannot be
		// ordered, which only matters for ranges.
		return false, nil
	}
	for _, s := range versions {
		w, err := t.cache.parse(rangeEcosystem, t.ecosystem, s)
		if err != nil {
			continue
		}
		if c, err := v.Compare(w); err == nil && c == 0 {
			return true, nil
		}
	}
	return false, nil
}

// inRange evaluates one range per the schema:
//
//	if BeforeLimits(v, range):
//	  vulnerable = false
//	  for evt in sorted(range.events):
//	    introduced    and v >= evt → vulnerable = true
//	    fixed         and v >= evt → vulnerable = false
//	    last_affected and v >  evt → vulnerable = false
//
// Events are sorted by version here (records need not be sorted); `introduced: "0"`
// sorts before everything, and equal versions keep their order in the record.
func inRange(t *target, r *vrange) (bool, error) {
	v, err := t.get(r.Type)
	if err != nil {
		return false, err
	}
	type pe struct {
		ev   event
		zero bool // introduced "0"
		ver  semantic.Version
	}
	evs := make([]pe, 0, len(r.Events))
	hasLimit, beforeLimit := false, false
	for _, ev := range r.Events {
		p := pe{ev: ev, zero: ev.Kind == evIntroduced && ev.Version == "0"}
		if ev.Kind == evLimit && ev.Version == "*" {
			// "*" is the schema's infinity: every version is before it.
			hasLimit, beforeLimit = true, true
			continue
		}
		if !p.zero {
			if p.ver, err = t.cache.parse(r.Type, t.ecosystem, ev.Version); err != nil {
				return false, fmt.Errorf("advisory range: %w", err)
			}
		}
		if ev.Kind == evLimit {
			hasLimit = true
			if c, err := v.Compare(p.ver); err == nil && c < 0 {
				beforeLimit = true
			}
			continue
		}
		evs = append(evs, p)
	}
	if hasLimit && !beforeLimit {
		return false, nil
	}
	slices.SortStableFunc(evs, func(a, b pe) int {
		switch {
		case a.zero && b.zero:
			return 0
		case a.zero:
			return -1
		case b.zero:
			return 1
		}
		c, _ := a.ver.Compare(b.ver)
		return c
	})
	vulnerable := false
	for _, p := range evs {
		c := -1
		if p.zero {
			c = 1 // every version is >= "0"
		} else if c, err = v.Compare(p.ver); err != nil {
			return false, err
		}
		switch p.ev.Kind {
		case evIntroduced:
			if c >= 0 {
				vulnerable = true
			}
		case evFixed:
			if c >= 0 {
				vulnerable = false
			}
		case evLastAffected:
			if c > 0 {
				vulnerable = false
			}
		}
	}
	return vulnerable, nil
}

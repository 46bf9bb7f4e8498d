package precheck

import (
	"context"
	"fmt"
	"strings"

	"github.com/phylum-box/phylum-box/precheck/policy"
)

// checkLockfileIntegrity makes the verdict about what will really be fetched, not only
// about the names a lockfile claims. A package the lockfile reader found is not the
// registry's (Package.Mismatch: another package's tarball, a registry crate without a
// checksum) is blocked. When registry metadata is at hand, the hash the lockfile pins
// must be the registry's for that name and version: npm and pnpm take a tarball out of
// their content-addressed cache by that hash alone, so a wrong one installs whatever
// content the cache holds under it, and a right URL does not help.
func (e *Engine) checkLockfileIntegrity(ctx context.Context, v *Verdict, pol *policy.Policy, results []PackageResult) error {
	var failed []string
	var firstErr error
	for i := range results {
		r := &results[i]
		if r.Mismatch != "" {
			r.Blocked = true
			r.Reasons = append(r.Reasons, "lockfile mismatch: "+r.Mismatch)
			continue
		}
		if e.Metadata == nil || r.Uncheckable || r.Integrity == "" || r.Ecosystem != NPM {
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
			r.Reasons = append(r.Reasons, fmt.Sprintf("the lockfile's hash was not compared with the registry's: %v", err))
			continue
		}
		if r.Metadata == nil {
			r.Metadata = &md
		}
		same, comparable := SameIntegrity(r.Integrity, md.Integrity)
		if !comparable || same {
			continue
		}
		r.Blocked = true
		r.Reasons = append(r.Reasons, fmt.Sprintf("lockfile mismatch: the lockfile pins %s for %s@%s, but the registry's tarball of that version is %s; "+
			"the entry would install other content under this name; remove it from the lockfile and install again",
			clipHash(r.Integrity), r.Name, r.Version, clipHash(md.Integrity)))
	}
	if len(failed) == 0 {
		return nil
	}
	msg := fmt.Sprintf("%s: the lockfile's hash was not compared with the registry's (%v); the package manager still verifies the download against the lockfile",
		failed[0], firstErr)
	if len(failed) > 1 {
		msg = fmt.Sprintf("the lockfile's hashes of %d packages were not compared with the registry's: %s (first error: %v); the package manager still verifies each download against the lockfile",
			len(failed), someOf(failed), firstErr)
	}
	// The same knob as any package that cannot be fully judged.
	if pol.Uncheckable == policy.Fail {
		v.Problems = append(v.Problems, msg+" (uncheckable: fail)")
	} else {
		v.Warnings = append(v.Warnings, msg)
	}
	return nil
}

// SameIntegrity compares a lockfile's SRI string with the hashes a registry gives for
// the same version (SRI strings too, "sha512-… sha1-…"). comparable is false when they
// share no algorithm. The strongest shared algorithm decides: a matching sha1 beside a
// wrong sha512 is a wrong hash.
func SameIntegrity(lock string, registry ...string) (same, comparable bool) {
	want := sriHashes(registry...)
	have := sriHashes(lock)
	for _, algo := range []string{"sha512", "sha384", "sha256", "sha1"} {
		h, ok1 := have[algo]
		w, ok2 := want[algo]
		if ok1 && ok2 {
			return h == w, true
		}
	}
	return false, false
}

// sriHashes reads SRI strings into algorithm → digest (the first of each algorithm,
// "?options" dropped).
func sriHashes(sris ...string) map[string]string {
	m := map[string]string{}
	for _, s := range sris {
		for _, h := range strings.Fields(s) {
			algo, sum, ok := strings.Cut(h, "-")
			if !ok {
				continue
			}
			sum, _, _ = strings.Cut(sum, "?")
			if _, dup := m[algo]; !dup {
				m[algo] = sum
			}
		}
	}
	return m
}

func clipHash(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		s = f[0]
	}
	if len(s) > 30 {
		return s[:30] + "…"
	}
	return s
}

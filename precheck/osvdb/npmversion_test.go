package osvdb

import (
	"testing"

	"github.com/phylum-box/phylum-box/precheck"
)

func TestNpmCleanVersion(t *testing.T) {
	for in, want := range map[string]string{
		"1.2.3": "1.2.3", "v1.2.3": "1.2.3", "=1.2.3": "1.2.3", "v=1.2.3": "1.2.3", " =v1.2.3 ": "1.2.3",
		"01.02.003": "1.2.3", "1.2.3beta": "1.2.3-beta", "1.2.3-rc.1+build.5": "1.2.3-rc.1",
		"1.2": "1.2", "latest": "latest", "": "", "1.2.3.4": "1.2.3.4", "99999999999999999999.0.0": "99999999999999999999.0.0",
	} {
		if got := npmCleanVersion(in); got != want {
			t.Errorf("npmCleanVersion(%q) = %q, want %q", in, got, want)
		}
	}
	if got := targetVersion(precheck.PyPI, "v1.0"); got != "v1.0" {
		t.Errorf("PyPI versions are PEP 440's business: %q", got)
	}
}

// A lockfile's "=4.17.11" or "v4.17.11" is the vulnerable 4.17.11: matched in ranges
// of both types and in versions lists (before, "=4.17.11" sorted below 4.17.11 and
// "v4.17.11" missed an exact listing).
func TestNpmLooseVersionsMatch(t *testing.T) {
	e := entry{Ranges: []vrange{rng(rangeSemver, intro("4.17.0"), fixed("4.17.12"))}}
	eco := entry{Ranges: []vrange{rng(rangeEcosystem, intro("4.17.11"), fixed("4.17.12"))}}
	listed := entry{Versions: []string{"4.17.11"}}
	for _, v := range []string{"4.17.11", "=4.17.11", "v4.17.11", " v4.17.11"} {
		for name, en := range map[string]entry{"semver range": e, "ecosystem range": eco, "versions": listed} {
			got, err := en.affects(&target{ecosystem: precheck.NPM, raw: targetVersion(precheck.NPM, v), cache: versionCache{}})
			if err != nil || !got {
				t.Errorf("%s: %q affected = %v, %v; want true", name, v, got, err)
			}
		}
	}
	got, err := e.affects(&target{ecosystem: precheck.NPM, raw: targetVersion(precheck.NPM, "=4.17.12"), cache: versionCache{}})
	if err != nil || got {
		t.Errorf("=4.17.12 (fixed) affected = %v, %v", got, err)
	}
}

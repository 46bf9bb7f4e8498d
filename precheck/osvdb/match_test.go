package osvdb

import (
	"testing"

	"github.com/phylum-box/phylum-box/precheck"
)

func rng(t rangeType, evs ...event) vrange { return vrange{Type: t, Events: evs} }
func intro(v string) event                 { return event{evIntroduced, v} }
func fixed(v string) event                 { return event{evFixed, v} }
func lastAff(v string) event               { return event{evLastAffected, v} }
func limit(v string) event                 { return event{evLimit, v} }

// TestAffectsSpec covers the OSV schema's evaluation rules one by one.
func TestAffectsSpec(t *testing.T) {
	type check struct {
		version string
		want    bool
	}
	tests := []struct {
		name   string
		eco    string
		e      entry
		checks []check
	}{
		{"introduced 0 means every version", precheck.NPM,
			entry{Ranges: []vrange{rng(rangeSemver, intro("0"))}},
			[]check{{"0.0.0-alpha", true}, {"0.0.0", true}, {"1.2.3", true}, {"99.0.0-rc.1", true}}},
		{"introduced without fixed is open-ended", precheck.NPM,
			entry{Ranges: []vrange{rng(rangeEcosystem, intro("1.2.0"))}},
			[]check{{"1.1.9", false}, {"1.2.0-beta", false}, {"1.2.0", true}, {"7.0.0", true}}},
		{"fixed is exclusive", precheck.NPM,
			entry{Ranges: []vrange{rng(rangeSemver, intro("0"), fixed("1.0.2"))}},
			[]check{{"1.0.1", true}, {"1.0.2-rc.1", true}, {"1.0.2", false}, {"1.0.3", false}}},
		{"last_affected is inclusive", precheck.NPM,
			entry{Ranges: []vrange{rng(rangeEcosystem, intro("0"), lastAff("2.1.214"))}},
			[]check{{"2.1.214", true}, {"2.1.215", false}, {"2.1.214-beta", true}}},
		{"several intervals in one range", precheck.NPM,
			entry{Ranges: []vrange{rng(rangeSemver, intro("1.0.0"), fixed("1.0.2"), intro("3.0.0"), fixed("3.2.5"))}},
			[]check{{"0.9.0", false}, {"1.0.1", true}, {"1.0.2", false}, {"2.9.9", false}, {"3.0.0", true}, {"3.2.4", true}, {"3.2.5", false}}},
		{"unsorted events are sorted first", precheck.NPM,
			entry{Ranges: []vrange{rng(rangeSemver, fixed("3.2.5"), intro("3.0.0"), fixed("1.0.2"), intro("1.0.0"))}},
			[]check{{"1.0.1", true}, {"2.0.0", false}, {"3.1.0", true}, {"3.2.5", false}}},
		{"multiple ranges: any one matches", precheck.RubyGems,
			entry{Ranges: []vrange{rng(rangeEcosystem, intro("3.0.0"), fixed("3.0.9.1")), rng(rangeEcosystem, intro("0"), fixed("2.0.9.4"))}},
			[]check{{"3.0.9", true}, {"3.0.9.1", false}, {"2.0.9.3", true}, {"2.2.0", false}}},
		{"limit bounds the range", precheck.NPM,
			entry{Ranges: []vrange{rng(rangeSemver, intro("1.0.0"), limit("2.0.0"))}},
			[]check{{"0.5.0", false}, {"1.5.0", true}, {"2.0.0", false}, {"3.0.0", false}}},
		{"limit * is infinity", precheck.NPM,
			entry{Ranges: []vrange{rng(rangeSemver, intro("1.0.0"), limit("*"))}},
			[]check{{"0.5.0", false}, {"9.0.0", true}}},
		{"any of several limits", precheck.NPM,
			entry{Ranges: []vrange{rng(rangeSemver, intro("1.0.0"), limit("1.5.0"), limit("3.0.0"))}},
			[]check{{"2.0.0", true}, {"3.0.0", false}}},
		{"limit does not extend past fixed", precheck.NPM,
			entry{Ranges: []vrange{rng(rangeSemver, intro("1.0.0"), fixed("1.2.0"), limit("3.0.0"))}},
			[]check{{"1.1.0", true}, {"1.2.0", false}, {"2.0.0", false}}},
		{"prereleases order before their release", precheck.NPM,
			entry{Ranges: []vrange{rng(rangeSemver, intro("8.0.0-alpha.0"), fixed("8.0.0-alpha.4"))}},
			[]check{{"7.99.0", false}, {"8.0.0-alpha.0", true}, {"8.0.0-alpha.3", true}, {"8.0.0-alpha.4", false}, {"8.0.0", false}}},
		{"versions list only", precheck.NPM,
			entry{Versions: []string{"5.6.1"}},
			[]check{{"5.6.1", true}, {"5.6.0", false}, {"5.6.2", false}}},
		{"versions list uses the ecosystem's equality (PEP 440: 1 == 1.0)", precheck.PyPI,
			entry{Versions: []string{"1"}},
			[]check{{"1", true}, {"1.0", true}, {"1.0.1", false}}},
		{"versions and ranges together", precheck.NPM,
			entry{Versions: []string{"0.1.0"}, Ranges: []vrange{rng(rangeSemver, intro("2.0.0"), fixed("2.1.0"))}},
			[]check{{"0.1.0", true}, {"0.2.0", false}, {"2.0.5", true}}},
		{"PyPI ordering: pre, post and dev releases", precheck.PyPI,
			entry{Ranges: []vrange{rng(rangeEcosystem, intro("1.0rc1"), fixed("1.0.post1"))}},
			[]check{{"1.0b1", false}, {"1.0rc1", true}, {"1.0", true}, {"1.0.post1", false}, {"1.0.post0.dev1", true}}},
		{"PyPI leading zeros (certifi)", precheck.PyPI,
			entry{Ranges: []vrange{rng(rangeEcosystem, intro("2015.04.28"), fixed("2023.07.22"))}},
			[]check{{"2015.4.28", true}, {"2023.7.22", false}, {"2022.12.7", true}, {"2014.1.1", false}}},
		{"RubyGems prerelease letters", precheck.RubyGems,
			entry{Ranges: []vrange{rng(rangeEcosystem, intro("0"), fixed("1.13.4"))}},
			[]check{{"1.13.4.rc1", true}, {"1.13.3", true}, {"1.13.4", false}}},
		{"crates.io semver", precheck.CratesIO,
			entry{Ranges: []vrange{rng(rangeEcosystem, intro("0.6.3"), fixed("0.6.14")), rng(rangeEcosystem, intro("1.0.0"), fixed("1.6.1"))}},
			[]check{{"0.6.2", false}, {"0.6.13", true}, {"0.6.14", false}, {"1.6.0", true}, {"1.6.1", false}}},
		{"empty range never matches", precheck.NPM,
			entry{Ranges: []vrange{rng(rangeSemver, intro("1.0.0"), fixed("1.0.0"))}},
			[]check{{"1.0.0", false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, c := range tt.checks {
				got, err := tt.e.affects(&target{ecosystem: tt.eco, raw: c.version})
				if err != nil {
					t.Fatalf("%s: %v", c.version, err)
				}
				if got != c.want {
					t.Errorf("%s@%s: affected = %v, want %v", tt.eco, c.version, got, c.want)
				}
			}
		})
	}
}

func TestEntryRoundTrip(t *testing.T) {
	e := &entry{ID: "GHSA-x", Aliases: []string{"CVE-1"}, Summary: "s ✓", Kind: precheck.Malicious,
		Severity: precheck.SeverityHigh, Score: 7.5, Versions: []string{"1.0.0"},
		Ranges: []vrange{rng(rangeSemver, intro("0"), fixed("1.2.3")), rng(rangeEcosystem, lastAff("2"))}}
	b := appendEntry(nil, e)
	got, err := decodeEntry(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != e.ID || got.Summary != e.Summary || got.Kind != e.Kind || got.Severity != e.Severity ||
		got.Score != e.Score || len(got.Ranges) != 2 || got.Ranges[0].Events[1] != e.Ranges[0].Events[1] ||
		got.Versions[0] != "1.0.0" || got.Aliases[0] != "CVE-1" {
		t.Fatalf("round trip: got %+v, want %+v", got, e)
	}
	// Every truncation of a valid value is rejected, never a panic.
	for i := 0; i < len(b); i++ {
		if _, err := decodeEntry(b[:i]); err == nil {
			t.Fatalf("truncated to %d bytes: no error", i)
		}
	}
}

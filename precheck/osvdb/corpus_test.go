package osvdb

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/phylum-box/phylum-box/precheck"
)

// corpusDB imports the real records of ../shared/corpus/osv (as a directory) into a
// fresh database.
func corpusDB(t *testing.T) *DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "osv.db")
	if err := Import(context.Background(), path, []string{filepath.Join(corpusDir(t), "osv")}, nil); err != nil {
		t.Fatal(err)
	}
	return mustOpen(t, path)
}

// TestCorpusMatching checks hand-verified answers for the real records: exact
// boundaries of every range, versions lists, withdrawn records, name normalisation.
func TestCorpusMatching(t *testing.T) {
	db := corpusDB(t)
	tests := []struct {
		eco, name, version string
		want               []string // advisory ids, any order; nil = clean
	}{
		// MAL records: introduced 0 (every version) and versions lists.
		{"npm", "01template1", "1.0.0", []string{"MAL-2022-11"}},
		{"npm", "-d3-ushape", "0.0.1", []string{"MAL-2022-5"}},
		{"npm", "0-dns", "99.0.0-beta.1", []string{"MAL-2022-9"}},
		{"npm", "000webhost-admin", "999.9.9", []string{"MAL-2024-11848"}},
		{"npm", "000webhost-admin", "1.0.0", nil},
		{"npm", "flatmap-stream", "0.1.1", []string{"MAL-2025-20690"}},
		{"npm", "ansi-regex", "6.2.1", []string{"MAL-2025-46966"}},
		{"npm", "ansi-regex", "6.2.0", nil},
		{"npm", "ansi-regex", "6.2.2", nil},
		{"npm", "chalk", "5.6.1", []string{"MAL-2025-46969"}},
		{"npm", "chalk", "5.6.0", nil},
		{"npm", "color-convert", "3.1.1", []string{"MAL-2025-46971"}},
		{"npm", "debug", "4.4.2", []string{"MAL-2025-46974"}},
		{"npm", "debug", "4.4.1", nil},
		{"npm", "@ctrl/deluge", "7.2.3", []string{"MAL-2025-47131"}}, // introduced 0 range wins
		{"npm", "@ctrl/tinycolor", "4.1.2", []string{"MAL-2025-47141"}},
		{"npm", "puppeteer-core", "25.0.1", nil}, // withdrawn
		{"PyPI", "123bla", "0.0.1", []string{"MAL-2024-10238"}},
		{"PyPI", "123Bla", "0.0.1", []string{"MAL-2024-10238"}},
		{"PyPI", "1337test", "1", []string{"MAL-2024-4720"}},
		{"PyPI", "1337test", "1.0", []string{"MAL-2024-4720"}}, // PEP 440 equality
		{"PyPI", "3web", "1.0.0", []string{"MAL-2024-9933"}},
		{"PyPI", "num2words", "0.5.15", []string{"MAL-2025-6794"}},
		{"PyPI", "num2words", "0.5.16", []string{"MAL-2025-6794"}},
		{"PyPI", "num2words", "0.5.14", nil},
		{"PyPI", "0requests", "0.0.1", []string{"MAL-2026-15859"}},
		{"PyPI", "7miners", "2.33.0", []string{"MAL-2026-2670"}},
		{"RubyGems", "37_pieces-of-flair", "0.0.1", []string{"MAL-2024-6267"}},
		{"RubyGems", "37-pieces-of-flair", "0.0.1", nil}, // gem names are exact
		{"RubyGems", "3scale-client", "2.11.0", []string{"MAL-2024-6270"}},
		{"RubyGems", "3scale-client", "2.10.0", nil},
		{"RubyGems", "a1330ks-bmi", "0.0.1", []string{"MAL-2024-6278"}},
		{"RubyGems", "a00_arcguide", "0.0.1", []string{"MAL-2026-7468"}},
		{"crates.io", "rustdecimal", "1.23.1", []string{"MAL-2022-1"}},
		{"crates.io", "arrayref", "0.3.10", []string{"MAL-2026-14336"}},
		{"crates.io", "arrayref", "0.3.9", nil},
		// GHSA: several affected entries per package, boundaries both sides.
		{"npm", "ws", "2.0.0", nil},
		{"npm", "ws", "2.1.0", []string{"GHSA-3h5v-q93c-6h6q"}},
		{"npm", "ws", "5.2.3", []string{"GHSA-3h5v-q93c-6h6q"}},
		{"npm", "ws", "5.2.4", nil},
		{"npm", "ws", "6.2.2", []string{"GHSA-3h5v-q93c-6h6q"}},
		{"npm", "ws", "6.2.3", nil},
		{"npm", "ws", "7.5.9", []string{"GHSA-3h5v-q93c-6h6q"}},
		{"npm", "ws", "8.17.0", []string{"GHSA-3h5v-q93c-6h6q"}},
		{"npm", "ws", "8.17.1", nil},
		{"npm", "@babel/traverse", "7.23.1", []string{"GHSA-67hx-6x53-jw92"}},
		{"npm", "@babel/traverse", "7.23.2", nil},
		{"npm", "@babel/traverse", "8.0.0-alpha.3", []string{"GHSA-67hx-6x53-jw92"}},
		{"npm", "@babel/traverse", "8.0.0-alpha.4", nil},
		{"npm", "babel-traverse", "6.26.0", []string{"GHSA-67hx-6x53-jw92"}}, // open-ended
		{"npm", "tough-cookie", "4.1.2", []string{"GHSA-72xf-g2v4-qvf3"}},
		{"npm", "tough-cookie", "4.1.3", nil},
		{"npm", "micromatch", "4.0.7", []string{"GHSA-952p-6rrq-rcjv"}},
		{"npm", "micromatch", "4.0.8", nil},
		{"npm", "semver", "7.5.1", []string{"GHSA-c2qf-rxjj-qqgw"}},
		{"npm", "semver", "7.5.2", nil},
		{"npm", "semver", "6.3.0", []string{"GHSA-c2qf-rxjj-qqgw"}},
		{"npm", "semver", "6.3.1", nil},
		{"npm", "semver", "5.7.1", []string{"GHSA-c2qf-rxjj-qqgw"}},
		{"npm", "semver", "5.7.2", nil},
		{"npm", "follow-redirects", "1.15.5", []string{"GHSA-cxjh-pqwp-8mfp"}},
		{"npm", "follow-redirects", "1.15.6", nil},
		{"npm", "braces", "3.0.2", []string{"GHSA-grv7-fg5c-xmjg"}},
		{"npm", "braces", "3.0.3", nil},
		{"npm", "lodash", "4.17.11", []string{"GHSA-jf85-cpcp-j695"}},
		{"npm", "lodash", "4.17.12", nil},
		{"npm", "lodash-es", "4.17.13", []string{"GHSA-jf85-cpcp-j695"}},
		{"npm", "lodash-amd", "4.17.13", nil},
		{"npm", "lodash.defaultsdeep", "4.6.0", []string{"GHSA-jf85-cpcp-j695"}},
		{"npm", "request", "2.88.2", []string{"GHSA-p8p7-x288-28g6"}}, // last_affected inclusive
		{"npm", "@cypress/request", "2.88.11", []string{"GHSA-p8p7-x288-28g6"}},
		{"npm", "@cypress/request", "2.88.12", nil},
		{"npm", "minimist", "0.2.3", []string{"GHSA-xvch-5gv4-984h"}},
		{"npm", "minimist", "0.2.4", nil},
		{"npm", "minimist", "1.0.0", []string{"GHSA-xvch-5gv4-984h"}},
		{"npm", "minimist", "1.2.5", []string{"GHSA-xvch-5gv4-984h"}},
		{"npm", "minimist", "1.2.6", nil},
		{"PyPI", "Jinja2", "3.1.2", []string{"GHSA-h5c8-rqwp-cp95"}},
		{"PyPI", "jinja2", "3.1.3", nil},
		{"PyPI", "requests", "2.2.1", nil},
		{"PyPI", "requests", "2.3.0", []string{"GHSA-j8r2-6x86-q33q"}},
		{"PyPI", "requests", "2.30.0", []string{"GHSA-j8r2-6x86-q33q"}},
		{"PyPI", "requests", "2.31.0", nil},
		{"PyPI", "idna", "3.6", []string{"GHSA-jjg7-2v4v-x38h"}},
		{"PyPI", "idna", "3.7", nil},
		{"PyPI", "setuptools", "65.5.0", []string{"GHSA-r9hx-vwmv-q579"}},
		{"PyPI", "setuptools", "65.5.1", nil},
		{"PyPI", "aiohttp", "3.8.1", nil}, // withdrawn
		{"PyPI", "urllib3", "2.0.5", []string{"GHSA-v845-jxx5-vc9f"}},
		{"PyPI", "urllib3", "2.0.6", nil},
		{"PyPI", "urllib3", "1.26.16", []string{"GHSA-v845-jxx5-vc9f"}},
		{"PyPI", "urllib3", "1.26.17", nil},
		{"PyPI", "certifi", "2015.04.28", []string{"GHSA-xqr8-7jwr-rhp7"}},
		{"PyPI", "certifi", "2022.12.7", []string{"GHSA-xqr8-7jwr-rhp7"}},
		{"PyPI", "certifi", "2023.7.22", nil},
		{"PyPI", "certifi", "2014.1.1", nil},
		{"RubyGems", "rack", "3.0.9", []string{"GHSA-54rr-7fvw-6x8f"}},
		{"RubyGems", "rack", "3.0.9.1", nil},
		{"RubyGems", "rack", "2.2.8", []string{"GHSA-54rr-7fvw-6x8f"}},
		{"RubyGems", "rack", "2.2.8.1", nil},
		{"RubyGems", "rack", "2.0.9.3", []string{"GHSA-54rr-7fvw-6x8f"}},
		{"RubyGems", "actionpack", "7.0.4", []string{"GHSA-8xww-x3g3-6jcv"}},
		{"RubyGems", "actionpack", "7.0.4.1", nil},
		{"RubyGems", "actionpack", "5.2.8.14", []string{"GHSA-8xww-x3g3-6jcv"}},
		{"RubyGems", "nokogiri", "1.13.3", []string{"GHSA-crjr-9rc5-ghw8"}},
		{"RubyGems", "nokogiri", "1.13.4", nil},
		{"crates.io", "smallvec", "0.6.2", nil},
		{"crates.io", "smallvec", "0.6.13", []string{"GHSA-43w2-9j62-hq99"}},
		{"crates.io", "smallvec", "1.6.0", []string{"GHSA-43w2-9j62-hq99"}},
		{"crates.io", "smallvec", "1.6.1", nil},
		{"crates.io", "tokio", "1.8.3", []string{"GHSA-fg7r-2g4j-5cgr"}},
		{"crates.io", "tokio", "1.8.4", nil},
		{"crates.io", "tokio", "1.13.0", []string{"GHSA-fg7r-2g4j-5cgr"}},
		{"crates.io", "tokio", "1.13.1", nil},
		{"crates.io", "regex", "1.5.4", []string{"GHSA-m5pq-gvj9-9vr8"}},
		{"crates.io", "Regex", "1.5.4", []string{"GHSA-m5pq-gvj9-9vr8"}},
		{"crates.io", "regex", "1.5.5", nil},
		{"npm", "no-such-package", "1.0.0", nil},
	}
	for _, tt := range tests {
		fs, err := db.Lookup(tt.eco, tt.name, tt.version)
		if err != nil {
			t.Errorf("%s %s@%s: %v", tt.eco, tt.name, tt.version, err)
			continue
		}
		var got []string
		for _, f := range fs {
			got = append(got, f.ID)
		}
		slices.Sort(got)
		want := slices.Clone(tt.want)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s %s@%s: got %v, want %v", tt.eco, tt.name, tt.version, got, want)
		}
	}
}

// TestCorpusEveryRecord derives checks from each real record itself: every listed
// version, every introduced (other than "0") and every last_affected version is
// affected; withdrawn records match nothing; the finding's kind and severity follow
// the record.
func TestCorpusEveryRecord(t *testing.T) {
	db := corpusDB(t)
	for _, path := range corpusRecords(t) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var r osvRecord
		if err := json.Unmarshal(data, &r); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		var dbsev struct {
			DB struct {
				Severity string `json:"severity"`
			} `json:"database_specific"`
		}
		_ = json.Unmarshal(data, &dbsev)
		for _, a := range r.Affected {
			var versions []string
			versions = append(versions, a.Versions...)
			for _, rg := range a.Ranges {
				for _, ev := range rg.Events {
					if ev.Introduced != nil && *ev.Introduced != "0" && *ev.Introduced != "" {
						versions = append(versions, *ev.Introduced)
					}
					if ev.LastAffected != nil {
						versions = append(versions, *ev.LastAffected)
					}
				}
			}
			if len(versions) == 0 {
				versions = []string{"0.0.1"} // introduced 0 only
			}
			for _, v := range versions {
				fs, err := db.Lookup(a.Package.Ecosystem, a.Package.Name, v)
				if err != nil {
					t.Fatalf("%s %s@%s: %v", r.ID, a.Package.Name, v, err)
				}
				idx := slices.IndexFunc(fs, func(f precheck.Finding) bool { return f.ID == r.ID })
				if r.Withdrawn != "" {
					if idx >= 0 {
						t.Errorf("%s is withdrawn but matched %s@%s", r.ID, a.Package.Name, v)
					}
					continue
				}
				if idx < 0 {
					t.Errorf("%s: %s %s@%s not matched", r.ID, a.Package.Ecosystem, a.Package.Name, v)
					continue
				}
				f := fs[idx]
				wantKind := precheck.Vulnerability
				if r.ID[:4] == "MAL-" {
					wantKind = precheck.Malicious
				}
				if f.Kind != wantKind {
					t.Errorf("%s: kind %s, want %s", r.ID, f.Kind, wantKind)
				}
				if wantKind == precheck.Vulnerability {
					want, _ := precheck.ParseSeverity(dbsev.DB.Severity)
					if f.Severity != want {
						t.Errorf("%s: severity %s, want %s (database_specific)", r.ID, f.Severity, want)
					}
				}
				if f.Summary != r.Summary || !slices.Equal(f.Aliases, r.Aliases) {
					t.Errorf("%s: summary/aliases not carried: %+v", r.ID, f)
				}
			}
		}
	}
}

func TestCorpusSeverityScore(t *testing.T) {
	db := corpusDB(t)
	tests := []struct {
		eco, name, version, id string
		sev                    precheck.Severity
		score                  float64
	}{
		{"npm", "ws", "8.0.0", "GHSA-3h5v-q93c-6h6q", precheck.SeverityHigh, 7.5},
		{"npm", "micromatch", "4.0.0", "GHSA-952p-6rrq-rcjv", precheck.SeverityMedium, 0}, // empty severity[]
		{"npm", "chalk", "5.6.1", "MAL-2025-46969", precheck.SeverityCritical, 0},
	}
	for _, tt := range tests {
		fs, err := db.Lookup(tt.eco, tt.name, tt.version)
		if err != nil || len(fs) != 1 || fs[0].ID != tt.id {
			t.Fatalf("%s@%s: %v %v", tt.name, tt.version, fs, err)
		}
		if fs[0].Severity != tt.sev || fs[0].Score != tt.score {
			t.Errorf("%s: severity %s score %v, want %s %v", tt.id, fs[0].Severity, fs[0].Score, tt.sev, tt.score)
		}
	}
}

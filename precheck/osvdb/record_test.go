package osvdb

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/ossf/osv-schema/bindings/go/osvschema"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/phylum-box/phylum-box/precheck"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name  string
		rec   string
		kind  precheck.FindingKind
		sev   precheck.Severity
		score float64
	}{
		{"MAL id", `{"id":"MAL-2025-1","summary":"x"}`, precheck.Malicious, precheck.SeverityCritical, 0},
		{"GHSA aliasing a MAL id", `{"id":"GHSA-a","aliases":["MAL-2025-1"]}`, precheck.Malicious, precheck.SeverityCritical, 0},
		{"malicious-packages origins", `{"id":"X-1","database_specific":{"malicious-packages-origins":[{"source":"ghsa-malware"}]}}`, precheck.Malicious, precheck.SeverityCritical, 0},
		{"underscore origins", `{"id":"X-1","database_specific":{"malicious_packages_origins":[{}]}}`, precheck.Malicious, precheck.SeverityCritical, 0},
		{"GHSA malware summary", `{"id":"GHSA-b","summary":"Malicious code in evil (npm)"}`, precheck.Malicious, precheck.SeverityCritical, 0},
		{"old GHSA malware summary", `{"id":"GHSA-c","summary":"Malicious Package in flatmap-stream"}`, precheck.Malicious, precheck.SeverityCritical, 0},
		{"CWE-506 in cwe_ids", `{"id":"GHSA-d","database_specific":{"cwe_ids":["CWE-506"],"severity":"CRITICAL"}}`, precheck.Malicious, precheck.SeverityCritical, 0},
		{"empty origins is not malware", `{"id":"GHSA-e","database_specific":{"malicious-packages-origins":[]}}`, precheck.Vulnerability, precheck.SeverityUnknown, 0},
		{"GHSA severity wins over CVSS", `{"id":"GHSA-f","severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}],"database_specific":{"severity":"MODERATE"}}`, precheck.Vulnerability, precheck.SeverityMedium, 7.5},
		{"CVSS 3.1 only", `{"id":"CVE-1","severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}`, precheck.Vulnerability, precheck.SeverityCritical, 9.8},
		{"CVSS 3.0", `{"id":"CVE-2","severity":[{"type":"CVSS_V3","score":"CVSS:3.0/AV:L/AC:L/PR:N/UI:R/S:U/C:N/I:N/A:H"}]}`, precheck.Vulnerability, precheck.SeverityMedium, 5.5},
		{"CVSS 4.0", `{"id":"CVE-3","severity":[{"type":"CVSS_V4","score":"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}]}`, precheck.Vulnerability, precheck.SeverityCritical, 9.3},
		{"highest of v3 and v4", `{"id":"CVE-4","severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:N/I:N/A:H"},{"type":"CVSS_V4","score":"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}]}`, precheck.Vulnerability, precheck.SeverityCritical, 9.3},
		{"zero score is none", `{"id":"CVE-5","severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N"}]}`, precheck.Vulnerability, precheck.SeverityNone, 0},
		{"garbage vector ignored", `{"id":"CVE-6","severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:Q"}]}`, precheck.Vulnerability, precheck.SeverityUnknown, 0},
		{"affected-level severity as fallback", `{"id":"CVE-7","affected":[{"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}]}]}`, precheck.Vulnerability, precheck.SeverityHigh, 7.5},
		{"odd database_specific shapes do not fail", `{"id":"CVE-8","database_specific":{"severity":7,"cwe_ids":"x"}}`, precheck.Vulnerability, precheck.SeverityUnknown, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := decodeRecord([]byte(tt.rec))
			if err != nil {
				t.Fatal(err)
			}
			kind, sev, score := r.classify()
			if kind != tt.kind || sev != tt.sev || score != tt.score {
				t.Errorf("got %s %s %v, want %s %s %v", kind, sev, score, tt.kind, tt.sev, tt.score)
			}
		})
	}
}

func TestDecodeRecordErrors(t *testing.T) {
	for _, in := range []string{``, `{`, `[]`, `{"id":""}`, `{"id":1}`, `{"id":"X","affected":{}}`} {
		if _, err := decodeRecord([]byte(in)); err == nil {
			t.Errorf("decodeRecord(%q): no error", in)
		}
	}
}

// BenchmarkDecode compares decoding the corpus records with the protobuf-generated
// ossf/osv-schema bindings (protojson) against our minimal structs; the figures are
// why record.go does not use the bindings for import.
func BenchmarkDecode(b *testing.B) {
	var docs [][]byte
	for _, p := range corpusRecords(b) {
		d, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		docs = append(docs, d)
	}
	b.Run("protojson-osvschema", func(b *testing.B) {
		opts := protojson.UnmarshalOptions{DiscardUnknown: true}
		for b.Loop() {
			for _, d := range docs {
				var v osvschema.Vulnerability
				if err := opts.Unmarshal(d, &v); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("gjson-minimal", func(b *testing.B) {
		for b.Loop() {
			for _, d := range docs {
				if _, err := decodeRecordFast(d); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("encoding-json-minimal", func(b *testing.B) {
		for b.Loop() {
			for _, d := range docs {
				var v osvRecord
				if err := json.Unmarshal(d, &v); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

package osvdb

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"

	gocvss30 "github.com/pandatix/go-cvss/30"
	gocvss31 "github.com/pandatix/go-cvss/31"
	gocvss40 "github.com/pandatix/go-cvss/40"

	"github.com/phylum-box/phylum-box/precheck"
)

// osvRecord is the subset of an OSV record that matching and reporting need.
//
// Why not github.com/ossf/osv-schema/bindings/go/osvschema: that package is
// protobuf-generated, so it decodes only through protojson, which materialises every
// field (details, references, credits, a structpb tree for each database_specific)
// via protobuf reflection. On the 47 corpus records (BenchmarkDecode in
// record_test.go) protojson took 3.9 ms, 528 KB and 14,633 allocations against
// 1.7 ms, 87 KB and 1,406 for encoding/json into these structs: 2.3x the time, 6x
// the garbage. JSON decoding is about half of an import's CPU, so for a
// 250,000-record export that is several seconds of a 20 s budget. Unknown fields
// are skipped here without being materialised. Imports decode with gjson into
// these same structs (decode.go); the json tags define the reference decoder.
type osvRecord struct {
	ID        string        `json:"id"`
	Withdrawn string        `json:"withdrawn"`
	Aliases   []string      `json:"aliases"`
	Summary   string        `json:"summary"`
	Severity  []osvSeverity `json:"severity"`
	Affected  []osvAffected `json:"affected"`
	DBSpec    osvDBSpecific `json:"database_specific"`
}

type osvSeverity struct {
	Type  string `json:"type"`
	Score string `json:"score"`
}

type osvAffected struct {
	Package struct {
		Ecosystem string `json:"ecosystem"`
		Name      string `json:"name"`
	} `json:"package"`
	Severity []osvSeverity  `json:"severity"`
	Ranges   []osvRange     `json:"ranges"`
	Versions []string       `json:"versions"`
	DBSpec   osvAffDBSpecfc `json:"database_specific"`
}

type osvRange struct {
	Type   string     `json:"type"`
	Events []osvEvent `json:"events"`
}

type osvEvent struct {
	Introduced   *string `json:"introduced"`
	Fixed        *string `json:"fixed"`
	LastAffected *string `json:"last_affected"`
	Limit        *string `json:"limit"`
}

// osvDBSpecific holds the database_specific keys we act on. database_specific is
// free-form, so every field is decoded leniently (RawMessage) and interpreted by hand:
// a record with an unexpected shape there must not fail the whole import.
type osvDBSpecific struct {
	Severity json.RawMessage `json:"severity"`
	CWEIDs   json.RawMessage `json:"cwe_ids"`
	// ossf/malicious-packages spells it with hyphens; accept the underscore form too.
	MalOrigins  json.RawMessage `json:"malicious-packages-origins"`
	MalOrigins2 json.RawMessage `json:"malicious_packages_origins"`
}

type osvAffDBSpecfc struct {
	CWEs json.RawMessage `json:"cwes"`
}

// cweMalicious is CWE-506 "Embedded Malicious Code", which GitHub puts on its
// malware advisories and ossf/malicious-packages on every MAL record.
const cweMalicious = "CWE-506"

// classify decides Kind, Severity and Score for a record once, at import time.
func (r *osvRecord) classify() (kind precheck.FindingKind, sev precheck.Severity, score float64) {
	if r.isMalicious() {
		// Malware has no meaningful CVSS; policy blocks it by kind. Critical keeps any
		// severity-only consumer from treating it as harmless.
		return precheck.Malicious, precheck.SeverityCritical, 0
	}
	sev, score = severityOf(r.Severity)
	if len(r.DBSpec.Severity) > 0 {
		var s string
		if json.Unmarshal(r.DBSpec.Severity, &s) == nil {
			if ds, ok := precheck.ParseSeverity(s); ok && ds != precheck.SeverityUnknown {
				// The database's own rating (GHSA: LOW/MODERATE/HIGH/CRITICAL) wins over
				// our computation; keep the CVSS score for reporting.
				sev = ds
			}
		}
	}
	if sev == precheck.SeverityUnknown {
		for _, a := range r.Affected {
			if s, sc := severityOf(a.Severity); s > sev {
				sev, score = s, sc
			}
		}
	}
	return precheck.Vulnerability, sev, score
}

func (r *osvRecord) isMalicious() bool {
	if strings.HasPrefix(r.ID, "MAL-") {
		return true
	}
	for _, a := range r.Aliases {
		if strings.HasPrefix(a, "MAL-") {
			return true
		}
	}
	if nonEmptyJSON(r.DBSpec.MalOrigins) || nonEmptyJSON(r.DBSpec.MalOrigins2) {
		return true
	}
	// GitHub malware advisories (GHSA ids, "Malicious code in X" / older "Malicious
	// Package in X" summaries) carry CWE-506.
	s := strings.ToLower(r.Summary)
	if strings.HasPrefix(s, "malicious code in ") || strings.HasPrefix(s, "malicious package in ") {
		return true
	}
	if strings.Contains(string(r.DBSpec.CWEIDs), `"`+cweMalicious+`"`) {
		return true
	}
	for _, a := range r.Affected {
		if strings.Contains(string(a.DBSpec.CWEs), `"`+cweMalicious+`"`) {
			return true
		}
	}
	return false
}

func nonEmptyJSON(m json.RawMessage) bool {
	s := strings.TrimSpace(string(m))
	return s != "" && s != "null" && s != "[]" && s != "{}"
}

// severityOf returns the highest severity among CVSS v3.x / v4 vectors, with the base
// score that produced it. CVSS v2 is ignored: GHSA and the malware feeds never use it
// alone, and its ratings do not map onto v3's bands.
func severityOf(list []osvSeverity) (precheck.Severity, float64) {
	best, bestScore := precheck.SeverityUnknown, 0.0
	for _, s := range list {
		score, ok := cvssBaseScore(s.Score)
		if !ok {
			continue
		}
		if sev := scoreSeverity(score); sev > best || (sev == best && score > bestScore) {
			best, bestScore = sev, score
		}
	}
	return best, bestScore
}

// cvssBaseScore reads the vector's own "CVSS:x.y/" prefix rather than the record's
// type field, which some feeds fill loosely (CVSS_V3 holding a 3.0 or 3.1 vector).
func cvssBaseScore(vector string) (float64, bool) {
	vector = strings.TrimSpace(vector)
	switch {
	case strings.HasPrefix(vector, "CVSS:3.1/"):
		if v, err := gocvss31.ParseVector(vector); err == nil {
			return v.BaseScore(), true
		}
	case strings.HasPrefix(vector, "CVSS:3.0/"):
		if v, err := gocvss30.ParseVector(vector); err == nil {
			return v.BaseScore(), true
		}
	case strings.HasPrefix(vector, "CVSS:4.0/"):
		if v, err := gocvss40.ParseVector(vector); err == nil {
			return v.Score(), true
		}
	}
	return 0, false
}

// scoreSeverity maps a CVSS base score to the qualitative bands CVSS v3.x and v4
// both define: 0 none, 0.1–3.9 low, 4.0–6.9 medium, 7.0–8.9 high, 9.0–10 critical.
func scoreSeverity(score float64) precheck.Severity {
	switch {
	case math.IsNaN(score) || score < 0:
		return precheck.SeverityUnknown
	case score >= 9.0:
		return precheck.SeverityCritical
	case score >= 7.0:
		return precheck.SeverityHigh
	case score >= 4.0:
		return precheck.SeverityMedium
	case score >= 0.1:
		return precheck.SeverityLow
	}
	return precheck.SeverityNone
}

// decodeRecord parses one OSV JSON document.
func decodeRecord(data []byte) (*osvRecord, error) { return decodeRecordFast(data) }

// decodeRecordJSON is the encoding/json reference that decodeRecordFast is tested
// against field for field.
func decodeRecordJSON(data []byte) (*osvRecord, error) {
	var r osvRecord
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, err
	}
	if r.ID == "" {
		return nil, fmt.Errorf("record has no \"id\"")
	}
	return &r, nil
}

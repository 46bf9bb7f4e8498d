package report

import (
	"encoding/json"
	"io"
	"time"

	"github.com/phylum-box/phylum-box/precheck"
	"github.com/phylum-box/phylum-box/precheck/policy"
)

// JSONSchemaVersion is bumped on any incompatible change to the JSON output.
const JSONSchemaVersion = 1

// The JSON document. Field names and meanings are documented in docs/check-json.md;
// these types exist so that the schema is written down in one place and does not
// drift with the engine's internal types.
type jsonDoc struct {
	SchemaVersion  int           `json:"schema_version"`
	Verdict        string        `json:"verdict"`
	CheckedAt      time.Time     `json:"checked_at"`
	Summary        jsonSummary   `json:"summary"`
	Packages       []jsonPackage `json:"packages"`
	Database       jsonDatabase  `json:"database"`
	Problems       []string      `json:"problems"`
	Warnings       []string      `json:"warnings"`
	ExpiredIgnores []jsonIgnore  `json:"expired_ignores"`
	PolicyFiles    []string      `json:"policy_files"`
	Policy         *jsonPolicy   `json:"policy,omitempty"`
}

// jsonPolicy is the effective policy, so a CI log shows what the verdict was
// reached under without reading every layer.
type jsonPolicy struct {
	BlockMalicious     bool                `json:"block_malicious"`
	BlockVulnerability string              `json:"block_vulnerability"`
	MinReleaseAge      string              `json:"min_release_age"`
	MaxAge             string              `json:"database_max_age"`
	WhenStale          string              `json:"database_when_stale"`
	Uncheckable        string              `json:"uncheckable"`
	Ignores            int                 `json:"ignores"`
	Behaviour          jsonDetectionPolicy `json:"behaviour"`
	Analysis           jsonDetectionPolicy `json:"analysis"`
}

type jsonSummary struct {
	Packages  int `json:"packages"`
	Blocked   int `json:"blocked"`
	Unchecked int `json:"unchecked"`
	Findings  int `json:"findings"`
	Behaviour int `json:"behaviour"`
	Analysis  int `json:"analysis"`
	Ignored   int `json:"ignored"`
}

type jsonPackage struct {
	Ecosystem string        `json:"ecosystem"`
	Name      string        `json:"name"`
	Version   string        `json:"version"`
	Findings  []jsonFinding `json:"findings"`
	Blocked   bool          `json:"blocked"`
	Reasons   []string      `json:"reasons"`
	Source    string        `json:"source,omitempty"`
	Dev       bool          `json:"dev,omitempty"`
	Unchecked bool          `json:"unchecked,omitempty"`
	// Uncheckable and UncheckableReason come from the lockfile (git/file/URL entries).
	Uncheckable       bool               `json:"uncheckable,omitempty"`
	UncheckableReason string             `json:"uncheckable_reason,omitempty"`
	Metadata          *precheck.Metadata `json:"metadata,omitempty"`
	// Behaviour and Analysis are the behaviour monitor's and the static analysis's
	// findings; Findings holds the advisories only.
	Behaviour []jsonDetection `json:"behaviour"`
	Analysis  []jsonDetection `json:"analysis"`
	// Unattributed marks a pseudo-package ("(build)") holding behaviour no
	// installed package could be tied to.
	Unattributed bool `json:"unattributed,omitempty"`
}

type jsonFinding struct {
	ID       string   `json:"id"`
	Kind     string   `json:"kind"`
	Severity string   `json:"severity"`
	Summary  string   `json:"summary"`
	Aliases  []string `json:"aliases"`
	Score    float64  `json:"score,omitempty"`
	Blocking bool     `json:"blocking"`
	Ignored  bool     `json:"ignored"`
	Reason   string   `json:"reason"`
}

type jsonDatabase struct {
	Available  bool            `json:"available"`
	Path       string          `json:"path,omitempty"`
	Updated    *time.Time      `json:"updated"`
	MaxAge     string          `json:"max_age"`
	Stale      bool            `json:"stale"`
	Ecosystems []jsonEcosystem `json:"ecosystems"`
}

type jsonEcosystem struct {
	Name    string     `json:"name"`
	Records int        `json:"records"`
	Updated *time.Time `json:"updated"`
}

type jsonIgnore struct {
	ID      string `json:"id"`
	Package string `json:"package,omitempty"`
	Until   string `json:"until"`
	Reason  string `json:"reason"`
	Source  string `json:"source"`
}

// WriteJSON writes the verdict as one JSON document (every package, clean ones with
// an empty findings list, so a consumer can tell "checked, clean" from "absent").
func WriteJSON(w io.Writer, v *precheck.Verdict, o Options) error {
	doc := jsonDoc{
		SchemaVersion:  JSONSchemaVersion,
		Verdict:        string(v.Result),
		CheckedAt:      v.CheckedAt.UTC(),
		Packages:       make([]jsonPackage, 0, len(v.Packages)),
		Problems:       nonNil(v.Problems),
		Warnings:       nonNil(v.Warnings),
		ExpiredIgnores: []jsonIgnore{},
		PolicyFiles:    nonNil(v.PolicyFiles),
		Database: jsonDatabase{
			Available:  v.Database.Available,
			Path:       v.Database.Path,
			Updated:    timePtr(v.Database.Updated),
			MaxAge:     policy.FormatDuration(v.Database.MaxAge),
			Stale:      v.Database.Stale,
			Ecosystems: []jsonEcosystem{},
		},
	}
	if p := v.Policy; p != nil {
		doc.Policy = &jsonPolicy{
			BlockMalicious: p.Block.Malicious, BlockVulnerability: string(p.Block.Vulnerability),
			MinReleaseAge: policy.FormatDuration(p.MinReleaseAge), MaxAge: policy.FormatDuration(p.Database.MaxAge),
			WhenStale: string(p.Database.WhenStale), Uncheckable: string(p.Uncheckable), Ignores: len(p.Ignore),
			Behaviour: jsonDetectionPolicy{Monitor: &p.Behaviour.Monitor, Block: string(p.Behaviour.Block), Rules: rulesJSON(p.Behaviour.Rules)},
			Analysis: jsonDetectionPolicy{Block: string(p.Analysis.Block), Typosquat: string(p.Analysis.Typosquat),
				Rules: rulesJSON(p.Analysis.Rules)},
		}
	}
	for _, e := range v.Database.Ecosystems {
		doc.Database.Ecosystems = append(doc.Database.Ecosystems, jsonEcosystem{Name: e.Name, Records: e.Records, Updated: timePtr(e.Updated)})
	}
	for _, ig := range v.ExpiredIgnores {
		doc.ExpiredIgnores = append(doc.ExpiredIgnores, jsonIgnore{ID: ig.ID, Package: ig.Package,
			Until: ig.Until.Format(time.DateOnly), Reason: ig.Reason, Source: ig.Source})
	}
	for _, p := range v.Packages {
		jp := jsonPackage{
			Ecosystem: p.Ecosystem, Name: p.Name, Version: p.Version,
			Findings: make([]jsonFinding, 0, len(p.Findings)),
			Blocked:  p.Blocked, Reasons: nonNil(p.Reasons),
			Source: p.Source, Dev: p.Dev, Unchecked: p.Unchecked,
			Uncheckable: p.Uncheckable, UncheckableReason: p.Package.Reason,
			Metadata:  p.Metadata,
			Behaviour: []jsonDetection{}, Analysis: []jsonDetection{}, Unattributed: p.Unattributed,
		}
		doc.Summary.Packages++
		if p.Blocked {
			doc.Summary.Blocked++
		}
		if p.Unchecked {
			doc.Summary.Unchecked++
		}
		for _, f := range p.Findings {
			if f.Ignored {
				doc.Summary.Ignored++
			}
			switch f.Kind {
			case precheck.Behaviour:
				doc.Summary.Behaviour++
				jp.Behaviour = append(jp.Behaviour, toJSONDetection(f))
				continue
			case precheck.Analysis:
				doc.Summary.Analysis++
				jp.Analysis = append(jp.Analysis, toJSONDetection(f))
				continue
			}
			doc.Summary.Findings++
			jp.Findings = append(jp.Findings, jsonFinding{
				ID: f.ID, Kind: string(f.Kind), Severity: f.Severity.String(), Summary: f.Summary,
				Aliases: nonNil(f.Aliases), Score: f.Score,
				Blocking: f.Blocking, Ignored: f.Ignored, Reason: f.Reason,
			})
		}
		doc.Packages = append(doc.Packages, jp)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // summaries are read by people too; "<" stays "<"
	return enc.Encode(doc)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

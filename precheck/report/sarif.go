package report

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/phylum-box/phylum-box/precheck"
)

// SARIF 2.1.0, the subset code-scanning tools read. Written by hand: it is a dozen
// small structs, and a library would bring far more surface than it saves.
const (
	sarifVersion = "2.1.0"
	sarifSchema  = "https://json.schemastore.org/sarif-2.1.0.json"
	toolURI      = "https://github.com/phylum-box/phylum-box"
	// Rule ids for results that are not about one advisory.
	ruleUncheckable = "phylum-box/uncheckable"
	rulePolicy      = "phylum-box/policy"
)

type sarifLog struct {
	Version string     `json:"version"`
	Schema  string     `json:"$schema"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool        sarifTool         `json:"tool"`
	Invocations []sarifInvocation `json:"invocations"`
	Results     []sarifResult     `json:"results"`
	Properties  map[string]any    `json:"properties,omitempty"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string         `json:"id"`
	ShortDescription     sarifText      `json:"shortDescription"`
	HelpURI              string         `json:"helpUri,omitempty"`
	Help                 *sarifText     `json:"help,omitempty"`
	DefaultConfiguration sarifConfig    `json:"defaultConfiguration"`
	Properties           map[string]any `json:"properties,omitempty"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifInvocation struct {
	ExecutionSuccessful bool                `json:"executionSuccessful"`
	Notifications       []sarifNotification `json:"toolExecutionNotifications,omitempty"`
}

type sarifNotification struct {
	Level   string    `json:"level"`
	Message sarifText `json:"message"`
}

type sarifResult struct {
	RuleID              string             `json:"ruleId"`
	RuleIndex           int                `json:"ruleIndex"`
	Level               string             `json:"level"`
	Message             sarifText          `json:"message"`
	Locations           []sarifLocation    `json:"locations"`
	RelatedLocations    []sarifRelated     `json:"relatedLocations,omitempty"`
	PartialFingerprints map[string]string  `json:"partialFingerprints"`
	Suppressions        []sarifSuppression `json:"suppressions,omitempty"`
	Properties          map[string]any     `json:"properties,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation *sarifPhysical `json:"physicalLocation,omitempty"`
	LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId,omitempty"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

type sarifLogical struct {
	Name               string `json:"name"`
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

type sarifSuppression struct {
	Kind          string `json:"kind"`
	Justification string `json:"justification"`
}

// WriteSARIF writes one run with a rule per advisory id and a result per (package,
// advisory), located at the lockfile (relative to Options.BaseDir, under the
// %SRCROOT% base) and its line when known. Blocking results are "error", the rest
// "warning"; ignored ones carry an external suppression with the policy's reason.
func WriteSARIF(w io.Writer, v *precheck.Verdict, o Options) error {
	run := sarifRun{
		Tool:        sarifTool{Driver: sarifDriver{Name: "phylum-box", Version: o.ToolVersion, InformationURI: toolURI, Rules: []sarifRule{}}},
		Invocations: []sarifInvocation{{ExecutionSuccessful: true}},
		Results:     []sarifResult{},
		Properties:  map[string]any{"verdict": string(v.Result)},
	}
	for _, s := range v.Problems {
		run.Invocations[0].Notifications = append(run.Invocations[0].Notifications, sarifNotification{Level: "error", Message: sarifText{s}})
	}
	for _, s := range v.Warnings {
		run.Invocations[0].Notifications = append(run.Invocations[0].Notifications, sarifNotification{Level: "warning", Message: sarifText{s}})
	}
	ruleIndex := map[string]int{}
	rule := func(id string, mk func() sarifRule) int {
		if i, ok := ruleIndex[id]; ok {
			return i
		}
		ruleIndex[id] = len(run.Tool.Driver.Rules)
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, mk())
		return ruleIndex[id]
	}
	for _, p := range v.Packages {
		loc := sarifLocationFor(p.Package, o.BaseDir)
		for _, f := range p.Findings {
			if isDetection(f.Finding) {
				idx := rule(f.ID, func() sarifRule { return detectionRule(f.Finding) })
				r := sarifResult{
					RuleID: f.ID, RuleIndex: idx, Level: level(f.Blocking),
					Message:             sarifText{detectionMessage(p.Package, f)},
					Locations:           loc,
					RelatedLocations:    evidenceLocations(f.Finding),
					PartialFingerprints: fingerprint(p.Package, f.ID),
					Properties:          packageProperties(p.Package),
				}
				if f.Ignored {
					r.Suppressions = []sarifSuppression{{Kind: "external", Justification: f.Reason}}
				}
				run.Results = append(run.Results, r)
				continue
			}
			idx := rule(f.ID, func() sarifRule { return advisoryRule(f.Finding) })
			r := sarifResult{
				RuleID: f.ID, RuleIndex: idx, Level: level(f.Blocking),
				Message: sarifText{fmt.Sprintf("%s: %s (%s) — %s. %s", pkgLabel(p.Package), f.ID, kindText(f.Finding),
					orDefault(oneLine(f.Summary, 300), "no summary"), f.Reason)},
				Locations:           loc,
				PartialFingerprints: fingerprint(p.Package, f.ID),
				Properties:          packageProperties(p.Package),
			}
			if f.Ignored {
				r.Suppressions = []sarifSuppression{{Kind: "external", Justification: f.Reason}}
			}
			run.Results = append(run.Results, r)
		}
		for _, reason := range p.Reasons {
			if findingReason(p, reason) {
				continue
			}
			id, desc := rulePolicy, "A phylum-box policy rule that is not an advisory (min_release_age)"
			if strings.HasPrefix(reason, "uncheckable:") {
				id, desc = ruleUncheckable, "A dependency that could not be checked against advisories (git, file, path or URL source, or a failed lookup)"
			}
			idx := rule(id, func() sarifRule {
				return sarifRule{ID: id, ShortDescription: sarifText{desc}, DefaultConfiguration: sarifConfig{Level: "warning"},
					Properties: map[string]any{"tags": []string{"security", "supply-chain"}}}
			})
			run.Results = append(run.Results, sarifResult{
				RuleID: id, RuleIndex: idx, Level: level(p.Blocked || strings.HasSuffix(reason, "(uncheckable: fail)")),
				Message:             sarifText{pkgLabel(p.Package) + ": " + reason},
				Locations:           loc,
				PartialFingerprints: fingerprint(p.Package, id),
				Properties:          packageProperties(p.Package),
			})
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(sarifLog{Version: sarifVersion, Schema: sarifSchema, Runs: []sarifRun{run}})
}

func advisoryRule(f precheck.Finding) sarifRule {
	r := sarifRule{
		ID:                   f.ID,
		ShortDescription:     sarifText{orDefault(oneLine(f.Summary, 300), f.ID)},
		HelpURI:              "https://osv.dev/vulnerability/" + url.PathEscape(f.ID),
		DefaultConfiguration: sarifConfig{Level: "warning"},
		Properties:           map[string]any{"tags": []string{"security", string(f.Kind)}},
	}
	help := f.ID + ": " + kindText(f)
	if len(f.Aliases) > 0 {
		help += " (aliases: " + strings.Join(f.Aliases, ", ") + ")"
	}
	r.Help = &sarifText{help + ". See " + r.HelpURI}
	// GitHub code scanning ranks alerts by this 0.0–10.0 string.
	if s := securitySeverity(f); s != "" {
		r.Properties["security-severity"] = s
	}
	return r
}

func securitySeverity(f precheck.Finding) string {
	if f.Kind == precheck.Malicious {
		return "10.0"
	}
	if f.Score > 0 {
		return fmt.Sprintf("%.1f", f.Score)
	}
	switch f.Severity {
	case precheck.SeverityCritical:
		return "9.5"
	case precheck.SeverityHigh:
		return "8.0"
	case precheck.SeverityMedium:
		return "5.5"
	case precheck.SeverityLow:
		return "2.0"
	}
	return ""
}

func kindText(f precheck.Finding) string {
	if f.Kind == precheck.Malicious {
		return "malicious package"
	}
	return f.Severity.String() + " vulnerability"
}

func level(blocking bool) string {
	if blocking {
		return "error"
	}
	return "warning"
}

func sarifLocationFor(p precheck.Package, base string) []sarifLocation {
	loc := sarifLocation{LogicalLocations: []sarifLogical{{
		Name: p.Name, FullyQualifiedName: p.Ecosystem + "/" + p.Name + "@" + p.Version, Kind: "package",
	}}}
	if p.Source != "" {
		path, line := splitSource(p.Source)
		art := sarifArtifact{}
		if rel, ok := relPath(base, path); ok {
			art.URI = (&url.URL{Path: filepath.ToSlash(rel)}).EscapedPath()
			art.URIBaseID = "%SRCROOT%"
		} else {
			abs, _ := filepath.Abs(path)
			art.URI = (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String()
		}
		loc.PhysicalLocation = &sarifPhysical{ArtifactLocation: art}
		if line > 0 {
			loc.PhysicalLocation.Region = &sarifRegion{StartLine: line}
		}
	}
	return []sarifLocation{loc}
}

func fingerprint(p precheck.Package, id string) map[string]string {
	h := sha256.Sum256([]byte(p.Ecosystem + "\x00" + p.Name + "\x00" + p.Version + "\x00" + id))
	return map[string]string{"phylumBoxPackageAdvisory/v1": hex.EncodeToString(h[:16])}
}

func packageProperties(p precheck.Package) map[string]any {
	return map[string]any{"ecosystem": p.Ecosystem, "package": p.Name, "version": p.Version}
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

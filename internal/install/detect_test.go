package install

import (
	"context"
	"errors"
	"testing"

	"github.com/phylum-box/phylum-box/precheck"
)

// registryFacts answers Metadata from a table, as the npm registry client would
// after its batched lookup.
type registryFacts map[string]precheck.Metadata

func (f registryFacts) Metadata(_ context.Context, p precheck.Package) (precheck.Metadata, error) {
	m, ok := f[p.Name+"@"+p.Version]
	if !ok {
		return precheck.Metadata{}, errors.New("not fetched")
	}
	return m, nil
}

func TestRegistrySignals(t *testing.T) {
	facts := registryFacts{
		"hijacked@1.4.1": {InstallScripts: true, ScriptsAddedAfter: "1.4.0"},
		"squat@0.0.1":    {InstallScripts: true, OnlyVersion: true},
		"esbuild@0.21.5": {InstallScripts: true},       // always had one
		"lonely@1.0.0":   {OnlyVersion: true},          // one version, no script
		"quiet@2.0.0":    {ScriptsAddedAfter: "1.0.0"}, // not possible, but no script: nothing
	}
	r := &runner{o: Options{Engine: &precheck.Engine{Metadata: facts}}}
	var targets []analysisTarget
	for _, nv := range [][2]string{{"hijacked", "1.4.1"}, {"squat", "0.0.1"}, {"esbuild", "0.21.5"}, {"lonely", "1.0.0"}, {"quiet", "2.0.0"}, {"unknown", "1.0.0"}} {
		targets = append(targets, analysisTarget{pkg: precheck.Package{Ecosystem: precheck.NPM, Name: nv[0], Version: nv[1]}})
	}
	extra := map[precheck.Package][]precheck.Finding{}
	r.registrySignals(context.Background(), targets, extra)
	got := map[string]string{}
	for p, fs := range extra {
		for _, f := range fs {
			got[p.Name] = f.ID + " " + f.Severity.String()
		}
	}
	want := map[string]string{
		"hijacked": ruleScriptAdded + " medium",
		"squat":    ruleFirstRelease + " low",
	}
	if len(got) != len(want) {
		t.Fatalf("findings %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
}

package analysis

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
)

// TestGoldenFindings pins what Dir reports on real packages, so that a change
// made for speed cannot change a finding: testdata/golden-findings.json holds
// the findings of every package the corpus below had when it was written, and
// each one still present must give exactly those findings again.
//
// The corpus: the npm packages realpkgs_test.go downloaded into
// $TMPDIR/phylum-box-analysis-cache, an installed node_modules named by
// PHYLUM_BOX_ANALYSIS_NODE_MODULES (the bench project's, say), the npm fixtures
// of integration/testdata, and the wheels and gems installed on this machine.
// A package missing here is skipped (another machine has another cache).
//
// A deliberate rule change bumps AnalyzerVersion and rewrites the golden (the
// rewrite fails when findings change under an unchanged version):
//
//	PHYLUM_BOX_GOLDEN_UPDATE=1 go test -tags seccomp -run TestGoldenFindings ./precheck/analysis/
func TestGoldenFindings(t *testing.T) {
	if testing.Short() {
		t.Skip("reads thousands of packages")
	}
	const golden = "testdata/golden-findings.json"
	corpus := goldenCorpus(t)
	got := analyseCorpus(t, corpus)
	var old goldenFile
	if data, err := os.ReadFile(golden); err == nil {
		if err := json.Unmarshal(data, &old); err != nil {
			t.Fatal(err)
		}
	} else if os.Getenv("PHYLUM_BOX_GOLDEN_UPDATE") == "" {
		t.Fatal(err)
	}
	if os.Getenv("PHYLUM_BOX_GOLDEN_UPDATE") != "" {
		// New findings under the same version would leave stale results in
		// every user's analysis cache.
		if old.AnalyzerVersion == AnalyzerVersion {
			for id, w := range old.Packages {
				if g, ok := got[id]; ok && !reflect.DeepEqual(normal(g), normal(w)) {
					t.Fatalf("%s: the findings change but AnalyzerVersion is still %d: bump it", id, AnalyzerVersion)
				}
			}
		}
		data, err := json.MarshalIndent(goldenFile{AnalyzerVersion, got}, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, append(data, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote the findings of %d packages", len(got))
		return
	}
	if old.AnalyzerVersion != AnalyzerVersion {
		t.Errorf("the golden findings are of analyzer version %d, the rules are %d: rewrite them (PHYLUM_BOX_GOLDEN_UPDATE=1)", old.AnalyzerVersion, AnalyzerVersion)
	}
	want := old.Packages
	compared, findings := 0, 0
	for id, w := range want {
		g, ok := got[id]
		if !ok {
			continue
		}
		compared++
		findings += len(w)
		if !reflect.DeepEqual(normal(g), normal(w)) {
			gj, _ := json.MarshalIndent(g, "", " ")
			wj, _ := json.MarshalIndent(w, "", " ")
			t.Errorf("%s: findings changed\ngot:  %s\nwant: %s", id, gj, wj)
		}
	}
	t.Logf("compared %d of %d golden packages (%d findings)", compared, len(want), findings)
	if compared == 0 {
		t.Skip("none of the golden packages is on this machine")
	}
}

type goldenFile struct {
	AnalyzerVersion int                  `json:"analyzer_version"`
	Packages        map[string][]Finding `json:"packages"`
}

// normal makes nil and empty evidence equal (JSON keeps no difference).
func normal(fs []Finding) []Finding {
	out := []Finding{}
	for _, f := range fs {
		if len(f.Evidence) == 0 {
			f.Evidence = nil
		}
		out = append(out, f)
	}
	return out
}

type corpusPkg struct {
	id  string // ecosystem:name@version (or a path for fixtures)
	pkg Package
	dir string
}

func goldenCorpus(t *testing.T) []corpusPkg {
	var out []corpusPkg
	cache := filepath.Join(os.TempDir(), "phylum-box-analysis-cache")
	ents, _ := os.ReadDir(cache)
	for _, e := range ents {
		dir := filepath.Join(cache, e.Name())
		if _, err := os.Stat(filepath.Join(dir, ".done")); err != nil {
			continue
		}
		id := strings.ReplaceAll(e.Name(), "+", "/")
		i := strings.LastIndex(id, "@")
		if i <= 0 {
			continue
		}
		out = append(out, corpusPkg{"npm:" + id, Package{"npm", id[:i], id[i+1:]}, dir})
	}
	if nm := os.Getenv("PHYLUM_BOX_ANALYSIS_NODE_MODULES"); nm != "" {
		out = append(out, nodeModulesPkgs(nm)...)
	}
	fixtures, _ := filepath.Glob("../../integration/testdata/npm/*/package.json")
	for _, f := range fixtures {
		dir := filepath.Dir(f)
		out = append(out, corpusPkg{"fixture:npm/" + filepath.Base(dir), Package{"npm", filepath.Base(dir), "0.0.0"}, dir})
	}
	distInfos, _ := filepath.Glob("/usr/lib/python3/dist-packages/*.dist-info")
	for _, di := range distInfos {
		dir := t.TempDir()
		if wheelFromRecord(di, dir) != nil {
			continue
		}
		name := strings.TrimSuffix(filepath.Base(di), ".dist-info")
		out = append(out, corpusPkg{"PyPI:" + name, Package{"PyPI", name, ""}, dir})
	}
	gems, _ := filepath.Glob("/var/lib/gems/*/gems/*")
	more, _ := filepath.Glob("/usr/lib/ruby/gems/*/gems/*")
	for _, g := range append(gems, more...) {
		out = append(out, corpusPkg{"RubyGems:" + g, Package{"RubyGems", filepath.Base(g), ""}, g})
	}
	return out
}

// nodeModulesPkgs are the packages of an installed node_modules (scoped and
// nested ones included), identified by name@version from their package.json.
func nodeModulesPkgs(nm string) []corpusPkg {
	var out []corpusPkg
	var walk func(dir string)
	walk = func(dir string) {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
				continue
			}
			p := filepath.Join(dir, e.Name())
			if strings.HasPrefix(e.Name(), "@") {
				walk(p)
				continue
			}
			raw, err := os.ReadFile(filepath.Join(p, "package.json"))
			if err != nil {
				continue
			}
			var m struct{ Name, Version string }
			if json.Unmarshal(raw, &m) != nil || m.Name == "" {
				continue
			}
			out = append(out, corpusPkg{"npm:" + m.Name + "@" + m.Version, Package{"npm", m.Name, m.Version}, p})
			walk(filepath.Join(p, "node_modules"))
		}
	}
	walk(nm)
	return out
}

func analyseCorpus(tb testing.TB, corpus []corpusPkg) map[string][]Finding {
	got := make(map[string][]Finding, len(corpus))
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.NumCPU())
	for _, c := range corpus {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			fs, err := Dir(context.Background(), c.pkg, c.dir)
			if err != nil {
				tb.Errorf("%s: %v", c.id, err)
				return
			}
			if fs == nil {
				fs = []Finding{}
			}
			mu.Lock()
			got[c.id] = fs
			mu.Unlock()
		}()
	}
	wg.Wait()
	return got
}

// BenchmarkDirNodeModules analyses every package of an installed node_modules
// (PHYLUM_BOX_ANALYSIS_NODE_MODULES; `npm ci --ignore-scripts` of
// integration/testdata/bench-npm makes one), one after another.
func BenchmarkDirNodeModules(b *testing.B) {
	nm := os.Getenv("PHYLUM_BOX_ANALYSIS_NODE_MODULES")
	if nm == "" {
		b.Skip("PHYLUM_BOX_ANALYSIS_NODE_MODULES is not set")
	}
	pkgs := nodeModulesPkgs(nm)
	sort.Slice(pkgs, func(i, j int) bool { return pkgs[i].id < pkgs[j].id })
	b.ReportMetric(float64(len(pkgs)), "pkgs")
	for b.Loop() {
		for _, c := range pkgs {
			if _, err := Dir(context.Background(), c.pkg, c.dir); err != nil {
				b.Fatal(err)
			}
		}
	}
}

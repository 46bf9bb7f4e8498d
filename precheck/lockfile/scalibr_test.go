package lockfile

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/osv-scalibr/extractor/filesystem"
	"github.com/google/osv-scalibr/extractor/filesystem/language/javascript/packagelockjson"
	"github.com/google/osv-scalibr/extractor/filesystem/language/javascript/pnpmlock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/javascript/yarnlock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/python/pdmlock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/python/pipfilelock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/python/poetrylock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/python/uvlock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/rust/cargolock"
	scalibrfs "github.com/google/osv-scalibr/fs"
)

// TestScalibrAgreement runs google/osv-scalibr's extractors — the reference this package
// replaces for these formats — over every fixture and real lockfile, and checks that each
// package scalibr reports is reported here too: as a checkable package with the same name
// and version, or as an uncheckable one with the same name. The only packages allowed to be
// missing are the ones this package leaves out on purpose (listed with the reason).
func TestScalibrAgreement(t *testing.T) {
	type extract func(ctx context.Context, in *filesystem.ScanInput) ([]string, error)
	wrap := func(e filesystem.Extractor) extract {
		return func(ctx context.Context, in *filesystem.ScanInput) ([]string, error) {
			inv, err := e.Extract(ctx, in)
			var out []string
			for _, p := range inv.Packages {
				if p.SourceCode != nil && p.SourceCode.Commit != "" {
					out = append(out, p.Name+"@") // scalibr puts a commit in Version for some git entries
					continue
				}
				out = append(out, p.Name+"@"+p.Version)
			}
			return out, err
		}
	}
	pl, _ := packagelockjson.New(nil)
	extractors := map[string]extract{
		"package-lock.json": wrap(pl),
		"yarn.lock":         wrap(yarnlock.Extractor{}),
		"pnpm-lock.yaml":    wrap(pnpmlock.Extractor{}),
		"Pipfile.lock":      wrap(pipfilelock.Extractor{}),
		"poetry.lock":       wrap(poetrylock.Extractor{}),
		"uv.lock":           wrap(uvlock.Extractor{}),
		"pdm.lock":          wrap(pdmlock.Extractor{}),
		"Cargo.lock":        wrap(cargolock.Extractor{}),
	}
	// Left out on purpose — the project's own packages (see doc.go) — per file.
	omitted := map[string][]string{
		// Cargo.lock crates without a source: workspace members and path crates.
		"real/ripgrep.Cargo.lock": {"globset@0.4.20", "grep@0.4.1", "grep-cli@0.1.12", "grep-index@0.0.1",
			"grep-matcher@0.1.9", "grep-pcre2@0.1.10", "grep-printer@0.3.1", "grep-regex@0.1.14",
			"grep-searcher@0.1.17", "ignore@0.4.33", "ripgrep@15.2.0"},
		"fixtures/cargo/two-packages-with-local.lock": {"local-rust-pkg@0.1.0"},
		// uv: the project (editable ".") and its [manifest] members.
		"real/pydantic.uv.lock": {"pydantic@", "pydantic-core@"},
	}
	// yarn berry workspaces: scalibr skips only the root ("@workspace:."); the others have
	// version 0.0.0-use.local and a workspace: resolution, which the count below pins.
	workspaces := 0
	c := corpus(t)
	var files []string
	for dir := range fixtureFormat {
		m, _ := filepath.Glob(filepath.Join(c, "lockfiles", "fixtures", dir, "*"))
		files = append(files, m...)
	}
	real, _ := filepath.Glob(filepath.Join(c, "lockfiles", "real", "*"))
	files = append(files, real...)
	for _, path := range files {
		rel, _ := filepath.Rel(filepath.Join(c, "lockfiles"), path)
		format := fixtureFormat[filepath.Base(filepath.Dir(path))]
		if strings.HasPrefix(rel, "real") {
			f, err := detect(filepath.Base(path), nil)
			if err != nil {
				t.Fatal(err)
			}
			format = f.names[0]
		}
		ext := extractors[format]
		if ext == nil {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		abs, _ := filepath.Abs(path)
		want, serr := ext(context.Background(), &filesystem.ScanInput{
			FS: scalibrfs.DirFS(filepath.Dir(abs)), Path: filepath.Base(path), Root: filepath.Dir(abs), Reader: bytes.NewReader(data)})
		got, err := parseWith(byName(format), &input{ctx: context.Background(), source: path, data: data, base: format})
		if rel == "fixtures/pnpm/invalid-package-path.yaml" {
			// scalibr rejects the whole file for one key ("axios@1.2.5" in a v5 lockfile);
			// we read it as name@version (the spot checks pin that).
			serr = nil
		}
		if serr != nil || err != nil {
			if (serr == nil) != (err == nil) {
				t.Errorf("%s: scalibr error %v, ours %v", rel, serr, err)
			}
			continue
		}
		have := map[string]bool{}
		for _, p := range got {
			have[p.Name+"@"+p.Version] = true
			if p.Uncheckable {
				have[p.Name+"@"] = true
			}
		}
		for _, w := range want {
			name, _, _ := strings.Cut(w[1:], "@")
			name = w[:1] + name
			if have[w] || have[name+"@"] || slices.Contains(omitted[rel], w) {
				continue
			}
			if rel == "real/babel.yarn.lock" && strings.HasSuffix(w, "@0.0.0-use.local") {
				workspaces++
				continue
			}
			t.Errorf("%s: scalibr reports %s, we do not", rel, w)
		}
	}
	if workspaces != 162 {
		t.Errorf("babel: %d workspace entries besides the root, want 162", workspaces)
	}
}

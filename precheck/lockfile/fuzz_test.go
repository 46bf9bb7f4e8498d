package lockfile

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Each parser gets its own fuzz target, seeded from the fixtures of its format (and a real
// lockfile or a piece of one where there are no fixtures). `go test` runs the seeds;
// `make fuzz` (hack/fuzz.sh) mutates them. The parser is called without parseWith's
// recover so that a panic fails the target instead of being turned into an error.

func FuzzParseNPM(f *testing.F) {
	fuzzFormat(f, "package-lock.json", "fixtures/npm/*", "real/npm-osv-scanner-fix-example.package-lock.json")
}
func FuzzParseYarn(f *testing.F) { fuzzFormat(f, "yarn.lock", "fixtures/yarn/*") }
func FuzzParsePNPM(f *testing.F) {
	// Also differential: whenever the line reader accepts an input that yaml.v3 can read,
	// both must have read the same document.
	fuzzFormat(f, "pnpm-lock.yaml", "fixtures/pnpm/*", func(t *testing.T, data []byte) {
		fast, ok := pnpmFast(data)
		slow, err := pnpmYAML(data)
		if ok && err == nil && !reflect.DeepEqual(fast, slow) {
			t.Fatalf("fast and yaml.v3 readers disagree:\nfast %+v\nyaml %+v", fast, slow)
		}
	})
}
func FuzzParseRequirements(f *testing.F) {
	fuzzFormat(f, "requirements.txt", "fixtures/pip/*")
}
func FuzzParsePipfileLock(f *testing.F) { fuzzFormat(f, "Pipfile.lock", "fixtures/pipenv/*") }
func FuzzParsePoetry(f *testing.F)      { fuzzFormat(f, "poetry.lock", "fixtures/poetry/*") }
func FuzzParseUV(f *testing.F) {
	// No uv fixtures exist: seed with the head of pydantic's uv.lock (the manifest and the
	// first packages, cut at a [[package]] boundary) and a few hand-picked source kinds.
	data, err := os.ReadFile(filepath.Join(corpus(f), "lockfiles", "real", "pydantic.uv.lock"))
	if err != nil {
		f.Fatal(err)
	}
	head := data
	if i := bytes.Index(data[min(len(data), 4000):], []byte("\n[[package]]")); i >= 0 {
		head = data[:4000+i]
	}
	f.Add(head)
	f.Add([]byte("version = 1\nrequires-python = \">=3.9\"\n\n[manifest]\nmembers = [\"a\", \"b\"]\n\n" +
		"[[package]]\nname = \"a\"\nversion = \"1.0\"\nsource = { editable = \".\" }\n\n" +
		"[[package]]\nname = \"b\"\nversion = \"1.0\"\nsource = { editable = \"b\" }\n\n" +
		"[[package]]\nname = \"c\"\nversion = \"2.0\"\nsource = { git = \"https://example.com/c#0123\" }\n\n" +
		"[[package]]\nname = \"d\"\nversion = \"3.0\"\nsource = { url = \"https://example.com/d.whl\" }\n\n" +
		"[[package]]\nname = \"e\"\nversion = \"4.0\"\nsource = { path = \"../e\" }\n"))
	fuzzFormat(f, "uv.lock")
}
func FuzzParsePDM(f *testing.F) { fuzzFormat(f, "pdm.lock", "fixtures/pdm/*") }
func FuzzParsePipReport(f *testing.F) {
	data, err := os.ReadFile(filepath.Join("testdata", "pip-report.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte(`{"version": "1", "install": [{"metadata": {"name": "a", "version": "1"}, "download_info": {"url": "x", "vcs_info": {}}}]}`))
	fuzzFormat(f, "pip-report.json")
}
func FuzzParseGemfileLock(f *testing.F) { fuzzFormat(f, "Gemfile.lock", "fixtures/bundler/*") }
func FuzzParseCargo(f *testing.F)       { fuzzFormat(f, "Cargo.lock", "fixtures/cargo/*") }

// fuzzFormat seeds f from the lockfiles matching globs (under corpus/lockfiles) and checks
// the parser of format, plus any extra checks, on every input.
func fuzzFormat(f *testing.F, format string, args ...any) {
	var globs []string
	var extra []func(*testing.T, []byte)
	for _, a := range args {
		switch a := a.(type) {
		case string:
			globs = append(globs, a)
		case func(*testing.T, []byte):
			extra = append(extra, a)
		}
	}
	for _, g := range globs {
		files, err := filepath.Glob(filepath.Join(corpus(f), "lockfiles", g))
		if err != nil || len(files) == 0 {
			f.Fatalf("no seeds for %s in %s", format, g)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	fm := byName(format)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, check := range extra {
			check(t, data)
		}
		in := &input{ctx: context.Background(), source: "fuzz/" + format, data: data, base: format}
		if _, err := fm.parse(in); err != nil {
			return
		}
		pkgs, err := parseWith(fm, in)
		if err != nil {
			t.Fatalf("second parse failed: %v", err)
		}
		for _, p := range pkgs {
			if p.Ecosystem == "" || p.Name == "" {
				t.Fatalf("incomplete package %+v", p)
			}
			if p.Uncheckable && p.Reason == "" {
				t.Fatalf("uncheckable without a reason: %+v", p)
			}
			if !strings.HasPrefix(p.Source, "fuzz/"+format) {
				t.Fatalf("source %q does not name the file", p.Source)
			}
		}
	})
}

// BenchmarkParseVitePNPM measures the parse of vite's pnpm-lock.yaml (1,405 packages), the
// lockfile of the `check` budget (≤ 50 ms warm for the whole check).
func BenchmarkParseVitePNPM(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(corpus(b), "lockfiles", "real", "vite.pnpm-lock.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		pkgs, err := ParseReader(context.Background(), "pnpm-lock.yaml", bytes.NewReader(data))
		if err != nil || len(pkgs) != 1405 {
			b.Fatalf("%d packages, %v", len(pkgs), err)
		}
	}
}

// BenchmarkParseReal parses each real lockfile, for comparison across formats.
func BenchmarkParseReal(b *testing.B) {
	files, _ := filepath.Glob(filepath.Join(corpus(b), "lockfiles", "real", "*"))
	for _, file := range files {
		b.Run(filepath.Base(file), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(file); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

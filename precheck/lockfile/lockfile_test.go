package lockfile

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	testcorpus "github.com/phylum-box/phylum-box/internal/testutil/corpus"
	"github.com/phylum-box/phylum-box/precheck"
)

// corpus returns ../shared/corpus relative to the repository root (the directory holding
// go.mod), where CI and developers keep the shared test data.
func corpus(tb testing.TB) string {
	tb.Helper()
	c, err := testcorpus.Find()
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// fixtureFormat is the lockfile name each osv-scanner fixture directory holds.
var fixtureFormat = map[string]string{
	"bundler": "Gemfile.lock",
	"cargo":   "Cargo.lock",
	"npm":     "package-lock.json",
	"pdm":     "pdm.lock",
	"pip":     "requirements.txt",
	"pipenv":  "Pipfile.lock",
	"pnpm":    "pnpm-lock.yaml",
	"poetry":  "poetry.lock",
	"yarn":    "yarn.lock",
}

// parseFixture parses corpus/lockfiles/fixtures/<rel> as its directory's format, the way
// Parse would if the file carried the canonical name (fixture names do not).
func parseFixture(tb testing.TB, rel string) ([]precheck.Package, error) {
	tb.Helper()
	path := filepath.Join(corpus(tb), "lockfiles", "fixtures", rel)
	f := byName(fixtureFormat[strings.Split(rel, "/")[0]])
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		tb.Fatal(err)
	}
	return parseWith(f, &input{ctx: context.Background(), source: path, data: data, base: filepath.Base(path),
		fsys: os.DirFS("/"), fsPath: strings.TrimPrefix(filepath.ToSlash(abs), "/")})
}

type counts struct{ total, uncheckable, dev int }

func count(pkgs []precheck.Package) counts {
	var c counts
	c.total = len(pkgs)
	for _, p := range pkgs {
		if p.Uncheckable {
			c.uncheckable++
		}
		if p.Dev {
			c.dev++
		}
	}
	return c
}

// TestRealLockfiles parses the real lockfiles of well-known projects and checks the counts
// against the README of corpus/lockfiles (taken there with independent parsers). Where our
// number differs, the row says why; the arithmetic is checked where the file allows it.
func TestRealLockfiles(t *testing.T) {
	tests := []struct {
		file   string
		readme int // the README's count
		want   counts
		why    string
	}{
		{"babel.yarn.lock", 1750, counts{1577, 4, 0},
			"README counts the YAML's top-level keys: __metadata + 1,749 entries. 163 are workspace: " +
				"resolutions (babel's own packages, left out) → 1,586; 9 (name, version) pairs appear twice " +
				"(patch: variants over the same npm version) → 1,577. The 4 uncheckable are link: entries " +
				"($repo-utils twice, by two relative paths: uncheckable entries stay apart by reason). " +
				"yarn.lock records no dev flag."},
		{"vite.pnpm-lock.yaml", 1405, counts{1405, 109, 872},
			"all 1,405 packages keys; 109 are file: directory packages (vite's playground fixtures), " +
				"uncheckable. Every link: in importers points at another importer (a workspace package). " +
				"872 are reached (through snapshots) only from importers' devDependencies."},
		{"npm-osv-scanner-fix-example.package-lock.json", 106, counts{106, 0, 0}, ""},
		{"poetry.poetry.lock", 78, counts{78, 1, 25},
			"poetry-core comes from git (uncheckable); 25 packages are only in non-main groups (dev)."},
		{"pipenv.Pipfile.lock", 110, counts{105, 0, 95},
			"10 default + 100 develop, 5 packages are in both groups at the same version and are " +
				"reported once, not dev."},
		{"pydantic.uv.lock", 176, counts{174, 1, 0},
			"pydantic (editable \".\") and pydantic-core are the workspace's members ([manifest] members), " +
				"left out; pydantic-docs comes from git (uncheckable)."},
		{"rails.Gemfile.lock", 232, counts{219, 1, 0},
			"264 spec lines, 232 distinct names: 218 from GEM (platform variants share a version and " +
				"collapse) and 14 from PATH; 13 of those are under `remote: .` (rails' own gems, left out), " +
				"releaser under `remote: tools/releaser` is a local path gem (uncheckable)."},
		{"ripgrep.Cargo.lock", 63, counts{52, 0, 0},
			"11 crates have no source: ripgrep's workspace members, left out."},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join(corpus(t), "lockfiles", "real", tt.file)
			pkgs, err := Parse(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := count(pkgs); got != tt.want {
				t.Errorf("got %+v, want %+v (README: %d; %s)", got, tt.want, tt.readme, tt.why)
			}
			for _, p := range pkgs {
				if !strings.HasPrefix(p.Source, path) {
					t.Fatalf("%s: Source %q does not name the lockfile", p.Name, p.Source)
				}
				if p.Uncheckable && p.Reason == "" {
					t.Errorf("%s@%s is uncheckable without a reason", p.Name, p.Version)
				}
				if !p.Uncheckable && p.Version == "" {
					t.Errorf("%s is checkable without a version", p.Name)
				}
			}
		})
	}
}

// TestBabelArithmetic checks the babel row's explanation against the file itself.
func TestBabelArithmetic(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(corpus(t), "lockfiles", "real", "babel.yarn.lock"))
	if err != nil {
		t.Fatal(err)
	}
	entries := bytes.Count(data, []byte("\n  resolution: "))
	workspaces := 0
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "  resolution: ") && strings.Contains(l, "@workspace:") {
			workspaces++
		}
	}
	raw, err := parseYarn(&input{ctx: context.Background(), source: "babel.yarn.lock", data: data})
	if err != nil {
		t.Fatal(err)
	}
	if entries != 1749 || workspaces != 163 || len(raw) != entries-workspaces || len(dedupe(raw)) != len(raw)-9 {
		t.Errorf("entries %d, workspaces %d, reported before dedupe %d, after %d", entries, workspaces, len(raw), len(dedupe(raw)))
	}
}

// TestFixtures runs osv-scanner's lockfile fixtures. The counts osv-scanner's own tests give
// (corpus README) are marked "osv-scanner"; the others were checked entry by entry when
// written, and the spot checks below pin the interesting ones.
func TestFixtures(t *testing.T) {
	tests := []struct {
		file    string
		want    counts
		wantErr string
	}{
		// npm
		{"npm/alias.v1.json", counts{3, 0, 0}, ""}, // osv-scanner: 3
		{"npm/alias.v2.json", counts{3, 0, 0}, ""},
		{"npm/commits.v1.json", counts{15, 13, 8}, ""}, // one package at several commits is several entries
		{"npm/commits.v2.json", counts{14, 12, 10}, ""},
		{"npm/empty.v1.json", counts{}, ""},
		{"npm/empty.v2.json", counts{}, ""},
		{"npm/files.v1.json", counts{2, 1, 0}, ""},
		{"npm/files.v2.json", counts{3, 1, 3}, ""},                    // deps/etag is not a workspace: a file: directory
		{"npm/nested-dependencies-dup.v1.json", counts{39, 0, 0}, ""}, // osv-scanner: 39
		{"npm/nested-dependencies-dup.v2.json", counts{2, 0, 0}, ""},
		{"npm/nested-dependencies.v1.json", counts{5, 0, 0}, ""},
		{"npm/nested-dependencies.v2.json", counts{5, 0, 0}, ""},
		{"npm/not-json.txt", counts{}, "not a valid package-lock.json: line 1, column 3"},
		{"npm/one-package-dev.v1.json", counts{1, 0, 1}, ""},
		{"npm/one-package-dev.v2.json", counts{1, 0, 1}, ""},
		{"npm/one-package.v1.json", counts{1, 0, 0}, ""},
		{"npm/one-package.v2.json", counts{1, 0, 0}, ""},
		{"npm/optional-package.v1.json", counts{2, 0, 1}, ""},
		{"npm/optional-package.v2.json", counts{2, 0, 0}, ""}, // devOptional is not dev-only
		{"npm/same-package-different-groups.v1.json", counts{3, 0, 1}, ""},
		{"npm/same-package-different-groups.v2.json", counts{3, 0, 1}, ""},
		{"npm/scoped-packages.v1.json", counts{2, 0, 0}, ""},
		{"npm/scoped-packages.v2.json", counts{2, 0, 0}, ""},
		{"npm/two-packages.v1.json", counts{2, 0, 0}, ""},
		{"npm/two-packages.v2.json", counts{2, 0, 0}, ""},
		// yarn
		{"yarn/commits.v1.lock", counts{18, 18, 0}, ""}, // osv-scanner: 18
		{"yarn/commits.v2.lock", counts{7, 7, 0}, ""},
		{"yarn/empty.v1.lock", counts{}, ""},
		{"yarn/empty.v2.lock", counts{}, ""},
		{"yarn/files.v1.lock", counts{6, 4, 0}, ""},
		{"yarn/files.v2.lock", counts{1, 1, 0}, ""},
		{"yarn/metadata-only.v2.lock", counts{}, ""},
		{"yarn/multiple-constraints.v1.lock", counts{2, 0, 0}, ""},
		{"yarn/multiple-versions.v1.lock", counts{4, 0, 0}, ""},
		{"yarn/multiple-versions.v2.lock", counts{3, 0, 0}, ""},
		{"yarn/one-package.v1.lock", counts{1, 0, 0}, ""},
		{"yarn/one-package.v2.lock", counts{1, 0, 0}, ""},
		{"yarn/scoped-packages.v1.lock", counts{2, 0, 0}, ""},
		{"yarn/scoped-packages.v2.lock", counts{3, 0, 0}, ""},
		{"yarn/two-packages.v1.lock", counts{2, 0, 0}, ""},
		{"yarn/two-packages.v2.lock", counts{2, 0, 0}, ""},
		{"yarn/with-aliases.v1.lock", counts{3, 0, 0}, ""},
		{"yarn/with-aliases.v2.lock", counts{3, 0, 0}, ""},
		{"yarn/with-build-string.v1.lock", counts{2, 1, 0}, ""},
		{"yarn/with-build-string.v2.lock", counts{2, 1, 0}, ""},
		{"yarn/with-prerelease.v1.lock", counts{5, 0, 0}, ""}, // osv-scanner: 5
		{"yarn/with-prerelease.v2.lock", counts{2, 0, 0}, ""},
		{"yarn/with-quotes.v1.lock", counts{2, 0, 0}, ""},
		{"yarn/with-quotes.v2.lock", counts{2, 0, 0}, ""},
		// pnpm
		{"pnpm/commits.v9.yaml", counts{2, 2, 0}, ""},
		{"pnpm/commits.yaml", counts{5, 5, 0}, ""},
		{"pnpm/empty.yaml", counts{}, ""},
		{"pnpm/exotic.yaml", counts{9, 2, 0}, ""},
		{"pnpm/files.yaml", counts{6, 6, 0}, ""},
		{"pnpm/invalid-package-path.yaml", counts{9, 0, 2}, ""},
		{"pnpm/mixed-groups.v53.yaml", counts{3, 0, 1}, ""},
		{"pnpm/mixed-groups.v54.yaml", counts{3, 0, 1}, ""},
		{"pnpm/mixed-groups.v6.yaml", counts{3, 0, 1}, ""},
		{"pnpm/mixed-groups.v9.yaml", counts{3, 0, 1}, ""},
		{"pnpm/multiple-packages.yaml", counts{14, 0, 0}, ""}, // osv-scanner: 14
		{"pnpm/multiple-versions.v9.yaml", counts{3, 0, 0}, ""},
		{"pnpm/multiple-versions.yaml", counts{3, 0, 0}, ""},
		{"pnpm/no-packages.v9.yaml", counts{}, ""},
		{"pnpm/no-packages.yaml", counts{}, ""},
		{"pnpm/not-yaml.txt", counts{}, "not a pnpm-lock.yaml"},
		{"pnpm/one-package-dev.v9.yaml", counts{1, 0, 1}, ""},
		{"pnpm/one-package-dev.yaml", counts{1, 0, 0}, ""}, // its `dev: false` says so
		{"pnpm/one-package-v6-lockfile.yaml", counts{1, 0, 0}, ""},
		{"pnpm/one-package.v9.yaml", counts{1, 0, 0}, ""},
		{"pnpm/one-package.yaml", counts{1, 0, 0}, ""},
		{"pnpm/peer-dependencies-advanced.v9.yaml", counts{13, 0, 0}, ""}, // osv-scanner: 13
		{"pnpm/peer-dependencies-advanced.yaml", counts{9, 0, 0}, ""},
		{"pnpm/peer-dependencies.v9.yaml", counts{2, 0, 0}, ""},
		{"pnpm/peer-dependencies.yaml", counts{2, 0, 0}, ""},
		{"pnpm/scoped-packages-v6-lockfile.yaml", counts{1, 0, 0}, ""},
		{"pnpm/scoped-packages.v9.yaml", counts{1, 0, 0}, ""},
		{"pnpm/scoped-packages.yaml", counts{1, 0, 0}, ""},
		{"pnpm/tarball.yaml", counts{1, 0, 1}, ""}, // a GitLab registry tarball (…/-/…tgz) is a registry
		// requirements.txt
		{"pip/cyclic-r-complex-1.txt", counts{3, 0, 0}, ""},
		{"pip/cyclic-r-complex-2.txt", counts{3, 0, 0}, ""},
		{"pip/cyclic-r-complex-3.txt", counts{3, 0, 0}, ""},
		{"pip/cyclic-r-self.txt", counts{2, 0, 0}, ""},
		{"pip/duplicate-r-base.txt", counts{1, 0, 0}, ""},
		{"pip/duplicate-r-dev.txt", counts{4, 0, 0}, ""},
		{"pip/duplicate-r-test.txt", counts{3, 0, 0}, ""},
		{"pip/empty.txt", counts{}, ""},
		{"pip/file-format-example.txt", counts{12, 10, 0}, ""},
		{"pip/line-continuation.txt", counts{5, 0, 0}, ""},
		{"pip/multiple-packages-constrained.txt", counts{13, 0, 0}, ""}, // osv-scanner: 13
		{"pip/multiple-packages-mixed.txt", counts{8, 5, 0}, ""},
		{"pip/non-normalized-names.txt", counts{3, 0, 0}, ""},
		{"pip/one-package-constrained.txt", counts{1, 0, 0}, ""},
		{"pip/one-package-unconstrained.txt", counts{1, 1, 0}, ""},
		{"pip/only-comments.txt", counts{}, ""},
		{"pip/other-file.txt", counts{1, 0, 0}, ""},
		{"pip/with-added-support.txt", counts{1, 0, 0}, ""},
		{"pip/with-bad-r-option.txt", counts{2, 1, 0}, ""}, // the missing include is reported
		{"pip/with-multiple-r-options.txt", counts{10, 5, 0}, ""},
		{"pip/with-per-requirement-options.txt", counts{4, 1, 0}, ""},
		// Pipfile.lock
		{"pipenv/empty.json", counts{}, ""},
		{"pipenv/multiple-packages.json", counts{4, 0, 1}, ""},
		{"pipenv/no-version.json", counts{2, 2, 1}, ""}, // git entries without a version
		{"pipenv/not-json.txt", counts{}, "not a valid Pipfile.lock: line 1, column 3"},
		{"pipenv/one-package-dev.json", counts{1, 0, 1}, ""},
		{"pipenv/one-package.json", counts{1, 0, 0}, ""},
		{"pipenv/two-packages-alt.json", counts{2, 0, 0}, ""},
		{"pipenv/two-packages.json", counts{2, 0, 1}, ""},
		// poetry.lock
		{"poetry/empty.lock", counts{}, ""},
		{"poetry/not-toml.txt", counts{}, "not a valid poetry.lock: line 1"},
		{"poetry/one-package-with-metadata.lock", counts{1, 0, 0}, ""},
		{"poetry/one-package.lock", counts{1, 0, 0}, ""},
		{"poetry/optional-package.lock", counts{1, 0, 0}, ""},
		{"poetry/source-git.lock", counts{1, 1, 0}, ""},
		{"poetry/source-legacy.lock", counts{1, 0, 0}, ""}, // a private index is still an index
		{"poetry/two-packages.lock", counts{2, 0, 0}, ""},
		// pdm.lock
		{"pdm/dev-dependency.toml", counts{3, 0, 2}, ""},
		{"pdm/empty.toml", counts{}, ""},
		{"pdm/git-dependency.toml", counts{1, 1, 0}, ""},
		{"pdm/not-toml.txt", counts{}, "not a valid pdm.lock: line 1"},
		{"pdm/optional-dependency.toml", counts{3, 0, 2}, ""},
		{"pdm/single-package.toml", counts{1, 0, 0}, ""},
		{"pdm/two-packages.toml", counts{2, 0, 0}, ""},
		// Gemfile.lock
		{"bundler/has-git-gem.lock", counts{5, 2, 0}, ""},
		{"bundler/has-local-gem.lock", counts{30, 1, 0}, ""}, // osv-scanner: 30
		{"bundler/multiple-gems.lock", counts{6, 0, 0}, ""},
		{"bundler/no-gem-section.lock", counts{}, ""},
		{"bundler/no-gems.lock", counts{}, ""},
		{"bundler/no-spec-section.lock", counts{}, ""},
		{"bundler/one-gem.lock", counts{1, 0, 0}, ""},
		{"bundler/rails.lock", counts{46, 0, 0}, ""}, // osv-scanner: 46
		{"bundler/rubocop.lock", counts{10, 0, 0}, ""},
		{"bundler/some-gems.lock", counts{3, 0, 0}, ""},
		// Cargo.lock
		{"cargo/empty.lock", counts{}, ""},
		{"cargo/not-toml.txt", counts{}, "not a valid Cargo.lock: line 1"},
		{"cargo/one-package.lock", counts{1, 0, 0}, ""},
		{"cargo/package-with-build-string.lock", counts{1, 0, 0}, ""},
		// osv-scanner: 2 — it reports the sourceless local crate; we leave it out (see doc.go).
		{"cargo/two-packages-with-local.lock", counts{1, 0, 0}, ""},
		{"cargo/two-packages.lock", counts{2, 0, 0}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			pkgs, err := parseFixture(t, tt.file)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), tt.file) {
					t.Fatalf("got error %v, want one naming %s and saying %q", err, tt.file, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := count(pkgs); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
				for _, p := range pkgs {
					t.Logf("  %+v", p)
				}
			}
		})
	}
}

// TestSpotChecks pins individual entries: aliases, scopes, prereleases, build strings,
// git/file/link entries and what is left out.
func TestSpotChecks(t *testing.T) {
	type want struct {
		name, version string
		uncheckable   bool
		dev           bool
		reason        string // substring of Reason
		line          int    // line in Source, 0 to skip
	}
	tests := []struct {
		file   string
		want   []want
		absent []string // names that must not appear
	}{
		{"npm/alias.v2.json", []want{
			{name: "string-width", version: "4.2.0"},
			{name: "string-width", version: "5.1.2"},
			{name: "@babel/code-frame", version: "7.0.0", line: 13},
		}, []string{"string-width-cjs", "babel-code-frame"}},
		{"npm/alias.v1.json", []want{{name: "string-width", version: "4.2.0"}}, []string{"string-width-cjs"}},
		{"npm/scoped-packages.v2.json", []want{{name: "@babel/code-frame", version: "7.0.0"}}, nil},
		{"npm/files.v1.json", []want{{name: "other_package", uncheckable: true, reason: "local file dependency (file:deps/other_package)"}}, nil},
		{"npm/files.v2.json", []want{
			{name: "etag", version: "1.8.0", uncheckable: true, dev: true, reason: "local directory dependency (deps/etag)"},
			{name: "abbrev", version: "2.3.4", dev: true},
		}, nil},
		{"npm/commits.v2.json", []want{
			{name: "babel-preset-php", version: "1.1.1", uncheckable: true, dev: true, reason: "git dependency (git+ssh://git@gitlab.com/kornelski/babel-preset-php.git#c5a7ba5"},
		}, nil},
		{"npm/one-package-dev.v2.json", []want{{name: "wrappy", version: "1.0.2", dev: true}}, nil},
		{"yarn/with-aliases.v1.lock", []want{{name: "ansi-regex", version: "5.0.1"}, {name: "@babel/helper-validator-identifier", version: "7.22.20"}}, []string{"ansi-regex-cjs", "babel-hvi"}},
		{"yarn/with-aliases.v2.lock", []want{{name: "ansi-regex", version: "5.0.1"}, {name: "@babel/helper-validator-identifier", version: "7.22.20"}}, []string{"ansi-regex-cjs", "babel-hvi", "mine"}},
		{"yarn/with-prerelease.v1.lock", []want{{name: "css-tree", version: "1.0.0-alpha.37"}, {name: "resolve", version: "2.0.0-next.3", line: 34}}, nil},
		{"yarn/scoped-packages.v2.lock", []want{{name: "@babel/code-frame", version: "7.16.7", line: 35}}, nil},
		{"yarn/files.v2.lock", []want{{name: "my-package", version: "0.0.2", uncheckable: true, reason: "local file dependency"}}, nil},
		{"yarn/files.v1.lock", []want{
			{name: "etag", version: "1.8.0", uncheckable: true, reason: "linked local directory (link:./deps/etag)", line: 27},
			{name: "etag", version: "1.8.1", line: 5},
			{name: "sprintf-js", version: "0.0.0", uncheckable: true, reason: "file:./mocks/sprintf-js"},
		}, nil},
		{"yarn/commits.v2.lock", []want{{name: "@typegoose/typegoose", version: "7.2.0", uncheckable: true, reason: "git dependency"}}, nil},
		{"yarn/with-build-string.v1.lock", []want{{name: "domino", version: "2.1.6+git", uncheckable: true, reason: "git dependency"}, {name: "tslib", version: "2.6.2"}}, nil},
		{"pnpm/peer-dependencies-advanced.yaml", []want{{name: "@typescript-eslint/eslint-plugin", version: "5.13.0", line: 17}}, nil},
		{"pnpm/scoped-packages-v6-lockfile.yaml", []want{{name: "@typescript-eslint/types", version: "5.57.1"}}, nil},
		{"pnpm/commits.yaml", []want{{name: "@my-scope/my-package", version: "1.0.0", uncheckable: true, reason: "git dependency (git+ssh://git@github.com/my-org/my-package.git#2670878"}}, nil},
		{"pnpm/commits.v9.yaml", []want{{name: "ansi-regex", version: "6.0.1", uncheckable: true, reason: "git dependency (https://codeload.github.com/chalk/ansi-regex/tar.gz/02fa893"}}, nil},
		{"pnpm/files.yaml", []want{{name: "a-local-package", version: "1.0.0", uncheckable: true, reason: "local file dependency (file:../a-local-package)"}}, nil},
		{"pnpm/tarball.yaml", []want{{name: "@my-org/my-package", version: "3.2.3", dev: true}}, nil},
		{"pnpm/mixed-groups.v9.yaml", []want{{name: "is-number", version: "7.0.0", dev: true}, {name: "uuid", version: "8.3.2"}, {name: "ansi-regex", version: "5.0.1", line: 25}}, nil},
		{"pnpm/exotic.yaml", []want{{name: "foo", version: "1.1.0"}, {name: "@foo/bar", version: "1.1.0"}, {name: "foo", version: "1.3.0"}, {name: "foo", version: "1.4.0"},
			{name: "github.com/kevva/is-positive", uncheckable: true, reason: "not a registry version"}}, nil},
		{"pip/file-format-example.txt", []want{
			{name: "docopt", version: "0.6.1", line: 9},
			{name: "keyring", uncheckable: true, reason: "not pinned with == (keyring >= 4.1.1)"},
			{name: "numpy", uncheckable: true, reason: "direct reference, not from an index (./downloads/numpy-1.9.2-cp34-none-win32.whl)", line: 18},
		}, nil},
		{"pip/non-normalized-names.txt", []want{{name: "Pillow", version: "1.0.0"}, {name: "zope.interface", version: "5.4.0", line: 1}}, nil},
		{"pipenv/no-version.json", []want{{name: "itsdangerous", uncheckable: true, dev: true, reason: "git dependency (https://github.com/pallets/itsdangerous@de09cad"}}, nil},
		{"pipenv/two-packages.json", []want{{name: "itsdangerous", version: "2.1.2", line: 19}}, nil},
		{"poetry/source-git.lock", []want{{name: "ike", version: "0.2.0", uncheckable: true, reason: "git dependency (https://github.com/dzshn/ike@cd66602", line: 1}}, nil},
		{"pdm/git-dependency.toml", []want{{name: "toml", version: "0.10.2", uncheckable: true, reason: "git dependency (https://github.com/uiri/toml.git@65bab75"}}, nil},
		{"bundler/has-git-gem.lock", []want{{name: "hanami-controller", version: "2.0.0.alpha1", uncheckable: true, reason: "git gem (https://github.com/hanami/controller.git@027dbe2"}}, nil},
		{"bundler/has-local-gem.lock", []want{{name: "backbone-on-rails", version: "1.2.0.0", uncheckable: true, reason: "local path gem (vendor/gem/backbone-on-rails)", line: 4}}, nil},
		{"cargo/two-packages-with-local.lock", []want{{name: "addr2line", version: "0.15.2", line: 5}}, []string{"local-rust-pkg"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			pkgs, err := parseFixture(t, tt.file)
			if err != nil {
				t.Fatal(err)
			}
		next:
			for _, w := range tt.want {
				for _, p := range pkgs {
					if p.Name != w.name || p.Version != w.version || p.Uncheckable != w.uncheckable {
						continue
					}
					if p.Dev != w.dev {
						t.Errorf("%s@%s: dev %v, want %v", w.name, w.version, p.Dev, w.dev)
					}
					if !strings.Contains(p.Reason, w.reason) {
						t.Errorf("%s@%s: reason %q, want it to contain %q", w.name, w.version, p.Reason, w.reason)
					}
					if w.line != 0 && lineOf(p.Source) != w.line {
						t.Errorf("%s@%s: source %q, want line %d", w.name, w.version, p.Source, w.line)
					}
					if p.Ecosystem == "" {
						t.Errorf("%s@%s: no ecosystem", w.name, w.version)
					}
					continue next
				}
				t.Errorf("no %+v in:", w)
				for _, p := range pkgs {
					t.Logf("  %+v", p)
				}
			}
			for _, a := range tt.absent {
				for _, p := range pkgs {
					if p.Name == a {
						t.Errorf("%s should not be reported: %+v", a, p)
					}
				}
			}
		})
	}
}

func TestPipReport(t *testing.T) {
	pkgs, err := Parse(filepath.Join("testdata", "pip-report.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := []precheck.Package{
		{Ecosystem: "PyPI", Name: "libb", Version: "1.0"},
		{Ecosystem: "PyPI", Name: "libc", Version: "3.0", Uncheckable: true, Reason: "direct URL or file, not from an index (file:///tmp/pipr/direct/libc-3.0-py3-none-any.whl)"},
		{Ecosystem: "PyPI", Name: "libd", Version: "2.0"},
		{Ecosystem: "PyPI", Name: "myproj", Version: "0.1", Uncheckable: true, Reason: "local directory (file:///tmp/pipr/proj)"},
		{Ecosystem: "PyPI", Name: "vcsdep", Version: "0.1", Uncheckable: true, Reason: "VCS dependency (file:///tmp/pipr/vcs)"},
	}
	if len(pkgs) != len(want) {
		t.Fatalf("got %d packages, want %d: %+v", len(pkgs), len(want), pkgs)
	}
	for i := range want {
		want[i].Source = filepath.Join("testdata", "pip-report.json")
		if pkgs[i] != want[i] {
			t.Errorf("got  %+v\nwant %+v", pkgs[i], want[i])
		}
	}
	// The same bytes under another name are found by their content.
	data, _ := os.ReadFile(filepath.Join("testdata", "pip-report.json"))
	if got, err := ParseReader(context.Background(), "report.json", bytes.NewReader(data)); err != nil || len(got) != len(want) {
		t.Errorf("sniffed report: %d packages, %v", len(got), err)
	}
	for _, bad := range []string{`{"version": "1"}`, `[]`, `{"install": [{"metadata": {}}]}`, ``} {
		if _, err := ParseReader(context.Background(), "pip-report.json", strings.NewReader(bad)); err == nil ||
			!strings.Contains(err.Error(), "pip-report.json") {
			t.Errorf("%q: got %v, want an error naming the file", bad, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Parse(filepath.Join(dir, "package-lock.json")); err == nil || !strings.Contains(err.Error(), "package-lock.json") {
		t.Errorf("missing file: %v", err)
	}
	if err := os.Mkdir(filepath.Join(dir, "yarn.lock"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(filepath.Join(dir, "yarn.lock")); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: %v", err)
	}
	// A FIFO under a lockfile's name is refused, not waited on.
	fifo := filepath.Join(dir, "Cargo.lock")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(fifo); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("fifo: %v", err)
	}
	_, err := ParseReader(context.Background(), "notes.md", strings.NewReader("hello"))
	if err == nil || !strings.Contains(err.Error(), "notes.md: unknown lockfile format; supported names are package-lock.json") {
		t.Errorf("unknown format: %v", err)
	}
	big := io0(MaxSize + 1)
	if _, err := ParseReader(context.Background(), "yarn.lock", big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized: %v", err)
	}
	// A yarn.lock that is not one says where.
	_, err = ParseReader(context.Background(), "yarn.lock", strings.NewReader("# yarn lockfile v1\n\nthis is not a header\n"))
	if err == nil || !strings.Contains(err.Error(), "yarn.lock: line 3") {
		t.Errorf("bad yarn.lock: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	data, _ := os.ReadFile(filepath.Join(corpus(t), "lockfiles", "real", "babel.yarn.lock"))
	if _, err := ParseReader(ctx, "yarn.lock", bytes.NewReader(data)); err == nil {
		t.Error("cancelled context: no error")
	}
}

// io0 is a reader of n zero bytes.
func io0(n int) *bytes.Reader { return bytes.NewReader(make([]byte, n)) }

func TestDetect(t *testing.T) {
	fx := filepath.Join(corpus(t), "lockfiles", "fixtures")
	tests := []struct{ name, file, want string }{
		{"package-lock.json", "", "package-lock.json"},
		{"npm-shrinkwrap.json", "", "package-lock.json"},
		{"vite.pnpm-lock.yaml", "", "pnpm-lock.yaml"},
		{"dev-requirements.txt", "", "requirements.txt"},
		{"requirements-test.txt", "", "requirements.txt"},
		{"gems.locked", "", "Gemfile.lock"},
		{"one.json", "npm/one-package.v2.json", "package-lock.json"},
		{"one.json", "pipenv/one-package.json", "Pipfile.lock"},
		{"one.yaml", "pnpm/one-package.v9.yaml", "pnpm-lock.yaml"},
		{"one.lock", "yarn/one-package.v1.lock", "yarn.lock"},
		{"one.lock", "yarn/one-package.v2.lock", "yarn.lock"},
		{"one.lock", "bundler/one-gem.lock", "Gemfile.lock"},
		{"one.lock", "cargo/one-package.lock", "Cargo.lock"},
		{"one.lock", "poetry/one-package.lock", "poetry.lock"},
		{"one.toml", "pdm/single-package.toml", "pdm.lock"},
		{"report.json", "", ""},
	}
	for _, tt := range tests {
		var data []byte
		if tt.file != "" {
			var err error
			if data, err = os.ReadFile(filepath.Join(fx, tt.file)); err != nil {
				t.Fatal(err)
			}
		}
		f, err := detect(tt.name, data)
		switch {
		case tt.want == "" && err == nil:
			t.Errorf("%s (%s): detected %v, want an error", tt.name, tt.file, f.names)
		case tt.want != "" && (err != nil || f != byName(tt.want)):
			t.Errorf("%s (%s): got %v %v, want %s", tt.name, tt.file, f, err, tt.want)
		}
	}
	real := filepath.Join(corpus(t), "lockfiles", "real", "pydantic.uv.lock")
	data, _ := os.ReadFile(real)
	if f, err := detect("x.lock", data); err != nil || f != byName("uv.lock") {
		t.Errorf("uv.lock content: %v %v", f, err)
	}
}

func TestFind(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"yarn.lock", "requirements.txt", "Cargo.lock", "package-lock.json", "dev-requirements.txt", "README.md"} {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "poetry.lock"), 0o755); err != nil { // not a file
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "missing"), filepath.Join(dir, "uv.lock")); err != nil { // dangling
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "yarn.lock"), filepath.Join(dir, "Gemfile.lock")); err != nil {
		t.Fatal(err)
	}
	got, err := Find(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"package-lock.json", "yarn.lock", "requirements.txt", "Gemfile.lock", "Cargo.lock"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != filepath.Join(dir, want[i]) {
			t.Errorf("got[%d] = %s, want %s", i, got[i], want[i])
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "npm-shrinkwrap.json"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err = Find(dir)
	if err != nil || len(got) != 5 || got[0] != filepath.Join(dir, "npm-shrinkwrap.json") {
		t.Errorf("with a shrinkwrap: %v %v", got, err)
	}
	if _, err := Find(filepath.Join(dir, "nope")); err == nil {
		t.Error("missing dir: no error")
	}

	// A lockfile linking out of the directory, or hard-linked, is not the project's.
	outside := filepath.Join(t.TempDir(), ".pypirc")
	if err := os.WriteFile(outside, []byte("[pypi]\npassword = x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "Gemfile.lock"))
	if err := os.Symlink(outside, filepath.Join(dir, "Gemfile.lock")); err != nil {
		t.Fatal(err)
	}
	if _, err := Find(dir); err == nil || !strings.Contains(err.Error(), "Gemfile.lock is a symbolic link out of") || !strings.Contains(err.Error(), "(to "+outside+")") {
		t.Errorf("Gemfile.lock linked out: %v", err)
	}
	os.Remove(filepath.Join(dir, "Gemfile.lock"))
	if err := os.Link(outside, filepath.Join(dir, "Gemfile.lock")); err != nil {
		t.Fatal(err)
	}
	if _, err := Find(dir); err == nil || !strings.Contains(err.Error(), "2 hard links") {
		t.Errorf("Gemfile.lock hard-linked: %v", err)
	}
}

func TestFormats(t *testing.T) {
	got := strings.Join(Formats(), " ")
	for _, n := range []string{"package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "requirements.txt",
		"Pipfile.lock", "poetry.lock", "uv.lock", "pdm.lock", "pip-report.json", "Gemfile.lock", "Cargo.lock"} {
		if !strings.Contains(got, n) {
			t.Errorf("Formats() lacks %s", n)
		}
	}
}

func TestDedupe(t *testing.T) {
	in := []precheck.Package{
		{Ecosystem: "npm", Name: "a", Version: "1", Source: "f:9", Dev: true},
		{Ecosystem: "npm", Name: "a", Version: "1", Source: "f:3", Dev: false},
		{Ecosystem: "npm", Name: "a", Version: "1", Uncheckable: true, Reason: "git"},
		{Ecosystem: "npm", Name: "b", Version: "1", Source: "f:1", Dev: true},
		{Ecosystem: "npm", Name: "b", Version: "1", Source: "f:2", Dev: true},
	}
	got := dedupe(in)
	want := []precheck.Package{
		{Ecosystem: "npm", Name: "a", Version: "1", Source: "f:3"},
		{Ecosystem: "npm", Name: "a", Version: "1", Uncheckable: true, Reason: "git"},
		{Ecosystem: "npm", Name: "b", Version: "1", Source: "f:1", Dev: true},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("got %+v, want %+v", got[i], want[i])
		}
	}
}

// TestUVSources covers uv source kinds the real pydantic lockfile does not have.
func TestUVSources(t *testing.T) {
	const lock = `version = 1
requires-python = ">=3.9"

[manifest]
members = ["app", "Lib_B"]

[[package]]
name = "app"
version = "0.1.0"
source = { editable = "." }

[[package]]
name = "lib-b"
version = "0.1.0"
source = { editable = "libs/b" }

[[package]]
name = "c"
version = "2.0"
source = { git = "https://example.com/c?rev=v2#0123abc" }

[[package]]
name = "d"
version = "3.0"
source = { url = "https://example.com/d-3.0.tar.gz" }

[[package]]
name = "e"
version = "4.0"
source = { path = "../e-4.0.whl" }

[[package]]
name = "f"
version = "5.0"
source = { directory = "../f" }

[[package]]
name = "g"
version = "6.0"

[[package]]
name = "h"
version = "7.0"
source = { teleport = "x" }

[[package]]
name = "requests"
version = "2.32.3"
source = { registry = "https://pypi.org/simple" }
`
	pkgs, err := ParseReader(context.Background(), "uv.lock", strings.NewReader(lock))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{ // name → reason ("" = checkable)
		"c":        "git dependency (https://example.com/c?rev=v2#0123abc)",
		"d":        "direct URL dependency (https://example.com/d-3.0.tar.gz)",
		"e":        "local path dependency (../e-4.0.whl)",
		"f":        "local directory dependency (../f)",
		"g":        "",
		"h":        "source of a kind phylum-box does not know",
		"requests": "",
	}
	if len(pkgs) != len(want) {
		t.Fatalf("got %+v", pkgs)
	}
	for _, p := range pkgs {
		r, ok := want[p.Name]
		if !ok || p.Reason != r || p.Uncheckable != (r != "") {
			t.Errorf("%+v: want reason %q", p, r)
		}
	}
}

// TestParserPanicBecomesError: a panic inside a decoder is reported as an error about the
// file, not a crash of the check.
func TestParserPanicBecomesError(t *testing.T) {
	boom := &format{names: []string{"boom.lock"}, parse: func(*input) ([]precheck.Package, error) {
		var m map[string]int
		//lint:ignore SA5000 the nil map write is the point: a runtime panic like a decoder bug would raise
		m["x"]++ // nil map write: a runtime panic like a decoder bug would raise
		return nil, nil
	}}
	_, err := parseWith(boom, &input{ctx: context.Background(), source: "dir/boom.lock"})
	if err == nil || !strings.Contains(err.Error(), "dir/boom.lock: malformed lockfile (parser failed") {
		t.Errorf("got %v", err)
	}
}

// TestRequirementsIncludes: -r includes are followed like pip does (also out of the
// directory), and what scalibr skips in them is reported too.
func TestRequirementsIncludes(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "app")
	write := func(p, s string) {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(dir, "requirements.txt"), "-r ../shared/base.txt\nflask==3.0.0\n-r missing.txt\n")
	write(filepath.Join(root, "shared", "base.txt"), "# base\n-e git+https://example.com/y.git#egg=y\npkg @ https://example.com/pkg-1.0.whl\nrequests==2.32.3\nurllib3>=2\n")
	pkgs, err := Parse(filepath.Join(dir, "requirements.txt"))
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, "..", "shared", "base.txt")
	want := []precheck.Package{
		{Ecosystem: "PyPI", Name: filepath.Join(dir, "missing.txt"), Source: filepath.Join(dir, "requirements.txt"), Uncheckable: true, Reason: "included requirements file could not be read (" + filepath.Join(dir, "missing.txt") + ")"},
		{Ecosystem: "PyPI", Name: "flask", Version: "3.0.0", Source: filepath.Join(dir, "requirements.txt") + ":2"},
		{Ecosystem: "PyPI", Name: "pkg", Source: base + ":3", Uncheckable: true, Reason: "direct reference, not from an index (https://example.com/pkg-1.0.whl)"},
		{Ecosystem: "PyPI", Name: "requests", Version: "2.32.3", Source: base + ":4"},
		{Ecosystem: "PyPI", Name: "urllib3", Source: base + ":5", Uncheckable: true, Reason: "not pinned with == (urllib3>=2); pip would choose the version at install time"},
		{Ecosystem: "PyPI", Name: "y", Source: base + ":2", Uncheckable: true, Reason: "editable install (git+https://example.com/y.git#egg=y)"},
	}
	if len(pkgs) != len(want) {
		t.Fatalf("got %d packages: %+v", len(pkgs), pkgs)
	}
	for i := range want {
		if pkgs[i] != want[i] {
			t.Errorf("got  %+v\nwant %+v", pkgs[i], want[i])
		}
	}
	// Through a reader there is nothing to include from: reported, not read.
	got, err := ParseReader(context.Background(), "requirements.txt", strings.NewReader("-r base.txt\n"))
	if err != nil || len(got) != 1 || !got[0].Uncheckable || !strings.Contains(got[0].Reason, "could not be read") {
		t.Errorf("reader include: %+v %v", got, err)
	}
}

package lockfile

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phylum-box/phylum-box/precheck"
)

// Real registry facts (registry.npmjs.org) used by the fragments below.
const (
	isNumberURL       = "https://registry.npmjs.org/is-number/-/is-number-7.0.0.tgz"
	isNumberIntegrity = "sha512-41Cifkg6e8TylSpdtTpeLVMqvSBEVzTttHvERD741+pnZ8ANv0004MRL43QKPDlK9cGvNp6NZWZUBlbGXYxxng=="
	isNumberShasum    = "7535345b896734d5f80c4d06c50955527a14f12b"
	minimistURL       = "https://registry.npmjs.org/minimist/-/minimist-1.2.5.tgz"
	minimistIntegrity = "sha512-FM9nNUYrRBAELZQT3xeZQ7fmMOBg6nWNmJKTcgsJeaLstP/UODVpGsr5OhXhhXg6f+qtJ8uiZ+PUxkDWcgIXLw=="
	babelCoreURL      = "https://registry.npmjs.org/@babel/core/-/core-7.24.0.tgz"
)

// npmLockV3 is a package-lock.json (lockfileVersion 3) as npm 10 writes it, with the
// given "packages" entries after the root.
func npmLockV3(entries ...string) string {
	return `{
  "name": "app",
  "version": "1.0.0",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": {
      "name": "app",
      "version": "1.0.0"
    }` + strings.Join(append([]string{""}, entries...), ",\n") + `
  }
}
`
}

func npmEntry(key, version, resolved, integrity string) string {
	return fmt.Sprintf(`    %q: {
      "version": %q,
      "resolved": %q,
      "integrity": %q
    }`, key, version, resolved, integrity)
}

var mirror = &Registries{Default: "https://npm.corp.example/api/npm/remote/", Scopes: map[string]string{"@corp": "https://npm.pkg.corp.example/"}}

func TestLockfileOrigins(t *testing.T) {
	type want struct {
		mismatch    string // substring of Package.Mismatch; "" = none
		uncheckable string // substring of Reason when the entry is uncheckable
		integrity   string // Package.Integrity, when checked
	}
	cases := []struct {
		name, file, data string
		regs             *Registries
		want             map[string]want // name@version → expectation
		line             map[string]int  // name@version → Source line
	}{
		{
			name: "npm: untouched entries", file: "package-lock.json",
			data: npmLockV3(npmEntry("node_modules/is-number", "7.0.0", isNumberURL, isNumberIntegrity),
				npmEntry("node_modules/@babel/core", "7.24.0", babelCoreURL, "sha512-x")),
			regs: &Registries{},
			want: map[string]want{"is-number@7.0.0": {integrity: isNumberIntegrity}, "@babel/core@7.24.0": {}},
		},
		{
			name: "npm: is-number is minimist's tarball", file: "package-lock.json",
			data: npmLockV3(npmEntry("node_modules/is-number", "7.0.0", minimistURL, minimistIntegrity)),
			regs: &Registries{},
			want: map[string]want{"is-number@7.0.0": {mismatch: "its URL " + minimistURL + " is not the registry's tarball of is-number@7.0.0"}},
			line: map[string]int{"is-number@7.0.0": 11},
		},
		{
			// Without registries the name and version in the URL are still compared.
			name: "npm: another package's tarball, no registries known", file: "package-lock.json",
			data: npmLockV3(npmEntry("node_modules/is-number", "7.0.0", minimistURL, minimistIntegrity)),
			want: map[string]want{"is-number@7.0.0": {mismatch: "not the registry's tarball of is-number@7.0.0"}},
		},
		{
			name: "npm: another version's tarball", file: "package-lock.json",
			data: npmLockV3(npmEntry("node_modules/is-number", "7.0.0", "https://registry.npmjs.org/is-number/-/is-number-6.0.0.tgz", isNumberIntegrity)),
			regs: &Registries{},
			want: map[string]want{"is-number@7.0.0": {mismatch: "expected …/is-number/-/is-number-7.0.0.tgz"}},
		},
		{
			// A nested copy of a clean name must be checked as it will be fetched,
			// not merged into the first copy.
			name: "npm: the second copy of a name is smuggled", file: "package-lock.json",
			data: npmLockV3(npmEntry("node_modules/is-number", "7.0.0", isNumberURL, isNumberIntegrity),
				npmEntry("node_modules/to-regex-range/node_modules/is-number", "7.0.0", minimistURL, minimistIntegrity)),
			regs: &Registries{},
			want: map[string]want{"is-number@7.0.0": {mismatch: "not the registry's tarball"}},
		},
		{
			name: "npm: the right path on another host", file: "package-lock.json",
			data: npmLockV3(npmEntry("node_modules/is-number", "7.0.0", "https://evil.example/is-number/-/is-number-7.0.0.tgz", isNumberIntegrity)),
			regs: &Registries{},
			want: map[string]want{"is-number@7.0.0": {mismatch: "is on https://evil.example/, not on the registry configured for is-number (https://registry.npmjs.org/;"}},
		},
		{
			name: "npm: a registry URL with a query", file: "package-lock.json",
			data: npmLockV3(npmEntry("node_modules/is-number", "7.0.0", isNumberURL+"?x=../minimist", isNumberIntegrity)),
			regs: &Registries{},
			want: map[string]want{"is-number@7.0.0": {mismatch: "carries a query or credentials"}},
		},
		{
			name: "npm: the configured mirror and the public registry", file: "package-lock.json",
			data: npmLockV3(npmEntry("node_modules/is-number", "7.0.0", "https://npm.corp.example/api/npm/remote/is-number/-/is-number-7.0.0.tgz", isNumberIntegrity),
				npmEntry("node_modules/@babel/core", "7.24.0", babelCoreURL, "sha512-x"),
				npmEntry("node_modules/@corp/ui", "1.2.0", "https://npm.pkg.corp.example/@corp/ui/-/ui-1.2.0.tgz", "sha512-y"),
				npmEntry("node_modules/@corp/api", "2.0.0", "https://npm.corp.example/api/npm/remote/@corp/api/-/api-2.0.0.tgz", "sha512-z")),
			regs: mirror,
			want: map[string]want{
				"is-number@7.0.0": {}, "@babel/core@7.24.0": {}, "@corp/ui@1.2.0": {},
				// The scope has its own registry; the default one does not serve it.
				"@corp/api@2.0.0": {mismatch: "not on the registry configured for @corp/api (https://npm.pkg.corp.example/;"},
			},
		},
		{
			name: "npm: a tarball URL and a git dependency stay uncheckable", file: "package-lock.json",
			data: npmLockV3(npmEntry("node_modules/is-number", "7.0.0", "https://example.com/builds/is-number.tgz", "sha512-x"),
				npmEntry("node_modules/minimist", "1.2.5", "git+ssh://git@github.com/minimistjs/minimist.git#62fde7d935f83417fb046741531a9e2346a36976", "")),
			regs: &Registries{},
			want: map[string]want{
				"is-number@7.0.0": {uncheckable: "tarball URL dependency (https://example.com/builds/is-number.tgz)"},
				"minimist@1.2.5":  {uncheckable: "git dependency"},
			},
		},
		{
			name: "npm v1: an alias's own tarball, and a smuggled one", file: "package-lock.json",
			data: `{
  "name": "app",
  "lockfileVersion": 1,
  "dependencies": {
    "string-width-cjs": {
      "version": "npm:string-width@4.2.3",
      "resolved": "https://registry.npmjs.org/string-width/-/string-width-4.2.3.tgz",
      "integrity": "sha512-a"
    },
    "is-number": {
      "version": "7.0.0",
      "resolved": "` + minimistURL + `",
      "integrity": "` + minimistIntegrity + `"
    }
  }
}
`,
			regs: &Registries{},
			want: map[string]want{"string-width@4.2.3": {}, "is-number@7.0.0": {mismatch: "not the registry's tarball"}},
			line: map[string]int{"is-number@7.0.0": 10},
		},
		{
			name: "yarn classic: the sha1 of the URL is the integrity", file: "yarn.lock",
			data: `# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.
# yarn lockfile v1


is-number@^7.0.0:
  version "7.0.0"
  resolved "https://registry.yarnpkg.com/is-number/-/is-number-7.0.0.tgz#` + isNumberShasum + `"
`,
			regs: &Registries{Default: "https://registry.yarnpkg.com/"},
			want: map[string]want{"is-number@7.0.0": {integrity: "sha1-dTU0W4lnNNX4DE0GxQlVUnoU8Ss="}},
		},
		{
			name: "yarn classic: is-number is minimist's tarball", file: "yarn.lock",
			data: `# yarn lockfile v1


is-number@^7.0.0:
  version "7.0.0"
  resolved "https://registry.yarnpkg.com/minimist/-/minimist-1.2.5.tgz#67d66014b66a6a8aaa0c083c5fd58df4e4e97602"
  integrity ` + minimistIntegrity + `
`,
			regs: &Registries{},
			want: map[string]want{"is-number@7.0.0": {mismatch: "is not the registry's tarball of is-number@7.0.0"}},
			line: map[string]int{"is-number@7.0.0": 4},
		},
		{
			name: "pnpm: integrity kept, a smuggled tarball blocked", file: "pnpm-lock.yaml",
			data: `lockfileVersion: '9.0'

settings:
  autoInstallPeers: true
  excludeLinksFromLockfile: false

importers:

  .:
    dependencies:
      is-number:
        specifier: ^7.0.0
        version: 7.0.0
      minimist:
        specifier: 1.2.6
        version: 1.2.6

packages:

  is-number@7.0.0:
    resolution: {integrity: ` + minimistIntegrity + `, tarball: ` + minimistURL + `}
    engines: {node: '>=0.12.0'}

  minimist@1.2.6:
    resolution: {integrity: sha512-Jsjnk4bw3YJqYzbdyBiNsPWHPfO++UGG749Cxs6peCu5Xg4nrena6OVxOYxrQTqww0Jmwt+Ref8rggumkTLz9Q==}

snapshots:

  is-number@7.0.0: {}

  minimist@1.2.6: {}
`,
			regs: &Registries{},
			want: map[string]want{
				"is-number@7.0.0": {mismatch: "not the registry's tarball of is-number@7.0.0"},
				"minimist@1.2.6":  {integrity: "sha512-Jsjnk4bw3YJqYzbdyBiNsPWHPfO++UGG749Cxs6peCu5Xg4nrena6OVxOYxrQTqww0Jmwt+Ref8rggumkTLz9Q=="},
			},
			line: map[string]int{"is-number@7.0.0": 20},
		},
		{
			name: "Cargo.lock: checksums required of registry crates", file: "Cargo.lock",
			data: `# This file is automatically @generated by Cargo.
# It is not intended for manual editing.
version = 3

[[package]]
name = "addr2line"
version = "0.15.2"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "e7a2e47a1fbe209ee101dd6d61285226744c6c8d3c21c8dc878ba6cb9f467f3a"

[[package]]
name = "gimli"
version = "0.24.0"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "memchr"
version = "2.7.4"
source = "sparse+https://index.crates.io/"
checksum = "not-a-sha256"

[[package]]
name = "corp-util"
version = "1.0.0"
source = "sparse+https://crates.corp.example/index/"
checksum = "e7a2e47a1fbe209ee101dd6d61285226744c6c8d3c21c8dc878ba6cb9f467f3a"
`,
			want: map[string]want{
				"addr2line@0.15.2": {integrity: "sha256-56Lkeh++IJ7hAd1tYShSJnRMbI08Icjch4umy59Gfzo="},
				"gimli@0.24.0":     {mismatch: "has no checksum"},
				"memchr@2.7.4":     {mismatch: "is not a sha256"},
				"corp-util@1.0.0":  {uncheckable: "registry other than crates.io"},
			},
			line: map[string]int{"gimli@0.24.0": 11},
		},
		{
			name: "Cargo.lock format 1: checksums in [metadata]", file: "Cargo.lock",
			data: `[[package]]
name = "addr2line"
version = "0.15.2"
source = "registry+https://github.com/rust-lang/crates.io-index"

[metadata]
"checksum addr2line 0.15.2 (registry+https://github.com/rust-lang/crates.io-index)" = "e7a2e47a1fbe209ee101dd6d61285226744c6c8d3c21c8dc878ba6cb9f467f3a"
`,
			want: map[string]want{"addr2line@0.15.2": {integrity: "sha256-56Lkeh++IJ7hAd1tYShSJnRMbI08Icjch4umy59Gfzo="}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pkgs, err := ParseReaderWith(context.Background(), tc.file, strings.NewReader(tc.data), Options{NPM: tc.regs})
			if err != nil {
				t.Fatal(err)
			}
			found := map[string]bool{}
			for _, p := range pkgs {
				key := p.Name + "@" + p.Version
				w, ok := tc.want[key]
				if !ok {
					t.Errorf("unexpected package %s (%+v)", key, p)
					continue
				}
				if p.Mismatch != "" {
					found[key] = true // a mismatching copy is what the case is about
					if w.mismatch == "" || !strings.Contains(p.Mismatch, w.mismatch) {
						t.Errorf("%s: Mismatch %q, want %q", key, p.Mismatch, w.mismatch)
					}
					if l, ok := tc.line[key]; ok && p.Source != fmt.Sprintf("%s:%d", tc.file, l) {
						t.Errorf("%s: Source %q, want line %d", key, p.Source, l)
					}
					continue
				}
				if !found[key] {
					found[key] = false
				}
				if w.uncheckable != "" && (!p.Uncheckable || !strings.Contains(p.Reason, w.uncheckable)) {
					t.Errorf("%s: Uncheckable %v %q, want %q", key, p.Uncheckable, p.Reason, w.uncheckable)
				}
				if w.uncheckable == "" && p.Uncheckable {
					t.Errorf("%s: uncheckable (%s)", key, p.Reason)
				}
				if w.integrity != "" && p.Integrity != w.integrity {
					t.Errorf("%s: Integrity %q, want %q", key, p.Integrity, w.integrity)
				}
			}
			for key, w := range tc.want {
				seen, ok := found[key]
				switch {
				case !ok:
					t.Errorf("%s not reported", key)
				case w.mismatch != "" && !seen:
					t.Errorf("%s: no Mismatch, want %q", key, w.mismatch)
				}
			}
		})
	}
}

// The public registry's tarball of name@version is that package, whatever registry is
// configured; a GitLab registry names scoped tarballs by the full name.
func TestNpmTarballMismatch(t *testing.T) {
	gitlab := &Registries{Default: "https://registry.npmjs.org/", Scopes: map[string]string{"@my-org": "https://gitlab.my-org.org/api/v4/projects/1/packages/npm/"}}
	cases := []struct {
		name, version, url string
		regs               *Registries
		ok                 bool
	}{
		{"is-number", "7.0.0", isNumberURL, &Registries{}, true},
		{"is-number", "7.0.0", "https://registry.yarnpkg.com/is-number/-/is-number-7.0.0.tgz", &Registries{}, true},
		{"is-number", "7.0.0", isNumberURL, mirror, true},
		{"is-number", "7.0.0", "HTTPS://Registry.NPMJS.org:443/is-number/-/is-number-7.0.0.tgz", &Registries{Default: "https://registry.npmjs.org:443/"}, true},
		{"is-number", "7.0.0", "http://registry.npmjs.org/is-number/-/is-number-7.0.0.tgz", &Registries{}, false},
		{"is-number", "7.0.0", "https://registry.npmjs.org/x/is-number/-/is-number-7.0.0.tgz", &Registries{}, false},
		{"is-number", "7.0.0", "https://user:pw@registry.npmjs.org/is-number/-/is-number-7.0.0.tgz", &Registries{}, false},
		{"@babel/core", "7.24.0", babelCoreURL, &Registries{}, true},
		{"@babel/core", "7.24.0", "https://registry.npmjs.org/@babel%2fcore/-/core-7.24.0.tgz", &Registries{}, true},
		{"@babel/core", "7.24.0", "https://registry.npmjs.org/@babel/core/-/core-7.24.1.tgz", &Registries{}, false},
		{"@babel/core", "7.24.0", "https://registry.npmjs.org/@evil/core/-/core-7.24.0.tgz", &Registries{}, false},
		{"@my-org/my-package", "3.2.3", "https://gitlab.my-org.org/api/v4/projects/1/packages/npm/@my-org/my-package/-/@my-org/my-package-3.2.3.tgz", gitlab, true},
		{"@my-org/my-package", "3.2.3", "https://gitlab.my-org.org/api/v4/projects/2/packages/npm/@my-org/my-package/-/@my-org/my-package-3.2.3.tgz", gitlab, false},
		{"http-local", "1.0.0", "http://127.0.0.1:4873/http-local/-/http-local-1.0.0.tgz", &Registries{Default: "http://127.0.0.1:4873/"}, true},
	}
	for _, tc := range cases {
		m := npmTarballMismatch(tc.name, tc.version, tc.url, tc.regs)
		if (m == "") != tc.ok {
			t.Errorf("%s@%s from %s: mismatch %q, want ok=%v", tc.name, tc.version, tc.url, m, tc.ok)
		}
	}
}

// A lockfile's own name and version are what the precheck reports, mismatching or not.
func TestMismatchKeepsTheClaim(t *testing.T) {
	pkgs, err := ParseReaderWith(context.Background(), "package-lock.json",
		strings.NewReader(npmLockV3(npmEntry("node_modules/is-number", "7.0.0", minimistURL, minimistIntegrity))), Options{NPM: &Registries{}})
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 1 || pkgs[0].Name != "is-number" || pkgs[0].Version != "7.0.0" || pkgs[0].Ecosystem != precheck.NPM || pkgs[0].Resolved != minimistURL {
		t.Fatalf("got %+v", pkgs)
	}
}

// Bundler's CHECKSUMS section is kept per name and version; platform variants are
// one version with several files.
func TestGemfileChecksums(t *testing.T) {
	pkgs, err := Parse(filepath.Join(corpus(t), "lockfiles", "real", "rails.Gemfile.lock"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, p := range pkgs {
		if _, dup := got[p.Name+"@"+p.Version]; dup {
			t.Errorf("%s@%s reported twice", p.Name, p.Version)
		}
		got[p.Name+"@"+p.Version] = p.Integrity
	}
	if g := got["action_text-trix@2.1.16"]; g != "sha256-9kWiwhghuESf0dZ3Bwj0AxyRou7fnvR26b6Txk5wOoo=" {
		t.Errorf("action_text-trix: %q", g)
	}
	if g := strings.Fields(got["nokogiri@1.19.1"]); len(g) != 5 {
		t.Errorf("nokogiri 1.19.1 has five platform files, got %q", g)
	}
}

// BenchmarkOrigins measures what checking every registry URL adds to a parse, on the
// corpus's real package-lock.json (106 packages with resolved URLs) and babel's
// yarn.lock (no URLs: berry records resolutions).
func BenchmarkOrigins(b *testing.B) {
	for _, file := range []string{"npm-osv-scanner-fix-example.package-lock.json", "babel.yarn.lock"} {
		data, err := os.ReadFile(filepath.Join(corpus(b), "lockfiles", "real", file))
		if err != nil {
			b.Fatal(err)
		}
		for _, tc := range []struct {
			name string
			opts Options
		}{{"name-version", Options{}}, {"registries", Options{NPM: mirror}}} {
			b.Run(file+"/"+tc.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := ParseReaderWith(context.Background(), file, bytes.NewReader(data), tc.opts); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

package policy

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const designExample = `
block:
  malicious: true            # any MAL- finding blocks
  vulnerability: high        # lowest severity that blocks (critical/high/medium/low/none)
min_release_age: 48h         # versions younger than this block (registry metadata)
scripts: sandbox             # sandbox (run all, shut in) | allowlist | none
allow_scripts: ["esbuild@0.21.5"]
ignore:
  - id: GHSA-xxxx-xxxx-xxxx
    package: lodash
    until: 2027-01-01
    reason: "not reachable from our code"
limits: {memory: 4GiB, pids: 1024, cpus: 2, timeout: 30m}
database: {max_age: 72h, when_stale: fail}   # fail closed by default
`

func TestParseDesignExample(t *testing.T) {
	p, err := Parse("design.yaml", []byte(designExample))
	if err != nil {
		t.Fatal(err)
	}
	want := Ignore{ID: "GHSA-xxxx-xxxx-xxxx", Package: "lodash", Until: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
		Reason: "not reachable from our code", Source: "design.yaml:9"}
	if len(p.Ignore) != 1 || p.Ignore[0] != want {
		t.Errorf("ignore = %+v, want %+v", p.Ignore, want)
	}
	if !p.Block.Malicious || p.Block.Vulnerability != ThresholdHigh {
		t.Errorf("block = %+v", p.Block)
	}
	if p.MinReleaseAge != 48*time.Hour || p.Scripts != ScriptsSandbox {
		t.Errorf("min_release_age %v scripts %v", p.MinReleaseAge, p.Scripts)
	}
	if len(p.AllowScripts) != 1 || p.AllowScripts[0] != "esbuild@0.21.5" {
		t.Errorf("allow_scripts = %v", p.AllowScripts)
	}
	if (p.Limits != Limits{Memory: 4 << 30, Pids: 1024, CPUs: 2, Timeout: 30 * time.Minute}) {
		t.Errorf("limits = %+v", p.Limits)
	}
	if (p.Database != Database{MaxAge: 72 * time.Hour, WhenStale: Fail}) {
		t.Errorf("database = %+v", p.Database)
	}
}

func TestParseValues(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		check func(*Policy) bool
	}{
		{"empty file keeps defaults", "", func(p *Policy) bool {
			d := Default()
			return p.Block == d.Block && p.Database == d.Database && p.Uncheckable == Warn && p.MinReleaseAge == 0 &&
				p.Limits == (Limits{}) && p.Scripts == ScriptsSandbox
		}},
		{"null document", "~\n", func(p *Policy) bool { return p.Block.Malicious }},
		{"comment only", "# nothing\n", func(p *Policy) bool { return p.Block.Malicious }},
		{"threshold none", "block: {vulnerability: none}", func(p *Policy) bool { return p.Block.Vulnerability == ThresholdNone }},
		{"threshold moderate is medium", "block: {vulnerability: moderate}", func(p *Policy) bool { return p.Block.Vulnerability == ThresholdMedium }},
		{"threshold is case-insensitive", "block: {vulnerability: CRITICAL}", func(p *Policy) bool { return p.Block.Vulnerability == ThresholdCritical }},
		{"days", "min_release_age: 7d", func(p *Policy) bool { return p.MinReleaseAge == 7*24*time.Hour }},
		{"weeks and hours", "min_release_age: 1w12h", func(p *Policy) bool { return p.MinReleaseAge == 180*time.Hour }},
		{"zero age", "min_release_age: 0", func(p *Policy) bool { return p.MinReleaseAge == 0 }},
		{"SI memory", "limits: {memory: 4GB}", func(p *Policy) bool { return p.Limits.Memory == 4e9 }},
		{"IEC memory", "limits: {memory: 512MiB}", func(p *Policy) bool { return p.Limits.Memory == 512<<20 }},
		{"fractional cpus", "limits: {cpus: 0.5}", func(p *Policy) bool { return p.Limits.CPUs == 0.5 }},
		{"uncheckable fail", "uncheckable: fail", func(p *Policy) bool { return p.Uncheckable == Fail }},
		{"when_stale warn", "database:\n  when_stale: warn\n", func(p *Policy) bool { return p.Database.WhenStale == Warn }},
		{"ignore without until or package", "ignore:\n- {id: MAL-2022-1, reason: false positive}", func(p *Policy) bool {
			return len(p.Ignore) == 1 && p.Ignore[0].Until.IsZero() && p.Ignore[0].Package == ""
		}},
		{"ignore with RFC 3339 until", "ignore:\n- {id: X-1, reason: r, until: '2027-01-01T12:00:00+02:00'}", func(p *Policy) bool {
			return p.Ignore[0].Until.Equal(time.Date(2027, 1, 1, 10, 0, 0, 0, time.UTC))
		}},
		{"anchors and aliases", "x: &r\n", nil},
		{"aliased ignore entry", "ignore:\n- &e {id: A-1, reason: r}\n- *e\n", func(p *Policy) bool { return len(p.Ignore) == 2 }},
		{"null section", "block:\n  # malicious: false\nlimits:\n", func(p *Policy) bool { return p.Block.Malicious && p.Limits == (Limits{}) }},
		{"empty lists", "ignore: []\nallow_scripts:\n", func(p *Policy) bool { return len(p.Ignore) == 0 && len(p.AllowScripts) == 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse("p.yaml", []byte(tt.yaml))
			if tt.check == nil {
				if err == nil {
					t.Fatal("want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(p) {
				t.Errorf("unexpected policy %+v", p)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name      string
		yaml      string
		line, col int
		contains  string
	}{
		{"unknown top-level key", "block:\n  malicious: true\nblok:\n  malicious: false\n", 3, 1, `unknown key "blok"`},
		{"unknown nested key", "block:\n  malicious: true\n  vulnerabilty: low\n", 3, 3, `unknown key "block.vulnerabilty"`},
		{"unknown key in ignore", "ignore:\n  - id: A\n    reason: r\n    expires: 2027-01-01\n", 4, 5, `unknown key "ignore[].expires"`},
		{"syntax error", "block:\n  malicious: true\n   vulnerability: [high\n", 3, 0, "invalid YAML"},
		{"tab indentation", "block:\n\tmalicious: true\n", 2, 0, "invalid YAML"},
		{"bad bool", "block:\n  malicious: yes\n", 2, 14, `want true or false, got "yes"`},
		{"bad threshold", "block:\n  vulnerability: severe\n", 2, 18, `got "severe"`},
		{"unknown threshold", "block: {vulnerability: unknown}\n", 1, 24, "want one of critical"},
		{"bad duration", "min_release_age: 2 days\n", 1, 18, "want a duration"},
		{"negative duration", "database: {max_age: -1h}\n", 1, 21, "want a duration"},
		{"bad scripts", "scripts: always\n", 1, 10, "want one of sandbox, allowlist, none"},
		{"bad action", "uncheckable: ignore\n", 1, 14, "want one of fail, warn"},
		{"ignore without reason", "ignore:\n  - id: GHSA-1\n    package: x\n", 2, 5, "needs a reason"},
		{"ignore with blank reason", "ignore:\n  - {id: GHSA-1, reason: '  '}\n", 2, 5, "needs a reason"},
		{"ignore without id", "ignore:\n  - reason: because\n", 2, 5, "needs an id"},
		{"bad until", "ignore:\n  - {id: A, reason: r, until: next year}\n", 2, 31, "want a date"},
		{"ignore not a list", "ignore: {id: A}\n", 1, 9, "want a list"},
		{"block not a mapping", "block: true\n", 1, 8, "block must be a mapping"},
		{"top level list", "- a\n- b\n", 1, 1, "the policy must be a mapping"},
		{"duplicate key", "scripts: none\nscripts: sandbox\n", 2, 1, "set twice (first on line 1)"},
		{"memory not a size", "limits: {memory: lots}\n", 1, 18, "want a size"},
		{"zero pids", "limits: {pids: 0}\n", 1, 16, "above 0"},
		{"nan cpus", "limits: {cpus: .nan}\n", 1, 16, "above 0"},
		{"allow_scripts not strings", "allow_scripts: [{a: b}]\n", 1, 17, "want a single value"},
		{"ignore package dangling @", "ignore: [{id: A, reason: r, package: 'lodash@'}]\n", 1, 38, "ignore package"},
		{"allow_scripts empty name", "allow_scripts: ['esbuild@']\n", 1, 17, "allow_scripts entry"},
		{"script_network without hosts", "script_network:\n  - package: puppeteer\n", 2, 5, "needs hosts"},
		{"script_network empty hosts", "script_network:\n  - {package: puppeteer, hosts: []}\n", 2, 5, "needs hosts"},
		{"script_network without package", "script_network:\n  - hosts: [a.example:443]\n", 2, 5, "needs a package"},
		{"script_network empty package", "script_network: [{package: '', hosts: [a.example:443]}]\n", 1, 28, "script_network package"},
		{"script_network host without port", "script_network:\n  - package: p\n    hosts: [cdn.example.com]\n", 3, 13, `script_network host "cdn.example.com"`},
		{"script_network bad port", "script_network: [{package: p, hosts: ['a.example:99999']}]\n", 1, 39, "bad port"},
		{"script_network URL", "script_network: [{package: p, hosts: ['https://a.example:443']}]\n", 1, 39, "want host:port"},
		{"script_network unknown key", "script_network: [{package: p, host: [a:1]}]\n", 1, 31, `unknown key "script_network[].host"`},
		{"script_network not a list", "script_network: {package: p}\n", 1, 17, "want a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("proj/.phylum-box.yaml", []byte(tt.yaml))
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *policy.Error", err)
			}
			if pe.File != "proj/.phylum-box.yaml" || pe.Line != tt.line || pe.Column != tt.col {
				t.Errorf("at %s:%d:%d, want line %d col %d (%v)", pe.File, pe.Line, pe.Column, tt.line, tt.col, err)
			}
			if !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("error %q does not contain %q", err, tt.contains)
			}
			if !strings.HasPrefix(err.Error(), "proj/.phylum-box.yaml:") {
				t.Errorf("error %q does not start with the file name", err)
			}
		})
	}
}

func write(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadMerging(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	t.Setenv("XDG_CONFIG_HOME", cfg)
	user := write(t, filepath.Join(cfg, "phylum-box", "policy.yaml"), `
block: {vulnerability: medium}
min_release_age: 7d
allow_scripts: [esbuild]
ignore:
  - {id: GHSA-user, reason: user said so}
limits: {memory: 2GiB, pids: 100}
uncheckable: fail
`)
	proj := filepath.Join(dir, "proj")
	write(t, filepath.Join(proj, ProjectFile), `
block: {vulnerability: low}
scripts: allowlist
allow_scripts: ["sharp@0.33.0"]
ignore:
  - {id: GHSA-proj, package: lodash, until: 2027-01-01, reason: project said so}
limits: {pids: 200}
`)
	// A policy in a parent directory never applies: only the project dir is read.
	write(t, filepath.Join(dir, ProjectFile), "block: {malicious: false}\n")
	explicit := write(t, filepath.Join(dir, "ci.yaml"), "database: {max_age: 24h}\nscripts: none\n")

	p, err := Load(Sources{ProjectDir: proj, File: explicit})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Files; len(got) != 3 || got[0] != user || got[1] != filepath.Join(proj, ProjectFile) || got[2] != explicit {
		t.Errorf("files = %v", got)
	}
	if !p.Block.Malicious {
		t.Error("a parent directory's .phylum-box.yaml was applied")
	}
	checks := []struct {
		what      string
		got, want any
	}{
		{"vulnerability (project over user)", p.Block.Vulnerability, ThresholdLow},
		{"min_release_age (user over default)", p.MinReleaseAge, 7 * 24 * time.Hour},
		{"scripts (explicit over project)", p.Scripts, ScriptsNone},
		{"allow_scripts concatenated", strings.Join(p.AllowScripts, ","), "esbuild,sharp@0.33.0"},
		{"ignores concatenated", len(p.Ignore), 2},
		{"memory from user", p.Limits.Memory, uint64(2 << 30)},
		{"pids from project", p.Limits.Pids, 200},
		{"cpus unset", p.Limits.CPUs, 0.0},
		{"max_age from explicit", p.Database.MaxAge, 24 * time.Hour},
		{"when_stale default", p.Database.WhenStale, Fail},
		{"uncheckable from user", p.Uncheckable, Fail},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.what, c.got, c.want)
		}
	}
	if len(p.Weakened) != 0 {
		t.Errorf("tightening reported as weakening: %v", p.Weakened)
	}
}

func TestLoadMissingFiles(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "nowhere"))
	p, err := Load(Sources{ProjectDir: dir})
	if err != nil {
		t.Fatalf("missing user and project files must be fine: %v", err)
	}
	if len(p.Files) != 0 {
		t.Errorf("files = %v", p.Files)
	}
	_, err = Load(Sources{File: filepath.Join(dir, "missing.yaml")})
	if err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing --policy file: err = %v", err)
	}
}

func TestLoadReportsFileOfBadLayer(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "cfg"))
	write(t, filepath.Join(dir, "cfg", "phylum-box", "policy.yaml"), "block: {}\n")
	bad := write(t, filepath.Join(dir, ProjectFile), "block:\n  malicious: true\n  colour: red\n")
	_, err := Load(Sources{ProjectDir: dir})
	if err == nil || !strings.HasPrefix(err.Error(), bad+":3:3: ") {
		t.Errorf("err = %v, want it to start with %s:3:3", err, bad)
	}
}

func TestLoadRefusesNonRegularFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, ProjectFile)
	if err := mkfifo(fifo); err != nil {
		t.Skip("mkfifo:", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := Load(Sources{NoUser: true, ProjectDir: dir})
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("err = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Load blocked on a FIFO named .phylum-box.yaml")
	}
	// The user's file may be a symlink to a regular file (dotfile managers); one into
	// /dev is refused as not regular.
	dir2 := t.TempDir()
	real := write(t, filepath.Join(dir2, "dotfiles", "policy.yaml"), "uncheckable: fail\n")
	link := filepath.Join(dir2, "policy.yaml")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if p, err := Load(Sources{UserFile: link}); err != nil || p.Uncheckable != Fail {
		t.Errorf("user policy through a symlink: %v", err)
	}
	if err := os.Symlink("/dev/zero", filepath.Join(dir2, "zero.yaml")); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(Sources{UserFile: filepath.Join(dir2, "zero.yaml")}); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("symlink to /dev/zero: err = %v", err)
	}
}

// A project's .phylum-box.yaml that is a symlink is refused without reading the
// target: otherwise a repository could make phylum-box print a line of any file the
// user can read (the error echoes the offending value).
func TestProjectPolicySymlinkRefused(t *testing.T) {
	dir := t.TempDir()
	secret := write(t, filepath.Join(dir, "secret"), "aws_secret_access_key = SECRET123\n")
	proj := filepath.Join(dir, "proj")
	if err := os.MkdirAll(proj, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(proj, ProjectFile)); err != nil {
		t.Fatal(err)
	}
	_, err := Load(Sources{NoUser: true, ProjectDir: proj})
	if err == nil || !strings.Contains(err.Error(), "is a symbolic link") || strings.Contains(err.Error(), "SECRET123") {
		t.Errorf("err = %v", err)
	}
}

func TestProjectWeakeningIsReported(t *testing.T) {
	tests := []struct {
		name, user, project string
		want                []string
	}{
		{"malicious off", "", "block: {malicious: false}", []string{"block.malicious: false"}},
		{"threshold raised", "", "block: {vulnerability: critical}", []string{"raises the blocking threshold from high"}},
		{"threshold none", "", "block: {vulnerability: none}", []string{"block.vulnerability: none"}},
		{"threshold lowered is fine", "", "block: {vulnerability: low}", nil},
		{"stale warn", "", "database: {when_stale: warn}", []string{"when_stale: warn"}},
		{"older database", "", "database: {max_age: 30d}", []string{"max_age: 30d accepts an older database than 3d"}},
		{"MAL ignore", "", "ignore: [{id: MAL-2025-46969, reason: trust me}]", []string{"malware advisory MAL-2025-46969 (trust me)"}},
		{"GHSA ignore is normal", "", "ignore: [{id: GHSA-1, reason: r}]", nil},
		{"uncheckable loosened", "uncheckable: fail", "uncheckable: warn", []string{"uncheckable: warn"}},
		{"release age lowered", "min_release_age: 7d", "min_release_age: 1h", []string{"min_release_age: 1h0m0s lowers it from 7d"}},
		{"scripts loosened", "scripts: none", "scripts: sandbox", []string{"scripts: sandbox lets more"}},
		{"allowlist extended", "scripts: allowlist", "allow_scripts: [evil]", []string{"allow_scripts adds evil"}},
		{"script network added", "", "script_network: [{package: evil, hosts: ['Evil.example:443']}]",
			[]string{"script_network gives the install script of evil network access to evil.example:443"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			user := write(t, filepath.Join(dir, "user.yaml"), tt.user)
			write(t, filepath.Join(dir, "proj", ProjectFile), tt.project)
			p, err := Load(Sources{UserFile: user, ProjectDir: filepath.Join(dir, "proj")})
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Weakened) != len(tt.want) {
				t.Fatalf("weakened = %q, want %d entries", p.Weakened, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.Contains(p.Weakened[i], w) || !strings.Contains(p.Weakened[i], ProjectFile) {
					t.Errorf("weakened[%d] = %q, want it to name the file and contain %q", i, p.Weakened[i], w)
				}
			}
			// The same settings in the user's own file or --policy are not flagged.
			p2, err := Load(Sources{UserFile: user, File: filepath.Join(dir, "proj", ProjectFile)})
			if err != nil {
				t.Fatal(err)
			}
			if len(p2.Weakened) != 0 {
				t.Errorf("explicit --policy flagged: %v", p2.Weakened)
			}
		})
	}
}

func TestMatchIgnore(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	p, err := Parse("p.yaml", []byte(`
ignore:
  - {id: GHSA-live, package: lodash, until: 2027-01-01, reason: live}
  - {id: GHSA-old, package: lodash, until: 2026-01-01, reason: old}
  - {id: GHSA-today, until: 2026-11-25, reason: expires at midnight UTC}
  - {id: CVE-2019-10744, package: lodash@4.17.11, reason: by alias and version}
  - {id: GHSA-py, package: Jinja2, reason: pypi normalised}
  - {id: GHSA-scoped, package: "@babel/traverse@7.0.0", reason: scoped}
  - {id: GHSA-both, until: 2020-01-01, reason: expired one}
  - {id: GHSA-both, reason: live one}
`))
	if err != nil {
		t.Fatal(err)
	}
	lodash := pkg{Ecosystem: "npm", Name: "lodash", Version: "4.17.11"}
	tests := []struct {
		name       string
		f          finding
		pkg        pkg
		match      bool
		expired    bool
		wantReason string
	}{
		{"live by id", finding{ID: "GHSA-live"}, lodash, true, false, "live"},
		{"id is case-insensitive", finding{ID: "ghsa-LIVE"}, lodash, true, false, "live"},
		{"other package", finding{ID: "GHSA-live"}, pkg{Ecosystem: "npm", Name: "lodash-es"}, false, false, ""},
		{"expired", finding{ID: "GHSA-old"}, lodash, true, true, "old"},
		{"until is exclusive", finding{ID: "GHSA-today"}, lodash, true, true, "expires at midnight UTC"},
		{"by alias", finding{ID: "GHSA-jf85-cpcp-j695", Aliases: []string{"CVE-2019-10744"}}, lodash, true, false, "by alias and version"},
		{"version pinned elsewhere", finding{ID: "X", Aliases: []string{"CVE-2019-10744"}}, pkg{Ecosystem: "npm", Name: "lodash", Version: "4.17.12"}, false, false, ""},
		{"pypi normalisation", finding{ID: "GHSA-py"}, pkg{Ecosystem: "PyPI", Name: "jinja2"}, true, false, "pypi normalised"},
		{"npm names are exact", finding{ID: "GHSA-py"}, pkg{Ecosystem: "npm", Name: "jinja2"}, false, false, ""},
		{"scoped name with version", finding{ID: "GHSA-scoped"}, pkg{Ecosystem: "npm", Name: "@babel/traverse", Version: "7.0.0"}, true, false, "scoped"},
		{"live wins over expired", finding{ID: "GHSA-both"}, lodash, true, false, "live one"},
		{"unrelated", finding{ID: "GHSA-none"}, lodash, false, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids := append([]string{tt.f.ID}, tt.f.Aliases...)
			m, ok := p.MatchIgnore(ids, tt.pkg.Ecosystem, tt.pkg.Name, tt.pkg.Version, now)
			if ok != tt.match || m.Expired != tt.expired || m.Ignore.Reason != tt.wantReason {
				t.Errorf("got ok=%v %+v, want ok=%v expired=%v reason %q", ok, m, tt.match, tt.expired, tt.wantReason)
			}
		})
	}
	exp := p.ExpiredIgnores(now)
	if len(exp) != 3 {
		t.Errorf("expired = %+v, want GHSA-old, GHSA-today and the old GHSA-both", exp)
	}
}

func TestScriptsAllowed(t *testing.T) {
	p := Default()
	esbuild := pkg{Ecosystem: "npm", Name: "esbuild", Version: "0.21.5"}
	if !p.ScriptsAllowed(esbuild.Ecosystem, esbuild.Name, esbuild.Version) {
		t.Error("sandbox mode must allow scripts")
	}
	p.Scripts = ScriptsAllowlist
	p.AllowScripts = []string{"esbuild@0.21.5", "@swc/core"}
	if !p.ScriptsAllowed(esbuild.Ecosystem, esbuild.Name, esbuild.Version) {
		t.Error("pinned entry must allow")
	}
	if p.ScriptsAllowed("npm", "esbuild", "0.21.6") {
		t.Error("another version must not be allowed")
	}
	if !p.ScriptsAllowed("npm", "@swc/core", "1.0.0") {
		t.Error("a scoped name without version must allow any version")
	}
	p.Scripts = ScriptsNone
	if p.ScriptsAllowed(esbuild.Ecosystem, esbuild.Name, esbuild.Version) {
		t.Error("none must allow nothing")
	}
}

func TestSameNamePyPI(t *testing.T) {
	for _, pair := range [][2]string{{"Foo.Bar", "foo-bar"}, {"foo__bar", "FOO-bar"}, {"a-_.b", "a.b"}} {
		if !SameName("PyPI", pair[0], pair[1]) {
			t.Errorf("%q and %q should be the same PyPI name", pair[0], pair[1])
		}
	}
	if SameName("PyPI", "foo-bar", "foobar") || SameName("PyPI", "-foo", "foo") {
		t.Error("different PyPI names compared equal")
	}
}

// Local stand-ins: this package must not import precheck (precheck imports it).
type pkg struct{ Ecosystem, Name, Version string }

type finding struct {
	ID      string
	Aliases []string
}

func TestScriptNetwork(t *testing.T) {
	dir := t.TempDir()
	user := write(t, filepath.Join(dir, "user.yaml"), `
script_network:
  - package: puppeteer
    hosts: ["storage.googleapis.com:443", "CDN.example.com.:0443"]
`)
	write(t, filepath.Join(dir, "proj", ProjectFile), `
script_network:
  - {package: puppeteer@22.0.0, hosts: ["[::1]:8080", "storage.googleapis.com:443"]}
  - {package: "@scope/dl", hosts: ["10.0.0.1:80"]}
`)
	p, err := Load(Sources{UserFile: user, ProjectDir: filepath.Join(dir, "proj")})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.ScriptNetwork) != 3 {
		t.Fatalf("entries = %+v", p.ScriptNetwork)
	}
	if e := p.ScriptNetwork[0]; e.Package != "puppeteer" || strings.Join(e.Hosts, " ") != "cdn.example.com:443 storage.googleapis.com:443" || e.Source != user+":3" {
		t.Errorf("first entry = %+v", e)
	}
	for _, tt := range []struct {
		name, version, want string
	}{
		{"puppeteer", "21.0.0", "cdn.example.com:443 storage.googleapis.com:443"},
		{"puppeteer", "22.0.0", "[::1]:8080 cdn.example.com:443 storage.googleapis.com:443"},
		{"@scope/dl", "1.0.0", "10.0.0.1:80"},
		{"puppeteer-core", "22.0.0", ""},
		{"@scope/dl2", "1.0.0", ""},
	} {
		if got := strings.Join(p.ScriptHosts("npm", tt.name, tt.version), " "); got != tt.want {
			t.Errorf("ScriptHosts(%s@%s) = %q, want %q", tt.name, tt.version, got, tt.want)
		}
	}
	if len(p.Weakened) != 2 || !strings.Contains(p.Weakened[1], "@scope/dl network access to 10.0.0.1:80") {
		t.Errorf("weakened = %q, want both project entries", p.Weakened)
	}
}

func TestKeepEnvEntries(t *testing.T) {
	p, err := Parse("p.yaml", []byte("keep_env: [PUPPETEER_SKIP_DOWNLOAD, MY_FLAG]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.KeepEnv) != 2 || p.KeepEnv[0] != "PUPPETEER_SKIP_DOWNLOAD" || p.KeepEnv[1] != "MY_FLAG" {
		t.Errorf("KeepEnv = %q", p.KeepEnv)
	}
	if _, err := Parse("p.yaml", []byte("keep_env: [\"A B\"]\n")); err == nil || !strings.Contains(err.Error(), "p.yaml:1") {
		t.Errorf("a bad name: %v", err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ProjectFile), []byte("keep_env: [MY_FLAG]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err = Load(Sources{NoUser: true, ProjectDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.KeepEnv) != 1 || len(p.Weakened) != 1 || !strings.Contains(p.Weakened[0], "keep_env passes MY_FLAG") {
		t.Errorf("project keep_env: %q, weakened %q", p.KeepEnv, p.Weakened)
	}
}

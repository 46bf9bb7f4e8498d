package check

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/cmdtest"
	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/cmdutil"
	"github.com/phylum-box/phylum-box/internal/exitcode"
	"github.com/phylum-box/phylum-box/precheck/osvdb"
)

// These tests run the real pipeline: lockfile parser, an osvdb database imported
// from the real OSV records in ../shared/corpus/osv, the policy loader, the engine
// and the report writers.

func TestMain(m *testing.M) {
	code := m.Run()
	cmdtest.Cleanup()
	os.Exit(code)
}

func exitOf(err error) int {
	if err == nil {
		return exitcode.OK
	}
	var ee *exitcode.Error
	if errors.As(err, &ee) {
		return ee.Code
	}
	return exitcode.Internal
}

var mixed = map[string]string{
	"chalk":    "5.6.1",   // MAL-2025-46969
	"lodash":   "4.17.11", // GHSA-jf85-cpcp-j695, critical
	"semver":   "7.5.1",   // GHSA-c2qf-rxjj-qqgw, moderate
	"left-pad": "1.3.0",   // clean
}

func TestCheckRealDatabase(t *testing.T) {
	db := cmdtest.CorpusDB(t)
	nowish := cmdtest.DBTime.Add(time.Hour)
	tests := []struct {
		name     string
		pkgs     map[string]string
		project  string // .phylum-box.yaml
		opts     CheckOptions
		noDB     bool
		wantExit int
		wantOut  []string
		wantErr  string
		notInOut []string
	}{
		{name: "malware and a critical vulnerability block", pkgs: mixed, wantExit: exitcode.Blocked, wantOut: []string{
			"chalk@5.6.1 (npm) BLOCKED  package-lock.json",
			"✗ MAL-2025-46969 (GHSA-2v46-p5h4-248w)  malicious  Malicious code in chalk (npm)",
			"lodash@4.17.11 (npm) BLOCKED",
			"✗ GHSA-jf85-cpcp-j695 (CVE-2019-10744)  critical  Prototype Pollution in lodash",
			"· GHSA-c2qf-rxjj-qqgw", "medium", "not blocking",
			"blocked: 2 of 4 packages blocked; 3 findings in 3 packages; database updated",
		}, notInOut: []string{"left-pad"}},
		{name: "clean lockfile passes", pkgs: map[string]string{"left-pad": "1.3.0", "lodash": "4.17.21"}, wantExit: exitcode.OK,
			wantOut: []string{"pass: 2 packages checked, nothing blocks"}},
		{name: "fixed version of a vulnerable package passes", pkgs: map[string]string{"semver": "7.5.2", "chalk": "5.6.2"}, wantExit: exitcode.OK},
		{name: "project policy ignores and lowers the threshold", pkgs: map[string]string{"lodash": "4.17.11", "semver": "7.5.1"},
			project:  "block: {vulnerability: medium}\nignore:\n  - {id: CVE-2019-10744, package: lodash, until: 2999-01-01, reason: not reachable}\n",
			wantExit: exitcode.Blocked, wantOut: []string{"~ GHSA-jf85-cpcp-j695", "ignored CVE-2019-10744 until 2999-01-01: not reachable",
				"semver@7.5.1 (npm) BLOCKED", "vulnerability medium ≥ medium (block.vulnerability)"}},
		{name: "weakening project policy is announced", pkgs: map[string]string{"chalk": "5.6.1"}, project: "block: {malicious: false}\n",
			wantExit: exitcode.OK, wantOut: []string{"project policy loosens your settings", "block.malicious: false"}},
		{name: "stale database is incomplete", pkgs: mixed, opts: CheckOptions{Now: cmdtest.DBTime.Add(80 * time.Hour)},
			wantExit: exitcode.Blocked, // blocked wins over incomplete
			wantOut:  []string{"The precheck could not decide:", "the npm advisories were updated 3d ago, more than database.max_age 3d"}},
		{name: "stale database with clean packages", pkgs: map[string]string{"left-pad": "1.3.0"}, opts: CheckOptions{Now: cmdtest.DBTime.Add(80 * time.Hour)},
			wantExit: exitcode.Incomplete, wantOut: []string{"incomplete: 1 package"}},
		{name: "missing database is incomplete", pkgs: mixed, noDB: true, wantExit: exitcode.Incomplete,
			wantOut: []string{"no OSV database at ", "db update`", "run `phylum-box --db "}},
		{name: "missing database under when_stale: warn", pkgs: mixed, noDB: true, project: "database: {when_stale: warn}\n",
			wantExit: exitcode.OK, wantOut: []string{"Warnings:", "no OSV database"}},
		{name: "json to a file", pkgs: mixed, opts: CheckOptions{Format: "json", Output: "out.json"}, wantExit: exitcode.Blocked,
			wantErr: "precheck blocked 2 of 4 packages"},
		{name: "unknown format", pkgs: mixed, opts: CheckOptions{Format: "xml"}, wantExit: exitcode.Usage,
			wantErr: `unknown format "xml" (supported: text, json, sarif)`},
		{name: "bad project policy", pkgs: mixed, project: "block:\n  malicius: true\n", wantExit: exitcode.Usage,
			wantErr: ".phylum-box.yaml:2:3: unknown key \"block.malicius\""},
		{name: "missing --policy file", pkgs: mixed, opts: CheckOptions{PolicyFile: "/nonexistent/policy.yaml"}, wantExit: exitcode.Usage,
			wantErr: "/nonexistent/policy.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cmdtest.PackageLock(t, dir, tt.pkgs)
			if tt.project != "" {
				if err := os.WriteFile(filepath.Join(dir, ".phylum-box.yaml"), []byte(tt.project), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			o := tt.opts
			o.Dir = dir
			o.UserPolicy = filepath.Join(dir, "no-user-policy.yaml")
			if o.Format == "" {
				o.Format = "text"
			}
			if o.Now.IsZero() {
				o.Now = nowish
			}
			o.DBPath = db
			if tt.noDB {
				o.DBPath = filepath.Join(dir, "missing.db")
			}
			app, out, _ := cmdutil.TestApp()
			o.App = app
			err := runCheck(context.Background(), &o)
			if got := exitOf(err); got != tt.wantExit {
				t.Errorf("exit = %d (err %v), want %d\n%s", got, err, tt.wantExit, out)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("err = %v, want it to contain %q", err, tt.wantErr)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.notInOut {
				if strings.Contains(out.String(), w) {
					t.Errorf("output has %q:\n%s", w, out)
				}
			}
			if o.Output != "" {
				data, err := os.ReadFile(filepath.Join(dir, o.Output))
				if err != nil {
					t.Fatal(err)
				}
				var doc struct {
					Verdict  string
					Packages []struct {
						Name     string
						Findings []struct{ ID, Kind, Severity string }
					}
				}
				if err := json.Unmarshal(data, &doc); err != nil {
					t.Fatalf("output file: %v\n%s", err, data)
				}
				if doc.Verdict != "blocked" || len(doc.Packages) != 4 {
					t.Errorf("json verdict %q with %d packages", doc.Verdict, len(doc.Packages))
				}
				if out.Len() != 0 {
					t.Errorf("stdout not empty with --output: %q", out)
				}
			}
		})
	}
}

func TestCheckSARIFRealDatabase(t *testing.T) {
	db := cmdtest.CorpusDB(t)
	dir := t.TempDir()
	cmdtest.PackageLock(t, dir, mixed)
	app, out, _ := cmdutil.TestApp()
	err := runCheck(context.Background(), &CheckOptions{App: app, Format: "sarif", Dir: dir, DBPath: db,
		UserPolicy: filepath.Join(dir, "none.yaml"), Now: cmdtest.DBTime, Version: "test"})
	if exitOf(err) != exitcode.Blocked {
		t.Fatalf("exit %d: %v", exitOf(err), err)
	}
	var log struct {
		Version string
		Runs    []struct {
			Tool struct {
				Driver struct{ Rules []struct{ ID string } }
			}
			Results []struct {
				RuleID    string
				Level     string
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string }
						Region           struct{ StartLine int }
					}
				}
			}
		}
	}
	if err := json.Unmarshal(out.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	if log.Version != "2.1.0" || len(log.Runs) != 1 || len(log.Runs[0].Tool.Driver.Rules) != 3 || len(log.Runs[0].Results) != 3 {
		t.Fatalf("sarif = %+v", log)
	}
	for _, r := range log.Runs[0].Results {
		loc := r.Locations[0].PhysicalLocation
		if loc.ArtifactLocation.URI != "package-lock.json" {
			t.Errorf("%s: uri %q, want the lockfile relative to the project", r.RuleID, loc.ArtifactLocation.URI)
		}
		want := map[string]string{"MAL-2025-46969": "error", "GHSA-jf85-cpcp-j695": "error", "GHSA-c2qf-rxjj-qqgw": "warning"}[r.RuleID]
		if r.Level != want {
			t.Errorf("%s: level %q, want %q", r.RuleID, r.Level, want)
		}
	}
}

func TestCheckTargets(t *testing.T) {
	db := cmdtest.CorpusDB(t)
	corpus := cmdtest.CorpusDir(t)
	empty := t.TempDir()
	tests := []struct {
		name     string
		args     []string
		dir      string
		wantExit int
		wantErr  string
	}{
		{"no lockfile in the directory", nil, empty, exitcode.Usage, "no lockfile in . (looked for package-lock.json, npm-shrinkwrap.json"},
		{"missing argument", []string{"nope.lock"}, empty, exitcode.Usage, "nope.lock: no such file or directory"},
		{"broken lockfile", []string{filepath.Join(corpus, "lockfiles", "fixtures", "npm", "not-json.txt")}, empty, exitcode.Usage, "not-json.txt"},
		{"real pnpm lockfile", []string{filepath.Join(corpus, "lockfiles", "real", "vite.pnpm-lock.yaml")}, empty, -1, ""},
		{"several lockfiles", []string{filepath.Join(corpus, "lockfiles", "real", "ripgrep.Cargo.lock"), filepath.Join(corpus, "lockfiles", "real", "poetry.poetry.lock")}, empty, -1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app, out, _ := cmdutil.TestApp()
			err := runCheck(context.Background(), &CheckOptions{App: app, Format: "json", Args: tt.args, Dir: tt.dir, DBPath: db,
				UserPolicy: filepath.Join(empty, "none.yaml"), Now: cmdtest.DBTime})
			if tt.wantExit >= 0 && exitOf(err) != tt.wantExit {
				t.Errorf("exit %d (%v), want %d", exitOf(err), err, tt.wantExit)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("err = %v, want %q", err, tt.wantErr)
			}
			if tt.wantExit < 0 {
				// Real lockfiles: the verdict is whatever the data says, but it must be
				// a verdict (0, 3 or 5) with every package in the JSON.
				if c := exitOf(err); c != 0 && c != 3 && c != 5 {
					t.Fatalf("exit %d: %v", c, err)
				}
				var doc struct {
					Verdict  string
					Packages []json.RawMessage
				}
				if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
					t.Fatal(err)
				}
				if len(doc.Packages) == 0 {
					t.Error("no packages in the report")
				}
				t.Logf("%s: %s, %d packages", tt.name, doc.Verdict, len(doc.Packages))
			}
		})
	}
}

func TestCheckCorruptDatabase(t *testing.T) {
	dir := t.TempDir()
	cmdtest.PackageLock(t, dir, map[string]string{"left-pad": "1.3.0"})
	bad := filepath.Join(dir, "osv.db")
	if err := os.WriteFile(bad, bytes.Repeat([]byte("garbage!"), 1024), 0o644); err != nil {
		t.Fatal(err)
	}
	app, out, _ := cmdutil.TestApp()
	err := runCheck(context.Background(), &CheckOptions{App: app, Format: "text", Dir: dir, DBPath: bad,
		UserPolicy: filepath.Join(dir, "none.yaml"), Now: time.Now()})
	if exitOf(err) != exitcode.Incomplete || !strings.Contains(out.String(), "the OSV database cannot be used") {
		t.Errorf("exit %d (%v)\n%s", exitOf(err), err, out)
	}
}

// The command is wired into the dispatcher with its flags.
func TestCheckDispatch(t *testing.T) {
	db := cmdtest.CorpusDB(t)
	dir := t.TempDir()
	lock := cmdtest.PackageLock(t, dir, map[string]string{"chalk": "5.6.1"})
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "cfg"))
	t.Setenv("PHYLUM_BOX_DB", db)
	app, out, errb := cmdutil.TestApp()
	if code := cmdtest.Main(context.Background(), app, []string{"check", "--format", "json", lock}, newCheck); code != exitcode.Blocked {
		t.Errorf("exit %d, stderr %s", code, errb)
	}
	if !strings.Contains(out.String(), `"verdict": "blocked"`) || !strings.Contains(errb.String(), "precheck blocked 1 of 1 packages") {
		t.Errorf("stdout %s\nstderr %s", out, errb)
	}
	app, _, errb = cmdutil.TestApp()
	if code := cmdtest.Main(context.Background(), app, []string{"check", "--format", "yaml", lock}, newCheck); code != exitcode.Usage ||
		!strings.Contains(errb.String(), "supported: text, json, sarif") {
		t.Errorf("exit %d, stderr %s", code, errb)
	}
	// Global flags are accepted before the command too; --format, given anywhere,
	// is check's own.
	app, out, errb = cmdutil.TestApp()
	if code := cmdtest.Main(context.Background(), app, []string{"--format", "json", "--no-color", "check", lock}, newCheck); code != exitcode.Blocked ||
		!strings.Contains(out.String(), `"verdict": "blocked"`) || !app.NoColor {
		t.Errorf("global flags before check: exit %d, NoColor %v\nstdout %s\nstderr %s", code, app.NoColor, out, errb)
	}
	app, _, errb = cmdutil.TestApp()
	if code := cmdtest.Main(context.Background(), app, []string{"--format", "xml", "check", lock}, newCheck); code != exitcode.Usage ||
		!strings.Contains(errb.String(), "supported: text, json, sarif") {
		t.Errorf("--format xml: exit %d, stderr %s", code, errb)
	}
}

// BenchmarkCheckVite is `phylum-box check --format json` of vite's pnpm-lock.yaml
// (1,405 packages) against the corpus database, in process (warm): parse, policy,
// database lookups, engine and report.
func BenchmarkCheckVite(b *testing.B) {
	lock := filepath.Join(cmdtest.CorpusDir(b), "lockfiles", "real", "vite.pnpm-lock.yaml")
	dir := b.TempDir()
	db := filepath.Join(dir, "osv.db")
	if err := osvdb.Import(context.Background(), db, []string{filepath.Join(cmdtest.CorpusDir(b), "osv")}, nil); err != nil {
		b.Fatal(err)
	}
	o := &CheckOptions{Format: "json", Args: []string{lock}, Dir: dir, DBPath: db, UserPolicy: filepath.Join(dir, "none.yaml")}
	b.ReportAllocs()
	for b.Loop() {
		app := &cmdutil.App{Stdout: io.Discard, Stderr: io.Discard, Log: cmdutil.NewLogger(io.Discard)}
		o.App = app
		if err := runCheck(context.Background(), o); exitOf(err) != exitcode.OK {
			b.Fatal(err)
		}
	}
}

// The project policy comes from the first argument's directory, not the working
// directory; and an --output that cannot be written is a usage error.
func TestCheckProjectDirAndOutput(t *testing.T) {
	db := cmdtest.CorpusDB(t)
	cwd := t.TempDir()
	proj := filepath.Join(cwd, "proj")
	if err := os.MkdirAll(proj, 0o755); err != nil {
		t.Fatal(err)
	}
	cmdtest.PackageLock(t, proj, map[string]string{"semver": "7.5.1"})
	// Medium blocks only if proj/.phylum-box.yaml is read; the one in cwd must not be.
	if err := os.WriteFile(filepath.Join(proj, ".phylum-box.yaml"), []byte("block: {vulnerability: medium}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cwd, ".phylum-box.yaml"), []byte("block: {vulnerability: none}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, arg := range []string{"proj", "proj/package-lock.json"} {
		app, out, _ := cmdutil.TestApp()
		err := runCheck(context.Background(), &CheckOptions{App: app, Format: "text", Args: []string{arg}, Dir: cwd, DBPath: db,
			UserPolicy: filepath.Join(cwd, "none.yaml"), Now: cmdtest.DBTime})
		if exitOf(err) != exitcode.Blocked || !strings.Contains(out.String(), "semver@7.5.1 (npm) BLOCKED  package-lock.json:") {
			t.Errorf("check %s: exit %d (%v)\n%s", arg, exitOf(err), err, out)
		}
	}
	app, _, _ := cmdutil.TestApp()
	err := runCheck(context.Background(), &CheckOptions{App: app, Format: "json", Args: []string{"proj"}, Dir: cwd, DBPath: db,
		Output: filepath.Join(cwd, "no", "such", "dir", "out.json"), UserPolicy: filepath.Join(cwd, "none.yaml"), Now: cmdtest.DBTime})
	if exitOf(err) != exitcode.Usage || !strings.Contains(err.Error(), "--output") {
		t.Errorf("unwritable --output: exit %d (%v)", exitOf(err), err)
	}
}

func newCheck(f *cmdutil.Factory) *cobra.Command { return NewCmdCheck(f, nil) }

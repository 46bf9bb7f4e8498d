package root

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/check"
	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/cmdutil"
	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/completion"
	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/db"
	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/doctor"
	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/manager"
	"github.com/phylum-box/phylum-box/internal/exitcode"
	"github.com/phylum-box/phylum-box/managers"
)

// Flag parsing, apart from running: each case gives argv to a command tree whose
// command under test is built with a runF that keeps the options it receives.

// parseOptions runs argv through Main's parsing with the command at path (e.g.
// "db import") replaced by replacement, and returns the App and the exit code.
func parseOptions(t *testing.T, argv []string, path string, replacement func(f *cmdutil.Factory) *cobra.Command) (*cmdutil.App, int, string) {
	t.Helper()
	app, _, errb := cmdutil.TestApp()
	f := &cmdutil.Factory{App: app}
	root := NewCmdRoot(f)
	words := strings.Fields(path)
	parent := root
	for _, w := range words[:len(words)-1] {
		for _, c := range parent.Commands() {
			if c.Name() == w {
				parent = c
			}
		}
	}
	for _, c := range parent.Commands() {
		if c.Name() == words[len(words)-1] {
			parent.RemoveCommand(c)
		}
	}
	parent.AddCommand(replacement(f))
	code := exitcode.OK
	if err := cmdutil.Execute(context.Background(), root, argv); err != nil {
		code = exitcode.Internal
		if ee, ok := err.(*exitcode.Error); ok {
			code = ee.Code
		}
		errb.WriteString(err.Error())
	}
	return app, code, errb.String()
}

// writeConfig writes a config file naming db as the database and policy as the
// policy file.
func writeConfig(t *testing.T, db, policy string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	body := "database: {path: " + db + "}\npolicy: " + policy + "\nlimits: {memory: 1GiB}\n"
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheckFlags(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("PHYLUM_BOX_DB", "")
	t.Setenv("PHYLUM_BOX_POLICY", "")
	cfg := writeConfig(t, "/cfg/osv.db", "/cfg/policy.yaml")
	tests := []struct {
		argv               []string
		db, policy, format string
		output             string
		args               []string
		verbose            bool
	}{
		// The bug: --config after the command was ignored.
		{argv: []string{"check", "--config", cfg, "lock.json"}, db: "/cfg/osv.db", policy: "/cfg/policy.yaml", format: "text", args: []string{"lock.json"}},
		{argv: []string{"--config", cfg, "check", "lock.json"}, db: "/cfg/osv.db", policy: "/cfg/policy.yaml", format: "text", args: []string{"lock.json"}},
		// A flag beats the config file, wherever either is written.
		{argv: []string{"--db", "/flag.db", "check", "--config", cfg}, db: "/flag.db", policy: "/cfg/policy.yaml", format: "text"},
		{argv: []string{"check", "--db=/flag.db", "--policy", "/p.yaml", "--config", cfg, "-v"}, db: "/flag.db", policy: "/p.yaml", format: "text", verbose: true},
		{argv: []string{"-v", "--format", "json", "check", "-o", "out.json", "a", "b"}, format: "json", output: "out.json", args: []string{"a", "b"}, verbose: true},
		{argv: []string{"check", "a", "--format", "sarif"}, format: "sarif", args: []string{"a"}},
	}
	for _, tt := range tests {
		var got *check.CheckOptions
		app, code, errb := parseOptions(t, tt.argv, "check", func(f *cmdutil.Factory) *cobra.Command {
			return check.NewCmdCheck(f, func(o *check.CheckOptions) error { got = o; return nil })
		})
		if code != 0 || got == nil {
			t.Errorf("%q: exit %d\n%s", tt.argv, code, errb)
			continue
		}
		if tt.db == "" {
			tt.db = got.DBPath // the default path, not under test here
		}
		if got.DBPath != tt.db || got.PolicyFile != tt.policy || got.Format != tt.format || got.Output != tt.output ||
			!slices.Equal(got.Args, tt.args) || app.Verbose != tt.verbose {
			t.Errorf("%q: db %q policy %q format %q output %q args %q verbose %v; want %q %q %q %q %q %v", tt.argv,
				got.DBPath, got.PolicyFile, got.Format, got.Output, got.Args, app.Verbose,
				tt.db, tt.policy, tt.format, tt.output, tt.args, tt.verbose)
		}
	}
	// A missing --config file is a usage error, before or after the command.
	for _, argv := range [][]string{{"check", "--config", "/nonexistent.yaml"}, {"--config", "/nonexistent.yaml", "check"}} {
		_, code, errb := parseOptions(t, argv, "check", func(f *cmdutil.Factory) *cobra.Command {
			return check.NewCmdCheck(f, func(*check.CheckOptions) error { return nil })
		})
		if code != exitcode.Usage || !strings.Contains(errb, "/nonexistent.yaml does not exist") {
			t.Errorf("%q: exit %d\n%s", argv, code, errb)
		}
	}
}

func TestDBFlags(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("PHYLUM_BOX_DB", "")
	t.Setenv("PHYLUM_BOX_DB_SOURCE", "")
	for _, argv := range [][]string{
		{"--db", "/x.db", "db", "import", "a.zip", "b"},
		{"db", "import", "--db", "/x.db", "a.zip", "b"},
		{"db", "--db", "/x.db", "import", "a.zip", "b"},
		{"db", "import", "a.zip", "b", "--db=/x.db", "-q"},
	} {
		var got *db.DBImportOptions
		_, code, errb := parseOptions(t, argv, "db import", func(f *cmdutil.Factory) *cobra.Command {
			return db.NewCmdDBImport(f, func(o *db.DBImportOptions) error { got = o; return nil })
		})
		if code != 0 || got == nil || got.DBPath != "/x.db" || !slices.Equal(got.Paths, []string{"a.zip", "b"}) {
			t.Errorf("%q: exit %d, options %+v\n%s", argv, code, got, errb)
		}
	}
	cfg := writeConfig(t, "/cfg/osv.db", "")
	for _, argv := range [][]string{
		{"db", "update", "--config", cfg, "--ecosystem", "npm,PyPI", "--db-source", "/mirror"},
		{"--config", cfg, "db", "update", "--ecosystem=npm", "--ecosystem", "PyPI", "--source", "/mirror"},
	} {
		var got *db.DBUpdateOptions
		_, code, errb := parseOptions(t, argv, "db update", func(f *cmdutil.Factory) *cobra.Command {
			return db.NewCmdDBUpdate(f, func(o *db.DBUpdateOptions) error { got = o; return nil })
		})
		if code != 0 || got == nil || got.DBPath != "/cfg/osv.db" || got.Source != "/mirror" || !slices.Equal(got.Ecosystems, []string{"npm", "PyPI"}) {
			t.Errorf("%q: exit %d, options %+v\n%s", argv, code, got, errb)
		}
	}
	for _, argv := range [][]string{{"--format", "json", "db", "status"}, {"db", "status", "--format", "json"}} {
		var got *db.DBStatusOptions
		_, code, errb := parseOptions(t, argv, "db status", func(f *cmdutil.Factory) *cobra.Command {
			return db.NewCmdDBStatus(f, func(o *db.DBStatusOptions) error { got = o; return nil })
		})
		if code != 0 || got == nil || got.Format != "json" {
			t.Errorf("%q: exit %d, options %+v\n%s", argv, code, got, errb)
		}
	}
}

func TestDoctorFlags(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("PHYLUM_BOX_DB", "")
	t.Setenv("PHYLUM_BOX_MEMORY", "")
	cfg := writeConfig(t, "/cfg/osv.db", "")
	for _, argv := range [][]string{
		{"doctor", "--config", cfg, "--format", "json", "--pids", "9"},
		{"--format", "json", "--config", cfg, "doctor", "--pids=9"},
	} {
		var got *doctor.DoctorOptions
		_, code, errb := parseOptions(t, argv, "doctor", func(f *cmdutil.Factory) *cobra.Command {
			return doctor.NewCmdDoctor(f, func(o *doctor.DoctorOptions) error { got = o; return nil })
		})
		if code != 0 || got == nil || got.Format != "json" || got.Config.Database.Path != "/cfg/osv.db" ||
			got.Config.Limits.Memory != 1<<30 || got.Config.Limits.Pids != 9 || got.Config.Origin("limits.pids") != "flag --pids" {
			t.Errorf("%q: exit %d, options %+v\n%s", argv, code, got, errb)
		}
	}
}

func TestSetupCompletionFlags(t *testing.T) {
	var setup *doctor.SetupOptions
	if _, code, errb := parseOptions(t, []string{"-q", "setup", "--dry-run", "--user", "alice"}, "setup", func(f *cmdutil.Factory) *cobra.Command {
		return doctor.NewCmdSetup(f, func(o *doctor.SetupOptions) error { setup = o; return nil })
	}); code != 0 || setup == nil || setup.User != "alice" || !setup.DryRun {
		t.Errorf("setup: exit %d, options %+v\n%s", code, setup, errb)
	}
	var comp *completion.CompletionOptions
	if _, code, errb := parseOptions(t, []string{"--no-color", "completion", "zsh"}, "completion", func(f *cmdutil.Factory) *cobra.Command {
		return completion.NewCmdCompletion(f, func(o *completion.CompletionOptions) error { comp = o; return nil })
	}); code != 0 || comp == nil || comp.Shell != "zsh" || comp.Root == nil {
		t.Errorf("completion: exit %d, options %+v\n%s", code, comp, errb)
	}
}

// A package manager's arguments are its own, flags included; phylum-box's global
// flags go before its name.
func TestManagerArgsPassThrough(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("PHYLUM_BOX_DB", "")
	for _, tt := range []struct {
		argv    []string
		args    []string
		verbose bool
		format  string
		report  string
		db      string
	}{
		{argv: []string{"npm", "install", "-v", "--format", "x", "--db", "y"}, args: []string{"install", "-v", "--format", "x", "--db", "y"}},
		{argv: []string{"-v", "--format", "json", "--report=r.json", "--db", "/d.db", "npm", "ci", "--help"}, args: []string{"ci", "--help"},
			verbose: true, format: "json", report: "r.json", db: "/d.db"},
		{argv: []string{"--report", "npm", "npm", "install", "npm"}, args: []string{"install", "npm"}, report: "npm"},
		{argv: []string{"npm"}, args: []string{}},
	} {
		var got *manager.ManagerOptions
		var db string
		app, code, errb := parseOptions(t, tt.argv, "npm", func(f *cmdutil.Factory) *cobra.Command {
			return manager.NewCmdManagers(f, func(o *manager.ManagerOptions) error {
				got = o
				cfg, err := f.Config()
				if err != nil {
					return err
				}
				db = cfg.Database.Path
				return nil
			})[slices.Index(managers.Names(), "npm")]
		})
		if code != 0 || got == nil || got.Name != "npm" || !slices.Equal(got.Args, tt.args) ||
			app.Verbose != tt.verbose || app.Format != tt.format || app.ReportFile != tt.report || (tt.db != "" && db != tt.db) {
			t.Errorf("%q: exit %d, options %+v, app verbose %v format %q report %q db %q\n%s", tt.argv, code, got,
				app.Verbose, app.Format, app.ReportFile, db, errb)
		}
	}
	// Flags of phylum-box's that it does not know are usage errors, as before.
	if _, code, _ := parseOptions(t, []string{"--bogus", "npm", "ci"}, "npm", func(f *cmdutil.Factory) *cobra.Command {
		return manager.NewCmdManagers(f, func(*manager.ManagerOptions) error { return nil })[slices.Index(managers.Names(), "npm")]
	}); code != exitcode.Usage {
		t.Errorf("--bogus npm ci: exit %d, want %d", code, exitcode.Usage)
	}
}

func TestRootUsage(t *testing.T) {
	for _, tt := range []struct {
		argv []string
		code int
		out  string
	}{
		{nil, exitcode.Usage, "Commands:"},
		{[]string{"--help"}, 0, "Global flags"},
		{[]string{"--version"}, 0, "phylum-box test"},
		{[]string{"frobnicate"}, exitcode.Usage, `unknown command "frobnicate"`},
		{[]string{"check", "--bogus"}, exitcode.Usage, "check: unknown flag: --bogus (see phylum-box check --help)"},
		{[]string{"--format", "xml", "npm", "ci"}, exitcode.Usage, `--format "xml": use text or json`},
		{[]string{"check", "--help"}, 0, "--output"},
		{[]string{"db", "import", "--help"}, 0, "Global flags"},
		{[]string{"npm", "--help"}, 0, ""}, // npm's own help (passes through), not tested here
	} {
		if tt.out == "" {
			continue
		}
		app, out, errb := cmdutil.TestApp()
		code := Main(context.Background(), app, "test", tt.argv)
		if code != tt.code || !strings.Contains(out.String()+errb.String(), tt.out) {
			t.Errorf("%q: exit %d (want %d)\nstdout %s\nstderr %s", tt.argv, code, tt.code, out, errb)
		}
	}
}

// Help shows the defaults the configuration gives, from the --config written
// anywhere on the command line.
func TestHelpShowsConfiguredDefaults(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("PHYLUM_BOX_MEMORY", "")
	cfg := writeConfig(t, "/cfg/osv.db", "")
	for _, argv := range [][]string{{"run", "--help", "--config", cfg}, {"--config", cfg, "run", "-h"}} {
		app, out, errb := cmdutil.TestApp()
		if code := Main(context.Background(), app, "test", argv); code != 0 ||
			!strings.Contains(out.String(), `--memory size`) || !strings.Contains(out.String(), `(default 1GiB)`) ||
			!strings.Contains(out.String(), `(default "/cfg/osv.db")`) {
			t.Errorf("%q: exit %d\n%s%s", argv, code, out, errb)
		}
	}
	app, out, _ := cmdutil.TestApp()
	if Main(context.Background(), app, "test", []string{"run", "--help"}); !strings.Contains(out.String(), `(default 4GiB)`) {
		t.Errorf("run --help without a config file: the built-in memory default is not shown\n%s", out)
	}
}

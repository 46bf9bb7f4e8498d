package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/phylum-box/phylum-box/internal/exitcode"
	"github.com/phylum-box/phylum-box/managers"
)

// Flag parsing, apart from running: each case gives argv to a command tree whose
// command under test is built with a runF that keeps the options it receives.

// parseOptions runs argv through Main's parsing with the command at path (e.g.
// "db import") replaced by replacement, and returns the App and the exit code.
func parseOptions(t *testing.T, argv []string, path string, replacement func(f *Factory) *cobra.Command) (*App, int, string) {
	t.Helper()
	app, _, errb := testApp()
	f := &Factory{App: app}
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
	if err := execute(context.Background(), root, argv); err != nil {
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
		var got *CheckOptions
		app, code, errb := parseOptions(t, tt.argv, "check", func(f *Factory) *cobra.Command {
			return NewCmdCheck(f, func(o *CheckOptions) error { got = o; return nil })
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
		_, code, errb := parseOptions(t, argv, "check", func(f *Factory) *cobra.Command {
			return NewCmdCheck(f, func(*CheckOptions) error { return nil })
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
		var got *DBImportOptions
		_, code, errb := parseOptions(t, argv, "db import", func(f *Factory) *cobra.Command {
			return NewCmdDBImport(f, func(o *DBImportOptions) error { got = o; return nil })
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
		var got *DBUpdateOptions
		_, code, errb := parseOptions(t, argv, "db update", func(f *Factory) *cobra.Command {
			return NewCmdDBUpdate(f, func(o *DBUpdateOptions) error { got = o; return nil })
		})
		if code != 0 || got == nil || got.DBPath != "/cfg/osv.db" || got.Source != "/mirror" || !slices.Equal(got.Ecosystems, []string{"npm", "PyPI"}) {
			t.Errorf("%q: exit %d, options %+v\n%s", argv, code, got, errb)
		}
	}
	for _, argv := range [][]string{{"--format", "json", "db", "status"}, {"db", "status", "--format", "json"}} {
		var got *DBStatusOptions
		_, code, errb := parseOptions(t, argv, "db status", func(f *Factory) *cobra.Command {
			return NewCmdDBStatus(f, func(o *DBStatusOptions) error { got = o; return nil })
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
		var got *DoctorOptions
		_, code, errb := parseOptions(t, argv, "doctor", func(f *Factory) *cobra.Command {
			return NewCmdDoctor(f, func(o *DoctorOptions) error { got = o; return nil })
		})
		if code != 0 || got == nil || got.Format != "json" || got.Config.Database.Path != "/cfg/osv.db" ||
			got.Config.Limits.Memory != 1<<30 || got.Config.Limits.Pids != 9 || got.Config.Origin("limits.pids") != "flag --pids" {
			t.Errorf("%q: exit %d, options %+v\n%s", argv, code, got, errb)
		}
	}
}

func TestRunFlags(t *testing.T) {
	for _, tt := range []struct {
		argv    []string
		args    []string
		project string
		network bool
		keep    []string
	}{
		// Flags end at CMD: its own flags are its own.
		{argv: []string{"run", "ls", "-la"}, args: []string{"ls", "-la"}},
		{argv: []string{"-v", "run", "--network", "--keep-env", "A", "--keep-env=B", "--", "sh", "-c", "x"}, args: []string{"sh", "-c", "x"}, network: true, keep: []string{"A", "B"}},
		{argv: []string{"run", "--project", "/p", "-v", "make", "-v"}, args: []string{"make", "-v"}, project: "/p"},
	} {
		var got *RunOptions
		_, code, errb := parseOptions(t, tt.argv, "run", func(f *Factory) *cobra.Command {
			return NewCmdRun(f, func(o *RunOptions) error { got = o; return nil })
		})
		if code != 0 || got == nil || !slices.Equal(got.Args, tt.args) || got.project != tt.project || got.network != tt.network || !slices.Equal(got.keepEnv, tt.keep) {
			t.Errorf("%q: exit %d, options %+v\n%s", tt.argv, code, got, errb)
		}
	}
}

func TestSetupShellInitCompletionFlags(t *testing.T) {
	var setup *SetupOptions
	if _, code, errb := parseOptions(t, []string{"-q", "setup", "--dry-run", "--user", "alice"}, "setup", func(f *Factory) *cobra.Command {
		return NewCmdSetup(f, func(o *SetupOptions) error { setup = o; return nil })
	}); code != 0 || setup == nil || setup.User != "alice" || !setup.DryRun {
		t.Errorf("setup: exit %d, options %+v\n%s", code, setup, errb)
	}
	var si *ShellInitOptions
	if _, code, errb := parseOptions(t, []string{"shell-init", "fish", "--all"}, "shell-init", func(f *Factory) *cobra.Command {
		return NewCmdShellInit(f, func(o *ShellInitOptions) error { si = o; return nil })
	}); code != 0 || si == nil || si.Shell != "fish" || !si.all || si.exe == "" {
		t.Errorf("shell-init: exit %d, options %+v\n%s", code, si, errb)
	}
	var comp *CompletionOptions
	if _, code, errb := parseOptions(t, []string{"--no-color", "completion", "zsh"}, "completion", func(f *Factory) *cobra.Command {
		return NewCmdCompletion(f, func(o *CompletionOptions) error { comp = o; return nil })
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
		var got *ManagerOptions
		var db string
		app, code, errb := parseOptions(t, tt.argv, "npm", func(f *Factory) *cobra.Command {
			return newManagerCmds(f, func(o *ManagerOptions) error {
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
	if _, code, _ := parseOptions(t, []string{"--bogus", "npm", "ci"}, "npm", func(f *Factory) *cobra.Command {
		return newManagerCmds(f, func(*ManagerOptions) error { return nil })[slices.Index(managers.Names(), "npm")]
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
		{[]string{"--version"}, 0, "phylum-box " + version},
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
		app, out, errb := testApp()
		code := Main(context.Background(), app, tt.argv)
		if code != tt.code || !strings.Contains(out.String()+errb.String(), tt.out) {
			t.Errorf("%q: exit %d (want %d)\nstdout %s\nstderr %s", tt.argv, code, tt.code, out, errb)
		}
	}
}

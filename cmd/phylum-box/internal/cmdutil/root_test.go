package cmdutil

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/phylum-box/phylum-box/internal/exitcode"
)

// testTree is a root with a raw command "pm" (a package manager) and a command
// "cmd" with a --memory config flag; it records what each received.
func testTree(app *App) (*cobra.Command, *Factory, *[]string, *[]string) {
	f := &Factory{App: app, Version: "1.2.3"}
	root := NewRoot(f)
	var rawArgs, cmdArgs []string
	root.AddCommand(&cobra.Command{Use: "pm ARGS...", DisableFlagParsing: true,
		Annotations: map[string]string{RawAnnotation: "manager"},
		RunE:        func(_ *cobra.Command, args []string) error { rawArgs = append([]string{}, args...); return nil }})
	c := &cobra.Command{Use: "cmd", RunE: func(_ *cobra.Command, args []string) error {
		cmdArgs = append([]string{}, args...)
		_, err := f.Config()
		return err
	}}
	AddConfigFlags(c.Flags(), LimitKeys...)
	root.AddCommand(c)
	return root, f, &rawArgs, &cmdArgs
}

func TestRawCommandAt(t *testing.T) {
	app, _, _ := TestApp()
	root, _, _, _ := testTree(app)
	for _, tt := range []struct {
		args []string
		at   int // -1: not a raw command
	}{
		{[]string{"pm", "install"}, 0},
		{[]string{"-v", "pm"}, 1},
		{[]string{"-qv", "pm"}, 1},
		{[]string{"--config", "pm", "pm", "ci"}, 2}, // the flag's value is not the command
		{[]string{"--config=pm", "pm"}, 1},
		{[]string{"--report", "r.json", "--db", "x", "pm"}, 4},
		{[]string{"--ci", "pm"}, 1},
		{[]string{"cmd", "pm"}, -1},
		{[]string{"--", "pm"}, -1},
		{[]string{"unknown", "pm"}, -1},
		{nil, -1},
	} {
		i, c := RawCommandAt(root, tt.args)
		if (c == nil) != (tt.at < 0) || (c != nil && i != tt.at) {
			t.Errorf("RawCommandAt(%q) = %d, %v; want %d", tt.args, i, c != nil, tt.at)
		}
	}
}

func TestExecute(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("PHYLUM_BOX_MEMORY", "")
	t.Setenv("PHYLUM_BOX_PIDS", "")
	cfgFile := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfgFile, []byte("limits: {memory: 1GiB, pids: 7}\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	// A raw command gets exactly what follows its name; the globals before it apply.
	app, _, _ := TestApp()
	root, _, raw, _ := testTree(app)
	if err := Execute(context.Background(), root, []string{"-v", "--format", "json", "pm", "-v", "--format", "x", "--help"}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(*raw, []string{"-v", "--format", "x", "--help"}) || !app.Verbose || app.Format != "json" {
		t.Errorf("raw args %q, verbose %v, format %q", *raw, app.Verbose, app.Format)
	}

	// Config flags apply over the config file, given before or after the command.
	for _, argv := range [][]string{
		{"cmd", "--memory", "512MiB", "--config", cfgFile, "a"},
		{"--config", cfgFile, "cmd", "a", "--memory=512MiB"},
	} {
		app, _, _ := TestApp()
		root, f, _, args := testTree(app)
		if err := Execute(context.Background(), root, argv); err != nil {
			t.Fatalf("%q: %v", argv, err)
		}
		cfg, _ := f.Config()
		if !slices.Equal(*args, []string{"a"}) || cfg.Limits.Memory != 512<<20 || cfg.Limits.Pids != 7 ||
			cfg.Origin("limits.memory") != "flag --memory" || cfg.File != cfgFile {
			t.Errorf("%q: args %q, memory %d (%s), pids %d, file %q", argv, *args, cfg.Limits.Memory,
				cfg.Origin("limits.memory"), cfg.Limits.Pids, cfg.File)
		}
	}

	// Errors and their exit codes.
	for _, tt := range []struct {
		argv []string
		code int
		want string
	}{
		{[]string{"cmd", "--memory", "lots"}, exitcode.Usage, `cmd: invalid argument "lots" for "--memory" flag`},
		{[]string{"cmd", "--nope"}, exitcode.Usage, "cmd: unknown flag: --nope (see phylum-box cmd --help)"},
		{[]string{"--nope", "pm"}, exitcode.Usage, "unknown flag: --nope (see phylum-box --help)"},
		{[]string{"--config", "/nonexistent.yaml", "cmd"}, exitcode.Usage, "/nonexistent.yaml does not exist"},
		{[]string{"nothing"}, exitcode.Usage, `unknown command "nothing"`},
		{[]string{}, exitcode.Usage, ""},
		{[]string{"--version"}, exitcode.OK, ""},
	} {
		app, out, errb := TestApp()
		root, _, _, _ := testTree(app)
		code := Main(context.Background(), app, root, tt.argv)
		if code != tt.code || !strings.Contains(errb.String(), tt.want) {
			t.Errorf("%q: exit %d (want %d)\nstdout %s\nstderr %s", tt.argv, code, tt.code, out, errb)
		}
		if slices.Equal(tt.argv, []string{"--version"}) && out.String() != "phylum-box 1.2.3\n" {
			t.Errorf("--version printed %q", out)
		}
	}
}

// A subcommand's usage line names its parents: `phylum-box db import --help`
// printed "phylum-box import [--db PATH] PATH...", a command that does not exist.
func TestCommandUsageNamesParents(t *testing.T) {
	app, _, _ := TestApp()
	root, _, _, _ := testTree(app)
	grp := &cobra.Command{Use: "grp", Short: "a group"}
	grp.AddCommand(&cobra.Command{Use: "sub [--db PATH] PATH...", Short: "a sub", RunE: func(*cobra.Command, []string) error { return nil }})
	root.AddCommand(grp)
	for _, tt := range []struct {
		argv []string
		want string
	}{
		{[]string{"grp", "sub", "--help"}, "Usage:\n  phylum-box grp sub [--db PATH] PATH...\n"},
		{[]string{"cmd", "--help"}, "Usage:\n  phylum-box cmd\n"},
	} {
		var out strings.Builder
		root.SetOut(&out)
		if err := Execute(context.Background(), root, tt.argv); err != nil {
			t.Fatalf("%q: %v", tt.argv, err)
		}
		if !strings.HasPrefix(out.String(), tt.want) {
			t.Errorf("%q printed %q, want it to start %q", tt.argv, out.String(), tt.want)
		}
	}
}

func TestDebugRunc(t *testing.T) {
	for v, want := range map[string]bool{"": false, "runc": true, "sync, runc": true, "RUNC": true, "libcontainer": true, "sync": false} {
		if got := DebugRunc(v); got != want {
			t.Errorf("DebugRunc(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestDebugTimes(t *testing.T) {
	for v, want := range map[string]bool{"": false, "times": true, "runc,times": true, "all": true, "runc": false, "timesx": false} {
		if got := DebugTimes(v); got != want {
			t.Errorf("DebugTimes(%q) = %v, want %v", v, got, want)
		}
	}
	l := NewLogger(io.Discard)
	var b bytes.Buffer
	l.Out = &b
	l.Formatter = prefixFormatter{start: time.Now().Add(-1500 * time.Millisecond)}
	l.Info("resolving")
	if got := b.String(); !regexp.MustCompile(`^\[phylum-box 1\.5\d\ds\] resolving\n$`).MatchString(got) {
		t.Errorf("with times: %q", got)
	}
}

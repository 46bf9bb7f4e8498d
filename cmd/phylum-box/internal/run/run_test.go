package run

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/cmdtest"
	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/cmdutil"
	"github.com/phylum-box/phylum-box/container"
	"github.com/phylum-box/phylum-box/internal/config"
	"github.com/phylum-box/phylum-box/internal/doctor"
	"github.com/phylum-box/phylum-box/internal/exitcode"
)

func TestContainerCwd(t *testing.T) {
	for _, tc := range []struct{ project, cwd, want string }{
		{"/p", "/p", "/p"},
		{"/p", "/p/src/x", "/p/src/x"},
		{"/p", "/elsewhere", "/p"},
		{"/p", "/pp", "/p"}, // a sibling sharing the prefix is outside
	} {
		if got := containerCwd(tc.project, tc.cwd); got != tc.want {
			t.Errorf("containerCwd(%q, %q) = %q, want %q", tc.project, tc.cwd, got, tc.want)
		}
	}
}

// TestRunTakesConfiguredLimits: run's limits are the configuration's (file,
// environment), overridden by its flags; --disk is one of them. --config counts
// before or after the command name.
func TestRunTakesConfiguredLimits(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgFile, []byte("limits: {memory: 1GiB, pids: 77, disk: 2GiB, timeout: 5m}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PHYLUM_BOX_CPUS", "0.5")
	want := container.Limits{Memory: 512 << 20, Pids: 77, CPUs: 0.5, Timeout: 5 * time.Minute, Disk: 64 << 20}
	for _, argv := range [][]string{
		{"run", "--config", cfgFile, "--disk", "64M", "--memory=512MiB", "--", "true"},
		{"--config", cfgFile, "run", "--disk", "64M", "--memory=512MiB", "--", "true"},
	} {
		got := parseRun(t, argv...)
		if got.limits != want {
			t.Errorf("%q: limits = %+v, want %+v", argv, got.limits, want)
		}
		if want := map[string]bool{"disk": true, "memory": true, "pids": false, "cpu": false}; fmt.Sprint(got.explicit) != fmt.Sprint(want) {
			t.Errorf("%q: explicit = %v, want %v", argv, got.explicit, want)
		}
	}
	app, _, errb := cmdutil.TestApp()
	if code := cmdtest.Main(context.Background(), app, []string{"run", "--disk", "lots", "--", "true"}, newRun); code != exitcode.Usage ||
		!strings.Contains(errb.String(), "invalid size") {
		t.Errorf("--disk lots: exit %d\n%s", code, errb)
	}
}

// parseRun parses argv as Main does and returns the options run would get.
func parseRun(t *testing.T, argv ...string) *RunOptions {
	t.Helper()
	app, _, errb := cmdutil.TestApp()
	var got *RunOptions
	code := cmdtest.Main(context.Background(), app, argv, func(f *cmdutil.Factory) *cobra.Command {
		return NewCmdRun(f, func(o *RunOptions) error { got = o; return nil })
	})
	if code != 0 || got == nil {
		t.Fatalf("%q: exit %d\n%s", argv, code, errb)
	}
	return got
}

// runIn runs `phylum-box run` in-process against project with the given
// command, returning the exit code and everything logged.
func runIn(t *testing.T, project string, o RunOptions, args ...string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	app := &cmdutil.App{Stdout: &out, Stderr: &out, Log: cmdutil.NewLogger(&out)}
	home := o.home
	if err := o.fillFromProcess(); err != nil {
		t.Fatal(err)
	}
	o.project = project
	o.home = home
	if o.home == "" {
		o.home = filepath.Join(t.TempDir(), "home")
	}
	if o.limits == (container.Limits{}) {
		o.limits = cmdutil.ConfigLimits(config.Defaults(os.Getenv))
	}
	if o.scratch == "" {
		o.scratch = "auto"
	}
	o.explicit = map[string]bool{}
	o.App, o.Args = app, args
	err := runRun(context.Background(), &o)
	code := 0
	if err != nil {
		code = exitcode.Internal
		if ee, ok := err.(*exitcode.Error); ok {
			code = ee.Code
		}
		out.WriteString("error: " + err.Error())
	}
	return code, out.String()
}

func sandboxAvailable(t *testing.T) {
	t.Helper()
	c := doctor.Probe()
	if !c.UserNamespaces {
		t.Skipf("user namespaces unavailable: %s", c.UserNSProblem)
	}
}

func TestRunSyncsOnSuccessOnly(t *testing.T) {
	sandboxAvailable(t)
	project := t.TempDir()
	if err := os.WriteFile(filepath.Join(project, "a.txt"), []byte("a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Run("success syncs the change", func(t *testing.T) {
		code, log := runIn(t, project, RunOptions{}, "/bin/sh", "-c", "echo b > b.txt && cat a.txt")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, log)
		}
		if b, err := os.ReadFile(filepath.Join(project, "b.txt")); err != nil || string(b) != "b\n" {
			t.Fatalf("b.txt not synced: %q %v\n%s", b, err, log)
		}
	})
	t.Run("failure syncs nothing and passes the exit code", func(t *testing.T) {
		code, log := runIn(t, project, RunOptions{}, "/bin/sh", "-c", "echo c > c.txt; rm a.txt; exit 7")
		if code != 7 {
			t.Fatalf("exit %d, want 7: %s", code, log)
		}
		if _, err := os.Stat(filepath.Join(project, "c.txt")); err == nil {
			t.Fatal("c.txt synced after a failure")
		}
		if _, err := os.Stat(filepath.Join(project, "a.txt")); err != nil {
			t.Fatal("a.txt deleted after a failure")
		}
	})
	t.Run("timeout stops with 4 and syncs nothing", func(t *testing.T) {
		code, log := runIn(t, project, RunOptions{limits: container.Limits{Timeout: 300 * time.Millisecond}}, "/bin/sh", "-c", "echo d > d.txt; sleep 30")
		if code != exitcode.Sandbox || !strings.Contains(log, "stopped: timeout") {
			t.Fatalf("exit %d, want 4 with a timeout message: %s", code, log)
		}
		if _, err := os.Stat(filepath.Join(project, "d.txt")); err == nil {
			t.Fatal("d.txt synced after a timeout")
		}
	})
	t.Run("a symlink out of the project is refused with 4", func(t *testing.T) {
		code, log := runIn(t, project, RunOptions{}, "/bin/sh", "-c", "ln -s /etc/passwd leak")
		if code != exitcode.Sandbox {
			t.Fatalf("exit %d, want 4: %s", code, log)
		}
		if _, err := os.Lstat(filepath.Join(project, "leak")); err == nil {
			t.Fatal("symlink synced")
		}
	})
	t.Run("--only refuses other paths with 4", func(t *testing.T) {
		code, log := runIn(t, project, RunOptions{only: []string{"out"}}, "/bin/sh", "-c", "mkdir out && echo o > out/o && echo x > x.txt")
		if code != exitcode.Sandbox || !strings.Contains(log, "x.txt") {
			t.Fatalf("exit %d, want 4 naming x.txt: %s", code, log)
		}
		if _, err := os.Stat(filepath.Join(project, "out", "o")); err != nil {
			t.Fatalf("allowed path not synced: %s", log)
		}
	})
	t.Run("over the disk limit stops with 4 and syncs nothing", func(t *testing.T) {
		code, log := runIn(t, project, RunOptions{limits: container.Limits{Disk: 16 << 20, Timeout: time.Minute}},
			"/bin/sh", "-c", "for i in $(seq 40); do head -c 1M /dev/urandom > big$i; done")
		if code != exitcode.Sandbox || !strings.Contains(log, "stopped: disk limit 16MiB hit") || !strings.Contains(log, "--disk") {
			t.Fatalf("exit %d, want 4 with a disk message: %s", code, log)
		}
		if _, err := os.Stat(filepath.Join(project, "big1")); err == nil {
			t.Fatal("big1 synced after the disk limit")
		}
	})
	t.Run("under the disk limit is synced", func(t *testing.T) {
		code, log := runIn(t, project, RunOptions{limits: container.Limits{Disk: 16 << 20, Timeout: time.Minute}},
			"/bin/sh", "-c", "head -c 4M /dev/urandom > four")
		if fi, err := os.Stat(filepath.Join(project, "four")); code != 0 || err != nil || fi.Size() != 4<<20 {
			t.Fatalf("exit %d, four: %v: %s", code, err, log)
		}
	})
	t.Run("command not found is 127", func(t *testing.T) {
		code, log := runIn(t, project, RunOptions{}, "no-such-command-pb")
		if code != 127 {
			t.Fatalf("exit %d, want 127: %s", code, log)
		}
	})
}

// TestRunRefusesHome: the project may not be $HOME or contain it, also when $HOME
// is reached through a symlink (the session's check).
func TestRunRefusesHome(t *testing.T) {
	sandboxAvailable(t)
	base := t.TempDir()
	home := filepath.Join(base, "real", "u")
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "homelink")
	if err := os.Symlink(home, link); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, project, home string }{
		{"home", home, home},
		{"home through a symlink", home, link},
		{"a parent of home through a symlink", filepath.Dir(home), link},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, log := runIn(t, tc.project, RunOptions{home: tc.home}, "/bin/true")
			if code != exitcode.Usage || !strings.Contains(log, "contains your home directory") || !strings.Contains(log, "--project") {
				t.Fatalf("exit %d, want 2 refusing the home: %s", code, log)
			}
		})
	}
	// The twin: a project inside the symlinked home is fine.
	proj := filepath.Join(home, "proj")
	if err := os.Mkdir(proj, 0o755); err != nil {
		t.Fatal(err)
	}
	if code, log := runIn(t, proj, RunOptions{home: link}, "/bin/sh", "-c", "echo ok > ok.txt"); code != 0 {
		t.Fatalf("a project inside the home: exit %d: %s", code, log)
	}
	if _, err := os.Stat(filepath.Join(proj, "ok.txt")); err != nil {
		t.Fatal(err)
	}
}

func newRun(f *cmdutil.Factory) *cobra.Command { return NewCmdRun(f, nil) }

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
		app, _, errb := cmdutil.TestApp()
		code := cmdtest.Main(context.Background(), app, tt.argv, func(f *cmdutil.Factory) *cobra.Command {
			return NewCmdRun(f, func(o *RunOptions) error { got = o; return nil })
		})
		if code != 0 || got == nil || !slices.Equal(got.Args, tt.args) || got.project != tt.project || got.network != tt.network || !slices.Equal(got.keepEnv, tt.keep) {
			t.Errorf("%q: exit %d, options %+v\n%s", tt.argv, code, got, errb)
		}
	}
}

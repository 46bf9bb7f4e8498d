package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/phylum-box/phylum-box/container"
	"github.com/phylum-box/phylum-box/internal/exitcode"
)

func TestScrubEnv(t *testing.T) {
	environ := []string{
		"PATH=/usr/bin:/bin", "HOME=/home/alice", "USER=alice", "LANG=C.UTF-8", "LC_ALL=C",
		"TERM=xterm", "AWS_SECRET_ACCESS_KEY=s3cr3t", "NPM_TOKEN=tok", "GITHUB_TOKEN=gh",
		"SSH_AUTH_SOCK=/run/agent", "TMPDIR=/var/folders/x", "CI=true",
	}
	for _, tc := range []struct {
		name string
		keep []string
		want []string
	}{
		{"allowlist only", nil, []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8", "LC_ALL=C", "TERM=xterm",
			"HOME=/home/alice", "USER=alice", "LOGNAME=alice", "TMPDIR=/tmp"}},
		{"keep-env passes named vars", []string{"CI", "NPM_TOKEN", "UNSET_VAR"}, []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8",
			"LC_ALL=C", "TERM=xterm", "NPM_TOKEN=tok", "CI=true", "HOME=/home/alice", "USER=alice", "LOGNAME=alice", "TMPDIR=/tmp"}},
		{"keep-env cannot override HOME or TMPDIR", []string{"HOME", "TMPDIR"}, []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8",
			"LC_ALL=C", "TERM=xterm", "HOME=/home/alice", "USER=alice", "LOGNAME=alice", "TMPDIR=/tmp"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := scrubEnv(environ, tc.keep, "/home/alice", "alice")
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

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

func TestRunLimitsFlags(t *testing.T) {
	for _, tc := range []struct {
		memory  string
		want    int64
		wantErr bool
	}{
		{"2GiB", 2 << 30, false},
		{"512MiB", 512 << 20, false},
		{"1g", 1 << 30, false},
		{"0", 0, false},
		{"lots", 0, true},
		{"-1GiB", 0, true},
	} {
		o := &runOptions{memory: tc.memory}
		l, err := o.limits()
		if (err != nil) != tc.wantErr || (err == nil && l.Memory != tc.want) {
			t.Errorf("--memory %s: %d, %v; want %d (error %v)", tc.memory, l.Memory, err, tc.want, tc.wantErr)
		}
	}
}

// runIn runs `phylum-box run` in-process against project with the given
// command, returning the exit code and everything logged.
func runIn(t *testing.T, project string, o runOptions, args ...string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	app := &App{Stdout: &out, Stderr: &out, Log: newLogger(&out)}
	if err := o.fillFromProcess(); err != nil {
		t.Fatal(err)
	}
	o.project = project
	o.home = filepath.Join(t.TempDir(), "home")
	if o.scratch == "" {
		o.scratch = "auto"
	}
	o.explicit = map[string]bool{}
	err := runRun(context.Background(), app, &o, args)
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
	c := container.Probe()
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
		code, log := runIn(t, project, runOptions{}, "/bin/sh", "-c", "echo b > b.txt && cat a.txt")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, log)
		}
		if b, err := os.ReadFile(filepath.Join(project, "b.txt")); err != nil || string(b) != "b\n" {
			t.Fatalf("b.txt not synced: %q %v\n%s", b, err, log)
		}
	})
	t.Run("failure syncs nothing and passes the exit code", func(t *testing.T) {
		code, log := runIn(t, project, runOptions{}, "/bin/sh", "-c", "echo c > c.txt; rm a.txt; exit 7")
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
		code, log := runIn(t, project, runOptions{timeout: 300 * time.Millisecond}, "/bin/sh", "-c", "echo d > d.txt; sleep 30")
		if code != exitcode.Sandbox || !strings.Contains(log, "stopped: timeout") {
			t.Fatalf("exit %d, want 4 with a timeout message: %s", code, log)
		}
		if _, err := os.Stat(filepath.Join(project, "d.txt")); err == nil {
			t.Fatal("d.txt synced after a timeout")
		}
	})
	t.Run("a symlink out of the project is refused with 4", func(t *testing.T) {
		code, log := runIn(t, project, runOptions{}, "/bin/sh", "-c", "ln -s /etc/passwd leak")
		if code != exitcode.Sandbox {
			t.Fatalf("exit %d, want 4: %s", code, log)
		}
		if _, err := os.Lstat(filepath.Join(project, "leak")); err == nil {
			t.Fatal("symlink synced")
		}
	})
	t.Run("--only refuses other paths with 4", func(t *testing.T) {
		code, log := runIn(t, project, runOptions{only: []string{"out"}}, "/bin/sh", "-c", "mkdir out && echo o > out/o && echo x > x.txt")
		if code != exitcode.Sandbox || !strings.Contains(log, "x.txt") {
			t.Fatalf("exit %d, want 4 naming x.txt: %s", code, log)
		}
		if _, err := os.Stat(filepath.Join(project, "out", "o")); err != nil {
			t.Fatalf("allowed path not synced: %s", log)
		}
	})
	t.Run("command not found is 127", func(t *testing.T) {
		code, log := runIn(t, project, runOptions{}, "no-such-command-pb")
		if code != 127 {
			t.Fatalf("exit %d, want 127: %s", code, log)
		}
	})
}

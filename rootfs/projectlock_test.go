package rootfs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestProjectLockAlone: a run that only reads the project (nothing to do) holds its
// lock without a scratch, reads beneath the project without following links, and
// hands the lock to a scratch that then holds it until Close.
func TestProjectLockAlone(t *testing.T) {
	base := t.TempDir()
	project, state := filepath.Join(base, "project"), filepath.Join(base, "state")
	writeTree(t, project, map[string]string{"a": "a", "d/x": "x"})
	if err := os.WriteFile(filepath.Join(base, "secret"), []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(base, "secret"), filepath.Join(project, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(base, filepath.Join(project, "up")); err != nil {
		t.Fatal(err)
	}
	o := ScratchOptions{Project: project, StateDir: state, Mode: ModeCopy, RootUID: os.Getuid(), RootGID: os.Getgid()}
	l, err := LockProject(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	for rel, want := range map[string]string{"a": "a", "d/x": "x", "./d/../a": "a"} {
		if got, err := l.ReadFile(rel); err != nil || string(got) != want {
			t.Errorf("ReadFile(%q) = %q, %v; want %q", rel, got, err, want)
		}
	}
	for _, rel := range []string{"link", "up/secret", "../secret", "/etc/passwd", "."} {
		if got, err := l.ReadFile(rel); err == nil {
			t.Errorf("ReadFile(%q) read %q through a link or outside the project", rel, got)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(state, projectKey(project)+"-*")); len(left) > 0 {
		t.Errorf("holding the lock alone made scratch: %v", left)
	}
	// Another run waits for it, and is told who holds it.
	var holder int
	o2 := o
	o2.OnWait = func(pid int) { holder = pid }
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if s, err := NewScratch(ctx, o2); !errors.Is(err, context.DeadlineExceeded) {
		s.Close()
		t.Fatalf("NewScratch while the lock is held: %v, want a deadline error", err)
	}
	if holder != os.Getpid() {
		t.Errorf("OnWait got pid %d, want %d", holder, os.Getpid())
	}
	// A scratch of another project cannot take it; the lock stays held.
	other := filepath.Join(base, "other")
	writeTree(t, other, map[string]string{"b": "b"})
	if s, err := NewScratch(context.Background(), ScratchOptions{Project: other, StateDir: state, Mode: ModeCopy,
		RootUID: os.Getuid(), RootGID: os.Getgid(), Held: l}); err == nil {
		s.Close()
		t.Fatal("a scratch of another project took over the lock")
	}
	// The scratch takes it over: the lock stays held until Close, not until Release.
	o3 := o
	o3.Held = l
	s, err := NewScratch(context.Background(), o3)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.ReadFile("a"); err == nil {
		t.Error("ReadFile after the lock was handed over")
	}
	if data, err := s.ReadFile("a"); err != nil || string(data) != "a" {
		t.Errorf("the scratch's view: %q, %v", data, err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel2()
	if l2, err := LockProject(ctx2, o); !errors.Is(err, context.DeadlineExceeded) {
		l2.Release()
		t.Fatalf("LockProject while the scratch holds the lock: %v, want a deadline error", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	l3, err := LockProject(context.Background(), o)
	if err != nil {
		t.Fatalf("the lock after Close: %v", err)
	}
	l3.Release()
}

// TestProjectLockRecoversAKilledSync: what is read under the lock alone is never a
// sync back cut short by a kill: taking the lock recovers it first.
func TestProjectLockRecoversAKilledSync(t *testing.T) {
	files := map[string]string{"a": "a", "b": "b", "d/x": "x", "m/y": "y", "keep": "k"}
	for _, n := range []int{1, 2} {
		t.Run(fmt.Sprint("move-", n), func(t *testing.T) {
			base := t.TempDir()
			project, state := filepath.Join(base, "project"), filepath.Join(base, "state")
			writeTree(t, project, files)
			before := hashTree(t, project)
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s\n%s\nmove\n%d", syncKillEnv, project, state, n))
			out, err := cmd.CombinedOutput()
			if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
				t.Fatalf("helper was not killed: %v\n%s", err, out)
			}
			if hashTree(t, project) == before {
				t.Fatal("the killed sync left the project as it was: nothing to recover, the test proves nothing")
			}
			l, err := LockProject(context.Background(), ScratchOptions{Project: project, StateDir: state})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Release()
			if hashTree(t, project) != before {
				t.Error("the project was not restored when the lock was taken")
			}
			if left, _ := filepath.Glob(filepath.Join(state, projectKey(project)+"-*")); len(left) > 0 {
				t.Errorf("the killed run's scratch is still there: %v", left)
			}
		})
	}
}

package rootfs

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// holdEnv makes the test binary a helper that takes a project's scratch and then waits to
// be killed, like a phylum-box run that gets SIGKILLed mid-install.
const holdEnv = "PHYLUM_ROOTFS_TEST_HOLD"

func TestMain(m *testing.M) {
	if v := os.Getenv(holdEnv); v != "" {
		holdScratch(v)
		return
	}
	os.Exit(m.Run())
}

func holdScratch(v string) {
	project, state, _ := strings.Cut(v, "\n")
	s, err := NewScratch(context.Background(), ScratchOptions{Project: project, StateDir: state, Mode: ModeCopy,
		RootUID: os.Getuid(), RootGID: os.Getgid()})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	// Half-done work in the scratch, as a killed install leaves it.
	_ = os.WriteFile(filepath.Join(s.stagingDir(), "partial"), []byte("x"), 0o644)
	fmt.Println(s.Dir())
	time.Sleep(time.Minute)
	os.Exit(2)
}

func TestLockWaitsForTheHolder(t *testing.T) {
	base := t.TempDir()
	project := filepath.Join(base, "project")
	writeTree(t, project, map[string]string{"a": "a"})
	o := ScratchOptions{Project: project, StateDir: filepath.Join(base, "state"), Mode: ModeCopy,
		RootUID: os.Getuid(), RootGID: os.Getgid()}
	first, err := NewScratch(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	// A second run gives up when its context ends, naming the holder.
	var holder int
	o2 := o
	o2.OnWait = func(pid int) { holder = pid }
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if s, err := NewScratch(ctx, o2); !errors.Is(err, context.DeadlineExceeded) {
		s.Close()
		t.Fatalf("second NewScratch: %v, want a deadline error", err)
	}
	if holder != os.Getpid() {
		t.Errorf("OnWait got pid %d, want %d", holder, os.Getpid())
	}
	// ... and gets the project once the first run closes.
	done := make(chan error, 1)
	go func() {
		s, err := NewScratch(context.Background(), o)
		if err == nil {
			err = s.Close()
		}
		done <- err
	}()
	time.Sleep(150 * time.Millisecond)
	firstDir := first.Dir()
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(firstDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Close left %s: %v", firstDir, err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting run did not get the lock after Close")
	}
}

func TestKilledRunLeavesHostIntactAndIsCleanedUp(t *testing.T) {
	base := t.TempDir()
	project, state := filepath.Join(base, "project"), filepath.Join(base, "state")
	writeTree(t, project, map[string]string{"a": "a", "d/b": "b"})
	before := hashTree(t, project)

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), holdEnv+"="+project+"\n"+state)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "/") {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("helper: %q %v", line, err)
	}
	stale := strings.TrimSpace(line)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if _, err := os.Lstat(stale); err != nil {
		t.Fatalf("the killed run's scratch %s should still be there: %v", stale, err)
	}
	if hashTree(t, project) != before {
		t.Fatal("the killed run changed the host project")
	}
	waited := false
	s, err := NewScratch(context.Background(), ScratchOptions{Project: project, StateDir: state, Mode: ModeCopy,
		RootUID: os.Getuid(), RootGID: os.Getgid(), OnWait: func(int) { waited = true }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if waited {
		t.Error("the next run waited for a dead holder")
	}
	if _, err := os.Lstat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale scratch %s not removed: %v", stale, err)
	}
}

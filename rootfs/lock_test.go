package rootfs

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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
	if v := os.Getenv(syncKillEnv); v != "" {
		syncAndDie(v)
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

// syncKillEnv makes the test binary a helper that starts a sync back and SIGKILLs itself
// right after the journal step given (its n-th occurrence), like a run killed mid-sync.
const syncKillEnv = "PHYLUM_ROOTFS_TEST_SYNCKILL"

// runChanges are the run's changes for the kill-mid-sync test, made in the staging copy.
func runChanges(staging string) error {
	for _, err := range []error{
		os.WriteFile(filepath.Join(staging, "a"), []byte("new a"), 0o644),
		os.Remove(filepath.Join(staging, "b")),
		os.RemoveAll(filepath.Join(staging, "d")),
		os.MkdirAll(filepath.Join(staging, "d", "e"), 0o755),
		os.WriteFile(filepath.Join(staging, "d", "e", "f"), []byte("f"), 0o644),
		os.MkdirAll(filepath.Join(staging, "node_modules", "x"), 0o755),
		os.WriteFile(filepath.Join(staging, "node_modules", "x", "i.js"), []byte("x"), 0o644),
		os.Symlink("x/i.js", filepath.Join(staging, "node_modules", "main.js")),
		os.Chmod(filepath.Join(staging, "m"), 0o700),
		os.Symlink("keep", filepath.Join(staging, "lnk")),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

func syncAndDie(v string) {
	f := strings.Split(v, "\n")
	project, state, op := f[0], f[1], f[2]
	n, _ := strconv.Atoi(f[3])
	s, err := NewScratch(context.Background(), ScratchOptions{Project: project, StateDir: state, Mode: ModeCopy,
		RootUID: os.Getuid(), RootGID: os.Getgid()})
	if err == nil {
		err = runChanges(s.stagingDir())
	}
	if err == nil && len(f) > 4 && f[4] == "conflict" {
		// The host grows a node_modules file meanwhile: the sync stops there and rolls back.
		err = os.WriteFile(filepath.Join(project, "node_modules"), []byte("host"), 0o644)
	}
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	seen := 0
	afterJournalStep = func(got string) {
		if got == op {
			if seen++; seen == n {
				_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
				select {}
			}
		}
	}
	_, err = s.SyncBack(SyncOptions{OwnerUID: -1, OwnerGID: -1})
	fmt.Println("sync finished without being killed:", err)
	os.Exit(3)
}

// TestKilledMidSyncIsRecovered kills a run at several points of its sync back; the next
// NewScratch must leave the project exactly as before (or, after the commit point,
// exactly as synced), with no backup or temporary entries left.
func TestKilledMidSyncIsRecovered(t *testing.T) {
	files := map[string]string{"a": "a", "b": "b", "d/x": "x", "m/y": "y", "keep": "k"}
	// The tree a complete sync produces, from a reference run.
	ref := t.TempDir()
	writeTree(t, filepath.Join(ref, "project"), files)
	s, err := NewScratch(context.Background(), ScratchOptions{Project: filepath.Join(ref, "project"), StateDir: filepath.Join(ref, "state"),
		Mode: ModeCopy, RootUID: os.Getuid(), RootGID: os.Getgid()})
	if err != nil {
		t.Fatal(err)
	}
	if err := runChanges(s.stagingDir()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SyncBack(SyncOptions{OwnerUID: -1, OwnerGID: -1}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	synced := hashTreeNoTimes(t, filepath.Join(ref, "project"))

	for _, kill := range []struct {
		op       string
		n        int
		synced   bool
		conflict bool
	}{
		{"undone", 2, false, true}, {"undone", 4, false, true}, {"done", 1, false, true},
		{"aside", 1, false, false}, {"move", 1, false, false}, {"aside", 2, false, false}, {"move", 2, false, false},
		{"move", 3, false, false}, {"chmod", 1, false, false}, {"create", 1, false, false}, {"commit", 1, true, false},
	} {
		t.Run(fmt.Sprintf("%s-%d-conflict=%v", kill.op, kill.n, kill.conflict), func(t *testing.T) {
			base := t.TempDir()
			project, state := filepath.Join(base, "project"), filepath.Join(base, "state")
			writeTree(t, project, files)
			before := hashTree(t, project)
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			env := fmt.Sprintf("%s=%s\n%s\n%s\n%d", syncKillEnv, project, state, kill.op, kill.n)
			if kill.conflict {
				env += "\nconflict"
				// Expected afterwards: the project as it was, plus the host's own new file.
				ref := filepath.Join(base, "ref")
				writeTree(t, ref, files)
				writeTree(t, ref, map[string]string{"node_modules": "host"})
				defer func(want string) {
					if got := hashTreeNoTimes(t, project); got != want {
						t.Errorf("after a rollback that was killed, the project is not as it was:\n%s\nwant\n%s", got, want)
					}
				}(hashTreeNoTimes(t, ref))
			}
			cmd.Env = append(os.Environ(), env)
			out, err := cmd.CombinedOutput()
			if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
				t.Fatalf("helper was not killed: %v\n%s", err, out)
			}
			s, err := NewScratch(context.Background(), ScratchOptions{Project: project, StateDir: state, Mode: ModeCopy,
				RootUID: os.Getuid(), RootGID: os.Getgid()})
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			if kill.synced {
				if got := hashTreeNoTimes(t, project); got != synced {
					t.Error("after a kill past the commit point, the project should be fully synced")
				}
			} else if !kill.conflict && hashTree(t, project) != before {
				t.Error("the project was not restored after the killed sync")
			}
			left, _ := filepath.Glob(filepath.Join(project, "*", ".phylum-box-*"))
			more, _ := filepath.Glob(filepath.Join(project, ".phylum-box-*"))
			if len(left)+len(more) > 0 {
				t.Errorf("leftovers: %v %v", left, more)
			}
		})
	}
}

// hashTreeNoTimes is hashTree without mtimes (a reference run and a recovered run differ
// in them).
func hashTreeNoTimes(t *testing.T, root string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		line := fmt.Sprintf("%s %v", rel, fi.Mode())
		if fi.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
			line += " " + string(b)
		} else if fi.Mode()&fs.ModeSymlink != 0 {
			l, _ := os.Readlink(p)
			line += " -> " + l
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

// TestPlantedScratchIsIgnored: a scratch dir with a journal that another user planted
// beside the project must not be "recovered" (it would move project files out).
func TestPlantedScratchIsIgnored(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to plant a dir owned by another user")
	}
	base := t.TempDir()
	project := filepath.Join(base, "project")
	writeTree(t, project, map[string]string{"a": "secret"})
	planted := filepath.Join(siblingRoot(project), projectKey(project)+"-1-aaaa")
	writeTree(t, filepath.Join(planted, "upper"), nil)
	journal := fmt.Sprintf("%q\t%q\t%q\n%q\t%q\t%q\n", journalMagic, project, filepath.Join(planted, "upper"), "move", "a", "")
	if err := os.WriteFile(filepath.Join(planted, "journal"), []byte(journal), 0o644); err != nil {
		t.Fatal(err)
	}
	chownTree(t, siblingRoot(project), 4242, 4242)
	s, err := NewScratch(context.Background(), ScratchOptions{Project: project, StateDir: filepath.Join(base, "state"),
		Mode: ModeCopy, RootUID: 0, RootGID: 0})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	wantFile(t, project, "a", "secret")
	if _, err := os.Lstat(planted); err != nil {
		t.Errorf("the planted dir was touched: %v", err)
	}
}

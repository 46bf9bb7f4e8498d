package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Ctrl-C mid-run: nothing is synced, nothing keeps running.
func TestInterruptLeavesProjectByteIdentical(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		b := newBox(t, m)
		before := treeHash(t, b.Project, true)
		marker := uniqueSleep(60)
		inv := b.invoke(nil, []string{"/bin/sh", "-c", `echo changed > README.md; rm lib/a.txt; echo new > new.txt; echo ready; exec sleep ` + marker})
		c, stderr, done := startRun(t, inv, "ready")
		// setpriv execs phylum-box, so the pid is phylum-box's in both modes.
		if err := c.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			if code := exitCode(err); code == 0 {
				t.Errorf("an interrupted run exited 0\n%s", stderr)
			}
		case <-time.After(15 * time.Second):
			_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
			<-done
			t.Fatalf("phylum-box did not stop within 15 s of SIGINT\n%s", stderr)
		}
		assertSameTree(t, before, treeHash(t, b.Project, true), "an interrupted run")
		waitNoProcs(t, marker, 5*time.Second)
	})
}

// Two runs on one project serialize: the second waits on the lock and starts from
// the first one's result, so no change is lost.
func TestConcurrentRunsSerialize(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		b := newBox(t, m)
		a := b.invoke(nil, []string{"/bin/sh", "-c", logScript, "sh", "A"})
		c := b.invoke(nil, []string{"/bin/sh", "-c", logScript, "sh", "B"})
		serialized(t, b, a, c)
	})
}

// scratchCandidates lists what phylum-box may leave behind: everything under the
// caller's $HOME (but the project), and phylum-box-named entries in the shared
// temporary and state directories.
func scratchCandidates(b *box) map[string]bool {
	out := map[string]bool{}
	for p := range b.homeHashAll() {
		out[filepath.Join(b.Home, p)] = true
	}
	for _, dir := range []string{"/tmp", "/var/tmp", "/run", "/run/user", "/var/run", "/var/lib", "/var/cache", "/dev/shm", fmt.Sprintf("/run/user/%d", b.Mode.uid())} {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			// Only phylum-box's own names: other tools (and other test suites) use
			// these shared directories at the same time.
			if !strings.Contains(strings.ToLower(e.Name()), "phylum") || strings.HasPrefix(filepath.Join(dir, e.Name()), suite.base) {
				continue
			}
			n := 0
			_ = filepath.WalkDir(filepath.Join(dir, e.Name()), func(p string, d os.DirEntry, err error) error {
				if n++; n > 5000 {
					return filepath.SkipAll
				}
				out[p] = true
				return nil
			})
		}
	}
	return out
}

// mountsMentioning lists the host mount table lines that mention s.
func mountsMentioning(s string) []string {
	b, _ := os.ReadFile("/proc/self/mountinfo")
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return out
}

// kill -9 of phylum-box mid-run: the host tree is untouched, the container does not
// live on, and the next run cleans the scratch state the killed one left.
func TestKilledRunIsCleanedByTheNext(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		b := newBox(t, m)
		wantCode(t, b.sh(nil, `true`), 0, "a first, normal run")
		afterNormal := scratchCandidates(b)
		before := treeHash(t, b.Project, true)
		mountsBefore := len(mountsMentioning(b.Project))

		marker := uniqueSleep(60)
		inv := b.invoke(nil, []string{"/bin/sh", "-c", `echo x > killed.txt; echo ready; exec sleep ` + marker})
		c, _, done := startRun(t, inv, "ready")
		if err := c.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-done
		t.Run("the container dies with phylum-box", func(t *testing.T) {
			waitNoProcs(t, marker, 5*time.Second)
		})
		assertSameTree(t, before, treeHash(t, b.Project, true), "a killed run")
		var stale []string
		for p := range scratchCandidates(b) {
			if !afterNormal[p] {
				stale = append(stale, p)
			}
		}
		t.Logf("scratch left by the killed run: %d entries", len(stale))

		r := b.sh(nil, `test ! -e killed.txt && echo next > next.txt`)
		wantCode(t, r, 0, "the run after a killed one")
		if !pathExists(filepath.Join(b.Project, "next.txt")) {
			t.Errorf("the next run's change was not synced")
		}
		now := scratchCandidates(b)
		var left []string
		for _, p := range stale {
			if now[p] {
				left = append(left, p)
			}
		}
		sort.Strings(left)
		if len(left) > 0 {
			t.Errorf("stale scratch of the killed run is still there after the next run:\n  %s", strings.Join(left, "\n  "))
		}
		if n := len(mountsMentioning(b.Project)); n > mountsBefore {
			t.Errorf("mounts of the project are left in the host mount table:\n%s", strings.Join(mountsMentioning(b.Project), "\n"))
		}
	})
}

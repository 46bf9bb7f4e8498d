package integration

import (
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var delegation struct {
	once sync.Once
	err  string
}

// forEachLimitMode runs f as root and as the rootless user that `phylum-box setup
// --user` gave a cgroup to (the setup is part of what is tested).
func forEachLimitMode(t *testing.T, controllers []string, f func(t *testing.T, m mode)) {
	t.Helper()
	for _, name := range []string{"root", "rootless-delegated"} {
		t.Run(name, func(t *testing.T) {
			m := requireMode(t, name)
			requireControllers(t, controllers)
			if m.rootless() {
				delegation.once.Do(func() {
					c := exec.Command(suite.bin, "setup", "--user", m.User.Name)
					c.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/root"}
					if out, err := c.CombinedOutput(); err != nil {
						delegation.err = "phylum-box setup --user " + m.User.Name + ": " + err.Error() + "\n" + string(out)
					}
				})
				if delegation.err != "" {
					t.Fatal(delegation.err)
				}
			}
			f(t, m)
		})
	}
}

// requireControllers skips when this machine's cgroup file system lacks a
// controller the limit needs (cgroup v1 hierarchy or a v2 controller).
func requireControllers(t *testing.T, names []string) {
	t.Helper()
	v2, _ := os.ReadFile("/sys/fs/cgroup/cgroup.controllers")
	for _, n := range names {
		if _, err := os.Stat("/sys/fs/cgroup/" + n); err == nil {
			continue
		}
		if strings.Contains(" "+string(v2)+" ", " "+n+" ") {
			continue
		}
		skipf(t, "the %s cgroup controller is not available on this machine (neither /sys/fs/cgroup/%s nor in cgroup.controllers)", n, n)
	}
}

func TestForkBombHitsPidsLimit(t *testing.T) {
	forEachLimitMode(t, []string{"pids"}, func(t *testing.T, m mode) {
		b := newBox(t, m)
		marker := uniqueSleep(120)
		r := b.attack([]string{"--pids", "64", "--timeout", "60s"}, "forkbomb", "2000", marker)
		wantCode(t, r, 4, "a fork bomb under --pids 64")
		if !regexp.MustCompile(`(?i)pids|process`).MatchString(r.Stderr) {
			t.Errorf("the message does not say the pids limit stopped it:\n%s", r)
		}
		waitNoProcs(t, marker, 5*time.Second)
		// The host is fine: it can still fork.
		if err := exec.Command("/bin/true").Run(); err != nil {
			t.Errorf("the host cannot fork after the bomb: %v", err)
		}
		t.Run("twin: a few children fit", func(t *testing.T) {
			wantCode(t, b.attack([]string{"--pids", "64"}, "fork", "10"), 0, "ten children under --pids 64")
		})
	})
}

func TestMemoryBombHitsMemoryLimit(t *testing.T) {
	forEachLimitMode(t, []string{"memory"}, func(t *testing.T, m mode) {
		b := newBox(t, m)
		r := b.attack([]string{"--memory", "64MiB", "--timeout", "60s"}, "mem", "1024")
		wantCode(t, r, 4, "touching 1 GiB under --memory 64MiB")
		wantStderr(t, r, "memory")
		t.Run("twin: a modest allocation fits", func(t *testing.T) {
			wantCode(t, b.attack([]string{"--memory", "256MiB"}, "mem", "32"), 0, "32 MiB under --memory 256MiB")
		})
	})
}

func TestCPULimit(t *testing.T) {
	forEachLimitMode(t, []string{"cpu"}, func(t *testing.T, m mode) {
		b := newBox(t, m)
		const wall = 3 * time.Second
		r := b.attack([]string{"--cpus", "0.5"}, "cpuburn", "2", wall.String())
		wantCode(t, r, 0, "burning two threads under --cpus 0.5")
		f := strings.Fields(r.Stdout)
		if len(f) != 2 {
			t.Fatalf("unexpected output:\n%s", r)
		}
		cpu, _ := strconv.ParseFloat(f[1], 64)
		// 0.5 CPU for 3 s is 1.5 s; allow scheduling slack but not a second core.
		if limit := 0.5*wall.Seconds()*1.3 + 0.3; cpu > limit {
			t.Errorf("got %.2f s of CPU in %v with --cpus 0.5 (limit %.2f s)", cpu, wall, limit)
		}
	})
}

// Without a delegated cgroup a rootless run cannot enforce memory and pids limits;
// it must run anyway and say so. As root the limits are enforced and there is no
// such warning.
func TestUnenforcedLimitsAreAnnounced(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		b := newBox(t, m)
		r := b.run([]string{"--memory", "64MiB", "--pids", "64"}, "/bin/true")
		wantCode(t, r, 0, "a run with limits")
		warned := regexp.MustCompile(`(?i)not (be )?enforced`).MatchString(r.Stderr)
		if m.rootless() {
			if !warned || !strings.Contains(strings.ToLower(r.Stderr), "memory") {
				t.Errorf("rootless without `phylum-box setup`: want a message that says the memory (and pids) limits are NOT enforced:\n%s", r)
			}
			if !strings.Contains(r.Stderr, "setup") {
				t.Errorf("the message should tell the user how to fix it (phylum-box setup --user):\n%s", r)
			}
		} else if warned {
			t.Errorf("as root the limits are enforced, yet:\n%s", r)
		}
	})
}

func TestTimeoutKillsEverything(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		b := newBox(t, m)
		before := treeHash(t, b.Project, true)
		marker := uniqueSleep(60)
		r := b.sh([]string{"--timeout", "2s"}, `echo x > new.txt; (setsid sleep $1 &); sleep $1 & exec sleep $1`, marker)
		wantCode(t, r, 4, "--timeout 2s on sleep 60")
		if r.Elapsed > 8*time.Second {
			t.Errorf("took %v to stop after a 2 s timeout", r.Elapsed)
		}
		if !regexp.MustCompile(`(?i)time(d)? ?out`).MatchString(r.Stderr) {
			t.Errorf("the message does not say the timeout stopped it:\n%s", r)
		}
		waitNoProcs(t, marker, 3*time.Second)
		assertSameTree(t, before, treeHash(t, b.Project, true), "a timed-out run")
		t.Run("twin: a run within the timeout", func(t *testing.T) {
			wantCode(t, b.sh([]string{"--timeout", "20s"}, `sleep 0.5; echo done > done.txt`), 0, "a short run under --timeout 20s")
			if !pathExists(b.Project + "/done.txt") {
				t.Error("done.txt not synced")
			}
		})
	})
}

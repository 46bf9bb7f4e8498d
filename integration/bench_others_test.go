package integration

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The everyday commands of pip, poetry, bundle and cargo (issue 12), bare against
// phylum-box, against the local registries of registries_test.go (PyPI, RubyGems
// and crates.io are not reachable here):
//
//	pip-noop      pip install -r requirements.txt, the venv already holding every pin   goal 1.0x
//	pip-add       pip install pbox-extra into that venv, put back before each run      goal 1.3x
//	poetry-noop   poetry install --no-root with nothing to change                        goal 1.0x
//	poetry-add    poetry add pbox-extra, the project put back before each run            goal 1.3x
//	bundle-noop   bundle install, Gemfile.lock installed in vendor/bundle                goal 1.0x
//	bundle-lock   bundle install from Gemfile.lock, vendor/bundle removed before each run goal 1.03x
//	cargo-noop    cargo build with nothing changed                                       goal 1.1x
//	cargo-add     cargo build after adding a dependency to Cargo.toml                     goal 1.3x
//
// Each case runs the bare command and `phylum-box CMD` alternately in the same
// project (the project put back, untimed, before each run), after one untimed
// warm-up round each, so both find their caches warm. It reports the medians in
// CPU seconds of the whole process tree — perf stat's task-clock, as
// hack/bench-managers.sh's MEASURE=cpu: the containers' processes included — and
// their ratio, x-bare. Without perf, the rusage of the waited process and its
// waited-for descendants is used (it misses a container process nobody waited for).
// As root the project belongs to a test user (as BENCH_OWNER does for the bench
// scripts: a root-owned project would be staged by a copy, not an overlay); the
// rootless half runs as that user.
//
//	PHYLUM_BOX_BIN=bin/phylum-box CI=true go test -tags seccomp -run '^$' \
//	    -bench 'BenchmarkOthers' -benchtime=5x ./integration/
//
// PBOX_BENCH_PROFILE=DIR adds one untimed `phylum-box -v` run with
// PHYLUM_BOX_DEBUG=times after each case, its output kept in DIR/CASE.log (where
// the time goes).
func BenchmarkOthers(b *testing.B) {
	for _, c := range othersCases {
		for _, name := range []string{"root", "rootless"} {
			b.Run(c.name+"/"+name, func(b *testing.B) {
				m := requireMode(b, name)
				benchOthers(b, m, c)
			})
		}
	}
}

// othersCase is one command measured: setup makes the project and installs it
// once (untimed) and says how to run and check it.
type othersCase struct {
	name  string
	goal  float64
	setup func(b *testing.B, m mode) *othersRun
}

type othersRun struct {
	bx   *box
	argv []string // the manager's command line: bare as is, wrapped after phylum-box
	env  []string // both runs
	// restore is a copy of the project put back before each run (nil: nothing is
	// put back).
	restore string
	// edit changes the project after it is put back (cargo-add's new dependency).
	edit func()
	// check asserts what a wrapped run did (the fast path taken, or the steps run
	// and the package installed).
	check func(r result)
}

var othersCases = []othersCase{
	{"pip-noop", 1.0, setupPip(false)},
	{"pip-add", 1.3, setupPip(true)},
	{"poetry-noop", 1.0, setupPoetry(false)},
	{"poetry-add", 1.3, setupPoetry(true)},
	{"bundle-noop", 1.0, setupBundle(false)},
	{"bundle-lock", 1.03, setupBundle(true)},
	{"cargo-noop", 1.1, setupCargo(false)},
	{"cargo-add", 1.3, setupCargo(true)},
}

func benchOthers(b *testing.B, m mode, c othersCase) {
	run := c.setup(b, m)
	bare := func() (float64, result) { b.Helper(); return run.exec(b, m, true, nil) }
	wrapped := func(extra []string) (float64, result) { b.Helper(); return run.exec(b, m, false, extra) }
	// Warm-up, untimed: bare's own caches (pip's, poetry's, ~/.cargo) and
	// phylum-box's after the setup's install.
	run.prep(b, m)
	bare()
	run.prep(b, m)
	wrapped(nil)

	var bareCPU, boxCPU []float64
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		run.prep(b, m)
		b.StartTimer()
		bc, br := bare()
		b.StopTimer()
		run.prep(b, m)
		b.StartTimer()
		pc, r := wrapped(nil)
		b.StopTimer()
		run.check(r)
		bareCPU = append(bareCPU, bc)
		boxCPU = append(boxCPU, pc)
		b.Logf("run %d: bare %.3fs CPU (%v wall), phylum-box %.3fs CPU (%v wall)", len(bareCPU),
			bc, br.Elapsed.Round(time.Millisecond), pc, r.Elapsed.Round(time.Millisecond))
		b.StartTimer()
	}
	b.StopTimer()
	mb, mp := median(bareCPU), median(boxCPU)
	b.ReportMetric(mp/mb, "x-bare")
	b.ReportMetric(mb, "bare-cpu-s")
	b.ReportMetric(mp, "box-cpu-s")
	b.Logf("%s: %s — bare %.3fs, phylum-box %.3fs CPU (medians of %d, %s), ratio %.2fx (goal <= %.2fx)",
		c.name, strings.Join(run.argv, " "), mb, mp, len(bareCPU), cpuMeasure(), mp/mb, c.goal)
	if dir := os.Getenv("PBOX_BENCH_PROFILE"); dir != "" {
		run.prep(b, m)
		_, r := wrapped([]string{"PHYLUM_BOX_DEBUG=times"})
		log := filepath.Join(dir, strings.ReplaceAll(b.Name(), "/", "-")+".log")
		if err := os.WriteFile(log, []byte(r.Stderr), 0o644); err != nil {
			b.Fatal(err)
		}
		b.Logf("phylum-box -v %s: %s", strings.Join(run.argv, " "), log)
	}
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// benchOwner is who owns the project: the mode's user, or as root the plain test user.
func benchOwner(m mode) *testUser {
	if m.rootless() {
		return m.User
	}
	return suite.users[userPlain]
}

// own gives the project to its owner (root's bare runs may have left root-owned files).
func (run *othersRun) own(b *testing.B, m mode) {
	b.Helper()
	if !suite.isRoot {
		return
	}
	u := benchOwner(m)
	if out, err := exec.Command("chown", "-R", fmt.Sprintf("%d:%d", u.UID, u.GID), run.bx.Project).CombinedOutput(); err != nil {
		b.Fatalf("chown: %v %s", err, out)
	}
}

// snapshot keeps the installed project to put back before each run.
func (run *othersRun) snapshot(b *testing.B) {
	b.Helper()
	run.restore = filepath.Join(newScratch(b), "snapshot")
	copyTree(b, run.bx.Project, run.restore)
}

// prep puts the project back (when the case changes it), edits it, and gives it
// to its owner.
func (run *othersRun) prep(b *testing.B, m mode) {
	b.Helper()
	if run.restore != "" {
		if err := os.RemoveAll(run.bx.Project); err != nil {
			b.Fatal(err)
		}
		copyTree(b, run.restore, run.bx.Project)
	}
	if run.edit != nil {
		run.edit()
	}
	run.own(b, m)
}

// exec runs the command, bare or under phylum-box (with env added), and returns
// its CPU seconds and result; a failed run fails the benchmark.
func (run *othersRun) exec(b *testing.B, m mode, bare bool, env []string) (float64, result) {
	b.Helper()
	args := run.argv
	if !bare && env != nil {
		args = append([]string{"-v"}, args...)
	}
	inv := invocation{Mode: m, Args: args, Dir: run.bx.Project, Home: run.bx.Home, Env: append(append([]string{}, run.env...), env...)}
	c := inv.command()
	if bare {
		tool := lookPathIn(b, run.argv[0], c.Env)
		for i, a := range c.Args {
			if a == suite.bin {
				c.Args = append(append(append([]string{}, c.Args[:i]...), tool), c.Args[i+2:]...)
				if i == 0 {
					c.Path = tool
				}
				break
			}
		}
	}
	perfOut := ""
	if p := perfPath(); p != "" {
		perfOut = filepath.Join(newScratch(b), "perf.csv")
		c.Args = append([]string{"perf", "stat", "-x,", "-e", "task-clock", "-o", perfOut, "--", c.Path}, c.Args[1:]...)
		c.Path = p
	}
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	start := time.Now()
	if err := c.Start(); err != nil {
		b.Fatal(err)
	}
	timer := time.AfterFunc(10*time.Minute, func() { _ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL) })
	err := c.Wait()
	timer.Stop()
	r := result{Stdout: stdout.String(), Stderr: stderr.String(), Elapsed: time.Since(start), Code: exitCode(err)}
	what := "phylum-box " + strings.Join(args, " ")
	if bare {
		what = "bare " + strings.Join(run.argv, " ")
	}
	if r.Code != 0 {
		b.Fatalf("%s:\n%s", what, r)
	}
	if perfOut != "" {
		data, err := os.ReadFile(perfOut)
		if err != nil {
			b.Fatal(err)
		}
		for _, l := range strings.Split(string(data), "\n") {
			if f := strings.Split(l, ","); len(f) > 2 && f[2] == "task-clock" {
				ms, err := strconv.ParseFloat(f[0], 64)
				if err != nil {
					b.Fatalf("perf stat: %q: %v", l, err)
				}
				return ms / 1000, r
			}
		}
		b.Fatalf("perf stat wrote no task-clock:\n%s", data)
	}
	ru, ok := c.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		b.Fatal("no rusage")
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds(), r
}

// perfPath is perf when it can count (the bench then measures the whole tree).
func perfPath() string {
	p, err := exec.LookPath("perf")
	if err != nil {
		return ""
	}
	if exec.Command(p, "stat", "-x,", "-e", "task-clock", "-o", os.DevNull, "--", "/bin/true").Run() != nil {
		return ""
	}
	return p
}

func cpuMeasure() string {
	if perfPath() != "" {
		return "perf task-clock"
	}
	return "rusage"
}

// lookPathIn finds name in the PATH of env (the last PATH wins, as in exec).
func lookPathIn(b *testing.B, name string, env []string) string {
	b.Helper()
	path := ""
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			path = v
		}
	}
	for _, d := range filepath.SplitList(path) {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	b.Fatalf("%s is not on PATH %s", name, path)
	return ""
}

// wantUpToDate is the check of a nothing-to-do case: phylum-box found nothing to
// do (no step ran).
func wantUpToDate(b *testing.B) func(r result) {
	return func(r result) {
		b.Helper()
		if !strings.Contains(r.Stderr, "up to date") {
			b.Fatalf("phylum-box did not find the project up to date:\n%s", r)
		}
	}
}

// benchWheels are the bench's extra pure-Python packages, beside pbox-greet and
// pbox-dep: a requirements file of eight pins.
var benchWheels = []string{"pbox-b1", "pbox-b2", "pbox-b3", "pbox-b4", "pbox-b5", "pbox-b6"}

func benchPyIndex(b *testing.B) *pyIndex {
	ix := pyGreetIndex(b)
	for _, n := range append(benchWheels, "pbox-extra") {
		mod := strings.ReplaceAll(n, "-", "_")
		ix.AddWheel(n, "1.0", nil, map[string]string{mod + "/__init__.py": "X = 1\n"})
	}
	return ix
}

func setupPip(add bool) func(b *testing.B, m mode) *othersRun {
	return func(b *testing.B, m mode) *othersRun {
		pyNeed(b)
		ix := benchPyIndex(b)
		db := regMalDB(b, m, "PyPI")
		run := &othersRun{bx: pyProject(b, m), argv: []string{"pip", "install", "-r", "requirements.txt"}}
		venv := filepath.Join(run.bx.Project, ".venv")
		run.env = []string{"PIP_INDEX_URL=" + ix.URL + "/simple/", "PHYLUM_BOX_DB=" + db, "PIP_DISABLE_PIP_VERSION_CHECK=1",
			"VIRTUAL_ENV=" + venv, "PATH=" + filepath.Join(venv, "bin") + ":/usr/local/bin:/usr/bin:/bin"}
		reqs := "pbox-greet==1.0\npbox-dep==1.0\n"
		for _, n := range benchWheels {
			reqs += n + "==1.0\n"
		}
		writeFile(b, filepath.Join(run.bx.Project, "requirements.txt"), reqs, 0o644)
		run.own(b, m)
		run.exec(b, m, false, nil)
		run.check = wantUpToDate(b)
		if add {
			run.snapshot(b)
			run.argv = []string{"pip", "install", "pbox-extra"}
			run.check = func(r result) {
				b.Helper()
				if !pathExists(filepath.Join(sitePackages(b, venv), "pbox_extra", "__init__.py")) {
					b.Fatalf("pbox-extra was not installed:\n%s", r)
				}
			}
		}
		return run
	}
}

func setupPoetry(add bool) func(b *testing.B, m mode) *othersRun {
	return func(b *testing.B, m mode) *othersRun {
		poetryNeed(b)
		ix := benchPyIndex(b)
		db := regMalDB(b, m, "PyPI")
		run := &othersRun{bx: poetryProject(b, m, ix, append([]string{"pbox-greet"}, benchWheels...)...),
			argv: []string{"poetry", "install", "--no-root"}, env: []string{"PHYLUM_BOX_DB=" + db}}
		run.own(b, m)
		run.exec(b, m, false, nil)
		run.check = wantUpToDate(b)
		if add {
			run.snapshot(b)
			run.argv = []string{"poetry", "add", "pbox-extra"}
			run.check = func(r result) {
				b.Helper()
				if !pathExists(filepath.Join(sitePackages(b, filepath.Join(run.bx.Project, ".venv")), "pbox_extra", "__init__.py")) {
					b.Fatalf("pbox-extra was not installed:\n%s", r)
				}
			}
		}
		return run
	}
}

func setupBundle(fromLock bool) func(b *testing.B, m mode) *othersRun {
	return func(b *testing.B, m mode) *othersRun {
		bundleNeed(b)
		gs := bundleGreetSource(b)
		gems := []string{"pbox_greet"}
		for _, n := range []string{"pbox_b1", "pbox_b2"} {
			gs.AddGem(n, "1.0.0", nil, map[string]string{"lib/" + n + ".rb": "module PboxB; end\n"}, "")
			gems = append(gems, n)
		}
		db := regMalDB(b, m, "RubyGems")
		run := &othersRun{bx: bundleProject(b, m, gs, gems...), argv: []string{"bundle", "install"}, env: []string{"PHYLUM_BOX_DB=" + db}}
		run.own(b, m)
		run.exec(b, m, false, nil)
		run.check = wantUpToDate(b)
		if fromLock {
			if err := os.RemoveAll(filepath.Join(run.bx.Project, "vendor", "bundle")); err != nil {
				b.Fatal(err)
			}
			run.snapshot(b)
			run.check = func(r result) {
				b.Helper()
				if gemDir(b, run.bx.Project, "pbox_greet-1.0.0") == "" || gemDir(b, run.bx.Project, "pbox_b2-1.0.0") == "" {
					b.Fatalf("the locked gems were not installed:\n%s", r)
				}
			}
		}
		return run
	}
}

func setupCargo(add bool) func(b *testing.B, m mode) *othersRun {
	return func(b *testing.B, m mode) *othersRun {
		cargoNeed(b)
		reg := cargoGreetRegistry(b)
		reg.AddCrate("pbox_extra", "1.0.0", nil, map[string]string{"src/lib.rs": "pub fn extra() -> u32 { 1 }\n"})
		db := regMalDB(b, m, "crates.io")
		run := &othersRun{bx: cargoProject(b, m, reg, "fn main() { println!(\"{}\", pbox_greet::greet()); }\n", "pbox_greet"),
			argv: []string{"cargo", "build"}, env: []string{"PHYLUM_BOX_DB=" + db}}
		run.own(b, m)
		run.exec(b, m, false, nil)
		run.check = wantUpToDate(b)
		if add {
			run.snapshot(b)
			manifest := filepath.Join(run.bx.Project, "Cargo.toml")
			run.edit = func() {
				data, err := os.ReadFile(manifest)
				if err != nil {
					b.Fatal(err)
				}
				writeFile(b, manifest, string(data)+"pbox_extra = \"1\"\n", 0o644)
			}
			run.check = func(r result) {
				b.Helper()
				lock, _ := os.ReadFile(filepath.Join(run.bx.Project, "Cargo.lock"))
				if !strings.Contains(string(lock), "pbox_extra") || strings.Contains(r.Stderr, "up to date") {
					b.Fatalf("the dependency added was not resolved and built:\n%s\n%s", r, lock)
				}
			}
		}
		return run
	}
}

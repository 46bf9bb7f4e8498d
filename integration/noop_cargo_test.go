package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// `cargo build` with nothing changed (issue 12): once a build has written the
// crate's artifacts after every change to the project, the next `cargo build`
// prechecks Cargo.lock and runs no step at all. A source edit gets the build
// step (alone, on the committed lockfile) and a new binary; a build script that
// depends on a variable set in the caller's environment keeps the build step.
func TestNoopCargoBuildNothingChanged(t *testing.T) {
	t.Parallel()
	cargoNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		reg := cargoGreetRegistry(t)
		db := regMalDB(t, m, "crates.io")
		b := cargoProject(t, m, reg, "fn main() { println!(\"{}\", pbox_greet::greet()); }\n", "pbox_greet")
		rep := filepath.Join(b.Home, "report.json")
		build := func(env ...string) (result, *speedReport) {
			t.Helper()
			_ = os.Remove(rep)
			r := invocation{Mode: m, Args: []string{"-v", "--report", rep, "cargo", "build"}, Dir: b.Project, Home: b.Home,
				Env: append([]string{"PHYLUM_BOX_DB=" + db}, env...), Timeout: 5 * time.Minute}.exec(t)
			return r, readSpeedReport(t, rep)
		}
		runBin := func() string {
			out, err := exec.Command(filepath.Join(b.Project, "target", "debug", "proj")).CombinedOutput()
			if err != nil {
				t.Fatalf("the built binary: %v %s", err, out)
			}
			return strings.TrimSpace(string(out))
		}
		r, _ := build()
		wantCode(t, r, 0, "the first cargo build")
		r, pr := build()
		wantCode(t, r, 0, "cargo build with nothing changed")
		if pr.UpToDate == "" || len(pr.Steps) != 0 {
			t.Errorf("cargo build with nothing changed ran %v (up_to_date %q)\n%s", pr.phases(), pr.UpToDate, r.Stderr)
		}
		if pr.Precheck == nil || pr.Precheck.Verdict != "pass" || len(pr.Precheck.Packages) < 2 {
			t.Errorf("nothing to do must still precheck Cargo.lock: %+v", pr.Precheck)
		}
		// Rootless, a run that starts no container skips the sealed re-exec of
		// phylum-box (the whole binary copied into a memfd); one that builds keeps it.
		const firstLook = "up to date at first look"
		if m.rootless() && !strings.Contains(r.Stderr, firstLook) {
			t.Errorf("rootless cargo build with nothing changed re-executed from a sealed copy:\n%s", r.Stderr)
		}

		// The twin: a source edit is built, and then nothing is to do again.
		writeFile(t, filepath.Join(b.Project, "src", "main.rs"), "fn main() { println!(\"again {}\", pbox_greet::greet()); }\n", 0o644)
		chownTree(t, m, b.Project)
		r, pr = build()
		wantCode(t, r, 0, "cargo build after a source edit")
		if !slices.Equal(pr.phases(), []string{"build"}) || runBin() != "again hello dep" {
			t.Errorf("cargo build after a source edit ran %v, binary %q\n%s", pr.phases(), runBin(), r.Stderr)
		}
		if strings.Contains(r.Stderr, firstLook) {
			t.Errorf("cargo build after a source edit was taken for up to date at first look:\n%s", r.Stderr)
		}
		r, pr = build()
		wantCode(t, r, 0, "cargo build after that")
		if pr.UpToDate == "" || len(pr.Steps) != 0 {
			t.Errorf("cargo build after the edit was built ran %v (up_to_date %q)\n%s", pr.phases(), pr.UpToDate, r.Stderr)
		}
		// A variable that changes the build keeps the build step.
		r, pr = build("RUSTFLAGS=-Copt-level=1")
		wantCode(t, r, 0, "cargo build with RUSTFLAGS")
		if pr.UpToDate != "" || !slices.Contains(pr.phases(), "build") {
			t.Errorf("cargo build with RUSTFLAGS ran %v (up_to_date %q)", pr.phases(), pr.UpToDate)
		}
	})
}

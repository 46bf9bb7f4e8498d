package integration

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// `cargo build` after a dependency was added to Cargo.toml (issue 12): Cargo.lock
// has no package of that name, so `cargo build --frozen` would refuse at once;
// phylum-box goes straight to the steps (resolve, download, build) instead of
// trying the build alone first. Its twin, a source edit, still tries the build
// alone on the committed lockfile (and needs nothing else). A crate added that
// has a MAL record is blocked by the precheck as before.
func TestSpeedCargoBuildAfterAddingADependency(t *testing.T) {
	t.Parallel()
	cargoNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		reg := cargoGreetRegistry(t)
		reg.AddCrate("pbox_extra", "1.0.0", nil, map[string]string{"src/lib.rs": "pub fn extra() -> u32 { 1 }\n"})
		db := regMalDB(t, m, "crates.io")
		mal := regMalDB(t, m, "crates.io", "pbox_extra")
		b := cargoProject(t, m, reg, "fn main() { println!(\"{}\", pbox_greet::greet()); }\n", "pbox_greet")
		rep := filepath.Join(b.Home, "report.json")
		build := func(db string) (result, *speedReport) {
			t.Helper()
			_ = os.Remove(rep)
			r := invocation{Mode: m, Args: []string{"-v", "--report", rep, "cargo", "build"}, Dir: b.Project, Home: b.Home,
				Env: []string{"PHYLUM_BOX_DB=" + db}, Timeout: 5 * time.Minute}.exec(t)
			return r, readSpeedReport(t, rep)
		}
		const first = "building on the committed lockfile first"
		r, _ := build(db)
		wantCode(t, r, 0, "the first cargo build")

		// The twin: a source edit is built alone on the committed lockfile.
		writeFile(t, filepath.Join(b.Project, "src", "main.rs"), "fn main() { println!(\"again {}\", pbox_greet::greet()); }\n", 0o644)
		chownTree(t, m, b.Project)
		r, pr := build(db)
		wantCode(t, r, 0, "cargo build after a source edit")
		if !strings.Contains(r.Stderr, first) || !slices.Equal(pr.phases(), []string{"build"}) {
			t.Errorf("a source edit must be built alone on the committed lockfile, ran %v\n%s", pr.phases(), r.Stderr)
		}

		manifest := filepath.Join(b.Project, "Cargo.toml")
		plain, err := os.ReadFile(manifest)
		if err != nil {
			t.Fatal(err)
		}
		lockPath := filepath.Join(b.Project, "Cargo.lock")
		lock, err := os.ReadFile(lockPath)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, manifest, string(plain)+"pbox_extra = \"1\"\n", 0o644)
		chownTree(t, m, b.Project)

		// A crate added with a MAL record: blocked, the lockfile as it was.
		r, pr = build(mal)
		wantCode(t, r, 3, "cargo build after adding a crate with a MAL record")
		wantStderr(t, r, "pbox_extra")
		if slices.Contains(pr.phases(), "build") || slices.Contains(pr.phases(), "download") {
			t.Errorf("a blocked crate was fetched or built: %v", pr.phases())
		}
		if got, _ := os.ReadFile(lockPath); string(got) != string(lock) {
			t.Errorf("a blocked build changed Cargo.lock:\n%s", got)
		}

		// The dependency added: no attempt alone, every step, the crate built.
		r, pr = build(db)
		wantCode(t, r, 0, "cargo build after adding a dependency")
		if strings.Contains(r.Stderr, first) {
			t.Errorf("with a dependency Cargo.lock lacks, the build was tried alone first\n%s", r.Stderr)
		}
		if !slices.Equal(pr.phases(), []string{"resolve", "download", "build"}) {
			t.Errorf("cargo build after adding a dependency ran %v, want resolve, download, build", pr.phases())
		}
		if got, _ := os.ReadFile(lockPath); !strings.Contains(string(got), "pbox_extra") {
			t.Errorf("Cargo.lock lacks pbox_extra:\n%s", got)
		}
		if m, _ := filepath.Glob(filepath.Join(b.Project, "target", "debug", "deps", "libpbox_extra-*.rlib")); len(m) == 0 {
			t.Errorf("pbox_extra was not built\n%s", r.Stderr)
		}
	})
}

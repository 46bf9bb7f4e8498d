package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The everyday install made cheap (issue 12), asserted by what ran, never by time:
// `npm install` in an up-to-date project runs no step but still prechecks the
// lockfile; an install that adds a package builds only what it added or changed.

// speedReport is the part of --report these tests read.
type speedReport struct {
	Code     int    `json:"exit_code"`
	Reason   string `json:"reason"`
	UpToDate string `json:"up_to_date"`
	Steps    []struct {
		Phase string   `json:"phase"`
		Args  []string `json:"args"`
	} `json:"steps"`
	Precheck *struct {
		Verdict  string `json:"verdict"`
		Packages []struct {
			Name    string `json:"name"`
			Version string `json:"version"`
			Blocked bool   `json:"blocked"`
		} `json:"packages"`
	} `json:"precheck"`
}

func readSpeedReport(t testing.TB, path string) *speedReport {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("--report: %v", err)
	}
	var r speedReport
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("--report is not JSON: %v\n%s", err, data)
	}
	return &r
}

func (r *speedReport) phases() []string {
	var out []string
	for _, s := range r.Steps {
		out = append(out, s.Phase)
	}
	return out
}

// buildArgs are the argv of the report's build steps, joined.
func (r *speedReport) buildArgs() []string {
	var out []string
	for _, s := range r.Steps {
		if s.Phase == "build" {
			out = append(out, strings.Join(s.Args, " "))
		}
	}
	return out
}

// An installed project: `npm install` is up to date, runs no step, prechecks the
// lockfile and leaves the tree as it was (times included). Its twin, the same
// project whose hidden lockfile disagrees with the lockfile, runs the full steps
// and repairs node_modules; after that the next `npm install` is up to date again.
func TestSpeedNpmNothingToDo(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		wantCode(t, b.tool("", "npm", "install", "is-odd@3.0.1"), 0, "npm install is-odd")

		before := projectState(t, b.Project)
		rep := b.reportPath("noop.json")
		r := b.tool(rep, "npm", "install")
		wantCode(t, r, 0, "npm install with nothing to do")
		wantStderr(t, r, "up to date")
		pr := readSpeedReport(t, rep)
		if pr.UpToDate == "" || len(pr.Steps) != 0 {
			t.Errorf("nothing to do ran steps %v (up_to_date %q)", pr.phases(), pr.UpToDate)
		}
		if pr.Precheck == nil || pr.Precheck.Verdict != "pass" || len(pr.Precheck.Packages) < 2 {
			t.Errorf("nothing to do must still precheck the lockfile: %+v", pr.Precheck)
		}
		assertSameTree(t, before, projectState(t, b.Project), "an install with nothing to do")

		// The twin: node_modules lost is-number and the hidden lockfile says so.
		hidden := filepath.Join(b.Project, "node_modules", ".package-lock.json")
		var lock map[string]any
		data, err := os.ReadFile(hidden)
		if err != nil || json.Unmarshal(data, &lock) != nil {
			t.Fatalf("hidden lockfile: %v", err)
		}
		delete(lock["packages"].(map[string]any), "node_modules/is-number")
		data, _ = json.Marshal(lock)
		if err := os.WriteFile(hidden, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.RemoveAll(filepath.Join(b.Project, "node_modules", "is-number")); err != nil {
			t.Fatal(err)
		}
		rep = b.reportPath("stale.json")
		r = b.tool(rep, "npm", "install")
		wantCode(t, r, 0, "npm install in a project whose node_modules is not the lockfile's")
		pr = readSpeedReport(t, rep)
		// Registry packages only: the resolve step fetches too (managers/npmfetch.go).
		if pr.UpToDate != "" || !slices.Contains(pr.phases(), "resolve") {
			t.Errorf("a stale node_modules must get the full steps, ran %v (up_to_date %q)", pr.phases(), pr.UpToDate)
		}
		wantFile(t, filepath.Join(b.Project, "node_modules", "is-number", "package.json"), "is-number installed again")

		rep = b.reportPath("noop2.json")
		wantCode(t, b.tool(rep, "npm", "install"), 0, "npm install after the repair")
		if pr := readSpeedReport(t, rep); pr.UpToDate == "" || len(pr.Steps) != 0 {
			t.Errorf("after the repair, npm install ran %v (up_to_date %q)", pr.phases(), pr.UpToDate)
		}
	})
}

// A project that looks up to date gets no step, but its lockfile is still
// prechecked: a checkout whose package-lock.json and node_modules (made by bare npm,
// entirely consistent) hold a malicious is-number@7.0.0 is blocked, exit 3, nothing
// runs and nothing changes. The twin, the same project with is-number@6.0.0, is up
// to date.
func TestSpeedNpmUpToDateStillPrechecked(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		for _, tc := range []struct {
			version string
			code    int
		}{{"6.0.0", 0}, {"7.0.0", 3}} {
			t.Run(tc.version, func(t *testing.T) {
				b := newPMBox(t, m)
				writeFile(t, filepath.Join(b.Project, "package.json"), `{"name":"proj","version":"1.0.0","dependencies":{"is-number":"`+tc.version+`"}}`, 0o644)
				// The checkout as its author committed it: installed by bare npm.
				c := exec.Command("npm", "install", "--ignore-scripts", "--no-audit", "--no-fund")
				c.Dir = b.Project
				c.Env = append(os.Environ(), "HOME="+filepath.Dir(b.DB), "npm_config_update_notifier=false")
				if out, err := c.CombinedOutput(); err != nil {
					t.Fatalf("bare npm install: %v\n%s", err, out)
				}
				chownTree(t, m, b.Project)
				before := projectState(t, b.Project)
				rep := b.reportPath("report.json")
				r := b.tool(rep, "npm", "install")
				wantCode(t, r, tc.code, "npm install in a project that is up to date")
				pr := readSpeedReport(t, rep)
				if len(pr.Steps) != 0 {
					t.Errorf("ran steps %v", pr.phases())
				}
				assertSameTree(t, before, projectState(t, b.Project), "an up-to-date project")
				if tc.code == 0 {
					if pr.UpToDate == "" {
						t.Errorf("not up to date: %s", r.Stderr)
					}
					return
				}
				wantStderr(t, r, "is-number", "MAL-0000-PBOXIT1")
				blocked := false
				for _, p := range pr.Precheck.Packages {
					blocked = blocked || p.Name == "is-number" && p.Version == "7.0.0" && p.Blocked
				}
				if pr.Precheck.Verdict != "blocked" || !blocked || pr.UpToDate != "" {
					t.Errorf("is-number@7.0.0 is not reported blocked: %+v", pr)
				}
			})
		}
	})
}

// After `npm install X` only X's install script runs in the build: a package
// built by the install before is not built again (its script appends a line to
// built.txt each time it runs), and the build step's argv names only X. The twin:
// `npm rebuild` still rebuilds everything. A blocked package added to the same
// project is still blocked before anything is fetched.
func TestSpeedNpmBuildsOnlyWhatChanged(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		a := packSpeedFixture(t, b, "built-a")
		bb := packSpeedFixture(t, b, "built-b")
		builtA := filepath.Join(b.Project, "node_modules", "pbox-built-a", "built.txt")
		builtB := filepath.Join(b.Project, "node_modules", "pbox-built-b", "built.txt")
		lines := func(p string) int {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			return strings.Count(string(data), "built\n")
		}

		rep := b.reportPath("a.json")
		wantCode(t, b.tool(rep, "npm", "install", a), 0, "npm install built-a")
		if n := lines(builtA); n != 1 {
			t.Errorf("built-a's script ran %d times, want 1", n)
		}
		if args := readSpeedReport(t, rep).buildArgs(); len(args) != 1 || !strings.HasSuffix(args[0], " pbox-built-a") {
			t.Errorf("build steps %q, want one naming pbox-built-a", args)
		}

		rep = b.reportPath("b.json")
		wantCode(t, b.tool(rep, "npm", "install", bb), 0, "npm install built-b")
		if n := lines(builtA); n != 1 {
			t.Errorf("adding built-b ran built-a's script again (%d times in all)", n)
		}
		if n := lines(builtB); n != 1 {
			t.Errorf("built-b's script ran %d times, want 1", n)
		}
		args := readSpeedReport(t, rep).buildArgs()
		if len(args) != 1 || !strings.HasSuffix(args[0], " pbox-built-b") || strings.Contains(args[0], "pbox-built-a") {
			t.Errorf("build steps %q, want one naming only pbox-built-b", args)
		}

		wantCode(t, b.tool("", "npm", "rebuild"), 0, "npm rebuild")
		if lines(builtA) != 2 || lines(builtB) != 2 {
			t.Errorf("npm rebuild must rebuild every package: built-a %d, built-b %d runs", lines(builtA), lines(builtB))
		}

		before := projectState(t, b.Project)
		r := b.tool("", "npm", "install", "is-number@7.0.0")
		wantCode(t, r, 3, "adding a package with a MAL record")
		wantStderr(t, r, "MAL-0000-PBOXIT1")
		assertSameTree(t, before, projectState(t, b.Project), "a blocked install")
	})
}

// packSpeedFixture packs testdata/speed/NAME into the project's vendor dir and
// returns its path relative to the project ("./vendor/x-1.0.0.tgz").
func packSpeedFixture(t testing.TB, b *pmBox, name string) string {
	t.Helper()
	vendor := filepath.Join(b.Project, "vendor")
	if err := os.MkdirAll(vendor, 0o755); err != nil {
		t.Fatal(err)
	}
	c := exec.Command("npm", "pack", filepath.Join(pmFixtures.repo, "integration", "testdata", "speed", name), "--pack-destination", vendor, "--silent")
	c.Dir = vendor
	c.Env = append(os.Environ(), "HOME="+filepath.Dir(b.DB), "npm_config_update_notifier=false")
	out, err := c.Output()
	if err != nil {
		t.Fatalf("npm pack %s: %v\n%s", name, err, out)
	}
	f := strings.Fields(strings.TrimSpace(string(out)))
	if len(f) == 0 {
		t.Fatalf("npm pack %s printed no file name", name)
	}
	chownTree(t, b.Mode, vendor)
	return "./vendor/" + f[len(f)-1]
}

// `cargo build` with nothing to resolve or fetch is the build alone (issue 12): the
// committed Cargo.lock is prechecked and compiled offline, no resolve, no fetch —
// after a source edit too. The twin, a manifest the lockfile does not cover,
// throws that attempt away and runs every step. The precheck still runs: the same
// up-to-date project is blocked, with no step run, once its dependency is known
// to be malicious.
func TestSpeedCargoBuildNothingToResolve(t *testing.T) {
	t.Parallel()
	cargoNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		reg := cargoGreetRegistry(t)
		db := regMalDB(t, m, "crates.io")
		b := cargoProject(t, m, reg, "fn main() { println!(\"{}\", pbox_greet::greet()); }\n", "pbox_greet")
		rep := filepath.Join(b.Home, "report.json")
		build := func(db string) (result, *speedReport) {
			t.Helper()
			_ = os.Remove(rep)
			r := invocation{Mode: m, Args: []string{"--report", rep, "cargo", "build"}, Dir: b.Project, Home: b.Home,
				Env: []string{"PHYLUM_BOX_DB=" + db}, Timeout: 5 * time.Minute}.exec(t)
			return r, readSpeedReport(t, rep)
		}
		runBin := func() string {
			out, err := exec.Command(filepath.Join(b.Project, "target", "debug", "proj")).CombinedOutput()
			if err != nil {
				t.Fatalf("the built binary: %v %s", err, out)
			}
			return strings.TrimSpace(string(out))
		}
		r, pr := build(db)
		wantCode(t, r, 0, "the first cargo build")
		if !slices.Contains(pr.phases(), "resolve") || !slices.Contains(pr.phases(), "download") {
			t.Errorf("the first build (no Cargo.lock) ran %v, want every step", pr.phases())
		}

		r, pr = build(db)
		wantCode(t, r, 0, "cargo build with nothing changed")
		// Nothing changed since that build: no step at all (cargonoop.go).
		if len(pr.Steps) != 0 || pr.UpToDate == "" {
			t.Errorf("cargo build with nothing changed ran %v, want no step (up to date %q)", pr.phases(), pr.UpToDate)
		}
		writeFile(t, filepath.Join(b.Project, "src", "main.rs"), "fn main() { println!(\"again {}\", pbox_greet::greet()); }\n", 0o644)
		chownTree(t, m, b.Project)
		r, pr = build(db)
		wantCode(t, r, 0, "cargo build after a source edit")
		if !slices.Equal(pr.phases(), []string{"build"}) || runBin() != "again hello dep" {
			t.Errorf("cargo build after a source edit ran %v, binary %q", pr.phases(), runBin())
		}

		// The twin: a new direct dependency the lockfile does not record.
		manifest, err := os.ReadFile(filepath.Join(b.Project, "Cargo.toml"))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(b.Project, "Cargo.toml"), string(manifest)+"pbox_dep = \"1\"\n", 0o644)
		chownTree(t, m, b.Project)
		r, pr = build(db)
		wantCode(t, r, 0, "cargo build after adding a dependency")
		if !slices.Contains(pr.phases(), "resolve") || !slices.Contains(pr.phases(), "download") || strings.Contains(r.Stderr, "--frozen was passed") {
			t.Errorf("a manifest the lockfile does not cover ran %v, want every step (and no word of the attempt)\n%s", pr.phases(), r.Stderr)
		}

		before := projectState(t, b.Project)
		r, pr = build(regMalDB(t, m, "crates.io", "pbox_dep"))
		wantCode(t, r, 3, "cargo build of an up-to-date project whose dependency is malicious")
		if len(pr.Steps) != 0 {
			t.Errorf("a blocked build ran %v", pr.phases())
		}
		assertSameTree(t, before, projectState(t, b.Project), "a blocked build")
	})
}

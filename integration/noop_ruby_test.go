package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Nothing to do for bundle (issue 12): `bundle install` of a declarative Gemfile
// whose lockfile is installed in vendor/bundle prechecks the lockfile and runs no
// step, not even the Gemfile's offline evaluation; with a gem added to the Gemfile
// every step runs; an installed project holding a gem with a MAL record is still
// blocked.

func (b *box) bundleReport(db, report string, args ...string) result {
	b.t.Helper()
	return invocation{Mode: b.Mode, Args: append([]string{"--report", report, "bundle"}, args...), Dir: b.Project, Home: b.Home,
		Env: []string{"PHYLUM_BOX_DB=" + db}, Timeout: 5 * time.Minute}.exec(b.t)
}

func TestNoopBundleNothingToDo(t *testing.T) {
	t.Parallel()
	bundleNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		gs := bundleGreetSource(t)
		gs.AddGem("pbox_extra", "1.0.0", nil, map[string]string{"lib/pbox_extra.rb": "module PboxExtra; end\n"}, "")
		db := regMalDB(t, m, "RubyGems")
		mal := regMalDB(t, m, "RubyGems", "pbox_dep")
		b := bundleProject(t, m, gs, "pbox_greet")
		wantCode(t, b.bundle(db, "install"), 0, "bundle install")

		before := treeHash(t, b.Project, true)
		rep := noopReportFile(t, m, "noop.json")
		r := b.bundleReport(db, rep, "install")
		wantCode(t, r, 0, "bundle install with nothing to do")
		wantStderr(t, r, "up to date")
		pr := readSpeedReport(t, rep)
		if pr.UpToDate == "" || len(pr.Steps) != 0 {
			lock, _ := os.ReadFile(filepath.Join(b.Project, "Gemfile.lock"))
			t.Errorf("nothing to do ran steps %v (up_to_date %q)\n%s\n%s", pr.phases(), pr.UpToDate, r.Stderr, lock)
		}
		if pr.Precheck == nil || pr.Precheck.Verdict != "pass" || len(pr.Precheck.Packages) != 2 {
			t.Errorf("nothing to do must still precheck the lockfile: %+v", pr.Precheck)
		}
		assertSameTree(t, before, treeHash(t, b.Project, true), "an install with nothing to do")

		rep = noopReportFile(t, m, "mal.json")
		r = b.bundleReport(mal, rep, "install")
		wantCode(t, r, 3, "an installed project holding a gem with a MAL record")
		wantStderr(t, r, "pbox_dep")
		if pr := readSpeedReport(t, rep); len(pr.Steps) != 0 || pr.UpToDate != "" {
			t.Errorf("a blocked up-to-date project ran %v (up_to_date %q)", pr.phases(), pr.UpToDate)
		}
		assertSameTree(t, before, treeHash(t, b.Project, true), "a blocked up-to-date project")

		gf := filepath.Join(b.Project, "Gemfile")
		data, err := os.ReadFile(gf)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, gf, string(data)+"gem \"pbox_extra\", \"~> 1.0\"\n", 0o644)
		chownTree(t, m, b.Project)
		rep = noopReportFile(t, m, "added.json")
		r = b.bundleReport(db, rep, "install")
		wantCode(t, r, 0, "bundle install after adding a gem")
		if pr := readSpeedReport(t, rep); pr.UpToDate != "" || len(pr.Steps) == 0 {
			t.Errorf("a changed Gemfile must get the full steps, ran %v (up_to_date %q)", pr.phases(), pr.UpToDate)
		}
		if gemDir(t, b.Project, "pbox_extra-1.0.0") == "" {
			t.Errorf("pbox_extra was not installed\n%s", r)
		}
		rep = noopReportFile(t, m, "noop2.json")
		r = b.bundleReport(db, rep, "install")
		wantCode(t, r, 0, "bundle install after that")
		if pr := readSpeedReport(t, rep); pr.UpToDate == "" || len(pr.Steps) != 0 {
			t.Errorf("after installing pbox_extra, bundle ran %v (up_to_date %q)\n%s", pr.phases(), pr.UpToDate, r.Stderr)
		}
		// A Gemfile that is code, not declarations, is evaluated by the full steps.
		writeFile(t, gf, string(data)+"gem \"pbox_extra\", \"~> 1.0\" if ENV.fetch(\"PBOX\", \"1\") == \"1\"\n", 0o644)
		chownTree(t, m, b.Project)
		rep = noopReportFile(t, m, "code.json")
		wantCode(t, b.bundleReport(db, rep, "install"), 0, "bundle install of a Gemfile that is code")
		if pr := readSpeedReport(t, rep); pr.UpToDate != "" || !strings.Contains(strings.Join(pr.phases(), " "), "evaluate") {
			t.Errorf("a Gemfile that is code must be evaluated, ran %v (up_to_date %q)", pr.phases(), pr.UpToDate)
		}
	})
}

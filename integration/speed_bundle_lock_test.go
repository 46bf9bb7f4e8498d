package integration

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// `bundle install` from a committed Gemfile.lock (issue 12): when the Gemfile is
// plain declarations whose resolution the lockfile already is, the lockfile is
// prechecked and only the download and the offline build run (no evaluate, no
// resolve). A Gemfile that asks for something else, or that is code, gets every
// step; a locked gem with a MAL record is blocked before anything is fetched.

func TestSpeedBundleFromLockfile(t *testing.T) {
	t.Parallel()
	bundleNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		gs := bundleGreetSource(t)
		gs.AddGem("pbox_extra", "1.0.0", nil, map[string]string{"lib/pbox_extra.rb": "module PboxExtra; end\n"}, "")
		db := regMalDB(t, m, "RubyGems")
		mal := regMalDB(t, m, "RubyGems", "pbox_dep")
		b := bundleProject(t, m, gs, "pbox_greet")
		lockPath, lock, removeGems := bundleInstalledLock(t, b, db)

		// The lockfile, installed as it is: download and build only.
		removeGems()
		rep := noopReportFile(t, m, "lock.json")
		r := b.bundleReport(db, rep, "install")
		wantCode(t, r, 0, "bundle install from Gemfile.lock")
		pr := readSpeedReport(t, rep)
		if !slices.Equal(pr.phases(), []string{"download", "build"}) {
			t.Errorf("installing the committed lockfile ran %v, want download and build only\n%s", pr.phases(), r.Stderr)
		}
		if pr.Precheck == nil || pr.Precheck.Verdict != "pass" || len(pr.Precheck.Packages) != 2 {
			t.Errorf("the lockfile must be prechecked: %+v", pr.Precheck)
		}
		if gemDir(t, b.Project, "pbox_greet-1.0.0") == "" || gemDir(t, b.Project, "pbox_dep-1.0.0") == "" {
			t.Errorf("the locked gems were not installed\n%s", r)
		}
		if got, _ := os.ReadFile(lockPath); string(got) != string(lock) {
			t.Errorf("Gemfile.lock changed:\n%s\nwas\n%s", got, lock)
		}
		rep = noopReportFile(t, m, "noop.json")
		wantCode(t, b.bundleReport(db, rep, "install"), 0, "bundle install after that")
		if pr := readSpeedReport(t, rep); pr.UpToDate == "" {
			t.Errorf("after installing the lockfile, bundle ran %v", pr.phases())
		}

		// A locked gem with a MAL record: blocked, nothing fetched or installed.
		removeGems()
		before := treeHash(t, b.Project, true)
		rep = noopReportFile(t, m, "mal.json")
		r = b.bundleReport(mal, rep, "install")
		wantCode(t, r, 3, "a committed lockfile holding a gem with a MAL record")
		wantStderr(t, r, "pbox_dep")
		if pr := readSpeedReport(t, rep); len(pr.Steps) != 0 {
			t.Errorf("a blocked lockfile ran %v", pr.phases())
		}
		assertSameTree(t, before, treeHash(t, b.Project, true), "a blocked install from the lockfile")

		// The twin: a gem the lockfile does not have gets every step.
		gf := filepath.Join(b.Project, "Gemfile")
		plain, err := os.ReadFile(gf)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, gf, string(plain)+"gem \"pbox_extra\"\n", 0o644)
		chownTree(t, m, b.Project)
		rep = noopReportFile(t, m, "added.json")
		r = b.bundleReport(db, rep, "install")
		wantCode(t, r, 0, "bundle install after adding a gem")
		if ph := readSpeedReport(t, rep).phases(); !slices.Contains(ph, "evaluate") || !slices.Contains(ph, "resolve") {
			t.Errorf("a Gemfile the lockfile does not resolve must be evaluated and resolved, ran %v", ph)
		}
		if gemDir(t, b.Project, "pbox_extra-1.0.0") == "" {
			t.Errorf("pbox_extra was not installed\n%s", r)
		}
	})
}

// A Gemfile whose declarations match its lockfile but which also runs code: the
// code must never run in a step with the network (it would reach the listener);
// the Gemfile is evaluated offline and the download reads the plain Gemfile
// written from it. Its twin is the plain Gemfile of TestSpeedBundleFromLockfile.
func TestSpeedBundleFromLockfileCodeGemfile(t *testing.T) {
	t.Parallel()
	bundleNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		gs := bundleGreetSource(t)
		canary := regStartCanary(t)
		db := regMalDB(t, m, "RubyGems")
		b := bundleProject(t, m, gs, "pbox_greet")
		containmentOnly(t, m, b.Home) // the sandbox alone: a hostile fixture
		wantCode(t, b.bundle(db, "install"), 0, "bundle install")
		if err := os.RemoveAll(filepath.Join(b.Project, "vendor", "bundle")); err != nil {
			t.Fatal(err)
		}
		gf := filepath.Join(b.Project, "Gemfile")
		plain, err := os.ReadFile(gf)
		if err != nil {
			t.Fatal(err)
		}
		code := "begin; require \"socket\"; TCPSocket.new(\"127.0.0.1\", " + strconv.Itoa(canary.Port) + ").write(\"gemfile-ran-with-network\"); rescue StandardError; end\n"
		writeFile(t, gf, string(plain)+code, 0o644)
		chownTree(t, m, b.Project)
		rep := noopReportFile(t, m, "code.json")
		r := b.bundleReport(db, rep, "install")
		wantCode(t, r, 0, "bundle install of a Gemfile that is code")
		if ph := readSpeedReport(t, rep).phases(); !slices.Contains(ph, "evaluate") {
			t.Errorf("a Gemfile that is code must be evaluated offline, ran %v", ph)
		}
		for _, got := range canary.Got() {
			if strings.Contains(got, "gemfile-ran") {
				t.Errorf("the Gemfile's code ran with the network: %q", got)
			}
		}
		if gemDir(t, b.Project, "pbox_greet-1.0.0") == "" {
			t.Errorf("the locked gems were not installed\n%s", r)
		}
	})
}

// bundleInstalledLock installs b's Gemfile with phylum-box and returns the
// Gemfile.lock it wrote (path and content) and a func that removes the installed
// gems (vendor/bundle), so the next install starts from the lockfile alone.
func bundleInstalledLock(t *testing.T, b *box, db string) (lockPath string, lock []byte, removeGems func()) {
	t.Helper()
	wantCode(t, b.bundle(db, "install"), 0, "bundle install")
	lockPath = filepath.Join(b.Project, "Gemfile.lock")
	lock, err := os.ReadFile(lockPath)
	if err != nil {
		t.Fatal(err)
	}
	vendor := filepath.Join(b.Project, "vendor", "bundle")
	return lockPath, lock, func() {
		t.Helper()
		if err := os.RemoveAll(vendor); err != nil {
			t.Fatal(err)
		}
	}
}

package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// `bundle install` from a committed Gemfile.lock downloads the locked gems with
// curl instead of a Bundler run (managers/bundlefastfetch.go, issue 12): the gem
// server sees only the .gem files' GETs (Bundler would read its index first),
// the gems install, a native extension is compiled in the offline build (its
// extconf.rb cannot reach the network), a gem with a MAL record in the lockfile
// is blocked before any .gem is fetched, and the user's proxy setting (which curl
// and Bundler read differently) keeps Bundler's own download.

// bundleFastExtconf tries the canary (it must fail: the build has no network),
// records what happened beside itself, and writes a real C extension's Makefile.
const bundleFastExtconf = `require "mkmf"
net = begin
  require "socket"
  TCPSocket.new("127.0.0.1", @CANARY@).write("extconf-ran-with-network")
  "reached"
rescue StandardError, SystemCallError
  "blocked"
end
File.write(File.join(__dir__, "pbox_fx_net.txt"), net)
create_makefile("pbox_fx")
`

const bundleFastC = `#include <ruby.h>
static VALUE fx_answer(VALUE self) { return INT2FIX(42); }
void Init_pbox_fx(void) { rb_define_global_function("pbox_fx_answer", fx_answer, 0); }
`

func TestBundleFastFetch(t *testing.T) {
	t.Parallel()
	bundleNeed(t)
	if _, err := os.Stat("/usr/bin/curl"); err != nil {
		skipf(t, "curl is missing")
	}
	forEachMode(t, func(t *testing.T, m mode) {
		gs := bundleGreetSource(t)
		canary := regStartCanary(t)
		gs.AddGem("pbox_fx", "1.0.0", nil, map[string]string{
			"ext/pbox_fx/extconf.rb": strings.ReplaceAll(bundleFastExtconf, "@CANARY@", strconv.Itoa(canary.Port)),
			"ext/pbox_fx/pbox_fx.c":  bundleFastC,
			"lib/pbox_fx_loader.rb":  "require \"pbox_fx\"\n",
		}, "ext/pbox_fx/extconf.rb")
		db := regMalDB(t, m, "RubyGems")
		mal := regMalDB(t, m, "RubyGems", "pbox_dep")
		b := bundleProject(t, m, gs, "pbox_greet", "pbox_fx")
		containmentOnly(t, m, b.Home) // the sandbox alone: the extconf.rb tries the network
		lockPath, lock, removeGems := bundleInstalledLock(t, b, db)
		downloadArgs := func(pr *speedReport) string {
			for _, s := range pr.Steps {
				if s.Phase == "download" {
					return strings.Join(s.Args, " ")
				}
			}
			return ""
		}

		// From the lockfile: curl fetches the three .gem files and nothing else.
		removeGems()
		hits := len(gs.Hits())
		rep := noopReportFile(t, m, "fast.json")
		r := b.bundleReport(db, rep, "install")
		wantCode(t, r, 0, "bundle install from Gemfile.lock")
		pr := readSpeedReport(t, rep)
		if !slices.Equal(pr.phases(), []string{"download", "build"}) {
			t.Errorf("installing the committed lockfile ran %v, want download and build\n%s", pr.phases(), r.Stderr)
		}
		if a := downloadArgs(pr); !strings.Contains(a, "curl") || strings.Contains(a, "bundle cache") {
			t.Errorf("the download step is not curl's: %s", a)
		}
		var got []string
		for _, h := range gs.Hits()[hits:] {
			got = append(got, h)
			if !strings.Contains(h, "/gems/") || !strings.HasSuffix(h, ".gem") {
				t.Errorf("the download asked the gem server for %s: only the locked .gem files are fetched", h)
			}
		}
		if len(got) != 3 {
			t.Errorf("the download fetched %q, want the three locked gems", got)
		}
		for _, g := range []string{"pbox_greet-1.0.0", "pbox_dep-1.0.0", "pbox_fx-1.0.0"} {
			if gemDir(t, b.Project, g) == "" {
				t.Errorf("%s was not installed\n%s", g, r)
			}
		}
		if fx := gemDir(t, b.Project, "pbox_fx-1.0.0"); fx != "" {
			if net, err := os.ReadFile(filepath.Join(fx, "ext", "pbox_fx", "pbox_fx_net.txt")); err != nil || string(net) != "blocked" {
				t.Errorf("the extconf.rb did not run offline: %q %v", net, err)
			}
		}
		for _, g := range canary.Got() {
			t.Errorf("the native extension's build reached the network: %q", g)
		}
		if got, _ := os.ReadFile(lockPath); string(got) != string(lock) {
			t.Errorf("Gemfile.lock changed:\n%s\nwas\n%s", got, lock)
		}
		if pathExists(filepath.Join(b.Project, ".phylum-box-bundle")) {
			t.Error("the download dir was synced back")
		}
		c := exec.Command("bundle", "exec", "ruby", "-e", "require 'pbox_greet'; require 'pbox_fx'; puts PboxGreet.greet, pbox_fx_answer")
		c.Dir = b.Project
		c.Env = append(os.Environ(), "HOME="+b.Home)
		if out, err := c.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "hello dep\n42" {
			t.Errorf("bundle exec after the install (the C extension built): %v %s", err, out)
		}

		// A locked gem with a MAL record: blocked, no .gem fetched, nothing synced.
		removeGems()
		before := treeHash(t, b.Project, true)
		hits = len(gs.Hits())
		rep = noopReportFile(t, m, "mal.json")
		r = b.bundleReport(mal, rep, "install")
		wantCode(t, r, 3, "a committed lockfile holding a gem with a MAL record")
		wantStderr(t, r, "pbox_dep")
		if pr := readSpeedReport(t, rep); len(pr.Steps) != 0 {
			t.Errorf("a blocked lockfile ran %v", pr.phases())
		}
		if h := gs.Hits()[hits:]; len(h) != 0 {
			t.Errorf("a blocked lockfile fetched %q", h)
		}
		assertSameTree(t, before, treeHash(t, b.Project, true), "a blocked install from the lockfile")

		// The twin: a proxy setting of the user's keeps Bundler's own download
		// (the proxy names nothing: the gem server is plain http, which
		// https_proxy does not cover for Bundler or curl).
		removeGems()
		rep = noopReportFile(t, m, "proxy.json")
		r = invocation{Mode: b.Mode, Args: []string{"--report", rep, "bundle", "install"}, Dir: b.Project, Home: b.Home,
			Env: []string{"PHYLUM_BOX_DB=" + db, "https_proxy=http://127.0.0.1:9"}}.exec(t)
		wantCode(t, r, 0, "bundle install from Gemfile.lock with https_proxy set")
		if a := downloadArgs(readSpeedReport(t, rep)); !strings.Contains(a, "bundle cache") {
			t.Errorf("with a proxy setting the download is not Bundler's: %s", a)
		}
		if gemDir(t, b.Project, "pbox_fx-1.0.0") == "" || gemDir(t, b.Project, "pbox_greet-1.0.0") == "" {
			t.Errorf("the locked gems were not installed\n%s", r)
		}
	})
}

// A lockfile whose gem versions name paths: the fast download is not taken (the
// names are not file names) and nothing is written outside the project.
func TestBundleFastFetchHostileLockfile(t *testing.T) {
	t.Parallel()
	bundleNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		gs := bundleGreetSource(t)
		db := regMalDB(t, m, "RubyGems")
		b := bundleProject(t, m, gs, "pbox_greet")
		wantCode(t, b.bundle(db, "install"), 0, "bundle install")
		lockPath := filepath.Join(b.Project, "Gemfile.lock")
		lock, err := os.ReadFile(lockPath)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.RemoveAll(filepath.Join(b.Project, "vendor", "bundle")); err != nil {
			t.Fatal(err)
		}
		hostile := strings.Replace(string(lock), "pbox_dep (1.0.0)", "pbox_dep (1.0.0/../../../../escaped)", 1)
		writeFile(t, lockPath, hostile, 0o644)
		chownTree(t, m, b.Project)
		outside := filepath.Join(filepath.Dir(b.Project), "escaped.gem")
		rep := noopReportFile(t, m, "hostile.json")
		r := b.bundleReport(db, rep, "install")
		if r.Code == 0 {
			t.Errorf("a lockfile with a path for a version installed:\n%s", r)
		}
		for _, s := range readSpeedReport(t, rep).Steps {
			if strings.Contains(strings.Join(s.Args, " "), "curl") {
				t.Errorf("curl ran for a lockfile with a path for a version: %q", s.Args)
			}
		}
		if pathExists(outside) {
			t.Errorf("%s was written", outside)
		}
		for _, h := range gs.Hits() {
			if strings.Contains(h, "escaped") {
				t.Errorf("the gem server was asked for %s", h)
			}
		}
	})
}

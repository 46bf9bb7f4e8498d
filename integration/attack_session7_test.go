package integration

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Attacks on the speed paths of sessions 5 and 6 (issue 12): the Bundler install
// from a committed Gemfile.lock and the nothing-to-do check, which decide on the
// host from project files read as data.

// A project's .bundle/config names BUNDLE_PATH, a directory whose name the
// checkout chose: the up-to-date line (default verbosity) and -v's notes printed
// it raw, so its escape sequences reached the terminal. Asserted: the install
// and the nothing-to-do run work with that path, and neither prints an escape
// byte; -v neither, with a Gemfile.lock section line made of escapes. Root and
// rootless.
func TestAttackSession7BundlePathEscapes(t *testing.T) {
	t.Parallel()
	bundleNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		gs := bundleGreetSource(t)
		db := regMalDB(t, m, "RubyGems")
		b := bundleProject(t, m, gs, "pbox_greet")
		gemPath := "gems/\x1b]0;PWNED\x07\x1b[31mred"
		writeFile(t, filepath.Join(b.Project, ".bundle", "config"), "---\nBUNDLE_PATH: \""+gemPath+"\"\n", 0o644)
		chownTree(t, m, b.Project)
		r := b.bundle(db, "install")
		wantCode(t, r, 0, "bundle install into a path with escapes in its name")
		// (not filepath.Glob: "[31m" is a character class to it)
		abis, _ := os.ReadDir(filepath.Join(b.Project, gemPath, "ruby"))
		if len(abis) != 1 || !pathExists(filepath.Join(b.Project, gemPath, "ruby", abis[0].Name(), "gems", "pbox_greet-1.0.0")) {
			t.Fatalf("pbox_greet was not installed in %q\n%s", gemPath, r)
		}
		// phylum-box's own lines; Bundler's output is passed through as bare
		// Bundler prints it ("Bundled gems are installed into `./gems/…`").
		noEscape := func(what string, r result) {
			t.Helper()
			for _, l := range strings.Split(r.Stderr, "\n") {
				if strings.HasPrefix(l, "[phylum-box") && strings.ContainsAny(l, "\x1b\x07") {
					t.Errorf("%s printed the checkout's terminal escapes: %q", what, l)
				}
			}
		}
		noEscape("the install", r)

		rep := noopReportFile(t, m, "noop.json")
		r = b.bundleReport(db, rep, "install")
		wantCode(t, r, 0, "bundle install with nothing to do")
		if pr := readSpeedReport(t, rep); pr.UpToDate == "" || len(pr.Steps) != 0 {
			t.Errorf("the installed project is not up to date: ran %v\n%s", pr.phases(), r.Stderr)
		}
		wantStderr(t, r, `gems/\x1b]0;PWNED\x07\x1b[31mred holds the 2 gem(s)`)
		noEscape("the up-to-date run", r)

		// -v, with a lockfile section line of escapes: every step runs (the
		// lockfile is not read as current), and its notes print the line escaped.
		lockPath := filepath.Join(b.Project, "Gemfile.lock")
		lock, err := os.ReadFile(lockPath)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, lockPath, string(lock)+"\n\x1b]0;OWNED\x07\x1b[2J\n  x\n", 0o644)
		chownTree(t, m, b.Project)
		r = invocation{Mode: b.Mode, Args: []string{"-v", "bundle", "install"}, Dir: b.Project, Home: b.Home,
			Env: []string{"PHYLUM_BOX_DB=" + db}}.exec(t)
		wantStderr(t, r, `\x1b]0;OWNED\x07\x1b[2J`)
		noEscape("-v with a lockfile line of escapes", r)
	})
}

// A Gemfile whose declarations are the lockfile's, with code joined to a
// declaration the ways Ruby joins lines (a trailing comma, a leading dot, a
// backslash, a semicolon): the host's reading must not take it for plain
// declarations, so it is evaluated offline and the code never reaches the
// network (the canary). The plain twin installs from the lockfile with download
// and build only. Root and rootless.
func TestAttackSession7BundleFromLockJoinedLines(t *testing.T) {
	t.Parallel()
	bundleNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		gs := bundleGreetSource(t)
		canary := regStartCanary(t)
		db := regMalDB(t, m, "RubyGems")
		b := bundleProject(t, m, gs, "pbox_greet")
		containmentOnly(t, m, b.Home)
		wantCode(t, b.bundle(db, "install"), 0, "bundle install")
		gf := filepath.Join(b.Project, "Gemfile")
		plain, err := os.ReadFile(gf)
		if err != nil {
			t.Fatal(err)
		}
		vendor := filepath.Join(b.Project, "vendor", "bundle")
		send := func(tag string) string {
			return "(begin; require \"socket\"; TCPSocket.new(\"127.0.0.1\", " + strconv.Itoa(canary.Port) + ").write(\"" + tag + "\"); rescue StandardError; end; nil)"
		}
		src, _, _ := strings.Cut(string(plain), "\n")
		for _, c := range []struct{ name, gemfile string }{
			{"plain-twin", string(plain)},
			{"trailing-comma", src + "\ngem \"pbox_greet\",\n  require: " + send("trailing-comma") + "\n"},
			{"leading-dot", src + "\ngem \"pbox_greet\"\n  .then { |s| " + send("leading-dot") + "; s }\n"},
			{"backslash", src + "\ngem \"pbox_greet\" \\\n  if " + send("backslash") + ".nil?\n"},
			{"interpolation", src + "\ngem \"pbox_greet\", require: \"#{" + send("interpolation") + "}pbox_greet\"\n"},
		} {
			t.Run(c.name, func(t *testing.T) {
				if err := os.RemoveAll(vendor); err != nil {
					t.Fatal(err)
				}
				writeFile(t, gf, c.gemfile, 0o644)
				chownTree(t, m, b.Project)
				rep := noopReportFile(t, m, c.name+".json")
				r := b.bundleReport(db, rep, "install")
				wantCode(t, r, 0, "bundle install")
				ph := readSpeedReport(t, rep).phases()
				if c.name == "plain-twin" {
					if !slices.Equal(ph, []string{"download", "build"}) {
						t.Errorf("the plain Gemfile ran %v, want download and build only\n%s", ph, r.Stderr)
					}
				} else if !slices.Contains(ph, "evaluate") {
					t.Errorf("a Gemfile that is code was not evaluated offline: ran %v", ph)
				}
				if gemDir(t, b.Project, "pbox_greet-1.0.0") == "" {
					t.Errorf("pbox_greet was not installed\n%s", r)
				}
			})
		}
		for _, got := range canary.Got() {
			t.Errorf("a Gemfile's code reached the network: %q", got)
		}
	})
}

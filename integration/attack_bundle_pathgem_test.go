package integration

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The evaluate step's JSON is written by the project's Gemfile (Ruby): it can say
// anything. A path source's list of gemspec files, and its path as written in the
// declarative Gemfile, must not be taken from it: a gemspec the list leaves out
// would be loaded, as Ruby, by Bundler in the resolve step (network, credentials).

// bundleTamperJSON makes the evaluator print a path source with no gemspec files
// (JSON.generate is redefined by the Gemfile before the evaluator calls it).
const bundleTamperJSON = `
::JSON.singleton_class.class_eval do
    alias_method :pbox_orig_generate, :generate
    define_method(:generate) do |o, *a|
      (o["sources"] || []).each {|s| s["files"] = [] if s.is_a?(Hash) && s["type"] == "path" }
      pbox_orig_generate(o, *a)
    end
end
`

// bundleTamperPath points the declarative Gemfile's path at another directory of
// the project than the one whose gemspecs were replaced.
const bundleTamperPath = `
::JSON.singleton_class.class_eval do
    alias_method :pbox_orig_generate, :generate
    define_method(:generate) do |o, *a|
      (o["sources"] || []).each {|s| s["path"] = "evil" if s.is_a?(Hash) && s["type"] == "path" }
      (o["dependencies"] || []).each {|d| d["source"]["path"] = "evil" if d["source"].is_a?(Hash) && d["source"]["type"] == "path" }
      pbox_orig_generate(o, *a)
    end
end
`

func bundleCanarySpec(port int, name string) string {
	return `begin
  require "socket"
  s = TCPSocket.new("127.0.0.1", ` + strconv.Itoa(port) + `)
  s.write("gemspec-connect")
  s.close
  $stderr.puts "PBOX-GEMSPEC canary=OK"
rescue Exception => e
  $stderr.puts "PBOX-GEMSPEC canary=FAIL #{e.class}"
end
Gem::Specification.new do |s|
  s.name = "` + name + `"
  s.version = "0.1.0"
  s.summary = "x"
  s.authors = ["pbox"]
  s.files = []
  s.add_dependency "pbox_greet", "~> 1.0"
end
`
}

func TestBundleEvaluatedJSONTamperedPathGem(t *testing.T) {
	t.Parallel()
	bundleNeed(t)
	for _, c := range []struct{ name, tamper, want string }{
		{"files", bundleTamperJSON, "matches its glob but was not evaluated"},
		{"path", bundleTamperPath, "is not the directory"},
		{"legit", "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			forEachMode(t, func(t *testing.T, m mode) {
				gs := bundleGreetSource(t)
				canary := regStartCanary(t)
				db := regMalDB(t, m, "RubyGems")
				b := regNewBox(t, m)
				writeFile(t, filepath.Join(b.Project, "Gemfile"), "source "+strconv.Quote(gs.URL)+"\ngem \"pbox_mine\", path: \"mine\"\n"+c.tamper, 0o644)
				writeFile(t, filepath.Join(b.Project, "mine", "pbox_mine.gemspec"), bundleCanarySpec(canary.Port, "pbox_mine"), 0o644)
				writeFile(t, filepath.Join(b.Project, "evil", "pbox_mine.gemspec"), bundleCanarySpec(canary.Port, "pbox_mine"), 0o644)
				chownTree(t, m, b.Home)
				r := b.bundle(db, "install")
				all := r.Stdout + r.Stderr
				if strings.Contains(all, "canary=OK") {
					t.Errorf("a gemspec ran with the network\n%s", r)
				}
				if got := canary.Got(); len(got) > 0 {
					t.Errorf("a gemspec reached a loopback listener: %q", got)
				}
				if c.tamper == "" {
					wantCode(t, r, 0, "a path gem inside the project")
					if gemDir(t, b.Project, "pbox_greet-1.0.0") == "" {
						t.Errorf("pbox_greet is not installed\n%s", r)
					}
				} else {
					wantCode(t, r, 2, "a tampered description")
					wantStderr(t, r, c.want)
					if _, err := os.Stat(filepath.Join(b.Project, "Gemfile.lock")); err == nil {
						t.Errorf("Gemfile.lock written\n%s", r)
					}
				}
			})
		})
	}
}

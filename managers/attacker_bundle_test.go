package managers

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Attacks on the Bundler speed paths (issue 12, session 7 review): the host reads
// the Gemfile as data to decide that nothing needs evaluating (bundlefromlock.go)
// or doing (bundlenoop.go). Each Gemfile below runs code when Bundler evaluates
// it (checked with the real Bundler DSL when ruby is here); the host's reading
// must refuse every one, so that it gets the offline evaluation, while its plain
// twin is read as the lockfile's resolution.

const attackerLock = "GEM\n  remote: https://rubygems.org/\n  specs:\n    rack (1.0.0)\n\nPLATFORMS\n  x86_64-linux\n\nDEPENDENCIES\n  rack\n\nBUNDLED WITH\n   2.3.15\n"

// attackerPayload writes the file named by $MARK when Ruby runs it.
const attackerPayload = `File.write(ENV.fetch("MARK"), "ran")`

var attackerGemfiles = map[string]string{
	"interpolation in require":    "source \"https://rubygems.org\"\ngem \"rack\", require: \"#{" + attackerPayload + "}\"\n",
	"interpolation in version":    "source \"https://rubygems.org\"\ngem \"rack\", \">= #{" + attackerPayload + "; 0}\"\n",
	"interpolation in source":     "source \"https://rubygems.org#{" + attackerPayload + "; ''}\"\ngem \"rack\"\n",
	"percent literal":             "source \"https://rubygems.org\"\ngem \"rack\", require: %Q(#{" + attackerPayload + "})\n",
	"heredoc":                     "source \"https://rubygems.org\"\ngem \"rack\", require: <<~R\n  #{" + attackerPayload + "}\nR\n",
	"backslash continuation":      "source \"https://rubygems.org\"\ngem \"rack\" \\\n  if " + attackerPayload + "\n",
	"trailing comma continuation": "source \"https://rubygems.org\"\ngem \"rack\",\n  require: " + attackerPayload + " && false\n",
	"leading dot chain":           "source \"https://rubygems.org\"\ngem \"rack\"\n  .then { " + attackerPayload + " }\n",
	"semicolon":                   "source \"https://rubygems.org\"\ngem \"rack\"; " + attackerPayload + "\n",
	"CRLF":                        "source \"https://rubygems.org\"\r\ngem \"rack\"\r\n" + attackerPayload + "\r\n",
	"BOM":                         "\ufeff" + attackerPayload + "\nsource \"https://rubygems.org\"\ngem \"rack\"\n",
	"parenthesised call":          "source \"https://rubygems.org\"\ngem(\"rack\", require: " + attackerPayload + " && false)\n",
	"group block parameter":       "source \"https://rubygems.org\"\ngroup :default do |g| " + attackerPayload + "\ngem \"rack\"\nend\n",
	"modifier if":                 "source \"https://rubygems.org\"\ngem \"rack\" if " + attackerPayload + "\n",
	"instance_eval":               "source \"https://rubygems.org\"\ngem \"rack\"\ninstance_eval(%q(" + attackerPayload + "))\n",
	"backticks":                   "source \"https://rubygems.org\"\ngem \"rack\", require: `true`.to_s + " + attackerPayload + ".to_s\n",
	"symbol interpolation":        "source \"https://rubygems.org\"\ngem \"rack\", require: :\"#{" + attackerPayload + "}\"\n",
	"global in string":            "source \"https://rubygems.org\"\n$x = " + attackerPayload + "\ngem \"rack\", require: \"#$x\"\n",
	"tab then code":               "source \"https://rubygems.org\"\ngem \"rack\"\t;" + attackerPayload + "\n",
	"vertical tab separator":      "source \"https://rubygems.org\"\ngem \"rack\"\v\n" + attackerPayload + "\n",
}

func TestAttackerBundleGemfileIsCode(t *testing.T) {
	root := t.TempDir()
	plain := "source \"https://rubygems.org\"\n# a comment \"with quotes\"\ngroup :test, :development do\n  gem \"rack\" # trailing\nend\n"
	if _, why := bundleLockedGemfile(root, "Gemfile", "Gemfile.lock", []byte(plain), []byte(attackerLock)); why != "" {
		t.Fatalf("the plain twin is not read as the lockfile's resolution: %s", why)
	}
	for name, gf := range attackerGemfiles {
		t.Run(name, func(t *testing.T) {
			if gen, why := bundleLockedGemfile(root, "Gemfile", "Gemfile.lock", []byte(gf), []byte(attackerLock)); why == "" {
				t.Errorf("a Gemfile that is code was read as plain declarations; the download would read:\n%s", gen)
			}
			if _, _, _, why := bundleLockCurrent("Gemfile", "Gemfile.lock", []byte(gf), []byte(attackerLock), bundleLocalPlatforms()); why == "" {
				t.Errorf("a Gemfile that is code counts as current for the nothing-to-do check")
			}
		})
	}
}

// The premise: Bundler's own DSL runs each Gemfile's code (offline, no resolve).
func TestAttackerBundleGemfileIsCodePremise(t *testing.T) {
	if _, err := exec.LookPath("ruby"); err != nil {
		t.Skip("no ruby")
	}
	for name, gf := range attackerGemfiles {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			f, mark := filepath.Join(dir, "Gemfile"), filepath.Join(dir, "mark")
			if err := os.WriteFile(f, []byte(gf), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("ruby", "-rbundler", "-e", `begin; Bundler::Dsl.new.eval_gemfile(ARGV[0]); rescue Exception => e; warn e.message; end`, f)
			cmd.Env = append(os.Environ(), "MARK="+mark, "HOME="+dir, "BUNDLE_GEMFILE="+f)
			out, _ := cmd.CombinedOutput()
			if _, err := os.Stat(mark); err != nil {
				t.Errorf("Bundler's DSL did not run the Gemfile's code (not an attack on this ruby):\n%s", out)
			}
		})
	}
}

// A project's .bundle/config chooses BUNDLE_PATH, a directory name with any
// bytes in it; the up-to-date line is printed at the default verbosity, so it
// must not carry the checkout's terminal escapes.
func TestAttackerBundleUpToDatePrintable(t *testing.T) {
	root := t.TempDir()
	gemPath := "vendor/\x1b]0;PWNED\x07\x1b[31mred\u202e"
	spec := filepath.Join(root, gemPath, "ruby", "3.1.0", "specifications")
	if err := os.MkdirAll(spec, 0o755); err != nil {
		t.Fatal(err)
	}
	for f, data := range map[string]string{
		filepath.Join(spec, "rack-1.0.0.gemspec"): "",
		filepath.Join(root, "Gemfile"):            "source \"https://rubygems.org\"\ngem \"rack\"\n",
		filepath.Join(root, "Gemfile.lock"):       attackerLock,
	} {
		if err := os.WriteFile(f, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ok, why := BundleUpToDate(root, "Gemfile", "Gemfile.lock", gemPath, "3.1.0", []string{"x86_64-linux"})
	if !ok {
		t.Fatalf("the installed twin is not up to date: %s", why)
	}
	if strings.ContainsAny(why, "\x1b\x07\u202e") {
		t.Errorf("the up-to-date line carries the checkout's escapes: %q", why)
	}
	if !strings.Contains(why, `vendor/\x1b]0;PWNED\x07\x1b[31mred\u202e holds the 1 gem(s)`) {
		t.Errorf("the up-to-date line does not name the path, escaped: %q", why)
	}
}

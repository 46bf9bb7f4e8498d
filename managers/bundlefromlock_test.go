package managers

import (
	"strings"
	"testing"
)

func TestBundleLockedGemfile(t *testing.T) {
	plat := bundleLocalPlatforms()[0]
	lock := "GEM\n  remote: https://gems.example/\n  specs:\n    dep (1.0.0)\n    greet (1.2.0)\n      dep (~> 1.0)\n\n" +
		"PLATFORMS\n  " + plat + "\n\nDEPENDENCIES\n  greet (~> 1.2)\n  rake\n\nBUNDLED WITH\n   2.3.15\n"
	plain := "# a comment with `backticks` and #{interpolation}\nsource \"https://gems.example\"\n\ngroup :test do\n  gem 'rake', require: false\nend\ngem \"greet\", \"~> 1.2\" # the app\n"
	for _, tc := range []struct {
		name, gemfile, lock string
		why                 string // "" when the lockfile is installed as it is
	}{
		{"declarative and locked", plain, lock, ""},
		{"code", plain + "system(\"id\")\n", lock, "not a plain declaration"},
		{"interpolation", strings.Replace(plain, "\"~> 1.2\"", "\"~> #{1}.2\"", 1), lock, "not a plain declaration"},
		{"a gem the lockfile lacks", plain + "gem \"extra\"\n", lock, "not the lockfile's dependencies"},
		{"another requirement", strings.Replace(plain, "~> 1.2", "~> 1.3", 1), lock, "not what Gemfile.lock was resolved from"},
		{"another source", strings.Replace(plain, "gems.example", "evil.example", 1), lock, "sources are not the lockfile's"},
		{"ruby version", "ruby \"3.1.2\"\n" + plain, lock, "ruby version"},
		{"ruby version in the lockfile", plain, strings.Replace(lock, "BUNDLED WITH", "RUBY VERSION\n   ruby 3.1.2p20\n\nBUNDLED WITH", 1), "ruby version"},
		{"other platform", plain, strings.Replace(lock, plat, "java", 1), "does not list this platform"},
		{"git source", plain, "GIT\n  remote: https://git.example/x\n" + lock, "GIT section"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gen, why := bundleLockedGemfile("/p", "Gemfile", "Gemfile.lock", []byte(tc.gemfile), []byte(tc.lock))
			if tc.why != "" {
				if !strings.Contains(why, tc.why) || gen != "" {
					t.Fatalf("want no Gemfile because %q, got %q (why %q)", tc.why, gen, why)
				}
				return
			}
			if why != "" {
				t.Fatalf("want the lockfile installed as it is, got %q", why)
			}
			want := "source 'https://gems.example'\ngem \"greet\", \"~> 1.2\"\ngem \"rake\"\n"
			if !strings.HasSuffix(gen, want) || strings.Contains(gen, "backticks") || strings.Contains(gen, "#{") {
				t.Errorf("written Gemfile:\n%s\nwant it to end with\n%s", gen, want)
			}
		})
	}
}

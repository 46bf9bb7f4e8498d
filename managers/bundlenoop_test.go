package managers

import (
	"strings"
	"testing"
)

// bundleNoopLock is the Gemfile.lock Bundler 2.3.15 wrote for bundleNoopGemfile.
const bundleNoopLock = `GEM
  remote: http://127.0.0.1:40207/
  specs:
    pbox_dep (1.0.0)
    pbox_greet (1.0.0)
      pbox_dep (~> 1.0)

PLATFORMS
  x86_64-linux

DEPENDENCIES
  pbox_greet

BUNDLED WITH
   2.3.15
`

const bundleNoopGemfile = "source \"http://127.0.0.1:40207\"\ngem \"pbox_greet\"\n"

func TestBundleUpToDate(t *testing.T) {
	const spec = "vendor/bundle/ruby/3.1.0/specifications/"
	tests := []struct {
		name string
		edit func(files, links map[string]string)
		want bool
		why  string
	}{
		{name: "installed as locked", want: true},
		{name: "a gem added to the Gemfile", edit: func(f, _ map[string]string) {
			f["Gemfile"] += "gem 'pbox_extra', '~> 1.0'\n"
		}, why: "gems are not the lockfile's"},
		{name: "a requirement changed in the Gemfile", edit: func(f, _ map[string]string) {
			f["Gemfile"] = strings.Replace(f["Gemfile"], `gem "pbox_greet"`, `gem "pbox_greet", ">= 1.0"`, 1)
		}, why: "is not what Gemfile.lock was resolved from"},
		{name: "requirements written as the lockfile writes them", edit: func(f, _ map[string]string) {
			f["Gemfile"] = strings.Replace(f["Gemfile"], `gem "pbox_greet"`, "group :development, :test do\n  gem \"pbox_greet\", \"< 3\", \">= 1.0\", require: false # why\nend", 1)
			f["Gemfile.lock"] = strings.Replace(f["Gemfile.lock"], "  pbox_greet\n", "  pbox_greet (>= 1.0, < 3)\n", 1)
		}, want: true},
		{name: "another source", edit: func(f, _ map[string]string) {
			f["Gemfile"] = strings.Replace(f["Gemfile"], "127.0.0.1:40207", "127.0.0.1:1", 1)
		}, why: "sources"},
		{name: "a Gemfile that is code", edit: func(f, _ map[string]string) {
			f["Gemfile"] += "gem 'pbox_extra' if ENV['X']\n"
		}, why: "not a plain declaration"},
		{name: "eval_gemfile", edit: func(f, _ map[string]string) {
			f["Gemfile"] += "eval_gemfile 'Gemfile.local'\n"
		}, why: "not a plain declaration"},
		{name: "string interpolation", edit: func(f, _ map[string]string) {
			f["Gemfile"] = strings.Replace(f["Gemfile"], `gem "pbox_greet"`, `gem "pbox_greet", "#{File.read('v')}"`, 1)
		}, why: "not a plain declaration"},
		{name: "a git gem", edit: func(f, _ map[string]string) {
			f["Gemfile.lock"] = "GIT\n  remote: https://x.example/g.git\n  revision: abc\n  specs:\n    g (1.0)\n\n" + f["Gemfile.lock"]
		}, why: "GIT section"},
		{name: "another platform only", edit: func(f, _ map[string]string) {
			f["Gemfile.lock"] = strings.Replace(f["Gemfile.lock"], "  x86_64-linux\n", "  ruby\n", 1)
		}, why: "does not list this platform"},
		{name: "a locked gem not installed", edit: func(f, _ map[string]string) {
			delete(f, spec+"pbox_dep-1.0.0.gemspec")
		}, why: "pbox_dep-1.0.0 is not installed"},
		{name: "a locked gem at another version", edit: func(f, _ map[string]string) {
			delete(f, spec+"pbox_dep-1.0.0.gemspec")
			f[spec+"pbox_dep-0.9.0.gemspec"] = "x"
		}, why: "pbox_dep-1.0.0 is not installed"},
		{name: "a platform gem installed in this platform's variant", edit: func(f, _ map[string]string) {
			f["Gemfile.lock"] = strings.Replace(f["Gemfile.lock"], "    pbox_dep (1.0.0)\n", "    pbox_dep (1.0.0)\n    pbox_dep (1.0.0-x86_64-darwin)\n    pbox_dep (1.0.0-x86_64-linux)\n", 1)
			delete(f, spec+"pbox_dep-1.0.0.gemspec")
			f[spec+"pbox_dep-1.0.0-x86_64-linux.gemspec"] = "x"
		}, want: true},
		// A hostile checkout: specifications that are links out of the project.
		{name: "hostile: a gemspec that is a link", edit: func(f, l map[string]string) {
			delete(f, spec+"pbox_dep-1.0.0.gemspec")
			l[spec+"pbox_dep-1.0.0.gemspec"] = "/etc/passwd"
		}, why: "pbox_dep-1.0.0 is not installed"},
		{name: "hostile: the specifications dir is a link", edit: func(f, l map[string]string) {
			for k := range f {
				if strings.HasPrefix(k, spec) {
					delete(f, k)
				}
			}
			l[strings.TrimSuffix(spec, "/")] = "/usr/share/rubygems-integration/all/specifications"
		}, why: "not a directory"},
		{name: "hostile: the Gemfile is a link", edit: func(f, l map[string]string) {
			delete(f, "Gemfile")
			l["Gemfile"] = "/etc/passwd"
		}, why: "not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{
				"Gemfile":                           bundleNoopGemfile,
				"Gemfile.lock":                      bundleNoopLock,
				spec + "pbox_dep-1.0.0.gemspec":     "# stub\n",
				spec + "pbox_greet-1.0.0.gemspec":   "# stub\n",
				"vendor/bundle/ruby/3.1.0/gems/x/y": "",
			}
			links := map[string]string{}
			if tt.edit != nil {
				tt.edit(files, links)
			}
			dir := writeNoopTree(t, files, links)
			got, why := BundleUpToDate(dir, "Gemfile", "Gemfile.lock", "vendor/bundle", "3.1.0", []string{"x86_64-linux"})
			if got != tt.want || !strings.Contains(why, tt.why) {
				t.Errorf("BundleUpToDate = %v, %q; want %v, containing %q", got, why, tt.want, tt.why)
			}
		})
	}
}

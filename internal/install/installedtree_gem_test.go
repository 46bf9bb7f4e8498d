package install

import (
	"slices"
	"strings"
	"testing"

	"github.com/phylum-box/phylum-box/precheck"
	"github.com/phylum-box/phylum-box/rootfs"
)

// rubygemsSpec is a specification as RubyGems writes it (Gem::Specification#to_ruby).
func rubygemsSpec(name, version, platform string) string {
	return "# -*- encoding: utf-8 -*-\n# stub: " + name + " " + version + " " + platform + " lib\n\nGem::Specification.new do |s|\n" +
		"  s.name = \"" + name + "\".freeze\n  s.version = \"" + version + "\"\n  s.summary = \"x\".freeze\nend\n"
}

func TestInstalledGems(t *testing.T) {
	specs := "vendor/bundle/ruby/3.1.0/specifications/"
	for _, tc := range []struct {
		name    string
		files   map[string]string
		other   []rootfs.Change
		want    []string
		skipped []string
		err     string
	}{{
		name: "specifications, default ones, platforms and dashed names",
		files: map[string]string{
			specs + "rack-3.0.8.gemspec":                    rubygemsSpec("rack", "3.0.8", "ruby"),
			specs + "nokogiri-1.16.0-x86_64-linux.gemspec":  rubygemsSpec("nokogiri", "1.16.0", "x86_64-linux"),
			specs + "net-http-0.4.1.gemspec":                rubygemsSpec("net-http", "0.4.1", "ruby"),
			specs + "default/json-2.6.1.gemspec":            rubygemsSpec("json", "2.6.1", "ruby"),
			"vendor/bundle/ruby/3.1.0/gems/rack-3.0.8/x.rb": "",
			"vendor/bundle/ruby/3.1.0/cache/rack-3.0.8.gem": "",
			"vendor/bundle/ruby/3.1.0/gems/a-1/a.gemspec":   rubygemsSpec("inside-a-gem", "1.0", "ruby"),
			"specifications/outside-outputs-1.0.gemspec":    rubygemsSpec("outside-outputs", "1.0", "ruby"),
			specs + "ruby-2captcha-1.0.0.gemspec":           rubygemsSpec("ruby-2captcha", "1.0.0", "ruby"),
		},
		want: []string{
			"rack@3.0.8 " + specs + "rack-3.0.8.gemspec",
			"nokogiri@1.16.0 " + specs + "nokogiri-1.16.0-x86_64-linux.gemspec",
			"net-http@0.4.1 " + specs + "net-http-0.4.1.gemspec",
			"json@2.6.1 " + specs + "default/json-2.6.1.gemspec",
			"ruby-2captcha@1.0.0 " + specs + "ruby-2captcha-1.0.0.gemspec",
		},
	}, {
		name: "a specification that says another gem than its file name is checked under every name",
		files: map[string]string{
			specs + "rack-3.0.8.gemspec": rubygemsSpec("evil", "6.6.6", "ruby"),
		},
		want: []string{
			"evil@6.6.6 " + specs + "rack-3.0.8.gemspec",
			"rack@3.0.8 " + specs + "rack-3.0.8.gemspec",
		},
	}, {
		name: "the stub line and the literal disagree",
		files: map[string]string{
			specs + "x-1.0.gemspec": "#\n# stub: x 1.0 ruby lib\nGem::Specification.new do |s|\n  s.name = \"x\"\n  s.version = \"2.0\"\nend\n",
		},
		want: []string{"x@1.0 " + specs + "x-1.0.gemspec", "x@2.0 " + specs + "x-1.0.gemspec"},
	}, {
		name: "the stub is read on the second line whatever the first holds, split as Ruby's split(\" \")",
		files: map[string]string{
			// RubyGems ignores a stub on the first line and reads the second.
			specs + "rack-3.0.8.gemspec": "# stub: rack 3.0.8 ruby lib\n# stub: evil 1.0.0 ruby lib\n" +
				"Gem::Specification.new do |s|\n  s.name = \"rack\"\n  s.version = \"3.0.8\"\nend\n",
			specs + "json-2.6.1.gemspec": "# json\n# stub:  bad\t2.0.0\truby lib\n\nGem::Specification.new do |s|\n  s.name = \"json\"\n  s.version = \"2.6.1\"\nend\n",
			specs + "odd-1.0.gemspec":    "# -*- encoding: utf-8 -*-\n# stub: odd x.y ruby lib\n\n",
		},
		want: []string{
			"rack@3.0.8 " + specs + "rack-3.0.8.gemspec", "evil@1.0.0 " + specs + "rack-3.0.8.gemspec",
			"bad@2.0.0 " + specs + "json-2.6.1.gemspec", "json@2.6.1 " + specs + "json-2.6.1.gemspec",
			"odd@0 " + specs + "odd-1.0.gemspec", "odd@x.y " + specs + "odd-1.0.gemspec", "odd@1.0 " + specs + "odd-1.0.gemspec",
		},
	}, {
		name:    "a stub without a name is skipped",
		files:   map[string]string{specs + "nothing.gemspec": "#\n# stub: \n\n"},
		skipped: []string{specs + "nothing.gemspec"},
	}, {
		name: "a specification without a stub line is refused: RubyGems would run it to know its name",
		files: map[string]string{
			specs + "clean-1.0.0.gemspec": "# -*- encoding: utf-8 -*-\nGem::Specification.new do |s|\n  s.name = \"clean\"\n  s.version = \"1.0.0\"\n  s.name = %w[ev il].join\nend\n",
		},
		err: "clean-1.0.0.gemspec has no stub line",
	}, {
		name:  "a stub with no line after it is not kept by RubyGems either (EOFError: it runs the file)",
		files: map[string]string{specs + "clean-1.0.0.gemspec": "#\n# stub: clean 1.0.0 ruby lib\n"},
		err:   "has no stub line",
	}, {
		name:  "a specification that is a symlink is refused",
		other: []rootfs.Change{{Path: specs + "evil-1.0.gemspec", Kind: rootfs.Added, Type: rootfs.TypeSymlink, Linkname: "/tmp/x"}},
		err:   "evil-1.0.gemspec is a symlink, not a file",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			v := memView{files: tc.files}
			pkgs, skipped, err := installedGems(treeChanges(v, tc.other...), v, []string{"Gemfile.lock", "vendor/bundle/"})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range pkgs {
				if p.Ecosystem != precheck.RubyGems {
					t.Errorf("%s: ecosystem %q", p.Name, p.Ecosystem)
				}
				got = append(got, p.Name+"@"+p.Version+" "+p.Source)
			}
			slices.Sort(got)
			if want := slices.Sorted(slices.Values(tc.want)); !slices.Equal(got, want) {
				t.Errorf("gems:\n got %q\nwant %q", got, want)
			}
			if !slices.Equal(skipped, tc.skipped) {
				t.Errorf("skipped:\n got %q\nwant %q", skipped, tc.skipped)
			}
		})
	}
}

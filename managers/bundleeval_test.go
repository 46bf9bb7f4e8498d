package managers

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// evalGemfile runs bundleEvaluator on a Gemfile the way the evaluate step does.
func evalGemfile(t *testing.T, dir, gemfile string) []byte {
	t.Helper()
	if _, err := exec.LookPath("ruby"); err != nil {
		t.Skip("no ruby here")
	}
	c := exec.Command("ruby", "-e", bundleEvaluator)
	c.Dir = dir
	c.Env = append(os.Environ(), "BUNDLE_GEMFILE="+filepath.Join(dir, gemfile), "HOME="+t.TempDir(), "BUNDLE_PLUGINS=false")
	var stderr strings.Builder
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		t.Fatalf("evaluating %s: %v\n%s", gemfile, err, stderr.String())
	}
	return out
}

// TestBundleGemfileRoundTrip: the Gemfile written from an evaluated Gemfile
// declares the same thing when it is evaluated itself, and holds no Ruby from it.
func TestBundleGemfileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	orig := `source "https://rubygems.org"
ruby ">= 2.7"
puts "side effect"
gem "rack", "~> 2.0", ">= 2.0.1"
gem "rake", group: :development, platforms: [:ruby, :mri]
group :test, :ci do
  gem "minitest", require: false
end
%w[a b].each {|n| gem "pbox_#{n}" }
source "https://gems.example.com" do
  gem "private_gem", "1.2.3"
end
`
	writeFile(t, filepath.Join(dir, "Gemfile"), orig)
	out := evalGemfile(t, dir, "Gemfile")
	var ev bundleEvalResult
	if err := json.Unmarshal(out, &ev); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	gen, specs, err := bundleGemfile(&ev, dir, dir)
	if err != nil || len(specs) != 0 {
		t.Fatal(err, specs)
	}
	for _, bad := range []string{"puts", "each", "#{"} {
		if strings.Contains(gen, bad) {
			t.Errorf("the generated Gemfile carries Ruby from the project (%s):\n%s", bad, gen)
		}
	}
	writeFile(t, filepath.Join(dir, "Gemfile.gen"), gen)
	var again bundleEvalResult
	if err := json.Unmarshal(evalGemfile(t, dir, "Gemfile.gen"), &again); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ev, again) {
		t.Errorf("the generated Gemfile declares something else:\n%s\nfirst  %+v\nsecond %+v", gen, ev, again)
	}
	for _, want := range []string{`gem "pbox_a"`, `source 'https://gems.example.com/' do`, `  gem "private_gem", "= 1.2.3", groups: [:default]`, `ruby ">= 2.7"`} {
		if !strings.Contains(gen, want) {
			t.Errorf("generated Gemfile lacks %q:\n%s", want, gen)
		}
	}
}

func TestBundleGemfileRefusals(t *testing.T) {
	dir := t.TempDir()
	tests := []struct{ gemfile, want string }{
		{"source \"https://rubygems.org\"\ngem \"x\", git: \"https://example.com/x.git\"\n", "git source"},
		{"source \"https://rubygems.org\"\ngem \"x\", path: \"/usr/lib\"\n", "path source \"/usr/lib\" is outside the project"},
		{"source \"https://rubygems.org\"\ngem \"x\", path: \"..\"\n", "is outside the project"},
		{"source \"https://u:secret@gems.example.com\"\ngem \"x\"\n", "has credentials in it"},
		{"source \"file:///etc\"\ngem \"x\"\n", "not an http(s) URL"},
	}
	for _, tc := range tests {
		writeFile(t, filepath.Join(dir, "Gemfile"), tc.gemfile)
		var ev bundleEvalResult
		if err := json.Unmarshal(evalGemfile(t, dir, "Gemfile"), &ev); err != nil {
			t.Fatal(err)
		}
		if _, _, err := bundleGemfile(&ev, dir, dir); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.gemfile, err, tc.want)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("the refusal prints the password: %v", err)
		}
	}
	// Forged output: the JSON is as hostile as the Gemfile that printed it.
	for _, forged := range []string{
		`{"global_remotes":["https://x/'; system('id'); '"],"dependencies":[]}`,
		`{"global_remotes":[],"dependencies":[{"name":"x\"; system(\"id\"); \"","requirements":[]}]}`,
		`{"global_remotes":[],"dependencies":[{"name":"x","requirements":["~> 1.0\", require: \"evil"]}]}`,
		`{"global_remotes":[],"dependencies":[{"name":"x","requirements":[],"groups":["a, b"]}]}`,
		`{"global_remotes":[],"sources":[{"type":"path","path":"x","dir":"/etc","files":[]}],"dependencies":[]}`,
		`{"global_remotes":[],"sources":[{"type":"path","path":"x","dir":"@DIR@/x","files":[{"file":"@DIR@/x/../../evil.gemspec"}]}],"dependencies":[]}`,
		`{"global_remotes":[],"sources":[{"type":"path","path":"x","dir":"@DIR@/x","files":[{"file":"@DIR@/x/a.gemspec","spec":{"name":"a","version":"1\"; system(\"id"}}]}],"dependencies":[]}`,
		`{"global_remotes":[],"sources":[{"type":"path","path":"x","dir":"@DIR@/x","files":[{"file":"@DIR@/x/a.gemspec","spec":{"name":"a","version":"1","dependencies":[{"name":"b","requirements":["> 1\" ; x"]}]}}]}],"dependencies":[]}`,
		`{"global_remotes":[],"sources":[{"type":"path","path":"x'; system('id'); '","dir":"@DIR@/x","files":[]}],"dependencies":[]}`,
		`{"global_remotes":[],"ruby":{"versions":["3\"; system(\"id"]},"dependencies":[]}`,
	} {
		var ev bundleEvalResult
		if err := json.Unmarshal([]byte(strings.ReplaceAll(forged, "@DIR@", dir)), &ev); err != nil {
			t.Fatal(err)
		}
		if gen, _, err := bundleGemfile(&ev, dir, dir); err == nil {
			t.Errorf("accepted %s:\n%s", forged, gen)
		}
	}
	p := &Plan{}
	if err := bundleEvaluated(p, dir, "Gemfile", []byte("{} trailing"), nil); err == nil {
		t.Error("trailing output must be refused")
	}
	err := bundleEvaluated(p, dir, "Gemfile", []byte(`{"global_remotes":["https://rubygems.org/"],"dependencies":[{"name":"rack","requirements":[">= 0"]}]}`),
		func(string) ([]byte, error) { return []byte("the original"), nil })
	if err != nil || len(p.Sandbox.Credentials.Files) != 1 {
		t.Fatalf("%v %+v", err, p.Sandbox.Credentials)
	}
	f := p.Sandbox.Credentials.Files[0]
	if f.Project != "Gemfile" || string(f.Public) != "the original" || !strings.Contains(string(f.Secret), "gem \"rack\"\n") {
		t.Errorf("the credential steps must see the generated Gemfile, the others the project's: %+v", f)
	}
}

// TestBundleGemspecRoundTrip: a project with `gemspec` and a path gem; the
// declarative Gemfile and gemspecs written for the networked steps declare the
// same when evaluated in place of the project's.
func TestBundleGemspecRoundTrip(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "Gemfile"), "source \"https://rubygems.org\"\ngemspec\ngem \"helper\", path: \"vendor/helper\", group: :test\n")
	writeFile(t, filepath.Join(dir, "mygem.gemspec"), `$stderr.puts "gemspec code ran"
Gem::Specification.new do |s|
  s.name = "mygem"
  s.version = ["1", "2", "3"].join(".")
  s.summary = "x"
  s.authors = ["x"]
  s.files = Dir["lib/**/*.rb"]
  s.add_dependency "rack", "~> 2.0", ">= 2.0.1"
  s.add_development_dependency "rake", ">= 12"
end
`)
	writeFile(t, filepath.Join(dir, "vendor/helper/helper.gemspec"), `Gem::Specification.new {|s| s.name = "helper"; s.version = "0.1.0"; s.summary = "x"; s.authors = ["x"]; s.add_dependency "json" }`)
	writeFile(t, filepath.Join(dir, "vendor/helper/sub/not-a-spec.gemspec"), "nil\n")
	var ev bundleEvalResult
	if err := json.Unmarshal(evalGemfile(t, dir, "Gemfile"), &ev); err != nil {
		t.Fatal(err)
	}
	gen, specs, err := bundleGemfile(&ev, dir, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) != 3 || specs["vendor/helper/sub/not-a-spec.gemspec"] != "" || !strings.Contains(specs["mygem.gemspec"], `s.add_runtime_dependency "rack", "~> 2.0", ">= 2.0.1"`) {
		t.Errorf("replacement gemspecs: %q", specs)
	}
	// Put the written files in place of the project's and evaluate again.
	writeFile(t, filepath.Join(dir, "Gemfile"), gen)
	for rel, content := range specs {
		writeFile(t, filepath.Join(dir, rel), content)
	}
	var again bundleEvalResult
	if err := json.Unmarshal(evalGemfile(t, dir, "Gemfile"), &again); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ev.Dependencies, again.Dependencies) || !reflect.DeepEqual(ev.Sources, again.Sources) {
		t.Errorf("the written files declare something else:\n%s\n%q\nfirst  %+v\nsecond %+v", gen, specs, ev, again)
	}
}

// TestBundlePathSourceTampered: the evaluate step's JSON is the project's to
// write. A path source must name the directory it was evaluated as, and every
// file its glob matches on the host must have been evaluated: one left out (or
// one under another path) would be loaded, as Ruby, by the networked steps.
func TestBundlePathSourceTampered(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "mine/mine.gemspec"), "raise 'ruby'\n")
	writeFile(t, filepath.Join(dir, "mine/sub/other.gemspec"), "raise 'ruby'\n")
	writeFile(t, filepath.Join(dir, "mine/lib/x.rb"), "raise 'ruby'\n")
	spec := &bundleEvalSpec{Name: "mine", Version: "0.1.0"}
	src := func(path, glob string, files ...string) *bundleEvalSource {
		s := &bundleEvalSource{Type: "path", Path: path, Glob: glob, Dir: filepath.Join(dir, "mine")}
		for _, f := range files {
			s.Files = append(s.Files, struct {
				File string          `json:"file"`
				Spec *bundleEvalSpec `json:"spec"`
			}{filepath.Join(dir, f), spec})
		}
		return s
	}
	all := []string{"mine/mine.gemspec", "mine/sub/other.gemspec"}
	for _, tc := range []struct {
		name string
		s    *bundleEvalSource
		want string // "" accepted
	}{
		{"every file", src("mine", "", all...), ""},
		{"absolute, the same dir", src(filepath.Join(dir, "mine"), "", all...), ""},
		{"custom glob", src("mine", "*.gemspec", "mine/mine.gemspec"), ""},
		{"nested braces", src("mine", "{{,sub/}*}.gemspec", all...), ""},
		{"a file left out", src("mine", "", "mine/mine.gemspec"), "sub/other.gemspec matches its glob but was not evaluated"},
		{"no file listed", src("mine", ""), "mine.gemspec matches its glob but was not evaluated"},
		{"glob naming Ruby", src("mine", "{*.gemspec,lib/*.rb}", "mine/mine.gemspec"), "x.rb matches its glob"},
		{"another path", src("evil", "", all...), "is not the directory"},
		{"recursive glob", src("mine", "**/*.gemspec", all...), "recursive"},
		{"unbalanced", src("mine", "{*.gemspec", all...), "unbalanced"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := bundlePathSource(tc.s, dir, dir, map[string]string{})
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}

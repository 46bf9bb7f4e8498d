package managers

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestBundlePlan(t *testing.T) {
	gemfile := map[string]string{"Gemfile": "source \"https://rubygems.org\"\ngem \"rack\"\n"}
	tests := []struct {
		name    string
		files   map[string]string
		environ []string
		args    []string
		want    string
		outputs []string
	}{
		{"bare bundle installs", gemfile, nil, nil, "plan", []string{"Gemfile.lock", "vendor/bundle/", ".bundle/config"}},
		{"install", gemfile, nil, []string{"install"}, "plan", []string{"Gemfile.lock", "vendor/bundle/", ".bundle/config"}},
		{"configured path", map[string]string{"Gemfile": "", ".bundle/config": "---\nBUNDLE_PATH: \"gems\"\n"}, nil, []string{"install"}, "plan", []string{"Gemfile.lock", "gems/"}},
		{"path outside", map[string]string{"Gemfile": "", ".bundle/config": "---\nBUNDLE_PATH: \"/var/lib/gems\"\n"}, nil, []string{"install"}, "refused: .bundle/config:2: BUNDLE_PATH", nil},
		{"env path outside", gemfile, []string{"BUNDLE_PATH=/usr/local/bundle"}, []string{"install"}, "refused: BUNDLE_PATH", nil},
		{"--system", gemfile, nil, []string{"install", "--system"}, "refused: --system", nil},
		{"add is refused", gemfile, nil, []string{"add", "rake"}, "refused: `bundle add`", nil},
		{"cache is refused", gemfile, nil, []string{"cache", "--no-install"}, "refused: `bundle cache`", nil},
		{"package is refused", gemfile, nil, []string{"package"}, "refused: `bundle cache`", nil},
		{"cache --help passes through", gemfile, nil, []string{"cache", "--help"}, "passthrough", nil},
		{"--gemfile", gemfile, nil, []string{"install", "--gemfile=other.rb"}, "refused: --gemfile", nil},
		{"project mirror", map[string]string{"Gemfile": "", ".bundle/config": "---\nBUNDLE_MIRROR__HTTPS://RUBYGEMS__ORG/: \"https://evil.example\"\n"}, nil, []string{"install"}, "refused: .bundle/config:2: BUNDLE_MIRROR__HTTPS://RUBYGEMS__ORG/ (network-target", nil},
		{"project credential", map[string]string{"Gemfile": "", ".bundle/config": "---\nBUNDLE_GEMS__EXAMPLE__COM: \"u:p\"\n"}, nil, []string{"install"}, "refused: .bundle/config:2: BUNDLE_GEMS__EXAMPLE__COM (credential", nil},
		{"project plugins", map[string]string{"Gemfile": "", ".bundle/config": "BUNDLE_PLUGINS: \"true\"\n"}, nil, []string{"install"}, "refused: .bundle/config:1: BUNDLE_PLUGINS (exec", nil},
		{"project cache_path outside", map[string]string{"Gemfile": "", ".bundle/config": "BUNDLE_CACHE_PATH: \"../../x\"\n"}, nil, []string{"install"}, "refused: .bundle/config:1: BUNDLE_CACHE_PATH ../../x is outside", nil},
		{"project unknown key", map[string]string{"Gemfile": "", ".bundle/config": "BUNDLE_WHATEVER: \"1\"\n"}, nil, []string{"install"}, "refused: .bundle/config:1: BUNDLE_WHATEVER is not", nil},
		{"project build flags and data", map[string]string{"Gemfile": "", ".bundle/config": "---\nBUNDLE_BUILD__NOKOGIRI: \"--use-system-libraries\"\nBUNDLE_WITHOUT: \"development:test\"\nBUNDLE_JOBS: \"4\"\n"}, nil, []string{"install"}, "plan", []string{"Gemfile.lock", "vendor/bundle/", ".bundle/config"}},
		{"BUNDLE_GEMFILE names the Gemfile", map[string]string{"Gemfile.next": ""}, []string{"BUNDLE_GEMFILE=Gemfile.next"}, []string{"install"}, "plan", []string{"Gemfile.next.lock", "vendor/bundle/", ".bundle/config"}},
		{"lock only", gemfile, nil, []string{"lock"}, "plan", []string{"Gemfile.lock"}},
		{"exec passes through", gemfile, nil, []string{"exec", "rake"}, "passthrough", nil},
		{"no Gemfile", map[string]string{"x": ""}, nil, []string{"install"}, "refused: no Gemfile", nil},
	}
	bundle, _ := Lookup("bundle")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := testEnv(t, tc.files)
			env.Environ = append(env.Environ, tc.environ...)
			p, err := bundle.Plan(tc.args, env)
			got := planOutcome(p, err)
			if !strings.HasPrefix(got, tc.want) {
				t.Fatalf("Plan(%q) = %s, want %s…", tc.args, got, tc.want)
			}
			if tc.want != "plan" {
				return
			}
			if !slices.Equal(p.Project.Outputs, tc.outputs) {
				t.Errorf("Outputs = %q, want %q", p.Project.Outputs, tc.outputs)
			}
			if slices.Contains(p.Project.Outputs, ".bundle/config") != slices.Contains(p.Project.Sealed, ".bundle/config") {
				t.Errorf("a .bundle/config the plan writes must be sealed against the build: Sealed %q", p.Project.Sealed)
			}
			if p.Steps.Evaluate == nil || p.Steps.Evaluate.Network || p.Steps.Evaluate.Credentials || p.Steps.Evaluated == nil || p.Steps.Evaluate.Args[0] != "ruby" {
				t.Errorf("the Gemfile must be evaluated offline: Evaluate = %+v", p.Steps.Evaluate)
			}
			for _, s := range []*Step{p.Steps.Resolve, p.Steps.Download, p.Steps.Build} {
				// A failure names the step's Name, else Args[0]: Bundler, never the shell.
				if s != nil && s.Args[0] == "sh" && !strings.HasPrefix(s.Name, "bundle ") {
					t.Errorf("step %q runs through sh but is named %q", s.Args, s.Name)
				}
			}
			if p.Steps.Build == nil {
				return
			}
			if !slices.Contains(p.Steps.Build.Env, "BUNDLE_FROZEN=true") || !slices.Contains(p.Steps.Resolve.Env, "BUNDLE_PLUGINS=false") {
				t.Errorf("build must be frozen, plugins off: build %q resolve %q", p.Steps.Build.Env, p.Steps.Resolve.Env)
			}
			// The project's gem dir and app config are Ruby and settings the
			// steps before the build must not read.
			for _, s := range []*Step{p.Steps.Evaluate, p.Steps.Resolve, p.Steps.Download} {
				if !slices.Contains(s.Env, "BUNDLE_PATH="+bundleNetGems) || !slices.Contains(s.Env, "BUNDLE_APP_CONFIG="+bundleNetConfig) {
					t.Errorf("%q sees the project's gems or app config: %q", s.Args[0], s.Env)
				}
			}
			if !slices.Contains(p.Steps.Build.Env, "BUNDLE_PATH="+filepath.Join(env.Dir, tc.outputs[1])) {
				t.Errorf("the build installs into the project: %q", p.Steps.Build.Env)
			}
			if p.Steps.Build.Network || p.Steps.Build.Credentials || !p.Steps.Download.Network {
				t.Error("network/credentials: download only")
			}
			if !slices.Equal(p.Steps.Download.Args, []string{"bundle", "cache", "--no-install"}) {
				t.Errorf("Download = %q", p.Steps.Download.Args)
			}
			if !strings.Contains(strings.Join(p.Steps.Build.Args, " "), "bundle install --local") {
				t.Errorf("Build = %q", p.Steps.Build.Args)
			}
		})
	}
}

func TestBundleCredentials(t *testing.T) {
	env := testEnv(t, map[string]string{"Gemfile": ""})
	writeFile(t, env.Home+"/.bundle/config", "---\nBUNDLE_GEMS__CORP__EXAMPLE: \"u:s3cret\"\nBUNDLE_MIRROR__HTTPS://RUBYGEMS__ORG/: \"https://mirror.example\"\n")
	env.Environ = append(env.Environ, "BUNDLE_GEMS__OTHER__EXAMPLE=u:env-s3cret", "BUNDLE_JOBS=4")
	bundle, _ := Lookup("bundle")
	p, err := bundle.Plan([]string{"install"}, env)
	if err != nil {
		t.Fatal(err)
	}
	cf := p.Sandbox.Credentials.Files[0]
	if cf.Home != ".bundle/config" || strings.Contains(string(cf.Public), "s3cret") || !strings.Contains(string(cf.Public), "mirror.example") {
		t.Errorf("user config: home %q public %q", cf.Home, cf.Public)
	}
	if !slices.Contains(p.Sandbox.Credentials.Env, "BUNDLE_GEMS__OTHER__EXAMPLE=u:env-s3cret") {
		t.Errorf("host credentials must be credentials: %q", p.Sandbox.Credentials.Env)
	}
	for _, kv := range p.Steps.Build.Env {
		if strings.Contains(kv, "s3cret") {
			t.Errorf("a secret reaches the build: %s", kv)
		}
	}
	if !slices.Contains(p.Steps.Build.Env, "BUNDLE_JOBS=4") {
		t.Errorf("plain settings reach every step: %q", p.Steps.Build.Env)
	}
}

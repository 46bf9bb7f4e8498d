package managers

import (
	"slices"
	"strings"
	"testing"
)

func TestQuietSteps(t *testing.T) {
	env := testEnv(t, map[string]string{"package.json": `{"name":"q","version":"1.0.0","dependencies":{"is-odd":"3.0.1"}}`})
	needNodeHeaders(t, env)

	m, _ := Lookup("pnpm")
	// A file: dependency keeps pnpm's two networked steps (pnpmfetch.go).
	pnpmEnv := testEnv(t, map[string]string{"package.json": `{"name":"q","version":"1.0.0","dependencies":{"is-odd":"3.0.1","x":"file:vendor/x.tgz"}}`})
	p, err := m.Plan([]string{"add", "is-odd"}, pnpmEnv)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Step{p.Steps.Resolve, p.Steps.Download, p.Steps.Build} {
		if !slices.Contains(s.Env, "npm_config_update_notifier=false") {
			t.Errorf("pnpm step %q: no update-notifier=false in %v", s.Args, s.Env)
		}
	}

	m, _ = Lookup("npm")
	// A file: dependency keeps npm's two networked steps (npmfetch.go).
	env2 := testEnv(t, map[string]string{"package.json": `{"name":"q","version":"1.0.0","dependencies":{"x":"file:../x"}}`})
	p, err = m.Plan([]string{"install", "is-odd"}, env2)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Step{p.Steps.Resolve, p.Steps.Download, p.Steps.Build} {
		if !slices.Contains(s.Env, "npm_config_update_notifier=false") {
			t.Errorf("npm step %q: no update-notifier=false in %v", s.Args, s.Env)
		}
	}
	if !slices.Contains(p.Steps.Resolve.Args, "--loglevel=error") || !slices.Contains(p.Steps.Build.Args, "--loglevel=error") {
		t.Errorf("npm resolve %q / build %q: not quieted", p.Steps.Resolve.Args, p.Steps.Build.Args)
	}
	if slices.Contains(p.Steps.Download.Args, "--loglevel=error") {
		t.Errorf("npm download %q: quieted; its warnings are the ones shown", p.Steps.Download.Args)
	}
	// Registry packages only: one resolve step that installs, its warnings shown
	// like a download's.
	p, err = m.Plan([]string{"install", "is-odd"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Steps.Resolve.Installs || slices.Contains(p.Steps.Resolve.Args, "--loglevel=error") || !slices.Contains(p.Steps.Build.Args, "--loglevel=error") {
		t.Errorf("npm resolve that installs %q / build %q: the resolve must not be quieted, the build must", p.Steps.Resolve.Args, p.Steps.Build.Args)
	}
	p, err = m.Plan([]string{"install", "-d", "is-odd"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(p.Steps.Resolve.Args, "--loglevel=error") {
		t.Errorf("npm -d: phylum-box overrode the user's log level: %q", p.Steps.Resolve.Args)
	}

	ref := npmGlobalRefusal("install")
	if strings.Contains(ref.Advice, "npm link") {
		t.Errorf("the -g refusal of install mentions npm link: %s", ref.Advice)
	}
	if ref := npmGlobalRefusal("link"); !strings.Contains(ref.Advice, "../dir") {
		t.Errorf("the npm link refusal: %s", ref.Advice)
	}
}

func TestYarnClassicQuietEnv(t *testing.T) {
	if got := yarnClassicQuietEnv("/home/u"); !slices.Equal(got, []string{"YARN_PREFIX=/home/u/.yarn"}) {
		t.Errorf("yarnClassicQuietEnv = %v", got)
	}
}

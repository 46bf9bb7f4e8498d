package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func bundleNeed(t testing.TB) {
	t.Helper()
	for _, tool := range []string{"/usr/bin/ruby", "/usr/bin/bundle"} {
		if _, err := os.Stat(tool); err != nil {
			skipf(t, "%s is missing (hack/install-deps.d/ruby.sh installs ruby ruby-bundler ruby-dev)", tool)
		}
	}
}

// bundleProject is a box whose Gemfile takes gems from gs.
func bundleProject(t testing.TB, m mode, gs *gemSource, gems ...string) *box {
	t.Helper()
	b := regNewBox(t, m)
	gemfile := "source " + strconv.Quote(gs.URL) + "\n"
	for _, g := range gems {
		gemfile += "gem " + strconv.Quote(g) + "\n"
	}
	writeFile(t, filepath.Join(b.Project, "Gemfile"), gemfile, 0o644)
	chownTree(t, m, b.Home)
	return b
}

func (b *box) bundle(db string, args ...string) result {
	b.t.Helper()
	return invocation{Mode: b.Mode, Args: append([]string{"bundle"}, args...), Dir: b.Project, Home: b.Home,
		Env: []string{"PHYLUM_BOX_DB=" + db}, Timeout: 5 * time.Minute}.exec(b.t)
}

// gemDir finds an installed gem's directory under the project's vendor/bundle.
func gemDir(t testing.TB, project, nameVersion string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(project, "vendor", "bundle", "ruby", "*", "gems", nameVersion))
	if len(m) != 1 {
		return ""
	}
	return m[0]
}

func bundleGreetSource(t testing.TB) *gemSource {
	gs := regStartGems(t)
	gs.AddGem("pbox_dep", "1.0.0", nil, map[string]string{"lib/pbox_dep.rb": "module PboxDep; VALUE = \"dep\"; end\n"}, "")
	gs.AddGem("pbox_greet", "1.0.0", []string{"pbox_dep"}, map[string]string{"lib/pbox_greet.rb": "require \"pbox_dep\"\nmodule PboxGreet; def self.greet; \"hello #{PboxDep::VALUE}\"; end; end\n"}, "")
	return gs
}

func TestBundleInstallFromLocalSource(t *testing.T) {
	t.Parallel()
	bundleNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		gs := bundleGreetSource(t)
		db := regMalDB(t, m, "RubyGems")
		b := bundleProject(t, m, gs, "pbox_greet")
		r := b.bundle(db, "install")
		wantCode(t, r, 0, "bundle install")
		for _, g := range []string{"pbox_greet-1.0.0", "pbox_dep-1.0.0"} {
			if gemDir(t, b.Project, g) == "" {
				t.Errorf("%s is not in the project's vendor/bundle\n%s", g, r)
			}
		}
		lock, err := os.ReadFile(filepath.Join(b.Project, "Gemfile.lock"))
		if err != nil || !strings.Contains(string(lock), "pbox_dep (1.0.0)") {
			t.Errorf("Gemfile.lock was not synced back: %v", err)
		}
		if pathExists(filepath.Join(b.Project, ".phylum-box-bundle")) {
			t.Error("the download dir was synced back")
		}
		c := exec.Command("bundle", "exec", "ruby", "-e", "require 'pbox_greet'; puts PboxGreet.greet")
		c.Dir = b.Project
		c.Env = append(os.Environ(), "HOME="+b.Home)
		if out, err := c.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "hello dep" {
			t.Errorf("bundle exec after the install: %v %s", err, out)
		}
	})
}

func TestBundleMaliciousDependencyBlocked(t *testing.T) {
	t.Parallel()
	bundleNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		gs := bundleGreetSource(t)
		db := regMalDB(t, m, "RubyGems", "pbox_dep")
		b := bundleProject(t, m, gs, "pbox_greet")
		before := treeHash(t, b.Project, true)
		r := b.bundle(db, "install")
		wantCode(t, r, 3, "a malicious dependency must block the install")
		wantStderr(t, r, "pbox_dep", "MAL-2099")
		assertSameTree(t, before, treeHash(t, b.Project, true), "a blocked install")
		for _, h := range gs.Hits() {
			if strings.Contains(h, "/gems/") && strings.HasSuffix(h, ".gem") {
				t.Errorf("a blocked install downloaded a gem: %s", h)
			}
		}
	})
}

func TestBundleHostileExtconfContained(t *testing.T) {
	t.Parallel()
	bundleNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		gs := regStartGems(t)
		canary := regStartCanary(t)
		db := regMalDB(t, m, "RubyGems")
		b := bundleProject(t, m, gs, "pbox_evil")
		containmentOnly(t, m, b.Home) // the sandbox alone: a hostile fixture
		outside := filepath.Join(filepath.Dir(b.Project), "pbox-evil-escaped.txt")
		tmpl, err := os.ReadFile(filepath.Join("testdata", "ruby", "evil_extconf.rb"))
		if err != nil {
			t.Fatal(err)
		}
		extconf := strings.NewReplacer("@OUTSIDE@", outside, "@REGISTRY_PORT@", strconv.Itoa(gs.Port), "@CANARY_PORT@", strconv.Itoa(canary.Port)).Replace(string(tmpl))
		gs.AddGem("pbox_evil", "1.0.0", nil, map[string]string{"ext/pbox_evil/extconf.rb": extconf, "lib/pbox_evil.rb": ""}, "ext/pbox_evil/extconf.rb")
		homeBefore := regHomeHash(b)
		before := treeHash(t, b.Project, true)
		r := b.bundle(db, "install")
		if r.Code == 0 {
			t.Fatalf("the hostile extconf.rb must fail\n%s", r)
		}
		all := r.Stdout + r.Stderr
		if !strings.Contains(all, "PBOX-EVIL phase=extconf") {
			t.Fatalf("the build step did not run the hostile extconf.rb\n%s", r)
		}
		wantStderr(t, r, "pbox_evil")
		if strings.Contains(all, b.Mark) {
			t.Errorf("the SSH key reached extconf.rb\n%s", r)
		}
		for _, bad := range []string{"ssh=OK", "registry=OK", "canary=OK"} {
			if strings.Contains(all, bad) {
				t.Errorf("extconf.rb could do %s\n%s", bad, r)
			}
		}
		if got := canary.Got(); len(got) > 0 {
			t.Errorf("a loopback listener was reached: %q", got)
		}
		if pathExists(outside) {
			t.Errorf("extconf.rb wrote outside the project: %s", outside)
		}
		assertSameTree(t, before, treeHash(t, b.Project, true), "a failed build")
		assertSameTree(t, homeBefore, regHomeHash(b), "the caller's home")
	})
}

func TestBundleNativeExtensionOffline(t *testing.T) {
	t.Parallel()
	bundleNeed(t)
	if m, _ := filepath.Glob("/usr/include/ruby-*/ruby.h"); len(m) == 0 {
		skipf(t, "no ruby.h (hack/install-deps.d/ruby.sh installs ruby-dev)")
	}
	forEachMode(t, func(t *testing.T, m mode) {
		gs := regStartGems(t)
		db := regMalDB(t, m, "RubyGems")
		extconf, err := os.ReadFile(filepath.Join("testdata", "ruby", "native_extconf.rb"))
		if err != nil {
			t.Fatal(err)
		}
		src, err := os.ReadFile(filepath.Join("testdata", "ruby", "pbox_native.c"))
		if err != nil {
			t.Fatal(err)
		}
		gs.AddGem("pbox_native", "1.0.0", nil, map[string]string{"ext/pbox_native/extconf.rb": string(extconf), "ext/pbox_native/pbox_native.c": string(src)}, "ext/pbox_native/extconf.rb")
		b := bundleProject(t, m, gs, "pbox_native")
		r := b.bundle(db, "install")
		wantCode(t, r, 0, "bundle install of a native extension")
		c := exec.Command("bundle", "exec", "ruby", "-e", "require 'pbox_native'; puts PboxNative.hello")
		c.Dir = b.Project
		c.Env = append(os.Environ(), "HOME="+b.Home)
		if out, err := c.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "built offline" {
			t.Errorf("the compiled extension: %v %s\n%s", err, out, r)
		}
	})
}

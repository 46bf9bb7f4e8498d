package managers

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const bundleFastLock = `GEM
  remote: http://127.0.0.1:8080/
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

func TestBundleFetchArgs(t *testing.T) {
	args, why := bundleFetchArgs([]byte(bundleFastLock), "/p/.phylum-box-bundle/cache")
	want := []string{
		"-o", "/p/.phylum-box-bundle/cache/pbox_dep-1.0.0.gem", "http://127.0.0.1:8080/gems/pbox_dep-1.0.0.gem",
		"-o", "/p/.phylum-box-bundle/cache/pbox_greet-1.0.0.gem", "http://127.0.0.1:8080/gems/pbox_greet-1.0.0.gem",
	}
	if why != "" || !slices.Equal(args, want) {
		t.Fatalf("bundleFetchArgs = %q, %q; want %q", args, why, want)
	}
	for name, lock := range map[string]string{
		"platform gem":    strings.Replace(bundleFastLock, "pbox_dep (1.0.0)", "pbox_dep (1.0.0-x86_64-linux)", 1),
		"two sources":     strings.Replace(bundleFastLock, "  specs:", "  remote: https://rubygems.org/\n  specs:", 1),
		"source with a ?": strings.Replace(bundleFastLock, "8080/", "8080/?x=1", 1),
		"credentials":     strings.Replace(bundleFastLock, "http://", "http://u:p@", 1),
		"not http":        strings.Replace(bundleFastLock, "http://", "file://", 1),
		"a git source":    "GIT\n  remote: https://example.com/x.git\n" + bundleFastLock,
		"path in version": strings.Replace(bundleFastLock, "pbox_dep (1.0.0)", "pbox_dep (../../x)", 1),
		"bundler locked":  strings.Replace(bundleFastLock, "pbox_dep (1.0.0)", "bundler (2.3.15)", 1),
		"no gems":         "GEM\n  remote: http://127.0.0.1:8080/\n  specs:\n\nPLATFORMS\n  ruby\n",
	} {
		if args, why := bundleFetchArgs([]byte(lock), "/p/c"); why == "" {
			t.Errorf("%s: fetched with curl: %q", name, args)
		}
	}
}

func TestBundleFetchEnv(t *testing.T) {
	if _, err := os.Stat(bundleFetchCurl); err != nil {
		t.Skip("no curl")
	}
	for _, f := range []string{"/etc/gemrc"} {
		if _, err := os.Lstat(f); err == nil {
			t.Skip(f + " exists")
		}
	}
	home := t.TempDir()
	env := Env{Dir: home, Home: home, Environ: []string{"HOME=" + home, "PATH=/usr/bin"}}
	if why := bundleFetchEnvWhy(env); why != "" {
		t.Fatalf("plain environment: %s", why)
	}
	for name, kv := range map[string]string{
		"credentials": "BUNDLE_GEMS__EXAMPLE__COM=u:p",
		"mirror":      "BUNDLE_MIRROR__HTTPS://RUBYGEMS__ORG/=http://m",
		"ca":          "BUNDLE_SSL_CA_CERT=/x.pem",
		"proxy":       "https_proxy=http://proxy:3128",
		"gemrc":       "GEMRC=/x",
		"certs":       "SSL_CERT_FILE=/x.pem",
	} {
		e := env
		e.Environ = append(slices.Clone(env.Environ), kv)
		if why := bundleFetchEnvWhy(e); why == "" {
			t.Errorf("%s (%s): curl chosen", name, kv)
		}
	}
	if err := os.MkdirAll(filepath.Join(home, ".bundle"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(home, ".bundle", "config")
	if err := os.WriteFile(cfg, []byte("---\nBUNDLE_JOBS: \"4\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if why := bundleFetchEnvWhy(env); why != "" {
		t.Errorf("a user config of jobs only: %s", why)
	}
	if err := os.WriteFile(cfg, []byte("---\nBUNDLE_GEMS__EXAMPLE__COM: \"u:p\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if why := bundleFetchEnvWhy(env); why == "" {
		t.Error("a user config with credentials: curl chosen")
	}
	if err := os.WriteFile(filepath.Join(home, ".gemrc"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(cfg); err != nil {
		t.Fatal(err)
	}
	if why := bundleFetchEnvWhy(env); why == "" {
		t.Error("a ~/.gemrc: curl chosen")
	}
}

func TestBundleFastFetchPlan(t *testing.T) {
	if _, err := os.Stat(bundleFetchCurl); err != nil {
		t.Skip("no curl")
	}
	if _, err := os.Lstat("/etc/gemrc"); err == nil {
		t.Skip("/etc/gemrc exists")
	}
	root, home := t.TempDir(), t.TempDir()
	lock := strings.Replace(bundleFastLock, "x86_64-linux", bundleLocalPlatforms()[0], 1)
	for name, data := range map[string]string{
		"Gemfile":        "source \"http://127.0.0.1:8080\"\ngem \"pbox_greet\"\n",
		"Gemfile.lock":   lock,
		".bundle/config": "---\nBUNDLE_PATH: \"vendor/bundle\"\n",
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	plan := func(extra ...string) *Plan {
		t.Helper()
		env := Env{Dir: root, Home: home, Environ: append([]string{"HOME=" + home, "PATH=/usr/bin"}, extra...)}
		p, err := bundleManager{name: "bundle"}.Plan([]string{"install"}, env)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := plan()
	if p.Steps.Resolve != nil || p.Steps.Evaluate != nil || p.Steps.Download == nil || p.Steps.Build == nil {
		t.Fatalf("steps: resolve %v evaluate %v download %v build %v", p.Steps.Resolve, p.Steps.Evaluate, p.Steps.Download, p.Steps.Build)
	}
	d := p.Steps.Download
	if !d.Network || d.Credentials || !strings.Contains(strings.Join(d.Args, " "), "curl") || slices.Contains(d.Args, "bundle") {
		t.Errorf("the download is not curl's, with the network and no credentials: %+v", d)
	}
	if want := filepath.Join(root, bundleWork, "cache", "pbox_dep-1.0.0.gem"); !slices.Contains(d.Args, want) {
		t.Errorf("the download does not write %s: %q", want, d.Args)
	}
	if p.Steps.Fetched != bundleWork+"/cache" || !slices.Contains(p.Steps.Build.Args, "sh") {
		t.Errorf("fetched %q, build %q", p.Steps.Fetched, p.Steps.Build.Args)
	}
	if d := plan("BUNDLE_127__0__0__1=u:p").Steps.Download; !slices.Contains(d.Args, "bundle") || !d.Credentials {
		t.Errorf("with credentials for the source the download is not Bundler's: %+v", d)
	}
}

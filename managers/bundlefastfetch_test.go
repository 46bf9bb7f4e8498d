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

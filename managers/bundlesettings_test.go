package managers

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// bundlerSettingNames are the settings of Bundler's settings.rb (2.3.15 as
// installed here: BOOL_KEYS, NUMBER_KEYS, ARRAY_KEYS, STRING_KEYS; later releases'
// additions; the keys read outside those lists) and of the bundle-config man page.
var bundlerSettingNames = []string{
	// BOOL_KEYS
	"allow_bundler_dependency_conflicts", "allow_deployment_source_credential_changes", "allow_offline_install",
	"auto_clean_without_path", "auto_install", "cache_all", "cache_all_platforms", "clean", "default_install_uses_path",
	"deployment", "deployment_means_frozen", "disable_checksum_validation", "disable_exec_load", "disable_local_branch_check",
	"disable_local_revision_check", "disable_multisource", "disable_shared_gems", "disable_version_check",
	"force_ruby_platform", "forget_cli_options", "frozen", "gem.changelog", "gem.coc", "gem.mit", "git.allow_insecure",
	"global_gem_cache", "ignore_funding_requests", "ignore_messages", "init_gems_rb", "inline", "lockfile_checksums",
	"no_install", "no_prune", "only_update_to_newer_versions", "path_relative_to_cwd", "path.system", "plugins",
	"prefer_patch", "print_only_version_number", "setup_makes_kernel_gem_public", "silence_deprecations",
	"silence_root_warning", "specific_platform", "suppress_install_using_messages", "unlock_source_unlocks_spec",
	"update_requires_all_flag", "use_gem_version_promoter_for_major_updates",
	// NUMBER_KEYS
	"jobs", "redirect", "retry", "ssl_verify_mode", "timeout",
	// ARRAY_KEYS
	"only", "with", "without",
	// STRING_KEYS
	"bin", "cache_path", "console", "gem.ci", "gem.github_username", "gem.linter", "gem.rubocop", "gem.test",
	"gemfile", "lockfile", "path", "shebang", "simulate_version", "system_bindir", "trust-policy", "version",
	// read elsewhere (Bundler.settings[...], ENV)
	"ssl_ca_cert", "ssl_client_cert", "gem.push_key", "app_config", "user_home", "user_cache", "user_config",
	"user_plugin", "config", "ignore_config",
	// patterns, by example
	"build.nokogiri", "mirror.https://rubygems.org/", "mirror.https://rubygems.org/.fallback_timeout",
	"https://gems.example.com/.fallback_timeout", "local.rack", "gems.example.com", "https://gems.example.com/",
}

func TestBundleSettingsAllClassified(t *testing.T) {
	for _, name := range bundlerSettingNames {
		v := BundleSettingVar(name)
		s, ok := ClassifyBundleSetting(v)
		if !ok {
			t.Errorf("%s (%s) is not classified", name, v)
			continue
		}
		if s.Class == "" || s.What == "" {
			t.Errorf("%s: class %q, what %q", name, s.Class, s.What)
		}
	}
	for _, s := range BundleSettings {
		if _, ok := map[BundleSettingClass]bool{BundleData: true, BundlePath: true, BundleBuild: true, BundleExec: true,
			BundleCredential: true, BundleNetwork: true, BundleUser: true}[s.Class]; !ok {
			t.Errorf("%s: unknown class %q", s.Name, s.Class)
		}
	}
	want := map[string]BundleSettingClass{
		"BUNDLE_BUILD__NOKOGIRI": BundleBuild, "BUNDLE_GEMS__EXAMPLE__COM": BundleCredential,
		"BUNDLE_GEM__PUSH_KEY": BundleCredential, "BUNDLE_MIRROR__HTTPS://RUBYGEMS__ORG/": BundleNetwork,
		"BUNDLE_PATH": BundlePath, "BUNDLE_PLUGINS": BundleExec, "BUNDLE_SSL_VERIFY_MODE": BundleNetwork,
		"BUNDLE_LOCAL__RACK": BundleUser, "BUNDLE_PATH__SYSTEM": BundleUser, "BUNDLE_TRUST___POLICY": BundleBuild,
		"BUNDLE_HTTPS://GEMS__EXAMPLE__COM/": BundleCredential,
	}
	for k, c := range want {
		if s, _ := ClassifyBundleSetting(k); s.Class != c {
			t.Errorf("%s: class %q, want %q", k, s.Class, c)
		}
	}
	if _, ok := ClassifyBundleSetting("BUNDLE_NOT_A_SETTING"); ok {
		t.Error("an unknown key must not be classified")
	}
}

func TestBundleSettingsPage(t *testing.T) {
	page := BundleSettingsPage()
	for _, s := range BundleSettings {
		if !strings.Contains(page, "| `"+s.Name+"` |") {
			t.Errorf("the page misses %s", s.Name)
		}
	}
	committed, err := os.ReadFile(filepath.Join("..", "docs", "reference", "bundle-config-settings.md"))
	if err != nil || !strings.HasPrefix(string(committed), page) {
		t.Errorf("docs/reference/bundle-config-settings.md is not current (%v); regenerate: go run -tags seccomp ./cmd/phylum-box docs --dir docs/reference", err)
	}
}

func TestBundleProjectConfig(t *testing.T) {
	root := t.TempDir()
	tests := []struct{ body, want string }{
		{"---\nBUNDLE_PATH: \"vendor/bundle\"\nBUNDLE_JOBS: \"4\"\n", ""},
		{"BUNDLE_PATH: \"/usr/lib/gems\"\n", ".bundle/config:1: BUNDLE_PATH /usr/lib/gems is outside"},
		{"BUNDLE_BIN: \"../bin\"\n", ".bundle/config:1: BUNDLE_BIN ../bin is outside"},
		{"BUNDLE_SSL_CA_CERT: \"ca.pem\"\n", ".bundle/config:1: BUNDLE_SSL_CA_CERT (network-target"},
		{"BUNDLE_LOCAL__RACK: \"/home/x/rack\"\n", ".bundle/config:1: BUNDLE_LOCAL__RACK (user-only"},
		{"BUNDLE_GEM__PUSH_KEY: \"k\"\n", "BUNDLE_GEM__PUSH_KEY (credential"},
		{"BUNDLE_VERSION: \"2.9.9\"\n", "BUNDLE_VERSION (exec"},
		{"BUNDLE_GEMFILE: \"Gemfile.other\"\n", "BUNDLE_GEMFILE (exec"},
		{"BUNDLE_PATH:\n  nested: 1\n", ".bundle/config:2: not a `KEY: value` line"},
	}
	// A symlink is not followed.
	if err := os.MkdirAll(filepath.Join(root, ".bundle"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/hostname", filepath.Join(root, ".bundle", "config")); err != nil {
		t.Fatal(err)
	}
	if _, err := checkBundleProjectConfig(root, filepath.Join(root, ".bundle", "config"), ".bundle/config"); err == nil || !strings.Contains(err.Error(), "is a symbolic link (to /etc/hostname") {
		t.Errorf("a symlinked .bundle/config: %v", err)
	}
	os.Remove(filepath.Join(root, ".bundle", "config"))
	for _, tc := range tests {
		f := filepath.Join(root, ".bundle", "config")
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte(tc.body), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := checkBundleProjectConfig(root, f, ".bundle/config")
		got := ""
		if err != nil {
			got = err.Error()
		}
		if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("%q: got %q, want %q", tc.body, got, tc.want)
		}
	}
}

package managers

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// BundleSettingClass says what a Bundler setting does, which decides whether a
// project's .bundle/config may carry it. Bundler lets the app's config win over the
// environment (settings.rb: temporary, local, env, global, default), so a project
// setting cannot be overridden by the step's environment: it is refused instead.
type BundleSettingClass string

const (
	// BundleData only tunes how Bundler resolves, fetches or prints: honoured.
	BundleData BundleSettingClass = "data"
	// BundlePath names a file or directory: honoured when it is inside the project.
	BundlePath BundleSettingClass = "path"
	// BundleBuild is acted on only while gems are built (extconf.rb flags, binstub
	// shebangs), which is the step with no network and no credentials: honoured.
	BundleBuild BundleSettingClass = "build"
	// BundleExec runs programs or loads plugins in any step: refused in a project.
	BundleExec BundleSettingClass = "exec"
	// BundleCredential is a secret: the user's own config only.
	BundleCredential BundleSettingClass = "credential"
	// BundleNetwork changes where or how securely the network steps fetch (mirrors,
	// TLS): the user's own config only.
	BundleNetwork BundleSettingClass = "network-target"
	// BundleUser names the user's own locations or switches that only make sense
	// per user: refused in a project.
	BundleUser BundleSettingClass = "user-only"
)

// bundleProjectAllowed: the classes a project's .bundle/config may use.
var bundleProjectAllowed = map[BundleSettingClass]bool{BundleData: true, BundlePath: true, BundleBuild: true}

// BundleSetting is one Bundler setting, by its `bundle config` name ("path",
// "build.<gem>"); its variable is BundleSettingVar(Name).
type BundleSetting struct {
	Name  string
	Class BundleSettingClass
	What  string
}

// BundleSettings lists every setting of Bundler's settings.rb (BOOL_KEYS,
// NUMBER_KEYS, ARRAY_KEYS, STRING_KEYS, the keys read elsewhere) and of the
// bundle-config man page, 2.3 to 2.6, in the order of the generated page. Names
// with "<…>" are patterns.
var BundleSettings = []BundleSetting{
	// Where things go: inside the project only.
	{"path", BundlePath, "where gems are installed"},
	{"bin", BundlePath, "where binstubs are written"},
	{"cache_path", BundlePath, "where `bundle cache` puts .gem files"},
	{"lockfile", BundlePath, "the lockfile to use (Bundler 2.5+)"},
	{"app_config", BundlePath, "the app config directory (the environment variable only)"},
	// Data.
	{"allow_bundler_dependency_conflicts", BundleData, "older resolver switch"},
	{"allow_deployment_source_credential_changes", BundleData, "deployment check of source credentials"},
	{"allow_offline_install", BundleData, "use cached gems when offline"},
	{"auto_clean_without_path", BundleData, "clean when no path is set"},
	{"auto_install", BundleData, "`bundle exec` installs missing gems (outside phylum-box)"},
	{"cache_all", BundleData, "cache git and path gems too"},
	{"cache_all_platforms", BundleData, "cache gems of every platform"},
	{"clean", BundleData, "remove unused gems after install"},
	{"gemfile", BundleExec, "the Gemfile to use: Ruby Bundler evaluates (phylum-box evaluates the Gemfile offline itself; BUNDLE_GEMFILE in your environment chooses it)"},
	{"console", BundleExec, "the REPL `bundle console` starts (a program)"},
	{"default_install_uses_path", BundleData, "install to .bundle by default"},
	{"deployment", BundleData, "deployment mode (frozen, vendor/bundle)"},
	{"deployment_means_frozen", BundleData, "older deployment switch"},
	{"disable_exec_load", BundleData, "`bundle exec` uses exec, not load"},
	{"disable_local_branch_check", BundleData, "local git override branch check"},
	{"disable_local_revision_check", BundleData, "local git override revision check"},
	{"disable_multisource", BundleData, "older multisource switch"},
	{"disable_shared_gems", BundleData, "do not use system gems"},
	{"disable_version_check", BundleData, "no check for a newer Bundler"},
	{"force_ruby_platform", BundleData, "ignore platform-specific gems"},
	{"forget_cli_options", BundleData, "do not remember command-line options"},
	{"frozen", BundleData, "refuse to change the lockfile"},
	{"gem.changelog", BundleData, "`bundle gem` template option"},
	{"gem.ci", BundleData, "`bundle gem` template option"},
	{"gem.coc", BundleData, "`bundle gem` template option"},
	{"gem.github_username", BundleData, "`bundle gem` template option"},
	{"gem.linter", BundleData, "`bundle gem` template option"},
	{"gem.mit", BundleData, "`bundle gem` template option"},
	{"gem.rubocop", BundleData, "`bundle gem` template option"},
	{"gem.test", BundleData, "`bundle gem` template option"},
	{"ignore_funding_requests", BundleData, "do not print funding messages"},
	{"ignore_messages", BundleData, "do not print post-install messages"},
	{"init_gems_rb", BundleData, "`bundle init` writes gems.rb"},
	{"inline", BundleData, "bundler/inline switch"},
	{"jobs", BundleData, "parallel downloads and installs"},
	{"lockfile_checksums", BundleData, "record gem checksums in the lockfile (Bundler 2.6+)"},
	{"no_install", BundleData, "`bundle package` does not install"},
	{"no_prune", BundleData, "keep old gems in the cache"},
	{"only", BundleData, "install only these groups"},
	{"only_update_to_newer_versions", BundleData, "older update switch"},
	{"path_relative_to_cwd", BundleData, "path is relative to the working directory"},
	{"prefer_patch", BundleData, "prefer patch updates"},
	{"print_only_version_number", BundleData, "`bundle version` output"},
	{"redirect", BundleData, "HTTP redirects to follow"},
	{"retry", BundleData, "network retries"},
	{"setup_makes_kernel_gem_public", BundleData, "bundler/setup switch"},
	{"silence_deprecations", BundleData, "no deprecation warnings"},
	{"silence_root_warning", BundleData, "no warning when run as root"},
	{"specific_platform", BundleData, "older platform switch"},
	{"suppress_install_using_messages", BundleData, "quieter install"},
	{"timeout", BundleData, "network timeout"},
	{"unlock_source_unlocks_spec", BundleData, "older update switch"},
	{"update_requires_all_flag", BundleData, "`bundle update` needs --all"},
	{"use_gem_version_promoter_for_major_updates", BundleData, "older update switch"},
	{"with", BundleData, "optional groups to install"},
	{"without", BundleData, "groups not to install"},
	// Build only.
	{"build.<gem>", BundleBuild, "flags passed to the gem's extconf.rb (only the offline build step builds)"},
	{"shebang", BundleBuild, "the interpreter written into binstubs (the build step writes them)"},
	{"trust-policy", BundleBuild, "RubyGems signature policy applied while installing"},
	// Programs and plugins.
	{"plugins", BundleExec, "the plugin system: plugins are Ruby loaded by Bundler in every step (phylum-box turns it off)"},
	{"version", BundleExec, "which Bundler runs (Bundler 2.5+): another Bundler, fetched and run"},
	{"simulate_version", BundleExec, "behave as another Bundler major version"},
	// Credentials.
	{"<host>", BundleCredential, "user:password for a gem server (BUNDLE_GEMS__EXAMPLE__COM)"},
	{"<uri>", BundleCredential, "user:password for a source URI"},
	{"gem.push_key", BundleCredential, "the API key `gem push` uses"},
	// Where and how securely the network steps fetch.
	{"mirror.<uri>", BundleNetwork, "fetch a source from another server"},
	{"mirror.<uri>.fallback_timeout", BundleNetwork, "when to fall back from a mirror"},
	{"<uri>.fallback_timeout", BundleNetwork, "when to fall back from a mirror"},
	{"ssl_ca_cert", BundleNetwork, "the CA file trusted for gem servers"},
	{"ssl_client_cert", BundleNetwork, "the client certificate (and key) sent to gem servers"},
	{"ssl_verify_mode", BundleNetwork, "0 turns TLS verification off"},
	{"disable_checksum_validation", BundleNetwork, "do not verify downloaded gems' checksums"},
	{"git.allow_insecure", BundleNetwork, "allow git sources over plain http and git://"},
	// The user's own.
	{"local.<gem>", BundleUser, "a local checkout used in place of a git source (a path outside the project whose gemspec is Ruby)"},
	{"path.system", BundleUser, "install into the system gem dir"},
	{"system_bindir", BundleUser, "where `bundle binstubs --standalone`/system installs put executables"},
	{"global_gem_cache", BundleUser, "share .gem files in ~/.bundle/cache"},
	{"user_home", BundleUser, "the user's Bundler home"},
	{"user_cache", BundleUser, "the user's Bundler cache"},
	{"user_config", BundleUser, "the user's config file"},
	{"user_plugin", BundleUser, "the user's plugin dir"},
	{"config", BundleUser, "the user's config file (the environment variable only)"},
	{"ignore_config", BundleUser, "ignore every config file (the environment variable only)"},
}

// BundleSettingVar is the variable (and .bundle/config key) of a setting name, as
// Bundler's key_for spells it: "." becomes "__", "-" becomes "___", upper case.
func BundleSettingVar(name string) string {
	return "BUNDLE_" + strings.ToUpper(strings.ReplaceAll(strings.ReplaceAll(name, ".", "__"), "-", "___"))
}

// bundleSettingName turns a variable back into a setting name.
func bundleSettingName(key string) string {
	k := strings.TrimPrefix(key, "BUNDLE_")
	k = strings.ReplaceAll(k, "___", "-")
	return strings.ToLower(strings.ReplaceAll(k, "__", "."))
}

var bundleSettingByVar = sync.OnceValue(func() map[string]BundleSetting {
	m := map[string]BundleSetting{}
	for _, s := range BundleSettings {
		if !strings.Contains(s.Name, "<") {
			m[BundleSettingVar(s.Name)] = s
		}
	}
	return m
})

// ClassifyBundleSetting finds the setting a .bundle/config key or BUNDLE_*
// variable names; ok is false for a key Bundler does not know.
func ClassifyBundleSetting(key string) (BundleSetting, bool) {
	if s, ok := bundleSettingByVar()[strings.ToUpper(key)]; ok {
		return s, true
	}
	if !strings.HasPrefix(strings.ToUpper(key), "BUNDLE_") {
		return BundleSetting{}, false
	}
	name := bundleSettingName(key)
	pattern := func(p string) (BundleSetting, bool) {
		for _, s := range BundleSettings {
			if s.Name == p {
				return s, true
			}
		}
		return BundleSetting{}, false
	}
	isURI := strings.Contains(name, "://")
	switch {
	case strings.HasPrefix(name, "build."):
		return pattern("build.<gem>")
	case strings.HasPrefix(name, "mirror.") && strings.HasSuffix(name, ".fallback_timeout"):
		return pattern("mirror.<uri>.fallback_timeout")
	case strings.HasPrefix(name, "mirror."):
		return pattern("mirror.<uri>")
	case strings.HasPrefix(name, "local."):
		return pattern("local.<gem>")
	case isURI && strings.HasSuffix(name, ".fallback_timeout"):
		return pattern("<uri>.fallback_timeout")
	case isURI:
		return pattern("<uri>")
	case strings.Contains(name, "."):
		// gems.example.com: Bundler's credentials_for looks a source's host up.
		return pattern("<host>")
	}
	return BundleSetting{}, false
}

// bundleConfigLine is one setting of a flat Bundler config file.
type bundleConfigLine struct {
	Key, Value string
	Line       int
}

// parseBundleConfig reads a Bundler config file (flat YAML, what `bundle config`
// writes). A line it cannot read as `KEY: value` is an error: Bundler's own reader
// would make something of it that phylum-box did not check.
func parseBundleConfig(data []byte, file string) ([]bundleConfigLine, error) {
	var out []bundleConfigLine
	for i, line := range strings.Split(string(data), "\n") {
		t := strings.TrimSpace(line)
		if t == "" || t == "---" || strings.HasPrefix(t, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(k) != k || k == "" {
			return nil, fmt.Errorf("%s:%d: not a `KEY: value` line", file, i+1)
		}
		// "BUNDLE_MIRROR__HTTPS://…": the key itself holds a colon.
		for strings.HasPrefix(v, "//") {
			k2, v2, ok2 := strings.Cut(v, ":")
			if !ok2 {
				break
			}
			k, v = k+":"+k2, v2
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
			if v[0] == '"' {
				if uq, err := strconv.Unquote(v); err == nil {
					v = uq
				} else {
					v = v[1 : len(v)-1]
				}
			} else {
				v = v[1 : len(v)-1]
			}
		}
		out = append(out, bundleConfigLine{Key: k, Value: v, Line: i + 1})
	}
	return out, nil
}

// checkBundleProjectConfig refuses a project's .bundle/config that uses a setting
// a cloned project must not choose, naming file:line and the setting; paths must
// stay inside root. rel is the file's name for messages.
func checkBundleProjectConfig(root, file, rel string) ([]bundleConfigLine, error) {
	// Read as data, never through a link: a project's .bundle/config that is a
	// symlink (to the user's own config, say) is refused.
	if r, err := filepath.Rel(root, file); err == nil && !strings.HasPrefix(r, "..") {
		for d := root; ; {
			part, rest, more := strings.Cut(r, string(filepath.Separator))
			d = filepath.Join(d, part)
			fi, err := os.Lstat(d)
			if err != nil {
				break // absent: nothing to check
			}
			if fi.Mode()&os.ModeSymlink != 0 || !more && !fi.Mode().IsRegular() {
				what := "not a regular file"
				if target, err := os.Readlink(d); err == nil {
					what = "a symbolic link (to " + target + "; bundler writes this file, so it must be a plain one)"
				}
				return nil, &Refusal{Manager: "bundle", Reason: "the project's " + rel + " is refused (a checkout's files are untrusted input): " + d + " is " + what,
					Advice: "make .bundle/config a plain file in the project"}
			}
			if !more {
				break
			}
			r = rest
		}
	}
	data, err := readProjectFile(root, file)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		var pe *ProjectFileError
		if errors.As(err, &pe) {
			return nil, projectFileRefusal("bundle", root, pe)
		}
		return nil, &Refusal{Manager: "bundle", Reason: fmt.Sprintf("cannot read %s: %v", rel, err)}
	}
	lines, err := parseBundleConfig(data, rel)
	if err != nil {
		return nil, &Refusal{Manager: "bundle", Reason: err.Error(), Advice: "rewrite it with `bundle config set --local`"}
	}
	for _, l := range lines {
		s, ok := ClassifyBundleSetting(l.Key)
		where := fmt.Sprintf("%s:%d: %s", rel, l.Line, l.Key)
		switch {
		case !ok:
			return nil, &Refusal{Manager: "bundle", Reason: where + " is not a Bundler setting phylum-box knows",
				Advice: "remove it; see docs/reference/bundle-config-settings.md"}
		case !bundleProjectAllowed[s.Class]:
			return nil, &Refusal{Manager: "bundle", Reason: fmt.Sprintf("%s (%s: %s) may not come from the project", where, s.Class, s.What),
				Advice: "a cloned project's config cannot choose this; set it in your own ~/.bundle/config or the environment if you mean it"}
		case s.Class == BundlePath && l.Value != "":
			p := l.Value
			if !filepath.IsAbs(p) {
				p = filepath.Join(root, p)
			}
			p = filepath.Clean(p)
			if !within(root, p) || p == root {
				return nil, &Refusal{Manager: "bundle", Reason: fmt.Sprintf("%s %s is outside the project (%s)", where, l.Value, root),
					Advice: "use a path inside the project, e.g. `bundle config set --local path vendor/bundle`"}
			}
		}
	}
	return lines, nil
}

// BundleSettingsPage is the reference page of BundleSettings.
func BundleSettingsPage() string {
	var b strings.Builder
	b.WriteString("# Bundler settings in a project's .bundle/config\n\n")
	b.WriteString("A cloned project is untrusted input. phylum-box reads the project's `.bundle/config` on the host " +
		"before anything runs, and refuses the install (exit 2, naming `file:line` and the setting) when it " +
		"holds a setting of a class a project may not choose. Bundler lets a project's config win over the " +
		"environment, so such a setting cannot be overridden, only refused. Only the build step, which has no " +
		"network and no credentials, reads the project's config; the steps before it (the offline Gemfile " +
		"evaluation, resolve, download) run with an empty app config. Your own `~/.bundle/config` and " +
		"`BUNDLE_*` variables are yours and honoured (credentials reach only the resolve and download steps).\n\n")
	b.WriteString("| class | in a project |\n| --- | --- |\n")
	for _, c := range []struct {
		c   BundleSettingClass
		how string
	}{
		{BundleData, "honoured"},
		{BundlePath, "honoured when it is inside the project"},
		{BundleBuild, "honoured: acted on only in the build step, which has no network and no credentials"},
		{BundleExec, "refused: runs programs or loads plugins"},
		{BundleCredential, "refused: credentials belong in ~/.bundle/config or the environment"},
		{BundleNetwork, "refused: where and how securely gems are fetched is the user's choice"},
		{BundleUser, "refused: the user's own locations"},
	} {
		fmt.Fprintf(&b, "| %s | %s |\n", c.c, c.how)
	}
	b.WriteString("\nUnknown keys are refused too.\n\n| setting | variable | class | what it does |\n| --- | --- | --- | --- |\n")
	sorted := append([]BundleSetting(nil), BundleSettings...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	for _, s := range sorted {
		v := BundleSettingVar(s.Name)
		switch s.Name {
		case "<host>":
			v = "BUNDLE_GEMS__EXAMPLE__COM"
		case "<uri>":
			v = "BUNDLE_HTTPS://GEMS__EXAMPLE__COM/"
		}
		fmt.Fprintf(&b, "| `%s` | `%s` | %s | %s |\n", s.Name, strings.ReplaceAll(v, "|", `\|`), s.Class, strings.ReplaceAll(s.What, "|", `\|`))
	}
	return b.String()
}

func init() { RegisterSettingsPage("bundle-config-settings.md", BundleSettingsPage) }

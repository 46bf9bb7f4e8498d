package managers

import (
	"fmt"
	"path"
	"strings"

	"github.com/phylum-box/phylum-box/internal/lazyre"
)

// The environment of a wrapped install is scrubbed (sandbox.ScrubEnv keeps PATH,
// locale, terminal and TLS trust settings). What else reaches the steps:
//
//   - the managers' own settings (npm_config_*, pnpm_config_*, YARN_*, PIP_*,
//     POETRY_*, BUNDLE_*, CARGO_*, …), each manager's own (managerSettings) by finish — credentials
//     among them only to the resolve and download steps;
//   - the built-in list below: non-secret switches that install scripts read
//     (PUPPETEER_SKIP_DOWNLOAD=1 must reach puppeteer's postinstall);
//   - what the user names with --keep-env NAME or keep_env in the config or the
//     user's policy.
//
// The last two reach only the build and its install scripts, never a step with
// the network or credentials (install.go): a user's
// LD_LIBRARY_PATH=:/usr/local/cuda/lib64 (its empty entry is the working
// directory, the project) or NODE_OPTIONS=--require FILE would load project files
// into npm there, with the registry token.
//
// A credential never passes that way: a name or value that looks like one is
// refused (KeepEnvProblem) or left out (BuiltinKeepEnv).

// BuiltinKeepEnv are the patterns (path.Match syntax over the variable's name) of
// the variables the build and its install scripts get from the user's environment,
// unless the name or the value looks like a credential. Documented in docs/configuration.md.
var BuiltinKeepEnv = []string{
	"*_SKIP_DOWNLOAD",                                          // PUPPETEER_SKIP_DOWNLOAD, …
	"*_SKIP_*_DOWNLOAD",                                        // PUPPETEER_SKIP_CHROMIUM_DOWNLOAD, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD, ELECTRON_SKIP_BINARY_DOWNLOAD
	"*_SKIP_BINARY_DOWNLOAD_FOR_CI",                            // CHROMEDRIVER_SKIP_BINARY_DOWNLOAD_FOR_CI-style spellings
	"CYPRESS_INSTALL_BINARY",                                   // 0 skips Cypress's binary
	"SHARP_*",                                                  // SHARP_IGNORE_GLOBAL_LIBVIPS, SHARP_FORCE_GLOBAL_LIBVIPS
	"PRISMA_SKIP_POSTINSTALL_GENERATE",                         // prisma's postinstall
	"HUSKY",                                                    // HUSKY=0 turns husky's install off
	"ADBLOCK", "DISABLE_OPENCOLLECTIVE", "OPENCOLLECTIVE_HIDE", // postinstall banners
}

// secretNameParts are name fragments that mark a credential, beyond isSecretEnv's
// ("pass" also for DB_PASS, MYSQL_PASS; "pwd" for MYSQL_PWD; a DSN or webhook URL
// is its own secret).
var secretNameParts = []string{"secret", "credential", "pass", "pwd", "private", "apikey", "api_key", "_key", "session", "cookie", "signature", "jwt", "dsn", "webhook", "bearer"}

// secretValueRE matches a value that is a credential whatever the variable is
// called: a URL with any userinfo (https://TOKEN@host, redis://:PASSWORD@host, not
// only user:password), a private key, or a well-known token format.
var secretValueRE = lazyre.New(`://[^/?#@\s]+@|-----BEGIN [A-Z ]*PRIVATE KEY|\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}|npm_[A-Za-z0-9]{36}|glpat-[A-Za-z0-9_-]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}|pypi-AgE[A-Za-z0-9_-]{20,}|sk_live_[A-Za-z0-9]{20,})`)

// looksSecretEnv reports whether a variable must not leave the credential steps: its
// name looks like a secret's, its value is a URL with a password, or it is an npm
// setting classified as a credential (npm_config_key, npm_config_cert, …).
func looksSecretEnv(name, value string) bool {
	if isSecretEnv(name) || urlUserinfoRE().MatchString(value) || secretValueRE().MatchString(value) || npmEnvCredential(name) {
		return true
	}
	k := strings.ToLower(name)
	if k == "pat" || strings.HasSuffix(k, "_pat") { // GITHUB_PAT, a personal access token
		return true
	}
	for _, s := range secretNameParts {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

// npmEnvCredential: npm_config_KEY or pnpm_config_KEY where KEY is a credential
// setting in npmsettings.go's table (client certificate and key, username, email).
func npmEnvCredential(name string) bool {
	k := strings.ToLower(name)
	for _, pre := range []string{"npm_config_", "pnpm_config_"} {
		if rest, ok := strings.CutPrefix(k, pre); ok {
			return classifyNpmKey(strings.ReplaceAll(rest, "_", "-")) == SettingCredential ||
				classifyNpmKey(rest) == SettingCredential
		}
	}
	return false
}

// KeepEnvProblem says why NAME cannot be passed with --keep-env or keep_env, or "".
func KeepEnvProblem(name string) string {
	switch {
	case name == "" || strings.ContainsAny(name, "= \t\n"):
		return fmt.Sprintf("%q is not an environment variable name", name)
	case looksSecretEnv(name, ""):
		return fmt.Sprintf("%s looks like a credential; credentials reach only the steps that run no package code (put it in the manager's own config, e.g. ~/.npmrc, or name it NPM_TOKEN-style for the registry steps)", name)
	case name == "HOME" || name == "USER" || name == "LOGNAME" || name == "TMPDIR":
		return fmt.Sprintf("%s is set by the sandbox", name)
	case managerSettingEnv(name):
		return fmt.Sprintf("%s is a package manager setting: phylum-box passes those itself (credentials only to the registry steps) and sets some for the sandbox", name)
	}
	return ""
}

// KeptEnv returns the KEY=VALUE assignments of environ that the built-in list or
// keep names (unless they look like credentials), in environ's order, each once;
// dropped lists the names of keep that were present but left out as secret.
func KeptEnv(environ, keep []string) (kept, dropped []string) {
	want := map[string]bool{}
	for _, k := range keep {
		want[k] = true
	}
	seen := map[string]int{}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			continue
		}
		if !want[k] && !builtinKeep(k) {
			continue
		}
		if looksSecretEnv(k, v) || KeepEnvProblem(k) != "" {
			if want[k] && !contains(dropped, k) {
				dropped = append(dropped, k)
			}
			continue
		}
		if i, dup := seen[k]; dup {
			kept[i] = kv // the last assignment wins, as in getenv over execve
			continue
		}
		seen[k] = len(kept)
		kept = append(kept, kv)
	}
	return kept, dropped
}

// managerSettingEnv: a variable the managers read as their own setting, which
// finish carries (or the plan sets) for any manager — never overridden by keep_env.
func managerSettingEnv(name string) bool {
	for _, s := range managerSettings {
		if _, ok := s.matches(name); ok {
			return true
		}
	}
	return false
}

func builtinKeep(name string) bool {
	for _, pat := range BuiltinKeepEnv {
		if ok, _ := path.Match(pat, name); ok {
			return true
		}
	}
	return false
}

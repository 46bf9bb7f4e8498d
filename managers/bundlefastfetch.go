package managers

import (
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/phylum-box/phylum-box/internal/lazyre"
)

// The download of a committed Gemfile.lock without Bundler (issue 12). When the
// lockfile is the resolution (bundlefromlock.go), what `bundle cache --no-install`
// does in the download step is known before it starts: for every locked gem,
// GET <remote>gems/<name>-<version>.gem into the cache dir. Bundler's start-up
// (0.3-0.5 s of CPU) was most of that step; curl fetching the same files is a few
// milliseconds. What the step runs: sh and curl with phylum-box's own arguments,
// built here from the lockfile read as data (names and versions checked against
// the characters a gem file name has, the one remote checked as a source URL); no
// Ruby, no Gemfile, no project code, no package code. The precheck before it, the
// static analysis of the fetched files after it and the offline, frozen build are
// unchanged. Bundler itself checks no checksum in that download either (its
// --no-install stops before the installer that would): the build's `bundle
// install --local` reads each file as Bundler does.
//
// Bundler keeps the step whenever its download would differ from curl's: a
// platform gem (Bundler picks among the lockfile's platforms), more than one
// source, credentials, mirrors, TLS, certificate or proxy settings of the user's (the curl
// step would not apply them), a gemrc, or no curl on this machine.

// bundleGemFileRE: what a gem's file name (name-version.gem) may be made of; a
// version with a "-" is a platform gem.
var bundleGemFileRE = lazyre.New(`^[A-Za-z0-9_][A-Za-z0-9._-]*$`)

// bundleFetchCurl is the curl the download step runs (the sandbox binds /usr).
const bundleFetchCurl = "/usr/bin/curl"

// bundleFetchScript runs curl over the pairs after it (-o FILE URL …): in
// parallel where curl knows --parallel (7.66 and later), one after the other
// where it does not (it exits 2 on an unknown option before fetching anything).
// -q first: no ~/.curlrc.
const bundleFetchScript = `mkdir -p "$0" || exit
set -- --fail --silent --show-error --location --proto =http,https --proto-redir =http,https --max-redirs 10 --connect-timeout 60 "$@"
curl -q --parallel --parallel-max 8 --no-progress-meter "$@"; rc=$?
if [ "$rc" = 2 ]; then curl -q "$@"; rc=$?; fi
exit $rc`

// bundleFastFetch replaces p's Bundler download with curl's when the project's
// lockfile allows it, and says why not otherwise (for -v).
func bundleFastFetch(p *Plan, env Env, root, lockName string) string {
	if why := bundleFetchEnvWhy(env); why != "" {
		return why
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return err.Error()
	}
	defer r.Close()
	data, err := readNoLink(r, lockName)
	if err != nil {
		return err.Error()
	}
	args, why := bundleFetchArgs(data, filepath.Join(root, bundleWork, "cache"))
	if why != "" {
		return why
	}
	p.Steps.Download = &Step{
		Args:    concat([]string{"sh", "-c", bundleFetchScript, filepath.Join(root, bundleWork, "cache")}, args),
		Name:    "curl (the " + lockName + " gems)",
		Network: true,
	}
	p.Notes = append(p.Notes, "bundle: the download fetches "+lockName+"'s gems with curl (no Bundler start-up)")
	return ""
}

// bundleFetchArgs returns curl's -o FILE URL pairs for every gem of lockData,
// each fetched into dir, or why Bundler must download them.
func bundleFetchArgs(lockData []byte, dir string) ([]string, string) {
	lock, why := parseBundleLock(lockData)
	if why != "" {
		return nil, why
	}
	if len(lock.remotes) != 1 {
		return nil, "the lockfile does not name exactly one gem source"
	}
	remote := lock.remotes[0]
	if _, err := bundleRemote(remote); err != nil {
		return nil, err.Error()
	}
	if u, err := url.Parse(remote); err != nil || u.Path != "" && !strings.HasPrefix(u.Path, "/") {
		return nil, "the gem source is not a URL curl reads as Bundler does"
	}
	var args []string
	seen := map[string]bool{}
	for _, s := range lock.specs {
		file := s.name + "-" + s.version
		switch {
		case !bundleGemFileRE().MatchString(s.name) || !bundleGemFileRE().MatchString(s.version) || strings.Contains(file, ".."):
			return nil, "a locked gem's name or version is not a file name: " + file
		case strings.Contains(s.version, "-"):
			return nil, "a platform gem is locked (" + file + "): Bundler chooses among platforms"
		case s.name == "bundler":
			return nil, "bundler itself is locked as a gem"
		case seen[file]:
			continue
		}
		seen[file] = true
		args = append(args, "-o", filepath.Join(dir, file+".gem"), remote+"/gems/"+file+".gem")
	}
	if len(args) == 0 {
		return nil, "the lockfile locks no gem"
	}
	return args, ""
}

// bundleFetchProxyVars are the variables that send Bundler's or curl's requests
// through a proxy, or choose the certificates they trust; Ruby and curl do not
// read them alike.
var bundleFetchProxyVars = []string{"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
	"SSL_CERT_FILE", "SSL_CERT_DIR", "CURL_CA_BUNDLE"}

// bundleFetchEnvWhy says why the user's settings ask for Bundler's own download
// (credentials, mirrors, TLS, proxies, a gemrc), or "".
func bundleFetchEnvWhy(env Env) string {
	if _, err := os.Stat(bundleFetchCurl); err != nil {
		return "no " + bundleFetchCurl
	}
	for _, v := range bundleFetchProxyVars {
		if env.Getenv(v) != "" {
			return v + " is set"
		}
	}
	if env.Getenv("GEMRC") != "" {
		return "GEMRC is set"
	}
	for _, f := range []string{"/etc/gemrc", filepath.Join(env.Home, ".gemrc")} {
		if _, err := os.Lstat(f); err == nil {
			return f + " exists"
		}
	}
	for _, kv := range env.Environ {
		k, _, _ := strings.Cut(kv, "=")
		if bundleFetchSettingKey(k) {
			return k + " is set"
		}
	}
	userCfg := env.Getenv("BUNDLE_USER_CONFIG")
	if userCfg == "" {
		userCfg = filepath.Join(env.Home, ".bundle", "config")
	}
	if data, err := os.ReadFile(userCfg); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			k, _, _ := strings.Cut(line, ":")
			if k = strings.Trim(strings.TrimSpace(k), `"'`); bundleFetchSettingKey(k) {
				return userCfg + " sets " + k
			}
		}
	} else if !os.IsNotExist(err) {
		return err.Error()
	}
	return ""
}

// bundleFetchSettingKey: a Bundler setting that changes how or from where a gem
// is fetched (credentials and mirrors are BUNDLE_<HOST>…; TLS, timeouts, the
// user agent, the fetch's own options).
func bundleFetchSettingKey(k string) bool {
	if !strings.HasPrefix(k, "BUNDLE_") {
		return false
	}
	if strings.Contains(k, "__") {
		return true // credentials and mirrors
	}
	return slices.Contains([]string{"BUNDLE_SSL_CA_CERT", "BUNDLE_SSL_CLIENT_CERT", "BUNDLE_SSL_VERIFY_MODE",
		"BUNDLE_CACHE_ALL_PLATFORMS", "BUNDLE_FORCE_RUBY_PLATFORM", "BUNDLE_SPECIFIC_PLATFORM",
		"BUNDLE_ALLOW_OFFLINE_INSTALL", "BUNDLE_PREFER_PATCH", "BUNDLE_USER_AGENT"}, k)
}

package managers

import (
	"encoding/json"
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/phylum-box/phylum-box/internal/lazyre"
)

// Fetch in the resolve step (issue 12): `npm install PKG` as one npm run instead
// of two. Bare npm resolves and fetches in one run; phylum-box's resolve
// (--package-lock-only) and download (npm install --ignore-scripts) were two npm
// start-ups and two containers, more than twice the bare command. When every
// dependency the install can reach is a registry one, the resolve step is `npm
// install … --ignore-scripts` itself: npm resolves and fetches in the same
// networked run and runs no package code (scripts off; npm passes that on to the
// `npm install` it would run in a git dependency's clone). Nothing it wrote is
// trusted before the host has prechecked the lockfile it left and read the tree it
// installed, the same checks as after a download step (install.go,
// fetchinresolve.go); a block throws the scratch away, nothing is synced. What
// changes: the tarballs of a blocked package are fetched (data, integrity-checked
// by npm) into the scratch and npm's cache before the verdict, never run.
//
// A plan that names anything but the registry — a git, file, link, tarball-URL or
// alias spec on the command line, in package.json or in the committed lockfile, or
// workspaces — keeps the two steps, so that such a dependency's `prepare` can never
// be fetched before the precheck has listed it.

// npmRegistrySpec is a command-line spec npm resolves from the registry: a name,
// with a version, range or tag after @ that names no other source.
var npmRegistrySpec = lazyre.New(`^(@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9_][a-z0-9._~-]*(@[^/:\\#\s]*)?$`)

// npmFetchesInResolve says whether `npm CMD rest…` at root may resolve and fetch
// in one step: only registry specs on the command line, in package.json and in
// the committed lockfile (read beneath root, no link followed), whose tarballs are
// on a registry cfg names. Any doubt: no.
func npmFetchesInResolve(cmd string, rest []string, root, lockfile string, workspaces []string, cfg *NpmConfig) bool {
	switch cmd {
	case "install", "update", "uninstall":
	default:
		return false
	}
	if len(workspaces) > 0 {
		return false
	}
	for _, s := range rest {
		if strings.HasPrefix(s, "-") || !npmRegistryArg(s) {
			return false
		}
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return false
	}
	defer r.Close()
	data, err := readNoLink(r, "package.json")
	if err != nil {
		return false
	}
	var man struct {
		Dependencies         map[string]string `json:"dependencies"`
		DevDependencies      map[string]string `json:"devDependencies"`
		OptionalDependencies map[string]string `json:"optionalDependencies"`
		PeerDependencies     map[string]string `json:"peerDependencies"`
		Overrides            json.RawMessage   `json:"overrides"`
		BundleDependencies   json.RawMessage   `json:"bundleDependencies"`
		BundledDependencies  json.RawMessage   `json:"bundledDependencies"`
	}
	if json.Unmarshal(data, &man) != nil || man.Overrides != nil || man.BundleDependencies != nil || man.BundledDependencies != nil {
		return false
	}
	for _, deps := range []map[string]string{man.Dependencies, man.DevDependencies, man.OptionalDependencies, man.PeerDependencies} {
		for _, v := range deps {
			if !npmRegistryRange(v) {
				return false
			}
		}
	}
	data, err = readNoLink(r, lockfile)
	if os.IsNotExist(err) {
		return true // a first install: what it resolves is read before anything runs
	}
	if err != nil {
		return false
	}
	var lock struct {
		Packages map[string]struct {
			Resolved string `json:"resolved"`
			Link     bool   `json:"link"`
		} `json:"packages"`
	}
	// A lockfileVersion 1 file has no "packages", only the nested "dependencies"
	// tree (whose git, file and tarball entries are not read here): no "packages"
	// key at all keeps the two steps.
	if json.Unmarshal(data, &lock) != nil || lock.Packages == nil {
		return false
	}
	hosts := npmRegistryHosts(cfg)
	for path, e := range lock.Packages {
		if path == "" {
			continue
		}
		if e.Link || e.Resolved != "" && !(npmRegistryTarball(e.Resolved) && hosts[urlHostKey(e.Resolved)]) {
			return false
		}
	}
	return true
}

// npmRegistryHosts are the hosts of the registries cfg names (the default one and
// every scope's) and registry.npmjs.org, whose tarball URLs npm rewrites to the
// configured registry (replace-registry-host) — as "host[:port]", see urlHostKey.
func npmRegistryHosts(cfg *NpmConfig) map[string]bool {
	hosts := map[string]bool{urlHostKey(DefaultNpmRegistry): true}
	if cfg == nil {
		return hosts
	}
	hosts[urlHostKey(cfg.Registry)] = true
	for _, r := range cfg.Scopes {
		hosts[urlHostKey(r)] = true
	}
	delete(hosts, "")
	return hosts
}

// urlHostKey is a URL's host as compared here: lower case, without a default
// port; "" for one that does not parse or has no host.
func urlHostKey(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if port == "" || strings.EqualFold(u.Scheme, "https") && port == "443" || strings.EqualFold(u.Scheme, "http") && port == "80" {
		return host
	}
	return net.JoinHostPort(host, port)
}

// npmRegistryArg: a command-line spec npm, pnpm and yarn resolve from the registry
// (a name, with a registry range or tag), never a file by its name.
func npmRegistryArg(s string) bool {
	return npmRegistrySpec().MatchString(s) && !npmTarballName(s) && npmRegistryRange(npmSpecRange(s))
}

// npmRegistryRange: a semver range or a tag, never a URL, path, git or alias spec.
func npmRegistryRange(v string) bool {
	// npm-package-arg takes a spec that starts with "." as a directory ("..", ".x").
	return !strings.ContainsAny(v, ":/\\#") && !npmTarballName(v) && !strings.HasPrefix(v, ".")
}

// npmSpecRange is what follows a command-line spec's name (foo@RANGE, @s/foo@RANGE); "" for none.
func npmSpecRange(s string) string {
	if i := strings.LastIndex(s, "@"); i > 0 {
		return s[i+1:]
	}
	return ""
}

// npmTarballName: a spec npm-package-arg takes as a file by its name (x.tgz,
// x.tar.gz, x.tar), though it has no slash.
func npmTarballName(s string) bool {
	l := strings.ToLower(s)
	return strings.HasSuffix(l, ".tgz") || strings.HasSuffix(l, ".tar.gz") || strings.HasSuffix(l, ".tar")
}

// npmRegistryTarball: a lockfile's resolved URL of a registry tarball (…/-/name-1.0.0.tgz).
func npmRegistryTarball(u string) bool {
	return (strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://")) && strings.Contains(u, "/-/") && strings.HasSuffix(u, ".tgz")
}

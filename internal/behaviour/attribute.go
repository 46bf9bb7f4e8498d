package behaviour

import (
	"path"
	"strings"

	"github.com/phylum-box/phylum-box/internal/lazyre"
	"github.com/phylum-box/phylum-box/precheck"
)

// Package is the package whose code did something. Ecosystem is OSV's spelling
// (precheck.NPM, …); Version may be empty when only the name could be told.
type Package struct {
	Ecosystem string `json:"ecosystem"`
	Name      string `json:"name"`
	Version   string `json:"version,omitempty"`
}

// IsZero reports whether p names no package.
func (p Package) IsZero() bool { return p.Name == "" }

func (p Package) String() string {
	if p.Version == "" {
		return p.Name
	}
	return p.Name + "@" + p.Version
}

// EnvKeys are the variables the Recorder reads, to pass as container.Monitor.EnvKeys:
// the lifecycle variables npm, yarn and pnpm set for a package's script, cargo's
// for a build script, and the proxy variables.
var EnvKeys = []string{
	"npm_package_name", "npm_package_version", "npm_lifecycle_event",
	"CARGO_PKG_NAME", "CARGO_PKG_VERSION", "CARGO_MANIFEST_DIR",
	// The egress proxy of a step that has one, whose address the rules watch.
	"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy",
}

// Attribute tells which package a process belongs to from its environment (the
// EnvKeys found) and working directory, as the container sees it. It reads nothing
// from disk: a script chooses its own cwd and environment, so the answer names
// whose script claims to be running; callers also follow the process's parents
// (see Recorder). The zero Package means no package could be told.
func Attribute(ecosystem string, env map[string]string, cwd string) Package {
	switch ecosystem {
	case precheck.NPM:
		if n := env["npm_package_name"]; n != "" {
			return Package{ecosystem, n, env["npm_package_version"]}
		}
		n, v := nodeModulesDir(cwd)
		return Package{ecosystem, n, v}.orZero()
	case precheck.CratesIO:
		if n := env["CARGO_PKG_NAME"]; n != "" {
			return Package{ecosystem, n, env["CARGO_PKG_VERSION"]}
		}
		if d := env["CARGO_MANIFEST_DIR"]; d != "" {
			if n, v := nameVersion(path.Base(d)); n != "" {
				return Package{ecosystem, n, v}
			}
		}
		n, v := nameVersionInPath(cwd, nil)
		return Package{ecosystem, n, v}.orZero()
	case precheck.PyPI:
		n, v := pythonBuildDir(cwd)
		return Package{ecosystem, n, v}.orZero()
	case precheck.RubyGems:
		n, v := gemDir(cwd)
		return Package{ecosystem, n, v}.orZero()
	}
	return Package{}
}

func (p Package) orZero() Package {
	if p.Name == "" {
		return Package{}
	}
	return p
}

// nodeModulesDir is the package a path below node_modules is in: the last
// node_modules/<name> or node_modules/@scope/<name> of the path. The version comes
// from a pnpm store dir (.pnpm/<name>@<version>[_peers]) or a yarn berry unplugged
// dir (<name>-npm-<version>-<hash>) on the way, when there is one.
func nodeModulesDir(cwd string) (name, version string) {
	parts := strings.Split(path.Clean(cwd), "/")
	at := -1
	for i := len(parts) - 2; i >= 0; i-- {
		if parts[i] == "node_modules" {
			at = i
			break
		}
	}
	if at < 0 || parts[at+1] == ".bin" || parts[at+1] == ".pnpm" || strings.HasPrefix(parts[at+1], ".") {
		return "", ""
	}
	name = parts[at+1]
	if strings.HasPrefix(name, "@") {
		if at+2 >= len(parts) {
			return "", ""
		}
		name += "/" + parts[at+2]
	}
	for i := at - 1; i >= 1; i-- {
		switch {
		case parts[i-1] == ".pnpm":
			// @scope+name@1.2.3_peer@4 or name@1.2.3(peer@4)
			seg := strings.Replace(parts[i], "+", "/", 1)
			if strings.HasPrefix(seg, name+"@") {
				v := seg[len(name)+1:]
				if j := strings.IndexAny(v, "_("); j >= 0 {
					v = v[:j]
				}
				return name, v
			}
		case parts[i-1] == "unplugged":
			// @scope-name-npm-1.2.3-0123456789 or name-npm-1.2.3-0123456789
			seg := parts[i]
			if j := strings.LastIndex(seg, "-npm-"); j >= 0 {
				v := seg[j+len("-npm-"):]
				if k := strings.LastIndex(v, "-"); k > 0 {
					v = v[:k]
				}
				return name, v
			}
		}
	}
	return name, ""
}

var nameVersionRE = lazyre.New(`^(.+?)-(\d+(?:\.[0-9A-Za-z]+)*(?:[-+][0-9A-Za-z._+-]*)?)$`)

// nameVersion splits "NAME-VERSION" (an unpacked sdist, crate or gem dir).
func nameVersion(seg string) (name, version string) {
	m := nameVersionRE().FindStringSubmatch(seg)
	if m == nil {
		return "", ""
	}
	return m[1], m[2]
}

// nameVersionInPath is the innermost NAME-VERSION segment of p (skipping the
// segments skip says to).
func nameVersionInPath(p string, skip func(string) bool) (name, version string) {
	parts := strings.Split(path.Clean(p), "/")
	for i := len(parts) - 1; i >= 0; i-- {
		if skip != nil && skip(parts[i]) {
			continue
		}
		if n, v := nameVersion(parts[i]); n != "" {
			return n, v
		}
	}
	return "", ""
}

// pipInstallRE is pip's unpack dir of a requirement: /tmp/pip-install-<rand>/<name>_<hex>.
var pipInstallRE = lazyre.New(`^(.+)_[0-9a-f]{32}$`)

// pythonBuildDir tells the distribution from the dir pip or poetry unpacked it in:
// pip's pip-install-*/<name>_<hex>, or an sdist's own <name>-<version> dir (pip's
// pip-req-build-* holds a direct URL or a local path, whose name the path does not
// say).
func pythonBuildDir(cwd string) (name, version string) {
	parts := strings.Split(path.Clean(cwd), "/")
	for i := 1; i < len(parts); i++ {
		if strings.HasPrefix(parts[i-1], "pip-install-") {
			if m := pipInstallRE().FindStringSubmatch(parts[i]); m != nil {
				// pip names the dir after the requirement, normalised with "_".
				_, v := nameVersionInPath(strings.Join(parts[i+1:], "/"), nil)
				return m[1], v
			}
		}
	}
	return nameVersionInPath(cwd, func(seg string) bool {
		return strings.HasPrefix(seg, "python") || strings.HasPrefix(seg, "pip-")
	})
}

// gemDir tells the gem from .../gems/<name>-<version>[-platform]/... (the dir
// extconf.rb and the Rakefile of an extension run in).
func gemDir(cwd string) (name, version string) {
	parts := strings.Split(path.Clean(cwd), "/")
	for i := len(parts) - 1; i >= 1; i-- {
		if parts[i-1] != "gems" {
			continue
		}
		if n, v := nameVersion(parts[i]); n != "" {
			if j := strings.Index(v, "-"); j > 0 {
				v = v[:j] // the platform: nokogiri-1.16.0-x86_64-linux
			}
			return n, v
		}
	}
	return "", ""
}

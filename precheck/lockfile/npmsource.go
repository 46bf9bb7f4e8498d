package lockfile

import (
	"net/url"
	"strings"
)

// npmOrigin classifies where an npm/yarn/pnpm entry came from, given the URL or specifier
// the lockfile recorded (npm `resolved`, yarn `resolved`/`resolution`, pnpm tarball).
// It returns "" for a registry tarball (or nothing recorded, which is the registry), else
// the reason the entry cannot be looked up by name and version.
//
// A registry tarball is recognised by the registry layout <registry>/<name>/-/<file>.tgz,
// which npmjs, yarnpkg, GitHub/GitLab packages, Verdaccio and Artifactory all use. Any other
// http(s) URL is a tarball somebody points at directly: its content is not what the
// registry serves under that name and version, so advisories keyed by version do not apply.
func npmOrigin(ref string) string {
	if ref == "" {
		return ""
	}
	lower := strings.ToLower(ref)
	switch {
	case strings.HasPrefix(lower, "file:"):
		return "local file dependency (" + ref + ")"
	case strings.HasPrefix(lower, "link:"), strings.HasPrefix(lower, "portal:"):
		return "linked local directory (" + ref + ")"
	case isGitRef(lower):
		return "git dependency (" + ref + ")"
	case strings.HasPrefix(lower, "http://"), strings.HasPrefix(lower, "https://"):
		u, err := url.Parse(ref)
		if err == nil && strings.Contains(u.Path, "/-/") {
			return ""
		}
		return "tarball URL dependency (" + ref + ")"
	}
	if p, _, _ := strings.Cut(lower, "#"); strings.HasSuffix(p, ".tgz") || strings.HasSuffix(p, ".tar.gz") || strings.HasSuffix(p, ".tar") {
		return "local file dependency (" + ref + ")" // yarn 1's "./vendor/x-1.0.0.tgz#sha1"
	}
	return "local directory dependency (" + ref + ")"
}

func isGitRef(lower string) bool {
	for _, p := range []string{"git+", "git:", "git@", "ssh://", "github:", "gitlab:", "bitbucket:", "gist:", "https://codeload.github.com/"} {
		if strings.HasPrefix(lower, p) {
			return true
		}
	}
	return strings.Contains(lower, ".git#") || strings.HasSuffix(lower, ".git")
}

package lockfile

import (
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"strings"

	"github.com/phylum-box/phylum-box/internal/redact"
	"github.com/phylum-box/phylum-box/precheck"
)

// A lockfile is project input: its URLs and hashes are whatever the project's author
// wrote. The precheck judges (name, version), so an entry is only as checked as the
// claim "this URL serves name@version" is true. An npm-family entry whose URL has the
// registry layout is accepted only when it is the registry's tarball of exactly that
// name and version (and, given Registries, on a registry the install is configured
// for); one that is not is a Mismatch, which the engine blocks. URLs without the layout
// stay uncheckable tarball dependencies (npmOrigin).

// Registries are the npm registries an install fetches from, as the plan configured
// them (URLs ending in "/").
type Registries struct {
	Default string            // "" = the public registry
	Scopes  map[string]string // "@scope" → registry
}

// Options changes what a parse checks.
type Options struct {
	// NPM, when set, are the registries npm-family tarball URLs must be on. Without
	// it only the name and version in a registry tarball URL are compared.
	NPM *Registries
}

// publicNpmRegistries are the public npm registry and the alias yarn writes; npm, yarn
// and pnpm treat them as one, and they are the namespace OSV's npm records name. A
// tarball of name@version there is that package, whichever registry is configured (npm
// even rewrites the host to the configured registry: replace-registry-host).
var publicNpmRegistries = []string{"https://registry.npmjs.org/", "https://registry.yarnpkg.com/"}

func (r *Registries) forName(name string) string {
	if scope, _, ok := strings.Cut(name, "/"); ok && strings.HasPrefix(scope, "@") {
		if u, ok := r.Scopes[scope]; ok && u != "" {
			return u
		}
	}
	if r.Default == "" {
		return publicNpmRegistries[0]
	}
	return r.Default
}

// npmTarballMismatch says why ref, which npmOrigin took for a registry tarball, is not
// the tarball of name@version on the registry regs gives for name ("" when it is).
// regs nil skips the registry comparison.
func npmTarballMismatch(name, version, ref string, regs *Registries) string {
	u, err := url.Parse(ref)
	if err != nil {
		return "its URL " + redact.URL(ref) + " cannot be read"
	}
	base := name
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		base = name[i+1:]
	}
	want := "/" + name + "/-/" + base + "-" + version + ".tgz"
	// u.Path is decoded: a scoped name escaped as @scope%2fname compares as @scope/name.
	prefix, ok := strings.CutSuffix(u.Path, want)
	if !ok && base != name {
		// GitLab's registry names a scoped tarball by the full name:
		// …/@scope/name/-/@scope/name-1.0.0.tgz.
		prefix, ok = strings.CutSuffix(u.Path, "/"+name+"/-/"+name+"-"+version+".tgz")
	}
	switch {
	case !ok || version == "" || name == "":
		return "its URL " + redact.URL(ref) + " is not the registry's tarball of " + name + "@" + version +
			" (expected …" + want + ")"
	case u.RawQuery != "" || u.User != nil:
		return "its URL " + redact.URL(ref) + " carries a query or credentials; a registry tarball URL has neither"
	case regs == nil:
		return ""
	}
	got := strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host) + prefix + "/"
	reg := regs.forName(name)
	if sameRegistry(got, reg) {
		return ""
	}
	for _, p := range publicNpmRegistries {
		if got == p {
			return ""
		}
	}
	return "its URL " + ref + " is on " + got + ", not on the registry configured for " + name + " (" + reg +
		"; if that registry is yours, configure it in .npmrc)"
}

// sameRegistry compares a tarball's registry prefix with a configured registry URL:
// scheme and host case-insensitively, default ports dropped, the path exactly.
func sameRegistry(got, configured string) bool {
	c, err := url.Parse(configured)
	if err != nil {
		return false
	}
	host := strings.ToLower(c.Host)
	switch {
	case c.Scheme == "https" && strings.HasSuffix(host, ":443"):
		host = strings.TrimSuffix(host, ":443")
	case c.Scheme == "http" && strings.HasSuffix(host, ":80"):
		host = strings.TrimSuffix(host, ":80")
	}
	path := c.Path
	if !strings.HasSuffix(path, "/") {
		path += "/"
	}
	g, err := url.Parse(got)
	if err != nil {
		return false
	}
	ghost := g.Host
	switch {
	case g.Scheme == "https" && strings.HasSuffix(ghost, ":443"):
		ghost = strings.TrimSuffix(ghost, ":443")
	case g.Scheme == "http" && strings.HasSuffix(ghost, ":80"):
		ghost = strings.TrimSuffix(ghost, ":80")
	}
	return strings.EqualFold(c.Scheme, g.Scheme) && host == ghost && path == g.Path
}

// verifyNPMOrigin sets p.Mismatch for a registry-layout Resolved URL that is not
// the registry's tarball of p, and checks that the recorded hash is one a registry
// could have given.
func verifyNPMOrigin(p *precheck.Package, regs *Registries) {
	if p.Ecosystem != precheck.NPM || p.Uncheckable || p.Resolved == "" || p.Mismatch != "" {
		return
	}
	lower := strings.ToLower(p.Resolved)
	if !strings.HasPrefix(lower, "http://") && !strings.HasPrefix(lower, "https://") {
		return
	}
	if m := npmTarballMismatch(p.Name, p.Version, p.Resolved, regs); m != "" {
		p.Mismatch = m + "; remove the entry from the lockfile and install again"
	}
}

// sha1Hex turns a hex sha1 (yarn's #fragment, npm's shasum) into SRI form.
func sha1Hex(h string) string {
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != 20 {
		return ""
	}
	return "sha1-" + base64.StdEncoding.EncodeToString(b)
}

package managers

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// `bundle install` from a committed lockfile (issue 12): when the Gemfile is
// plainly declarative (bundlenoop.go's reading: nothing in it runs) and the
// lockfile is already its resolution for this platform, there is nothing to
// evaluate and nothing to resolve. The lockfile is the resolution, as for
// `npm ci`: it is prechecked, then the download and the offline build run as
// always. The download, which has the network, reads a Gemfile phylum-box writes
// from the declarations it read (bundleGemfile, as after an offline evaluation),
// never the project's; the build checks the project's own Gemfile against the
// lockfile (frozen).
//
// What a checkout can steer: only whether the evaluate and resolve steps run. A
// Gemfile that does anything but declare, or does not match its lockfile, gets
// them; one that matches gets a precheck of exactly the lockfile the build is
// frozen to, and a download after which the lockfile is read and checked again.

// bundleFromLock drops the evaluate and resolve steps of p when the project's
// Gemfile and lockfile allow it, and says why not otherwise (for -v).
func bundleFromLock(p *Plan, root, gemfile, lockName string) string {
	r, err := os.OpenRoot(root)
	if err != nil {
		return err.Error()
	}
	defer r.Close()
	gf, err := readNoLink(r, gemfile)
	if err != nil {
		return err.Error()
	}
	lockData, err := readNoLink(r, lockName)
	if err != nil {
		return err.Error()
	}
	gen, why := bundleLockedGemfile(root, gemfile, lockName, gf, lockData)
	if why != "" {
		return why
	}
	p.Steps.Evaluate, p.Steps.Evaluated, p.Steps.Resolve = nil, nil, nil
	if p.Sandbox.Credentials == nil {
		p.Sandbox.Credentials = &Credentials{}
	}
	p.Sandbox.Credentials.Files = append(p.Sandbox.Credentials.Files, ConfigFile{Project: gemfile, Secret: []byte(gen), Public: gf})
	p.Notes = append(p.Notes, "bundle: "+lockName+" is the resolution of the declarative "+gemfile+": nothing to evaluate or resolve; the download reads the plain Gemfile written from it")
	return ""
}

// bundleLockedGemfile returns the declarative Gemfile the download reads when gf
// is plain declarations whose resolution lockData is, or why there is none.
func bundleLockedGemfile(root, gemfile, lockName string, gf, lockData []byte) (string, string) {
	if bundleDeclaresRuby(gf) || bytes.Contains(lockData, []byte("\nRUBY VERSION\n")) {
		// The ruby directive is left to the full steps (the written Gemfile has none).
		return "", "a ruby version is named"
	}
	_, sources, deps, why := bundleLockCurrent(gemfile, lockName, gf, lockData, bundleLocalPlatforms())
	if why != "" {
		return "", why
	}
	ev := &bundleEvalResult{}
	for _, s := range sources {
		if !slices.Contains(ev.GlobalRemotes, s) {
			ev.GlobalRemotes = append(ev.GlobalRemotes, s)
		}
	}
	names := make([]string, 0, len(deps))
	for n := range deps {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		ev.Dependencies = append(ev.Dependencies, struct {
			Name         string            `json:"name"`
			Type         string            `json:"type"`
			Requirements []string          `json:"requirements"`
			Groups       []string          `json:"groups"`
			Platforms    []string          `json:"platforms"`
			Source       *bundleEvalSource `json:"source"`
		}{Name: n, Type: "runtime", Requirements: deps[n]})
	}
	gen, _, err := bundleGemfile(ev, root, filepath.Join(root, filepath.Dir(filepath.FromSlash(gemfile))))
	if err != nil {
		return "", err.Error()
	}
	return gen, ""
}

// bundleDeclaresRuby reports whether a declarative Gemfile has a ruby directive.
func bundleDeclaresRuby(gf []byte) bool {
	sc := bufio.NewScanner(bytes.NewReader(gf))
	for sc.Scan() {
		if bundleRubyRE().MatchString(strings.TrimSpace(bundleStripComment(sc.Text()))) {
			return true
		}
	}
	return false
}

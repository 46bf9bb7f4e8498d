package install

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/phylum-box/phylum-box/internal/exitcode"
	"github.com/phylum-box/phylum-box/managers"
	"github.com/phylum-box/phylum-box/rootfs"
)

// cachesOutsideProject refuses a manager cache that lies inside the project (a CI
// job's PIP_CACHE_DIR or XDG_CACHE_HOME under the checkout): the project's files
// could be links there, which the steps would mount and, as root, chown wherever
// they lead, or entries the networked steps would trust (a wheel pip reuses). A
// cache that holds the project ($HOME as npm's cache) would be mounted writable
// over it and, as root, chowned with it; a relative one (`--cache .npm`) is
// opened from the project, phylum-box's working directory. The user's setting,
// so a usage error (exit 2) that names it. It runs before the project's lock,
// whose scratch dir (rootless, under XDG_CACHE_HOME) is refused there too.
func cachesOutsideProject(p *managers.Plan, root, home string) error {
	if home != "" && holdsProject(root, home) {
		return nil // the project is $HOME or holds it: the lock refuses it, saying what to do (quiet.go)
	}
	for _, c := range p.Sandbox.Caches {
		why := ""
		switch {
		case c.Path == "":
			continue
		case !filepath.IsAbs(c.Path):
			why = "is a relative path, which would be opened from the project"
		case inProject(c.Path, p.Project.Root, root):
			why = "is inside the project " + rootfs.Printable(p.Project.Root)
		case holdsProject(c.Path, p.Project.Root, root):
			why = "holds the project " + rootfs.Printable(p.Project.Root)
		default:
			continue
		}
		return exitcode.With(exitcode.Usage, fmt.Errorf("%s's cache %s %s: the project's files could put links or entries there "+
			"that the sandbox would mount and the networked steps would trust; point the cache to an absolute path outside the project "+
			"(XDG_CACHE_HOME, PIP_CACHE_DIR, npm_config_cache or --cache, YARN_CACHE_FOLDER, CARGO_HOME, … in your environment, your own config or the command line); "+
			"a CI cache kept in the checkout can be moved out of it for the install and back after (docs/ci.md)",
			p.Manager, rootfs.Printable(c.Path), why))
	}
	return nil
}

// holdsProject reports whether dir is one of roots or above one (by their real
// paths too).
func holdsProject(dir string, roots ...string) bool {
	dirs := withRealPaths(dir)
	for _, x := range withRealPaths(roots...) {
		if underAny(x, dirs...) {
			return true
		}
	}
	return false
}

// inProject reports whether dir, or where its deepest existing ancestor really
// is, lies under one of roots (or their real paths); a dangling link on the way
// counts as inside.
func inProject(dir string, roots ...string) bool {
	all := withRealPaths(roots...)
	dir = filepath.Clean(dir)
	if underAny(dir, all...) {
		return true
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil {
			real, err := filepath.EvalSymlinks(d)
			// A dangling link: MkdirAll would make its target, wherever it is.
			return err != nil || underAny(real, all...)
		}
		if d == filepath.Dir(d) {
			return false
		}
	}
}

// withRealPaths returns the absolute ones of paths, cleaned, each followed by its
// real path (links followed) when it has one: a project, a scratch or a cache as
// written and as it is.
func withRealPaths(paths ...string) []string {
	var out []string
	for _, p := range paths {
		if p == "" || !filepath.IsAbs(p) {
			continue
		}
		out = append(out, filepath.Clean(p))
		if real, err := filepath.EvalSymlinks(p); err == nil {
			out = append(out, real)
		}
	}
	return out
}

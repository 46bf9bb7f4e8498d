package install

import (
	"path/filepath"
	"strings"
)

// defaultStepPATH is a step's PATH when none of the user's entries is left.
const defaultStepPATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// trustedPATH rewrites every PATH= of a step's environment without the entries the
// project controls: one inside the project root (lexically or once its links are
// followed), a relative one or an empty one (the step's working directory is in
// the project). The steps name their tools by name ("npm", "yarn", "cargo",
// "bundle", "sh"), and the user's PATH may hold the project's own bin directories
// — direnv's PATH_add bin or node_modules/.bin, ./node_modules/.bin in a shell rc,
// or phylum-box started by an npm script, which puts node_modules/.bin first —
// so a committed node_modules/.bin/npm or bin/cargo ran in the networked steps,
// with the registry credentials. The project's own programs may still run in the
// offline build, like any package code.
func trustedPATH(env []string, roots ...string) []string {
	dirs := withRealPaths(roots...) // cachedirs.go
	out := make([]string, 0, len(env))
	for _, kv := range env {
		v, ok := strings.CutPrefix(kv, "PATH=")
		if !ok {
			out = append(out, kv)
			continue
		}
		var keep []string
		for _, d := range filepath.SplitList(v) {
			if !projectPathEntry(d, dirs) {
				keep = append(keep, d)
			}
		}
		if len(keep) == 0 {
			keep = []string{defaultStepPATH}
		}
		out = append(out, "PATH="+strings.Join(keep, string(filepath.ListSeparator)))
	}
	return out
}

// projectPathEntry reports whether a PATH entry is the project's (see trustedPATH):
// empty, relative, or inside one of roots as written or once its links are followed.
func projectPathEntry(d string, roots []string) bool {
	if d == "" || !filepath.IsAbs(d) {
		return true
	}
	if underAny(filepath.Clean(d), roots...) {
		return true
	}
	real, err := filepath.EvalSymlinks(d)
	return err == nil && underAny(real, roots...)
}

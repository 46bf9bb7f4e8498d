package rootfs

import (
	"path"
	"slices"
	"strings"
)

// linkOutAllowed reports whether the symlink at linkPath (project-relative) with
// this target names exactly one of the directories SyncOptions.LinksOut lists. A
// relative target may climb only with a leading run of "..": the sync makes sure
// the dirs it climbs through in the project are real dirs, and the project's own
// path is resolved, so the kernel resolves it to the same place as path.Join does.
func (cs *ChangeSet) linkOutAllowed(linkPath, target string) bool {
	if len(cs.linksOut) == 0 || cs.project == "" || target == "" {
		return false
	}
	abs := target
	if !strings.HasPrefix(target, "/") {
		named := false
		for _, c := range strings.Split(target, "/") {
			switch c {
			case "", ".":
			case "..":
				if named {
					return false
				}
			default:
				named = true
			}
		}
		abs = path.Join(cs.project, path.Dir(linkPath), target)
	}
	return slices.Contains(cs.linksOut, path.Clean(abs))
}

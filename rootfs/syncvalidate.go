// Validation of a sync-back: the --only paths, the checks each change must pass
// (names, .git, symlinks, links across the project) and the refusal reasons.

package rootfs

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"
)

// cleanOnly validates and normalises Only entries.
func cleanOnly(in []string) ([]string, error) {
	var out []string
	for _, o := range in {
		p := path.Clean(filepath.ToSlash(o))
		if p == "." {
			return nil, nil // the whole project
		}
		if path.IsAbs(p) || p == ".." || strings.HasPrefix(p, "../") {
			return nil, fmt.Errorf("--only %q: give a path relative to the project, inside it", o)
		}
		out = append(out, p)
	}
	return out, nil
}

// badName returns why a change path is not a plain project-relative path, or "".
func badName(p string) string {
	if p == "" || strings.HasPrefix(p, "/") || strings.ContainsRune(p, 0) {
		return "not a relative path"
	}
	for _, c := range strings.Split(p, "/") {
		if c == "" || c == "." || c == ".." {
			return "path has an empty, '.' or '..' component"
		}
	}
	return ""
}

func hasGit(p string) bool {
	for _, c := range strings.Split(p, "/") {
		if strings.EqualFold(c, ".git") {
			return true
		}
	}
	return false
}

// symlinkProblem returns why a symlink at linkPath with this target may not be synced.
// The check is lexical and strict: ".." is only allowed as a leading run of components,
// where it climbs through dirs that SyncBack itself made sure are real dirs; a ".." after
// a name would be resolved by the kernel through whatever that name is (maybe a symlink).
func symlinkProblem(linkPath, target string) string {
	if target == "" {
		return "symlink with an empty target"
	}
	if strings.HasPrefix(target, "/") {
		return "symlink target " + target + " is absolute (outside the project)"
	}
	depth := strings.Count(linkPath, "/")
	named := false
	for _, c := range strings.Split(target, "/") {
		switch c {
		case "", ".":
		case "..":
			if named {
				return "symlink target " + target + " has '..' after a name"
			}
			depth--
			if depth < 0 {
				return "symlink target " + target + " leaves the project"
			}
		default:
			named = true
		}
	}
	return ""
}

// validate splits the change set into what may be applied and what is refused.
func validate(cs *ChangeSet, only []string, allowGit bool) ([]Change, []RefusedChange) {
	var allowed []Change
	var refused []RefusedChange
	blocked := map[string]bool{} // refused dirs whose children cannot be placed either
	blockedOnly := map[string]bool{}
	for _, c := range cs.Changes {
		reason, outside := refusal(c, cs, only, allowGit)
		if reason == "" {
			for d := path.Dir(c.Path); d != "."; d = path.Dir(d) {
				if blocked[d] {
					reason, outside = "its parent dir "+d+" is refused", blockedOnly[d]
					break
				}
			}
		}
		if reason == "" {
			allowed = append(allowed, c)
			continue
		}
		refused = append(refused, RefusedChange{Path: c.Path, Reason: reason, OutsideOnly: outside})
		if c.Type == TypeDir && !(c.Kind == Modified && c.Prev == TypeDir && !c.Opaque) {
			blocked[c.Path] = true
			blockedOnly[c.Path] = outside
		}
	}
	return linkedAcross(allowed, refused, only)
}

// linkedAcross refuses a run file whose names would be synced below two different
// allowed paths (Only): a build's hard links stay within one output (cargo's target/),
// but an install script's `ln package.json node_modules/x/pj` would make the host's
// manifest one file with a package's file (and every later read of it refuse a
// hard-linked project file). The later name in path order is refused; that stops the
// sync. With no Only (the whole project is the run's) nothing is refused.
func linkedAcross(allowed []Change, refused []RefusedChange, only []string) ([]Change, []RefusedChange) {
	if len(only) == 0 {
		return allowed, refused
	}
	type first struct{ path, under string }
	seen := map[uint64]first{}
	out := allowed[:0:0]
	for _, c := range allowed {
		if c.Kind == Deleted || c.Type != TypeRegular || c.nlink < 2 {
			out = append(out, c)
			continue
		}
		under := outermostOnly(c.Path, only)
		f, ok := seen[c.ino]
		if !ok {
			seen[c.ino] = first{c.Path, under}
			out = append(out, c)
			continue
		}
		if f.under == under {
			out = append(out, c)
			continue
		}
		refused = append(refused, RefusedChange{Path: c.Path, Reason: fmt.Sprintf("hard link to %s, which is synced as another output (%s, not %s)", f.path, f.under, under)})
	}
	return out, refused
}

// outermostOnly is the shortest Only entry that p is, or lies below.
func outermostOnly(p string, only []string) string {
	best := ""
	for _, o := range only {
		if (p == o || strings.HasPrefix(p, o+"/")) && (best == "" || len(o) < len(best)) {
			best = o
		}
	}
	return best
}

func refusal(c Change, cs *ChangeSet, only []string, allowGit bool) (string, bool) {
	if why := badName(c.Path); why != "" {
		return why, false
	}
	gitNamed := false
	if len(only) > 0 {
		in, ancestor := false, false
		for _, o := range only {
			if c.Path == o || strings.HasPrefix(c.Path, o+"/") {
				in = true
				gitNamed = gitNamed || hasGit(o)
			} else if strings.HasPrefix(o, c.Path+"/") {
				ancestor = true
			}
		}
		if !in {
			// A new dir on the way to an allowed path must be made.
			if ancestor && c.Kind == Added && c.Type == TypeDir && c.Perm&0o7000 == 0 {
				return "", false
			}
			return "outside the allowed paths (--only)", true
		}
	}
	if hasGit(c.Path) && !allowGit && !gitNamed {
		return "changes under .git are never synced unless .git is named (git hooks run code)", false
	}
	if c.refuse != "" {
		return c.refuse, false
	}
	if c.Kind == Deleted {
		return "", false
	}
	switch c.Type {
	case TypeDevice:
		return "device node", false
	case TypeFifo:
		return "named pipe", false
	case TypeSocket:
		return "socket", false
	case TypeNone:
		return "unknown file type", false
	}
	if c.Perm&0o7000 != 0 && c.Type != TypeSymlink {
		return fmt.Sprintf("setuid/setgid/sticky bit (mode %04o)", c.Perm), false
	}
	if c.Type == TypeSymlink {
		if why := symlinkProblem(c.Path, c.Linkname); why != "" && !cs.linkOutAllowed(c.Path, c.Linkname) {
			return why, false
		}
	}
	if c.Type == TypeRegular && c.nlink > 1 && uint64(cs.names[c.ino]) < c.nlink {
		return fmt.Sprintf("hard link to a file outside the run's tree (%d links, %d seen)", c.nlink, cs.names[c.ino]), false
	}
	return "", false
}

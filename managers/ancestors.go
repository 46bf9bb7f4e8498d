package managers

import (
	"os"
	"syscall"
)

// The walks up from the working directory that pick the project — npm's local
// prefix and workspace root, pnpm's workspace root, yarn's lockfile, Cargo's
// workspace, Poetry's pyproject.toml, Bundler's Gemfile, pip's venv — stop at a
// directory the user does not control: one another user owns, or one others may
// write to (/tmp, a shared dir). The managers themselves walk on, so a file
// planted there (a package.json with workspaces, a pnpm-workspace.yaml with
// overrides to the planter's tarball, a yarn.lock) would make that directory the
// project: its files in the sandbox's view, its settings in the install, the
// outputs synced into it (found by two attacker reviews; a FIFO there also hung
// phylum-box past SIGTERM). The user's own directories above the project are
// walked as before.

// ancestorWalk judges the directories above start for one walk.
type ancestorWalk struct {
	owner uint32
	ok    bool
}

// newAncestorWalk: the walk's trusted owner is the owner of start (the working
// directory); a start that cannot be read trusts no ancestor.
func newAncestorWalk(start string) ancestorWalk {
	st, err := os.Stat(start)
	if err != nil {
		return ancestorWalk{}
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return ancestorWalk{}
	}
	return ancestorWalk{owner: sys.Uid, ok: true}
}

// trusted says whether the walk may look in d, an ancestor of its start: a
// directory (a link is judged by what it leads to) of the start's owner that
// others may not write to.
func (w ancestorWalk) trusted(d string) bool {
	if !w.ok {
		return false
	}
	st, err := os.Stat(d)
	if err != nil || !st.IsDir() {
		return false
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	return ok && sys.Uid == w.owner && st.Mode().Perm()&0o002 == 0
}

// What a write-back run may sync back (the rules of managers/writeback.go), and
// how the synced changes are shown.

package install

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"github.com/phylum-box/phylum-box/managers"
	"github.com/phylum-box/phylum-box/precheck/policy"
	"github.com/phylum-box/phylum-box/rootfs"
)

// writeBackResult is what writeBackRules decided.
type writeBackResult struct {
	refused []rootfs.RefusedChange
	// dropped are left out of the sync, with why (a note, not a refusal).
	dropped []string
	// only is the SyncOptions.Only that leaves out dropped; nil: everything.
	only []string
	// newDir is the one new directory of a NewProject run.
	newDir string
}

// writeBackRules applies a WriteBack's rules to a run's changes (sorted, parents
// first).
func writeBackRules(changes []rootfs.Change, wb *managers.WriteBack, hookDirs []string) writeBackResult {
	var res writeBackResult
	added := map[string]bool{} // dirs this run created
	var droppedRoots []string
	under := func(p string, roots []string) bool {
		for _, r := range roots {
			if p == r || strings.HasPrefix(p, r+"/") {
				return true
			}
		}
		return false
	}
	refuse := func(c rootfs.Change, why string) {
		res.refused = append(res.refused, rootfs.RefusedChange{Path: c.Path, Reason: why})
	}
	for _, c := range changes {
		if c.Kind == rootfs.Added && c.Type == rootfs.TypeDir {
			added[c.Path] = true
		}
		if under(c.Path, droppedRoots) {
			continue
		}
		if vcs, parent := vcsDir(c.Path); vcs != "" {
			if parent != "." && added[parent] {
				droppedRoots = append(droppedRoots, vcs)
				res.dropped = append(res.dropped, fmt.Sprintf("%s, a repository the command made in the new directory %s (run `git init` there yourself)", vcs, parent))
				continue
			}
			refuse(c, "under "+path.Base(vcs)+", which is never synced back (git runs hooks and commands from its config)")
			continue
		}
		if d := underHookDir(c.Path, hookDirs); d != "" && !wb.NewProject {
			refuse(c, "under "+d+", where git runs hooks from (core.hooksPath): a file there runs on your machine at the next commit; add hooks yourself")
			continue
		}
		if nm := componentDir(c.Path, "node_modules"); nm != "" {
			droppedRoots = append(droppedRoots, nm)
			res.dropped = append(res.dropped, nm+" (only an install writes node_modules: run `phylum-box "+wb.Installer+" install`)")
			continue
		}
		if path.Base(c.Path) == policy.ProjectFile && !added[path.Dir(c.Path)] {
			// A new project's policy is the project's, as in a clone; an existing
			// one decides what the next install checks.
			refuse(c, "phylum-box's project policy, which decides what the next install checks: a command run through phylum-box may not change it (edit it yourself)")
			continue
		}
		if wb.NewProject {
			top, _, nested := strings.Cut(c.Path, "/")
			switch {
			case nested && top == res.newDir:
			case nested:
				// Below a refused top-level entry: that one is reported.
			case c.Kind != rootfs.Added || c.Type != rootfs.TypeDir:
				refuse(c, "outside the new project directory (run outside a project, the command may create one new directory in "+wb.Dir+", nothing else)")
			case strings.HasPrefix(top, "."):
				refuse(c, "a new directory whose name starts with '.' (run outside a project, the command may create one new, visible directory in "+wb.Dir+")")
			case res.newDir != "":
				refuse(c, "a second new directory besides "+res.newDir+" (run outside a project, the command may create one new directory in "+wb.Dir+")")
			default:
				res.newDir = top
			}
			continue
		}
		if wb.Scaffold && c.Kind != rootfs.Added {
			refuse(c, "a scaffolder may only add files and directories; it "+changeVerb(c)+" an existing one (run it in an empty directory, or make that change yourself)")
		}
	}
	if len(droppedRoots) > 0 {
		res.only = onlyCover(changes, droppedRoots, under)
	}
	return res
}

// onlyCover is the Only list that syncs every change except those below dropped
// roots: a directory with nothing dropped below it is named whole, else its kept
// entries one by one (a new directory on the way to one is made by the sync).
func onlyCover(changes []rootfs.Change, dropped []string, under func(string, []string) bool) []string {
	dirty := map[string]bool{}
	for _, d := range dropped {
		for p := path.Dir(d); p != "."; p = path.Dir(p) {
			dirty[p] = true
		}
	}
	only := []string{}
	var covered []string
	for _, c := range changes {
		if under(c.Path, dropped) || under(c.Path, covered) {
			continue
		}
		if c.Type == rootfs.TypeDir && dirty[c.Path] {
			continue // its kept entries are named one by one
		}
		only = append(only, c.Path)
		if c.Type == rootfs.TypeDir {
			covered = append(covered, c.Path)
		}
	}
	return only
}

// vcsDir returns the .git (or .hg) directory p is or lies below, and the directory
// holding it ("." for the top), or "".
func vcsDir(p string) (dir, parent string) {
	parts := strings.Split(p, "/")
	for i, c := range parts {
		if strings.EqualFold(c, ".git") || strings.EqualFold(c, ".hg") {
			dir = strings.Join(parts[:i+1], "/")
			return dir, path.Dir(dir)
		}
	}
	return "", ""
}

// componentDir returns the prefix of p ending in the component name, or "".
func componentDir(p, name string) string {
	parts := strings.Split(p, "/")
	for i, c := range parts {
		if c == name {
			return strings.Join(parts[:i+1], "/")
		}
	}
	return ""
}

func changeVerb(c rootfs.Change) string {
	if c.Kind == rootfs.Deleted {
		return "deleted"
	}
	return "changed"
}

// changeSummary lists applied changes for the user: a new directory as one line
// with the number of files in it, every other change by its path; at most max
// lines, the rest counted.
func changeSummary(applied []rootfs.Change, max int) []string {
	var lines []string
	var newDirs []string
	files := map[string]int{}
	for _, c := range applied {
		inNew := ""
		for _, d := range newDirs {
			if strings.HasPrefix(c.Path, d+"/") {
				inNew = d
				break
			}
		}
		if inNew != "" {
			if c.Type != rootfs.TypeDir {
				files[inNew]++
			}
			continue
		}
		switch {
		case c.Kind == rootfs.Added && c.Type == rootfs.TypeDir:
			newDirs = append(newDirs, c.Path)
			lines = append(lines, "A "+c.Path+"/")
		case c.Kind == rootfs.Added:
			lines = append(lines, "A "+c.Path)
		case c.Kind == rootfs.Deleted:
			lines = append(lines, "D "+c.Path)
		default:
			lines = append(lines, "M "+c.Path)
		}
	}
	for i, l := range lines {
		if d, ok := strings.CutPrefix(l, "A "); ok && strings.HasSuffix(d, "/") {
			lines[i] = fmt.Sprintf("%s (%d file(s))", l, files[strings.TrimSuffix(d, "/")])
		}
		lines[i] = rootfs.Printable(lines[i])
	}
	if len(lines) > max {
		lines = append(lines[:max], fmt.Sprintf("… and %d more", len(lines)-max))
	}
	return lines
}

// newProjects are the directories (relative to where the user ran the command:
// cwd below the project root, or the top for a new project) where a scaffolder
// added a package.json: each wants its dependencies installed next.
func newProjects(applied []rootfs.Change, newProject bool, cwd string) []string {
	var out []string
	for _, c := range applied {
		if c.Kind != rootfs.Added || c.Type != rootfs.TypeRegular || path.Base(c.Path) != "package.json" {
			continue
		}
		d := path.Dir(c.Path)
		if componentDir(d, "node_modules") != "" || strings.Count(d, "/") > 2 {
			continue // a template's nested packages
		}
		if !newProject {
			rel, err := filepath.Rel(filepath.FromSlash(cwd), filepath.FromSlash(d))
			if err != nil {
				continue
			}
			d = filepath.ToSlash(rel)
		}
		out = append(out, d)
		if len(out) == 3 {
			break
		}
	}
	return out
}

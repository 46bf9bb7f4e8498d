package install

import (
	"encoding/json"
	"path"
	"strings"

	"github.com/phylum-box/phylum-box/precheck"
	"github.com/phylum-box/phylum-box/rootfs"
)

// noteUnpreparedGit says, after the download, which git dependencies of the npm
// family have a prepare script. Bare npm and yarn 1 run it while they fetch — in a
// clone, after installing its devDependencies, with the network and the user's
// credentials — and pack what it built. phylum-box's networked steps run no package
// code (scripts are off for the tools the managers start too: managers/node.go
// noScriptsEnv), so such a package is installed as its repository holds it: where
// prepare builds what the package's main file needs, it is not there. Said once per
// package, never silently.
func (r *runner) noteUnpreparedGit(pkgs []precheck.Package) {
	if r.o.Plan.Ecosystem != precheck.NPM {
		return
	}
	for _, p := range pkgs {
		if !p.Uncheckable || !strings.HasPrefix(p.Reason, "git dependency") || !validPackageName(p.Name) {
			continue
		}
		rel := path.Join(r.o.Plan.Project.Cwd, "node_modules", p.Name, "package.json")
		data, err := r.sess.Scratch().ReadFile(rel)
		if err != nil || len(data) > 1<<20 {
			continue
		}
		var m struct {
			Scripts map[string]any `json:"scripts"`
		}
		if json.Unmarshal(data, &m) != nil {
			continue
		}
		if s, ok := m.Scripts["prepare"].(string); ok && strings.TrimSpace(s) != "" {
			r.o.Log.Warnf("%s@%s is a git dependency with a prepare script, which %s runs while it fetches, with the network: phylum-box does not, so it is installed as its repository holds it, unprepared (what prepare would build is missing)",
				rootfs.Printable(p.Name), rootfs.Printable(p.Version), r.o.Plan.Manager)
		}
	}
}

// validPackageName accepts an npm package name as a path below node_modules: one
// segment, or @scope/name; nothing that climbs or is empty.
func validPackageName(name string) bool {
	parts := strings.Split(name, "/")
	if len(parts) > 2 || (len(parts) == 2 && !strings.HasPrefix(parts[0], "@")) {
		return false
	}
	for _, s := range parts {
		if s == "" || s == "." || s == ".." || s == "@" || strings.ContainsAny(s, "\\\x00") {
			return false
		}
	}
	return true
}

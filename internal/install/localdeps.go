package install

import (
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/phylum-box/phylum-box/managers"
	"github.com/phylum-box/phylum-box/rootfs"
)

// Local dependencies outside the project (managers/localdeps.go): `npm install
// ../lib`, "file:../lib", `pip install -e ../lib`, a path crate. Each directory
// is checked on the host before any step runs — an unacceptable one (your home,
// a hidden directory of it, something holding the project, …) refuses the
// install with exit 2 — and the others are bound read-only at their own path in
// every step, like the tool directories of Plan.Sandbox.HostPaths, and reported with
// them (host_paths_read_only). The sync back may carry a symlink to exactly one
// of them (npm's node_modules/lib -> ../../lib), and nothing else outside the
// project (binlinks.go, rootfs.SyncOptions.LinksOut).

// planned keeps what planOutsideDirs found for a plan, for the sync's link rules
// (one walk of the project's manifests per install).
var planned sync.Map // *managers.Plan → []managers.OutsideDir

// planOutsideDirs finds and checks the plan's outside directories and adds them to
// what the steps see.
func (o *Options) planOutsideDirs() error {
	dirs, err := managers.OutsideDirs(o.Plan, o.Home)
	if err != nil {
		return err
	}
	planned.Store(o.Plan, dirs)
	for _, d := range dirs {
		o.Plan.Sandbox.HostPaths = append(o.Plan.Sandbox.HostPaths, d.Path)
	}
	if note := managers.OutsideLocalNote(dirs); note != "" && o.Log != nil {
		o.Log.Info(note)
	}
	return nil
}

// outsideLinkDirs are the directories a synced symlink may point to outside the
// project: the plan's checked local dependencies (the same answer as
// planOutsideDirs gave, from the same host files).
func (r *runner) outsideLinkDirs() []string {
	var dirs []managers.OutsideDir
	if v, ok := planned.Load(r.o.Plan); ok {
		dirs = v.([]managers.OutsideDir)
	} else {
		var err error
		if dirs, err = managers.OutsideDirs(r.o.Plan, r.o.Home); err != nil {
			return nil
		}
	}
	var out []string
	for _, d := range dirs {
		out = append(out, d.Path)
	}
	return out
}

// isOutsideDep: the symlink at linkPath (a package entry) names exactly one of the
// plan's checked local dependencies outside the project.
func (lr *linkRules) isOutsideDep(linkPath, target string) bool {
	t := target
	if !path.IsAbs(t) {
		t = path.Join(lr.root, path.Dir(linkPath), target)
	}
	return slices.Contains(lr.outside, path.Clean(t))
}

// outsideWriteNote explains a build that failed writing into a local dependency
// outside the project (bound read-only, managers.OutsideDirs): its install script
// writes into its own directory, which bare npm would let it change (found trying
// phylum-box as a new user: a postinstall writing ran.txt, EROFS, and only "build
// step failed"). "" when the output shows no such write.
func outsideWriteNote(output string, dirs []string) string {
	if !strings.Contains(output, "EROFS") {
		return ""
	}
	for _, d := range dirs {
		if strings.Contains(output, d+"\n") || strings.Contains(output, d+"/") || strings.Contains(output, d+"'") {
			return fmt.Sprintf("%s, a local dependency outside the project, is visible read-only in the sandbox, and the build wrote into it (EROFS); "+
				"copy it into the project (for example to ./vendor/%s) and install that copy", rootfs.Printable(d), rootfs.Printable(filepath.Base(d)))
		}
	}
	return ""
}

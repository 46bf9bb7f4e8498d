package install

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/phylum-box/phylum-box/managers"
	"github.com/phylum-box/phylum-box/rootfs"
)

// A pnpm step starts pnpm's 8.7 MB bundle, and node compiles it on every start
// (0.45 s of CPU for `pnpm --version` with pnpm 10.34 on Node 20): pnpm asks for
// v8-compile-cache, which its package does not ship, and Node 22's
// module.enableCompileCache, which puts the cache in the step's /tmp, thrown away
// with the container. An install from a lockfile starts pnpm twice (the download,
// then the offline build), where bare pnpm starts once.
//
// nodecc gives those starts a code cache of phylum-box's own:
// `node --require HOOK PNPM ARGS` instead of `PNPM ARGS` (what the script's
// `#!/usr/bin/env node` runs, with the same argv), where HOOK (nodecc.js) has
// pnpm's dist/pnpm.cjs compiled from a V8 code cache kept in
// $XDG_CACHE_HOME/phylum-box/node-compile. The directory is writable in the
// resolve and download steps, which run pnpm and no package or project code
// (--ignore-scripts, --ignore-pnpmfile), and read-only in the build step, whose
// install scripts could otherwise write code that the next networked pnpm would
// run. The hooks step (a project's pnpmfile runs inside pnpm) and any step with an
// egress proxy do not get it.
//
//go:embed nodecc.js
var nodeCompileHook []byte

// nodeCompile is one step's use of the code cache.
type nodeCompile struct {
	dir   string // the cache dir, the hook in it
	hook  string // the hook's path
	pnpm  string // pnpm's script as the step's PATH finds it
	write bool   // the step may write the cache
}

// nodeCompileFor returns the code cache for a pnpm step, or nil: not pnpm, a phase
// that may not have it, or a pnpm that is not node running pnpm's published
// script from a directory the sandbox sees as the host's.
func (r *runner) nodeCompileFor(phase managers.Phase, s *managers.Step, env []string, egress bool) *nodeCompile {
	if egress || len(s.Args) == 0 || s.Args[0] != "pnpm" {
		return nil
	}
	write := false
	switch phase {
	case managers.PhaseResolve, managers.PhaseDownload:
		write = true
	case managers.PhaseBuild:
	default:
		return nil
	}
	visible := append(slices.Clone(rootfs.SystemDirs), r.hostPaths()...)
	pnpm := pnpmScript(env, visible, []string{r.root, r.o.Plan.Project.Root})
	if pnpm == "" {
		return nil
	}
	dir := filepath.Join(cacheHome(r.o), "phylum-box", "node-compile")
	if inProject(dir, r.root, r.o.Plan.Project.Root) {
		// XDG_CACHE_HOME inside the project (a CI job's cache dir): the project
		// could have put a link or a forged cache there.
		r.o.Log.Debugf("pnpm's code cache: %s is inside the project, not used", dir)
		return nil
	}
	hook, err := writeNodeCompileHook(dir)
	if err == nil {
		err = r.shareCache(dir)
	}
	if err != nil {
		r.o.Log.Debugf("pnpm's code cache: %v", err)
		return nil
	}
	return &nodeCompile{dir: dir, hook: hook, pnpm: pnpm, write: write}
}

// args is the step's argv run through node with the hook.
func (c *nodeCompile) args(args []string) []string {
	return append([]string{"node", "--require", c.hook, c.pnpm}, args[1:]...)
}

// mount adds the cache dir to the step's mounts.
func (c *nodeCompile) mount(caches []rootfs.Cache) []rootfs.Cache {
	return append(caches, rootfs.Cache{Name: "nodecompile", HostPath: c.dir, Target: c.dir, ReadOnly: !c.write})
}

// pnpmScript finds pnpm the way the step's `pnpm` would be found, in the step's
// PATH, and returns it when it is pnpm's published script: `#!/usr/bin/env node`,
// with dist/pnpm.cjs beside its real directory, all of it in a directory the
// sandbox binds from the host (visible) and none of it under the project or the
// scratch (outside), which the sandbox shows otherwise. A relative PATH entry or
// one under the project ends the search: the sandbox could find a different pnpm
// there. Entries the sandbox does not bind are skipped, as the sandbox would.
func pnpmScript(env, visible, outside []string) string {
	path := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, d := range filepath.SplitList(path) {
		if d == "" || !filepath.IsAbs(d) {
			return ""
		}
		d = filepath.Clean(d)
		if underAny(d, outside...) {
			return ""
		}
		if !underAny(d, visible...) {
			continue // not in the sandbox ($HOME there is an empty tmpfs)
		}
		p := filepath.Join(d, "pnpm")
		st, err := os.Stat(p)
		if err != nil {
			continue
		}
		if !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
			continue
		}
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			return ""
		}
		dist := filepath.Join(filepath.Dir(real), "..", "dist", "pnpm.cjs")
		for _, q := range []string{filepath.Clean(p), real, dist} {
			if !underAny(q, visible...) || underAny(q, outside...) {
				return ""
			}
		}
		if st, err := os.Stat(dist); err != nil || !st.Mode().IsRegular() {
			return ""
		}
		f, err := os.Open(p)
		if err != nil {
			return ""
		}
		head := make([]byte, 32)
		n, _ := f.Read(head)
		f.Close()
		if !bytes.HasPrefix(head[:n], []byte("#!/usr/bin/env node\n")) {
			return ""
		}
		return filepath.Clean(p)
	}
	return ""
}

// writeNodeCompileHook makes the cache dir and puts the hook in it, named by its
// hash (an upgrade of phylum-box writes a new one), unless it is there already.
func writeNodeCompileHook(dir string) (string, error) {
	if err := makeCacheDir(dir); err != nil {
		return "", err
	}
	sum := sha256.Sum256(nodeCompileHook)
	hook := filepath.Join(dir, "hook-"+hex.EncodeToString(sum[:8])+".js")
	if have, err := os.ReadFile(hook); err == nil && bytes.Equal(have, nodeCompileHook) {
		return hook, nil
	}
	tmp, err := os.CreateTemp(dir, ".hook-*")
	if err != nil {
		return "", err
	}
	_, err = tmp.Write(nodeCompileHook)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), hook)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("hook: %w", err)
	}
	return hook, nil
}

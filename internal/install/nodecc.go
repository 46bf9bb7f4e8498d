package install

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/phylum-box/phylum-box/container"
	"github.com/phylum-box/phylum-box/internal/sandbox"
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
// $XDG_CACHE_HOME/phylum-box/node-compile. Compiled code is code, so no step of
// an install writes it: the resolve, download and build steps see the directory
// read-only (a write fails, silently), the hooks step (a project's pnpmfile runs
// inside pnpm) and any step with an egress proxy do not see it. The cache is
// made by a step of phylum-box's own, once per pnpm and node (warm): pnpm alone,
// offline, with no credentials, in an empty project phylum-box writes, none of
// the user's project or config in sight — what a package or a project controls
// never reaches it, even through a bug in pnpm.
//
//go:embed nodecc.js
var nodeCompileHook []byte

// nodeCompile is one step's use of the code cache.
type nodeCompile struct {
	dir  string // the cache dir, the hook in it
	hook string // the hook's path
	pnpm string // pnpm's script as the step's PATH finds it
	dist string // the bundle the hook compiles: dist/pnpm.cjs beside its real path
}

// nodeCompileFor returns the code cache for a pnpm step, or nil: not pnpm, a phase
// that may not have it, or a pnpm that is not node running pnpm's published
// script from a directory the sandbox sees as the host's. It warms the cache
// first when this pnpm and node have none.
func (r *runner) nodeCompileFor(ctx context.Context, phase managers.Phase, s *managers.Step, env []string, egress bool) *nodeCompile {
	// A pnpm plan's own steps only: another manager's argv may hold the word pnpm
	// as a package (`npm install pnpm`; found by an attacker review).
	if egress || r.o.Plan.Manager != "pnpm" || pnpmAt(s.Args) < 0 { // pnpmswitch.go
		return nil
	}
	switch phase {
	case managers.PhaseResolve, managers.PhaseDownload, managers.PhaseBuild:
	default:
		return nil
	}
	visible := append(slices.Clone(rootfs.SystemDirs), r.hostPaths()...)
	outside := []string{r.root, r.o.Plan.Project.Root}
	pnpm, dist := pnpmScript(env, visible, outside)
	if pnpm == "" {
		return nil
	}
	dir := filepath.Join(cacheHome(r.o), "phylum-box", "node-compile")
	if inProject(dir, outside...) { // cachedirs.go
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
	c := &nodeCompile{dir: dir, hook: hook, pnpm: pnpm, dist: dist}
	if !r.nodeCompileWarm {
		r.nodeCompileWarm = true
		c.warm(ctx, r, env, visible, outside)
	}
	return c
}

// warm makes the cache for this pnpm and node unless a marker says it was made
// (or could not be): `pnpm install --lockfile-only --offline` in an empty project
// of phylum-box's, run through the hook with the directory writable. The marker's
// name is a hash of what the hook's own key is made of, as the host sees it (the
// real paths, sizes and times of pnpm's bundle and of node). A failure costs the
// install nothing but the cache.
func (c *nodeCompile) warm(ctx context.Context, r *runner, env, visible, outside []string) {
	node := lookPathIn(env, "node", visible, outside)
	if node == "" {
		return
	}
	h := sha256.New()
	for _, p := range []string{node, c.dist} {
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			return
		}
		var st unix.Stat_t
		if unix.Stat(real, &st) != nil {
			return
		}
		fmt.Fprintf(h, "%s\x00%d %d %d %d.%d %d.%d\x00", real, st.Dev, st.Ino, st.Size, st.Mtim.Sec, st.Mtim.Nsec, st.Ctim.Sec, st.Ctim.Nsec)
	}
	h.Write(nodeCompileHook)
	marker := filepath.Join(c.dir, "warm-"+hex.EncodeToString(h.Sum(nil))[:24])
	if _, err := os.Lstat(marker); err == nil {
		return
	}
	proj, err := os.MkdirTemp(c.dir, "warm-project-")
	if err != nil {
		r.o.Log.Debugf("pnpm's code cache: %v", err)
		return
	}
	defer os.RemoveAll(proj)
	if err := os.WriteFile(filepath.Join(proj, "package.json"), []byte(`{"name":"phylum-box-warm","version":"0.0.0","private":true}`+"\n"), 0o644); err != nil {
		r.o.Log.Debugf("pnpm's code cache: %v", err)
		return
	}
	if id := r.sess.Identity(); !id.Rootless {
		if err := chownTree(proj, id.RootUID, id.RootGID); err != nil {
			r.o.Log.Debugf("pnpm's code cache: %v", err)
			return
		}
	}
	wenv := sandbox.ScrubEnv(r.o.Environ, managers.PassEnv, r.o.Home, r.o.User)
	wenv = trustedPATH(wenv, outside...)
	var out bytes.Buffer
	res, err := r.sess.Run(ctx, sandbox.Exec{
		Args: []string{"node", "--require", c.hook, c.pnpm, pnpmNoSwitchFlag, "install", "--lockfile-only", "--offline",
			"--ignore-scripts", "--ignore-pnpmfile", "--config.update-notifier=false"},
		Env: wenv, Cwd: proj, ReadOnly: r.hostPaths(), // nvm, volta: node and pnpm under $HOME
		Limits: container.Limits{Timeout: 2 * time.Minute, Memory: r.o.Limits.Memory, Pids: r.o.Limits.Pids, Disk: r.o.Limits.Disk},
		Caches: []rootfs.Cache{{Name: "nodecompile", HostPath: c.dir, Target: c.dir}},
		Stdout: &out, Stderr: &out,
	})
	note := "made"
	switch {
	case err != nil:
		note = err.Error()
	case res.ExitCode != 0 || res.Stopped != container.StopNone:
		note = fmt.Sprintf("pnpm exited %d (%s): %.300s", res.ExitCode, res.Stopped, out.String())
	}
	r.o.Log.Debugf("pnpm's code cache for %s: %s", c.pnpm, note)
	// Made or not, not tried again for this pnpm and node: a failure would
	// otherwise cost every install a container.
	fd, err := unix.Open(marker, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err != nil {
		r.o.Log.Debugf("pnpm's code cache: marker: %v", err)
		return
	}
	f := os.NewFile(uintptr(fd), marker)
	if _, err := f.WriteString(note + "\n"); err != nil {
		r.o.Log.Debugf("pnpm's code cache: marker: %v", err)
	}
	f.Close()
}

// args is the step's argv with its pnpm run through node with the hook.
func (c *nodeCompile) args(args []string) []string {
	i := pnpmAt(args)
	if i < 0 {
		return args
	}
	return slices.Concat(args[:i], []string{"node", "--require", c.hook, c.pnpm}, args[i+1:])
}

// mount adds the cache dir to the step's mounts.
func (c *nodeCompile) mount(caches []rootfs.Cache) []rootfs.Cache {
	return append(caches, rootfs.Cache{Name: "nodecompile", HostPath: c.dir, Target: c.dir, ReadOnly: true})
}

// pnpmScript finds pnpm the way the step's `pnpm` would be found (lookPathIn)
// and returns it, with its bundle, when it is pnpm's published script:
// `#!/usr/bin/env node`, with dist/pnpm.cjs beside its real directory, all of it
// in a directory the sandbox binds from the host (visible) and none of it under
// the project or the scratch (outside).
func pnpmScript(env, visible, outside []string) (script, dist string) {
	p := lookPathIn(env, "pnpm", visible, outside)
	if p == "" {
		return "", ""
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", ""
	}
	dist = filepath.Join(filepath.Dir(real), "..", "dist", "pnpm.cjs")
	for _, q := range []string{real, dist} {
		if !underAny(q, visible...) || underAny(q, outside...) {
			return "", ""
		}
	}
	if st, err := os.Stat(dist); err != nil || !st.Mode().IsRegular() {
		return "", ""
	}
	f, err := os.Open(p)
	if err != nil {
		return "", ""
	}
	head := make([]byte, 32)
	n, _ := f.Read(head)
	f.Close()
	if !bytes.HasPrefix(head[:n], []byte("#!/usr/bin/env node\n")) {
		return "", ""
	}
	return p, dist
}

// lookPathIn finds name in env's PATH as the sandbox would, among the
// directories it binds from the host (visible): entries it does not bind are
// skipped, as it would ($HOME there is an empty tmpfs). A relative entry or one
// under the project or the scratch (outside) ends the search with nothing: the
// sandbox could find a different file there.
func lookPathIn(env []string, name string, visible, outside []string) string {
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
			continue
		}
		p := filepath.Join(d, name)
		st, err := os.Stat(p)
		if err != nil || !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
			continue
		}
		return p
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
	if sameRegularFile(hook, nodeCompileHook) {
		return hook, nil
	}
	tmp, err := os.CreateTemp(dir, ".hook-*")
	if err != nil {
		return "", err
	}
	_, err = tmp.Write(nodeCompileHook)
	if err == nil {
		err = tmp.Chmod(0o644) // by descriptor: the name could be swapped meanwhile
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
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

// sameRegularFile reports whether path is a regular file (not a link, not a FIFO)
// holding exactly want.
func sameRegularFile(path string, want []byte) bool {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || st.Size() != int64(len(want)) {
		return false
	}
	have := make([]byte, len(want)+1)
	n, _ := io.ReadFull(f, have)
	return n == len(want) && bytes.Equal(have[:n], want)
}

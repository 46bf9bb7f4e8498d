package install

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/phylum-box/phylum-box/managers"
	"github.com/phylum-box/phylum-box/rootfs"
)

// npm writes "A complete log of this run can be found in: PATH" into its logs-dir,
// by default under its cache, which the build step does not mount: the path it
// printed existed only in the sandbox. The build step of an npm plan gets a fresh
// host directory as its logs-dir instead, at the same path inside; after a failure
// the debug logs npm wrote there stay (anything else the step put there is
// removed), so the path npm printed is a file on the host. After a success the
// directory is removed.
type npmLogs struct {
	dir string
}

// npmLogsFor prepares the directory for an npm build step, or returns nil.
func (r *runner) npmLogsFor(phase managers.Phase, s *managers.Step) *npmLogs {
	if phase != managers.PhaseBuild || len(s.Args) == 0 || s.Args[0] != "npm" {
		return nil
	}
	base := filepath.Join(cacheHome(r.o), "phylum-box", "logs")
	if err := os.MkdirAll(base, 0o700); err != nil {
		r.o.Log.Debugf("npm logs: %v", err)
		return nil
	}
	dir, err := os.MkdirTemp(base, "npm-"+time.Now().UTC().Format("20060102T150405")+"-")
	if err != nil {
		r.o.Log.Debugf("npm logs: %v", err)
		return nil
	}
	// Readable by the container's root when phylum-box runs as real root.
	if err := os.Chmod(base, 0o711); err == nil {
		if err := r.shareCache(dir); err != nil {
			r.o.Log.Debugf("npm logs: %v", err)
		}
	}
	return &npmLogs{dir: dir}
}

// mount adds the directory to the step, writable, and points npm at it.
func (l *npmLogs) mount(caches []rootfs.Cache, env []string) ([]rootfs.Cache, []string) {
	if l == nil {
		return caches, env
	}
	return append(caches, rootfs.Cache{Name: "npmlogs", HostPath: l.dir, Target: l.dir}),
		append(env, "npm_config_logs_dir="+l.dir)
}

// npmLogLine finds the path npm printed.
var npmLogLine = regexp.MustCompile(`complete log of this run can be found in:\s*(\S+)`)

// keep is called after a failed step: it keeps the debug log npm named (a regular
// file directly in the directory) and removes everything else; it returns the log's
// path, or "" (the directory is then removed too).
func (l *npmLogs) keep(output string) string {
	if l == nil {
		return ""
	}
	named := ""
	if m := npmLogLine.FindAllStringSubmatch(output, -1); len(m) > 0 {
		named = m[len(m)-1][1]
	}
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		l.remove()
		return ""
	}
	kept := ""
	for _, e := range entries {
		p := filepath.Join(l.dir, e.Name())
		if e.Type().IsRegular() && p == named && strings.HasSuffix(e.Name(), ".log") {
			kept = p
			continue
		}
		_ = os.RemoveAll(p)
	}
	if kept == "" {
		l.remove()
		return ""
	}
	_ = os.Chmod(kept, 0o600)
	return kept
}

// remove deletes the directory (after a success, or when no log was kept).
func (l *npmLogs) remove() {
	if l != nil {
		_ = os.RemoveAll(l.dir)
	}
}

// cacheHome is $XDG_CACHE_HOME from the caller's environment, else ~/.cache.
func cacheHome(o Options) string {
	for i := len(o.Environ) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(o.Environ[i], "XDG_CACHE_HOME="); ok && filepath.IsAbs(v) {
			return v
		}
	}
	return filepath.Join(o.Home, ".cache")
}

// logNote is the reason's addition naming the kept log.
func logNote(path string) string {
	return fmt.Sprintf("npm's complete log: %s", path)
}

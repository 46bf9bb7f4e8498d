package install

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	"github.com/phylum-box/phylum-box/internal/exitcode"
	"github.com/phylum-box/phylum-box/managers"
	"github.com/phylum-box/phylum-box/rootfs"
)

// What an install does once it holds the project, before its first step or its
// nothing-to-do check (install.go's installIn): the refusals and the host paths.

// openFailed is the outcome of a project lock or session that could not be had.
func openFailed(ctx context.Context, p *managers.Plan, out *Outcome, err error) (*Outcome, error) {
	if ctx.Err() != nil {
		out.Code, out.Reason = exitcode.Sandbox, "interrupted while waiting for the project lock"
		return out, nil
	}
	if ref := homeProjectRefusal(p, err); ref != nil { // quiet.go
		return nil, ref
	}
	return nil, err
}

// beforeSteps is what every install does once it holds the project, before its
// first step or its nothing-to-do check: the host paths it names, the plan's notes,
// and the refusal of a policy on scripts the plan cannot keep (done: refused).
func (r *runner) beforeSteps() (done bool, err error) {
	r.out.HostPaths = r.hostPaths()
	if why := r.scriptsUnenforceable(); why != "" {
		r.out.Code, r.out.Reason = exitcode.Blocked, why+"; nothing was installed"
		return true, nil
	}
	for _, n := range r.o.Plan.Notes { // Plan.Notes: worth printing with -v
		r.o.Log.Debugf("%s", n)
	}
	return false, nil
}

// hostPaths are the plan's tool directories (nvm, volta, corepack keep node and the
// managers under $HOME, which the container replaces with an empty tmpfs), bound
// read-only. Left out: files (the tool's directory is listed too), paths that are
// already visible (the rootfs binds /usr, /etc, /opt), and any directory that is or
// contains $HOME or the project — binding those would undo the sandbox.
func (r *runner) hostPaths() []string {
	var out []string
	for _, p := range r.o.Plan.Sandbox.HostPaths {
		if !filepath.IsAbs(p) {
			continue
		}
		p = filepath.Clean(p)
		if underAny(p, rootfs.SystemDirs...) || underAny(p, "/bin", "/sbin", "/lib", "/lib64") ||
			underAny(r.o.Home, p) || underAny(r.root, p) || underAny(p, r.root) {
			continue
		}
		if st, err := os.Stat(p); err != nil || !st.IsDir() {
			continue
		}
		out = append(out, p)
	}
	return out
}

// underAny reports whether p is one of dirs or below one. (Not within: rootfs and
// managers have a within(root, p) with the opposite order.)
func underAny(p string, dirs ...string) bool {
	for _, d := range dirs {
		if p == d || d == "/" || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

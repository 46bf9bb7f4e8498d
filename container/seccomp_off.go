//go:build !seccomp

package container

// SeccompCompiled reports whether this binary was built with the seccomp tag
// (libseccomp linked in), i.e. whether containers get the filter.
const SeccompCompiled = false

// seccompForSpec says no filter can be installed, and says so: without it a
// build script may create namespaces, mount in them and inject terminal input.
func seccompForSpec(log logger) bool {
	log.Warn("seccomp is off: this phylum-box was built without the seccomp tag (rebuild with `make build`, which needs libseccomp-dev)")
	return false
}

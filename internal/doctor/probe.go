package doctor

import (
	"os"

	"github.com/phylum-box/phylum-box/container"
	"github.com/phylum-box/phylum-box/internal/kernel"
)

// Capabilities is what this host lets phylum-box do for the calling user (Probe)
// or for a user setup prepares (capabilitiesFor): what doctor grades.
type Capabilities struct {
	Root     bool
	Identity container.Identity
	// IdentityErr is set when no mapping could be worked out.
	IdentityErr error
	CgroupMode  container.CgroupMode
	// Delegation is the cgroup rootless runs use; nil when rootless limits fall
	// back to rlimits (DelegationErr says why). Always nil for root.
	Delegation    *container.Delegation
	DelegationErr error
	// CgroupLimits is true when memory, pids and CPU limits can be enforced.
	CgroupLimits bool
	// UserNamespaces is false when a sysctl forbids the user namespaces
	// (UserNSProblem says which knob; diagnoseUserns grades it, with the fix).
	UserNamespaces bool
	UserNSProblem  string
	Seccomp        bool
	// LandlockScope is true when abstract unix sockets can be scoped (--network).
	LandlockScope bool
	// NPROCPerUserNS is true on kernels (>= 5.14) that count RLIMIT_NPROC per
	// user namespace, which makes it a per-container pids limit.
	NPROCPerUserNS bool
}

// Probe inspects the host: identity, cgroup mode and delegation, user
// namespaces, seccomp. It changes nothing.
func Probe() Capabilities {
	c := Capabilities{Root: os.Geteuid() == 0, CgroupMode: container.HostCgroupMode(), Seccomp: container.SeccompCompiled}
	c.Identity, c.IdentityErr = container.CurrentIdentity()
	if c.Root {
		c.CgroupLimits = c.CgroupMode != container.CgroupNone
	} else {
		c.Delegation, c.DelegationErr = container.DelegatedCgroup(os.Geteuid())
		c.CgroupLimits = c.Delegation != nil
	}
	c.UserNamespaces, c.UserNSProblem = usernsAllowed(readSysctls(), c.Root)
	c.NPROCPerUserNS = kernel.AtLeast(5, 14)
	c.LandlockScope = container.LandlockScopeAvailable()
	return c
}

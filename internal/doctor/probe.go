package doctor

import (
	"os"
	"strings"

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
	// UserNamespaces is false when the kernel refuses unprivileged user
	// namespaces (UserNSProblem says which knob).
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
	c := Capabilities{Root: os.Geteuid() == 0, CgroupMode: container.HostCgroupMode(), Seccomp: container.SeccompCompiled, UserNamespaces: true}
	c.Identity, c.IdentityErr = container.CurrentIdentity()
	if c.Root {
		c.CgroupLimits = c.CgroupMode != container.CgroupNone
	} else {
		c.Delegation, c.DelegationErr = container.DelegatedCgroup(os.Geteuid())
		c.CgroupLimits = c.Delegation != nil
	}
	if b, err := os.ReadFile("/proc/sys/user/max_user_namespaces"); err == nil && strings.TrimSpace(string(b)) == "0" {
		c.UserNamespaces, c.UserNSProblem = false, "user.max_user_namespaces is 0 (sysctl -w user.max_user_namespaces=15000)"
	}
	if !c.Root {
		if b, err := os.ReadFile("/proc/sys/kernel/unprivileged_userns_clone"); err == nil && strings.TrimSpace(string(b)) == "0" {
			c.UserNamespaces, c.UserNSProblem = false, "kernel.unprivileged_userns_clone is 0 (sysctl -w kernel.unprivileged_userns_clone=1)"
		}
		if b, err := os.ReadFile("/proc/sys/kernel/apparmor_restrict_unprivileged_userns"); err == nil && strings.TrimSpace(string(b)) == "1" {
			c.UserNamespaces, c.UserNSProblem = false, "AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns=1); add an AppArmor profile allowing userns for phylum-box"
		}
	}
	c.NPROCPerUserNS = kernel.AtLeast(5, 14)
	c.LandlockScope = container.LandlockScopeAvailable()
	return c
}

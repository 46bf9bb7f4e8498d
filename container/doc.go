// Package container turns a Spec into a running, limited, watched process inside a
// rootless libcontainer container: namespaces, user-namespace maps, cgroups, seccomp,
// rlimits, timeouts and the re-exec of this binary as the container's init. It knows
// nothing about package managers or project trees; rootfs supplies the mounts.
package container

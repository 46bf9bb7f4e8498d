// Package container turns a Spec into a running, limited, watched process inside a
// rootless libcontainer container: namespaces, user-namespace maps, cgroups, seccomp,
// rlimits, timeouts and the re-exec of this binary as the container's init. It knows
// nothing about package managers or project trees; rootfs supplies the mounts.
//
// # Isolation
//
// Every container gets a user namespace whose root is not host root (Identity: the
// invoking user when rootless, a high unprivileged range when phylum-box runs as
// root), new mount, pid, ipc, uts and cgroup namespaces, and a new network namespace
// with only loopback unless Spec.Network. The command runs as container root with no
// capabilities at all (bounding, effective, permitted, inheritable and ambient sets
// empty), no_new_privs, RLIMIT_CORE 0, and — with the `seccomp` build tag — the
// seccompProfile filter. libcontainer masks the usual /proc and /sys paths and closes
// every descriptor but stdio before exec. With Spec.Network the container shares the
// host's network namespace, and with it the host's abstract unix sockets (X11, D-Bus);
// a Landlock scope (Linux 6.12+) keeps those out of reach — rootless network runs use
// the single-id map for it, since the no_new_privs Landlock needs breaks newuidmap.
//
// # Limits
//
// As root, each run gets its own cgroup (/phylum-box/<id>) with memory (+swap to the
// same total), pids and CPU quota. Rootless, the same happens below a cgroup handed
// over once by `phylum-box setup --user NAME` (DelegatedCgroup finds it); without one, pids falls back
// to RLIMIT_NPROC — which kernels since 5.14 count per user namespace, so per
// container — and memory and CPU are reported as not enforced (Result.Limits). The
// wall-clock timeout, an interrupt (ctx), an OOM kill or a fork refused by the pids
// limit SIGKILL the pid namespace's init, which ends every process in the container.
// So does the disk limit (Limits.Disk), which no cgroup provides: a DiskMeter polls
// statfs of the file systems behind the writable mounts and confirms a growth past
// the limit with an exact walk of those dirs; RLIMIT_FSIZE caps any one file.
//
// # Life cycle
//
// Reserve claims an id and a private dir in the state dir under an flock;
// RunReserved creates, runs, waits for and destroys the container; Release removes
// what is left. A phylum-box killed with SIGKILL takes its container with it
// (setpriv --pdeathsig) and the next Reserve cleans its state and cgroup.
//
// What the host allows, and how to fix what it does not, is internal/doctor's
// (`phylum-box doctor` and `setup`): it reads the same facts through the few
// exported names it needs — CurrentIdentity, HostCgroupMode, DelegatedCgroup,
// DelegationName, V1HierarchyDirs, ReadSubIDFile, PlanLimits.
package container

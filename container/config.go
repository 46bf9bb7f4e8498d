package container

import (
	"fmt"
	"strings"

	// Registers the device-rule manager libcontainer needs to apply the device
	// cgroup (runc imports it in its main package).
	_ "github.com/opencontainers/cgroups/devices"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/specconv"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// buildSpec turns a Spec into an OCI runtime spec. It starts from
// specconv.Example() for its masked and read-only /proc and /sys paths and its
// device list, and replaces the parts phylum-box decides: mounts, namespaces,
// id maps, capabilities (none), seccomp and resources.
//
// A non-empty monitorPath selects seccompProfileMonitored, whose notifications
// libcontainer sends to the listener at that path.
func buildSpec(s *Spec, id *Identity, plan *limitPlan, useSeccomp bool, monitorPath string) *specs.Spec {
	sp := specconv.Example()
	sp.Root = &specs.Root{Path: s.Rootfs, Readonly: true}
	sp.Hostname = s.Hostname
	if sp.Hostname == "" {
		sp.Hostname = "phylum-box"
	}
	sp.Process.Terminal = false
	sp.Process.Args = s.Args
	sp.Process.Env = s.Env
	sp.Process.Cwd = s.Cwd
	sp.Process.NoNewPrivileges = true
	sp.Process.Capabilities = &specs.LinuxCapabilities{}
	sp.Process.Rlimits = nil
	sp.Mounts = mountsFor(s.Mounts, id)

	ns := []specs.LinuxNamespace{
		{Type: specs.UserNamespace},
		{Type: specs.MountNamespace},
		{Type: specs.PIDNamespace},
		{Type: specs.IPCNamespace},
		{Type: specs.UTSNamespace},
		{Type: specs.CgroupNamespace},
	}
	if !s.Network {
		ns = append(ns, specs.LinuxNamespace{Type: specs.NetworkNamespace})
	}
	sp.Linux.Namespaces = ns
	sp.Linux.UIDMappings = id.UIDMap
	sp.Linux.GIDMappings = id.GIDMap
	sp.Linux.MaskedPaths = append(sp.Linux.MaskedPaths, s.MaskPaths...)
	sp.Linux.CgroupsPath = plan.cgroupsPath
	if plan.resources != nil {
		plan.resources.Devices = sp.Linux.Resources.Devices
		sp.Linux.Resources = plan.resources
	}
	if useSeccomp && monitorPath != "" {
		sp.Linux.Seccomp = seccompProfileMonitored()
		sp.Linux.Seccomp.ListenerPath = monitorPath
	} else if useSeccomp {
		sp.Linux.Seccomp = seccompProfile()
	}
	return sp
}

// mountsFor copies the caller's mounts, dropping devpts options that name a gid
// the user namespace does not map (gid=5 with a single-uid map makes the mount
// fail with EINVAL).
func mountsFor(in []specs.Mount, id *Identity) []specs.Mount {
	out := make([]specs.Mount, 0, len(in))
	for _, m := range in {
		m.Options = append([]string(nil), m.Options...)
		if m.Type == "devpts" {
			opts := m.Options[:0]
			for _, o := range m.Options {
				if v, ok := strings.CutPrefix(o, "gid="); ok {
					var g uint32
					if _, err := fmt.Sscan(v, &g); err == nil && !id.mapsGID(g) {
						continue
					}
				}
				opts = append(opts, o)
			}
			m.Options = opts
		}
		out = append(out, m)
	}
	return out
}

func buildConfig(s *Spec, runID string, id *Identity, plan *limitPlan, useSeccomp bool, monitorPath string) (*configs.Config, error) {
	sp := buildSpec(s, id, plan, useSeccomp, monitorPath)
	cfg, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{
		Spec: sp,
		// Without a cgroup path (rootless, nothing delegated) libcontainer tries
		// <own cgroup>/<name>, fails quietly for lack of permission and runs
		// without one; an empty name would make it adopt our own, busy cgroup.
		CgroupName:      runID,
		RootlessEUID:    id.Rootless,
		RootlessCgroups: id.Rootless,
	})
	if err != nil {
		return nil, fmt.Errorf("container config: %w", err)
	}
	// If phylum-box dies, so does the container.
	cfg.ParentDeathSignal = int(unix.SIGKILL)
	cfg.NoNewPrivileges = true
	cfg.Capabilities = &configs.Capabilities{}
	return cfg, nil
}

package install

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/phylum-box/phylum-box/container"
	"github.com/phylum-box/phylum-box/internal/egress"
	"github.com/phylum-box/phylum-box/internal/sandbox"
	"github.com/phylum-box/phylum-box/managers"
)

// Where a Step.Egress step finds the bridge and the proxy's socket inside.
const (
	egressDirInside = "/.phylum-box/egress"
	egressExeInside = "/.phylum-box/bin/phylum-box"
)

// egressRun is one step's filtered way out: the host-side proxy, what to bind
// into the container, and the step's argv behind the bridge.
type egressRun struct {
	proxy    *egress.Proxy
	args     []string
	dirs     []sandbox.DirBind
	programs []sandbox.FileBind
}

// startEgress starts the proxy for s.Egress. The container gets no network of its
// own (a fresh namespace, loopback only); its first process is this binary's
// egress bridge, which relays a loopback port to the proxy's socket and runs
// s.Args with the proxy variables pointing there. The proxy reaches the allowed
// destinations through the caller's own proxy where its environment sets one.
// Close the proxy after the step.
func (r *runner) startEgress(s *managers.Step) (*egressRun, error) {
	exe, err := container.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding phylum-box's own binary for the egress bridge: %w", err)
	}
	id := r.sess.Identity()
	// The caller's HTTPS_PROXY / HTTP_PROXY / NO_PROXY choose an upstream proxy
	// for the allowed destinations; it and its credentials stay on the host side.
	p, err := egress.Start(egress.Options{Allow: s.Egress, Chown: !id.Rootless, UID: id.RootUID, GID: id.RootGID,
		Environ: r.o.Environ})
	if err != nil {
		return nil, err
	}
	run := &egressRun{proxy: p, dirs: []sandbox.DirBind{{Source: p.Dir(), Target: egressDirInside}}}
	bin := egressExeInside
	st, err := os.Stat(exe)
	if err != nil {
		p.Close()
		return nil, err
	}
	if !id.Rootless && st.Mode().Perm()&0o005 != 0o005 {
		// The container's root is an unprivileged mapped uid that could not run a
		// binary only its owner may read: give it a copy of its own, in the
		// proxy's private dir.
		cp := filepath.Join(p.Dir(), "phylum-box")
		if err := copyExecutable(exe, cp, id.RootUID, id.RootGID); err != nil {
			p.Close()
			return nil, fmt.Errorf("copying phylum-box for the egress bridge: %w", err)
		}
		bin = filepath.Join(egressDirInside, "phylum-box")
	} else {
		run.programs = []sandbox.FileBind{{Source: exe, Target: egressExeInside}}
	}
	run.args = append([]string{bin}, egress.BridgeArgs(filepath.Join(egressDirInside, egress.SocketName), s.Args)...)
	return run, nil
}

func copyExecutable(src, dst string, uid, gid int) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o500)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Lchown(dst, uid, gid)
}

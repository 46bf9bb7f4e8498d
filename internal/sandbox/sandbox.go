// Package sandbox ties rootfs and container together into a session: one project,
// held under its lock with one scratch view (overlay or staging copy), in which any
// number of containers run one after another — the resolve, download and build
// steps of an install, or the single command of `phylum-box run` — before the
// session's changes are synced back once, or thrown away.
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"

	"github.com/phylum-box/phylum-box/container"
	"github.com/phylum-box/phylum-box/rootfs"
)

// Options configure Open.
type Options struct {
	// Project is the project dir, absolute with symlinks resolved.
	Project string
	// Home is the caller's home path; inside it is an empty tmpfs.
	Home string
	// User names the caller for USER/LOGNAME inside ("" to leave them unset).
	User string
	Mode rootfs.Mode
	// OnWait is called once when another run holds the project's lock.
	OnWait func(holderPID int)
	Log    logrus.FieldLogger
	// Held is the project's lock taken by Lock, handed over to the session.
	Held *rootfs.ProjectLock
}

// Session is one project's scratch view and container reservation.
type Session struct {
	o       Options
	id      container.Identity
	res     *container.Reservation
	scratch *rootfs.Scratch
	// disk measures what the session's containers write to the host disk; each
	// run's Limits.Disk bounds the session's total so far.
	disk *container.DiskMeter
	runs int
}

// ErrProjectHoldsHome is returned by Open for a project that is, or contains,
// the caller's home directory (under any spelling of it).
var ErrProjectHoldsHome = errors.New("it contains your home directory")

// Open takes the project's lock (waiting until ctx is done while another run has it;
// or takes over o.Held, from Lock) and prepares the scratch view. Close it.
func Open(ctx context.Context, o Options) (*Session, error) {
	if o.Log == nil {
		l := logrus.New()
		l.Out = io.Discard
		o.Log = l
	}
	if err := refuseHome(o); err != nil {
		return nil, err
	}
	id, err := container.CurrentIdentity()
	if err != nil {
		return nil, err
	}
	res, err := container.Reserve("")
	if err != nil {
		return nil, err
	}
	sc, err := rootfs.NewScratch(ctx, rootfs.ScratchOptions{
		Project: o.Project, RootUID: id.RootUID, RootGID: id.RootGID,
		UIDMappings: id.UIDMap, GIDMappings: id.GIDMap, Mode: o.Mode, OnWait: o.OnWait, Held: o.Held,
	})
	if err != nil {
		res.Release()
		return nil, err
	}
	// Taken after the scratch is made: a staging copy is not the session's writing.
	disk := container.NewDiskMeter(time.Now())
	return &Session{o: o, id: id, res: res, scratch: sc, disk: disk}, nil
}

// Lock takes the project's lock alone, as Open would (the same refusals), for a
// run that reads the project before it knows whether it needs a session: no
// scratch is made. Release it, or pass it to Open as Options.Held.
func Lock(ctx context.Context, o Options) (*rootfs.ProjectLock, error) {
	if err := refuseHome(o); err != nil {
		return nil, err
	}
	return rootfs.LockProject(ctx, rootfs.ScratchOptions{Project: o.Project, OnWait: o.OnWait})
}

// refuseHome refuses a project that is, or contains, the caller's home.
func refuseHome(o Options) error {
	if o.Home == "" || o.Home == "/" || !filepath.IsAbs(o.Home) {
		return errors.New("cannot tell your home directory (set HOME)")
	}
	return HoldsHome(o.Project, o.Home)
}

// HoldsHome refuses project (absolute, symlinks resolved) when it is /, or is or
// contains home (absolute) under either of its spellings.
func HoldsHome(project, home string) error {
	// Project comes with symlinks resolved, $HOME often not (/home -> /var/home on
	// Fedora Atomic): compare both spellings of the home, or the whole home — keys,
	// tokens — would be the project the build sees.
	homes := []string{filepath.Clean(home)}
	if h, err := filepath.EvalSymlinks(home); err == nil && h != homes[0] {
		homes = append(homes, h)
	}
	for _, h := range homes {
		if project == "/" || project == h || strings.HasPrefix(h, project+"/") {
			return fmt.Errorf("refusing to use %s as the project: %w", project, ErrProjectHoldsHome)
		}
	}
	return nil
}

// Identity is the user-namespace mapping the session's containers use.
func (s *Session) Identity() container.Identity { return s.id }

// Scratch is the session's scratch view of the project.
func (s *Session) Scratch() *rootfs.Scratch { return s.scratch }

// Exec is one command run in the session.
type Exec struct {
	Args []string
	// Env is the complete environment (see ScrubEnv).
	Env []string
	// Cwd is the working directory inside (absolute; default: the project).
	Cwd     string
	Network bool
	Limits  container.Limits
	Caches  []rootfs.Cache
	// ReadOnly are extra host directories bound read-only at their own path.
	ReadOnly []string
	// Files are extra single-file binds (credentials), read-only, added last.
	Files []FileBind
	// Dirs are extra directory binds, read-only but executable (the scratch
	// project of npx/dlx, whose bins run), added last.
	Dirs []DirBind
	// Programs are single executable files bound read-only (nosuid, nodev): the
	// phylum-box binary, for a step that runs behind its egress bridge.
	Programs []FileBind
	// Writable are host files or directories bound read-write (nosuid, nodev,
	// noexec), added last: the persistence decoys of internal/behaviour, whose
	// writes must succeed to be seen. Their sources must be throwaway.
	Writable []FileBind
	// Monitor, when set, watches the run's processes (see container.Monitor).
	Monitor        *container.Monitor
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// FileBind puts host file Source at Target inside, read-only.
type FileBind struct{ Source, Target string }

// DirBind puts host directory Source at Target inside, read-only (nosuid, nodev).
type DirBind struct{ Source, Target string }

// Run runs one container over the session's project view and waits for it.
func (s *Session) Run(ctx context.Context, e Exec) (*container.Result, error) {
	s.runs++
	dir := filepath.Join(s.res.Dir, "root"+strconv.Itoa(s.runs))
	extra := s.scratch.ProjectMounts(dir)
	for _, d := range e.Dirs {
		extra = append(extra, specs.Mount{Destination: d.Target, Type: "bind", Source: d.Source,
			Options: []string{"bind", "ro", "nosuid", "nodev"}})
	}
	for _, f := range e.Programs {
		extra = append(extra, specs.Mount{Destination: f.Target, Type: "bind", Source: f.Source,
			Options: []string{"bind", "ro", "nosuid", "nodev"}})
	}
	for _, f := range e.Files {
		extra = append(extra, specs.Mount{Destination: f.Target, Type: "bind", Source: f.Source,
			Options: []string{"bind", "ro", "nosuid", "nodev", "noexec"}})
	}
	for _, f := range e.Writable {
		extra = append(extra, specs.Mount{Destination: f.Target, Type: "bind", Source: f.Source,
			Options: []string{"bind", "nosuid", "nodev", "noexec"}})
	}
	caches := e.Caches
	if s.scratch.Mode() != rootfs.ModeOverlay {
		// No overlay on this machine (the project is a staging copy): a throwaway
		// cache is the plain read-only one.
		caches = slices.Clone(caches)
		for i := range caches {
			caches[i].Throwaway = false
		}
	}
	sk, err := rootfs.BuildSkeleton(rootfs.SkeletonOptions{
		Dir: dir, RootUID: s.id.RootUID, RootGID: s.id.RootGID, Home: s.o.Home,
		ReadOnly: e.ReadOnly, Caches: caches, Extra: extra,
	})
	if err != nil {
		return nil, fmt.Errorf("building the container root: %w", err)
	}
	cwd := e.Cwd
	if cwd == "" {
		cwd = s.o.Project
	}
	stdin := e.Stdin
	if stdin == nil {
		null, err := os.Open(os.DevNull)
		if err != nil {
			return nil, err
		}
		defer null.Close()
		stdin = null
	}
	return container.RunReserved(ctx, &container.Spec{
		Args: e.Args, Env: e.Env, Cwd: cwd,
		Rootfs: sk.Root, Mounts: sk.Mounts, MaskPaths: sk.Hidden,
		Network: e.Network, Limits: e.Limits, Disk: s.disk,
		Stdin: stdin, Stdout: e.Stdout, Stderr: e.Stderr,
		Identity: &s.id, Log: s.o.Log, Monitor: e.Monitor,
	}, s.res)
}

// SyncBack applies the session's changes to the host project.
func (s *Session) SyncBack(o rootfs.SyncOptions) (*rootfs.SyncReport, error) {
	return s.scratch.SyncBack(o)
}

// Close throws the scratch view away and releases the lock and reservation.
func (s *Session) Close() error {
	err := s.scratch.Close()
	s.res.Release()
	return err
}

// EnvAllowlist are the variables passed into the sandbox unasked. LC_* is matched by
// prefix.
var EnvAllowlist = []string{"PATH", "LANG", "TERM", "TZ", "COLORTERM", "NO_COLOR"}

// ScrubEnv builds a container environment from environ: the allowlist, the keep
// names, then HOME, USER, LOGNAME and TMPDIR=/tmp fixed by the sandbox, then extra
// (KEY=VALUE, last wins).
func ScrubEnv(environ, keep []string, home, userName string, extra ...string) []string {
	src := map[string]string{}
	var order []string
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		if _, dup := src[k]; !dup {
			order = append(order, k)
		}
		src[k] = v
	}
	keepSet := map[string]bool{}
	for _, k := range EnvAllowlist {
		keepSet[k] = true
	}
	for _, k := range keep {
		keepSet[k] = true
	}
	fixed := map[string]string{"HOME": home, "TMPDIR": "/tmp"}
	if userName != "" {
		fixed["USER"], fixed["LOGNAME"] = userName, userName
	}
	var out []string
	for _, k := range order {
		if _, isFixed := fixed[k]; isFixed {
			continue
		}
		if keepSet[k] || strings.HasPrefix(k, "LC_") {
			out = append(out, k+"="+src[k])
		}
	}
	if _, ok := src["PATH"]; !ok {
		out = append(out, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	}
	for _, k := range []string{"HOME", "USER", "LOGNAME", "TMPDIR"} {
		if v, ok := fixed[k]; ok {
			out = append(out, k+"="+v)
		}
	}
	return setEnv(out, extra...)
}

// setEnv sets each KEY=VALUE of kvs in env, replacing an earlier value.
func setEnv(env []string, kvs ...string) []string {
	for _, kv := range kvs {
		k, _, _ := strings.Cut(kv, "=")
		replaced := false
		for i, e := range env {
			if strings.HasPrefix(e, k+"=") {
				env[i], replaced = kv, true
				break
			}
		}
		if !replaced {
			env = append(env, kv)
		}
	}
	return env
}

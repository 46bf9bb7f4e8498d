package rootfs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/phylum-box/phylum-box/internal/topdir"
	"golang.org/x/sys/unix"
)

// Mode says how the project is presented to the container.
type Mode int

const (
	// ModeAuto picks ModeOverlay when this kernel and file system can do it, else ModeCopy.
	ModeAuto Mode = iota
	// ModeOverlay mounts an overlay: lower = the host project (never written), upper = a
	// scratch dir whose content is the run's change set. When phylum-box runs as real root
	// and the project's owner is not mapped into the container, the lower is an idmapped
	// read-only bind of the project (see Idmapped and ProjectMounts).
	ModeOverlay
	// ModeCopy bind-mounts a staging copy of the project; changes are found by comparing
	// the staging tree with a snapshot taken right after the copy.
	ModeCopy
)

func (m Mode) String() string {
	switch m {
	case ModeAuto:
		return "auto"
	case ModeOverlay:
		return "overlay"
	case ModeCopy:
		return "copy"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// OverlayOptions are the overlay mount options besides lowerdir/upperdir/workdir. The
// mount is made by libcontainer inside the container's user namespace, which (measured on
// 6.18, see scratch_test.go) requires:
//   - userxattr: overlay keeps its metadata in user.overlay.* xattrs; trusted.* cannot be
//     set from a user namespace (without it the kernel falls back and cannot mark opaque dirs);
//   - redirect_dir=nofollow: "on"/"follow" (and "off", which still follows) conflict with
//     userxattr; nofollow also means a renamed lower dir is copied up whole (EXDEV to the
//     renamer), so the upper never depends on redirects;
//   - metacopy=off: every copied-up file carries its data in the upper;
//   - index=off: no hard-link index in the workdir (needs file handles anyway).
var OverlayOptions = []string{"userxattr", "index=off", "metacopy=off", "redirect_dir=nofollow"}

// ScratchOptions configure NewScratch.
type ScratchOptions struct {
	Project  string // absolute path, symlinks resolved
	StateDir string // "" = default under the user's cache dir ($XDG_CACHE_HOME/phylum-box/scratch; root: /var/cache/phylum-box/scratch)
	// RootUID and RootGID are the host ids of the container's root; upper, work and
	// staging dirs are chowned to them.
	RootUID, RootGID int
	// UIDMappings and GIDMappings are the container's id maps. nil means only
	// RootUID/RootGID are mapped (to 0). ModeAuto uses them to see whether overlay copy-up
	// can work: it fails (EOVERFLOW) for files whose owner is not mapped.
	UIDMappings, GIDMappings []specs.LinuxIDMapping
	Mode                     Mode
	OnWait                   func(holderPID int) // called once if another run holds this project's lock
	// Held, when set, is the project's lock taken already with LockProject (for the
	// same Project and StateDir): NewScratch takes it over instead of taking the lock.
	Held *ProjectLock
}

// Scratch is the per-run scratch state of one project: the overlay upper/work dirs or a
// staging copy, held under the project's lock until Close.
type Scratch struct {
	project  string
	stateDir string
	dir      string // this run's scratch dir: <root>/<key>-<pid>-<rand>
	mode     Mode
	rootUID  int
	rootGID  int
	lock     *projectLock
	snap     map[string]snapEntry // ModeCopy: staging state right after the copy
	why      string               // why ModeAuto chose copy mode ("" for overlay)
	// idmap: ModeOverlay whose lower is an idmapped bind of the project (ProjectMounts),
	// with these maps (on-disk id -> host id).
	idmap                bool
	lowerUIDs, lowerGIDs []specs.LinuxIDMapping
	// handedOut: a project mount was returned, so a container may have written to the
	// upper; the mode must not change any more.
	handedOut bool
	// broken: the late switch to ModeCopy failed; Changes and SyncBack refuse.
	broken error
	// started is the ctime of the scratch dir, taken before the project is looked
	// at: SyncBack refuses to replace or delete a host file changed since then.
	started unix.Timespec
	// listed is the last change set Changes read, kept while no container can
	// have written to the scratch since (changes.go).
	listed *ChangeSet
}

func (s *Scratch) upperDir() string   { return filepath.Join(s.dir, "upper") }
func (s *Scratch) workDir() string    { return filepath.Join(s.dir, "work") }
func (s *Scratch) stagingDir() string { return filepath.Join(s.dir, "staging") }

// sourceDir is the tree holding the run's results: the upper dir or the staging copy.
func (s *Scratch) sourceDir() string {
	if s.mode == ModeOverlay {
		return s.upperDir()
	}
	return s.stagingDir()
}

// Mode reports the mode in use (never ModeAuto).
func (s *Scratch) Mode() Mode { return s.mode }

// ModeReason says why ModeAuto, or ProjectMount(s) later (see ProjectMount), fell back to
// ModeCopy ("" when neither did).
func (s *Scratch) ModeReason() string { return s.why }

// Idmapped reports whether the overlay's lower is an idmapped bind of the project (only
// ProjectMounts can express it).
func (s *Scratch) Idmapped() bool { return s.mode == ModeOverlay && s.idmap }

// Dir is this run's scratch dir (for logs).
func (s *Scratch) Dir() string { return s.dir }

// NewScratch takes the project's lock (waiting while another run holds it, until ctx is
// done; or takes over o.Held), removes scratch left by killed runs and prepares this
// run's scratch dirs.
func NewScratch(ctx context.Context, o ScratchOptions) (*Scratch, error) {
	held := o.Held
	if held == nil {
		var err error
		if held, err = LockProject(ctx, o); err != nil {
			return nil, err
		}
	}
	stateDir := held.stateDir
	if o.StateDir != "" {
		stateDir = filepath.Clean(o.StateDir)
	}
	lock, err := held.take(o.Project, stateDir)
	if err != nil {
		return nil, err
	}
	s := &Scratch{project: o.Project, stateDir: stateDir, rootUID: o.RootUID, rootGID: o.RootGID, lock: lock}
	ok := false
	defer func() {
		if !ok {
			_ = removeScratchDir(s.dir)
			_ = lock.release()
		}
	}()
	pfi, err := os.Lstat(o.Project)
	if err != nil {
		return nil, fmt.Errorf("project dir: %w", err)
	}
	if !pfi.IsDir() {
		return nil, fmt.Errorf("project %s is not a directory", o.Project)
	}
	root, _ := scratchRoot(stateDir, o.Project)
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	s.dir = filepath.Join(root, fmt.Sprintf("%s-%d-%s", lock.key, os.Getpid(), hex.EncodeToString(rnd[:])))
	if err := os.Mkdir(s.dir, 0o711); err != nil {
		return nil, fmt.Errorf("create scratch dir: %w", err)
	}
	if err := os.Chmod(s.dir, 0o711); err != nil { // umask
		return nil, err
	}
	// The kernel's own timestamp of that chmod marks the start of the run: a host
	// entry whose ctime is not before it was changed while the run went on.
	var st unix.Stat_t
	if err := unix.Stat(s.dir, &st); err != nil {
		return nil, err
	}
	s.started = st.Ctim
	if err := lock.record(s.dir); err != nil {
		return nil, err
	}

	s.mode = o.Mode
	switch o.Mode {
	case ModeAuto, ModeOverlay:
		why, lowerOnly := overlayObstacle(o, s.dir)
		if why != "" && lowerOnly {
			// The project as it is cannot be the lower, but an idmapped view of it can.
			if uids, gids, iwhy := idmapObstacle(o); iwhy == "" {
				why, s.idmap, s.lowerUIDs, s.lowerGIDs = "", true, uids, gids
			} else {
				why += "; " + iwhy
			}
		}
		switch {
		case why == "":
			s.mode = ModeOverlay
		case o.Mode == ModeAuto:
			s.mode, s.why = ModeCopy, why
		default:
			return nil, fmt.Errorf("cannot use an overlay for %s: %s (use the copy mode)", o.Project, why)
		}
	case ModeCopy:
	default:
		return nil, fmt.Errorf("unknown scratch mode %d", o.Mode)
	}
	if s.mode == ModeOverlay {
		for _, d := range []string{s.upperDir(), s.workDir()} {
			if err := os.Mkdir(d, 0o755); err != nil {
				return nil, fmt.Errorf("create overlay dir: %w", err)
			}
			if err := os.Lchown(d, o.RootUID, o.RootGID); err != nil {
				return nil, fmt.Errorf("give overlay dir %s to the container's root (%d:%d): %w", d, o.RootUID, o.RootGID, err)
			}
		}
		// The merged root takes its attributes from the upper root: give it the project's
		// permissions so the project looks the same inside; work stays private.
		if err := os.Chmod(s.upperDir(), pfi.Mode().Perm()); err != nil {
			return nil, err
		}
		if err := os.Chmod(s.workDir(), 0o700); err != nil {
			return nil, err
		}
	} else {
		snap, err := stageCopy(o.Project, s.stagingDir(), o.RootUID, o.RootGID)
		if err != nil {
			return nil, fmt.Errorf("make the staging copy of %s: %w", o.Project, err)
		}
		s.snap = snap
	}
	ok = true
	return s, nil
}

// scratchRoot picks the dir that holds per-run scratch dirs: the state dir when it is on
// the project's file system (so SyncBack moves instead of copying), else a private
// ".phylum-box-scratch" dir beside the project (never inside it: the container must not
// see it), else the state dir anyway.
func scratchRoot(stateDir, project string) (string, bool) {
	if sameDevice(stateDir, project) || !siblingScratch {
		return stateDir, sameDevice(stateDir, project)
	}
	parent := filepath.Dir(project)
	if parent == project {
		return stateDir, false
	}
	sib := siblingRoot(project)
	if err := os.Mkdir(sib, 0o711); err != nil && !errors.Is(err, fs.ErrExist) {
		return stateDir, false
	}
	fi, err := os.Lstat(sib)
	if err != nil || !fi.IsDir() || int(fi.Sys().(*syscall.Stat_t).Uid) != os.Geteuid() || fi.Mode().Perm()&0o022 != 0 {
		return stateDir, false
	}
	if !sameDevice(sib, project) {
		return stateDir, false
	}
	_ = topdir.Mark(sib) // as ensureStateDir does for the state dir
	return sib, true
}

func siblingRoot(project string) string {
	return filepath.Join(filepath.Dir(project), ".phylum-box-scratch")
}

func sameDevice(a, b string) bool {
	var sa, sb unix.Stat_t
	if unix.Stat(a, &sa) != nil || unix.Stat(b, &sb) != nil {
		return false
	}
	return sa.Dev == sb.Dev
}

func uniq(a, b string) []string {
	if a == b {
		return []string{a}
	}
	return []string{a, b}
}

// within reports whether p is root or below it.
func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// siblingScratch enables the scratch dir beside the project (tests turn it off to
// exercise the cross-file-system copy).
var siblingScratch = true

// ProjectMounts are the runtime-spec mounts that put the project at its own path inside
// the container, in mount order, for a container whose root dir (the skeleton dir, see
// SkeletonOptions.Dir) is rootfsDir: add them to SkeletonOptions.Extra. For an idmapped
// overlay (Idmapped) they are the idmapped read-only bind of the project at IdmappedLower
// and the overlay over it; libcontainer makes its mounts before pivot_root, so the
// overlay names its lower by the host path rootfsDir+IdmappedLower. Otherwise the one
// mount of ProjectMount.
//
// A rootfsDir that overlay options cannot carry (not absolute and clean, or with ",", ":"
// or a backslash) turns an idmapped overlay not yet handed out into ModeCopy, as
// ProjectMount does.
func (s *Scratch) ProjectMounts(rootfsDir string) []specs.Mount {
	if s.Idmapped() {
		why := optionUnsafe(rootfsDir)
		if !filepath.IsAbs(rootfsDir) || filepath.Clean(rootfsDir) != rootfsDir {
			why = fmt.Sprintf("container root dir %q is not absolute and clean", rootfsDir)
		}
		if why == "" {
			s.handedOut, s.listed = true, nil
			lower := rootfsDir + IdmappedLower
			// nosuid, nodev: nothing on the lower is honoured as setuid or a device even
			// where the overlay would look through to it.
			return []specs.Mount{
				{Destination: IdmappedLower, Type: "bind", Source: s.project, Options: []string{"bind", "ro", "nosuid", "nodev", "idmap"},
					UIDMappings: s.lowerUIDs, GIDMappings: s.lowerGIDs},
				s.overlayMount(lower),
			}
		}
		s.dropIdmap(why)
	}
	return []specs.Mount{s.ProjectMount()}
}

// ProjectMount is the runtime-spec mount that puts the project at its own path inside the
// container: the overlay, or a bind of the staging copy. Callers should move to
// ProjectMounts: one mount cannot carry an idmapped overlay, so for one (Idmapped) that
// has not been handed out by ProjectMounts, ProjectMount makes the staging copy then and
// switches to ModeCopy (slow but correct; a failed copy makes the mount's source absent
// and Changes fail). After ProjectMounts has handed out the idmapped overlay, the
// container may have written to the upper, so the mode stays: ProjectMount then returns
// the overlay with the plain project as its lower (copy-up of files whose owner is
// unmapped fails with EOVERFLOW).
func (s *Scratch) ProjectMount() specs.Mount {
	if s.Idmapped() {
		s.dropIdmap("ProjectMount cannot express the idmapped overlay lower (use ProjectMounts)")
	}
	s.handedOut, s.listed = true, nil
	if s.mode == ModeOverlay {
		return s.overlayMount(s.project)
	}
	return specs.Mount{Destination: s.project, Type: "bind", Source: s.stagingDir(),
		Options: []string{"bind", "rw", "nosuid", "nodev"}}
}

// overlayMount is the overlay at the project's path with the given lower dir.
func (s *Scratch) overlayMount(lower string) specs.Mount {
	opts := append([]string{
		"lowerdir=" + lower,
		"upperdir=" + s.upperDir(),
		"workdir=" + s.workDir(),
	}, OverlayOptions...)
	return specs.Mount{Destination: s.project, Type: "overlay", Source: "overlay", Options: append(opts, "nosuid", "nodev")}
}

// Close removes this run's scratch dir and releases the project lock.
func (s *Scratch) Close() error {
	if s == nil || s.lock == nil {
		return nil
	}
	err := removeScratchDir(s.dir)
	if rerr := s.lock.release(); err == nil {
		err = rerr
	}
	s.lock = nil
	return err
}

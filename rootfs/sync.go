package rootfs

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strings"
)

// SyncOptions say what a SyncBack may write.
type SyncOptions struct {
	// Only limits the sync to these project-relative paths and everything below them
	// ("node_modules", "package.json"). Empty = everything. Changes elsewhere are refused
	// and listed, but do not stop the allowed ones.
	Only []string
	// AllowGit lets changes under a ".git" dir through. Naming a .git path in Only does too.
	AllowGit bool
	// OwnerUID and OwnerGID own every synced entry; -1 = the project dir's owner.
	OwnerUID, OwnerGID int
	// Validate, when set, is a further check of the changes that passed the generic
	// rules above (allowed), made before anything is applied: every refusal it returns
	// stops the sync (nothing is applied). all is every change of the run, refused ones
	// included, for context (a file the run wrote where it is not synced is still not
	// on the host). The caller knows what the outputs mean (a package manager's bin
	// links); SyncBack does not.
	Validate func(allowed, all []Change) []RefusedChange
	// Unchanged, keyed by project-relative path, says of a file the run rewrote
	// whether its content (run) says nothing the host's (host) does not — a
	// manager's state file that differs only in when it was written. Such a file
	// is left as the host has it and not counted (syncunchanged.go).
	Unchanged map[string]func(run, host []byte) bool
	// LinksOut are directories outside the project (absolute, symlinks resolved)
	// that a synced symlink may name exactly: a local dependency the steps saw
	// read-only (npm install ../lib links node_modules/lib to ../../lib). Any other
	// symlink leaving the project is refused.
	LinksOut []string
}

// RefusedChange is a change that was not synced, and why. (managers.Refusal is
// another thing: a command line phylum-box will not run.)
type RefusedChange struct {
	Path   string
	Reason string
	// OutsideOnly: refused only because SyncOptions.Only does not cover it. Such
	// refusals do not stop the sync.
	OutsideOnly bool
}

// String is the refusal for printing, with control characters in names escaped
// (Printable).
func (r RefusedChange) String() string { return Printable(r.Path + ": " + r.Reason) }

// SyncReport says what SyncBack did.
type SyncReport struct {
	Applied []Change
	Refused []RefusedChange
	// Stopped: a refusal other than "outside Only" (or a conflict found while applying)
	// stopped the sync; nothing was applied and the host tree is as it was.
	Stopped bool
}

// ErrRefused is returned (wrapped) when SyncBack stopped because of a refused change; the
// report lists them. The CLI maps it to exit code 4.
var ErrRefused = errors.New("the run made changes that may not be synced back")

// SyncBack applies the run's change set to the host project, as one transaction:
//
//  1. Every change is validated first (by the rules below, then by o.Validate). If any
//     is refused for a reason other than lying outside Only, nothing is applied
//     (Stopped, ErrRefused). Refusals outside Only are listed and the rest is applied.
//  2. Changes are applied in path order through file descriptors: every parent dir is
//     opened below the project root with openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS), so
//     no symlink — planted on the host or made by the run — is ever followed, and every
//     write is a *at call on the final name (rename, mkdir, symlink, unlink), which never
//     follows a final symlink either. Host entries that are replaced or deleted are first
//     renamed to a backup name in the same dir; files are moved (renamed) from the
//     upper/staging dir when it shares the project's file system, else copied to a
//     temporary name beside the target and renamed.
//  3. On any error, everything applied so far is undone in reverse order (backups renamed
//     back); on success the backups are removed.
//
// Refused for good: device nodes, fifos, sockets, setuid/setgid/sticky bits (refused, not
// stripped: a build has no business making them), symlinks whose target is absolute or
// climbs out of the project, ".git" paths unless allowed, hard links to inodes outside the
// run's tree, overlay redirects/metacopy, host entries that changed type during the run.
func (s *Scratch) SyncBack(o SyncOptions) (*SyncReport, error) {
	cs, err := s.Changes()
	if err != nil {
		return nil, err
	}
	return s.apply(cs, o)
}

func (s *Scratch) apply(cs *ChangeSet, o SyncOptions) (*SyncReport, error) {
	s.listed = nil // the sync moves entries out of the scratch
	only, err := cleanOnly(o.Only)
	if err != nil {
		return nil, err
	}
	rep := &SyncReport{}
	cs.project, cs.linksOut = s.project, o.LinksOut // synclinksout.go
	allowed, refused := validate(cs, only, o.AllowGit)
	if o.Validate != nil {
		for _, r := range o.Validate(allowed, cs.Changes) {
			r.OutsideOnly = false
			refused = append(refused, r)
		}
	}
	rep.Refused = refused
	for _, r := range refused {
		if !r.OutsideOnly {
			rep.Stopped = true
			return rep, fmt.Errorf("%w: %d refused (first: %s)", ErrRefused, countStop(refused), firstStop(refused))
		}
	}
	allowed = s.dropUnchanged(allowed, o.Unchanged)
	if len(allowed) == 0 {
		return rep, nil
	}
	a, err := newApplier(s.project, s.sourceDir(), filepath.Join(s.dir, "journal"), o)
	if err != nil {
		return nil, err
	}
	a.started = s.started
	defer a.close()
	refusedUnder := map[string]bool{} // dirs with a refused entry below them
	for _, r := range refused {
		for d := path.Dir(r.Path); d != "."; d = path.Dir(d) {
			refusedUnder[d] = true
		}
	}
	for i := 0; i < len(allowed); i++ {
		c := allowed[i]
		n := 0 // changes below c applied together with it
		if c.Type == TypeDir && (c.Kind == Added || c.Opaque || c.Prev != TypeDir) &&
			!cs.skipped[c.Path] && !refusedUnder[c.Path] {
			for n = 0; i+n+1 < len(allowed) && strings.HasPrefix(allowed[i+n+1].Path, c.Path+"/"); n++ {
			}
			err = a.moveTree(allowed[i : i+n+1])
			if errors.Is(err, errNoMove) {
				n, err = 0, a.applyOne(c)
			}
		} else {
			err = a.applyOne(c)
		}
		if err != nil {
			rep.Applied = nil
			rbErr := a.rollback()
			var conflict *conflictError
			if errors.As(err, &conflict) {
				rep.Refused = append(rep.Refused, RefusedChange{Path: c.Path, Reason: conflict.reason})
				rep.Stopped = true
				return rep, errors.Join(fmt.Errorf("%w: %s: %s; nothing was synced", ErrRefused, Printable(c.Path), conflict.reason), rbErr)
			}
			rep.Stopped = true
			return rep, errors.Join(fmt.Errorf("sync back %s: %w; nothing was synced", Printable(c.Path), err), rbErr)
		}
		rep.Applied = append(rep.Applied, allowed[i:i+n+1]...)
		i += n
	}
	if err := a.commit(); err != nil {
		return rep, fmt.Errorf("sync back: %w", err)
	}
	return rep, nil
}

func countStop(rs []RefusedChange) int {
	n := 0
	for _, r := range rs {
		if !r.OutsideOnly {
			n++
		}
	}
	return n
}

func firstStop(rs []RefusedChange) string {
	for _, r := range rs {
		if !r.OutsideOnly {
			return r.String()
		}
	}
	return ""
}

package rootfs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ProjectLock is a project's lock held before, or instead of, a scratch: a run that
// may find it has nothing to do (issue 12) reads the project under it and makes no
// scratch dir, no overlay dirs and no idmap probe or walk of the tree. A scratch
// made with ScratchOptions.Held takes it over.
//
// Scratch left by a killed run is recovered and removed when the lock is taken, so
// what is read under it is never a sync back cut short.
type ProjectLock struct {
	lock     *projectLock
	project  string
	stateDir string
}

// LockProject checks the project path as NewScratch does, takes its lock (waiting
// while another run holds it, until ctx is done) and removes scratch left by killed
// runs. Release it, or hand it to NewScratch.
func LockProject(ctx context.Context, o ScratchOptions) (*ProjectLock, error) {
	if !filepath.IsAbs(o.Project) || filepath.Clean(o.Project) != o.Project {
		return nil, fmt.Errorf("project path %q must be absolute and clean", o.Project)
	}
	if real, err := filepath.EvalSymlinks(o.Project); err != nil {
		return nil, fmt.Errorf("project dir: %w", err)
	} else if real != o.Project {
		return nil, fmt.Errorf("project path %s goes through a symlink (it is %s): pass the resolved path", o.Project, real)
	}
	pfi, err := os.Lstat(o.Project)
	if err != nil {
		return nil, fmt.Errorf("project dir: %w", err)
	}
	if !pfi.IsDir() {
		return nil, fmt.Errorf("project %s is not a directory", o.Project)
	}
	stateDir := o.StateDir
	if stateDir == "" {
		if stateDir, err = defaultStateDir(); err != nil {
			return nil, err
		}
	}
	stateDir = filepath.Clean(stateDir)
	if within(o.Project, stateDir) {
		return nil, fmt.Errorf("scratch state dir %s is inside the project %s, where the container would see it: choose another", stateDir, o.Project)
	}
	if err := ensureStateDir(stateDir); err != nil {
		return nil, err
	}
	lock, prev, err := acquireProjectLock(ctx, stateDir, o.Project, o.OnWait)
	if err != nil {
		return nil, err
	}
	// Both possible roots: an earlier run may have used the other one.
	if err := cleanStale(stateDir, lock.key, prev, o.Project, uniq(stateDir, siblingRoot(o.Project))); err != nil {
		_ = lock.release()
		return nil, fmt.Errorf("remove scratch left by an earlier run: %w", err)
	}
	// The holder's pid for a waiter; no scratch dir yet (nothing to clean if this
	// run is killed now).
	if err := lock.record(""); err != nil {
		_ = lock.release()
		return nil, err
	}
	return &ProjectLock{lock: lock, project: o.Project, stateDir: stateDir}, nil
}

// ReadFile reads file rel of the project as a run's first container would see it
// (see Scratch.ReadFile): beneath the project, no symlink followed on the way or at
// the end, at most maxViewFile bytes.
func (l *ProjectLock) ReadFile(rel string) ([]byte, error) {
	if l == nil || l.lock == nil {
		return nil, errors.New("the project lock is not held")
	}
	rel, err := viewRel(rel)
	if err != nil {
		return nil, err
	}
	return readBeneath(l.project, rel)
}

// Release drops the lock, unless a scratch took it over (then Scratch.Close does).
func (l *ProjectLock) Release() error {
	if l == nil || l.lock == nil {
		return nil
	}
	err := l.lock.release()
	l.lock = nil
	return err
}

// take hands the held lock to a scratch of the same project and state dir.
func (l *ProjectLock) take(project, stateDir string) (*projectLock, error) {
	if l.lock == nil {
		return nil, errors.New("the project lock was released or taken already")
	}
	if l.project != project || l.stateDir != stateDir {
		return nil, fmt.Errorf("the lock held is %s's in %s, not %s's in %s", l.project, l.stateDir, project, stateDir)
	}
	lock := l.lock
	l.lock = nil
	return lock, nil
}

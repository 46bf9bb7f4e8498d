package rootfs

import (
	"fmt"
	"os"
	"path/filepath"
)

// Discard throws away every change the session's containers have made to the
// project view so far: the next container sees the project as it was. A step that
// ran package code (pip's resolve builds sdist metadata, and setuptools writes
// src/*.egg-info while doing so) may write freely, and none of it reaches a later
// step. Call it only between containers.
//
// An overlay gets a fresh upper and work dir (the old ones are renamed aside and
// removed with the scratch dir); a staging copy is made again.
func (s *Scratch) Discard() error {
	if s.broken != nil {
		return s.broken
	}
	s.listed = nil
	aside, err := os.MkdirTemp(s.dir, "discarded-")
	if err != nil {
		return fmt.Errorf("discarding the step's changes: %w", err)
	}
	if s.mode == ModeOverlay {
		if err := s.freshUpper(aside); err != nil {
			// Half-swapped: no later container or sync may use this view.
			s.broken = fmt.Errorf("discarding the step's changes: %w", err)
			return s.broken
		}
		return nil
	}
	if err := os.Rename(s.stagingDir(), filepath.Join(aside, "staging")); err != nil {
		return fmt.Errorf("discarding the step's changes: %w", err)
	}
	snap, err := stageCopy(s.project, s.stagingDir(), s.rootUID, s.rootGID)
	if err != nil {
		s.broken = fmt.Errorf("make the staging copy of %s again: %w", s.project, err)
		_ = os.RemoveAll(s.stagingDir())
		return s.broken
	}
	s.snap = snap
	return nil
}

// freshUpper renames the overlay's upper and work dirs into aside and makes new
// empty ones. The new upper root takes the project's permissions, as NewScratch
// gave them: the old one has the step's (a chmod of the project root lands on it),
// which must not reach the next container either.
func (s *Scratch) freshUpper(aside string) error {
	pst, err := os.Lstat(s.project)
	if err != nil {
		return err
	}
	for _, d := range []struct {
		path string
		perm os.FileMode
	}{{s.upperDir(), pst.Mode().Perm()}, {s.workDir(), 0o700}} {
		if err := os.Rename(d.path, filepath.Join(aside, filepath.Base(d.path))); err != nil {
			return err
		}
		if err := os.Mkdir(d.path, 0o755); err != nil {
			return err
		}
		if err := os.Lchown(d.path, s.rootUID, s.rootGID); err != nil {
			return err
		}
		if err := os.Chmod(d.path, d.perm); err != nil {
			return err
		}
	}
	return nil
}

// Package testutil holds helpers the tests of packages that start containers
// share: their TestMain (ContainerMain), projects a container's mapped root can
// reach, and tree snapshots to prove a project was left byte-identical. Only
// tests import it.
package testutil

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// NeedRootContainers skips a test that starts containers as root, saying why:
// with -short, or when not root (rootless runs are covered by integration/).
func NeedRootContainers(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts containers; skipped with -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("these tests start containers as root (the CI case); rootless runs are covered by integration/")
	}
}

// NewProject makes a project dir holding files (relative path → content) that the
// container's unprivileged mapped root can reach: t.TempDir and its parent are
// 0700, so both are opened to 0711.
func NewProject(t testing.TB, files map[string]string) string {
	t.Helper()
	base := t.TempDir()
	for _, p := range []string{filepath.Dir(base), base} {
		if err := os.Chmod(p, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	proj := filepath.Join(base, "proj")
	if err := os.Mkdir(proj, 0o755); err != nil {
		t.Fatal(err)
	}
	for rel, content := range files {
		p := filepath.Join(proj, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return proj
}

// TreeHash describes every entry below dir: type and permissions, and the content's
// hash or the symlink's target.
func TreeHash(t testing.TB, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		desc := fi.Mode().String()
		switch {
		case fi.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			desc += fmt.Sprintf(" %x", sha256.Sum256(data))
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			desc += " -> " + target
		}
		m[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

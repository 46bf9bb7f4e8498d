package integration

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestSyncHardLinkAcrossOutputsRefused: an install script (the build step, package
// code) hard-links the project's package.json and package-lock.json into its own
// dir. Both names are outputs, so before the fix the sync made the host's manifest
// and lockfile one file with node_modules/pbox-hardlink/pj and pl, and every later
// phylum-box npm run refused the hard-linked package.json (exit 2). Now the sync
// stops (exit 4) naming the link, and the project is as it was. Its twin links two
// files of its own dir: installed, the link kept, package.json a plain file.
func TestSyncHardLinkAcrossOutputsRefused(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		tgz := packFixture(t, b, "hardlink", map[string]any{"pairs": [][]string{{"../../package.json", "pj"}, {"../../package-lock.json", "pl"}}})
		before := projectState(t, b.Project)
		r := b.tool("", "npm", "install", tgz)
		wantCode(t, r, 4, "an install script hard-linking package.json into its package")
		wantStderr(t, r, "package.json: hard link to node_modules/pbox-hardlink/pj")
		assertSameTree(t, before, projectState(t, b.Project), "a refused cross-output hard link")
		wantLinks(t, filepath.Join(b.Project, "package.json"), 1)

		b2 := newPMBox(t, m)
		tgz = packFixture(t, b2, "hardlink", map[string]any{"pairs": [][]string{{"own.txt", "own-link.txt"}}})
		r = b2.tool("", "npm", "install", tgz)
		wantCode(t, r, 0, "an install script hard-linking two files of its own package")
		wantLinks(t, filepath.Join(b2.Project, "node_modules", "pbox-hardlink", "own-link.txt"), 2)
		wantLinks(t, filepath.Join(b2.Project, "package.json"), 1)
	})
}

func wantLinks(t *testing.T, p string, n uint64) {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Sys().(*syscall.Stat_t).Nlink; got != n {
		t.Errorf("%s has %d hard links, want %d", p, got, n)
	}
}

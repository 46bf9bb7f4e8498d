package install

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/phylum-box/phylum-box/managers"
	"github.com/phylum-box/phylum-box/rootfs"
)

func TestGitHookDirs(t *testing.T) {
	root, home := t.TempDir(), t.TempDir()
	writeTestFile(t, filepath.Join(root, ".git", "config"), "[core]\n\trepositoryformatversion = 0\n\thooksPath = .githooks # team hooks\n[remote \"origin\"]\n\thooksPath = not-core\n")
	writeTestFile(t, filepath.Join(home, ".gitconfig"), "[Core]\n  HooksPath = \""+filepath.Join(root, "tools", "hooks")+"\"\n[core]\n\thooksPath = /etc/git-hooks\n")
	got := gitHookDirs(root, home)
	want := []string{".husky", ".githooks", "tools/hooks"}
	if !slices.Equal(got, want) {
		t.Errorf("hook dirs %q, want %q", got, want)
	}
	// A .git/config that is a link out of the project is not read.
	other := t.TempDir()
	writeTestFile(t, filepath.Join(other, "config"), "[core]\n\thooksPath = src\n")
	root2 := t.TempDir()
	if err := os.Symlink(other, filepath.Join(root2, ".git")); err != nil {
		t.Fatal(err)
	}
	if got := gitHookDirs(root2, t.TempDir()); !slices.Equal(got, []string{".husky"}) {
		t.Errorf("through a link out: %q", got)
	}
}

// A write-back run may not add a hook where git runs them; the same file
// elsewhere is synced.
func TestWriteBackRefusesHookDirs(t *testing.T) {
	changes := []rootfs.Change{
		{Path: ".githooks", Kind: rootfs.Added, Type: rootfs.TypeDir},
		{Path: ".githooks/pre-commit", Kind: rootfs.Added, Type: rootfs.TypeRegular},
		{Path: ".husky/pre-push", Kind: rootfs.Added, Type: rootfs.TypeRegular},
		{Path: "src/githooks.md", Kind: rootfs.Added, Type: rootfs.TypeRegular},
	}
	r := writeBackRules(changes, &managers.WriteBack{Scaffold: true, Installer: "npm"}, []string{".husky", ".githooks"})
	var refused []string
	for _, rf := range r.refused {
		refused = append(refused, rf.Path)
	}
	if want := []string{".githooks", ".githooks/pre-commit", ".husky/pre-push"}; !slices.Equal(refused, want) {
		t.Errorf("refused %q, want %q", refused, want)
	}
}

func writeTestFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

package install

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestTrustedPATHDropsTheProjectsEntries(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	link := filepath.Join(outside, "link-to-bin")
	if err := os.MkdirAll(filepath.Join(root, "node_modules", ".bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "node_modules", ".bin"), link); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"HOME=/home/u",
		"PATH=" + filepath.Join(root, "node_modules", ".bin") + "::./node_modules/.bin:bin:" + link + ":" + filepath.Join(root, "..", filepath.Base(root), "bin") + ":/usr/local/bin:" + outside + ":/usr/bin",
		"PATH=" + root + "/bin", // a step's own PATH after the user's: only project entries
	}
	got := trustedPATH(env, root)
	want := []string{"HOME=/home/u", "PATH=/usr/local/bin:" + outside + ":/usr/bin", "PATH=" + defaultStepPATH}
	if !slices.Equal(got, want) {
		t.Fatalf("trustedPATH =\n%q\nwant\n%q", got, want)
	}
	// The twin: a PATH with nothing of the project is left as it is, a sibling
	// directory whose name starts like the project's included.
	sibling := root + "-tools"
	legit := []string{"PATH=/usr/local/bin:" + sibling + ":/usr/bin"}
	if got := trustedPATH(legit, root); !slices.Equal(got, legit) {
		t.Fatalf("trustedPATH(%q) = %q, want it unchanged", legit, got)
	}
}

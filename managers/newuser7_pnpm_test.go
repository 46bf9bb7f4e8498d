package managers

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// The names a project's node_modules/.modules.yaml gives the build after an
// install from the lockfile (pnpmIgnoredBefore): package names or nothing.
func TestNewuser7PnpmDepPathNames(t *testing.T) {
	got, ok := pnpmDepPathNames([]string{"esbuild@0.28.2", "@prisma/engines@7.1.0(typescript@5.9.3)", "esbuild@0.27.0"})
	if !ok || !slices.Equal(got, []string{"esbuild", "@prisma/engines"}) {
		t.Errorf("got %v %v", got, ok)
	}
	for _, bad := range []string{"--config.ignore-scripts=false@1", "a b@1", "esbuild", "@1.0.0", "x@1\n", "../x@1", "-x@1"} {
		if names, ok := pnpmDepPathNames([]string{"esbuild@1.0.0", bad}); ok {
			t.Errorf("%q was taken as a package: %v", bad, names)
		}
	}
}

func TestNewuser7PnpmIgnoredBefore(t *testing.T) {
	root := t.TempDir()
	if names, why := pnpmIgnoredBefore(root); names != nil || why != "" {
		t.Errorf("no node_modules: %v %q", names, why)
	}
	write := func(s string) {
		if err := os.MkdirAll(filepath.Join(root, "node_modules"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, pnpmModulesFile), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(`{"ignoredBuilds": [], "pendingBuilds": []}`)
	if names, why := pnpmIgnoredBefore(root); names != nil || why != "" {
		t.Errorf("nothing left out: %v %q", names, why)
	}
	write(`{"ignoredBuilds": ["esbuild@0.28.2"]}`)
	if names, why := pnpmIgnoredBefore(root); !slices.Equal(names, []string{"esbuild"}) || why == "" {
		t.Errorf("esbuild left out: %v %q", names, why)
	}
	write(`{"ignoredBuilds": ["--unsafe-perm@1"]}`)
	if names, why := pnpmIgnoredBefore(root); names != nil || why == "" {
		t.Errorf("a flag for a name: %v %q (want the whole tree)", names, why)
	}
	// The file is read without following a link out of the project.
	if err := os.Remove(filepath.Join(root, pnpmModulesFile)); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "m.json")
	if err := os.WriteFile(outside, []byte(`{"ignoredBuilds": ["esbuild@1.0.0"]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, pnpmModulesFile)); err != nil {
		t.Fatal(err)
	}
	if names, _ := pnpmIgnoredBefore(root); names != nil {
		t.Errorf("read through a symbolic link: %v", names)
	}
}

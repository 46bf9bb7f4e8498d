package managers

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCargoLockMisses(t *testing.T) {
	lock := "version = 3\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\"serde\"]\n\n[[package]]\nname = \"serde\"\nversion = \"1.0.0\"\n\n[[package]]\nname = \"cc\"\nversion = \"1.0.0\"\n"
	head := "[package]\nname = \"app\"\nversion = \"0.1.0\"\n\n"
	for _, tc := range []struct{ name, manifest, lock, want string }{
		{"all locked", head + "[dependencies]\nserde = \"1\"\n[build-dependencies]\ncc = \"1\"\n", lock, ""},
		{"a dependency added", head + "[dependencies]\nserde = \"1\"\nrand = \"0.8\"\n", lock, "rand"},
		{"a renamed one added", head + "[dependencies]\nserde = \"1\"\nr = { package = \"rand\", version = \"0.8\" }\n", lock, "rand"},
		{"a renamed one locked", head + "[dependencies]\ns = { package = \"serde\", version = \"1\" }\n", lock, ""},
		{"a dev-dependency added", head + "[dev-dependencies]\nproptest = \"1\"\n", lock, "proptest"},
		{"a target dependency added", head + "[target.'cfg(unix)'.dependencies]\nlibc = \"0.2\"\n", lock, "libc"},
		{"from the workspace", head + "[dependencies]\ntokio = { workspace = true }\n", lock, ""},
		{"a manifest that does not parse", head + "[dependencies\n", lock, ""},
		{"no lockfile", head + "[dependencies]\nrand = \"0.8\"\n", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "Cargo.toml"), []byte(tc.manifest), 0o644); err != nil {
				t.Fatal(err)
			}
			if tc.lock != "" {
				if err := os.WriteFile(filepath.Join(dir, "Cargo.lock"), []byte(tc.lock), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if got := cargoLockMisses(dir); got != tc.want {
				t.Errorf("cargoLockMisses = %q, want %q", got, tc.want)
			}
		})
	}
	// A lockfile that is a symbolic link is not read.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Cargo.toml"), []byte(head+"[dependencies]\nrand = \"0.8\"\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "real.lock"), []byte(lock), 0o644)
	os.Symlink("real.lock", filepath.Join(dir, "Cargo.lock"))
	if got := cargoLockMisses(dir); got != "" {
		t.Errorf("through a symlinked Cargo.lock: %q", got)
	}
}

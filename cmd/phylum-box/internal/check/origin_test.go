package check

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/phylum-box/phylum-box/precheck/lockfile"
)

// check reads the registries a lockfile's tarball URLs must be on from the npm
// configuration of the lockfile's directory.
func TestCheckParseOptionsRegistries(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	t.Setenv("npm_config_registry", "")
	dir := t.TempDir()
	lock := filepath.Join(dir, "package-lock.json")
	data := `{"lockfileVersion": 3, "packages": {"": {"name": "app"},
  "node_modules/is-number": {"version": "7.0.0", "resolved": "https://npm.corp.example/is-number/-/is-number-7.0.0.tgz"}}}`
	if err := os.WriteFile(lock, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	mismatch := func() string {
		t.Helper()
		pkgs, err := lockfile.ParseWith(lock, checkParseOptions(lock))
		if err != nil || len(pkgs) != 1 {
			t.Fatalf("%v %v", pkgs, err)
		}
		return pkgs[0].Mismatch
	}
	if mismatch() == "" {
		t.Error("a tarball on a registry nobody configured was accepted")
	}
	if err := os.WriteFile(filepath.Join(dir, ".npmrc"), []byte("registry=https://npm.corp.example/\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if m := mismatch(); m != "" {
		t.Errorf("the configured registry's tarball: %s", m)
	}
}

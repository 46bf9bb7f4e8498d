package install

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/phylum-box/phylum-box/managers"
	"github.com/phylum-box/phylum-box/precheck"
)

// crateCache writes an unpacked crate into home's registry/src, its .cargo-ok
// marker dated at.
func crateCache(t *testing.T, home, dir, cargoToml string, at time.Time) {
	t.Helper()
	d := filepath.Join(home, "registry", "src", "index.crates.io-1949cf8c6b5b557f", dir)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	if cargoToml != "" {
		if err := os.WriteFile(filepath.Join(d, "Cargo.toml"), []byte(cargoToml), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ok := filepath.Join(d, ".cargo-ok")
	if err := os.WriteFile(ok, []byte(`{"v":1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(ok, at, at); err != nil {
		t.Fatal(err)
	}
}

func crateToml(name, version string) string {
	return "[package]\nedition = \"2021\"\nname = \"" + name + "\"\nversion = \"" + version + "\"\n\n[dependencies]\n"
}

func TestInstalledCrates(t *testing.T) {
	since := time.Now().Add(-time.Minute)
	old, fresh := since.Add(-24*time.Hour), since.Add(time.Second)
	home := t.TempDir()
	crateCache(t, home, "serde-1.0.200", crateToml("serde", "1.0.200"), old)                       // locked, from an earlier run
	crateCache(t, home, "pbox-greet-0.1.0-beta.1", crateToml("pbox-greet", "0.1.0-beta.1"), fresh) // locked, fetched now
	crateCache(t, home, "other-project-2.0.0", crateToml("other-project", "2.0.0"), old)           // another project's
	crateCache(t, home, "stowaway-1.0.0", crateToml("stowaway", "1.0.0"), fresh)                   // fetched now, not locked
	crateCache(t, home, "pbox_dep-1.0.0", crateToml("evil", "6.6.6"), old)                         // locked, says another crate
	crateCache(t, home, "nomanifest-1.0.0", "", fresh)
	crateCache(t, home, "workspace-inherited-1.0.0", "[package]\nname = \"workspace-inherited\"\nversion.workspace = true\n", fresh)
	if err := os.MkdirAll(filepath.Join(home, "registry", "src", "index.crates.io-1949cf8c6b5b557f", "not a crate"), 0o755); err != nil {
		t.Fatal(err)
	}
	checked := newCheckedIndex(packageSet([]precheck.Package{
		{Ecosystem: precheck.CratesIO, Name: "serde", Version: "1.0.200"},
		{Ecosystem: precheck.CratesIO, Name: "pbox-greet", Version: "0.1.0-beta.1"},
		{Ecosystem: precheck.CratesIO, Name: "pbox-dep", Version: "1.0.0"},
	}))
	pkgs, skipped, err := installedCrates(home, since, checked.has)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range pkgs {
		if p.Ecosystem != precheck.CratesIO || !strings.HasPrefix(p.Source, filepath.Join(home, "registry", "src")) {
			t.Errorf("%+v", p)
		}
		got = append(got, p.Name+"@"+p.Version)
	}
	slices.Sort(got)
	want := []string{"evil@6.6.6", "nomanifest@1.0.0", "pbox-greet@0.1.0-beta.1", "pbox_dep@1.0.0", "serde@1.0.200", "stowaway@1.0.0", "workspace-inherited@1.0.0"}
	if !slices.Equal(got, want) {
		t.Errorf("crates:\n got %q\nwant %q", got, want)
	}
	if len(skipped) != 2 {
		t.Errorf("skipped: %q", skipped)
	}
	extra := notChecked(pkgs, packageSet([]precheck.Package{
		{Ecosystem: precheck.CratesIO, Name: "serde", Version: "1.0.200"},
		{Ecosystem: precheck.CratesIO, Name: "pbox-greet", Version: "0.1.0-beta.1"},
		{Ecosystem: precheck.CratesIO, Name: "pbox-dep", Version: "1.0.0"},
	}))
	var names []string
	for _, p := range extra {
		names = append(names, p.Name+"@"+p.Version)
	}
	slices.Sort(names)
	if want := []string{"evil@6.6.6", "nomanifest@1.0.0", "stowaway@1.0.0", "workspace-inherited@1.0.0"}; !slices.Equal(names, want) {
		t.Errorf("not checked: %q, want %q", names, want)
	}

	// A Cargo.toml that is a symlink is refused; a cache without sources is empty.
	link := t.TempDir()
	crateCache(t, link, "linked-1.0.0", "", fresh)
	d := filepath.Join(link, "registry", "src", "index.crates.io-1949cf8c6b5b557f", "linked-1.0.0")
	if err := os.Symlink("/etc/passwd", filepath.Join(d, "Cargo.toml")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := installedCrates(link, since, checked.has); err == nil || !strings.Contains(err.Error(), "Cargo.toml") {
		t.Errorf("a symlinked Cargo.toml: %v", err)
	}
	if pkgs, _, err := installedCrates(t.TempDir(), since, checked.has); err != nil || len(pkgs) != 0 {
		t.Errorf("an empty cache: %v %v", pkgs, err)
	}
}

func TestCargoHome(t *testing.T) {
	p := &managers.Plan{Sandbox: managers.Sandbox{Caches: []managers.Cache{{Path: "/c/npm", Env: []string{"npm_config_cache=/c/npm"}}, {Path: "/c/cargo", Env: []string{"CARGO_HOME=/c/cargo"}}}}}
	if got := cargoHome(p); got != "/c/cargo" {
		t.Errorf("cargoHome = %q", got)
	}
	if got := cargoHome(&managers.Plan{}); got != "" {
		t.Errorf("no cache: %q", got)
	}
}

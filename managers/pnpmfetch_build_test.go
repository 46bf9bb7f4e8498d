package managers

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestPnpmAddBuildChanged(t *testing.T) {
	tree := map[string]string{
		"package.json": `{"dependencies":{"is-odd":"^3.0.1"}}`,
		"node_modules/.pnpm/is-odd@3.0.1/node_modules/is-odd/package.json":    `{"name":"is-odd"}`,
		"node_modules/.pnpm/esbuild@0.24.2/node_modules/esbuild/package.json": `{"name":"esbuild","scripts":{"postinstall":"node install.js"}}`,
		"node_modules/.pnpm/native@1.0.0/node_modules/native/package.json":    `{"name":"native"}`,
		"node_modules/.pnpm/native@1.0.0/node_modules/native/binding.gyp":     `{}`,
		"node_modules/.pnpm/bad@1.0.0/node_modules/bad/package.json":          `{"name":"--bad","scripts":{"install":"x"}}`,
	}
	read := func(rel string) ([]byte, error) {
		if s, ok := tree[rel]; ok {
			return []byte(s), nil
		}
		return nil, fs.ErrNotExist
	}
	for _, tt := range []struct {
		dirs  []string
		names []string
		ok    bool
	}{
		{[]string{".", "node_modules/.pnpm/is-odd@3.0.1/node_modules/is-odd"}, nil, true},
		{nil, nil, true},
		{[]string{"node_modules/.pnpm/esbuild@0.24.2/node_modules/esbuild", "node_modules/.pnpm/is-odd@3.0.1/node_modules/is-odd"}, []string{"esbuild"}, true},
		{[]string{"node_modules/.pnpm/native@1.0.0/node_modules/native", "node_modules/.pnpm/esbuild@0.24.2/node_modules/esbuild"}, []string{"esbuild", "native"}, true},
		{[]string{"node_modules/.pnpm/bad@1.0.0/node_modules/bad"}, nil, false},
	} {
		names, why, ok := pnpmAddBuildChanged(read, tt.dirs)
		if ok != tt.ok || !slices.Equal(names, tt.names) {
			t.Errorf("%v: names %v, ok %v (%s); want %v, ok %v", tt.dirs, names, ok, why, tt.names, tt.ok)
		}
	}
}

// The resolve wrapper puts the project's previous ignoredBuilds back (less what is
// gone from the virtual store) only after pnpm succeeded and only where the new
// record has none; never through a link.
func TestPnpmIgnoredBuildsScript(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("skipped: node is not installed (hack/install-deps.sh installs it)")
	}
	dir := t.TempDir()
	nm := filepath.Join(dir, "node_modules")
	for _, d := range []string{".pnpm/esbuild@0.24.2", ".pnpm/@img+sharp@0.33.0", ".pnpm/is-odd@3.0.1"} {
		if err := os.MkdirAll(filepath.Join(nm, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	f := filepath.Join(nm, ".modules.yaml")
	const old = `{"injectedDeps": {}, "ignoredBuilds": ["esbuild@0.24.2", "@img/sharp@0.33.0", "gone@1.0.0"], "layoutVersion": 5}`
	const fresh = "{\n  \"injectedDeps\": {},\n  \"layoutVersion\": 5\n}"
	// pnpm run by the wrapper is this shell line: it rewrites the file as pnpm
	// with scripts off does (no ignoredBuilds), then exits with $1.
	run := func(code string) error {
		if err := os.WriteFile(f, []byte(old), 0o644); err != nil {
			t.Fatal(err)
		}
		s := pnpmKeepIgnoredBuilds(&Step{Args: []string{"sh", "-c", `printf '%s' "$0" > "$1"; exit $2`, fresh, f, code}}, dir)
		return exec.Command(s.Args[0], s.Args[1:]...).Run()
	}
	if err := run("1"); err == nil {
		t.Fatal("a failed resolve: the wrapper exited 0")
	}
	if b, _ := os.ReadFile(f); string(b) != fresh {
		t.Fatalf("a failed resolve: the record was touched: %q", b)
	}
	if err := run("0"); err != nil {
		t.Fatal(err)
	}
	want := "{\n  \"injectedDeps\": {},\n  \"ignoredBuilds\": [\n    \"esbuild@0.24.2\",\n    \"@img/sharp@0.33.0\"\n  ],\n  \"layoutVersion\": 5\n}"
	if b, _ := os.ReadFile(f); string(b) != want {
		t.Fatalf("after the resolve:\n%s\nwant:\n%s", b, want)
	}
	// A link is left alone.
	target := filepath.Join(dir, "elsewhere")
	os.Remove(f)
	if err := os.WriteFile(target, []byte(fresh), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, f); err != nil {
		t.Fatal(err)
	}
	s := pnpmKeepIgnoredBuilds(&Step{Args: []string{"true"}}, dir)
	if err := exec.Command(s.Args[0], s.Args[1:]...).Run(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(target); strings.Contains(string(b), "ignoredBuilds") {
		t.Fatalf("wrote through a link: %q", b)
	}
}

// The one run (scripts off) records what it added with scripts as pending builds;
// the build step builds them by name or records them as ignored, so the resolve
// wrapper puts the old list back, as bare pnpm add leaves it.
func TestPnpmIgnoredBuildsScriptPending(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("skipped: node is not installed (hack/install-deps.sh installs it)")
	}
	dir := t.TempDir()
	nm := filepath.Join(dir, "node_modules")
	for _, d := range []string{".pnpm/esbuild@0.24.2", ".pnpm/old@1.0.0"} {
		if err := os.MkdirAll(filepath.Join(nm, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	f := filepath.Join(nm, ".modules.yaml")
	if err := os.WriteFile(f, []byte(`{"pendingBuilds": ["old@1.0.0", "gone@1.0.0"]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	fresh := "{\n  \"layoutVersion\": 5,\n  \"pendingBuilds\": [\n    \"old@1.0.0\",\n    \"esbuild@0.24.2\"\n  ]\n}"
	s := pnpmKeepIgnoredBuilds(&Step{Args: []string{"sh", "-c", `printf '%s' "$0" > "$1"`, fresh, f}}, dir)
	if err := exec.Command(s.Args[0], s.Args[1:]...).Run(); err != nil {
		t.Fatal(err)
	}
	want := "{\n  \"layoutVersion\": 5,\n  \"pendingBuilds\": [\n    \"old@1.0.0\"\n  ]\n}"
	if b, _ := os.ReadFile(f); string(b) != want {
		t.Fatalf("after the resolve:\n%s\nwant:\n%s", b, want)
	}
}

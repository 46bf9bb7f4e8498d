package managers

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestYarnClassicBuildChanged(t *testing.T) {
	tree := map[string]string{
		"package.json":                        `{"dependencies":{"is-odd":"^3.0.1"}}`,
		"node_modules/is-odd/package.json":    `{"name":"is-odd","version":"3.0.1"}`,
		"node_modules/is-number/package.json": `{"name":"is-number","version":"6.0.0"}`,
		"node_modules/esbuild/package.json":   `{"name":"esbuild","scripts":{"postinstall":"node install.js"}}`,
		"node_modules/native/package.json":    `{"name":"native"}`,
		"node_modules/native/binding.gyp":     `{}`,
		"node_modules/nogyp/package.json":     `{"name":"nogyp","gypfile":false}`,
		"node_modules/nogyp/binding.gyp":      `{}`,
		"node_modules/broken/package.json":    `{`,
	}
	read := func(rel string) ([]byte, error) {
		if s, ok := tree[rel]; ok {
			return []byte(s), nil
		}
		return nil, fs.ErrNotExist
	}
	for _, tt := range []struct {
		dirs []string
		ok   bool
	}{
		{[]string{"node_modules/is-odd", "node_modules/is-number"}, true},
		{[]string{"node_modules/nogyp"}, true},
		{nil, true},
		{[]string{"node_modules/is-odd", "node_modules/esbuild"}, false},
		{[]string{"node_modules/native"}, false},
		{[]string{"node_modules/broken"}, false},
	} {
		names, why, ok := yarnClassicBuildChanged(read, tt.dirs)
		if ok != tt.ok || names != nil {
			t.Errorf("%v: names %v, ok %v (%s); want no names, ok %v", tt.dirs, names, ok, why, tt.ok)
		}
	}
	// The project's own install scripts: the whole build, which runs them.
	tree["package.json"] = `{"scripts":{"postinstall":"husky"}}`
	if _, why, ok := yarnClassicBuildChanged(read, []string{"node_modules/is-odd"}); ok {
		t.Errorf("a project postinstall: skipped the build (%s)", why)
	}
}

// The resolve wrapper drops only the ignoreScripts mark, after yarn succeeded, in
// yarn's own format, and never writes through a link.
func TestYarnIntegrityScript(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("skipped: node is not installed (hack/install-deps.sh installs it)")
	}
	dir := t.TempDir()
	f := filepath.Join(dir, ".yarn-integrity")
	const marked = "{\n  \"systemParams\": \"linux-x64-115\",\n  \"flags\": [\n    \"ignoreScripts\"\n  ],\n  \"artifacts\": {}\n}"
	const bare = "{\n  \"systemParams\": \"linux-x64-115\",\n  \"flags\": [],\n  \"artifacts\": {}\n}"
	run := func(cmd ...string) error {
		s := yarnKeepIntegrity(&Step{Args: cmd}, dir)
		s.Args[3] = f // the wrapper's $0: this test's file
		return exec.Command(s.Args[0], s.Args[1:]...).Run()
	}
	if err := os.WriteFile(f, []byte(marked), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run("false"); err == nil {
		t.Fatal("a failed resolve: the wrapper exited 0")
	}
	if b, _ := os.ReadFile(f); string(b) != marked {
		t.Fatalf("a failed resolve changed the file: %q", b)
	}
	if err := run("true"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(f); string(b) != bare {
		t.Fatalf("after the resolve: %q, want what bare yarn writes: %q", b, bare)
	}
	// A link is left alone, and so is what it points to.
	target := filepath.Join(dir, "elsewhere")
	if err := os.WriteFile(target, []byte(marked), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Remove(f)
	if err := os.Symlink(target, f); err != nil {
		t.Fatal(err)
	}
	if err := run("true"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(target); string(b) != marked {
		t.Fatalf("wrote through a link: %q", b)
	}
	if s := yarnKeepIntegrity(&Step{Args: []string{"yarn", "add", "x"}}, dir); s.Name != "yarn add x" {
		t.Errorf("Name %q: the step should show yarn's command line", s.Name)
	}
}

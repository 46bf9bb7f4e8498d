package managers

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

func TestYarnClassicChangedNames(t *testing.T) {
	tree := map[string]string{
		"package.json":                                     `{"dependencies":{"is-odd":"^3.0.1"},"scripts":{"postinstall":"husky"}}`,
		"node_modules/is-odd/package.json":                 `{"name":"is-odd","version":"3.0.1"}`,
		"node_modules/is-number/package.json":              `{"name":"is-number","version":"6.0.0"}`,
		"node_modules/esbuild/package.json":                `{"name":"esbuild","scripts":{"postinstall":"node install.js"}}`,
		"node_modules/a/node_modules/esbuild/package.json": `{"name":"esbuild","scripts":{"postinstall":"node install.js"}}`,
		"node_modules/@s/native/package.json":              `{"name":"@s/native"}`,
		"node_modules/@s/native/binding.gyp":               `{}`,
		"node_modules/nogyp/package.json":                  `{"name":"nogyp","gypfile":false}`,
		"node_modules/nogyp/binding.gyp":                   `{}`,
		"node_modules/broken/package.json":                 `{`,
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
		{[]string{".", "node_modules/is-odd", "node_modules/is-number"}, nil, true},
		// yarn 1 reads no gypfile: a binding.gyp is `node-gyp rebuild` (npm alone
		// honours "gypfile": false).
		{[]string{"node_modules/nogyp"}, []string{"nogyp"}, true},
		{nil, nil, true},
		{[]string{"node_modules/is-odd", "node_modules/esbuild", "node_modules/a/node_modules/esbuild"}, []string{"esbuild"}, true},
		{[]string{"node_modules/@s/native"}, []string{"@s/native"}, true},
		{[]string{"node_modules/broken"}, []string{"broken"}, true},
		{[]string{"vendor/x"}, nil, false},
		{[]string{"node_modules/a/b"}, nil, false},
	} {
		names, why, ok := yarnClassicChangedNames(read, tt.dirs)
		if ok != tt.ok || !slices.Equal(names, tt.names) {
			t.Errorf("%v: names %v, ok %v (%s); want %v, ok %v", tt.dirs, names, ok, why, tt.names, tt.ok)
		}
	}
}

// The build step's script, run with a stand-in for yarn: with names, it takes the
// package.json out of every copy of those packages (and only those), puts the
// ignoreScripts mark back and runs yarn without --force and without the names;
// without names, or with an integrity file that is a link, the whole-tree --force.
func TestYarnChangedBuildScript(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("skipped: node is not installed (hack/install-deps.sh installs it)")
	}
	const bare = "{\n  \"systemParams\": \"linux-x64-115\",\n  \"flags\": [],\n  \"artifacts\": {}\n}"
	const marked = "{\n  \"systemParams\": \"linux-x64-115\",\n  \"flags\": [\n    \"ignoreScripts\"\n  ],\n  \"artifacts\": {}\n}"
	setup := func(t *testing.T) (root, argsFile string) {
		root = t.TempDir()
		for _, d := range []string{"esbuild", "a", "a/node_modules/esbuild", "@s/native", "esbuild-wasm"} {
			mustMkdirAll(t, filepath.Join(root, "node_modules", d))
			mustWrite(t, filepath.Join(root, "node_modules", d, "package.json"), `{}`)
		}
		mustWrite(t, filepath.Join(root, "node_modules", ".yarn-integrity"), bare)
		bin := t.TempDir()
		argsFile = filepath.Join(root, "args")
		mustWrite(t, filepath.Join(bin, "yarn"), "#!/bin/sh\nprintf '%s\\n' \"$@\" > "+argsFile+"\n")
		if err := os.Chmod(filepath.Join(bin, "yarn"), 0o755); err != nil {
			t.Fatal(err)
		}
		t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
		return root, argsFile
	}
	run := func(t *testing.T, root string, names ...string) {
		t.Helper()
		s := yarnChangedBuild([]string{"yarn", "install", "--frozen-lockfile", "--offline"}, nil, root)
		c := exec.Command(s.Args[0], append(s.Args[1:], names...)...)
		c.Dir = root
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
	}
	exists := func(root, d string) bool {
		_, err := os.Lstat(filepath.Join(root, "node_modules", d, "package.json"))
		return err == nil
	}
	t.Run("names", func(t *testing.T) {
		root, args := setup(t)
		run(t, root, "esbuild", "@s/native")
		if b, _ := os.ReadFile(args); string(b) != "install\n--frozen-lockfile\n--offline\n" {
			t.Errorf("yarn ran with %q, want install --frozen-lockfile --offline", b)
		}
		for d, want := range map[string]bool{"esbuild": false, "a/node_modules/esbuild": false, "@s/native": false, "a": true, "esbuild-wasm": true} {
			if exists(root, d) != want {
				t.Errorf("node_modules/%s/package.json there = %v, want %v", d, !want, want)
			}
		}
		if b, _ := os.ReadFile(filepath.Join(root, "node_modules", ".yarn-integrity")); string(b) != marked {
			t.Errorf(".yarn-integrity %q, want the ignoreScripts mark back: %q", b, marked)
		}
	})
	t.Run("no names", func(t *testing.T) {
		root, args := setup(t)
		run(t, root)
		if b, _ := os.ReadFile(args); string(b) != "install\n--frozen-lockfile\n--offline\n--force\n" {
			t.Errorf("yarn ran with %q, want the whole-tree --force", b)
		}
		if !exists(root, "esbuild") {
			t.Error("a package.json was taken away")
		}
	})
	t.Run("integrity a link", func(t *testing.T) {
		root, args := setup(t)
		f := filepath.Join(root, "node_modules", ".yarn-integrity")
		os.Remove(f)
		target := filepath.Join(root, "elsewhere")
		mustWrite(t, target, bare)
		mustSymlink(t, target, f)
		run(t, root, "esbuild")
		if b, _ := os.ReadFile(args); string(b) != "install\n--frozen-lockfile\n--offline\n--force\n" {
			t.Errorf("yarn ran with %q, want the whole-tree --force", b)
		}
		if b, _ := os.ReadFile(target); string(b) != bare {
			t.Errorf("wrote through the link: %q", b)
		}
	})
}

func mustMkdirAll(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
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
	// Other flags stay, in yarn's layout; a file without the mark, or not laid out
	// as yarn writes it, is left as it is.
	for _, tc := range []struct{ in, want string }{
		{"{\n  \"flags\": [\n    \"flat\",\n    \"ignoreScripts\",\n    \"production\"\n  ],\n  \"files\": []\n}", "{\n  \"flags\": [\n    \"flat\",\n    \"production\"\n  ],\n  \"files\": []\n}"},
		{"{\n  \"flags\": [\n    \"flat\",\n    \"ignoreScripts\"\n  ],\n  \"files\": []\n}", "{\n  \"flags\": [\n    \"flat\"\n  ],\n  \"files\": []\n}"},
		{"{\n  \"files\": [],\n  \"flags\": [\n    \"ignoreScripts\"\n  ]\n}", "{\n  \"files\": [],\n  \"flags\": []\n}"},
		{bare, bare},
		{"{\"flags\":[\"ignoreScripts\"]}", "{\"flags\":[\"ignoreScripts\"]}"},
		{"{\n  \"flags\": [\n    \"ignoreScripts\"\n", "{\n  \"flags\": [\n    \"ignoreScripts\"\n"},
	} {
		if err := os.WriteFile(f, []byte(tc.in), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := run("true"); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(f); string(b) != tc.want {
			t.Errorf("%q: got %q, want %q", tc.in, b, tc.want)
		}
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

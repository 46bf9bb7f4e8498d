package root

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/cmdutil"
	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/completion"
	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/shellinit"
	"github.com/phylum-box/phylum-box/managers"
)

func completionScript(t *testing.T, shell string) string {
	t.Helper()
	var b bytes.Buffer
	if err := completion.Write(&b, newTestRoot(), shell); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "phylum-box."+shell)
	if err := os.WriteFile(f, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// testExtras are commands added to the tree for one test.
var testExtras []*cobra.Command

// newTestRoot is the command tree with the test's extra commands.
func newTestRoot() *cobra.Command {
	app, _, _ := cmdutil.TestApp()
	root := NewCmdRoot(&cmdutil.Factory{App: app})
	for _, c := range testExtras {
		root.AddCommand(c)
	}
	return root
}

// withRawCommand adds a package-manager-style command for one test, so the
// hand-over to the manager's completion is covered before real managers exist.
func withRawCommand(t *testing.T, name string) {
	t.Helper()
	if slices.Contains(managers.Names(), name) {
		return
	}
	addTestCommand(t, &cobra.Command{Use: name + " ARGS...", Short: "test manager", DisableFlagParsing: true,
		Annotations: map[string]string{cmdutil.RawAnnotation: "manager"}, RunE: func(*cobra.Command, []string) error { return nil }})
}

func addTestCommand(t *testing.T, c *cobra.Command) {
	testExtras = append(testExtras, c)
	t.Cleanup(func() { testExtras = slices.DeleteFunc(testExtras, func(x *cobra.Command) bool { return x == c }) })
}

// withFlagCommand adds a command with a --format flag whose choices are declared
// with flagChoices, for one test.
func withFlagCommand(t *testing.T) {
	t.Helper()
	c := &cobra.Command{Use: "choicetest", Short: "test command", RunE: func(*cobra.Command, []string) error { return nil }}
	c.Flags().String("format", "text", "output format")
	cmdutil.FlagChoices(c.Flags(), "format", "text", "json", "sarif")
	addTestCommand(t, c)
}

func TestFlagChoices(t *testing.T) {
	withFlagCommand(t)
	for _, c := range cmdutil.CommandInfos(newTestRoot(), false) {
		if c.Name != "choicetest" {
			continue
		}
		for _, f := range c.Flags {
			if f.Name == "format" && !slices.Equal(f.Values, []string{"text", "json", "sarif"}) {
				t.Errorf("--format values %q", f.Values)
			}
		}
	}
	if _, err := exec.LookPath("bash"); err == nil {
		got := bashComplete(t, completionScript(t, "bash"), "phylum-box", "choicetest", "--format", "")
		if !slices.Equal(got, []string{"text", "json", "sarif"}) {
			t.Errorf("bash: --format values %q", got)
		}
	}
	if _, err := exec.LookPath("fish"); err == nil {
		got := fishComplete(t, completionScript(t, "fish"), "phylum-box choicetest --format ")
		if !slices.Contains(got, "sarif") {
			t.Errorf("fish: --format values %q", got)
		}
	}
	if _, err := exec.LookPath("zsh"); err == nil {
		got := zshComplete(t, completionScript(t, "zsh"), "phylum-box choicetest --format ")
		if !slices.Contains(got, "sarif") || !slices.Contains(got, "json") {
			t.Errorf("zsh: --format values %q", got)
		}
	}
}

func requireShell(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s is not installed (hack/install-deps.d/shells.sh installs it)", name)
	}
}

func TestCompletionScriptsParse(t *testing.T) {
	withRawCommand(t, "npm")
	for _, sc := range []struct{ shell, bin string }{{"bash", "bash"}, {"zsh", "zsh"}, {"fish", "fish"}} {
		t.Run(sc.shell, func(t *testing.T) {
			requireShell(t, sc.bin)
			f := completionScript(t, sc.shell)
			args := []string{"-n", f}
			if sc.shell == "fish" {
				args = []string{"--no-execute", f}
			}
			if out, err := exec.Command(sc.bin, args...).CombinedOutput(); err != nil {
				b, _ := os.ReadFile(f)
				t.Fatalf("%s rejects its completion script: %v\n%s\n%s", sc.bin, err, out, b)
			}
		})
	}
}

// bashComplete runs the completion function in real bash for a command line whose
// last word is being completed, and returns COMPREPLY.
func bashComplete(t *testing.T, script string, words ...string) []string {
	t.Helper()
	var q []string
	for _, w := range words {
		q = append(q, cmdutil.ShQuote(w))
	}
	prog := "source " + cmdutil.ShQuote(script) + "\nCOMP_WORDS=(" + strings.Join(q, " ") + ")\nCOMP_CWORD=" +
		strconv.Itoa(len(words)-1) + "\n_phylum_box\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
	out, err := exec.Command("bash", "--norc", "--noprofile", "-c", prog).CombinedOutput()
	if err != nil {
		t.Fatalf("bash completion for %q: %v\n%s", words, err, out)
	}
	return strings.Fields(string(out))
}

func TestBashCompletion(t *testing.T) {
	requireShell(t, "bash")
	withRawCommand(t, "npm")
	script := completionScript(t, "bash")
	for _, tc := range []struct {
		words []string
		want  []string // must all be offered
		not   []string // must not be offered
	}{
		{[]string{"phylum-box", "sh"}, []string{"shell-init"}, []string{"completion"}},
		{[]string{"phylum-box", ""}, []string{"completion", "shell-init", "npm"}, nil},
		{[]string{"phylum-box", "--"}, []string{"--ci", "--config", "--verbose", "--version"}, []string{"--all"}},
		{[]string{"phylum-box", "shell-init", ""}, shellinit.SupportedShells, nil},
		{[]string{"phylum-box", "shell-init", "--a"}, []string{"--all"}, nil},
		{[]string{"phylum-box", "shell-init", "--"}, []string{"--all", "--help", "--ci"}, nil},
		{[]string{"phylum-box", "--config", "x.yaml", "-v", "completion", "f"}, []string{"fish"}, []string{"bash"}},
		// A global flag's value is not the command.
		{[]string{"phylum-box", "--config", "sh"}, nil, []string{"shell-init"}},
	} {
		got := bashComplete(t, script, tc.words...)
		for _, w := range tc.want {
			if !slices.Contains(got, w) {
				t.Errorf("%q: completions %q lack %q", tc.words, got, w)
			}
		}
		for _, w := range tc.not {
			if slices.Contains(got, w) {
				t.Errorf("%q: completions %q must not offer %q", tc.words, got, w)
			}
		}
	}
}

// TestBashCompletionCoversRegistry: every visible command and every one of its
// flags completes, whatever commands other files register.
func TestBashCompletionCoversRegistry(t *testing.T) {
	requireShell(t, "bash")
	script := completionScript(t, "bash")
	for _, c := range cmdutil.CommandInfos(newTestRoot(), false) {
		if got := bashComplete(t, script, "phylum-box", c.Name); !slices.Contains(got, c.Name) {
			t.Errorf("command %s does not complete: %q", c.Name, got)
		}
		for _, f := range c.Flags {
			if got := bashComplete(t, script, "phylum-box", c.Name, "--"+f.Name); !slices.Contains(got, "--"+f.Name) {
				t.Errorf("%s --%s does not complete: %q", c.Name, f.Name, got)
			}
			if len(f.Values) > 0 {
				got := bashComplete(t, script, "phylum-box", c.Name, "--"+f.Name, "")
				if !slices.Equal(got, f.Values) {
					t.Errorf("%s --%s values: %q, want %q", c.Name, f.Name, got, f.Values)
				}
			}
		}
	}
}

// fishComplete asks real fish for the completions of line; with raw set, line is a
// fish program run after loading the script instead.
func fishComplete(t *testing.T, script, line string, raw ...bool) []string {
	t.Helper()
	prog := "source " + cmdutil.FishQuote(script) + "; complete -C " + cmdutil.FishQuote(line)
	if len(raw) > 0 && raw[0] {
		prog = "source " + cmdutil.FishQuote(script) + "; " + line
	}
	out, err := exec.Command("fish", "--no-config", "-c", prog).CombinedOutput()
	if err != nil {
		t.Fatalf("fish completion for %q: %v\n%s", line, err, out)
	}
	var words []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		words = append(words, strings.SplitN(l, "\t", 2)[0])
	}
	return words
}

func TestFishCompletion(t *testing.T) {
	requireShell(t, "fish")
	withRawCommand(t, "npm")
	script := completionScript(t, "fish")
	for _, tc := range []struct {
		line string
		want []string
		not  []string
	}{
		{"phylum-box sh", []string{"shell-init"}, nil},
		{"phylum-box ", []string{"completion", "shell-init", "npm"}, nil},
		{"phylum-box --c", []string{"--ci", "--config"}, nil},
		{"phylum-box shell-init ", shellinit.SupportedShells, []string{"completion"}},
		{"phylum-box shell-init --a", []string{"--all"}, nil},
		{"phylum-box completion z", []string{"zsh"}, nil},
	} {
		got := fishComplete(t, script, tc.line)
		for _, w := range tc.want {
			if !slices.Contains(got, w) {
				t.Errorf("%q: completions %q lack %q", tc.line, got, w)
			}
		}
		for _, w := range tc.not {
			if slices.Contains(got, w) {
				t.Errorf("%q: completions %q must not offer %q", tc.line, got, w)
			}
		}
	}
	// After a package manager, the manager's own completion answers.
	got := fishComplete(t, script, "complete -c npm -x -a from-npm-completion; complete -C 'phylum-box npm '", true)
	if !slices.Contains(got, "from-npm-completion") || slices.Contains(got, "--ci") {
		t.Errorf("phylum-box npm <TAB>: %q, want npm's own completion and no phylum-box flags", got)
	}
}

// TestBashCompletionHandsOverToManager needs bash-completion's _command_offset.
func TestBashCompletionHandsOverToManager(t *testing.T) {
	requireShell(t, "bash")
	const lib = "/usr/share/bash-completion/bash_completion"
	if _, err := os.Stat(lib); err != nil {
		t.Skip("bash-completion is not installed (hack/install-deps.d/shells.sh installs it)")
	}
	withRawCommand(t, "npm")
	script := completionScript(t, "bash")
	prog := "source " + lib + "\nsource " + cmdutil.ShQuote(script) + "\ncomplete -W 'from-npm-completion other' npm\n" +
		"COMP_WORDS=(phylum-box npm fr)\nCOMP_CWORD=2\nCOMP_LINE='phylum-box npm fr'\nCOMP_POINT=${#COMP_LINE}\n" +
		"_phylum_box\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
	out, err := exec.Command("bash", "--norc", "--noprofile", "-c", prog).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "from-npm-completion" {
		t.Fatalf("phylum-box npm fr<TAB>: %v\n%s", err, out)
	}
}

// zshCapture drives an interactive zsh on a pseudo-terminal (zsh/zpty), presses
// Tab after a command line, and prints every candidate the completion system adds,
// so the test sees exactly what a user would be offered.
const zshCapture = `zmodload zsh/zpty
script=$1 line=$2
zpty z zsh -f -i
zpty -w z 'PS1= PROMPT= RPROMPT='
zpty -w z "autoload -U compinit && compinit -u -d $TMPDIR/zcompdump && source ${(q)script}"
zpty -w z 'bindkey "^I" complete-word'
zpty -w z 'zstyle ":completion:*" list-grouped false; zstyle ":completion:*" insert-tab false'
# Report each candidate as it is added; the quotes split the markers so the echo of
# the typed command does not match them.
zpty -w z 'compadd() { if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return; fi; local -a __h; builtin compadd -A __h "$@"; local w; for w in $__h; do print -r -- "CA""ND:$w"; done; builtin compadd "$@" }'
zpty -w z 'comppostfuncs=(__pb_done); __pb_done() { print -r -- "CAND""-END"; exit }'
zpty -w -n z "$line"$'\t'
local out
zpty -r -m z out '*CAND-END*'
print -r -- $out | tr -d '\r' | grep -ao 'CAND:.*' | sed 's/^CAND://'
zpty -d z
`

func zshComplete(t *testing.T, script, line string) []string {
	t.Helper()
	tmp := t.TempDir()
	capture := filepath.Join(tmp, "capture.zsh")
	if err := os.WriteFile(capture, []byte(zshCapture), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "zsh", "-f", capture, script, line)
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp, "HOME="+tmp, "ZDOTDIR="+tmp)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("zsh completion for %q: %v\n%s", line, err, out)
	}
	return strings.Fields(string(out))
}

func TestZshCompletion(t *testing.T) {
	requireShell(t, "zsh")
	script := completionScript(t, "zsh")
	// Registered by compdef when sourced.
	home := t.TempDir()
	prog := "autoload -U compinit && compinit -u -d " + cmdutil.ShQuote(filepath.Join(home, "zcompdump")) +
		" && source " + cmdutil.ShQuote(script) + " && print -r -- ${_comps[phylum-box]}"
	cmd := exec.Command("zsh", "-f", "-c", prog)
	cmd.Env = append(os.Environ(), "HOME="+home, "ZDOTDIR="+home)
	if out, err := cmd.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "_phylum-box" {
		t.Fatalf("zsh did not register the completion: %v\n%s", err, out)
	}
	for _, tc := range []struct {
		line string
		want []string
		not  []string
	}{
		{"phylum-box sh", []string{"shell-init"}, []string{"completion"}},
		{"phylum-box ", []string{"completion", "shell-init"}, nil},
		{"phylum-box --c", []string{"--ci", "--config"}, nil},
		{"phylum-box shell-init ", shellinit.SupportedShells, nil},
		{"phylum-box shell-init --a", []string{"--all"}, nil},
		{"phylum-box --config x.yaml completion ", []string{"bash", "zsh", "fish"}, []string{"sh"}},
	} {
		got := zshComplete(t, script, tc.line)
		for _, w := range tc.want {
			if !slices.Contains(got, w) {
				t.Errorf("%q: completions %q lack %q", tc.line, got, w)
			}
		}
		for _, w := range tc.not {
			if slices.Contains(got, w) {
				t.Errorf("%q: completions %q must not offer %q", tc.line, got, w)
			}
		}
	}
	// After a package manager, the manager's own completion answers.
	withRawCommand(t, "npm")
	withNpm := completionScript(t, "zsh")
	b, _ := os.ReadFile(withNpm)
	b = append(b, "_pb_test_npm() { compadd from-npm-completion }; compdef _pb_test_npm npm\n"...)
	if err := os.WriteFile(withNpm, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := zshComplete(t, withNpm, "phylum-box npm "); !slices.Contains(got, "from-npm-completion") || slices.Contains(got, "--ci") {
		t.Errorf("phylum-box npm <TAB>: %q, want npm's own completion only", got)
	}
	// Every command's flags, from the registry.
	for _, c := range cmdutil.CommandInfos(newTestRoot(), false) {
		if c.Raw || len(c.Flags) == 0 {
			continue
		}
		got := zshComplete(t, script, "phylum-box "+c.Name+" --")
		for _, f := range c.Flags {
			if !slices.Contains(got, "--"+f.Name) {
				t.Errorf("zsh: %s --%s is not offered: %q", c.Name, f.Name, got)
			}
		}
	}
}

func TestCompletionUsage(t *testing.T) {
	app, _, _ := cmdutil.TestApp()
	for _, args := range [][]string{{"completion"}, {"completion", "tcsh"}} {
		if code := Main(context.Background(), app, "test", args); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

// Package shellinit is `phylum-box shell-init`: shell functions that route the
// package managers through phylum-box.
package shellinit

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/cmdutil"
	"github.com/phylum-box/phylum-box/internal/exitcode"
	"github.com/phylum-box/phylum-box/managers"
)

// WrappedManagers are the commands shell-init may route through phylum-box (npx
// is an `npm exec`, handled by the npm family). A name is wrapped only once this
// binary has a package-manager command of that name: a function for a manager
// phylum-box does not handle yet would make the manager unusable.
var WrappedManagers = []string{"npm", "npx", "yarn", "pnpm", "pnpx", "pip", "pip3", "poetry", "uv", "bundle", "cargo"}

// supportedManagers are the wrapped managers among names, the package managers
// this binary has a command for.
func supportedManagers(names []string) []string {
	var out []string
	for _, m := range WrappedManagers {
		if slices.Contains(names, m) {
			out = append(out, m)
		}
	}
	return out
}

// disableVar is the escape hatch: PHYLUM_BOX_DISABLE=1 npm install … runs npm itself.
const disableVar = "PHYLUM_BOX_DISABLE"

// SupportedShells are the shells shell-init and completion write for.
var SupportedShells = []string{"bash", "zsh", "fish", "sh"}

// ShellInitOptions are `shell-init`'s.
type ShellInitOptions struct {
	App   *cmdutil.App
	Shell string
	all   bool
	path  string // PATH used to decide which managers are installed
	exe   string // absolute path of this binary
	// supported are the package managers this binary has a command for.
	supported []string
}

// NewCmdShellInit is `phylum-box shell-init`.
func NewCmdShellInit(f *cmdutil.Factory, runF func(*ShellInitOptions) error) *cobra.Command {
	o := &ShellInitOptions{App: f.App}
	cmd := &cobra.Command{
		Use:       "shell-init [--all] bash|zsh|fish|sh",
		Short:     "print shell functions that route package managers through phylum-box",
		ValidArgs: SupportedShells,
		Long: `Prints shell functions named after the package managers (npm, npx, yarn, pnpm,
pip, pip3, poetry, bundle, cargo, …) that call this phylum-box binary by its absolute
path — for those this binary supports and that are on PATH when shell-init runs. Add
one line to your shell's startup file:

  bash   ~/.bashrc                    eval "$(phylum-box shell-init bash)"
  zsh    ~/.zshrc                     eval "$(phylum-box shell-init zsh)"
  fish   ~/.config/fish/config.fish   phylum-box shell-init fish | source
  sh     ~/.profile                   eval "$(phylum-box shell-init sh)"

To bypass phylum-box for one command: PHYLUM_BOX_DISABLE=1 npm install …
(or 'command npm install …'). 'unset -f npm' (fish: 'functions -e npm') removes one.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return cmdutil.UsageError("shell-init: name one shell: %s", strings.Join(SupportedShells, ", "))
			}
			o.Shell = args[0]
			o.path = os.Getenv("PATH")
			o.supported = managers.Names()
			exe, err := selfPath()
			if err != nil {
				return err
			}
			o.exe = exe
			if runF != nil {
				return runF(o)
			}
			return writeShellInit(o.App.Stdout, o.Shell, o)
		},
	}
	cmd.Flags().BoolVar(&o.all, "all", false, "define functions for every manager phylum-box supports, installed or not (for startup files shared between machines)")
	return cmd
}

// selfPath is the absolute, symlink-resolved path of the running binary, so the
// functions keep working when PATH changes and cannot be redirected by a later PATH
// entry named phylum-box.
func selfPath() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("finding the phylum-box binary: %w", err)
	}
	if r, err := filepath.EvalSymlinks(exe); err == nil {
		exe = r
	}
	return exe, nil
}

// installedManagers returns the wrapped managers found on path, in a stable order.
func installedManagers(path string, all bool, names []string) []string {
	if all {
		return supportedManagers(names)
	}
	var out []string
	for _, m := range supportedManagers(names) {
		if lookPathIn(m, path) {
			out = append(out, m)
		}
	}
	return out
}

// lookPathIn is exec.LookPath against an explicit PATH value (the one shell-init
// was run with), so tests and callers can say which PATH they mean.
func lookPathIn(name, path string) bool {
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return true
		}
	}
	return false
}

func writeShellInit(w io.Writer, shell string, o *ShellInitOptions) error {
	managers := installedManagers(o.path, o.all, o.supported)
	var b strings.Builder
	switch shell {
	case "bash", "zsh", "sh":
		writePOSIXInit(&b, shell, o.exe, managers)
	case "fish":
		writeFishInit(&b, o.exe, managers)
	default:
		return exitcode.With(exitcode.Usage, fmt.Errorf("shell-init: unsupported shell %q: use %s", shell, strings.Join(SupportedShells, ", ")))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writePOSIXInit writes functions for bash, zsh and POSIX sh. bash and zsh use the
// `function NAME {` form because an alias of the same name would otherwise be
// expanded inside `NAME() {` and define the wrong function; sh gets `NAME() {` after
// an unalias.
func writePOSIXInit(b *strings.Builder, shell, exe string, managers []string) {
	qexe := cmdutil.ShQuote(exe)
	fmt.Fprintf(b, "# phylum-box shell integration (%s); generated by: %s shell-init %s\n", shell, qexe, shell)
	fmt.Fprintf(b, "# Bypass for one command: %s=1 npm … or: command npm …\n", disableVar)
	if len(managers) == 0 {
		fmt.Fprintf(b, "# No supported package manager was found on PATH; run '%s shell-init --all %s' to wrap them all.\n", exe, shell)
	}
	for _, m := range managers {
		fmt.Fprintf(b, "unalias %s 2>/dev/null || :\n", m)
		if shell == "sh" {
			fmt.Fprintf(b, "%s() {\n", m)
		} else {
			fmt.Fprintf(b, "function %s {\n", m)
		}
		// The escape hatch runs the real command; "command" skips this function.
		fmt.Fprintf(b, "  if [ -n \"${%s:-}\" ] && [ \"${%s}\" != 0 ]; then\n", disableVar, disableVar)
		fmt.Fprintf(b, "    command %s \"$@\"\n", m)
		fmt.Fprintf(b, "  elif [ -x %s ]; then\n", qexe)
		fmt.Fprintf(b, "    %s %s \"$@\"\n", qexe, m)
		fmt.Fprintf(b, "  else\n")
		// Fail closed: a moved binary must not silently turn protection off.
		fmt.Fprintf(b, "    printf '%%s\\n' %s >&2\n", cmdutil.ShQuote(fmt.Sprintf(
			"[phylum-box] error: %s is gone; reinstall it or re-run shell-init (bypass: %s=1 %s …)", exe, disableVar, m)))
		fmt.Fprintf(b, "    return 127\n")
		fmt.Fprintf(b, "  fi\n")
		fmt.Fprintf(b, "}\n")
	}
}

func writeFishInit(b *strings.Builder, exe string, managers []string) {
	qexe := cmdutil.FishQuote(exe)
	fmt.Fprintf(b, "# phylum-box shell integration (fish); generated by: %s shell-init fish\n", qexe)
	fmt.Fprintf(b, "# Bypass for one command: %s=1 npm … or: command npm …\n", disableVar)
	if len(managers) == 0 {
		fmt.Fprintf(b, "# No supported package manager was found on PATH; run '%s shell-init --all fish' to wrap them all.\n", exe)
	}
	for _, m := range managers {
		// --wraps keeps the manager's own completions.
		fmt.Fprintf(b, "function %s --wraps %s --description %s\n", m, m, cmdutil.FishQuote(m+" through phylum-box"))
		fmt.Fprintf(b, "    if test -n \"$%s\"; and test \"$%s\" != 0\n", disableVar, disableVar)
		fmt.Fprintf(b, "        command %s $argv\n", m)
		fmt.Fprintf(b, "    else if test -x %s\n", qexe)
		fmt.Fprintf(b, "        %s %s $argv\n", qexe, m)
		fmt.Fprintf(b, "    else\n")
		fmt.Fprintf(b, "        printf '%%s\\n' %s >&2\n", cmdutil.FishQuote(fmt.Sprintf(
			"[phylum-box] error: %s is gone; reinstall it or re-run shell-init (bypass: %s=1 %s …)", exe, disableVar, m)))
		fmt.Fprintf(b, "        return 127\n")
		fmt.Fprintf(b, "    end\n")
		fmt.Fprintf(b, "end\n")
	}
}

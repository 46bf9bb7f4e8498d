package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/sirupsen/logrus"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/phylum-box/phylum-box/internal/exitcode"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// Command is one subcommand. Each lives in its own cmd_*.go file and registers itself
// in an init function; Flags describes its options so help, completion and the
// generated reference are all built from the same definitions.
type Command struct {
	Name    string
	Aliases []string
	Usage   string // e.g. "run [flags] -- CMD [ARGS...]"
	Short   string
	Long    string
	// LongFunc builds Long on demand instead: text that is costly to build (the
	// manager pages) should not be made in every process — every container's init
	// is this binary too.
	LongFunc func() string
	Hidden   bool
	// Flags builds the command's flag set, binding into a fresh options value, and
	// returns the function that runs the command with the remaining arguments.
	Flags func(app *App, fs *pflag.FlagSet) func(ctx context.Context, args []string) error
	// RawArgs commands (the package-manager wrappers) receive argv untouched.
	RawArgs bool
	// RunRaw is used instead of Flags when RawArgs is set.
	RunRaw func(ctx context.Context, app *App, args []string) error
}

var commands = map[string]*Command{}

// long is the command's description (Long, or LongFunc's).
func (c *Command) long() string {
	if c.LongFunc != nil {
		return c.LongFunc()
	}
	return c.Long
}

func register(c *Command) {
	for _, n := range append([]string{c.Name}, c.Aliases...) {
		if _, dup := commands[n]; dup {
			panic("duplicate command " + n)
		}
		commands[n] = c
	}
}

// App carries the I/O streams and the global settings every command shares. Colour,
// TTY and progress decisions are made here, once.
type App struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Log    *logrus.Logger

	Verbose bool
	Quiet   bool
	CI      bool
	NoColor bool
	// ConfigPath is an explicit --config; empty means the default location.
	ConfigPath string
	// ReportFile receives a JSON report of a wrapped install (--report).
	ReportFile string
	// Format is the global --format: "json" makes a wrapped install print its report
	// on stdout (the manager's own output goes to stderr); check and db status take it
	// as their default. Empty: text.
	Format string

	stderrTTY bool
	stdoutTTY bool
}

// NewApp returns an App bound to the process's standard streams.
func NewApp() *App {
	a := &App{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	a.stderrTTY = term.IsTerminal(int(os.Stderr.Fd()))
	a.stdoutTTY = term.IsTerminal(int(os.Stdout.Fd()))
	a.Log = newLogger(a.Stderr)
	return a
}

// Color reports whether output to a terminal may use colour.
func (a *App) Color() bool {
	if a.NoColor || a.CI || os.Getenv("NO_COLOR") != "" {
		return false
	}
	return a.stdoutTTY
}

// Progress reports whether progress bars may be drawn on stderr.
func (a *App) Progress() bool { return a.stderrTTY && !a.Quiet && !a.CI }

type prefixFormatter struct{}

func (prefixFormatter) Format(e *logrus.Entry) ([]byte, error) {
	var b strings.Builder
	b.WriteString("[phylum-box] ")
	switch e.Level {
	case logrus.ErrorLevel, logrus.FatalLevel, logrus.PanicLevel:
		b.WriteString("error: ")
	case logrus.WarnLevel:
		b.WriteString("warning: ")
	}
	b.WriteString(e.Message)
	keys := make([]string, 0, len(e.Data))
	for k := range e.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%v", k, e.Data[k])
	}
	b.WriteByte('\n')
	return []byte(b.String()), nil
}

func newLogger(w io.Writer) *logrus.Logger {
	l := logrus.New()
	l.Out = w
	l.Formatter = prefixFormatter{}
	l.Level = logrus.InfoLevel
	return l
}

func (a *App) globalFlags() *pflag.FlagSet {
	fs := pflag.NewFlagSet("phylum-box", pflag.ContinueOnError)
	fs.SetInterspersed(false)
	fs.BoolVarP(&a.Verbose, "verbose", "v", false, "print debug detail")
	fs.BoolVarP(&a.Quiet, "quiet", "q", false, "print only warnings and errors")
	fs.BoolVar(&a.CI, "ci", os.Getenv("CI") == "true", "CI mode: no prompts, no colour, no progress bars (default when CI=true)")
	fs.BoolVar(&a.NoColor, "no-color", false, "never use colour (also NO_COLOR)")
	fs.StringVar(&a.ConfigPath, "config", "", "config file (default $XDG_CONFIG_HOME/phylum-box/config.yaml)")
	fs.StringVar(&a.ReportFile, "report", "", "write a JSON report of a wrapped install to FILE (e.g. phylum-box --report r.json npm ci)")
	fs.StringVar(&a.Format, "format", "", "text or json: with json a wrapped install prints its JSON report on stdout and the package manager's output on stderr (phylum-box --format json npm ci > report.json)")
	flagChoices(fs, "format", "text", "json")
	return fs
}

// Dispatch parses global flags and runs the named command.
func (a *App) Dispatch(ctx context.Context, args []string) error {
	fs := a.globalFlags()
	var showVersion, help bool
	fs.BoolVar(&showVersion, "version", false, "print the version and exit")
	fs.BoolVarP(&help, "help", "h", false, "show help")
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		return exitcode.With(exitcode.Usage, fmt.Errorf("%w (see phylum-box --help)", err))
	}
	a.applyVerbosity()
	if a.Format != "" && a.Format != "text" && a.Format != "json" {
		return exitcode.With(exitcode.Usage, fmt.Errorf("--format %q: use text or json", a.Format))
	}
	if showVersion {
		fmt.Fprintf(a.Stdout, "phylum-box %s\n", version)
		return nil
	}
	rest := fs.Args()
	if help || len(rest) == 0 {
		a.usage(a.Stdout, fs)
		if len(rest) == 0 && !help {
			return ExitSilently(exitcode.Usage)
		}
		return nil
	}
	name := rest[0]
	cmd, ok := commands[name]
	if !ok {
		return exitcode.With(exitcode.Usage, fmt.Errorf("unknown command %q (see phylum-box --help)", name))
	}
	return a.runCommand(ctx, cmd, rest[1:])
}

func (a *App) applyVerbosity() {
	switch {
	case a.Verbose:
		a.Log.SetLevel(logrus.DebugLevel)
	case a.Quiet:
		a.Log.SetLevel(logrus.WarnLevel)
	}
}

func (a *App) runCommand(ctx context.Context, cmd *Command, args []string) error {
	if cmd.RawArgs {
		return cmd.RunRaw(ctx, a, args)
	}
	fs := pflag.NewFlagSet("phylum-box "+cmd.Name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	run := cmd.Flags(a, fs)
	// Global flags are also accepted after the command name, except where the
	// command has a flag of the same name (check --format). Defining them again
	// resets the fields they bind to their defaults: keep what Dispatch parsed.
	saved := *a
	global := a.globalFlags()
	a.Verbose, a.Quiet, a.CI, a.NoColor = saved.Verbose, saved.Quiet, saved.CI, saved.NoColor
	a.ConfigPath, a.ReportFile, a.Format = saved.ConfigPath, saved.ReportFile, saved.Format
	fs.AddFlagSet(global)
	var help bool
	fs.BoolVarP(&help, "help", "h", false, "show help for "+cmd.Name)
	if err := fs.Parse(args); err != nil {
		return exitcode.With(exitcode.Usage, fmt.Errorf("%s: %w (see phylum-box %s --help)", cmd.Name, err, cmd.Name))
	}
	a.applyVerbosity()
	if help {
		a.commandUsage(a.Stdout, cmd, fs)
		return nil
	}
	return run(ctx, fs.Args())
}

func (a *App) usage(w io.Writer, global *pflag.FlagSet) {
	fmt.Fprintf(w, "phylum-box — precheck and sandbox package installs\n\n")
	fmt.Fprintf(w, "Usage:\n  phylum-box [global flags] COMMAND [ARGS...]\n  phylum-box npm install lodash      (any supported package manager as a prefix)\n\nCommands:\n")
	for _, c := range sortedCommands() {
		fmt.Fprintf(w, "  %-12s %s\n", c.Name, c.Short)
	}
	fmt.Fprintf(w, "\nGlobal flags:\n%s\nRun 'phylum-box COMMAND --help' for a command's flags.\n", global.FlagUsages())
}

func (a *App) commandUsage(w io.Writer, c *Command, fs *pflag.FlagSet) {
	fmt.Fprintf(w, "Usage:\n  phylum-box %s\n\n%s\n", c.Usage, c.Short)
	if long := strings.TrimSpace(c.long()); long != "" {
		fmt.Fprintf(w, "\n%s\n", long)
	}
	fmt.Fprintf(w, "\nFlags:\n%s", fs.FlagUsages())
}

func sortedCommands() []*Command {
	seen := map[*Command]bool{}
	var out []*Command
	for _, c := range commands {
		if !seen[c] && !c.Hidden {
			seen[c] = true
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

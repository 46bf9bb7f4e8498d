package cmdutil

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/phylum-box/phylum-box/internal/exitcode"
)

// RawAnnotation marks a command that receives its arguments untouched (the package
// managers, the egress bridge): phylum-box's own flags go before its name. Its
// value is "manager" for a package manager.
const RawAnnotation = "phylum-box/raw"

// NewRoot is the root command without subcommands: the global flags, the
// pre-run hook that names the command to the Factory, help and flag errors.
// Commands are added with AddCommand; each is NewCmdX(f, nil), whose flags fill
// an XOptions that runX works from.
func NewRoot(f *Factory) *cobra.Command {
	app := f.App
	var showVersion bool
	root := &cobra.Command{
		Use:   "phylum-box",
		Short: "precheck and sandbox package installs",
		// Commands report their own errors, once, at the top (Main).
		SilenceErrors: true,
		SilenceUsage:  true,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return exitcode.With(exitcode.Usage, fmt.Errorf("unknown command %q (see phylum-box --help)", args[0]))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if showVersion {
				fmt.Fprintf(app.Stdout, "phylum-box %s\n", f.Version)
				return nil
			}
			writeRootUsage(app.Stdout, cmd)
			return ExitSilently(exitcode.Usage)
		},
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			f.SetCommand(cmd)
			return applyGlobals(app)
		},
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	root.SetIn(app.Stdin)
	root.SetOut(app.Stdout)
	root.SetErr(app.Stderr)
	addGlobalFlags(root.PersistentFlags(), app)
	root.Flags().BoolVar(&showVersion, "version", false, "print the version and exit")
	root.Flags().BoolP("help", "h", false, "show help")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		if !cmd.HasParent() {
			return exitcode.With(exitcode.Usage, fmt.Errorf("%w (see phylum-box --help)", err))
		}
		path := strings.TrimPrefix(cmd.CommandPath(), "phylum-box ")
		return exitcode.With(exitcode.Usage, fmt.Errorf("%s: %w (see phylum-box %s --help)", path, err, path))
	})
	root.SetHelpFunc(func(cmd *cobra.Command, args []string) {
		ShowConfiguredDefaults(f, cmd.Flags())
		if !cmd.HasParent() {
			writeRootUsage(cmd.OutOrStdout(), cmd)
			return
		}
		writeCommandUsage(cmd.OutOrStdout(), cmd)
	})
	// cobra's own help command; `phylum-box CMD --help` is the documented form.
	root.SetHelpCommand(&cobra.Command{Use: "help", Hidden: true, Run: func(cmd *cobra.Command, args []string) {
		target, _, err := root.Find(args)
		if err != nil || target == nil {
			target = root
		}
		target.HelpFunc()(target, args)
	}})

	return root
}

// addGlobalFlags defines the flags every command accepts, before or after its name
// (before it only, for the package managers).
func addGlobalFlags(fs *pflag.FlagSet, app *App) {
	fs.BoolVarP(&app.Verbose, "verbose", "v", false, "print debug detail (phylum-box's own; libcontainer's too with PHYLUM_BOX_DEBUG=runc)")
	fs.BoolVarP(&app.Quiet, "quiet", "q", false, "print only warnings and errors")
	fs.BoolVar(&app.CI, "ci", os.Getenv("CI") == "true", "CI mode: no prompts, no colour, no progress bars (default when CI=true)")
	fs.BoolVar(&app.NoColor, "no-color", false, "never use colour (also NO_COLOR)")
	fs.StringVar(&app.ConfigPath, "config", "", "config file (default $XDG_CONFIG_HOME/phylum-box/config.yaml)")
	fs.StringVar(&app.ReportFile, "report", "", "write a JSON report of a wrapped install to FILE (e.g. phylum-box --report r.json npm ci)")
	fs.StringVar(&app.Format, "format", "", "text or json: with json a wrapped install prints its JSON report on stdout and the package manager's output on stderr (phylum-box --format json npm ci > report.json)")
	FlagChoices(fs, "format", "text", "json")
	fs.StringArrayVar(&app.KeepEnv, "keep-env", nil, "pass this environment variable to the steps of a wrapped install that run package code (the build: install scripts; never a step with the network or credentials; repeatable; never a credential): phylum-box --keep-env MY_FLAG npm install")
	AddConfigFlags(fs, "database.path")
}

// applyGlobals checks the global flags and sets the log level from them.
func applyGlobals(app *App) error {
	if app.Format != "" && app.Format != "text" && app.Format != "json" {
		return exitcode.With(exitcode.Usage, fmt.Errorf("--format %q: use text or json", app.Format))
	}
	switch {
	case app.Verbose:
		app.Log.SetLevel(logrus.DebugLevel)
	case app.Quiet:
		app.Log.SetLevel(logrus.WarnLevel)
	}
	return nil
}

// Execute runs the command line args on root.
//
// A package manager's arguments are its own: `phylum-box npm install -v` must give
// npm its -v. cobra, even with flag parsing off, would hand the command the global
// flags written before its name mixed with the manager's. So the words before the
// name are parsed here, as the global flags they are, and the manager gets exactly
// what follows its name.
func Execute(ctx context.Context, root *cobra.Command, args []string) error {
	addHelpFlags(root)
	if i, raw := RawCommandAt(root, args); raw != nil {
		if err := root.ParseFlags(args[:i]); err != nil {
			return root.FlagErrorFunc()(root, err)
		}
		if len(root.Flags().Args()) > 0 {
			return exitcode.With(exitcode.Usage, fmt.Errorf("unknown command %q (see phylum-box --help)", root.Flags().Args()[0]))
		}
		if help, _ := root.Flags().GetBool("help"); help {
			root.HelpFunc()(root, nil)
			return nil
		}
		if v, _ := root.Flags().GetBool("version"); v {
			args = []string{"--version"}
		} else {
			args = append([]string{raw.Name()}, args[i+1:]...)
		}
	}
	if args == nil {
		args = []string{} // cobra reads os.Args for nil
	}
	root.SetArgs(args)
	_, err := root.ExecuteContextC(ctx)
	return err
}

// RawCommandAt finds the command word of args, skipping the global flags (and
// their values) before it, and returns its index and the command when it takes
// its arguments raw.
func RawCommandAt(root *cobra.Command, args []string) (int, *cobra.Command) {
	fs := root.Flags()
	root.PersistentFlags().VisitAll(func(fl *pflag.Flag) {
		if fs.Lookup(fl.Name) == nil {
			fs.AddFlag(fl)
		}
	})
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return -1, nil
		case strings.HasPrefix(a, "--"):
			name, _, hasValue := strings.Cut(a[2:], "=")
			if fl := fs.Lookup(name); fl != nil && fl.NoOptDefVal == "" && !hasValue {
				i++ // the flag's value
			}
		case strings.HasPrefix(a, "-") && len(a) > 1:
			// Shorthands: only the last of a group may take a value.
			last := a[len(a)-1:]
			if fl := fs.ShorthandLookup(last); fl != nil && fl.NoOptDefVal == "" && len(a) == 2 {
				i++
			}
		default:
			for _, c := range root.Commands() {
				if c.Name() == a || c.HasAlias(a) {
					if c.Annotations[RawAnnotation] != "" {
						return i, c
					}
					return -1, nil
				}
			}
			return -1, nil
		}
	}
	return -1, nil
}

// VisibleCommands are the commands listed in help, completion and the reference.
func VisibleCommands(root *cobra.Command) []*cobra.Command {
	var out []*cobra.Command
	for _, c := range root.Commands() {
		if !c.Hidden && c.Name() != "help" {
			out = append(out, c)
		}
	}
	return out
}

func writeRootUsage(w io.Writer, root *cobra.Command) {
	fmt.Fprintf(w, "phylum-box — precheck and sandbox package installs\n\n")
	fmt.Fprintf(w, "Usage:\n  phylum-box [global flags] COMMAND [ARGS...]\n  phylum-box npm install lodash      (any supported package manager as a prefix)\n\nCommands:\n")
	for _, c := range VisibleCommands(root) {
		fmt.Fprintf(w, "  %-12s %s\n", c.Name(), c.Short)
	}
	fmt.Fprintf(w, "\nGlobal flags (before or after the command; before a package manager's name):\n%s\nRun 'phylum-box COMMAND --help' for a command's flags; 'phylum-box help MANAGER' for what a package manager's commands do wrapped ('phylum-box npm --help' is npm's own help).\n",
		GlobalFlagSet(root).FlagUsages())
}

// GlobalFlagSet is the global flags with root's --version and --help.
func GlobalFlagSet(root *cobra.Command) *pflag.FlagSet {
	fs := pflag.NewFlagSet("global", pflag.ContinueOnError)
	fs.AddFlagSet(root.PersistentFlags())
	fs.AddFlagSet(root.LocalNonPersistentFlags())
	return fs
}

func writeCommandUsage(w io.Writer, c *cobra.Command) {
	path := "phylum-box" // a subcommand's usage line names its parents (phylum-box db import …)
	if c.HasParent() {
		path = c.Parent().CommandPath()
	}
	fmt.Fprintf(w, "Usage:\n  %s %s\n\n%s\n", path, c.Use, c.Short)
	if long := strings.TrimSpace(CommandLong(c)); long != "" {
		fmt.Fprintf(w, "\n%s\n", long)
	}
	if subs := VisibleCommands(c); len(subs) > 0 {
		fmt.Fprintf(w, "\nCommands:\n")
		for _, s := range subs {
			fmt.Fprintf(w, "  %-12s %s\n", s.Name(), s.Short)
		}
	}
	if c.Annotations[RawAnnotation] != "" {
		fmt.Fprintf(w, "\nThe arguments are %s's own; phylum-box's global flags go before %q.\n", c.Name(), c.Name())
		return
	}
	fmt.Fprintf(w, "\nFlags:\n%s", c.LocalFlags().FlagUsages())
	fmt.Fprintf(w, "\nGlobal flags:\n%s", c.InheritedFlags().FlagUsages())
}

// CommandLong is the command's description; a manager's is built on demand, since
// every container's init is this binary too and must not pay for it.
func CommandLong(c *cobra.Command) string {
	if c.Long == "" && c.Annotations[RawAnnotation] == "manager" {
		return managerLong(c.Name())
	}
	return c.Long
}

// Main runs args on root and returns the process exit code. Errors are printed
// here, once; only here are they mapped to exit codes.
func Main(ctx context.Context, app *App, root *cobra.Command, args []string) int {
	return Report(app, Execute(ctx, root, args))
}

// addHelpFlags gives every command its -h/--help, named for it.
func addHelpFlags(root *cobra.Command) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Flags().Lookup("help") == nil {
				sub.Flags().BoolP("help", "h", false, "show help for "+strings.TrimPrefix(sub.CommandPath(), "phylum-box "))
			}
			walk(sub)
		}
	}
	walk(root)
}

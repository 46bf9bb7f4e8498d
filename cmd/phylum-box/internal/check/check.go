// Package check is `phylum-box check`: lockfiles prechecked against the offline
// OSV database and the policy, nothing installed or run.
package check

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/cmdutil"
	"github.com/phylum-box/phylum-box/internal/exitcode"
	"github.com/phylum-box/phylum-box/managers"
	"github.com/phylum-box/phylum-box/precheck"
	"github.com/phylum-box/phylum-box/precheck/lockfile"
	"github.com/phylum-box/phylum-box/precheck/policy"
	"github.com/phylum-box/phylum-box/precheck/report"
)

// NewCmdCheck is `phylum-box check`. runF replaces runCheck (tests).
func NewCmdCheck(f *cmdutil.Factory, runF func(*CheckOptions) error) *cobra.Command {
	o := &CheckOptions{App: f.App}
	cmd := &cobra.Command{
		Use:   "check [--format text|json|sarif] [--policy FILE] [--db PATH] [--output FILE] [LOCKFILE|DIR ...]",
		Short: "precheck lockfiles against the offline OSV database and the policy",
		Long: `Reads the given lockfiles (or every lockfile phylum-box understands in the given
directories; the current directory when none is given), looks every package up in
the local OSV database and applies the policy. Nothing is installed or run.

The policy is the built-in defaults, then $XDG_CONFIG_HOME/phylum-box/policy.yaml,
then .phylum-box.yaml in the project directory (the first argument's directory, or
the current one), then --policy FILE.

Exit status: 0 pass, 3 blocked by the policy, 5 incomplete (no or stale database,
uncheckable packages under a fail-closed policy), 2 usage error (bad flag, unknown
format, no lockfile, unreadable lockfile or policy), 1 internal error.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := f.Config()
			if err != nil {
				return err
			}
			o.DBPath, o.PolicyFile = cfg.Database.Path, cfg.Policy
			o.Args = args
			o.Color = f.App.Color()
			o.Version = f.Version
			if runF != nil {
				return runF(o)
			}
			return runCheck(cmd.Context(), o)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.Format, "format", report.Text, "output format: "+strings.Join(report.Formats(), ", "))
	cmdutil.FlagChoices(fs, "format", report.Formats()...)
	fs.StringVarP(&o.Output, "output", "o", "", "write the report to FILE instead of standard output")
	cmdutil.AddConfigFlags(fs, cmdutil.PolicyKeys...)
	return cmd
}

// CheckOptions is everything `check` needs; tests build it directly.
type CheckOptions struct {
	App        *cmdutil.App
	Format     string
	PolicyFile string // explicit policy, the top layer; "" for none
	DBPath     string
	Output     string
	Args       []string
	// Dir is the working directory relative arguments are resolved against; "" is
	// the process's.
	Dir string
	// UserPolicy overrides the user policy file (tests); "" is policy.UserPath().
	UserPolicy string
	Now        time.Time
	Color      bool
	Version    string
}

func runCheck(ctx context.Context, o *CheckOptions) error {
	app := o.App
	if !slices.Contains(report.Formats(), o.Format) {
		return exitcode.With(exitcode.Usage, fmt.Errorf("unknown format %q (supported: %s)", o.Format, strings.Join(report.Formats(), ", ")))
	}
	dir := o.Dir
	if dir == "" {
		var err error
		if dir, err = os.Getwd(); err != nil {
			return fmt.Errorf("find the current directory: %w", err)
		}
	}
	files, projectDir, err := checkTargets(dir, o.Args)
	if err != nil {
		return exitcode.With(exitcode.Usage, err)
	}

	var pkgs []precheck.Package
	for _, f := range files {
		ps, err := lockfile.ParseWith(f, checkParseOptions(f))
		if err != nil {
			if !strings.Contains(err.Error(), f) { // most lockfile errors name the file already
				err = fmt.Errorf("%s: %w", displayPath(projectDir, f), err)
			}
			return exitcode.With(exitcode.Usage, err)
		}
		pkgs = append(pkgs, ps...)
	}
	app.Log.Debugf("check: %d packages from %s", len(pkgs), strings.Join(files, ", "))

	v, err := runPrecheck(ctx, precheckInput{
		Packages: pkgs, ProjectDir: projectDir, PolicyFile: o.PolicyFile, UserPolicy: o.UserPolicy,
		DBPath: o.DBPath, Now: o.Now,
	})
	if err != nil {
		return err
	}
	if len(v.PolicyFiles) > 0 {
		app.Log.Debugf("check: policy from %s", strings.Join(v.PolicyFiles, " < "))
	} else {
		app.Log.Debugf("check: built-in policy (no policy files)")
	}

	w, color, closeOut := app.Stdout, o.Color, func() error { return nil }
	if o.Output != "" {
		path := o.Output
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return exitcode.With(exitcode.Usage, fmt.Errorf("--output: %w", err))
		}
		w, color, closeOut = f, false, f.Close
	}
	werr := report.Write(w, o.Format, v, report.Options{Color: color, BaseDir: projectDir, ToolVersion: o.Version})
	if cerr := closeOut(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("write the %s report: %w", o.Format, werr)
	}
	return verdictExit(v, o.Format == report.Text && o.Output == "")
}

// checkParseOptions gives the registries the npm configuration of the lockfile's
// directory names (its .npmrc, the user's, the environment): registry tarball URLs in
// the lockfile must be on them. Unreadable configuration leaves the public registry.
func checkParseOptions(lockfilePath string) lockfile.Options {
	regs := &lockfile.Registries{}
	if env, err := managers.FromProcess(); err == nil {
		if cfg, err := managers.LoadNpmConfig(env, filepath.Dir(lockfilePath), nil); err == nil {
			regs.Default, regs.Scopes = cfg.Registry, cfg.Scopes
		}
	}
	return lockfile.Options{NPM: regs}
}

// precheckInput is what runPrecheck needs. The package-manager wrappers call
// runPrecheck with the packages their resolve step produced and their registry
// metadata; `check` calls it with lockfile packages and no metadata.
type precheckInput struct {
	Packages   []precheck.Package
	ProjectDir string // where .phylum-box.yaml is read; "" skips the project layer
	PolicyFile string // explicit policy file (top layer); "" for none
	UserPolicy string // "" is policy.UserPath()
	DBPath     string
	Metadata   precheck.RegistryMetadata // optional
	Now        time.Time                 // zero is time.Now()
}

// runPrecheck loads the policy, opens the database and evaluates. Policy errors are
// usage errors (exit 2); a missing or unusable database is the engine's to judge
// under database.when_stale; only engine failures are internal errors.
func runPrecheck(ctx context.Context, in precheckInput) (*precheck.Verdict, error) {
	pol, err := policy.Load(policy.Sources{UserFile: in.UserPolicy, ProjectDir: in.ProjectDir, File: in.PolicyFile})
	if err != nil {
		return nil, exitcode.With(exitcode.Usage, err)
	}
	db, closeDB := cmdutil.OpenDatabase(in.DBPath)
	defer closeDB()
	eng := precheck.Engine{DB: db, Policy: pol, Now: in.Now, DBPath: in.DBPath, DBFlag: cmdutil.DBFlag(in.DBPath), Metadata: in.Metadata}
	return eng.Evaluate(ctx, in.Packages)
}

// verdictExit maps the verdict to the exit-code contract. When the text report went
// to the terminal its summary line already said why; otherwise one line on stderr
// does.
func verdictExit(v *precheck.Verdict, reported bool) error {
	code := v.ExitCode()
	if code == exitcode.OK {
		return nil
	}
	if reported {
		return cmdutil.ExitSilently(code)
	}
	var blocked int
	for _, p := range v.Packages {
		if p.Blocked {
			blocked++
		}
	}
	if v.Result == precheck.Blocked {
		return exitcode.With(code, fmt.Errorf("precheck blocked %d of %d packages", blocked, len(v.Packages)))
	}
	return exitcode.With(code, fmt.Errorf("precheck incomplete: %s", strings.Join(v.Problems, "; ")))
}

// checkTargets turns the arguments into lockfile paths (absolute) and the project
// directory: the first argument's directory (or the argument itself when it is a
// directory), or dir when there are no arguments.
func checkTargets(dir string, args []string) (files []string, projectDir string, err error) {
	if len(args) == 0 {
		args = []string{"."}
	}
	for i, a := range args {
		path := a
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		st, err := os.Stat(path)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", a, unwrapPathError(err))
		}
		if st.IsDir() {
			found, err := lockfile.Find(path)
			if err != nil {
				return nil, "", err
			}
			if len(found) == 0 {
				return nil, "", fmt.Errorf("no lockfile in %s (looked for %s); give a lockfile path or run the package manager's lock command first",
					a, strings.Join(lockfile.Formats(), ", "))
			}
			files = append(files, found...)
			if i == 0 {
				projectDir = path
			}
			continue
		}
		files = append(files, path)
		if i == 0 {
			projectDir = filepath.Dir(path)
		}
	}
	return files, projectDir, nil
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func displayPath(base, path string) string {
	if rel, err := filepath.Rel(base, path); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return path
}

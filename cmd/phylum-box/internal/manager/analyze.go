package manager

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/cmdutil"
	"github.com/phylum-box/phylum-box/container"
	"github.com/phylum-box/phylum-box/internal/exitcode"
	"github.com/phylum-box/phylum-box/internal/install"
	"github.com/phylum-box/phylum-box/managers"
	"github.com/phylum-box/phylum-box/precheck"
	"github.com/phylum-box/phylum-box/precheck/policy"
	"github.com/phylum-box/phylum-box/precheck/report"
	"github.com/phylum-box/phylum-box/rootfs"
)

// AnalyzeOptions is `phylum-box analyze`'s input.
type AnalyzeOptions struct {
	App    *cmdutil.App
	Target string
	Format string
	Output string
	// Index is the index, gem source or sparse registry a pypi:, rubygems: or
	// crates: package is downloaded from ("" for the user's configured one).
	Index string
	// StaticOnly: a pypi: package is downloaded and read, not installed.
	StaticOnly bool
}

// NewCmdAnalyze is `phylum-box analyze npm:NAME@VERSION`: the package (and what it
// depends on) installed into a throwaway project with every detection on, for a
// reviewer deciding on a new dependency. runF replaces runAnalyze (tests).
func NewCmdAnalyze(f *cmdutil.Factory, runF func(*AnalyzeOptions) error) *cobra.Command {
	o := &AnalyzeOptions{App: f.App}
	cmd := &cobra.Command{
		Use:   "analyze [--format text|json|sarif] [--output FILE] [--index URL] [--static] [npm:]NAME@VERSION | ./PACKAGE.tgz | ./DIR | pypi:NAME==VERSION | rubygems:NAME@VERSION | crates:NAME@VERSION | ./FILE.whl|.tar.gz|.zip|.gem|.crate",
		Short: "install a package into a throwaway project under every check and report what it does",
		Long: `Installs one npm package — a registry name and version, or a local tarball or
directory — or one PyPI package or gem (see below), with its dependencies,
into a new temporary project, through the same steps as a protected install:
resolve and download without running package code, the precheck against the
OSV database and the policy, the static analysis of every package before any
of its code runs, then every install script (or build) in the sandbox
under the behaviour monitor, with decoy credentials in $HOME. Nothing reaches
your projects; the temporary project is removed afterwards.

The report lists every finding, including the ones the policy would only warn
about; install scripts run even under scripts: allowlist or none, since seeing
them run is the point (they are still shut in the sandbox).

pypi:NAME==VERSION (or pypi:NAME@VERSION) is installed the same way, with pip
into a --target directory of the throwaway project, and rubygems:NAME@VERSION
with Bundler from a Gemfile phylum-box writes: the download (the index from your
own settings — PIP_INDEX_URL or pip.conf, the first of ~/.gemrc's :sources: —
or --index), the static analysis of every downloaded wheel, sdist and .gem, then
the build (setup.py, the PEP 517 backend, extconf.rb) in the sandbox under the
behaviour monitor.

crates:NAME@VERSION, pypi: and rubygems: with --static, and a local .whl, sdist
(.tar.gz, .zip, .tar.bz2), .gem or .crate file get the static analysis only:
install-time code not run (static analysis only) for pypi/rubygems/crates in
these forms — build.rs, setup.py and extconf.rb are read, not executed — and the
report says so. The archive is downloaded by phylum-box itself (no package or
project code runs while the network is used) and read in memory, never
unpacked, with the OSV database, the policy and the typosquat lists; the
package itself is analysed, not its dependencies. The download comes from
--index URL, else your own settings: PIP_INDEX_URL or index-url in
~/.config/pip/pip.conf (pypi.org otherwise), the first of ~/.gemrc's :sources:
(rubygems.org), the sparse registry crates-io is replaced with in
$CARGO_HOME/config.toml (index.crates.io); no project file is read. A hash the
index gives (sha256 fragment, crate checksum) is checked; a download that fails
exits 5.

Exit status: 0 nothing blocking was found, 3 the policy would block the package
(the report says why), 5 the precheck was incomplete, 4 the sandbox stopped it,
2 usage error, 1 internal error.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Target = args[0]
			if runF != nil {
				return runF(o)
			}
			return runAnalyze(cmd.Context(), f, o)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.Format, "format", report.Text, "report format: "+strings.Join(report.Formats(), ", "))
	cmdutil.FlagChoices(fs, "format", report.Formats()...)
	fs.StringVarP(&o.Output, "output", "o", "", "write the report to FILE instead of standard output")
	fs.BoolVar(&o.StaticOnly, "static", false, "pypi:, rubygems: only download and read the package, without installing it and running its build under the monitor")
	fs.StringVar(&o.Index, "index", "", "download a pypi:, rubygems: or crates: package from this index URL (pip simple index, gem source, sparse registry)")
	return cmd
}

// analyzeSpec turns the command's argument into what npm installs: NAME@VERSION
// from the registry, or a local tarball or directory as an absolute path.
func analyzeSpec(target, cwd string) (string, error) {
	t := target
	if eco, rest, ok := strings.Cut(t, ":"); ok && !strings.ContainsAny(eco, "/@.") {
		if eco != "npm" {
			return "", fmt.Errorf("analyze supports npm:, pypi:, rubygems: and crates: packages; %q is none of them", target)
		}
		t = rest
	}
	if t == "" {
		return "", fmt.Errorf("analyze: no package named")
	}
	if strings.HasPrefix(t, "./") || strings.HasPrefix(t, "../") || strings.HasPrefix(t, "/") || strings.HasSuffix(t, ".tgz") {
		p := t
		if !filepath.IsAbs(p) {
			p = filepath.Join(cwd, p)
		}
		st, err := os.Stat(p)
		if err != nil {
			return "", fmt.Errorf("analyze: %w", err)
		}
		if !st.IsDir() && !st.Mode().IsRegular() {
			return "", fmt.Errorf("analyze: %s is neither a directory nor a tarball", p)
		}
		return p, nil
	}
	if strings.HasPrefix(t, "-") {
		return "", fmt.Errorf("analyze: %q is not a package", t)
	}
	return t, nil
}

func runAnalyze(ctx context.Context, f *cmdutil.Factory, o *AnalyzeOptions) error {
	cwd, err := os.Getwd()
	if err != nil {
		return err
	}
	if job, ok, err := parseArchiveTarget(o.Target, cwd); err != nil {
		return exitcode.With(exitcode.Usage, err)
	} else if ok {
		return runAnalyzeArchive(ctx, f, o, job)
	}
	if o.Index != "" {
		return exitcode.With(exitcode.Usage, fmt.Errorf("analyze: --index applies to pypi:, rubygems: and crates: packages; npm's registry is your npm configuration's"))
	}
	spec, err := analyzeSpec(o.Target, cwd)
	if err != nil {
		return exitcode.With(exitcode.Usage, err)
	}
	tmp, err := throwawayProject()
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := os.WriteFile(filepath.Join(tmp, "package.json"), []byte(`{"name":"phylum-box-analyze","version":"0.0.0","private":true}`+"\n"), 0o644); err != nil {
		return err
	}
	if filepath.IsAbs(spec) {
		// A local package is copied into the throwaway project: the sandbox sees
		// nothing outside it.
		if spec, err = copyLocalPackage(spec, tmp); err != nil {
			return exitcode.With(exitcode.Usage, fmt.Errorf("analyze: %w", err))
		}
	}
	return analyzeInstall(ctx, f, o, tmp, "npm", []string{"install", "--no-audit", "--no-fund", spec}, os.Environ(), spec)
}

// throwawayProject makes the empty directory analyze installs into; the caller
// removes it.
func throwawayProject() (string, error) {
	tmp, err := os.MkdirTemp("", "phylum-box-analyze-")
	if err != nil {
		return "", err
	}
	// Readable by the container's root when phylum-box runs as real root.
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	return tmp, nil
}

// analyzeInstall runs `MANAGER ARGS` in the throwaway project tmp through every
// step of a protected install, install scripts under the monitor, and writes the
// report.
func analyzeInstall(ctx context.Context, f *cmdutil.Factory, o *AnalyzeOptions, tmp, manager string, args, environ []string, spec string) error {
	app := o.App
	home, _ := os.UserHomeDir()
	m, _ := managers.Lookup(manager)
	plan, err := m.Plan(args, managers.Env{Dir: tmp, Home: home, Environ: environ})
	if err != nil {
		return exitcode.With(exitcode.Usage, fmt.Errorf("analyze: %w", err))
	}
	if plan.Passthrough {
		return exitcode.With(exitcode.Usage, fmt.Errorf("analyze: %s would install nothing for %s", manager, spec))
	}
	if err := container.ReexecSealed(); err != nil {
		app.Log.Debugf("not re-executing from a sealed copy: %v", err)
	}
	cfg, err := f.Config()
	if err != nil {
		return err
	}
	// The user's policy (the temporary project has none), with every install
	// script run and watched: an analysis that skips them sees nothing.
	pol, err := f.Policy(tmp)
	if err != nil {
		return err
	}
	pol.Scripts = policy.ScriptsSandbox
	pol.Behaviour.Monitor = true
	db, dbPath, closeDB, err := f.Database()
	if err != nil {
		return err
	}
	defer closeDB()
	eng := &precheck.Engine{Policy: pol, DB: db, DBPath: dbPath, DBFlag: cmdutil.DBFlag(dbPath)}
	if manager == "npm" {
		md := newNpmMetadata(plan, cfg)
		md.client.Abbreviated = pol.MinReleaseAge <= 0
		eng.Metadata = md
	}
	userName := ""
	if u, err := user.Current(); err == nil {
		userName = u.Username
	}
	cmdutil.QuietLibcontainer(app)
	app.Log.Infof("analysing %s in a throwaway project", spec)
	out, err := install.Install(ctx, install.Options{
		Plan: plan, Engine: eng, Limits: limitsFrom(cfg, pol),
		Home: home, User: userName, Environ: environ, Mode: rootfs.ModeAuto,
		OwnerUID: os.Getuid(), OwnerGID: os.Getgid(),
		// The manager's output is not the report: keep stdout for the report.
		Log: app.Log, Stdout: app.Stderr, Stderr: app.Stderr,
	})
	if err != nil {
		if ctx.Err() != nil {
			return cmdutil.ExitSilently(exitcode.Sandbox)
		}
		return err
	}
	if out.Verdict != nil {
		if err := writeAnalyzeReport(app, o, out.Verdict, report.Options{BaseDir: tmp, ToolVersion: f.Version}); err != nil {
			return err
		}
	}
	if out.Code != 0 {
		app.Log.Error(out.Reason)
		return cmdutil.ExitSilently(out.Code)
	}
	app.Log.Infof("analysed %s: nothing the policy blocks", spec)
	return nil
}

// writeAnalyzeReport writes v in o.Format to o.Output, or to standard output
// (in colour when the terminal takes it) when no --output was given.
func writeAnalyzeReport(app *cmdutil.App, o *AnalyzeOptions, v *precheck.Verdict, opts report.Options) error {
	w := app.Stdout
	if o.Output != "" {
		file, err := os.Create(o.Output)
		if err != nil {
			return exitcode.With(exitcode.Usage, err)
		}
		defer file.Close()
		w = file
	}
	opts.Color = app.Color() && o.Output == ""
	return report.Write(w, o.Format, v, opts)
}

// maxLocalPackage bounds what analyze copies of a local package.
const maxLocalPackage = 256 << 20

// copyLocalPackage copies a tarball or a directory (regular files and
// directories only; symlinks are left out) into dir and returns the spec npm
// installs it by, relative to dir.
func copyLocalPackage(src, dir string) (string, error) {
	st, err := os.Lstat(src)
	if err != nil {
		return "", err
	}
	if st.Mode().IsRegular() {
		if st.Size() > maxLocalPackage {
			return "", fmt.Errorf("%s is larger than %d MiB", src, maxLocalPackage>>20)
		}
		data, err := os.ReadFile(src)
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(dir, "package.tgz"), data, 0o644); err != nil {
			return "", err
		}
		return "./package.tgz", nil
	}
	dst := filepath.Join(dir, "package")
	var total int64
	err = filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "node_modules" && rel != "." {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if total += info.Size(); total > maxLocalPackage {
			return fmt.Errorf("%s holds more than %d MiB", src, maxLocalPackage>>20)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		return "", err
	}
	return "./package", nil
}

// Package db is `phylum-box db update|import|status`, the offline OSV database.
package db

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/cmdutil"
	"github.com/phylum-box/phylum-box/internal/exitcode"
	"github.com/phylum-box/phylum-box/precheck/analysis"
	"github.com/phylum-box/phylum-box/precheck/osvdb"
)

// NewCmdDB is `phylum-box db`, the group of update, import and status.
func NewCmdDB(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "db update|import|status [flags]",
		Short: "update, import or inspect the offline OSV database",
		Long: `The offline OSV database answers the precheck without network access.

  db update   downloads OSV's per-ecosystem exports (<source>/<Ecosystem>/all.zip;
              --source is a base URL such as a team mirror, or a local directory
              laid out the same way) and rebuilds those ecosystems; the others are
              kept. Default: all of npm, PyPI, RubyGems, crates.io. A source that
              also serves toplists/top-{npm,pypi,crates,rubygems}.txt (a team
              mirror: see hack/toplist -mirror) refreshes the typosquatting lists:
              each is checked and stored next to the database; one the source
              does not serve (OSV's export serves none) keeps the list in use.
  db import   merges OSV zips, directories of OSV JSON records or single .json
              files into the database (machines without network, tests). A
              withdrawn record removes the advisory.
  db status   shows the ecosystems, advisory and package counts, the age of
              the data and the typosquatting list in use per ecosystem (built
              in, or fetched when and from where). --format json prints
              {path, format, updated, age_seconds, ecosystems:[{name, records,
              packages, withdrawn, updated, source}], toplists:[{ecosystem,
              stored, path, source, fetched, built, names, problem}]}.

Every change builds a new database file next to the old one and renames it into
place only when it is complete, so an interrupted or corrupt download or import
leaves the current database as it was. Checks running meanwhile keep working.

Exit status: 0 success, 2 usage error, 5 (status) no usable database, 1 any
other failure (download, corrupt export, a typosquatting list refused).`,
		// Without a known subcommand: a usage error, not help and exit 0.
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmdutil.UsageError("db: missing subcommand: update, import or status (see phylum-box db --help)")
			}
			return cmdutil.UsageError("db: unknown subcommand %q: use update, import or status", args[0])
		},
	}
	cmd.AddCommand(NewCmdDBUpdate(f, nil), NewCmdDBImport(f, nil), NewCmdDBStatus(f, nil))
	return cmd
}

// dbPath is the configured database path (--db, PHYLUM_BOX_DB, the config file).
func dbPath(f *cmdutil.Factory) (string, error) {
	cfg, err := f.Config()
	if err != nil {
		return "", err
	}
	if cfg.Database.Path != "" {
		return cfg.Database.Path, nil
	}
	return osvdb.DefaultPath()
}

// progressBars is where progress bars go: stderr on a terminal, outside CI and
// --quiet; nil otherwise.
func progressBars(app *cmdutil.App) io.Writer {
	if app.Progress() {
		return app.Stderr
	}
	return nil
}

// DBUpdateOptions are `db update`'s.
type DBUpdateOptions struct {
	App        *cmdutil.App
	DBPath     string
	Source     string
	Ecosystems []string
	// Bars receives progress bars; nil when stderr is not a terminal, in CI or --quiet.
	Bars io.Writer
}

// NewCmdDBUpdate is `phylum-box db update`.
func NewCmdDBUpdate(f *cmdutil.Factory, runF func(*DBUpdateOptions) error) *cobra.Command {
	o := &DBUpdateOptions{App: f.App}
	var source string
	cmd := &cobra.Command{
		Use:   "update [--ecosystem npm,PyPI,RubyGems,crates.io] [--source URL|DIR] [--db PATH]",
		Short: "download OSV's exports and rebuild those ecosystems",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 0 {
				return cmdutil.UsageError("db update takes no arguments (got %q); use --source for a mirror or directory", args)
			}
			cfg, err := f.Config()
			if err != nil {
				return err
			}
			if o.DBPath, err = dbPath(f); err != nil {
				return err
			}
			o.Source = cmp.Or(source, cfg.Database.Source)
			o.Bars = progressBars(f.App)
			if runF != nil {
				return runF(o)
			}
			return runDBUpdate(cmd.Context(), o)
		},
	}
	fs := cmd.Flags()
	cmdutil.AddConfigFlags(fs, "database.source")
	fs.StringVar(&source, "source", "", "base URL or directory of the OSV exports (overrides --db-source)")
	fs.StringSliceVar(&o.Ecosystems, "ecosystem", nil, "ecosystems to download (comma-separated; default all: "+strings.Join(osvdb.Ecosystems, ",")+")")
	return cmd
}

func runDBUpdate(ctx context.Context, o *DBUpdateOptions) error {
	var ecos []string
	for _, e := range o.Ecosystems {
		c, ok := osvdb.CanonicalEcosystem(e)
		if !ok {
			return cmdutil.UsageError("db update: unknown ecosystem %q: choose from %s", e, strings.Join(osvdb.Ecosystems, ", "))
		}
		ecos = append(ecos, c)
	}
	if err := osvdb.Update(ctx, o.DBPath, o.Source, ecos, &osvdb.Progress{Bars: o.Bars, Logf: o.App.Log.Infof}); err != nil {
		return err
	}
	o.App.Log.Infof("OSV database updated: %s", o.DBPath)
	return updateTopLists(ctx, o.App, o.DBPath, o.Source, ecos) // toplists.go
}

// DBImportOptions are `db import`'s.
type DBImportOptions struct {
	App    *cmdutil.App
	DBPath string
	Paths  []string
	Bars   io.Writer
}

// NewCmdDBImport is `phylum-box db import`.
func NewCmdDBImport(f *cmdutil.Factory, runF func(*DBImportOptions) error) *cobra.Command {
	o := &DBImportOptions{App: f.App}
	return &cobra.Command{
		Use:   "import [--db PATH] PATH...",
		Short: "merge OSV zips, directories of OSV JSON or .json files into the database",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmdutil.UsageError("db import: give one or more OSV zips, directories of OSV JSON or .json files")
			}
			var err error
			if o.DBPath, err = dbPath(f); err != nil {
				return err
			}
			o.Paths = args
			o.Bars = progressBars(f.App)
			if runF != nil {
				return runF(o)
			}
			return runDBImport(cmd.Context(), o)
		},
	}
}

func runDBImport(ctx context.Context, o *DBImportOptions) error {
	for _, a := range o.Paths {
		if _, err := os.Stat(a); err != nil {
			return exitcode.With(exitcode.Usage, fmt.Errorf("db import: %w", err))
		}
	}
	if err := osvdb.Import(ctx, o.DBPath, o.Paths, &osvdb.Progress{Bars: o.Bars, Logf: o.App.Log.Infof}); err != nil {
		return err
	}
	o.App.Log.Infof("OSV database updated: %s", o.DBPath)
	return nil
}

// DBStatusOptions are `db status`'s.
type DBStatusOptions struct {
	App    *cmdutil.App
	DBPath string
	Format string
	Now    time.Time
}

// NewCmdDBStatus is `phylum-box db status`.
func NewCmdDBStatus(f *cmdutil.Factory, runF func(*DBStatusOptions) error) *cobra.Command {
	o := &DBStatusOptions{App: f.App}
	cmd := &cobra.Command{
		Use:   "status [--db PATH] [--format text|json]",
		Short: "show the ecosystems, advisory and package counts and the age of the data",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 0 {
				return cmdutil.UsageError("db status takes no arguments (got %q)", args)
			}
			var err error
			if o.DBPath, err = dbPath(f); err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			return runDBStatus(o)
		},
	}
	cmd.Flags().StringVar(&o.Format, "format", "text", "output format: text, json")
	cmdutil.FlagChoices(cmd.Flags(), "format", "text", "json")
	return cmd
}

// dbStatusJSON is the documented `db status --format json` shape.
type dbStatusJSON struct {
	osvdb.Status
	AgeSeconds int64 `json:"age_seconds"`
	// TopLists are the typosquatting lists in use, one per ecosystem.
	TopLists []analysis.TopListInfo `json:"toplists"`
}

func runDBStatus(o *DBStatusOptions) error {
	app := o.App
	if o.Format != "text" && o.Format != "json" {
		return exitcode.With(exitcode.Usage, fmt.Errorf("db status: unknown format %q: use text or json", o.Format))
	}
	db, err := osvdb.Open(o.DBPath)
	if err != nil {
		return exitcode.With(exitcode.Incomplete, err)
	}
	defer db.Close()
	st, err := db.Status()
	if err != nil {
		return exitcode.With(exitcode.Incomplete, fmt.Errorf("%s: %w (run `phylum-box db update`)", o.DBPath, err))
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	if o.Format == "json" {
		enc := json.NewEncoder(app.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(dbStatusJSON{Status: st, AgeSeconds: int64(st.Age(now) / time.Second), TopLists: analysis.LoadTopLists(o.DBPath).Info()})
	}
	w := app.Stdout
	fmt.Fprintf(w, "database: %s\n", st.Path)
	fmt.Fprintf(w, "updated:  %s (%s ago)\n", st.Updated.UTC().Format("2006-01-02 15:04 MST"), cmdutil.RoundAge(st.Age(now)))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ECOSYSTEM\tADVISORIES\tPACKAGES\tUPDATED")
	for _, e := range st.Ecosystems {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s ago\n", e.Name, e.Records, e.Packages, cmdutil.RoundAge(now.Sub(e.Updated)))
	}
	for _, eco := range osvdb.Ecosystems {
		if _, ok := st.Ecosystem(eco); !ok {
			fmt.Fprintf(tw, "%s\t-\t-\tnever (run `phylum-box db update --ecosystem %s`)\n", eco, eco)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return writeTopListsStatus(w, analysis.LoadTopLists(o.DBPath).Info())
}

package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/phylum-box/phylum-box/internal/config"
	"github.com/phylum-box/phylum-box/internal/exitcode"
	"github.com/phylum-box/phylum-box/precheck/osvdb"
)

func init() {
	register(&Command{
		Name:  "db",
		Usage: "db update [--ecosystem npm,PyPI,RubyGems,crates.io] [--source URL|DIR] [--db PATH] | db import [--db PATH] PATH... | db status [--db PATH] [--format text|json]",
		Short: "update, import or inspect the offline OSV database",
		Long: `The offline OSV database answers the precheck without network access.

  db update   downloads OSV's per-ecosystem exports (<source>/<Ecosystem>/all.zip;
              --source is a base URL such as a team mirror, or a local directory
              laid out the same way) and rebuilds those ecosystems; the others are
              kept. Default: all of npm, PyPI, RubyGems, crates.io.
  db import   merges OSV zips, directories of OSV JSON records or single .json
              files into the database (machines without network, tests). A
              withdrawn record removes the advisory.
  db status   shows the ecosystems, advisory and package counts and the age of
              the data. --format json prints
              {path, format, updated, age_seconds, ecosystems:[{name, records,
              packages, withdrawn, updated, source}]}.

Every change builds a new database file next to the old one and renames it into
place only when it is complete, so an interrupted or corrupt download or import
leaves the current database as it was. Checks running meanwhile keep working.

Exit status: 0 success, 2 usage error, 5 (status) no usable database, 1 any
other failure (download, corrupt export).`,
		Flags: func(app *App, fs *pflag.FlagSet) func(context.Context, []string) error {
			o := &dbOptions{}
			cfg, cfgErr := config.Load(app.ConfigPath, nil)
			if cfgErr != nil {
				cfg = config.Defaults(os.Getenv)
			}
			cfg.AddDatabaseFlags(fs)
			fs.StringVar(&o.Source, "source", "", "update: base URL or directory of the OSV exports (overrides --db-source)")
			fs.StringSliceVar(&o.Ecosystems, "ecosystem", nil, "update: ecosystems to download (comma-separated; default all: "+strings.Join(osvdb.Ecosystems, ",")+")")
			fs.StringVar(&o.Format, "format", cmp.Or(app.Format, "text"), "status: output format: text, json")
			return func(ctx context.Context, args []string) error {
				if cfgErr != nil {
					return exitcode.With(exitcode.Usage, cfgErr)
				}
				if len(args) == 0 {
					return exitcode.With(exitcode.Usage, errors.New("db: missing subcommand: update, import or status (see phylum-box db --help)"))
				}
				o.DBPath = cfg.Database.Path
				if o.Source == "" {
					o.Source = cfg.Database.Source
				}
				o.changed = func(name string) bool { return fs.Changed(name) }
				if app.Progress() {
					o.Bars = app.Stderr
				}
				return dbRun(ctx, app, o, args[0], args[1:])
			}
		},
	})
}

// dbOptions is everything the db subcommands need; tests build it directly.
type dbOptions struct {
	DBPath     string
	Source     string
	Ecosystems []string
	Format     string
	// Bars receives progress bars; nil when stderr is not a terminal, in CI or --quiet.
	Bars io.Writer
	Now  time.Time
	// changed reports whether a flag was given (for per-subcommand validation).
	changed func(string) bool
}

func dbRun(ctx context.Context, app *App, o *dbOptions, sub string, args []string) error {
	if o.DBPath == "" {
		p, err := osvdb.DefaultPath()
		if err != nil {
			return err
		}
		o.DBPath = p
	}
	// Reject flags that belong to another subcommand, rather than ignoring them.
	only := map[string][]string{
		"update": {"source", "db-source", "ecosystem"},
		"import": {},
		"status": {"format"},
	}
	allowed, ok := only[sub]
	if !ok {
		return exitcode.With(exitcode.Usage, fmt.Errorf("db: unknown subcommand %q: use update, import or status", sub))
	}
	for _, f := range []string{"source", "db-source", "ecosystem", "format"} {
		if o.changed != nil && o.changed(f) && !slices.Contains(allowed, f) {
			return exitcode.With(exitcode.Usage, fmt.Errorf("db %s: --%s does not apply (see phylum-box db --help)", sub, f))
		}
	}
	progress := &osvdb.Progress{Bars: o.Bars, Logf: app.Log.Infof}
	switch sub {
	case "update":
		if len(args) != 0 {
			return exitcode.With(exitcode.Usage, fmt.Errorf("db update takes no arguments (got %q); use --source for a mirror or directory", args))
		}
		var ecos []string
		for _, e := range o.Ecosystems {
			c, ok := osvdb.CanonicalEcosystem(e)
			if !ok {
				return exitcode.With(exitcode.Usage, fmt.Errorf("db update: unknown ecosystem %q: choose from %s", e, strings.Join(osvdb.Ecosystems, ", ")))
			}
			ecos = append(ecos, c)
		}
		if err := osvdb.Update(ctx, o.DBPath, o.Source, ecos, progress); err != nil {
			return err
		}
		app.Log.Infof("OSV database updated: %s", o.DBPath)
		return nil
	case "import":
		if len(args) == 0 {
			return exitcode.With(exitcode.Usage, errors.New("db import: give one or more OSV zips, directories of OSV JSON or .json files"))
		}
		for _, a := range args {
			if _, err := os.Stat(a); err != nil {
				return exitcode.With(exitcode.Usage, fmt.Errorf("db import: %w", err))
			}
		}
		if err := osvdb.Import(ctx, o.DBPath, args, progress); err != nil {
			return err
		}
		app.Log.Infof("OSV database updated: %s", o.DBPath)
		return nil
	default: // status
		if len(args) != 0 {
			return exitcode.With(exitcode.Usage, fmt.Errorf("db status takes no arguments (got %q)", args))
		}
		return dbStatus(app, o)
	}
}

// dbStatusJSON is the documented `db status --format json` shape.
type dbStatusJSON struct {
	osvdb.Status
	AgeSeconds int64 `json:"age_seconds"`
}

func dbStatus(app *App, o *dbOptions) error {
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
		return enc.Encode(dbStatusJSON{Status: st, AgeSeconds: int64(st.Age(now) / time.Second)})
	}
	w := app.Stdout
	fmt.Fprintf(w, "database: %s\n", st.Path)
	fmt.Fprintf(w, "updated:  %s (%s ago)\n", st.Updated.UTC().Format("2006-01-02 15:04 MST"), dbRoundAge(st.Age(now)))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ECOSYSTEM\tADVISORIES\tPACKAGES\tUPDATED")
	for _, e := range st.Ecosystems {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s ago\n", e.Name, e.Records, e.Packages, dbRoundAge(now.Sub(e.Updated)))
	}
	for _, eco := range osvdb.Ecosystems {
		if _, ok := st.Ecosystem(eco); !ok {
			fmt.Fprintf(tw, "%s\t-\t-\tnever (run `phylum-box db update --ecosystem %s`)\n", eco, eco)
		}
	}
	return tw.Flush()
}

// dbRoundAge prints an age at a precision a person cares about.
func dbRoundAge(d time.Duration) string {
	switch {
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < 48*time.Hour:
		return d.Round(time.Minute).String()
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

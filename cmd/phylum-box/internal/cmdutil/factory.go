package cmdutil

import (
	"context"
	"errors"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/phylum-box/phylum-box/container"
	"github.com/phylum-box/phylum-box/internal/config"
	"github.com/phylum-box/phylum-box/internal/exitcode"
	"github.com/phylum-box/phylum-box/precheck"
	"github.com/phylum-box/phylum-box/precheck/osvdb"
	"github.com/phylum-box/phylum-box/precheck/policy"
)

// Factory gives the commands what they share: the I/O streams and global settings
// (App), and the configuration, policy and database, each resolved only when a
// command asks for it — after every flag, wherever it stood on the command line,
// has been parsed. `phylum-box check --config FILE` reads FILE because nothing is
// loaded while the flags are being defined.
type Factory struct {
	App *App

	// Version is this binary's version.
	Version string

	// cmd is the command being run; its config flags (--db, --memory, …) are
	// applied over the loaded configuration.
	cmd    *cobra.Command
	cfg    *config.Config
	cfgErr error
}

// SetCommand names the command being run (the root's pre-run hook).
func (f *Factory) SetCommand(cmd *cobra.Command) { f.cmd = cmd }

// Config is the configuration: built-in defaults, the config file (--config or the
// default path), the PHYLUM_BOX_* variables, then the config flags the user gave to
// the running command. Loaded once. Its errors are usage errors.
func (f *Factory) Config() (*config.Config, error) {
	if f.cfg != nil || f.cfgErr != nil {
		return f.cfg, f.cfgErr
	}
	cfg, err := config.Load(f.App.ConfigPath, os.Getenv)
	if err == nil && f.cmd != nil {
		err = applyConfigFlags(cfg, f.cmd.Flags())
	}
	if err != nil {
		f.cfgErr = exitcode.With(exitcode.Usage, err)
		return nil, f.cfgErr
	}
	f.cfg = cfg
	return cfg, nil
}

// Policy is the policy for a project in projectDir: the built-in defaults, the
// user's policy file, the project's .phylum-box.yaml, then the configured policy
// file (--policy, policy: in the config). Its errors are usage errors.
func (f *Factory) Policy(projectDir string) (*policy.Policy, error) {
	cfg, err := f.Config()
	if err != nil {
		return nil, err
	}
	pol, err := policy.Load(policy.Sources{ProjectDir: projectDir, File: cfg.Policy})
	if err != nil {
		return nil, exitcode.With(exitcode.Usage, err)
	}
	return pol, nil
}

// Database opens the configured OSV database for the precheck; see OpenDatabase.
func (f *Factory) Database() (db precheck.Database, path string, closeDB func(), err error) {
	cfg, err := f.Config()
	if err != nil {
		return nil, "", nil, err
	}
	db, closeDB = OpenDatabase(cfg.Database.Path)
	return db, cfg.Database.Path, closeDB, nil
}

// DBFlag is the --db option that names the database at path to `phylum-box db
// update` and `db import` (precheck.Engine.DBFlag), "" when path is the default
// (osvdb.DefaultPath, PHYLUM_BOX_DB included).
func DBFlag(path string) string {
	if def, err := osvdb.DefaultPath(); path == "" || err == nil && def == path {
		return ""
	}
	if strings.Trim(path, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./@+=:,") == "" {
		return "--db " + path
	}
	return "--db " + ShQuote(path) // quote.go
}

// OpenDatabase opens the OSV database at path for the precheck engine. A missing
// one is nil (the engine decides under database.when_stale: incomplete, or a
// warning); one that exists but cannot be opened answers every lookup with why.
func OpenDatabase(path string) (precheck.Database, func()) {
	db, err := osvdb.Open(path)
	switch {
	case err == nil:
		return osvdb.Engine(db), func() { db.Close() }
	case errors.Is(err, osvdb.ErrNoDatabase):
		return nil, func() {}
	default:
		return unusableDatabase{err}, func() {}
	}
}

// ConfigLimits are the configuration's sandbox limits.
func ConfigLimits(cfg *config.Config) container.Limits {
	return container.Limits{
		Memory:  int64(cfg.Limits.Memory),
		Pids:    cfg.Limits.Pids,
		CPUs:    cfg.Limits.CPUs,
		Timeout: cfg.Limits.Timeout,
		Disk:    int64(cfg.Limits.Disk),
	}
}

// Config flags. A flag that sets a config key (--db, --policy, --memory, …) is
// defined before the configuration is known: it checks and keeps what the user
// typed, and the Factory applies it over the loaded configuration (the last step
// of the precedence chain, with "flag --NAME" as its origin).

// configKeyAnnotation marks a flag that sets a config key; its value is the key.
const configKeyAnnotation = "phylum-box/config-key"

// Flag groups, by config key.
var (
	DatabaseKeys = []string{"database.path", "database.source"}
	PolicyKeys   = []string{"policy"}
	LimitKeys    = []string{"limits.memory", "limits.pids", "limits.cpus", "limits.timeout", "limits.disk"}
)

// AddConfigFlags defines the flags of keys on fs. Their usage, type and value
// parsing are the config package's; the default shown is the built-in one read
// through the environment (help shows the loaded configuration's, see
// ShowConfiguredDefaults).
func AddConfigFlags(fs *pflag.FlagSet, keys ...string) {
	scratch := config.Defaults(os.Getenv)
	defs := pflag.NewFlagSet("config", pflag.ContinueOnError)
	for _, k := range keys {
		switch k {
		case "database.path", "database.source":
			scratch.AddDatabaseFlags(defs)
		case "policy":
			scratch.AddPolicyFlag(defs)
		default:
			scratch.AddLimitFlags(defs)
		}
		name := config.FlagName(k)
		def := defs.Lookup(name)
		if def == nil || fs.Lookup(name) != nil {
			continue
		}
		// Setting the scratch configuration's value checks the text ("invalid size").
		fs.Var(&configFlagValue{Value: def.Value}, name, def.Usage)
		fs.Lookup(name).DefValue = def.DefValue
		if err := fs.SetAnnotation(name, configKeyAnnotation, []string{k}); err != nil {
			panic(err)
		}
	}
}

// configFlagValue keeps the text of a config flag the user gave; Value, bound to a
// scratch configuration, parses and checks it.
type configFlagValue struct {
	pflag.Value
	text string
}

func (v *configFlagValue) Set(s string) error {
	if err := v.Value.Set(s); err != nil {
		return err
	}
	v.text = s
	return nil
}

// applyConfigFlags sets cfg's keys from the config flags given on fs.
func applyConfigFlags(cfg *config.Config, fs *pflag.FlagSet) error {
	var err error
	// Changed, not Visit: a global flag parsed before a package manager's name was
	// parsed by the root's flag set, not the command's.
	fs.VisitAll(func(fl *pflag.Flag) {
		if !fl.Changed {
			return
		}
		key, ok := fl.Annotations[configKeyAnnotation]
		v, isConfig := fl.Value.(*configFlagValue)
		if !ok || !isConfig || err != nil {
			return
		}
		err = cfg.Set(key[0], v.text)
	})
	return err
}

// ShowConfiguredDefaults makes the defaults that help prints for config flags the
// loaded configuration's (the config file and PHYLUM_BOX_* variables), as they
// would apply. An unreadable configuration leaves the built-in defaults; running
// the command reports it.
func ShowConfiguredDefaults(f *Factory, fs *pflag.FlagSet) {
	cfg, err := config.Load(f.App.ConfigPath, os.Getenv)
	if err != nil {
		return
	}
	current := map[string]string{}
	for _, s := range cfg.Settings() {
		current[s.Key] = s.Value
	}
	fs.VisitAll(func(fl *pflag.Flag) {
		if key, ok := fl.Annotations[configKeyAnnotation]; ok {
			if v, ok := current[key[0]]; ok {
				fl.DefValue = v
			}
		}
	})
}

// unusableDatabase stands for a database file that exists but cannot be opened
// (corrupt, wrong format, locked): the engine reports it like a missing one, with
// the reason, under database.when_stale.
type unusableDatabase struct{ err error }

func (u unusableDatabase) LookupAll(context.Context, []precheck.Package) ([]precheck.Lookup, error) {
	return nil, u.err
}

func (u unusableDatabase) Status() (precheck.DatabaseStatus, error) {
	return precheck.DatabaseStatus{}, u.err
}

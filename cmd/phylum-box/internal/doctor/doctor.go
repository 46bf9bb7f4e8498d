// Package doctor is `phylum-box doctor` (what the sandbox and the precheck can
// rely on here, for you) and `phylum-box setup` (root prepares a user once).
package doctor

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/cmdutil"
	"github.com/phylum-box/phylum-box/internal/config"
	diag "github.com/phylum-box/phylum-box/internal/doctor"
	"github.com/phylum-box/phylum-box/internal/exitcode"
	"github.com/phylum-box/phylum-box/managers"
	"github.com/phylum-box/phylum-box/precheck/analysis"
	"github.com/phylum-box/phylum-box/precheck/osvdb"
	"github.com/phylum-box/phylum-box/precheck/policy"
)

// DoctorOptions are `doctor`'s.
type DoctorOptions struct {
	App     *cmdutil.App
	Version string
	Format  string
	// Config is the configuration the diagnosis is for (database path, limits).
	Config *config.Config
}

// NewCmdDoctor is `phylum-box doctor`.
func NewCmdDoctor(f *cmdutil.Factory, runF func(*DoctorOptions) error) *cobra.Command {
	o := &DoctorOptions{App: f.App, Version: f.Version}
	cmd := &cobra.Command{
		Use:   "doctor [--format text|json]",
		Short: "diagnose what phylum-box can protect on this machine, for you (changes nothing)",
		Long: `Checks, as the user who runs it, everything the sandbox and the precheck rely on,
and says what to do about each gap:

  user namespaces       allowed for you? (user.max_user_namespaces,
                        kernel.unprivileged_userns_clone, Ubuntu's AppArmor
                        kernel.apparmor_restrict_unprivileged_userns); one is
                        really created to be sure
  newuidmap/newgidmap   present, setuid root or with file capabilities
  subordinate ids       your ranges in /etc/subuid and /etc/subgid
  cgroups               v1, hybrid or v2; the cgroup delegated to you by
                        'sudo phylum-box setup --user NAME'
  limits                how the configured memory, pids, CPU and timeout limits
                        will be enforced (cgroup, RLIMIT_NPROC) or why not
  seccomp               compiled in (the seccomp build tag), libseccomp linked
  Landlock              scoping of abstract unix sockets for steps with network
  project overlay       whether an install in this directory can use an overlay
  OSV database          present, how old (from the configured database path)
  package managers      which of the supported ones are on PATH

It ends with a verdict: "protected", "degraded: <what>" (the sandbox runs with
a protection missing) or "not protected: <what>" (installs cannot run in the
sandbox, or are not checked).

--format json prints {version, user, uid, root, kernel, cgroup_mode,
checks:[{id, title, level, detail, fix}], verdict:{level, summary}} with level
one of ok, info, degraded, "not protected".

Exit status: 0 protected (checks at ok or info only); 1 degraded or not
protected (the verdict line and the JSON say which); 2 usage error.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 0 {
				return cmdutil.UsageError("doctor takes no arguments (got %q)", args)
			}
			if o.Format != "text" && o.Format != "json" {
				return cmdutil.UsageError("doctor: --format %q: want text or json", o.Format)
			}
			var err error
			if o.Config, err = f.Config(); err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			return runDoctor(o)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.Format, "format", "text", "output format: text, json")
	cmdutil.FlagChoices(fs, "format", "text", "json")
	cmdutil.AddConfigFlags(fs, "database.source")
	cmdutil.AddConfigFlags(fs, cmdutil.LimitKeys...)
	return cmd
}

func runDoctor(o *DoctorOptions) error {
	rep := doctor(o.Config, o.Version, time.Now(), exec.LookPath)
	if err := writeDoctorReport(o.App.Stdout, rep, o.Format); err != nil {
		return err
	}
	if rep.Summary.Level > diag.LevelInfo {
		return cmdutil.ExitSilently(exitcode.Internal)
	}
	return nil
}

type doctorReport struct {
	Version    string         `json:"version"`
	User       string         `json:"user"`
	UID        int            `json:"uid"`
	Root       bool           `json:"root"`
	Kernel     string         `json:"kernel"`
	CgroupMode string         `json:"cgroup_mode"`
	Checks     []diag.Check   `json:"checks"`
	Summary    diag.Summary   `json:"verdict"`
	facts      diag.HostFacts // for the heading only
}

// doctor diagnoses the host for the calling user and adds the parts that are
// phylum-box's own rather than the kernel's: the OSV database and the package
// managers.
func doctor(cfg *config.Config, version string, now time.Time, lookPath func(string) (string, error)) doctorReport {
	f := diag.GatherHostFacts(os.Geteuid(), cmdutil.ConfigLimits(cfg))
	checks := diag.Diagnose(f)

	dbPath := cfg.Database.Path
	var st *osvdb.Status
	db, err := osvdb.Open(dbPath)
	if err == nil {
		s, serr := db.Status()
		db.Close()
		if serr != nil {
			err = serr
		} else {
			st = &s
		}
	}
	checks = append(checks, dbCheck(dbPath, st, err, now, policy.Default().Database.MaxAge))
	// Which typosquatting lists the install uses: built in, or refreshed by db update.
	checks = append(checks, diag.Check{ID: "typosquat-lists", Title: "typosquatting lists", Level: diag.LevelInfo, Detail: analysis.LoadTopLists(dbPath).Summary()})

	found := map[string]string{}
	for _, n := range managers.Names() {
		if p, err := lookPath(n); err == nil {
			found[n] = p
		}
	}
	checks = append(checks, managersCheck(managers.Names(), found))
	checks = append(checks, homePythonCheck(os.Getenv("HOME"), lookPath))
	return newDoctorReport(f, version, checks)
}

func newDoctorReport(f diag.HostFacts, version string, checks []diag.Check) doctorReport {
	return doctorReport{
		Version: version, User: f.User, UID: f.UID, Root: f.Caps.Root, Kernel: f.Kernel,
		CgroupMode: string(f.Caps.CgroupMode), Checks: checks, Summary: diag.Summarize(checks), facts: f,
	}
}

// dbCheck grades the OSV database: missing or unreadable means nothing is
// checked (and a fail-closed policy stops every install), older than the
// default policy's max_age means findings may be missed.
func dbCheck(path string, st *osvdb.Status, openErr error, now time.Time, maxAge time.Duration) diag.Check {
	ch := diag.Check{ID: "osv-db", Title: "OSV database"}
	if openErr != nil {
		ch.Level = diag.LevelBroken
		if errors.Is(openErr, osvdb.ErrNoDatabase) {
			ch.Detail = "no OSV database at " + path + ": packages are not checked for malware or vulnerabilities (the default policy stops installs with exit 5)"
		} else {
			ch.Detail = openErr.Error()
		}
		ch.Fix = []string{"phylum-box db update   # or, offline: phylum-box db import FILE.zip"}
		return ch
	}
	var recs int
	var ecos []string
	for _, e := range st.Ecosystems {
		recs += e.Records
		ecos = append(ecos, e.Name)
	}
	age := st.Age(now)
	ageText := "never updated"
	if !st.Updated.IsZero() {
		ageText = "updated " + cmdutil.RoundAge(age) + " ago (" + st.Updated.UTC().Format(time.RFC3339) + ")"
	}
	ch.Detail = fmt.Sprintf("%s: %d advisories for %s, %s", path, recs, orNone(strings.Join(ecos, ", ")), ageText)
	switch {
	case len(st.Ecosystems) == 0:
		ch.Level = diag.LevelBroken
		ch.Detail += "; it holds no ecosystem"
		ch.Fix = []string{"phylum-box db update"}
	case age > maxAge:
		ch.Level = diag.LevelDegraded
		ch.Detail += fmt.Sprintf("; older than the default policy's max_age %gh, so installs stop until it is updated", maxAge.Hours())
		ch.Fix = []string{"phylum-box db update"}
	default:
		ch.Level = diag.LevelOK
	}
	return ch
}

func orNone(s string) string {
	if s == "" {
		return "no ecosystem"
	}
	return s
}

// managersCheck lists the supported package managers found on PATH, for which
// shell-init would set up aliases. Finding none is information, not a fault.
// homePythonCheck says what phylum-box does with a python3 that lives under $HOME
// (pyenv, conda, …), which the sandbox hides: a virtualenv made from it works when
// it is in a layout phylum-box knows (that installation is seen read-only, nothing
// else of $HOME), else pip installs in such a venv are refused.
func homePythonCheck(home string, lookPath func(string) (string, error)) diag.Check {
	ch := diag.Check{ID: "python-home", Title: "python3 under your home directory", Level: diag.LevelInfo}
	py, err := lookPath("python3")
	if err != nil {
		ch.Detail = "no python3 on PATH"
		return ch
	}
	dir, err := managers.HomeInterpreter(managers.Env{Home: home}, py)
	switch {
	case err != nil:
		ch.Detail = py + ": " + err.Error() + "; pip installs in a virtualenv made from it are refused"
		ch.Fix = []string{"make the project's virtualenv with the system python: /usr/bin/python3 -m venv --clear .venv"}
	case dir == "":
		ch.Detail = py + " is not under your home directory: nothing of $HOME is needed"
	default:
		ch.Detail = py + " is in " + dir + ": a virtualenv made from it works; the steps see that installation read-only and nothing else of $HOME"
	}
	return ch
}

func managersCheck(names []string, found map[string]string) diag.Check {
	ch := diag.Check{ID: "managers", Title: "package managers", Level: diag.LevelInfo}
	var have, missing []string
	for _, n := range names {
		if p, ok := found[n]; ok {
			have = append(have, n+" ("+p+")")
		} else {
			missing = append(missing, n)
		}
	}
	if len(have) == 0 {
		ch.Detail = "none of " + strings.Join(names, ", ") + " is on PATH"
		return ch
	}
	ch.Detail = "on PATH: " + strings.Join(have, ", ")
	if len(missing) > 0 {
		ch.Detail += "; not found: " + strings.Join(missing, ", ")
	}
	ch.Fix = []string{`route them through phylum-box: eval "$(phylum-box shell-init bash)"   # in ~/.bashrc (zsh, fish too)`}
	return ch
}

func writeDoctorReport(w io.Writer, rep doctorReport, format string) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	who := rep.User
	if who == "" {
		who = "uid " + fmt.Sprint(rep.UID)
	}
	fmt.Fprintf(w, "phylum-box %s — diagnosis for %s (uid %d), kernel %s\n\n", rep.Version, who, rep.UID, rep.Kernel)
	writeChecks(w, rep.Checks)
	fmt.Fprintf(w, "\n%s\n", rep.Summary.Text)
	return nil
}

// writeChecks prints one block per check: a level tag, the title and detail,
// then each fix indented under it (multi-line fixes such as a heredoc keep
// their lines).
func writeChecks(w io.Writer, checks []diag.Check) {
	for _, c := range checks {
		fmt.Fprintf(w, "%-15s %s: %s\n", "["+c.Level.String()+"]", c.Title, c.Detail)
		for _, f := range c.Fix {
			lines := strings.Split(f, "\n")
			fmt.Fprintf(w, "%16s→ %s\n", "", lines[0])
			for _, l := range lines[1:] {
				fmt.Fprintf(w, "%16s  %s\n", "", l)
			}
		}
	}
}

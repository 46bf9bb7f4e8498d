package doctor

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/cmdutil"
	"github.com/phylum-box/phylum-box/container"
	"github.com/phylum-box/phylum-box/internal/config"
	diag "github.com/phylum-box/phylum-box/internal/doctor"
	"github.com/phylum-box/phylum-box/internal/exitcode"
)

// NewCmdSetup is `phylum-box setup`.
func NewCmdSetup(f *cmdutil.Factory, runF func(*SetupOptions) error) *cobra.Command {
	o := &SetupOptions{App: f.App}
	cmd := &cobra.Command{
		Use:   "setup [--user NAME] [--dry-run]",
		Short: "as root, prepare this machine once for a user's rootless sandboxes (subordinate ids, a cgroup)",
		Long: `An ordinary user cannot give themselves subordinate ids or create cgroups, so
without this step a rootless 'phylum-box run' uses a single-id map and enforces
only the timeout and (through RLIMIT_NPROC) the pids limit. Run it once as root
for each user:

  sudo phylum-box setup --user alice

It checks what 'phylum-box doctor' checks, then:

  subordinate ids  adds a free 65536-id range to /etc/subuid and /etc/subgid
                   (usermod --add-subuids/--add-subgids) when the user has none,
                   between SUB_UID_MIN and SUB_UID_MAX of /etc/login.defs and
                   clear of every other user's range;
  cgroup v1/hybrid creates /sys/fs/cgroup/<hierarchy>/phylum-box-<uid> in every
                   mounted hierarchy and gives it to the user; each run makes its
                   own child cgroup there. These directories do not survive a
                   reboot: run setup again from a boot script or a systemd unit;
  cgroup v2        checks that systemd delegates the memory, pids and cpu
                   controllers to the user's service (user@<uid>.service) and
                   otherwise installs a drop-in that does (and reloads systemd).

It never changes kernel settings: where user namespaces are restricted (e.g.
Ubuntu's AppArmor kernel.apparmor_restrict_unprivileged_userns) it prints the
commands to run. Safe to run again: what is in place is left as it is.
--dry-run prints what it would change and changes nothing.

Without --user it explains that rootless use needs --user and checks root's own
use (root needs no delegation and maps container ids to its own range).

Exit status: 0 done (the summary may still say "degraded"); 1 a change failed,
or the user's sandboxes cannot run at all ("not protected"); 2 usage error, or
not run as root.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 0 {
				return cmdutil.UsageError("setup takes no arguments (got %q); name the user with --user NAME", args)
			}
			if runF != nil {
				return runF(o)
			}
			return runSetup(o)
		},
	}
	cmd.Flags().StringVar(&o.User, "user", "", "the user (name or uid) who will run phylum-box rootless")
	cmd.Flags().BoolVar(&o.DryRun, "dry-run", false, "print what would change; change nothing")
	return cmd
}

// SetupOptions are `setup`'s.
type SetupOptions struct {
	App    *cmdutil.App
	User   string
	DryRun bool
}

// setupStep is one change setup makes (or found already made).
type setupStep struct {
	What string // "subordinate ids", "cgroup"
	// Done is what is already in place; Todo what this run changes.
	Done, Todo string
	// do makes the change and returns anything the admin must still do.
	do func() (string, error)
}

func runSetup(o *SetupOptions) error {
	app := o.App
	if os.Geteuid() != 0 {
		name := o.User
		if name == "" {
			if u, err := user.Current(); err == nil {
				name = u.Username
			} else {
				name = strconv.Itoa(os.Getuid())
			}
		}
		return exitcode.With(exitcode.Usage, fmt.Errorf("setup changes /etc/subuid, /etc/subgid and cgroups, so it must run as root: sudo phylum-box setup --user %s (run `phylum-box doctor` to see what is missing without changing anything)", name))
	}
	limits := cmdutil.ConfigLimits(config.Defaults(os.Getenv))
	var u *user.User
	if o.User != "" {
		var err error
		if u, err = user.Lookup(o.User); err != nil {
			if u, err = user.LookupId(o.User); err != nil {
				return exitcode.With(exitcode.Usage, fmt.Errorf("setup: no user %q (see getent passwd)", o.User))
			}
		}
	}
	if u == nil || u.Uid == "0" {
		if u == nil {
			fmt.Fprintf(app.Stdout, "No --user given: rootless use needs one setup per user, e.g.\n  sudo phylum-box setup --user alice\n")
		}
		fmt.Fprintf(app.Stdout, "Root's own use needs nothing: root gives each run its own cgroup and maps container ids to its /etc/subuid range (or %d+).\n\n", container.RootFallbackBase)
		f := diag.GatherHostFacts(0, limits)
		checks := diag.Diagnose(f)
		return setupSummary(app.Stdout, "root", checks)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("setup: user %s has a non-numeric uid %q or gid %q", u.Username, u.Uid, u.Gid)
	}

	steps, err := planSetup(u.Username, uid, gid)
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	fmt.Fprintf(app.Stdout, "phylum-box setup for %s (uid %d)\n\n", u.Username, uid)
	var failed []string
	changed := false
	for _, s := range steps {
		switch {
		case s.Todo == "":
			fmt.Fprintf(app.Stdout, "  in place     %s: %s\n", s.What, s.Done)
		case o.DryRun:
			fmt.Fprintf(app.Stdout, "  would        %s: %s\n", s.What, s.Todo)
		default:
			note, err := s.do()
			if err != nil {
				fmt.Fprintf(app.Stdout, "  FAILED       %s: %s: %v\n", s.What, s.Todo, err)
				failed = append(failed, s.What)
				continue
			}
			changed = true
			fmt.Fprintf(app.Stdout, "  done         %s: %s\n", s.What, s.Todo)
			if note != "" {
				fmt.Fprintf(app.Stdout, "  still to do  %s\n", note)
			}
		}
	}
	if !changed && !o.DryRun && len(failed) == 0 {
		fmt.Fprintf(app.Stdout, "  nothing to change: %s is already set up\n", u.Username)
	}
	fmt.Fprintln(app.Stdout)
	if o.DryRun {
		fmt.Fprintf(app.Stdout, "Dry run: nothing was changed. The diagnosis below is the current state.\n\n")
	}
	f := diag.GatherHostFacts(uid, limits)
	err = setupSummary(app.Stdout, u.Username, diag.Diagnose(f))
	fmt.Fprintf(app.Stdout, "\nThe OSV database and the package managers are per user: as %s, run `phylum-box doctor`.\n", u.Username)
	if len(failed) > 0 {
		return fmt.Errorf("setup: %s failed (see above)", strings.Join(failed, ", "))
	}
	return err
}

// setupSummary prints the diagnosis and verdict; only a sandbox that cannot
// run at all fails the command (degraded is a summary, not an error).
func setupSummary(w io.Writer, who string, checks []diag.Check) error {
	fmt.Fprintf(w, "Diagnosis for %s:\n", who)
	writeChecks(w, checks)
	v := diag.Summarize(checks)
	fmt.Fprintf(w, "\n%s\n", v.Text)
	if v.Level == diag.LevelBroken {
		return cmdutil.ExitSilently(exitcode.Internal)
	}
	return nil
}

// planSetup works out the changes for the user without making them.
func planSetup(name string, uid, gid int) ([]setupStep, error) {
	var steps []setupStep

	subuids, err := container.ReadSubIDFile("/etc/subuid")
	if err != nil {
		return nil, err
	}
	subgids, err := container.ReadSubIDFile("/etc/subgid")
	if err != nil {
		return nil, err
	}
	haveU, haveG := container.RangesOf(subuids, name, uid), container.RangesOf(subgids, name, uid)
	ids := setupStep{What: "subordinate ids"}
	if len(haveU) > 0 && len(haveG) > 0 {
		ids.Done = fmt.Sprintf("uids %s, gids %s", haveU[0], haveG[0])
	} else {
		lo, hi, count := diag.SubIDBounds("/etc/login.defs")
		start, err := diag.FreeSubIDRange(append(subuids, subgids...), lo, hi, count)
		if err != nil {
			return nil, err
		}
		r := container.SubIDRange{Start: start, Count: count}.String()
		args := []string{}
		var what []string
		if len(haveU) == 0 {
			args = append(args, "--add-subuids", r)
			what = append(what, "uids")
		}
		if len(haveG) == 0 {
			args = append(args, "--add-subgids", r)
			what = append(what, "gids")
		}
		args = append(args, name)
		ids.Todo = fmt.Sprintf("add %s %s (usermod %s)", strings.Join(what, " and "), r, strings.Join(args, " "))
		ids.do = func() (string, error) {
			usermod := adminTool("usermod")
			if usermod == "" {
				return "", fmt.Errorf("usermod not found: add the line %s:%d:%d to /etc/subuid and /etc/subgid by hand", name, start, count)
			}
			if out, err := exec.Command(usermod, args...).CombinedOutput(); err != nil {
				return "", fmt.Errorf("usermod %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
			}
			return "", nil
		}
	}
	steps = append(steps, ids)

	mode, targets, err := diag.PlanDelegation(uid)
	if err != nil {
		return nil, err
	}
	cg := setupStep{What: "cgroup " + string(mode)}
	var create, give, dropIn, done []string
	for _, t := range targets {
		switch {
		case t.Exists && t.Owned:
			done = append(done, t.Path)
		case t.Exists:
			give = append(give, t.Path)
		case mode == container.CgroupV2:
			dropIn = append(dropIn, "write "+t.Path+" (Delegate=cpu cpuset io memory pids) and reload systemd")
		default:
			create = append(create, t.Path)
		}
	}
	var todo []string
	if len(create) > 0 {
		todo = append(todo, "create "+diag.CompactPaths(create))
	}
	if len(give) > 0 {
		todo = append(todo, "give "+diag.CompactPaths(give)+" to "+name)
	}
	todo = append(todo, dropIn...)
	if len(todo) == 0 {
		cg.Done = "delegated: " + diag.CompactPaths(done)
	} else {
		cg.Todo = strings.Join(todo, "; ")
		cg.do = func() (string, error) {
			rep, err := diag.Delegate(uid, gid)
			if err != nil {
				return "", err
			}
			if mode == container.CgroupV2 && len(rep.Created) > 0 {
				// The drop-in takes effect for user@.service at its next start.
				if _, err := os.Stat("/run/systemd/system"); err == nil {
					if out, err := exec.Command(adminTool("systemctl"), "daemon-reload").CombinedOutput(); err != nil {
						return "", fmt.Errorf("systemctl daemon-reload: %v: %s", err, strings.TrimSpace(string(out)))
					}
				}
			}
			var notes []string
			for _, n := range rep.Notes {
				if strings.Contains(n, "log out") {
					notes = append(notes, n)
				}
			}
			return strings.Join(notes, "; "), nil
		}
	}
	steps = append(steps, cg)
	return steps, nil
}

// adminTool finds an administration command such as usermod: on PATH, else in
// the sbin directories a plain user's PATH (kept by `sudo -E` or a minimal
// environment) often lacks.
func adminTool(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, d := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

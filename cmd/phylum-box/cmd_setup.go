package main

import (
	"context"
	"errors"
	"fmt"
	"os/user"
	"strconv"

	"github.com/spf13/pflag"

	"github.com/phylum-box/phylum-box/container"
	"github.com/phylum-box/phylum-box/internal/exitcode"
)

func init() {
	register(&Command{
		Name:  "setup",
		Usage: "setup --user NAME",
		Short: "as root, hand a cgroup to a user so their sandboxes get memory, pids and CPU limits",
		Long: `An ordinary user cannot create cgroups, so without help a rootless 'phylum-box run'
enforces only the timeout and (through RLIMIT_NPROC) the pids limit. Run this once as root
for each user:

  sudo phylum-box setup --user alice

cgroup v1 (and hybrid): creates /sys/fs/cgroup/<hierarchy>/phylum-box-<uid> in every
mounted hierarchy and gives it to the user; each run then makes its own child cgroup
there. cgroup v2: checks that systemd delegates the memory, pids and cpu controllers to
the user's service (user@<uid>.service) and installs a drop-in that does when not.
Safe to run again: what exists is left as it is. cgroup v1 directories do not survive a
reboot; run setup again from a boot script (or a systemd unit) to keep them.`,
		Flags: func(app *App, fs *pflag.FlagSet) func(context.Context, []string) error {
			var name string
			fs.StringVar(&name, "user", "", "the user (name or uid) to delegate a cgroup to")
			return func(ctx context.Context, args []string) error {
				if name == "" || len(args) != 0 {
					return exitcode.With(exitcode.Usage, errors.New("setup: name the user: phylum-box setup --user NAME"))
				}
				return runSetup(app, name)
			}
		},
	})
}

func runSetup(app *App, name string) error {
	u, err := user.Lookup(name)
	if err != nil {
		if u, err = user.LookupId(name); err != nil {
			return exitcode.With(exitcode.Usage, fmt.Errorf("setup: no user %q", name))
		}
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if uid == 0 {
		return exitcode.With(exitcode.Usage, errors.New("setup: root needs no delegation; name the ordinary user who runs phylum-box"))
	}
	rep, err := container.Delegate(uid, gid)
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	app.Log.Infof("cgroup %s: delegating to %s (uid %d)", rep.Mode, u.Username, uid)
	for _, c := range rep.Created {
		fmt.Fprintf(app.Stdout, "created  %s\n", c)
	}
	for _, c := range rep.Chowned {
		fmt.Fprintf(app.Stdout, "owned by %s: %s\n", u.Username, c)
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(app.Stdout, "note: %s\n", n)
	}
	if len(rep.Created) == 0 && len(rep.Chowned) > 0 {
		fmt.Fprintf(app.Stdout, "already set up; ownership re-applied\n")
	}
	return nil
}

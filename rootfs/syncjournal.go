// The sync journal: the step log the applier writes before each step, and the
// recovery that finishes or undoes the sync of a run killed mid-way.

package rootfs

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// The journal is a line per step, written before the step is taken (one write(2) each,
// so a SIGKILL cannot lose it; a power cut can: there is no fsync per step). A run that
// is killed while syncing leaves it in its scratch dir; the next NewScratch for the
// project undoes the steps in reverse (ignoring steps that never happened), or, if the
// "commit" line made it, just removes the leftover backups.
const journalMagic = "phylum-box-sync-journal-v1"

func (a *applier) log(op, rel, arg string) error {
	if a.journal == nil {
		return nil
	}
	line := strconv.Quote(op) + "\t" + strconv.Quote(rel) + "\t" + strconv.Quote(arg) + "\n"
	if _, err := a.journal.WriteString(line); err != nil {
		return fmt.Errorf("write the sync journal: %w", err)
	}
	if op != journalMagic {
		a.steps++
	}
	if afterJournalStep != nil {
		afterJournalStep(op)
	}
	return nil
}

// afterJournalStep lets tests kill the process between two steps of a sync.
var afterJournalStep func(op string)

type journalStep struct{ op, rel, arg string }

// readJournal parses a journal; it returns the project and source it was written for.
func readJournal(p string) (project, source string, steps []journalStep, err error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return "", "", nil, err
	}
	for i, line := range strings.Split(string(data), "\n") {
		if i > 0 && line == "" {
			continue // after the last newline
		}
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			steps = append(steps, journalStep{}) // a torn last line: its step never started
			continue
		}
		var st journalStep
		var e1, e2, e3 error
		st.op, e1 = strconv.Unquote(f[0])
		st.rel, e2 = strconv.Unquote(f[1])
		st.arg, e3 = strconv.Unquote(f[2])
		if e1 != nil || e2 != nil || e3 != nil {
			steps = append(steps, journalStep{}) // keeps step numbers aligned
			continue
		}
		if i == 0 {
			if st.op != journalMagic {
				return "", "", nil, fmt.Errorf("%s is not a sync journal", p)
			}
			project, source = st.rel, st.arg
			continue
		}
		steps = append(steps, st)
	}
	return project, source, steps, nil
}

// recoverJournal finishes or undoes the sync of a killed run. Every step is resolved
// below the project root without following symlinks, as in the sync itself.
func recoverJournal(journal, project, source string) error {
	jp, js, steps, err := readJournal(journal)
	if err != nil {
		return err
	}
	if jp != project || js != source {
		return fmt.Errorf("sync journal %s is for %s, not %s", journal, jp, project)
	}
	root, err := unix.Open(project, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer unix.Close(root)
	src, err := unix.Open(source, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer unix.Close(src)
	committed := false
	undone := map[int]bool{}
	for _, st := range steps {
		switch st.op {
		case "done":
			return nil
		case "commit":
			committed = true
		case "undone":
			if k, err := strconv.Atoi(st.arg); err == nil {
				undone[k] = true
			}
		}
	}
	at := func(base int, rel string) (int, string, error) {
		d, n := splitRel(rel)
		fd, err := openBeneath(base, d, unix.O_PATH|unix.O_DIRECTORY)
		return fd, n, err
	}
	var errs []error
	ignore := func(err error) {
		if err != nil && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, err)
		}
	}
	if committed { // roll forward: only the backups are left to remove
		for _, st := range steps {
			if st.op == "aside" {
				if fd, _, err := at(root, st.rel); err == nil {
					ignore(removeAllAt(fd, st.arg))
					unix.Close(fd)
				}
			}
		}
		return errors.Join(errs...)
	}
	for i := len(steps) - 1; i >= 0; i-- {
		st := steps[i]
		if undone[i] || st.op == "undone" {
			continue
		}
		fd, name, err := at(root, st.rel)
		if err != nil {
			ignore(err)
			continue
		}
		switch st.op {
		case "aside":
			ignore(unix.Renameat2(fd, st.arg, fd, name, unix.RENAME_NOREPLACE))
		case "move":
			if sfd, _, err := at(src, st.rel); err == nil {
				ignore(unix.Renameat2(fd, name, sfd, name, unix.RENAME_NOREPLACE))
				unix.Close(sfd)
			} else {
				ignore(removeAllAt(fd, name))
			}
		case "mkdir":
			ignore(unix.Unlinkat(fd, name, unix.AT_REMOVEDIR))
		case "create":
			ignore(unix.Unlinkat(fd, name, 0))
			if st.arg != "" {
				ignore(unix.Unlinkat(fd, st.arg, 0))
			}
		case "chmod":
			if perm, err := strconv.ParseUint(st.arg, 8, 32); err == nil {
				if dfd, err := openBeneath(fd, name, unix.O_RDONLY|unix.O_DIRECTORY); err == nil {
					ignore(unix.Fchmod(dfd, uint32(perm)))
					unix.Close(dfd)
				}
			}
		}
		unix.Close(fd)
	}
	return errors.Join(errs...)
}

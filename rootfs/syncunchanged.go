package rootfs

import "path"

// maxBookkeepingFile bounds what SyncOptions.Unchanged is asked about: bookkeeping
// files are small; a bigger one is synced as it is.
const maxBookkeepingFile = 1 << 20

// dropUnchanged leaves out the modified files that o.Unchanged says carry nothing
// new (a manager's state file that differs only in the time it was written): the
// host keeps its file, and the change is neither applied nor counted. Only a regular
// file replacing a regular file is asked about, and only where its dir stays the
// host's dir (a dir the sync replaces whole takes every entry of the run's).
func (s *Scratch) dropUnchanged(allowed []Change, same map[string]func(run, host []byte) bool) []Change {
	if len(same) == 0 {
		return allowed
	}
	replaced := map[string]bool{}
	out := make([]Change, 0, len(allowed))
	for _, c := range allowed {
		if c.Type == TypeDir && (c.Kind == Added || c.Opaque || c.Prev != TypeDir) {
			replaced[c.Path] = true
		}
		if fn := same[c.Path]; fn != nil && c.Kind == Modified && c.Type == TypeRegular && c.Prev == TypeRegular &&
			c.Size <= maxBookkeepingFile && !belowOneOf(c.Path, replaced) && s.sameAsHost(c, fn) {
			continue
		}
		out = append(out, c)
	}
	return out
}

// sameAsHost reads the run's file and the host's, neither through a symlink, and
// asks fn. Anything unreadable counts as different (the change is synced).
func (s *Scratch) sameAsHost(c Change, fn func(run, host []byte) bool) bool {
	run, err := readBeneath(s.sourceDir(), c.Path)
	if err != nil || len(run) > maxBookkeepingFile {
		return false
	}
	host, err := readBeneath(s.project, c.Path)
	if err != nil || len(host) > maxBookkeepingFile {
		return false
	}
	return fn(run, host)
}

func belowOneOf(p string, dirs map[string]bool) bool {
	for d := path.Dir(p); d != "."; d = path.Dir(d) {
		if dirs[d] {
			return true
		}
	}
	return false
}

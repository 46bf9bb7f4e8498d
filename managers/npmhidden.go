package managers

import (
	"path/filepath"
	"strings"
)

// npmKeepHiddenScript runs the resolve ("$@") and then puts
// node_modules/.package-lock.json ($0) back as it was, its time stamp included;
// when it cannot be kept (none, a link, no copy), whatever the resolve left there
// is removed, so the download's npm reads node_modules itself.
const npmKeepHiddenScript = `h=$0 s=
if [ -f "$h" ] && [ ! -L "$h" ]; then s=$(mktemp) && cp -p "$h" "$s" 2>/dev/null || s=; fi
"$@"; rc=$?
if [ -n "$s" ]; then mv -f "$s" "$h" 2>/dev/null || rm -f "$h"; else rm -f "$h"; fi
exit $rc`

// npmKeepHidden wraps npm's resolve step so that the hidden lockfile the download
// reads is the project's. npm's --package-lock-only rewrites
// node_modules/.package-lock.json to the new resolution with a fresh time stamp;
// the download's npm then trusts it (no folder is newer) and changes nothing for a
// package whose version changed: `npm install is-odd@3.0.0` over 3.0.1 exited 0
// with both lockfiles saying 3.0.0 and node_modules holding 3.0.1, and every
// `npm install` after it found nothing to do. The step keeps npm's command line as
// its Name (what the user is told it resolves with).
func npmKeepHidden(s *Step, root string) *Step {
	if s == nil || len(s.Args) == 0 || s.Args[0] != "npm" || s.Installs {
		return s
	}
	w := *s
	if w.Name == "" {
		w.Name = strings.Join(s.Args, " ")
	}
	w.Args = concat([]string{"sh", "-c", npmKeepHiddenScript, filepath.Join(root, "node_modules", ".package-lock.json")}, s.Args)
	return &w
}

// npmResolveArgv is npm's own command line of a resolve step npmKeepHidden wrapped.
func npmResolveArgv(s *Step) []string {
	if len(s.Args) > 4 && s.Args[0] == "sh" && s.Args[2] == npmKeepHiddenScript {
		return s.Args[4:]
	}
	return s.Args
}

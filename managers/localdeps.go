package managers

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/phylum-box/phylum-box/precheck"
	"github.com/phylum-box/phylum-box/rootfs"
)

// Dependencies outside the project.
//
// `npm install ../lib`, `"lib": "file:../lib"`, `pip install -e ../lib`, a path
// crate `{ path = "../foo" }`: the manager reads a directory beside the project,
// which the sandbox does not show (only the project, the system dirs and the
// tools are there). OutsideDirs finds the directories a command line or the
// project's manifests name, checks each on the host, and the orchestration binds
// every one read-only at its own path in every step.
//
// A path from a manifest is attacker input: a cloned project's package.json may
// say "file:../../../home/alice/.ssh", "link:/" or "file:vendor/lib" with
// vendor/lib a symlink to $HOME. So every path is resolved on the host (symlinks
// followed, then the real directory judged), and refused when it is, holds or
// lies in a place whose content is nobody's dependency: the root directory, your
// home or anything holding it, a hidden directory of your home (~/.ssh, ~/.aws,
// ~/.config …) or anything below one, a directory that holds the project, /tmp,
// /run, /proc and their kind; a path from a manifest also may not pass through
// any hidden directory. The directory must be a package of the manager's kind
// (package.json, Cargo.toml, pyproject.toml/setup.py/setup.cfg): a dependency
// is one, a directory of secrets is not. A path the user typed is the user's
// choice, but never their home or its hidden directories either.

// OutsideDir is one directory outside the project that a dependency names.
type OutsideDir struct {
	// Path is the directory, absolute with symlinks resolved: bound read-only there.
	Path string
	// Named is the path as written ("../lib", "file:../lib"); From says where
	// ("the command line", "package.json dependencies.lib").
	Named, From string
	// User: named on the command line, not by a project file.
	User bool
}

// OutsideRefusal is an outside path phylum-box will not make visible.
type OutsideRefusal struct {
	Named, From, Path, Why string
	User                   bool
	// Advice replaces the usual what-to-do when set.
	Advice string
}

func (e *OutsideRefusal) Error() string {
	where := rootfs.Printable(e.Named) + " (" + rootfs.Printable(e.From) + ")"
	if e.Path != "" && e.Path != e.Named {
		where += ", which is " + rootfs.Printable(e.Path) + ","
	}
	return "the local dependency " + where + " " + e.Why
}

// localSpec is a path as one source names it, before it is checked.
type localSpec struct {
	named, path, base, from string
	user                    bool
}

// outsideCheck judges the paths of one plan.
type outsideCheck struct {
	root    string   // the project, symlinks resolved
	homes   []string // $HOME as given and resolved
	markers []string // files one of which a dependency directory must hold
}

// neverInside are directories whose content is never a dependency's: the kernel's
// files, other programs' sockets (/run/user/N holds the session bus and agents)
// and state. Nothing in them, and nothing holding them, is bound.
var neverInside = []string{"/proc", "/sys", "/dev", "/run", "/var/run"}

// neverWhole are directories that hold every user's or service's files and sockets
// (/tmp/tmux-N, /tmp/.X11-unix, /var/lib/*): a package below them may be bound (a
// CI workspace under /var/lib/jenkins), they themselves and what holds them never.
var neverWhole = []string{"/tmp", "/var/tmp", "/home", "/root", "/mnt/wsl", "/var/lib", "/var/spool", "/var/mail", "/srv", "/mnt", "/media"}

// maxOutsideDirs bounds the directories one install shows: each is a mount in
// every step's container.
const maxOutsideDirs = 64

// outsideMarkers are the manifests that make a directory a package, per ecosystem.
var outsideMarkers = map[string][]string{
	"npm":   {"package.json"},
	"PyPI":  {"pyproject.toml", "setup.py", "setup.cfg"},
	"cargo": {"Cargo.toml"},
}

// OutsideDirs returns the directories outside p.Root that p's command line or its
// project's manifests name as dependencies, each checked (see above). A path that
// does not exist or is not a directory is left to the manager, which says so as
// it would bare. Paths inside the project need nothing and are not returned. An
// unacceptable path is an error (exit 2) naming it, where it was named and why,
// with what to do instead.
func OutsideDirs(p *Plan, home string) ([]OutsideDir, error) {
	if p == nil || p.Passthrough || p.Scratch != nil || p.Project.Root == "" {
		return nil, nil
	}
	root, err := filepath.EvalSymlinks(p.Project.Root)
	if err != nil {
		return nil, nil // the orchestration reports a missing project itself
	}
	c := &outsideCheck{root: root}
	if home != "" && filepath.IsAbs(home) {
		c.homes = []string{filepath.Clean(home)}
		if h, err := filepath.EvalSymlinks(home); err == nil && h != c.homes[0] {
			c.homes = append(c.homes, h)
		}
	}
	var specs []localSpec
	var follow func(dir string) []localSpec // the specs a found directory names in turn
	switch p.Ecosystem {
	case precheck.NPM:
		c.markers = outsideMarkers["npm"]
		specs = nodeLocalSpecs(p, root)
	case precheck.PyPI:
		c.markers = outsideMarkers["PyPI"]
		specs = pyLocalSpecs(p, root)
	case precheck.CratesIO:
		c.markers = outsideMarkers["cargo"]
		follow = func(dir string) []localSpec {
			var data []byte
			var err error
			from := filepath.Join(dir, "Cargo.toml")
			if below(dir, root) {
				data, err = readProjectFile(root, from)
				from, _ = filepath.Rel(root, from)
			} else {
				data, err = readOutsideFile(dir, "Cargo.toml")
			}
			if err != nil {
				return nil
			}
			return cargoManifestSpecs(data, dir, filepath.ToSlash(from))
		}
		specs = follow(root)
	default:
		return nil, nil
	}
	var out []OutsideDir
	seen, followed := map[string]bool{}, map[string]bool{root: true}
	for len(specs) > 0 {
		s := specs[0]
		specs = specs[1:]
		bind, at, err := c.check(s)
		if err != nil {
			advice := outsideAdvice(s.user)
			var or *OutsideRefusal
			if errors.As(err, &or) && or.Advice != "" {
				advice = or.Advice
			}
			return nil, &Refusal{Manager: p.Manager, Reason: err.Error(), Advice: advice}
		}
		if follow != nil && at != "" && !followed[at] && len(followed) < maxCrates {
			followed[at] = true
			specs = append(specs, follow(at)...)
		}
		if bind == "" || seen[bind] {
			continue
		}
		seen[bind] = true
		if len(out) == maxOutsideDirs {
			return nil, &Refusal{Manager: p.Manager,
				Reason: fmt.Sprintf("the command and the project name more than %d directories outside the project as dependencies (the last: %s, %s)", maxOutsideDirs, rootfs.Printable(s.named), rootfs.Printable(s.from)),
				Advice: "vendor them into the project, or install them in smaller groups"}
		}
		out = append(out, OutsideDir{Path: bind, Named: s.named, From: s.from, User: s.user})
	}
	return out, nil
}

func outsideAdvice(user bool) string {
	if user {
		return "copy or move the package into the project (or next to it, outside your home's hidden directories) and install it from there"
	}
	return "a project file names it, and a project's files are untrusted: if the project is yours, vendor the package into the project (or beside it) and change the path; otherwise do not install this project"
}

// check resolves one spec: bind is the real directory to bind ("" when there is
// none to bind: inside the project, already visible, or missing), at where the
// package is ("" when missing); or why it is refused.
func (c *outsideCheck) check(s localSpec) (bind, at string, err error) {
	refuse := func(path, why string) *OutsideRefusal {
		return &OutsideRefusal{Named: s.named, From: s.from, Path: path, Why: why, User: s.user}
	}
	p := s.path
	switch {
	case p == "~" || strings.HasPrefix(p, "~/"):
		if len(c.homes) == 0 {
			return "", "", refuse("", "names your home directory, which is unknown here")
		}
		p = filepath.Join(c.homes[0], strings.TrimPrefix(p, "~"))
	case strings.HasPrefix(p, "~"):
		return "", "", refuse("", "names another user's home directory")
	case !filepath.IsAbs(p):
		p = filepath.Join(s.base, p)
	}
	lexical := filepath.Clean(p)
	if below(lexical, c.root) {
		// Inside the project as written: the project view shows it; only a symlink
		// out of the project (vendor/lib -> elsewhere) needs a look.
		real, err := filepath.EvalSymlinks(lexical)
		if err != nil {
			return "", "", nil
		}
		if below(real, c.root) {
			return "", real, nil
		}
		if why := c.problem(real, s.user); why != "" {
			return "", "", refuse(real, "is a symbolic link in the project to "+rootfs.Printable(real)+", which "+why)
		}
		// A link in the project to a file: no advice to copy what the project's own
		// link names (found by an attacker review: a link to ../other/.env).
		bind, err := c.dirOf(real, false, refuse)
		return bind, real, err
	}
	if why := c.problem(lexical, s.user); why != "" {
		return "", "", refuse(lexical, why)
	}
	real, err := filepath.EvalSymlinks(lexical)
	if err != nil {
		return "", "", nil // missing: the manager says so, as it would bare
	}
	if why := c.problem(real, s.user); why != "" {
		return "", "", refuse(real, "leads to "+rootfs.Printable(real)+", which "+why)
	}
	if real != lexical {
		// The steps would look for the package under the name written, which the
		// sandbox does not have; binding the real directory there too would let a
		// symlink choose where a host directory appears.
		return "", "", refuse(lexical, "is reached through a symbolic link (it is "+rootfs.Printable(real)+"); name "+rootfs.Printable(real)+" itself")
	}
	bind, err = c.dirOf(real, s.user, refuse)
	return bind, real, err
}

// dirOf checks that real (resolved, judged) is a package directory, and returns it
// unless the sandbox already shows it.
func (c *outsideCheck) dirOf(real string, user bool, refuse func(path, why string) *OutsideRefusal) (string, error) {
	st, err := os.Stat(real)
	system := below(real, "/usr", "/etc", "/opt", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
	switch {
	case err != nil:
		return "", nil // a missing path: the manager's own error
	case !st.IsDir() && user && !system && st.Mode().IsRegular():
		// A tarball or wheel named on the command line: only directories are
		// made visible, and the manager would say only that it is missing (found
		// trying phylum-box as a new user).
		r := refuse(real, "is a file outside the project, which the sandbox does not show (only package directories outside it are made visible, read-only)")
		r.Advice = "copy it into the project, for example to ./vendor/" + rootfs.Printable(filepath.Base(real)) + ", and install that copy"
		return "", r
	case !st.IsDir():
		return "", nil // a file a project file names: the manager's own error
	case system:
		return "", nil // already visible read-only in every step, masks and all
	}
	if sock := socketIn(real); sock != "" {
		return "", refuse(real, "holds the socket "+rootfs.Printable(sock)+": a program's control socket, not a package")
	}
	for _, m := range c.markers {
		if st, err := os.Lstat(filepath.Join(real, m)); err == nil && st.Mode().IsRegular() {
			return real, nil
		}
	}
	return "", refuse(real, "is not a package (it has none of "+strings.Join(c.markers, ", ")+")")
}

// problem says why dir (absolute, clean) may not be made visible, or "".
func (c *outsideCheck) problem(dir string, user bool) string {
	if dir == "/" {
		return "is the root directory: it would show the whole machine"
	}
	for _, h := range c.homes {
		switch {
		case dir == h:
			return "is your home directory (keys, tokens and every other project are there)"
		case below(h, dir):
			return "holds your home directory"
		case below(dir, h):
			rel, _ := filepath.Rel(h, dir)
			if first, _, _ := strings.Cut(rel, string(filepath.Separator)); strings.HasPrefix(first, ".") {
				return "is in ~/" + first + ", a hidden directory of your home, where keys, tokens and configuration live"
			}
		}
	}
	if below(c.root, dir) {
		return "holds the project itself: everything beside it would be visible"
	}
	for _, d := range neverInside {
		if below(dir, d) || below(d, dir) {
			return "is or holds " + d + ", which holds the kernel's or other programs' files, sockets or state, not packages"
		}
	}
	for _, d := range neverWhole {
		if below(d, dir) {
			return "is or holds " + d + ", which holds every user's files and other programs' sockets"
		}
	}
	if !user {
		// Hidden directories the project itself lies in (a checkout under
		// /srv/.builds) are where it is; any other is not for a project file.
		dirParts, rootParts := strings.Split(dir, "/"), strings.Split(c.root, "/")
		shared := 0
		for shared < len(dirParts) && shared < len(rootParts) && dirParts[shared] == rootParts[shared] {
			shared++
		}
		for _, part := range dirParts[shared:] {
			if strings.HasPrefix(part, ".") && part != "." && part != ".." {
				return "passes through the hidden directory " + part + ", which a project file may not name"
			}
		}
	}
	return ""
}

// OutsideLocalNote is the line that tells the user what the steps see of the host
// beyond the project.
func OutsideLocalNote(dirs []OutsideDir) string {
	if len(dirs) == 0 {
		return ""
	}
	paths := make([]string, 0, len(dirs))
	for _, d := range dirs {
		paths = append(paths, rootfs.Printable(d.Path))
	}
	slices.Sort(paths)
	return "local dependencies outside the project, visible read-only in the sandbox: " + strings.Join(paths, ", ")
}

// readOutsideFile reads name in an outside dependency directory (already judged)
// without following a symlink out of it.
func readOutsideFile(dir, name string) ([]byte, error) {
	data, err := readProjectFile(dir, filepath.Join(dir, name))
	var pf *ProjectFileError
	if errors.As(err, &pf) {
		return nil, fmt.Errorf("%w", fs.ErrNotExist)
	}
	return data, err
}

// socketIn names a socket among dir's entries (a tmux, agent or bus directory), or "".
func socketIn(dir string) string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return ""
	}
	for _, e := range ents {
		if e.Type()&fs.ModeSocket != 0 {
			return filepath.Join(dir, e.Name())
		}
	}
	return ""
}

// below reports whether p (absolute, clean) is one of dirs or lies below one.
func below(p string, dirs ...string) bool {
	for _, d := range dirs {
		if p == d || d == "/" || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

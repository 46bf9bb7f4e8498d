package managers

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/phylum-box/phylum-box/internal/safefs"
	"github.com/phylum-box/phylum-box/rootfs"
)

// projectFileProblem says why the project config file at path may not be read as
// the project's own settings ("" when it may, or when it does not exist). A
// checkout's files are untrusted: a committed .yarnrc or .npmrc that is a symbolic
// link to ~/.npmrc, ~/.pypirc or ~/.gitconfig would make phylum-box read a host
// file and hand its content to the steps as the project's; a hard link is the same
// file under another name, wherever its other name is. A link that stays inside
// the project is followed.
func projectFileProblem(root, path string) string {
	if why := projectDirProblem(root, path); why != "" {
		return why
	}
	st, err := os.Lstat(path)
	if err != nil {
		return ""
	}
	if st.Mode()&os.ModeSymlink != 0 {
		real, err := filepath.EvalSymlinks(path)
		realRoot, rerr := filepath.EvalSymlinks(root)
		if err != nil || rerr != nil || !strings.HasPrefix(real, realRoot+string(filepath.Separator)) {
			target, _ := os.Readlink(path)
			return fmt.Sprintf("%s is a symbolic link out of the project (to %s)", path, target)
		}
		if st, err = os.Stat(path); err != nil {
			return ""
		}
	}
	if !st.Mode().IsRegular() {
		return fmt.Sprintf("%s is not a regular file", path)
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && sys.Nlink > 1 {
		return fmt.Sprintf("%s has %d hard links (the same file under another name, maybe outside the project)", path, sys.Nlink)
	}
	return ""
}

// projectDirProblem says which directory between root and path is a symbolic link
// out of the project ("" when none is): .cargo -> ~/.cargo makes
// .cargo/config.toml the user's own file.
func projectDirProblem(root, path string) string {
	rel, err := filepath.Rel(root, filepath.Dir(path))
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return ""
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return ""
	}
	d := root
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		d = filepath.Join(d, part)
		st, err := os.Lstat(d)
		if err != nil {
			return ""
		}
		if st.Mode()&os.ModeSymlink == 0 {
			continue
		}
		real, err := filepath.EvalSymlinks(d)
		if err != nil || !strings.HasPrefix(real, realRoot+string(filepath.Separator)) {
			target, _ := os.Readlink(d)
			return fmt.Sprintf("%s: %s is a symbolic link out of the project (to %s)", path, d, target)
		}
	}
	return ""
}

// ProjectFileError is a project file that phylum-box does not read because it is
// not the project's own: a symbolic link out of the project, a hard link, not a
// regular file.
type ProjectFileError struct {
	Path string
	Why  string // names the file and where it points
}

func (e *ProjectFileError) Error() string {
	return e.Why + " (a checkout's files are untrusted input; replace it with a plain file holding what the project needs)"
}

// maxProjectFile caps readProjectFile: a manifest, lockfile or config larger than
// this is not one.
const maxProjectFile = 256 << 20

// readProjectFile reads the project file at path (inside root) as itself (see
// safefs): the path is resolved beneath root, so a symbolic link — the file's or a
// directory's on the way — may lead elsewhere in the project but never out of it,
// and the file must be a regular file with one link, no larger than
// maxProjectFile. A refusal is a *ProjectFileError naming the file and where it
// points; a missing file is an error that matches fs.ErrNotExist. Every project
// manifest, lockfile and config phylum-box reads on the host goes through here.
func readProjectFile(root, path string) ([]byte, error) {
	rel, err := filepath.Rel(root, path)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return nil, &ProjectFileError{Path: path, Why: fmt.Sprintf("%s is not inside the project (%s)", path, root)}
	}
	data, err := safefs.ReadFile(root, rel, maxProjectFile, safefs.Options{FollowInside: true, OneLink: true})
	if (errors.Is(err, unix.EXDEV) || errors.Is(err, unix.ENOSYS)) && projectFileProblem(root, path) == "" {
		// An absolute link to a file inside the project (ln -s "$PWD/config/x"),
		// or a kernel before 5.6 without openat2, after the same rule was checked
		// by walking the path: resolved, the file is read beneath the real root
		// with no link on the way.
		real, rerr := filepath.EvalSymlinks(path)
		realRoot, rrerr := filepath.EvalSymlinks(root)
		if errors.Is(rerr, fs.ErrNotExist) {
			err = rerr
		}
		if rerr == nil && rrerr == nil && within(realRoot, real) {
			if r, err2 := filepath.Rel(realRoot, real); err2 == nil {
				data, err = safefs.ReadFile(realRoot, r, maxProjectFile, safefs.Options{OneLink: true})
			}
		}
	}
	var links *safefs.HardLinksError
	switch {
	case err == nil:
		return data, nil
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("reading %s: %w", path, fs.ErrNotExist)
	case errors.Is(err, unix.EXDEV), errors.Is(err, unix.ELOOP), errors.Is(err, unix.ENOSYS) && projectFileProblem(root, path) != "":
		why := projectFileProblem(root, path)
		if why == "" {
			why = path + " leads out of the project through a symbolic link"
		}
		return nil, &ProjectFileError{Path: path, Why: why}
	case errors.Is(err, safefs.ErrNotRegular):
		return nil, &ProjectFileError{Path: path, Why: path + " is not a regular file"}
	case errors.As(err, &links):
		return nil, &ProjectFileError{Path: path, Why: fmt.Sprintf("%s has %d hard links (the same file under another name, maybe outside the project)", path, links.Links)}
	case errors.Is(err, safefs.ErrTooLarge):
		return nil, &ProjectFileError{Path: path, Why: fmt.Sprintf("%s is larger than %d MiB", path, maxProjectFile>>20)}
	}
	return nil, fmt.Errorf("reading %s: %w", path, err)
}

// planProjectFiles are the files of a project that each manager's plan reads or
// binds, relative to the project root and to the working directory (workspace
// members have their own manifests). Lockfiles come from Plan.Project.Lockfiles.
var planProjectFiles = map[string][]string{
	"npm":    {"package.json", "package-lock.json", "npm-shrinkwrap.json", ".npmrc"},
	"npx":    {"package.json", "package-lock.json", "npm-shrinkwrap.json", ".npmrc"},
	"yarn":   {"package.json", "yarn.lock", ".yarnrc", ".yarnrc.yml", ".npmrc"},
	"pnpm":   {"package.json", "pnpm-lock.yaml", "pnpm-workspace.yaml", ".pnpmfile.cjs", ".npmrc"},
	"pnpx":   {"package.json", "pnpm-lock.yaml", "pnpm-workspace.yaml", ".pnpmfile.cjs", ".npmrc"},
	"cargo":  {"Cargo.toml", "Cargo.lock", "rust-toolchain", "rust-toolchain.toml", ".cargo/config", ".cargo/config.toml"},
	"bundle": {"Gemfile", "Gemfile.lock", "gems.rb", "gems.locked", ".bundle/config"},
	"pip":    {"pyproject.toml", "setup.cfg", "requirements.txt", "pip.conf", ".venv/pip.conf"},
	"poetry": {"pyproject.toml", "poetry.lock", "poetry.toml"},
}

// checkedPlan refuses a planned (not passthrough) install whose project files are
// not the project's own (see readProjectFile): the manifests, lockfiles and configs
// the manager reads in the project root, in the working directory and, for cargo's
// .cargo/config, in every directory between them. The read sites go through
// readProjectFile too; this names the file even where a plan could do without it.
// The user's own config files (a project at $HOME: ~/.npmrc, ~/.cargo/config.toml,
// often links into a dotfiles checkout) are not the project's.
func (env Env) checkedPlan(p *Plan, err error) (*Plan, error) {
	if err != nil || p == nil || p.Passthrough || p.Project.Root == "" {
		return p, err
	}
	names := append([]string(nil), planProjectFiles[p.Manager]...)
	for _, l := range p.Project.Lockfiles {
		if !strings.HasPrefix(l, "node_modules/") {
			names = append(names, l) // node_modules is the install's output, not a project file
		}
	}
	dirs := []string{p.Project.Root}
	if p.Project.Cwd != "" && p.Project.Cwd != "." {
		for d := filepath.Join(p.Project.Root, p.Project.Cwd); within(p.Project.Root, d) && d != p.Project.Root; d = filepath.Dir(d) {
			dirs = append(dirs, d)
		}
	}
	for _, d := range dirs {
		for _, name := range names {
			path := filepath.Join(d, filepath.FromSlash(name))
			if d == env.Home && strings.HasPrefix(name, ".") || strings.HasPrefix(name, ".cargo/") && filepath.Join(d, ".cargo") == cargoUserHome(env) {
				continue
			}
			if _, err := os.Lstat(path); err != nil && projectDirProblem(p.Project.Root, path) == "" {
				continue
			}
			if why := projectFileProblem(p.Project.Root, path); why != "" {
				return nil, projectFileRefusal(p.Manager, p.Project.Root, &ProjectFileError{Path: path, Why: why})
			}
		}
	}
	return p, nil
}

// projectFileRefusal is the plan's refusal for a project file that is not the
// project's own (exit 2, the file and where it points named).
func projectFileRefusal(manager, root string, e *ProjectFileError) *Refusal {
	rel, err := filepath.Rel(root, e.Path)
	if err != nil {
		rel = e.Path
	}
	return &Refusal{Manager: manager, Reason: "the project's " + filepath.ToSlash(rel) + " is refused (a checkout's files are untrusted input): " + e.Why,
		Advice: "replace it with a plain file holding what the project needs"}
}

// buildConfigNames are files whose build copy is a config, scrubbed of anything
// that looks like a credential whatever its format (rootfs.SanitizeConfig). A
// Gemfile or gemspec build copy is Ruby the project wrote and stays as it is.
var buildConfigNames = map[string]bool{
	".npmrc": true, "npmrc": true, ".yarnrc": true, ".yarnrc.yml": true, "pip.conf": true,
	"pip.ini": true, "config": true, "config.toml": true, "poetry.toml": true,
	".gitconfig": true, "settings.toml": true,
}

// noBuildCopyNames are files that hold nothing but credentials: no step without
// credentials sees them, whatever the manager put as their Public version.
var noBuildCopyNames = map[string]bool{
	".netrc": true, "_netrc": true, ".pypirc": true, "credentials": true, "credentials.toml": true,
	"auth.toml": true, ".git-credentials": true,
}

// BuildCopy is the version of f given to the steps without credentials: Public,
// with every line that looks like a credential in any common format removed when
// f is a config (keys naming a password, token, secret or auth, URL userinfo,
// Authorization and extraheader lines, private key blocks), and nothing for a
// credentials-only file (.netrc, credentials.toml). nil stays nil.
func (f ConfigFile) BuildCopy() []byte {
	name := filepath.Base(filepath.FromSlash(f.Home + f.Project))
	if noBuildCopyNames[name] {
		if f.Project != "" {
			return []byte{}
		}
		return nil
	}
	if f.Public == nil || !(f.Home != "" || buildConfigNames[name]) {
		return f.Public
	}
	return []byte(rootfs.SanitizeConfig(string(f.Public)))
}

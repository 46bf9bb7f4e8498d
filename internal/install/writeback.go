package install

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/phylum-box/phylum-box/container"
	"github.com/phylum-box/phylum-box/internal/exitcode"
	"github.com/phylum-box/phylum-box/internal/sandbox"
	"github.com/phylum-box/phylum-box/managers"
	"github.com/phylum-box/phylum-box/rootfs"
)

// runScratch runs a scratch plan's Run over the user's project, the network off,
// the temporary project tmp bound read-only at its own path and its
// node_modules/.bin first in PATH. With a WriteBack (every npx, exec, dlx and
// create; managers/writeback.go) what the command wrote is synced back under its
// rules, all or nothing; without one it is thrown away.
func runScratch(ctx context.Context, o Options, out *Outcome, tmp string) (*Outcome, error) {
	p := o.Plan
	wb := p.WriteBack
	args := p.Run.Args
	if p.RunBinOf != "" {
		bin, err := managers.BinFromManifest(filepath.Join(tmp, "node_modules", filepath.FromSlash(p.RunBinOf)))
		if err != nil {
			out.Code, out.Reason = exitcode.Usage, fmt.Sprintf("%s has no command to run: %v", p.RunBinOf, err)
			return out, nil
		}
		args = append([]string{bin}, args...)
	}
	if len(args) == 0 {
		out.Code, out.Reason = exitcode.Usage, "nothing to run"
		return out, nil
	}
	dir, cwd := p.Root, p.Cwd
	if wb != nil && wb.NewProject {
		// An empty directory stands for the user's: the command's one new
		// directory is moved from it into wb.Dir (moveNewProject).
		staging, err := newProjectStaging(wb.Dir)
		if err != nil {
			return nil, exitcode.With(exitcode.Usage, err)
		}
		defer os.RemoveAll(staging)
		dir, cwd = staging, "."
	}
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, exitcode.With(exitcode.Usage, fmt.Errorf("project dir: %w", err))
	}
	sess, err := sandbox.Open(ctx, sandbox.Options{
		Project: root, Home: o.Home, User: o.User, Mode: o.Mode, Log: o.Log,
		OnWait: func(pid int) { o.Log.Infof("waiting for another phylum-box run on %s (pid %d)", root, pid) },
	})
	if err != nil {
		if ctx.Err() != nil {
			out.Code, out.Reason = exitcode.Sandbox, "interrupted while waiting for the project lock"
			return out, nil
		}
		return nil, err
	}
	defer func() {
		if err := sess.Close(); err != nil {
			o.Log.Warnf("removing the scratch dir: %v", err)
		}
	}()
	bin := filepath.Join(tmp, "node_modules", ".bin")
	stdin := o.Stdin
	if wb != nil {
		// The command gets no terminal input: a prompt reads EOF and takes its
		// default or gives up, never waits. An install it starts itself meets the
		// shims first in PATH, which skip it (there is no network to install with,
		// and it would not be checked).
		stdin = nil
		shims, err := writeInstallShims(tmp)
		if err != nil {
			return nil, err
		}
		bin = shims + ":" + bin
	}
	var caches []rootfs.Cache
	var home string // the run's $HOME on the host, to see what it wrote outside the project
	if wb != nil {
		if home, err = runHome(sess); err != nil {
			return nil, err
		}
		defer os.RemoveAll(home)
		caches = []rootfs.Cache{{Name: "home", HostPath: home, Target: o.Home}}
	}
	env := sandbox.ScrubEnv(o.Environ, managers.PassEnv, o.Home, o.User)
	env = append(env, p.Run.Env...)
	env = o.withKeptEnv(env)
	pathVar := bin
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathVar = bin + ":" + v
		}
	}
	env = append(env, "PATH="+pathVar)
	r := &runner{o: o, sess: sess, root: root, out: out}
	switch {
	case wb == nil:
		o.Log.Infof("running in the sandbox (no network, changes to %s are discarded): %s", root, strings.Join(args, " "))
	case wb.NewProject:
		o.Log.Infof("running in the sandbox (no network, no terminal input) in an empty directory standing for %s; one new directory it creates is kept: %s", wb.Dir, strings.Join(args, " "))
	default:
		o.Log.Infof("running in the sandbox (no network, no terminal input; its writes to %s are synced back if it succeeds): %s", root, strings.Join(args, " "))
	}
	t := newTail(64 << 10)
	res, err := sess.Run(ctx, sandbox.Exec{
		Args: args, Env: dedupEnv(env), Cwd: filepath.Join(root, cwd),
		Limits: o.Limits, ReadOnly: r.hostPaths(), Caches: caches,
		Dirs:  []sandbox.DirBind{{Source: tmp, Target: tmp}},
		Stdin: stdin, Stdout: io.MultiWriter(o.Stdout, t), Stderr: io.MultiWriter(o.Stderr, t),
	})
	if err != nil {
		return nil, fmt.Errorf("run step: %w", err)
	}
	out.Steps = append(out.Steps, StepOutcome{Phase: managers.PhaseRun, Args: args, ExitCode: res.ExitCode, Stopped: string(res.Stopped), Duration: res.Duration})
	nothing := ""
	if wb != nil {
		nothing = "; nothing was synced back"
	}
	switch {
	case res.Stopped != container.StopNone:
		out.Code, out.Reason = exitcode.Sandbox, "run stopped: "+res.StopMessage(o.Limits)+nothing
		return out, nil
	case res.ExitCode != 0:
		// The command's own status, as npx would return it.
		out.Code, out.Reason = res.ExitCode, fmt.Sprintf("%s exited with status %d%s", args[0], res.ExitCode, nothing)
		out.OutputTail = t.lastLines(20)
		return out, nil
	}
	if wb == nil {
		return out, nil
	}
	stray, err := strayHomeWrites(home)
	if err != nil {
		return nil, err
	}
	return writeBack(o, out, sess, root, stray)
}

// runHome is the empty host directory a write-back run gets as $HOME (instead of
// a tmpfs that vanishes with it), so that what it wrote there — outside the
// project — can be seen and refused. It is thrown away afterwards.
func runHome(sess *sandbox.Session) (string, error) {
	home, err := os.MkdirTemp("", "phylum-box-home-")
	if err != nil {
		return "", err
	}
	if err := os.Chmod(home, 0o700); err != nil {
		os.RemoveAll(home)
		return "", err
	}
	if id := sess.Identity(); !id.Rootless {
		if err := os.Lchown(home, id.RootUID, id.RootGID); err != nil {
			os.RemoveAll(home)
			return "", err
		}
	}
	return home, nil
}

// toolStateDirs are the parts of $HOME where tools keep state (update notifiers,
// caches): a write there is thrown away without a word.
var toolStateDirs = map[string]bool{".cache": true, ".config": true, ".local": true, ".npm": true, ".yarn": true, ".pnpm-store": true, ".node-gyp": true}

// strayHomeWrites lists what a run wrote in its $HOME outside tool state, as
// "~/rel": files, links and other non-directories (the directories on the way to
// the project's mount point are made by the sandbox itself).
func strayHomeWrites(home string) ([]string, error) {
	if home == "" {
		return nil, nil
	}
	var out []string
	err := filepath.WalkDir(home, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(home, p)
		if d.IsDir() {
			if top, _, _ := strings.Cut(filepath.ToSlash(rel), "/"); toolStateDirs[top] {
				return filepath.SkipDir
			}
			return nil
		}
		out = append(out, "~/"+filepath.ToSlash(rel))
		return nil
	})
	return out, err
}

// writeBack syncs back what the command wrote in the session, under the plan's
// WriteBack rules: everything or nothing.
func writeBack(o Options, out *Outcome, sess *sandbox.Session, root string, stray []string) (*Outcome, error) {
	p, wb := o.Plan, o.Plan.WriteBack
	cs, err := sess.Scratch().Changes()
	if err != nil {
		return nil, fmt.Errorf("reading what the command wrote: %w", err)
	}
	wr := writeBackRules(cs.Changes, wb, root)
	for _, s := range stray {
		wr.refused = append(wr.refused, rootfs.Refusal{Path: s, Reason: "outside the project (thrown away: a command run through phylum-box may write only to the project)"})
	}
	if wb.NewProject && wr.newDir != "" && len(wr.refused) == 0 {
		if _, err := os.Lstat(filepath.Join(wb.Dir, wr.newDir)); err == nil {
			wr.refused = append(wr.refused, rootfs.Refusal{Path: wr.newDir, Reason: "already exists in " + wb.Dir})
		}
	}
	if len(wr.refused) > 0 {
		for _, rf := range wr.refused {
			out.Refused = append(out.Refused, rf.String())
		}
		out.Code = exitcode.Sandbox
		out.Reason = fmt.Sprintf("%d write(s) of %s were refused (%s); nothing was synced back", len(wr.refused), commandName(p), wr.refused[0].String())
		return out, nil
	}
	for _, d := range wr.dropped {
		o.Log.Warnf("not synced: %s", rootfs.Printable(d))
	}
	validate := func(allowed, _ []rootfs.Change) []rootfs.Refusal {
		return writeBackRules(allowed, wb, root).refused // the same rules, on what the sync would apply
	}
	if wr.only == nil {
		validate = nil // nothing left out: the rules above saw exactly what the sync applies
	}
	rep, err := sess.SyncBack(rootfs.SyncOptions{Only: wr.only, OwnerUID: o.OwnerUID, OwnerGID: o.OwnerGID, Validate: validate})
	out.Sync = rep
	if rep != nil {
		for _, rf := range rep.Refused {
			if !rf.OutsideOnly {
				out.Refused = append(out.Refused, rf.String())
			}
		}
	}
	if err != nil {
		if errors.Is(err, rootfs.ErrRefused) {
			out.Code, out.Reason = exitcode.Sandbox, err.Error()+"; nothing was synced back"
			return out, nil
		}
		return nil, fmt.Errorf("sync back: %w", err)
	}
	applied := rep.Applied
	if wb.NewProject && wr.newDir != "" && len(applied) > 0 {
		if err := moveNewProject(root, wb.Dir, wr.newDir); err != nil {
			if errors.Is(err, unix.EEXIST) || errors.Is(err, unix.ENOTEMPTY) {
				out.Code, out.Reason = exitcode.Sandbox, fmt.Sprintf("%s already exists in %s; nothing was synced back", rootfs.Printable(wr.newDir), wb.Dir)
				return out, nil
			}
			return nil, fmt.Errorf("moving %s into %s: %w", wr.newDir, wb.Dir, err)
		}
		out.Project = wb.Dir
	}
	out.Synced = len(applied)
	out.WrittenBack = changeSummary(applied, maxWrittenBackLines)
	for _, l := range out.WrittenBack {
		o.Log.Infof("synced back: %s", l)
	}
	if wb.Scaffold {
		for _, d := range newProjects(applied, wb.NewProject, p.Cwd) {
			next := "phylum-box " + wb.Installer + " install"
			if d != "." {
				next = "cd " + shellWord(d) + " && " + next
			}
			o.Log.Infof("next: %s (its dependencies are not installed yet; phylum-box checks them as it installs)", rootfs.Printable(next))
		}
	}
	return out, nil
}

// maxWrittenBackLines bounds the list of synced changes printed.
const maxWrittenBackLines = 10

// writeBackResult is what writeBackRules decided.
type writeBackResult struct {
	refused []rootfs.Refusal
	// dropped are left out of the sync, with why (a note, not a refusal).
	dropped []string
	// only is the SyncOptions.Only that leaves out dropped; nil: everything.
	only []string
	// newDir is the one new directory of a NewProject run.
	newDir string
}

// writeBackRules applies a WriteBack's rules to a run's changes (sorted, parents
// first). root is the host directory the changes are relative to.
func writeBackRules(changes []rootfs.Change, wb *managers.WriteBack, root string) writeBackResult {
	var res writeBackResult
	added := map[string]bool{} // dirs this run created
	var droppedRoots []string
	under := func(p string, roots []string) bool {
		for _, r := range roots {
			if p == r || strings.HasPrefix(p, r+"/") {
				return true
			}
		}
		return false
	}
	refuse := func(c rootfs.Change, why string) {
		res.refused = append(res.refused, rootfs.Refusal{Path: c.Path, Reason: why})
	}
	for _, c := range changes {
		if c.Kind == rootfs.Added && c.Type == rootfs.TypeDir {
			added[c.Path] = true
		}
		if under(c.Path, droppedRoots) {
			continue
		}
		if vcs, parent := vcsDir(c.Path); vcs != "" {
			if parent != "." && added[parent] {
				droppedRoots = append(droppedRoots, vcs)
				res.dropped = append(res.dropped, fmt.Sprintf("%s, a repository the command made in the new directory %s (run `git init` there yourself)", vcs, parent))
				continue
			}
			refuse(c, "under "+path.Base(vcs)+", which is never synced back (git runs hooks and commands from its config)")
			continue
		}
		if nm := componentDir(c.Path, "node_modules"); nm != "" {
			droppedRoots = append(droppedRoots, nm)
			res.dropped = append(res.dropped, nm+" (only an install writes node_modules: run `phylum-box "+wb.Installer+" install`)")
			continue
		}
		if wb.NewProject {
			top, _, nested := strings.Cut(c.Path, "/")
			switch {
			case nested && top == res.newDir:
			case nested:
				// Below a refused top-level entry: that one is reported.
			case c.Kind != rootfs.Added || c.Type != rootfs.TypeDir:
				refuse(c, "outside the new project directory (run outside a project, the command may create one new directory in "+wb.Dir+", nothing else)")
			case strings.HasPrefix(top, "."):
				refuse(c, "a new directory whose name starts with '.' (run outside a project, the command may create one new, visible directory in "+wb.Dir+")")
			case res.newDir != "":
				refuse(c, "a second new directory besides "+res.newDir+" (run outside a project, the command may create one new directory in "+wb.Dir+")")
			default:
				res.newDir = top
			}
			continue
		}
		if wb.Scaffold && c.Kind != rootfs.Added {
			refuse(c, "a scaffolder may only add files and directories; it "+changeVerb(c)+" an existing one (run it in an empty directory, or make that change yourself)")
		}
	}
	if len(droppedRoots) > 0 {
		res.only = onlyCover(changes, droppedRoots, under)
	}
	return res
}

// onlyCover is the Only list that syncs every change except those below dropped
// roots: a directory with nothing dropped below it is named whole, else its kept
// entries one by one (a new directory on the way to one is made by the sync).
func onlyCover(changes []rootfs.Change, dropped []string, under func(string, []string) bool) []string {
	dirty := map[string]bool{}
	for _, d := range dropped {
		for p := path.Dir(d); p != "."; p = path.Dir(p) {
			dirty[p] = true
		}
	}
	only := []string{}
	var covered []string
	for _, c := range changes {
		if under(c.Path, dropped) || under(c.Path, covered) {
			continue
		}
		if c.Type == rootfs.TypeDir && dirty[c.Path] {
			continue // its kept entries are named one by one
		}
		only = append(only, c.Path)
		if c.Type == rootfs.TypeDir {
			covered = append(covered, c.Path)
		}
	}
	return only
}

// vcsDir returns the .git (or .hg) directory p is or lies below, and the directory
// holding it ("." for the top), or "".
func vcsDir(p string) (dir, parent string) {
	parts := strings.Split(p, "/")
	for i, c := range parts {
		if strings.EqualFold(c, ".git") || strings.EqualFold(c, ".hg") {
			dir = strings.Join(parts[:i+1], "/")
			return dir, path.Dir(dir)
		}
	}
	return "", ""
}

// componentDir returns the prefix of p ending in the component name, or "".
func componentDir(p, name string) string {
	parts := strings.Split(p, "/")
	for i, c := range parts {
		if c == name {
			return strings.Join(parts[:i+1], "/")
		}
	}
	return ""
}

func changeVerb(c rootfs.Change) string {
	if c.Kind == rootfs.Deleted {
		return "deleted"
	}
	return "changed"
}

// changeSummary lists applied changes for the user: a new directory as one line
// with the number of files in it, every other change by its path; at most max
// lines, the rest counted.
func changeSummary(applied []rootfs.Change, max int) []string {
	var lines []string
	var newDirs []string
	files := map[string]int{}
	for _, c := range applied {
		inNew := ""
		for _, d := range newDirs {
			if strings.HasPrefix(c.Path, d+"/") {
				inNew = d
				break
			}
		}
		if inNew != "" {
			if c.Type != rootfs.TypeDir {
				files[inNew]++
			}
			continue
		}
		switch {
		case c.Kind == rootfs.Added && c.Type == rootfs.TypeDir:
			newDirs = append(newDirs, c.Path)
			lines = append(lines, "A "+c.Path+"/")
		case c.Kind == rootfs.Added:
			lines = append(lines, "A "+c.Path)
		case c.Kind == rootfs.Deleted:
			lines = append(lines, "D "+c.Path)
		default:
			lines = append(lines, "M "+c.Path)
		}
	}
	for i, l := range lines {
		if d, ok := strings.CutPrefix(l, "A "); ok && strings.HasSuffix(d, "/") {
			lines[i] = fmt.Sprintf("%s (%d file(s))", l, files[strings.TrimSuffix(d, "/")])
		}
		lines[i] = rootfs.Printable(lines[i])
	}
	if len(lines) > max {
		lines = append(lines[:max], fmt.Sprintf("… and %d more", len(lines)-max))
	}
	return lines
}

// newProjects are the directories (relative to where the user ran the command:
// cwd below the project root, or the top for a new project) where a scaffolder
// added a package.json: each wants its dependencies installed next.
func newProjects(applied []rootfs.Change, newProject bool, cwd string) []string {
	var out []string
	for _, c := range applied {
		if c.Kind != rootfs.Added || c.Type != rootfs.TypeRegular || path.Base(c.Path) != "package.json" {
			continue
		}
		d := path.Dir(c.Path)
		if componentDir(d, "node_modules") != "" || strings.Count(d, "/") > 2 {
			continue // a template's nested packages
		}
		if !newProject {
			rel, err := filepath.Rel(filepath.FromSlash(cwd), filepath.FromSlash(d))
			if err != nil {
				continue
			}
			d = filepath.ToSlash(rel)
		}
		out = append(out, d)
		if len(out) == 3 {
			break
		}
	}
	return out
}

// shellWord quotes s for a shell when it needs it.
func shellWord(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./@+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func commandName(p *managers.Plan) string {
	if len(p.Args) > 0 {
		return p.Manager + " " + p.Args[0]
	}
	return p.Manager
}

// newProjectStaging makes the empty directory a NewProject run sees in place of
// dir: inside dir, so the new project moves into place with one rename, owned
// like dir (the synced entries take its owner when root runs for another user).
func newProjectStaging(dir string) (string, error) {
	staging, err := os.MkdirTemp(dir, ".phylum-box-new-")
	if err != nil {
		return "", fmt.Errorf("cannot make a working directory in %s: %w", dir, err)
	}
	if err := os.Chmod(staging, 0o755); err != nil {
		os.Remove(staging)
		return "", err
	}
	if os.Geteuid() == 0 {
		var st syscall.Stat_t
		if err := syscall.Stat(dir, &st); err == nil {
			if err := os.Lchown(staging, int(st.Uid), int(st.Gid)); err != nil {
				os.Remove(staging)
				return "", err
			}
		}
	}
	return staging, nil
}

// moveNewProject renames staging/name to dir/name, never over an existing entry.
func moveNewProject(staging, dir, name string) error {
	if name == "" || strings.ContainsAny(name, "/\x00") || name == "." || name == ".." {
		return fmt.Errorf("bad directory name %q", name)
	}
	src, err := unix.Open(staging, unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(src)
	dst, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(dst)
	return unix.Renameat2(src, name, dst, name, unix.RENAME_NOREPLACE)
}

// installShims are the commands whose install a write-back run skips.
var installShims = []string{"npm", "pnpm", "yarn"}

// installShim is the script put first in PATH under each name: an install is
// skipped with a note (the step has no network, and it would not be checked);
// anything else runs the real tool.
const installShim = `#!/bin/sh
# phylum-box: an install started by a command run through phylum-box is skipped.
name=${0##*/}
sub=
skip=
for a in "$@"; do
	if [ -n "$skip" ]; then skip=; continue; fi
	case "$a" in
	--prefix|-C|--cwd|--dir|-w|--workspace|--filter|-F|--loglevel|--registry|--cache|--userconfig) skip=1 ;;
	-*) ;;
	*) sub=$a; break ;;
	esac
done
install=
case "$name:$sub" in
npm:install|npm:i|npm:in|npm:ins|npm:inst|npm:insta|npm:instal|npm:isnt|npm:isnta|npm:isntal|npm:isntall|npm:add|npm:ci|npm:clean-install|npm:ic|npm:install-clean|npm:isntall-clean|npm:update|npm:up|npm:upgrade|npm:udpate|npm:install-test|npm:it|npm:install-ci-test|npm:cit|npm:clean-install-test|npm:sit) install=1 ;;
yarn:install|yarn:add|yarn:upgrade|yarn:up) install=1 ;;
pnpm:install|pnpm:i|pnpm:add|pnpm:update|pnpm:up|pnpm:upgrade) install=1 ;;
esac
if [ "$name" = yarn ] && [ $# -eq 0 ]; then install=1; fi
if [ -n "$install" ]; then
	echo "phylum-box: skipped '$name $*' in the sandbox (no network there, and the install would not be checked): install with phylum-box when the command is done" >&2
	exit 0
fi
PATH=${PATH#"${0%/*}:"}
exec "$name" "$@"
`

// writeInstallShims writes the shims into the temporary project (bound read-only
// in the run) and returns their directory.
func writeInstallShims(tmp string) (string, error) {
	dir := filepath.Join(tmp, ".phylum-box-shims")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", err
	}
	for _, n := range installShims {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(installShim), 0o755); err != nil {
			return "", err
		}
	}
	return dir, nil
}

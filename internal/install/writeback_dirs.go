// The host directories of a write-back run: its $HOME (to see writes outside the
// project), the empty directory of a new project and its move into place, and the
// shims that skip an install the command starts.

package install

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/phylum-box/phylum-box/internal/sandbox"
)

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

// newProjectStaging makes the empty directory a NewProject run sees in place of
// dir: inside dir, so the new project moves into place with one rename, owned
// like dir (the synced entries take its owner when root runs for another user).
func newProjectStaging(dir string) (string, error) {
	staging, err := os.MkdirTemp(dir, ".phylum-box-create-")
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

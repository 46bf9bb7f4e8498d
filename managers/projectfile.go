package managers

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// projectFileProblem says why the project config file at path may not be read as
// the project's own settings ("" when it may, or when it does not exist). A
// checkout's files are untrusted: a committed .yarnrc or .npmrc that is a symbolic
// link to ~/.npmrc, ~/.pypirc or ~/.gitconfig would make phylum-box read a host
// file and hand its content to the steps as the project's; a hard link is the same
// file under another name, wherever its other name is. A link that stays inside
// the project is followed.
func projectFileProblem(root, path string) string {
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

package managers

import (
	"errors"
	"io/fs"
)

// installScriptsAnyGypfile is npmPackageScripts as yarn 1 and pnpm read a package:
// a binding.gyp with no install script means `node-gyp rebuild` whatever the
// package.json's "gypfile" says. npm alone honours "gypfile": false; yarn 1's
// manifest normalisation looks only at the file list, and pnpm's requiresBuild and
// its lifecycle's checkBindingGyp only at the file.
func installScriptsAnyGypfile(read func(rel string) ([]byte, error), path string) string {
	if w := npmPackageScripts(read, path); w != "" {
		return w
	}
	if _, err := read(path + "/binding.gyp"); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return path + " has a binding.gyp (built whatever its gypfile says)"
	}
	return ""
}

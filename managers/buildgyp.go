package managers

import (
	"errors"
	"io/fs"
)

// installScriptsAnyGypfile is npmPackageScripts as yarn 1 reads a package: a
// binding.gyp with no install script means `node-gyp rebuild` whatever the
// package.json's "gypfile" says (npm alone honours "gypfile": false; yarn 1's
// manifest normalisation looks only at the file list). pnpm's install does the
// same, but `pnpm rebuild` — every pnpm build phylum-box runs — reads no
// binding.gyp at all (it passes pkgRequiresBuild an empty file index), so naming
// such a package to it would change nothing.
func installScriptsAnyGypfile(read func(rel string) ([]byte, error), path string) string {
	if w := npmPackageScripts(read, path); w != "" {
		return w
	}
	if _, err := read(path + "/binding.gyp"); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return path + " has a binding.gyp (built whatever its gypfile says)"
	}
	return ""
}

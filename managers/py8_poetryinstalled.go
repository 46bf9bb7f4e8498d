package managers

import "os"

// poetrySkipInstalled drops from the download's fetch list the locked packages
// the project's .venv already holds at their locked version, as bare Poetry
// fetches only what it will install: the build's pip (`pip install -c
// constraints -r requirements`, no --upgrade) leaves an installed package that
// satisfies its pin alone whether or not its file was fetched, so a fetched
// copy of it was never installed, only downloaded and read by the analysis on
// every `poetry add`. The venv is read as data (pipInstalled: dist-info
// METADATA beneath the project root, no link followed); a venv it cannot read
// plainly drops nothing. A venv that lies about a package keeps the package it
// has, as it did when the file was fetched; poetry.lock is prechecked whole as
// before, and what the build adds or changes is checked and analysed before
// the sync back. Sources no package is fetched from any more leave the list
// with their credentials.
func poetrySkipInstalled(fp *poetryFetchPlan, root string) (skipped int) {
	r, err := os.OpenRoot(root)
	if err != nil {
		return 0
	}
	defer r.Close()
	site, _, why := pipSitePackages(r, ".venv")
	if why != "" {
		return 0
	}
	dists, why := pipInstalled(r, site)
	if why != "" {
		return 0
	}
	installed := map[string]string{}
	for name, d := range dists {
		installed[pipNormName(name)] = normalizePyVersion(d.version)
	}
	keep := fp.Packages[:0]
	for _, e := range fp.Packages {
		if v, ok := installed[pipNormName(e.Name)]; ok && v == normalizePyVersion(e.Version) {
			skipped++
			continue
		}
		keep = append(keep, e)
	}
	fp.Packages = keep
	used := map[string]bool{}
	for _, e := range fp.Packages {
		used[e.Source] = true
	}
	for k := range fp.Sources {
		if !used[k] {
			delete(fp.Sources, k)
		}
	}
	return skipped
}

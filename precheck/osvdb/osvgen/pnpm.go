package osvgen

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// Package is a name and version read from a lockfile for benchmark inputs.
type Package struct{ Name, Version string }

// PnpmPackages reads the keys of a pnpm-lock.yaml v9 `packages:` section
// ("  '@scope/name@1.2.3':" or "  name@1.2.3:"). It is a deliberately small reader
// for benchmark data, so the database benchmarks do not depend on the lockfile
// package; real checks use precheck/lockfile.
func PnpmPackages(path string) ([]Package, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Package
	in := false
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line != "" && line[0] != ' ' && line[0] != '#' {
			in = line == "packages:"
			continue
		}
		if !in || !strings.HasPrefix(line, "  ") || strings.HasPrefix(line, "   ") || !strings.HasSuffix(line, ":") {
			continue
		}
		key := strings.Trim(strings.TrimSuffix(strings.TrimSpace(line), ":"), `'"`)
		at := strings.LastIndexByte(key, '@')
		if at <= 0 {
			return nil, fmt.Errorf("%s: unexpected package key %q", path, key)
		}
		out = append(out, Package{Name: key[:at], Version: key[at+1:]})
	}
	return out, sc.Err()
}

// Names returns the distinct names of pkgs, in order of first appearance.
func Names(pkgs []Package) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range pkgs {
		if !seen[p.Name] {
			seen[p.Name] = true
			out = append(out, p.Name)
		}
	}
	return out
}

package analysis

import (
	"bytes"
	"context"
	"path"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/phylum-box/phylum-box/internal/lazyre"
)

func pypiUnits(ctx context.Context, t *tree) ([]*unit, []Finding, error) {
	names := t.list()
	wheel := false
	var sitePkgDirs = []string{""} // where files land in site-packages: the wheel root and NAME.data/{purelib,platlib}
	for _, n := range names {
		if d, _, ok := strings.Cut(n, "/"); ok && strings.HasSuffix(d, ".dist-info") {
			wheel = true
		}
		if parts := strings.SplitN(n, "/", 3); len(parts) == 3 && strings.HasSuffix(parts[0], ".data") && (parts[1] == "purelib" || parts[1] == "platlib") {
			sitePkgDirs = appendUnique(sitePkgDirs, parts[0]+"/"+parts[1]+"/")
		}
	}
	var units []*unit
	var found []Finding
	inst := &closure{t: t, seen: map[string]bool{}, max: maxInstallFiles, depth: installDepth, role: roleInstall}
	entry := &closure{t: t, seen: map[string]bool{}, max: maxEntryFiles, depth: 1, role: roleEntry}

	// Files that land at the top of site-packages: .pth lines run at every
	// interpreter start; sitecustomize/usercustomize are imported by it.
	for _, n := range names {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		dir, base := path.Split(n)
		if !contains(sitePkgDirs, dir) && !(!wheel && (dir == "" || dir == "src/")) {
			continue
		}
		switch {
		case strings.HasSuffix(base, ".pth") && wheel:
			u, f := pthUnit(t, n)
			if u != nil {
				units = append(units, u)
			}
			if f != nil {
				found = append(found, *f)
			}
		case base == "sitecustomize.py" || base == "usercustomize.py":
			data, _, err := t.read(n)
			if err != nil {
				continue
			}
			u := &unit{rel: n, text: data, lineBase: 1, langs: langPy, role: roleInstall}
			units = append(units, u)
			found = append(found, Finding{RuleSitecustomize, High,
				"the package ships " + base + ", which every Python process of the environment imports at start",
				[]string{n + ":1: " + excerpt(firstLine(data))}})
		case wheel && strings.HasSuffix(base, ".py"):
			units = append(units, entry.follow(n, 0)...)
		}
	}

	// An sdist's setup.py runs at build; so do the local modules it imports, and
	// an in-tree build backend (pyproject.toml's backend-path).
	if !wheel {
		for _, n := range names {
			if n == "setup.py" || strings.Count(n, "/") == 1 && strings.HasSuffix(n, "/setup.py") {
				units = append(units, inst.follow(n, 0)...)
			}
		}
		for _, n := range inTreeBackend(t) {
			units = append(units, inst.follow(n, 0)...)
		}
	}
	// Load time: each top-level package's __init__.py.
	for _, n := range names {
		parts := strings.Split(n, "/")
		top := len(parts) == 2 && parts[1] == "__init__.py" && !strings.HasSuffix(parts[0], ".dist-info")
		if !wheel && len(parts) == 3 && parts[0] == "src" && parts[2] == "__init__.py" {
			top = true
		}
		for _, d := range sitePkgDirs[1:] {
			if rest, ok := strings.CutPrefix(n, d); ok && strings.Count(rest, "/") == 1 && strings.HasSuffix(rest, "/__init__.py") {
				top = true
			}
		}
		if top {
			units = append(units, entry.follow(n, 0)...)
		}
	}
	for _, u := range units {
		entry.seen[u.rel] = true
	}
	for n := range inst.seen {
		entry.seen[n] = true
	}
	more, err := restOf(ctx, t, entry.seen, func(n string) bool {
		return strings.HasSuffix(n, ".py") && !strings.Contains(n, ".dist-info/") && (wheel || !strings.HasPrefix(n, "build/"))
	})
	if err != nil {
		return nil, nil, err
	}
	units = append(units, more...)
	if len(units) > maxUnits {
		units = units[:maxUnits]
	}
	return units, found, nil
}

var (
	editableFinderRE = lazyre.New(`^import __editable___[\w.-]+_finder; __editable___[\w.-]+_finder\.install\([^()]*\)$`)
	// pytest-cov's subprocess hook: starts coverage when COV_CORE_SOURCE is set.
	pytestCovRE  = lazyre.New(`^import os, sys;exec\('if \\'COV_CORE_SOURCE\\' in os\.environ:\\n try:\\n  from pytest_cov\.embed import init\\n  init\(\)\\n except Exception as exc:\\n  sys\.stderr\.write\([^;]*\)\\n'\)$`)
	pthExtraRE   = lazyre.New(`__import__|system|popen|subprocess\.|socket|urllib|request|eval|compile|open\(|getattr|globals|builtins|base64|codecs|marshal|zlib`)
	nspkgMarkers = [][]byte{[]byte("sys._getframe(1).f_locals['sitedir']"), []byte("importlib.util"), []byte("types.ModuleType")}
)

// pthUnit reads a .pth file: its executable lines (site.py runs a line that starts
// with "import") are code run by every Python process. The kinds setuptools and
// pip write themselves are not reported for being executable, only for what they
// contain.
func pthUnit(t *tree, rel string) (*unit, *Finding) {
	data, _, err := t.read(rel)
	if err != nil {
		return nil, nil
	}
	var execLine []byte
	lineNo := 0
	for i, l := range bytes.Split(data, []byte{'\n'}) {
		l = bytes.TrimRight(l, "\r")
		if bytes.HasPrefix(l, []byte("import ")) || bytes.HasPrefix(l, []byte("import\t")) {
			execLine, lineNo = l, i+1
			break
		}
	}
	if execLine == nil {
		return nil, nil // paths only
	}
	u := &unit{rel: rel, text: data, lineBase: 1, langs: langPy, role: roleInstall}
	base := path.Base(rel)
	switch {
	case base == "distutils-precedence.pth" && bytes.Contains(data, []byte("_distutils_hack")) && lineCount(data) <= 2:
		return u, nil
	case strings.HasPrefix(base, "__editable__") && editableFinderRE().Match(bytes.TrimSpace(execLine)):
		return u, nil
	case strings.HasSuffix(base, "-nspkg.pth") && containsAll(data, nspkgMarkers[:1]) && containsAny(data, nspkgMarkers[1:]):
		return u, nil
	case base == "pywin32.pth" && bytes.Equal(bytes.TrimSpace(execLine), []byte("import pywin32_bootstrap")):
		return u, nil
	case base == "pytest-cov.pth" && lineCount(data) == 1 && pytestCovRE().Match(bytes.TrimSpace(data)) &&
		bytes.Count(data, []byte("exec")) == 1 && !pthExtraRE().Match(data):
		return u, nil
	}
	return u, &Finding{RulePthFile, High,
		"the package ships a .pth file with code that every Python process of the environment runs at start",
		[]string{rel + ":" + strconv.Itoa(lineNo) + ": " + excerpt(execLine)}}
}

func firstLine(b []byte) []byte {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i]
	}
	return b
}

func lineCount(b []byte) int { return len(bytes.Split(bytes.TrimSpace(b), []byte{'\n'})) }

func containsAll(b []byte, subs [][]byte) bool {
	for _, s := range subs {
		if !bytes.Contains(b, s) {
			return false
		}
	}
	return true
}

func containsAny(b []byte, subs [][]byte) bool {
	for _, s := range subs {
		if bytes.Contains(b, s) {
			return true
		}
	}
	return false
}

func appendUnique(l []string, s string) []string {
	if contains(l, s) {
		return l
	}
	return append(l, s)
}

// inTreeBackend finds the module files of an sdist's in-tree PEP 517 backend:
// build-backend "pkg.mod:obj" looked up in each backend-path directory.
func inTreeBackend(t *tree) []string {
	raw, _, err := t.read("pyproject.toml")
	if err != nil {
		return nil
	}
	var m struct {
		BuildSystem struct {
			Backend     string   `toml:"build-backend"`
			BackendPath []string `toml:"backend-path"`
		} `toml:"build-system"`
	}
	if toml.Unmarshal(raw, &m) != nil || m.BuildSystem.Backend == "" {
		return nil
	}
	mod, _, _ := strings.Cut(m.BuildSystem.Backend, ":")
	mod = strings.ReplaceAll(strings.TrimSpace(mod), ".", "/")
	var out []string
	for _, d := range m.BuildSystem.BackendPath {
		d = cleanRel(d)
		if d == ".." || strings.HasPrefix(d, "../") || path.IsAbs(d) || len(out) > 8 {
			continue
		}
		for _, c := range []string{path.Join(d, mod+".py"), path.Join(d, mod, "__init__.py")} {
			if t.exists(c) {
				out = append(out, c)
			}
		}
	}
	return out
}

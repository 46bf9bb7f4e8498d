package managers

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// Shared knowledge of the Node.js family (npm, yarn, pnpm): finding the project root,
// reading package.json, workspaces, node headers for offline native builds.

// nodeManifest is the part of package.json the planners read.
type nodeManifest struct {
	Name           string          `json:"name"`
	PackageManager string          `json:"packageManager"`
	Workspaces     json.RawMessage `json:"workspaces"`
	Bin            json.RawMessage `json:"bin"`
}

func readNodeManifest(dir string) (*nodeManifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		return nil, err
	}
	var m nodeManifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w (fix the JSON, then retry)", filepath.Join(dir, "package.json"), err)
	}
	return &m, nil
}

// workspacePatterns returns package.json's workspaces globs, in either the array form
// or yarn's {"packages": [...]} form.
func (m *nodeManifest) workspacePatterns() []string {
	if m == nil || len(m.Workspaces) == 0 {
		return nil
	}
	var list []string
	if json.Unmarshal(m.Workspaces, &list) == nil {
		return list
	}
	var obj struct {
		Packages []string `json:"packages"`
	}
	if json.Unmarshal(m.Workspaces, &obj) == nil {
		return obj.Packages
	}
	return nil
}

// findNodeRoot walks up from dir to the nearest directory holding package.json (a
// regular file) or node_modules (a directory), the way npm finds its local prefix;
// dir itself when there is none, or when the walk reaches a directory the user
// does not control (ancestors.go).
func findNodeRoot(dir string) string {
	w := newAncestorWalk(dir)
	for d := dir; ; {
		if st, err := os.Stat(filepath.Join(d, "package.json")); err == nil && st.Mode().IsRegular() {
			return d
		}
		if st, err := os.Stat(filepath.Join(d, "node_modules")); err == nil && st.IsDir() {
			return d
		}
		parent := filepath.Dir(d)
		if parent == d || !w.trusted(parent) {
			return dir
		}
		d = parent
	}
}

// findUp returns the nearest directory at or above dir that holds name, or "";
// the walk stops at a directory the user does not control (ancestors.go).
func findUp(dir, name string) string {
	w := newAncestorWalk(dir)
	for d := dir; ; {
		if _, err := os.Stat(filepath.Join(d, name)); err == nil {
			return d
		}
		parent := filepath.Dir(d)
		if parent == d || !w.trusted(parent) {
			return ""
		}
		d = parent
	}
}

// npmWorkspaceRoot is the directory above prefix (npm's local prefix, from
// findNodeRoot) whose package.json lists prefix among its workspaces, or "": npm
// walks up from a workspace's own directory to that root and installs there, as
// if given --workspace for it (the root's lockfile and node_modules, the
// workspace's package.json). Without it, `npm install X` in packages/a gave
// that directory a lockfile and node_modules of its own, and the root's lockfile
// went stale (found trying phylum-box as a new user).
//
// Unlike npm, the walk stops at a directory that another user owns or that
// others may write to (/tmp, a shared dir; ancestors.go): a package.json planted
// there would make that directory the project, its files in the sandbox's view
// and the install's outputs synced into it (found by an attacker review).
// package.json is read as itself (readOutsideFile: a regular file, no link out of
// its directory, never a FIFO).
func npmWorkspaceRoot(prefix string) string {
	w := newAncestorWalk(prefix)
	for d, below := filepath.Dir(prefix), prefix; d != below; d, below = filepath.Dir(d), d {
		if !w.trusted(d) {
			return ""
		}
		data, err := readOutsideFile(d, "package.json") // localdeps.go: as itself, a regular file
		if err != nil {
			continue
		}
		var man nodeManifest
		if json.Unmarshal(data, &man) != nil {
			continue
		}
		if pats := man.workspacePatterns(); len(pats) > 0 {
			rel, err := filepath.Rel(d, prefix)
			dirs, werr := workspaceDirs(d, pats)
			if err == nil && werr == nil && slices.Contains(dirs, filepath.ToSlash(rel)) {
				return d
			}
		}
	}
	return ""
}

// workspaceDirs expands workspace globs relative to root to the directories that hold
// a package.json, slash-separated and sorted. Negated patterns ("!x") remove matches.
// Globs use path.Match syntax plus "**" as "any depth" (what npm's and pnpm's globs
// mean for the common "packages/**" shape); a bad pattern is an error naming it.
func workspaceDirs(root string, patterns []string) ([]string, error) {
	var include, exclude []string
	for _, p := range patterns {
		p = strings.TrimPrefix(strings.TrimSpace(p), "./")
		if neg, ok := strings.CutPrefix(p, "!"); ok {
			exclude = append(exclude, strings.TrimPrefix(neg, "./"))
		} else if p != "" {
			include = append(include, p)
		}
	}
	if len(include) == 0 {
		return nil, nil
	}
	seen := map[string]bool{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable corners are not workspaces
		}
		if !d.IsDir() {
			return nil
		}
		name := d.Name()
		if p != root && (name == "node_modules" || strings.HasPrefix(name, ".")) {
			return filepath.SkipDir
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		if strings.Count(rel, "/") > 8 {
			return filepath.SkipDir
		}
		for _, pat := range include {
			ok, err := globMatch(pat, rel)
			if err != nil {
				return fmt.Errorf("workspace pattern %q in %s: %w", pat, root, err)
			}
			if ok {
				seen[rel] = true
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []string
	for rel := range seen {
		excluded := false
		for _, pat := range exclude {
			if ok, _ := globMatch(pat, rel); ok {
				excluded = true
			}
		}
		if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(rel), "package.json")); err != nil || excluded {
			continue
		}
		out = append(out, rel)
	}
	sort.Strings(out)
	return out, nil
}

// globMatch matches a slash path against a pattern where "**" spans any number of
// path segments (including none) and other segments use path.Match.
func globMatch(pattern, name string) (bool, error) {
	pattern = strings.TrimSuffix(pattern, "/")
	ps, ns := strings.Split(pattern, "/"), strings.Split(name, "/")
	var match func(i, j int) (bool, error)
	match = func(i, j int) (bool, error) {
		if i == len(ps) {
			return j == len(ns), nil
		}
		if ps[i] == "**" {
			for k := j; k <= len(ns); k++ {
				if ok, err := match(i+1, k); ok || err != nil {
					return ok, err
				}
			}
			return false, nil
		}
		if j == len(ns) {
			return false, nil
		}
		ok, err := path.Match(ps[i], ns[j])
		if !ok || err != nil {
			return false, err
		}
		return match(i+1, j+1)
	}
	return match(0, 0)
}

// nodeOutputs is the sync-back list of a node project: node_modules and the manifest
// at the root and in every workspace, plus the lockfiles and extra paths.
func nodeOutputs(workspaces []string, extra ...string) []string {
	out := []string{"node_modules/", "package.json"}
	for _, ws := range workspaces {
		out = append(out, ws+"/node_modules/", ws+"/package.json")
	}
	return append(out, extra...)
}

// nodeProject is the project of an npm-family plan: the manager's outputs
// (node_modules/ and the lockfile, per workspace) and the manifests and lockfile
// the build must leave as the download left them.
func nodeProject(root, cwd string, workspaces []string, lockfile string) Project {
	return Project{
		Root:      root,
		Cwd:       cwd,
		Lockfiles: []string{lockfile},
		Outputs:   nodeOutputs(workspaces, lockfile),
		Sealed:    append(nodeManifests(workspaces), lockfile),
	}
}

// nodeManifests is the list of package.json files Resolve may change.
func nodeManifests(workspaces []string) []string {
	out := []string{"package.json"}
	for _, ws := range workspaces {
		out = append(out, ws+"/package.json")
	}
	return out
}

// NodeGypNodedirEnv is how npm's build step tells node-gyp where the headers are.
// node-gyp 12 reads npm_package_config_node_gyp_<key> as well as npm_config_<key>
// (preferring the former); node-gyp 8–11, which a tree can carry (node-sass@9 pulls
// in node-gyp 8), read only npm_config_nodedir and otherwise fetch the headers from
// nodejs.org, which the offline build cannot reach. npm 11 passes the environment
// through to scripts; npm_config_nodedir makes it warn `Unknown env config
// "nodedir"`, which the build's --loglevel=error keeps quiet. yarn and pnpm keep
// npm_config_nodedir alone: pnpm's lifecycle drops every npm_* variable it does not
// set itself except npm_config_*.
const NodeGypNodedirEnv = "npm_package_config_node_gyp_nodedir="

// npmNodeGypEnv is the build step's environment for node-gyp: the headers in nodedir
// under both names node-gyp reads.
func npmNodeGypEnv(nodedir string) []string {
	return []string{NodeGypNodedirEnv + nodedir, "npm_config_nodedir=" + nodedir}
}

// ErrNoNodeHeaders means native addons cannot be built offline.
var ErrNoNodeHeaders = errors.New("node headers not found")

// NodeHeadersDir returns the node install prefix whose include/node holds the headers
// of the node in env's PATH, for npm_config_nodedir: node-gyp otherwise downloads the
// headers, which the offline build step cannot do. An explicit npm_config_nodedir in
// the environment wins, but must hold the headers too.
func NodeHeadersDir(env Env) (string, error) {
	if dir := env.Getenv("npm_config_nodedir"); dir != "" {
		if hasNodeHeaders(dir) {
			return dir, nil
		}
		return "", fmt.Errorf("%w: npm_config_nodedir=%s has no include/node/common.gypi; point it at a node install prefix with headers or unset it", ErrNoNodeHeaders, dir)
	}
	node, err := env.LookPath("node")
	if err != nil {
		return "", fmt.Errorf("%w: node is not in PATH; install Node.js", ErrNoNodeHeaders)
	}
	real, err := filepath.EvalSymlinks(node)
	if err != nil {
		return "", fmt.Errorf("%w: resolving %s: %v", ErrNoNodeHeaders, node, err)
	}
	// <prefix>/bin/node → <prefix>/include/node (official tarballs, Debian, nvm, …).
	for _, n := range []string{real, node} {
		prefix := filepath.Dir(filepath.Dir(n))
		if hasNodeHeaders(prefix) {
			return prefix, nil
		}
	}
	return "", fmt.Errorf("%w for %s (looked for %s): native addons cannot be built offline; install the headers (Debian: apt-get install libnode-dev or nodejs-dev) or set npm_config_nodedir to a node install prefix with include/node",
		ErrNoNodeHeaders, real, filepath.Join(filepath.Dir(filepath.Dir(real)), "include", "node"))
}

func hasNodeHeaders(prefix string) bool {
	_, err := os.Stat(filepath.Join(prefix, "include", "node", "common.gypi"))
	return err == nil
}

// BinFromManifest returns the executable that running package pkgDir means, the way
// npx picks it: the only bin, else the bin named like the package without its scope.
func BinFromManifest(pkgDir string) (string, error) {
	m, err := readNodeManifest(pkgDir)
	if err != nil {
		return "", err
	}
	bins := map[string]string{}
	var single string
	if len(m.Bin) > 0 && json.Unmarshal(m.Bin, &single) == nil {
		_, base, _ := strings.Cut(m.Name, "/")
		if base == "" {
			base = m.Name
		}
		return base, nil
	}
	if len(m.Bin) > 0 {
		if err := json.Unmarshal(m.Bin, &bins); err != nil {
			return "", fmt.Errorf("%s: bad \"bin\" field: %w", pkgDir, err)
		}
	}
	if len(bins) == 1 {
		for name := range bins {
			return name, nil
		}
	}
	base := m.Name
	if i := strings.LastIndex(base, "/"); i >= 0 {
		base = base[i+1:]
	}
	if _, ok := bins[base]; ok {
		return base, nil
	}
	return "", fmt.Errorf("package %s has no single executable (bins: %s); name one: npx --package=%s -- COMMAND", m.Name, strings.Join(sortedKeys(bins), ", "), m.Name)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// exists reports whether root/rel exists (without following a final symlink).
func exists(root, rel string) bool {
	_, err := os.Lstat(filepath.Join(root, filepath.FromSlash(rel)))
	return err == nil
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

func isSecretEnv(key string) bool {
	k := strings.ToLower(key)
	for _, s := range []string{"auth", "token", "password", "_ident", "otp"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

// noScriptsEnv turns scripts off through the environment too, for the tools the
// package manager starts itself: to pack a git dependency npm's pacote runs
// `npm install --force` in the clone with its own flags — not --ignore-scripts —
// but with the parent's environment (pacote lib/git.js, lib/fetcher.js). Such a
// dependency is installed without its prepare script having run.
var noScriptsEnv = []string{"npm_config_ignore_scripts=true", "YARN_IGNORE_SCRIPTS=true", "YARN_ENABLE_SCRIPTS=false"}

// mergeEnv returns base with the keys that override sets removed, then override:
// no variable appears twice (which one a program sees would depend on its libc).
func mergeEnv(base, override []string) []string {
	set := map[string]bool{}
	for _, kv := range override {
		k, _, _ := strings.Cut(kv, "=")
		set[k] = true
	}
	var out []string
	for _, kv := range base {
		if k, _, _ := strings.Cut(kv, "="); !set[k] {
			out = append(out, kv)
		}
	}
	return append(out, override...)
}

// toolPaths finds where each tool really lives: node's install prefix (its headers
// and global modules are there) and, for the others, the package directory of the
// script the command resolves to (/usr/lib/node_modules/npm for /usr/bin/npm). The
// rootfs must make them visible read-only when they are outside its default binds
// (nvm, volta and corepack keep them under $HOME, which the sandbox replaces).
func toolPaths(env Env, tools ...string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(p string) {
		if p != "" && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, t := range tools {
		bin, err := env.LookPath(t)
		if err != nil {
			continue
		}
		real, err := filepath.EvalSymlinks(bin)
		if err != nil {
			continue
		}
		if t == "node" {
			add(filepath.Dir(filepath.Dir(real)))
			continue
		}
		dir := filepath.Dir(real)
		for d := dir; d != filepath.Dir(d); d = filepath.Dir(d) {
			if _, err := os.Stat(filepath.Join(d, "package.json")); err == nil {
				dir = d
				break
			}
		}
		add(bin)
		add(dir)
	}
	return out
}

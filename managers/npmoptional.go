package managers

import (
	"encoding/json"
	"path"
	"slices"
	"strings"

	"github.com/phylum-box/phylum-box/internal/lazyre"
)

// npmFailedPath is npm's line naming the package whose script failed, in the
// error block npm prints last, after the script has exited:
//
//	npm error code 1
//	npm error path /proj/node_modules/cpu-features
//	npm error command failed
//	npm error command sh -c node install.js
//	npm error A complete log of this run can be found in: …
var npmFailedPath = lazyre.New(`^npm (?:error|ERR!) path (/\S*)\s*$`)

// npmErrorLine is any line of that block.
var npmErrorLine = lazyre.New(`^npm (?:error|ERR!)(?: |$)`)

// npmLastFailedPath is the path of the one "npm error path" line of the output's
// final error block (its trailing run of npm error lines). A script can print
// such a line too: one printed while it ran comes before npm's block, and one a
// process it left behind prints after npm's, or right before it, lands in the
// block as a second path line. With none or two, "" — the failure stands.
func npmLastFailedPath(output string) string {
	lines := strings.Split(strings.TrimRight(output, "\n\r\t "), "\n")
	found := ""
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimRight(lines[i], "\r")
		if !npmErrorLine().MatchString(l) {
			break
		}
		if m := npmFailedPath().FindStringSubmatch(l); m != nil {
			if found != "" {
				return ""
			}
			found = m[1]
		}
	}
	return found
}

// npmLockNode is what NpmOptionalFailed reads of a package-lock.json entry.
type npmLockNode struct {
	Optional             bool              `json:"optional"`
	Link                 bool              `json:"link"`
	Resolved             string            `json:"resolved"`
	Dependencies         map[string]string `json:"dependencies"`
	OptionalDependencies map[string]string `json:"optionalDependencies"`
	PeerDependencies     map[string]string `json:"peerDependencies"`
	PeerDependenciesMeta map[string]struct {
		Optional bool `json:"optional"`
	} `json:"peerDependenciesMeta"`
}

type npmEdge struct {
	from, to string
	optional bool
}

// NpmOptionalFailed is Plan.Steps.BuildOptionalFailed for npm. From a failed `npm
// rebuild`'s output (the "npm error path" line of npm's final error block, under
// root; see npmLastFailedPath) and the
// prechecked package-lock.json it tells whether the package whose script failed
// is an optional one, as npm's reify does before it removes it: ok false when it
// is not (or cannot be told), and the build's failure stands. Otherwise remove
// is the set npm's reify would drop (arborist's optionalSet: the node, the nodes
// that depend on it through non-optional edges up to the optional boundary, and
// the dependencies only they need), as lockfile paths relative to root, and gone
// the package names no node of the tree keeps, which a build limited to names
// must no longer pass.
func NpmOptionalFailed(output, root string, read func(rel string) ([]byte, error)) (failed string, remove, gone []string, ok bool) {
	failedPath := npmLastFailedPath(output)
	if failedPath == "" {
		return "", nil, nil, false
	}
	abs := path.Clean(failedPath)
	rel, cut := strings.CutPrefix(abs, strings.TrimSuffix(root, "/")+"/")
	if !cut || !npmRemovable(rel) {
		return "", nil, nil, false
	}
	data, err := read("package-lock.json")
	if err != nil {
		return "", nil, nil, false
	}
	var lock struct {
		Packages map[string]npmLockNode `json:"packages"`
	}
	if json.Unmarshal(data, &lock) != nil || lock.Packages == nil {
		return "", nil, nil, false
	}
	nodes := lock.Packages
	if n, found := nodes[rel]; !found || !n.Optional || n.Link {
		return "", nil, nil, false
	}
	// Edges, resolved as node does: the nearest node_modules/<name> up the tree.
	resolve := func(from, name string) string {
		if name == "" || strings.HasPrefix(name, ".") || strings.Contains(name, "..") || path.IsAbs(name) {
			return "" // not a package name: never a path out of node_modules
		}
		for d := from; ; d = path.Dir(d) {
			if d == "." || d == "/" {
				d = ""
			}
			c := path.Join(d, "node_modules", name)
			if _, found := nodes[c]; found {
				return c
			}
			if d == "" {
				return ""
			}
		}
	}
	var edges []npmEdge
	for k, n := range nodes {
		if n.Link {
			continue // its target's entry carries the edges
		}
		add := func(deps map[string]string, optional func(string) bool) {
			for name := range deps {
				if to := resolve(k, name); to != "" {
					edges = append(edges, npmEdge{k, to, optional(name)})
				}
			}
		}
		add(n.Dependencies, func(string) bool { return false })
		add(n.OptionalDependencies, func(string) bool { return true })
		add(n.PeerDependencies, func(name string) bool { return n.PeerDependenciesMeta[name].Optional })
	}
	// The failed node and, through non-optional edges, what needs it.
	set := map[string]bool{rel: true}
	for queue := []string{rel}; len(queue) > 0; queue = queue[1:] {
		for _, e := range edges {
			if e.to == queue[0] && !e.optional && !set[e.from] {
				if n := nodes[e.from]; !strings.HasPrefix(e.from, "node_modules/") || !n.Optional {
					return "", nil, nil, false // npm would not call it optional either
				}
				set[e.from] = true
				queue = append(queue, e.from)
			}
		}
	}
	// Their dependencies nothing outside needs (arborist's gatherDepSet).
	deps := map[string]bool{}
	for k := range set {
		deps[k] = true
	}
	for changed := true; changed; {
		changed = false
		for _, e := range edges {
			if deps[e.from] && !deps[e.to] {
				deps[e.to], changed = true, true
			}
		}
	}
	for changed := true; changed; {
		changed = false
		for _, e := range edges {
			if deps[e.to] && !set[e.to] && !deps[e.from] {
				delete(deps, e.to)
				changed = true
			}
		}
	}
	for k := range deps {
		// Lockfile keys are the project's word: only a clean path inside
		// node_modules is removed, and any other makes the failure stand.
		if !npmRemovable(k) {
			return "", nil, nil, false
		}
		remove = append(remove, k)
	}
	slices.Sort(remove)
	// Nested nodes go with their parent's directory.
	removed := func(k string) bool {
		for _, r := range remove {
			if k == r || strings.HasPrefix(k, r+"/") {
				return true
			}
		}
		return false
	}
	left := map[string]bool{}
	for k := range nodes {
		if !removed(k) {
			left[npmLockName(k)] = true
		}
	}
	for _, r := range remove {
		if name := npmLockName(r); !left[name] && !slices.Contains(gone, name) {
			gone = append(gone, name)
		}
	}
	return npmLockName(rel), remove, gone, true
}

// npmRemovable: k is a clean package path inside the project's node_modules.
func npmRemovable(k string) bool {
	if k != path.Clean(k) || !strings.HasPrefix(k, "node_modules/") {
		return false
	}
	for _, seg := range strings.Split(k, "/") {
		if seg == ".." || seg == "." || seg == "" || seg == ".bin" {
			return false
		}
	}
	return true
}

// npmLockName is the package name of a lockfile path: what follows its last
// node_modules/.
func npmLockName(k string) string {
	if i := strings.LastIndex(k, "node_modules/"); i >= 0 {
		return k[i+len("node_modules/"):]
	}
	return k
}

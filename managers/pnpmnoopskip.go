package managers

import (
	"encoding/json"
	"strings"
)

// Which packages of pnpm-lock.yaml pnpm leaves out on this machine, for the
// nothing-to-do check (pnpmnoop.go).
//
// pnpm (10.x, lockfile/filtering's filterLockfileByImportersAndEngine) walks the
// lockfile from the importers' dependencies, depth first: a package is installable
// when its parent was and packageIsInstallable accepts it (an optional package
// whose os, cpu, libc or engines rule out this machine is not; a non-optional one
// always is, with a warning). An optional package reached from a package that is
// not installable is skipped as well, whatever its own platform: sharp's
// @img/sharp-wasm32 (cpu wasm32) is skipped here, and with it @emnapi/runtime and
// tslib, which only it depends on. A package is never taken off the skipped list
// unless the walk reaches it as installable.
//
// The walk's first visit wins in pnpm, so a package reached both through a skipped
// package and through installable ones may go either way. phylum-box does not
// model that order: it computes the packages reachable from the project through
// installable packages only (pnpmInstallableReach), counting a package installable
// whenever pnpm could (engines are not read), and accepts a recorded skip only of
// an optional package outside that set. A skip pnpm made by the order of its walk
// is therefore refused, and the install runs every step: any doubt means the
// steps.

// pnpmSnapshotEdges is the part of a lockfile snapshot the walk reads.
type pnpmSnapshotEdges struct {
	Optional             bool              `yaml:"optional"`
	Dependencies         map[string]string `yaml:"dependencies"`
	OptionalDependencies map[string]string `yaml:"optionalDependencies"`
}

// pnpmRefDepPath is the snapshot key a dependency (name: ref) leads to, as pnpm's
// dependency-path refToRelative computes it; ok is false for a link: (a workspace
// project).
func pnpmRefDepPath(name, ref string) (depPath string, ok bool) {
	if strings.HasPrefix(ref, "link:") {
		return "", false
	}
	if strings.HasPrefix(ref, "@") {
		return ref, true
	}
	at := strings.Index(ref, "@")
	if at == -1 {
		return name + "@" + ref, true
	}
	colon, paren := strings.Index(ref, ":"), strings.Index(ref, "(")
	if (colon == -1 || at < colon) && (paren == -1 || at < paren) {
		return ref, true // an alias: other-name@version
	}
	return name + "@" + ref, true
}

// pnpmPlatformFits says whether the lockfile's packages entry of a snapshot
// (os, cpu, libc) allows this machine; a missing or unreadable entry fits (the
// walk then counts the package as installed, the strict side).
func pnpmPlatformFits(lock *pnpmLock, depPath string) bool {
	base, _, _ := strings.Cut(depPath, "(")
	pkg, ok := lock.Packages[base]
	var p struct {
		OS   []string `yaml:"os"`
		CPU  []string `yaml:"cpu"`
		Libc []string `yaml:"libc"`
	}
	if !ok || pkg.Decode(&p) != nil {
		return true
	}
	raw := func(v []string) json.RawMessage {
		if v == nil {
			return nil
		}
		b, _ := json.Marshal(v)
		return b
	}
	return npmPlatformFits(npmLockEntry{OS: raw(p.OS), CPU: raw(p.CPU), Libc: raw(p.Libc)})
}

// pnpmInstallableReach is the set of snapshots reachable from the project's
// importer through packages pnpm installs on this machine (a superset of what pnpm
// installs: see above). why is set when the lockfile names a snapshot it does not
// have, has one the walk does not reach, links a workspace project, or is too
// large to walk.
func pnpmInstallableReach(lock *pnpmLock) (reached map[string]bool, why string) {
	// Every snapshot is walked, through skipped packages too (as pnpm does, to
	// record what they lead to as skipped); each at most twice, once reached
	// through installable packages and once not.
	type visit struct {
		depPath     string
		installable bool // the parent is
	}
	reached = map[string]bool{}
	seen := map[string]bool{}
	var todo []visit
	push := func(name, ref string, installable bool) string {
		depPath, ok := pnpmRefDepPath(name, ref)
		if !ok {
			return name + " is linked (" + ref + ")"
		}
		if installable && !reached[depPath] || !seen[depPath] {
			todo = append(todo, visit{depPath, installable})
		}
		return ""
	}
	for _, kind := range pnpmDepKinds {
		for name, d := range lock.Importers["."][kind] {
			if why := push(name, d.Version, true); why != "" {
				return nil, why
			}
		}
	}
	steps := 0
	for len(todo) > 0 {
		v := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if v.installable && reached[v.depPath] || !v.installable && seen[v.depPath] {
			continue
		}
		if steps++; steps > 2*maxNoopTree {
			return nil, "the lockfile is too large to check"
		}
		node, ok := lock.Snapshots[v.depPath]
		var s pnpmSnapshotEdges
		if !ok || node.Decode(&s) != nil {
			return nil, "pnpm-lock.yaml has no snapshot " + v.depPath
		}
		installable := v.installable && (!s.Optional || pnpmPlatformFits(lock, v.depPath))
		if !installable && seen[v.depPath] {
			continue // its children were walked already
		}
		seen[v.depPath] = true
		if installable {
			reached[v.depPath] = true
		}
		for _, deps := range []map[string]string{s.Dependencies, s.OptionalDependencies} {
			for name, ref := range deps {
				if why := push(name, ref, installable); why != "" {
					return nil, v.depPath + ": " + why
				}
			}
		}
	}
	for depPath := range lock.Snapshots {
		if !seen[depPath] {
			return nil, "pnpm-lock.yaml has " + depPath + ", which nothing of the project depends on"
		}
	}
	return reached, ""
}

// pnpmSkippedOptional checks .modules.yaml's skipped packages: each must be an
// optional snapshot of the lockfile that pnpm leaves out on this machine — its
// own os, cpu or libc rule the machine out, or every way to it from the project
// passes through such a package. The set is returned to leave out of the tree
// check.
func pnpmSkippedOptional(lock *pnpmLock, skipped []string) (map[string]bool, string) {
	out := map[string]bool{}
	if len(skipped) == 0 {
		return out, ""
	}
	reached, why := pnpmInstallableReach(lock)
	if why != "" {
		return nil, why
	}
	for _, depPath := range skipped {
		snap, ok := lock.Snapshots[depPath]
		var s pnpmSnapshotEdges
		if !ok || snap.Decode(&s) != nil || !s.Optional {
			return nil, depPath + " was skipped but is not an optional package of pnpm-lock.yaml"
		}
		if reached[depPath] {
			return nil, depPath + " was skipped but fits this machine and is reached from the project through packages that do"
		}
		out[depPath] = true
	}
	return out, ""
}

// pnpmPackageCount counts the lockfile's packages (name@version, peers aside, as
// the precheck counts them) and those of them skipped on this machine.
func pnpmPackageCount(lock *pnpmLock, skipped map[string]bool) (all, left int) {
	installed, every := map[string]bool{}, map[string]bool{}
	for depPath := range lock.Snapshots {
		base, _, _ := strings.Cut(depPath, "(")
		every[base] = true
		if !skipped[depPath] {
			installed[base] = true
		}
	}
	return len(every), len(every) - len(installed)
}

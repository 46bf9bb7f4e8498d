package managers

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// What pnpm would tell the user bare, and the files it rewrites with nothing new.
//
// pnpm 10 runs only the build scripts of the packages the project allows
// (onlyBuiltDependencies) and ends a bare install with "Ignored build scripts: … Run
// "pnpm approve-builds" …". The download step runs with --ignore-scripts and the
// build step is `pnpm rebuild`, neither of which prints it; rebuild records the
// skipped packages in node_modules/.modules.yaml (ignoredBuilds), and phylum-box
// prints pnpm's notice from there.
//
// Every install rewrites node_modules/.pnpm-workspace-state-v1.json with a new
// lastValidatedTimestamp; when nothing else in it changed, the host's file is kept
// and the install with nothing to do syncs nothing.

const (
	pnpmModulesFile        = "node_modules/.modules.yaml"
	pnpmWorkspaceStateFile = "node_modules/.pnpm-workspace-state-v1.json"
	pnpmNoticeMaxNames     = 20
	// A build step (package code) writes .modules.yaml: read at most this much, and
	// parse YAML (aliases, deep nesting) only when small; pnpm 10 writes JSON.
	pnpmModulesMaxJSON = 16 << 20
	pnpmModulesMaxYAML = 1 << 20
)

// pnpmIgnoredBuildsNotice reads which build scripts pnpm skipped. The file is
// written by a step that runs package code: only names that look like a package's
// name@version are shown, a bounded number of them.
func pnpmIgnoredBuildsNotice(read func(rel string) ([]byte, error)) []string {
	data, err := read(pnpmModulesFile)
	if err != nil || len(data) > pnpmModulesMaxJSON {
		return nil
	}
	var mods struct {
		IgnoredBuilds []string `json:"ignoredBuilds" yaml:"ignoredBuilds"`
	}
	if json.Unmarshal(data, &mods) != nil {
		mods.IgnoredBuilds = nil
		if len(data) > pnpmModulesMaxYAML || yaml.Unmarshal(data, &mods) != nil {
			return nil
		}
	}
	// As bare pnpm prints them (dedupePackageNamesFromIgnoredBuilds): without the
	// peers' suffix ("prisma@7.10.1(typescript@5.9.3)" is prisma@7.10.1), once
	// each, sorted.
	var names []string
	seen := map[string]bool{}
	for _, n := range mods.IgnoredBuilds {
		n = pnpmRemovePeersSuffix(n)
		if !pnpmLooksLikePackage(n) || seen[n] {
			continue
		}
		seen[n] = true
		names = append(names, n)
	}
	if len(names) == 0 {
		return nil
	}
	slices.Sort(names)
	more := 0
	if len(names) > pnpmNoticeMaxNames {
		names, more = names[:pnpmNoticeMaxNames], len(names)-pnpmNoticeMaxNames
	}
	list := strings.Join(names, ", ")
	if more > 0 {
		list += fmt.Sprintf(" and %d more", more)
	}
	return []string{"pnpm: Ignored build scripts: " + list + `. Run "pnpm approve-builds" to pick which dependencies should be allowed to run scripts.`}
}

// pnpmRemovePeersSuffix is pnpm's dependency-path removePeersSuffix: a dep path
// without the parenthesised peers at its end; a patch_hash suffix before them is
// kept.
func pnpmRemovePeersSuffix(depPath string) string {
	if !strings.HasSuffix(depPath, ")") {
		return depPath
	}
	open := 1
	for i := len(depPath) - 2; i >= 0; i-- {
		switch {
		case depPath[i] == '(':
			open--
		case depPath[i] == ')':
			open++
		case open == 0:
			if strings.HasPrefix(depPath[i+1:], "(patch_hash=") {
				if j := strings.Index(depPath[i+2:], "("); j >= 0 {
					return depPath[:i+2+j]
				}
				return depPath
			}
			return depPath[:i+1]
		}
	}
	return depPath
}

// pnpmLooksLikePackage: a dep path as pnpm records it — name@version, or
// name@file:vendor/x.tgz and the like — in visible ASCII without quotes or
// backslashes (nothing a terminal or a reader could take for another message).
func pnpmLooksLikePackage(s string) bool {
	if s == "" || len(s) > 300 {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r > '~' || strings.ContainsRune("\"'`\\", r) {
			return false
		}
	}
	return strings.LastIndex(s, "@") > 0
}

// pnpmWorkspaceStateSame: the two states differ at most in lastValidatedTimestamp.
func pnpmWorkspaceStateSame(run, host []byte) bool {
	var a, b map[string]any
	if json.Unmarshal(run, &a) != nil || json.Unmarshal(host, &b) != nil {
		return false
	}
	delete(a, "lastValidatedTimestamp")
	delete(b, "lastValidatedTimestamp")
	return reflect.DeepEqual(a, b)
}

package managers

import (
	"os"
	"slices"

	"github.com/BurntSushi/toml"
)

// cargoLockMisses names a dependency of the root manifest that Cargo.lock has no
// package for, or returns "": then `cargo build --frozen` would refuse at once
// (the lockfile needs updating), so trying the build alone first
// (Plan.Steps.BuildFirst) would only cost a container and a cargo start before
// every step runs anyway (issue 12: a dependency just added to Cargo.toml).
// Read as data, beneath root, without following a symbolic link; anything it
// does not read says "" and the build is tried first as before — either answer
// leads to the same steps and the same checks.
func cargoLockMisses(root string) string {
	r, err := os.OpenRoot(root)
	if err != nil {
		return ""
	}
	defer r.Close()
	data, err := readNoLinks(r, "Cargo.toml", "Cargo.lock")
	if err != nil {
		return ""
	}
	var man map[string]any
	if _, err := toml.Decode(string(data[0]), &man); err != nil {
		return ""
	}
	var lock struct {
		Package []struct {
			Name string `toml:"name"`
		} `toml:"package"`
	}
	if _, err := toml.Decode(string(data[1]), &lock); err != nil {
		return ""
	}
	locked := map[string]bool{}
	for _, p := range lock.Package {
		locked[p.Name] = true
	}
	tables := []any{man["dependencies"], man["dev-dependencies"], man["build-dependencies"]}
	if targets, ok := man["target"].(map[string]any); ok {
		for _, t := range targets {
			if t, ok := t.(map[string]any); ok {
				tables = append(tables, t["dependencies"], t["dev-dependencies"], t["build-dependencies"])
			}
		}
	}
	var missing []string
	for _, t := range tables {
		deps, _ := t.(map[string]any)
		for key, spec := range deps {
			name := key
			if s, ok := spec.(map[string]any); ok {
				if w, _ := s["workspace"].(bool); w {
					continue // the workspace's table names it
				}
				if pkg, ok := s["package"].(string); ok {
					name = pkg
				}
			}
			if !locked[name] {
				missing = append(missing, name)
			}
		}
	}
	if len(missing) == 0 {
		return ""
	}
	slices.Sort(missing)
	return missing[0]
}

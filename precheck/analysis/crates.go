package analysis

import (
	"context"
	"path"
	"strings"

	"github.com/BurntSushi/toml"
)

// crateUnits: build.rs (or [package] build) runs at build time, and so does a
// proc-macro crate's library; both, with the modules they include, are one
// install-time program.
func crateUnits(ctx context.Context, t *tree) ([]*unit, error) {
	raw, _, err := t.read("Cargo.toml")
	if err != nil {
		return nil, err
	}
	var m struct {
		Package struct {
			Build any `toml:"build"`
		} `toml:"package"`
		Lib struct {
			ProcMacro  bool   `toml:"proc-macro"`
			ProcMacro2 bool   `toml:"proc_macro"`
			Path       string `toml:"path"`
		} `toml:"lib"`
	}
	_ = toml.Unmarshal(raw, &m) // an unreadable manifest: fall back to the defaults
	c := &closure{t: t, seen: map[string]bool{}, max: maxInstallFiles, depth: installDepth, role: roleInstall}
	var roots []string
	switch b := m.Package.Build.(type) {
	case string:
		roots = append(roots, b)
	case bool:
		if b && t.exists("build.rs") {
			roots = append(roots, "build.rs")
		}
	default:
		if t.exists("build.rs") {
			roots = append(roots, "build.rs")
		}
	}
	if m.Lib.ProcMacro || m.Lib.ProcMacro2 {
		lib := m.Lib.Path
		if lib == "" {
			lib = "src/lib.rs"
		}
		roots = append(roots, lib)
	}
	var units []*unit
	for _, r := range roots {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		r = cleanRel(r)
		if strings.HasPrefix(r, "../") || path.IsAbs(r) {
			continue
		}
		units = append(units, c.follow(r, 0)...)
	}
	return units, nil
}

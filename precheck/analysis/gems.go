package analysis

import (
	"context"
	"path"
	"strings"

	"github.com/phylum-box/phylum-box/internal/lazyre"
)

var rakeExtRE = lazyre.New(`\.extensions\s*(?:=|<<|\+=)[^\n]*Rakefile`)

// gemUnits: extconf.rb and the other extension builders (mkrf_conf, an ext/
// Rakefile, whatever file the specification's extensions name: exts) run at
// install; so does lib/rubygems_plugin.rb, which RubyGems loads into every later
// `gem` command, and a Bundler plugin's plugins.rb; a gemspec is Ruby run when the
// gem comes from git or a path. lib/NAME.rb is what `require NAME` loads.
func gemUnits(ctx context.Context, t *tree, exts []string) ([]*unit, error) {
	inst := &closure{t: t, seen: map[string]bool{}, max: maxInstallFiles, depth: installDepth, role: roleInstall}
	entry := &closure{t: t, seen: map[string]bool{}, max: maxEntryFiles, depth: 1, role: roleEntry}
	var units []*unit
	var libs []string
	for _, n := range append(exts, "lib/rubygems_plugin.rb", "plugins.rb") {
		if t.exists(n) {
			units = append(units, inst.follow(n, 0)...)
		}
	}
	for _, n := range t.list() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		base := path.Base(n)
		switch {
		case base == "extconf.rb" || strings.HasPrefix(base, "mkrf_conf") && strings.HasSuffix(base, ".rb"),
			strings.HasPrefix(n, "ext/") && (base == "Rakefile" || base == "rakefile.rb"),
			!strings.Contains(n, "/") && strings.HasSuffix(n, ".gemspec"):
			units = append(units, inst.follow(n, 0)...)
		case strings.HasPrefix(n, "lib/") && strings.Count(n, "/") == 1 && strings.HasSuffix(n, ".rb"):
			libs = append(libs, n)
		}
	}
	// extensions = ['Rakefile'] (or mkrf): a root Rakefile that builds the extension.
	if t.exists("Rakefile") {
		for _, u := range units {
			if strings.HasSuffix(u.rel, ".gemspec") && rakeExtRE().Match(u.text) {
				units = append(units, inst.follow("Rakefile", 0)...)
				break
			}
		}
	}
	for _, n := range libs {
		if !inst.seen[n] {
			units = append(units, entry.follow(n, 0)...)
		}
	}
	for n := range inst.seen {
		entry.seen[n] = true
	}
	more, err := restOf(ctx, t, entry.seen, func(n string) bool {
		return strings.HasPrefix(n, "lib/") && strings.HasSuffix(n, ".rb")
	})
	if err != nil {
		return nil, err
	}
	units = append(units, more...)
	if len(units) > maxUnits {
		units = units[:maxUnits]
	}
	return units, nil
}

package registry

import (
	"github.com/google/osv-scalibr/semantic"
)

// History is what a version's place among the package's other versions says:
// signals for the analysis of a package new to a project (a hijacked maintainer
// account typically publishes a new version that adds an install script; a
// typosquat is typically a name with one version).
type History struct {
	// Previous is the highest published version below this one ("" for the first);
	// worked out only for a version with an install script.
	Previous string
	// ScriptsAdded: this version runs an install script and Previous did not.
	ScriptsAdded bool
	// Only: the package has no other published version.
	Only bool
}

// HistoryOf places version among p's versions in npm's semver order.
func (p *Packument) HistoryOf(version string) History {
	return historyOf(p.Versions, version)
}

func historyOf(all map[string]Version, version string) History {
	h := History{Only: len(all) == 1}
	if !all[version].InstallScripts {
		// Only a version with an install script can have added one: the others
		// are not placed (a package can have thousands of versions).
		return h
	}
	cur, err := semantic.Parse(version, "npm")
	if err != nil {
		return h
	}
	var best semantic.Version
	for v := range all {
		if v == version {
			continue
		}
		c, err := cur.CompareStr(v)
		if err != nil || c <= 0 {
			continue // not below this version
		}
		if best != nil {
			if b, err := best.CompareStr(v); err != nil || b >= 0 {
				continue
			}
		}
		pv, err := semantic.Parse(v, "npm")
		if err != nil {
			continue
		}
		best, h.Previous = pv, v
	}
	if h.Previous != "" {
		h.ScriptsAdded = all[version].InstallScripts && !all[h.Previous].InstallScripts
	}
	return h
}

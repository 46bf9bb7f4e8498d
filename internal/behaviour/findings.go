package behaviour

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// collector builds observations: one per owner×rule, the highest severity, up to
// maxEvidence distinct evidence lines.
type collector struct {
	obs   map[string]*Observation
	extra map[string]int
	order []string
	// outlived are the observations of processes left running (survivors.go).
	outlived map[string]bool
	// weight is the weight of the hit each observation's summary comes from.
	weight map[string]int
}

func (c *collector) add(pkg Package, cands []Package, manager bool, h hit, evidence string) {
	owner := pkg.String()
	if pkg.IsZero() {
		switch {
		case len(cands) > 0:
			var n []string
			for _, c := range cands {
				n = append(n, c.String())
			}
			owner = "candidates " + strings.Join(n, " ")
		case manager:
			owner = "manager"
		default:
			owner = "unknown"
		}
	}
	key := h.rule + "\x00" + owner
	o := c.obs[key]
	if o == nil {
		o = &Observation{Package: pkg, Candidates: cands, Manager: manager && pkg.IsZero(),
			Rule: h.rule, Severity: h.severity, Summary: h.summary, ViaProxy: h.proxy}
		c.obs[key] = o
		c.order = append(c.order, key)
		c.weight[key] = h.weight
	} else {
		o.ViaProxy = o.ViaProxy && h.proxy
		if rank(h.severity) > rank(o.Severity) || (rank(h.severity) == rank(o.Severity) && h.weight > c.weight[key]) {
			o.Severity, o.Summary = h.severity, h.summary
			if h.weight > c.weight[key] && !slices.Contains(o.Evidence, evidence) {
				// What tells most goes first (a DNS query's name before
				// its connect): a warning shows one line.
				c.weight[key] = h.weight
				o.Evidence = append([]string{evidence}, o.Evidence...)
				if len(o.Evidence) > maxEvidence {
					o.Evidence = o.Evidence[:maxEvidence]
					c.extra[key]++
				}
				if h.outlived {
					c.outlived[key] = true
				}
				return
			}
			c.weight[key] = max(c.weight[key], h.weight)
		}
	}
	if h.outlived {
		c.outlived[key] = true
	}
	for _, e := range o.Evidence {
		if e == evidence || strings.HasPrefix(e, evidence+" (while ") || strings.HasPrefix(evidence, e+" (while ") {
			return
		}
		if base, _, ok := strings.Cut(evidence, " (while "); ok && strings.HasPrefix(e, base+" (while ") {
			return
		}
	}
	if len(o.Evidence) < maxEvidence {
		o.Evidence = append(o.Evidence, evidence)
	} else {
		c.extra[key]++
	}
}

// Findings are the observations so far: highest severity first, then by package
// and rule. Call after Close for the complete set.
func (r *Recorder) Findings() []Observation {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := &collector{obs: map[string]*Observation{}, extra: map[string]int{}, outlived: map[string]bool{}, weight: map[string]int{}}
	for _, e := range append(slices.Clip(r.hits), r.unlaunched()...) {
		pkg, cands, manager := r.settle(e)
		c.add(pkg, cands, manager, e.h, e.evidence)
	}
	out := make([]Observation, 0, len(c.order))
	outlived := map[int]bool{}
	for _, k := range c.order {
		o := *c.obs[k]
		if n := c.extra[k]; n > 0 {
			o.Evidence = append(o.Evidence, fmt.Sprintf("… and %d more", n))
		}
		outlived[len(out)] = c.outlived[k]
		out = append(out, o)
	}
	raiseOutlived(out, outlived)
	if r.dropped > 0 && len(out) > 0 {
		out[0].Evidence = append(out[0].Evidence, fmt.Sprintf("(%d further events not kept)", r.dropped))
	}
	sort.SliceStable(out, func(i, j int) bool {
		if a, b := rank(out[i].Severity), rank(out[j].Severity); a != b {
			return a > b
		}
		if a, b := out[i].Owner(), out[j].Owner(); a != b {
			return a < b
		}
		return out[i].Rule < out[j].Rule
	})
	return out
}

func rank(sev string) int {
	switch sev {
	case High:
		return 3
	case Medium:
		return 2
	case Low:
		return 1
	}
	return 0
}

func containsPkg(ps []Package, p Package) bool {
	for _, q := range ps {
		if q == p {
			return true
		}
	}
	return false
}

func sortPkgs(ps []Package) {
	sort.Slice(ps, func(i, j int) bool { return ps[i].String() < ps[j].String() })
}

package install

// The behaviour monitor in the install (issue 13): every step that runs package
// code — the build steps, the project's own scripts, a resolve or build behind the
// egress proxy — runs with the seccomp listener and decoy credentials in its
// $HOME (internal/behaviour); what it saw is judged by the policy's behaviour:
// section right after the step, before anything is synced back.

import (
	"context"
	"fmt"
	"os"

	"github.com/phylum-box/phylum-box/internal/behaviour"
	"github.com/phylum-box/phylum-box/internal/sandbox"
	"github.com/phylum-box/phylum-box/managers"
	"github.com/phylum-box/phylum-box/precheck"
	"github.com/phylum-box/phylum-box/rootfs"
)

// stepMonitor is one monitored step's recorder and its decoys' directory.
type stepMonitor struct {
	rec    *behaviour.Recorder
	decoys *behaviour.Decoys
}

// monitored says whether the step runs package code and the policy wants it
// watched.
func (r *runner) monitored(phase managers.Phase, s *managers.Step) bool {
	pol := r.o.Engine.Policy
	if pol == nil || !pol.Behaviour.Monitor {
		return false
	}
	return phase == managers.PhaseBuild || phase == managers.PhaseRun || len(s.Egress) > 0
}

// startMonitor makes the step's decoys and recorder and adds them to ex. A
// failure to set them up is a warning: the sandbox still holds the step.
func (r *runner) startMonitor(phase managers.Phase, ex *sandbox.Exec) *stepMonitor {
	dir, err := os.MkdirTemp("", "phylum-box-decoys-")
	if err != nil {
		r.o.Log.Warnf("behaviour monitor off for the %s step: %v", phase, err)
		return nil
	}
	id := r.sess.Identity()
	d, err := behaviour.NewDecoys(dir, r.o.Home, id.RootUID, id.RootGID)
	if err == nil {
		var rec *behaviour.Recorder
		if rec, err = behaviour.NewRecorder(r.o.Plan.Ecosystem, d); err == nil {
			rec.SetProject(r.root) // the project is at its own path inside
			ro, rw := d.Binds(ex.Files)
			if !ex.Network {
				// DNS to the loopback: the name a script asks for is seen.
				if b, ok, err := d.ResolverBind(ex.Files); err != nil {
					r.o.Log.Debugf("behaviour monitor: no watched resolver for the %s step: %v", phase, err)
				} else if ok {
					ro = append(ro, b)
				}
			}
			ex.Files = append(ex.Files, ro...)
			ex.Writable = append(ex.Writable, rw...)
			ex.Monitor = rec.Monitor()
			return &stepMonitor{rec: rec, decoys: d}
		}
	}
	os.RemoveAll(dir)
	r.o.Log.Warnf("behaviour monitor off for the %s step: %v", phase, err)
	return nil
}

// stop ends the recording and removes the decoys.
func (m *stepMonitor) stop() []behaviour.Observation {
	m.rec.Close()
	obs := m.rec.Findings()
	_ = m.decoys.Remove()
	return obs
}

// judgeBehaviour files what the step's code was seen doing under its packages and
// judges it. The package manager's own doings are logged, never judged. done is
// true when the policy blocks (exit 3, nothing synced back).
func (r *runner) judgeBehaviour(ctx context.Context, phase managers.Phase, s *managers.Step, obs []behaviour.Observation) (done bool, err error) {
	extra := map[precheck.Package][]precheck.Finding{}
	for _, o := range obs {
		if o.Manager {
			r.o.Log.Debugf("behaviour monitor, %s step: the package manager itself: %s (%s)", phase, o.Summary, rootfs.Printable(firstEvidence(o.Evidence)))
			continue
		}
		if phase != managers.PhaseBuild && len(s.Egress) > 0 && o.Rule == behaviour.RuleNetwork && o.ViaProxy &&
			o.Package.IsZero() && len(o.Candidates) == 0 {
			// A resolve step behind the proxy (pip's, poetry's): the manager's
			// helpers (pip's build-environment runner, phylum-box's fetch program)
			// use it and no package's code is an ancestor of theirs; package code
			// that does is filed under its package and judged.
			r.o.Log.Debugf("behaviour monitor, %s step: %s used the egress proxy (%s)", phase, o.Owner(), rootfs.Printable(firstEvidence(o.Evidence)))
			continue
		}
		if phase == managers.PhaseBuild && len(s.Egress) > 0 && o.Rule == behaviour.RuleNetwork && o.ViaProxy {
			// The build step of script_network's packages (buildsteps.go): the
			// proxy is their way out, to exactly their hosts; what it refused is
			// in the step's outcome.
			r.o.Log.Debugf("behaviour monitor, %s step: %s used the egress proxy script_network gives it", phase, o.Owner())
			continue
		}
		sev, _ := precheck.ParseSeverity(o.Severity)
		f := precheck.Finding{ID: o.Rule, Kind: precheck.Behaviour, Severity: sev, Summary: o.Summary, Evidence: o.Evidence}
		var cands []precheck.Package
		for _, c := range o.Candidates {
			cands = append(cands, r.observedPackage(c))
		}
		precheck.FileFinding(extra, r.o.Plan.Ecosystem, string(phase), r.observedPackage(o.Package), cands, f)
	}
	if len(extra) == 0 {
		return false, nil
	}
	return r.judge(ctx, extra, fmt.Sprintf("what package code did in the %s step", phase))
}

// observedPackage is the precheck package an observation names (the ecosystem is
// the plan's: one install has one).
func (r *runner) observedPackage(p behaviour.Package) precheck.Package {
	if p.IsZero() {
		return precheck.Package{}
	}
	eco := p.Ecosystem
	if eco == "" {
		eco = r.o.Plan.Ecosystem
	}
	return precheck.Package{Ecosystem: eco, Name: p.Name, Version: p.Version}
}

func firstEvidence(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

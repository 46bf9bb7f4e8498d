package install

import (
	"context"

	"github.com/phylum-box/phylum-box/precheck"
	"github.com/phylum-box/phylum-box/precheck/analysis"
)

// The resolve step's container runs the package manager for most of a second; the
// host waits. What the precheck and the analysis read after it — the registry
// metadata of every package of the lockfile (a file per package in the metadata
// cache, or a request), the typosquatting list — is mostly known before it: the
// committed lockfile names the same packages, less what this install adds or changes.
// The prewarm loads those while the step runs (issue 12: on an `npm install PKG` of a
// 300-package project the metadata alone cost 60 ms after the step). It decides
// nothing: the metadata is keyed by name and version, so a package the resolve
// dropped only costs its lookup, and the precheck still judges the lockfile the step
// left, after it, with every fact the engine would have fetched then.

// maxPrewarm bounds the packages looked up ahead; a larger committed lockfile is
// left to the precheck (its packages are attacker input: no more requests than
// the precheck itself would make, and never before the step is under way).
const maxPrewarm = 20000

type prewarm struct {
	done   chan struct{}
	cancel context.CancelFunc
}

// startPrewarm starts the loads in the background; wait for them before using what
// they load. nil (nothing to wait for) when there is nothing to load.
func (r *runner) startPrewarm(ctx context.Context) *prewarm {
	pf, _ := r.o.Engine.Metadata.(interface {
		Prefetch(context.Context, []precheck.Package)
	})
	pkgs := r.committed
	if len(pkgs) > maxPrewarm {
		pkgs = nil
	}
	lists := r.topLists()
	eco := r.o.Plan.Ecosystem
	ctx, cancel := context.WithCancel(ctx)
	w := &prewarm{done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(w.done)
		lists.Load(eco)
		if pf != nil && len(pkgs) > 0 {
			pf.Prefetch(ctx, pkgs)
		}
	}()
	return w
}

// wait returns when the prewarm is over (at once for nil).
func (w *prewarm) wait() {
	if w != nil {
		<-w.done
	}
}

// stop ends the prewarm early (its lookups are cancelled) and waits for it: an
// install that stops before its precheck does not wait for lookups it will not use.
func (w *prewarm) stop() {
	if w != nil {
		w.cancel()
		<-w.done
	}
}

// topLists are the typosquatting lists of this install: `db update`'s stored next
// to the database, else the embedded ones, each read once.
func (r *runner) topLists() *analysis.TopLists {
	if r.lists == nil {
		r.lists = analysis.LoadTopLists(r.o.Engine.DBPath)
	}
	return r.lists
}

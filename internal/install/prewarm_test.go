package install

import (
	"context"
	"testing"

	"github.com/phylum-box/phylum-box/managers"
	"github.com/phylum-box/phylum-box/precheck"
)

// prefetchRecorder is a RegistryMetadata with a Prefetch that records what it was
// asked, and blocks until released or cancelled.
type prefetchRecorder struct {
	asked   chan []precheck.Package
	release chan struct{}
	ended   chan error
}

func (p *prefetchRecorder) Metadata(context.Context, precheck.Package) (precheck.Metadata, error) {
	return precheck.Metadata{}, nil
}

func (p *prefetchRecorder) Prefetch(ctx context.Context, pkgs []precheck.Package) {
	p.asked <- pkgs
	select {
	case <-p.release:
		p.ended <- nil
	case <-ctx.Done():
		p.ended <- ctx.Err()
	}
}

func TestPrewarmLoadsTheCommittedPackages(t *testing.T) {
	committed := []precheck.Package{{Ecosystem: precheck.NPM, Name: "ms", Version: "2.1.3"}}
	for _, stop := range []bool{false, true} {
		rec := &prefetchRecorder{asked: make(chan []precheck.Package, 1), release: make(chan struct{}), ended: make(chan error, 1)}
		r := &runner{o: Options{Plan: &managers.Plan{Ecosystem: precheck.NPM}, Engine: &precheck.Engine{Metadata: rec}}, committed: committed}
		w := r.startPrewarm(context.Background())
		if got := <-rec.asked; len(got) != 1 || got[0] != committed[0] {
			t.Fatalf("prefetched %v, want the committed lockfile's %v", got, committed)
		}
		if stop {
			// An install that ends before its precheck cancels the lookups.
			w.stop()
			if err := <-rec.ended; err == nil {
				t.Errorf("stop: the prefetch was not cancelled")
			}
			continue
		}
		close(rec.release)
		w.wait()
		if err := <-rec.ended; err != nil {
			t.Errorf("wait: the prefetch ended with %v, want it to finish", err)
		}
	}
	// Too large a committed lockfile is left to the precheck.
	rec := &prefetchRecorder{asked: make(chan []precheck.Package, 1)}
	r := &runner{o: Options{Plan: &managers.Plan{Ecosystem: precheck.NPM}, Engine: &precheck.Engine{Metadata: rec}}, committed: make([]precheck.Package, maxPrewarm+1)}
	r.startPrewarm(context.Background()).wait()
	if len(rec.asked) != 0 {
		t.Errorf("prefetched a committed lockfile of %d packages", maxPrewarm+1)
	}
	var nilWarm *prewarm
	nilWarm.wait()
	nilWarm.stop()
}

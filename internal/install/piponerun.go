package install

// A plan tried first (managers.Plan.TryFirst): pip's one-run install of wheels
// (managers/piponerun.go). The attempt runs as any plan whose resolve step
// installs (fetchinresolve.go) — its resolution prechecked, what it installed
// checked and read by the static analysis before anything is synced back — in a
// session of its own, its output held back. When its resolve step fails (a
// requirement with no wheel) or its ResolveOutput says the attempt cannot give
// the manager's own result (managers.ErrFallback), the attempt is thrown away:
// nothing was synced, its output is not shown, and the plan itself runs every
// step in a fresh session. Anything else (success, a block, a refusal) is the
// install's outcome.

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/phylum-box/phylum-box/managers"
	"github.com/phylum-box/phylum-box/precheck"
)

// tryFirst runs o.Plan.TryFirst, if any; done false means o.Plan is to run.
func tryFirst(ctx context.Context, o Options, out *Outcome) (done bool, err error) {
	p := o.Plan
	if p.TryFirst == nil {
		return false, nil
	}
	o2 := o
	o2.Plan = p.TryFirst
	stdout, stderr := heldPair(o.Stdout, o.Stderr, p.TryFirst.ShowAfter, maxAttemptOutput, false) // heldoutput.go
	o2.Stdout, o2.Stderr = stdout, stderr
	res := &Outcome{Manager: out.Manager, Subcommand: out.Subcommand, Project: out.Project}
	res, err = installIn(ctx, o2, res, p.Project.Root, nil)
	if !stdout.released() && !stderr.released() {
		if errors.Is(err, managers.ErrFallback) {
			o.Log.Infof("%v: running every step", err)
			return false, nil
		}
		if err == nil && res.Code != 0 && thrownAway(o, p.TryFirst, res) {
			return false, nil
		}
	}
	stdout.flush()
	stderr.flush()
	if err != nil {
		return true, err
	}
	d := out.Duration
	*out = *res
	out.Duration = d
	return true, nil
}

// thrownAway says (and logs) whether an attempt that did not succeed, its
// output still held back, is thrown away for the plan's own steps: a failed
// resolve step (pip's one run), or as the attempt's Retry says.
func thrownAway(o Options, try *managers.Plan, res *Outcome) bool {
	var last *StepOutcome
	if len(res.Steps) > 0 {
		last = &res.Steps[len(res.Steps)-1]
	}
	failed := last != nil && last.Stopped == "" && last.ExitCode != 0
	switch {
	case try.Retry == nil:
		if failed && last.Phase == managers.PhaseResolve {
			o.Log.Infof("the one-run install failed (exit %d; a requirement may have no wheel): thrown away, running every step", last.ExitCode)
			return true
		}
	case last == nil && res.UpToDate == "" && res.Verdict != nil && res.Verdict.Result == precheck.Blocked && try.Retry(""):
		o.Log.Infof("the attempt's precheck blocked the committed lockfile: thrown away, running every step")
		return true
	case failed && try.Retry(last.Phase):
		o.Log.Infof("the attempt's %s step failed (exit %d): thrown away, running every step", last.Phase, last.ExitCode)
		return true
	}
	return false
}

// maxAttemptOutput is what a plan tried first holds back of each stream at most:
// beyond it everything passes and the attempt can no longer be thrown away.
const maxAttemptOutput = 1 << 20

// maxWheelFile bounds one installed file packed for the analysis, maxWheelTotal
// one distribution.
const (
	maxWheelFile  = 256 << 20
	maxWheelTotal = 1 << 30
)

// installedWheelTargets packs, for a PyPI resolve step that installed
// (installsInResolve: pip's one run, wheels only), each distribution it added or
// changed back into a wheel-shaped archive — the files its RECORD lists, read
// from the run's view without following links — in a temporary host dir, so
// the static analysis reads them as it reads a downloaded wheel. cleanup removes
// the dir.
func (r *runner) installedWheelTargets(pkgs []precheck.Package) (targets []analysisTarget, skipped []string, cleanup func()) {
	cleanup = func() {}
	if r.o.Plan.Ecosystem != precheck.PyPI || !installsInResolve(r.o.Plan) || len(pkgs) == 0 {
		return nil, nil, cleanup
	}
	dir, err := os.MkdirTemp("", "phylum-box-wheels-")
	if err != nil {
		return nil, []string{fmt.Sprintf("the installed distributions (%v)", err)}, cleanup
	}
	cleanup = func() { _ = os.RemoveAll(dir) }
	seen := map[string]bool{}
	for _, p := range pkgs {
		distInfo := path.Dir(strings.TrimSuffix(p.Source, onDiskSuffix))
		if seen[distInfo] || !strings.HasSuffix(distInfo, ".dist-info") {
			continue
		}
		seen[distInfo] = true
		name := fmt.Sprintf("%d.whl", len(targets))
		if why := r.packInstalledWheel(distInfo, filepath.Join(dir, name)); why != "" {
			skipped = append(skipped, fmt.Sprintf("%s@%s (%s)", p.Name, p.Version, why))
			continue
		}
		targets = append(targets, analysisTarget{pkg: p, dir: dir, archive: name})
	}
	return targets, skipped, cleanup
}

// packInstalledWheel writes the files distInfo's RECORD lists (relative to
// Root) into a zip at dst, named as in a wheel: relative to site-packages, and
// what was installed outside it (console scripts) as NAME.data/scripts/FILE.
// The archive is the same bytes for the same files (the analysis cache's key).
func (r *runner) packInstalledWheel(distInfo, dst string) (why string) {
	view := r.sess.Scratch()
	record, err := view.ReadFile(distInfo + "/RECORD")
	if err != nil {
		return "no readable RECORD: " + err.Error()
	}
	site := path.Dir(distInfo)
	dataDir := strings.TrimSuffix(path.Base(distInfo), ".dist-info") + ".data"
	f, err := os.Create(dst)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	stamp := time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)
	var total int64
	written := map[string]bool{}
	for _, line := range strings.Split(string(record), "\n") {
		rel, _, _ := strings.Cut(strings.TrimSpace(line), ",")
		rel = strings.Trim(rel, `"`)
		if rel == "" || strings.Contains(rel, "__pycache__/") || strings.HasSuffix(rel, ".pyc") {
			continue
		}
		full := path.Clean(path.Join(site, rel))
		entry := rel
		if strings.HasPrefix(path.Clean(rel), "../") {
			entry = dataDir + "/scripts/" + path.Base(full)
		}
		if written[entry] || strings.HasPrefix(full, "../") || full == ".." {
			continue
		}
		data, err := view.ReadFile(full)
		if err != nil {
			continue // listed, not there (or not a regular file): nothing to read
		}
		if len(data) > maxWheelFile {
			return full + " is larger than the analysis reads"
		}
		if total += int64(len(data)); total > maxWheelTotal {
			return "larger than the analysis reads"
		}
		written[entry] = true
		w, err := zw.CreateHeader(&zip.FileHeader{Name: entry, Method: zip.Store, Modified: stamp})
		if err != nil {
			return err.Error()
		}
		if _, err := w.Write(data); err != nil {
			return err.Error()
		}
	}
	if err := zw.Close(); err != nil {
		return err.Error()
	}
	return ""
}

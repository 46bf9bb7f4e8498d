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
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
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
	stdout, stderr := &attemptOutput{w: o.Stdout, show: p.TryFirst.ShowAfter}, &attemptOutput{w: o.Stderr, show: p.TryFirst.ShowAfter}
	o2.Stdout, o2.Stderr = stdout, stderr
	res := &Outcome{Manager: out.Manager, Subcommand: out.Subcommand, Project: out.Project}
	res, err = installIn(ctx, o2, res, p.Project.Root, nil)
	released := stdout.released() || stderr.released()
	if !released {
		if errors.Is(err, managers.ErrFallback) {
			o.Log.Infof("%v: running every step", err)
			return false, nil
		}
		if err == nil && res.Code != 0 {
			var last *StepOutcome
			if len(res.Steps) > 0 {
				last = &res.Steps[len(res.Steps)-1]
			}
			switch {
			case last != nil && last.Phase == managers.PhaseResolve && last.Stopped == "" && last.ExitCode != 0 && p.TryFirst.Retry == nil:
				o.Log.Infof("the one-run install failed (exit %d; a requirement may have no wheel): thrown away, running every step", last.ExitCode)
				return false, nil
			case p.TryFirst.Retry == nil:
			case last == nil && res.UpToDate == "" && res.Verdict != nil && res.Verdict.Result == precheck.Blocked &&
				p.TryFirst.Retry("", stdout.held()+stderr.held()):
				o.Log.Infof("the attempt's precheck blocked the committed lockfile: thrown away, running every step")
				return false, nil
			case last != nil && last.Stopped == "" && last.ExitCode != 0 && p.TryFirst.Retry(last.Phase, stdout.held()+stderr.held()):
				o.Log.Infof("the attempt's %s step failed (exit %d): thrown away, running every step", last.Phase, last.ExitCode)
				return false, nil
			}
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

// attemptOutput holds an attempt's output until its outcome is known; beyond
// 1 MiB it passes everything through, and the attempt can no longer be thrown
// away.
type attemptOutput struct {
	w    io.Writer
	mu   sync.Mutex
	buf  bytes.Buffer
	pass bool
	show []string // words from which everything passes (Plan.ShowAfter)
}

const maxAttemptOutput = 1 << 20

func (h *attemptOutput) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.pass {
		return h.w.Write(p)
	}
	h.buf.Write(p)
	release := h.buf.Len() > maxAttemptOutput
	for _, w := range h.show {
		release = release || bytes.Contains(h.buf.Bytes(), []byte(w))
	}
	if release {
		h.pass = true
		_, err := h.w.Write(h.buf.Bytes())
		h.buf.Reset()
		return len(p), err
	}
	return len(p), nil
}

func (h *attemptOutput) released() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.pass
}

// held is what the attempt printed so far, still held back.
func (h *attemptOutput) held() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.buf.String()
}

func (h *attemptOutput) flush() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.buf.Len() > 0 {
		_, _ = h.w.Write(h.buf.Bytes())
		h.buf.Reset()
	}
	h.pass = true
}

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

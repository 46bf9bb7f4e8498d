package install

// Issue 13 in the install: the static analysis of what the download installed,
// before any of it runs, and the policy's verdict on it (Engine.Judge). The
// behaviour monitor of the steps that run package code is in monitor.go.

import (
	"context"
	"fmt"
	"path"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/phylum-box/phylum-box/internal/exitcode"
	"github.com/phylum-box/phylum-box/precheck"
	"github.com/phylum-box/phylum-box/precheck/analysis"
	"github.com/phylum-box/phylum-box/rootfs"
)

// maxAnalysed bounds the packages one install analyses: a first install of a
// large tree analyses each package once; past this the rest is reported, not read.
const maxAnalysed = 5000

// analysisTarget is one installed package and the host directory holding it.
type analysisTarget struct {
	pkg precheck.Package
	dir string
	// integrity is the lockfile's hash of the package's tarball, when it pins one
	// (the analysis cache's key).
	integrity string
	// archive, when set, is a downloaded distribution file in dir, read as an
	// archive (detect_archives.go).
	archive string
}

// analysisTargets finds, for the packages the download step installed (added or
// changed by this install: the installed-tree check lists only what the run
// wrote), the directory each one was unpacked into. npm's are in the run's view of
// the project; cargo's in the crate cache, written by this run's download.
// pip, Poetry and Bundler unpack in the build step: their downloaded archives are
// read instead (archiveTargets).
func (r *runner) analysisTargets(pkgs []precheck.Package) (targets []analysisTarget, skipped []string) {
	seen := map[string]bool{}
	for _, p := range pkgs {
		var dir string
		switch p.Ecosystem {
		case precheck.NPM:
			rel := path.Dir(strings.TrimSuffix(p.Source, onDiskSuffix))
			if seen[rel] {
				continue
			}
			seen[rel] = true
			d, err := r.sess.Scratch().HostDir(rel)
			if err != nil {
				skipped = append(skipped, fmt.Sprintf("%s@%s (%v)", p.Name, p.Version, err))
				continue
			}
			dir = d
		case precheck.CratesIO:
			dir = strings.TrimSuffix(p.Source, onDiskSuffix)
			if seen[dir] {
				continue
			}
			seen[dir] = true
		default:
			continue
		}
		targets = append(targets, analysisTarget{pkg: p, dir: dir})
	}
	return targets, skipped
}

// analyzeInstalled runs the static analysis on what the download step installed
// and judges the findings with the policy. It runs after the download and before
// the build, while no container runs, so the files read are the ones the build
// would run. done is true when the install must stop (blocked, exit 3).
func (r *runner) analyzeInstalled(ctx context.Context, pkgs, resolved []precheck.Package) (done bool, err error) {
	if len(pkgs) == 0 && r.o.Plan.Steps.Fetched == "" || r.o.Engine == nil || r.out.Verdict == nil {
		return false, nil
	}
	start := time.Now()
	targets, skipped := r.analysisTargets(pkgs)
	archives, skippedArchives := r.archiveTargets(resolved)
	targets, skipped = append(targets, archives...), append(skipped, skippedArchives...)
	wheels, skippedWheels, cleanup := r.installedWheelTargets(pkgs) // piponerun.go
	defer cleanup()
	targets, skipped = append(targets, wheels...), append(skipped, skippedWheels...)
	pinned := map[string]string{}
	for _, p := range resolved {
		if p.Integrity != "" && !p.Uncheckable && p.Mismatch == "" {
			pinned[p.Ecosystem+"\x00"+p.Name+"\x00"+p.Version] = p.Integrity
		}
	}
	for i := range targets {
		p := targets[i].pkg
		if targets[i].archive != "" {
			continue // keyed by the file's own hash instead (analyzeArchive)
		}
		targets[i].integrity = pinned[p.Ecosystem+"\x00"+p.Name+"\x00"+p.Version]
	}
	if len(targets) > maxAnalysed {
		skipped = append(skipped, fmt.Sprintf("%d more package(s) beyond the first %d", len(targets)-maxAnalysed, maxAnalysed))
		targets = targets[:maxAnalysed]
	}
	for _, s := range skipped {
		r.o.Log.Warnf("static analysis skipped %s", rootfs.Printable(s))
	}
	cache := r.analysisCache
	if cache == nil {
		cache = &analysisCache{}
	}
	extra, cached := analyzeAll(ctx, targets, cache, func(t analysisTarget, err error) {
		r.o.Log.Warnf("static analysis of %s@%s: %v", t.pkg.Name, t.pkg.Version, err)
	})
	// The lists `db update` stored next to the database, else the embedded ones.
	topLists := r.topLists()
	for _, t := range targets {
		if f, ok := topLists.TyposquatFinding(t.pkg.Ecosystem, t.pkg.Name); ok {
			extra[t.pkg] = append(extra[t.pkg], f)
		}
	}
	r.registrySignals(ctx, targets, extra)
	r.o.Log.Debugf("static analysis: %d package(s) in %s (%d from the cache), %d with findings", len(targets), time.Since(start).Round(time.Millisecond), cached, len(extra))
	if len(extra) == 0 {
		return false, nil
	}
	what := "the static analysis of the downloaded packages, before any of their code ran"
	if r.o.Plan.Steps.Fetched != "" && r.o.Plan.Ecosystem == precheck.PyPI {
		// pip's and Poetry's resolve ran an sdist's metadata hook, offline.
		what = "the static analysis of the downloaded packages, before their build"
	}
	return r.judge(ctx, extra, what)
}

// analyzeAll analyses the targets on every core; findings are keyed by package.
func analyzeAll(ctx context.Context, targets []analysisTarget, cache *analysisCache, onErr func(analysisTarget, error)) (extra map[precheck.Package][]precheck.Finding, cached int) {
	var mu sync.Mutex
	extra = map[precheck.Package][]precheck.Finding{}
	work := make(chan analysisTarget)
	var wg sync.WaitGroup
	for range max(1, runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range work {
				var fs []analysis.Finding
				var hit bool
				var err error
				if t.archive != "" {
					fs, hit, err = analyzeArchive(ctx, t, cache) // detect_archives.go
				} else {
					fs, hit = cache.get(t.pkg.Ecosystem, t.pkg.Name, t.pkg.Version, t.integrity)
					if !hit {
						fs, err = analysis.Dir(ctx, analysis.Package{Ecosystem: t.pkg.Ecosystem, Name: t.pkg.Name, Version: t.pkg.Version}, t.dir)
						if err == nil {
							cache.put(t.pkg.Ecosystem, t.pkg.Name, t.pkg.Version, t.integrity, fs)
						}
					}
				}
				mu.Lock()
				if hit {
					cached++
				}
				if err != nil {
					onErr(t, err)
					if ctx.Err() == nil {
						// What could not be read is left unread: a finding the policy
						// weighs (medium), not a log line — an .tar.xz sdist pip
						// installs, or a tar Go's reader refuses, is not read at all.
						fs = append(fs, analysis.Finding{Rule: analysis.RuleOversized, Severity: "medium",
							Summary:  "the analysis could not read this package, so none of its code was checked",
							Evidence: []string{rootfs.Printable(err.Error())}})
					}
				}
				for _, f := range fs {
					k := precheck.Package{Ecosystem: t.pkg.Ecosystem, Name: t.pkg.Name, Version: t.pkg.Version}
					extra[k] = append(extra[k], f.Precheck())
				}
				mu.Unlock()
			}
		}()
	}
	for _, t := range targets {
		if ctx.Err() != nil {
			break
		}
		work <- t
	}
	close(work)
	wg.Wait()
	return extra, cached
}

// judge adds detection findings to the install's verdict. done is true when the
// policy blocks: the outcome says which package and why; nothing is synced back.
func (r *runner) judge(ctx context.Context, extra map[precheck.Package][]precheck.Finding, what string) (done bool, err error) {
	v := r.o.Engine.Judge(ctx, r.out.Verdict, extra)
	r.out.Verdict = v
	if v.Result == precheck.Pass {
		return false, nil
	}
	r.out.Code = v.ExitCode()
	if r.out.Code == 0 {
		r.out.Code = exitcode.Blocked
	}
	var blocked []string
	for _, p := range v.Packages {
		if !p.Blocked {
			continue
		}
		for _, f := range p.Findings {
			if f.Blocking && (f.Kind == precheck.Analysis || f.Kind == precheck.Behaviour) {
				who := p.Name + "@" + p.Version
				if precheck.IsPseudoPackage(p.Package) || p.Version == "" {
					who = p.Name
				}
				blocked = append(blocked, fmt.Sprintf("%s: %s (%s)", who, f.Summary, f.ID))
			}
		}
	}
	if len(blocked) == 0 {
		r.out.Reason = "blocked by the policy after " + what + "; nothing was synced back"
		return true, nil
	}
	r.out.Reason = fmt.Sprintf("blocked by the policy after %s: %s; nothing was synced back", what, rootfs.Printable(someNames(blocked)))
	return true, nil
}

// Registry signals, from what the precheck already fetched: the first version of
// a package to run an install script (the shape of a hijacked maintainer account
// publishing a poisoned release), and the only version of a package that runs one
// (the shape of a name registered for one attack). Warnings by default.
const (
	ruleScriptAdded  = "PB-ANALYSIS-SCRIPT-ADDED"
	ruleFirstRelease = "PB-ANALYSIS-FIRST-RELEASE"
)

func (r *runner) registrySignals(ctx context.Context, targets []analysisTarget, extra map[precheck.Package][]precheck.Finding) {
	md := r.o.Engine.Metadata
	if md == nil {
		return
	}
	for _, t := range targets {
		if t.pkg.Ecosystem != precheck.NPM {
			continue
		}
		m, err := md.Metadata(ctx, t.pkg)
		if err != nil || !m.InstallScripts {
			continue
		}
		k := precheck.Package{Ecosystem: t.pkg.Ecosystem, Name: t.pkg.Name, Version: t.pkg.Version}
		switch {
		case m.ScriptsAddedAfter != "":
			extra[k] = append(extra[k], precheck.Finding{
				ID: ruleScriptAdded, Kind: precheck.Analysis, Severity: precheck.SeverityMedium,
				Summary:  fmt.Sprintf("this version is the first to run an install script; %s did not", m.ScriptsAddedAfter),
				Evidence: []string{fmt.Sprintf("registry: %s@%s declares an install script, %s@%s none", t.pkg.Name, t.pkg.Version, t.pkg.Name, m.ScriptsAddedAfter)},
			})
		case m.OnlyVersion:
			extra[k] = append(extra[k], precheck.Finding{
				ID: ruleFirstRelease, Kind: precheck.Analysis, Severity: precheck.SeverityLow,
				Summary:  "the package's only published version, and it runs an install script",
				Evidence: []string{fmt.Sprintf("registry: %s has no version but %s", t.pkg.Name, t.pkg.Version)},
			})
		}
	}
}

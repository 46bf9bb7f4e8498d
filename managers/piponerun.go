package managers

// pip's one-run install (issue 12, "add one package"): `pip install NAME[SPEC]…`
// of plain registry requirements into an existing virtualenv is one pip run, as
// bare pip does it, restricted to wheels (--only-binary :all:): installing a
// wheel runs none of its code (no setup.py, no build backend), and nothing
// starts python after the install in that container. Its report (--report -)
// is the resolution, checked on the host as the resolve step's
// (pipResolver: every file listed on a configured index for that name and
// version, the index's hash — and here the hash pip reports for what it
// downloaded must be the index's too) and prechecked; what the run installed
// is checked against it and read by the static analysis (internal/install:
// fetchinresolve.go, piponerun.go) before anything is synced back. The run
// keeps the resolve step's egress proxy and credential rules.
//
// The one run is an attempt (Plan.TryFirst of the three-step plan): when pip fails — a requirement
// with no wheel — or the index lists a version of a distribution the run
// installed that is newer than the one it chose and allowed by every
// requirement on it (bare pip may have picked that version's sdist, where
// --only-binary took an older wheel), the attempt is thrown away, nothing
// synced, and the three steps run (resolve, download, build).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"deps.dev/util/semver"

	"github.com/phylum-box/phylum-box/internal/lazyre"
	"github.com/phylum-box/phylum-box/precheck"
)

// ErrFallback is a ResolveOutput's answer that the attempt (a Plan.TryFirst)
// cannot give the manager's own result: the plan itself runs.
var ErrFallback = errors.New("the one-run install would not give bare pip's result")

// pipOneRunOptions are the options (and PIP_* variables, pip.conf keys) the one
// run takes: how pip talks, where the index is, which of the named packages it
// upgrades. Anything else (-r, -c, -e, --no-binary, --only-binary,
// --prefer-binary, --require-hashes, --find-links, --no-index, --target, …)
// means the three steps.
var pipOneRunOptions = map[string]bool{
	"index-url": true, "extra-index-url": true, "upgrade": true, "pre": true, "no-deps": true,
	"quiet": true, "verbose": true, "no-input": true, "disable-pip-version-check": true,
	"timeout": true, "default-timeout": true, "retries": true, "cert": true, "client-cert": true,
	"trusted-host": true, "progress-bar": true, "root-user-action": true, "no-cache-dir": true,
	"cache-dir": true, "no-color": true, "require-virtualenv": true, "no-python-version-warning": true,
	"isolated": true, "no-warn-script-location": true, "no-warn-conflicts": true, "no-compile": true,
	"compile": true, "keyring-provider": true, "config-file": true,
}

// pipPlainReqRE is a requirement argument naming a registry project: a name,
// extras, version specifiers; no URL, path, marker or `@`.
var pipPlainReqRE = lazyre.New(`^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[\s*[A-Za-z0-9._-]+(?:\s*,\s*[A-Za-z0-9._-]+)*\s*\])?\s*((?:[<>!~]=|==|<|>)\s*[A-Za-z0-9.*+!_-]+(?:\s*,\s*(?:[<>!~]=|==|<|>)\s*[A-Za-z0-9.*+!_-]+)*)?\s*$`)

// pipOneRunWhyNot says why the command needs the three steps; "" when the one
// run may be tried.
func pipOneRunWhyNot(a *pipArgv, env Env, venv string) string {
	if venv == "" {
		return "--target, --prefix or --root"
	}
	if len(a.args) == 0 {
		return "no package argument"
	}
	for _, r := range a.args {
		if !pipPlainReqRE().MatchString(r) {
			return "a requirement that is not a plain name and version specifiers: " + pipPrintable(r)
		}
		if _, err := os.Lstat(filepath.Join(env.Dir, r)); err == nil {
			return r + " is also a file or directory here"
		}
	}
	for name := range a.opts {
		if !pipOneRunOptions[name] {
			return "--" + name
		}
	}
	for name := range a.flags {
		if !pipOneRunOptions[name] {
			return "--" + name
		}
	}
	if a.flags["upgrade"] {
		if s, ok := a.last("upgrade-strategy"); ok && s != "only-if-needed" {
			return "--upgrade-strategy " + s
		}
	}
	for _, kv := range env.Environ {
		k, _, _ := strings.Cut(kv, "=")
		if rest, ok := strings.CutPrefix(k, "PIP_"); ok && !pipOneRunOptions[strings.ReplaceAll(strings.ToLower(rest), "_", "-")] {
			return k
		}
	}
	for _, f := range pipConfigFiles(env, venv) {
		for _, kv := range pipConfigValues(f) {
			if !pipOneRunOptions[kv[0]] {
				return kv[0] + " in " + f
			}
		}
	}
	return ""
}

// pipWithOneRun gives the finished three-step plan full its one-run attempt
// (TryFirst), unless the command needs the three steps.
func (m pipManager) pipWithOneRun(full *Plan, args []string, env Env) *Plan {
	if full == nil || full.Passthrough || full.TryFirst != nil || full.Steps.Resolve == nil || full.Steps.UpToDate != nil ||
		len(full.Project.Outputs) != 1 || len(full.Steps.Resolve.Args) < 4 {
		return full
	}
	a := parsePipArgv(args)
	venv := ""
	if _, _, target := pipTargetOpt(a); !target {
		venv = filepath.Join(full.Project.Root, strings.TrimSuffix(full.Project.Outputs[0], "/"))
	}
	if why := pipOneRunWhyNot(a, env, venv); why != "" {
		full.Notes = append(full.Notes, "pip: resolve, download and build in three steps ("+why+")")
		return full
	}
	one := *full
	one.Steps = Steps{}
	one.Sandbox.Credentials = full.Sandbox.Credentials.clone()
	pip := full.Steps.Resolve.Args[:4] // python -I -m pip
	step := *full.Steps.Resolve
	step.Args = concat(pip, stripPipOpts(args, "report", "dry-run", "ignore-installed", "quiet", "verbose", "proxy", "log", "log-file", "local-log"),
		[]string{"--only-binary", ":all:", "--report", "-", "--quiet"})
	step.Env = append(slices.Clone(step.Env), "PIP_NO_CACHE_DIR=1")
	if path := pipProbeFreePATH(a, env, venv); path != "" {
		step.Env = append(step.Env, path) // wheels only: pip starts no program but its User-Agent probes (py8_probes.go)
	}
	step.Installs = true
	step.Name = pipShown(m.name, args) + " (one run: wheels only)"
	one.Steps.Resolve = &step
	cert := pipUserCert(env)
	pr := &pipResolver{src: pipGatherSources(a, env, venv), auth: pipUserAuth(env), home: env.Home, plan: &one,
		certPEM: cert, client: pipHTTPClient(cert), pages: map[string][]pipLink{}}
	chk := &pipOneRunCheck{pr: pr, a: a, pre: a.flags["pre"] || truthy(env.Getenv("PIP_PRE"))}
	one.Steps.ResolveOutput = chk.resolve
	one.Notes = slices.DeleteFunc(slices.Clone(full.Notes), func(n string) bool { return n == "pip: "+pipSdistNote })
	one.Notes = append(one.Notes, "pip: one pip run installing wheels only (no package code runs); "+
		"its report is checked and prechecked, what it installed checked and analysed before the sync back; "+
		"a requirement with no wheel, or a newer version than the run chose, means the three steps")
	full.TryFirst = &one
	full.Notes = append(full.Notes, "pip: tried first as one run (wheels only); these three steps if that cannot give bare pip's result")
	return full
}

// pipTargetOpt names the first of --target, --prefix, --root given.
func pipTargetOpt(a *pipArgv) (opt, val string, ok bool) {
	for _, o := range []string{"target", "prefix", "root"} {
		if v, has := a.last(o); has {
			return o, v, true
		}
	}
	return "", "", false
}

// pipOneRunReport is the part of the one run's report read beyond pipReportDoc.
type pipOneRunReport struct {
	Install []pipOneRunItem `json:"install"`
}

// pipOneRunItem is one package of the report's install list.
type pipOneRunItem struct {
	Metadata struct {
		Name         string   `json:"name"`
		Version      string   `json:"version"`
		RequiresDist []string `json:"requires_dist"`
	} `json:"metadata"`
	Requested    bool `json:"requested"`
	DownloadInfo struct {
		URL         string `json:"url"`
		ArchiveInfo *struct {
			Hash   string            `json:"hash"`
			Hashes map[string]string `json:"hashes"`
		} `json:"archive_info"`
	} `json:"download_info"`
}

type pipOneRunCheck struct {
	pr  *pipResolver
	a   *pipArgv
	pre bool
}

// resolve is the one run's Plan.Steps.ResolveOutput: pipResolver's checks, the
// reported hash against the index's, and the newer-version rule (ErrFallback).
func (c *pipOneRunCheck) resolve(ctx context.Context, out []byte) ([]precheck.Package, error) {
	pkgs, err := c.pr.resolve(ctx, out)
	if err != nil {
		var u *UnusableResult
		if errors.As(err, &u) {
			return nil, fmt.Errorf("%w (%v)", ErrFallback, err)
		}
		return nil, err
	}
	doc, err := pipParseOneRunReport(out)
	if err != nil || len(doc.Install) != len(pkgs) {
		return nil, fmt.Errorf("%w (its report does not read twice the same)", ErrFallback)
	}
	// What pip says it downloaded must be the file the index lists.
	for i, it := range doc.Install {
		p := &pkgs[i]
		if p.Mismatch != "" || p.Uncheckable || it.DownloadInfo.ArchiveInfo == nil {
			continue
		}
		if why := c.sameHash(ctx, it.Metadata.Name, it.DownloadInfo.URL, it.DownloadInfo.ArchiveInfo.Hash, it.DownloadInfo.ArchiveInfo.Hashes); why != "" {
			p.Mismatch = why
		}
	}
	if why := c.newer(ctx, doc); why != "" {
		return nil, fmt.Errorf("%w: %s", ErrFallback, why)
	}
	return pkgs, nil
}

func pipParseOneRunReport(out []byte) (*pipOneRunReport, error) {
	i := strings.Index(string(out), "{")
	if i < 0 {
		return nil, errors.New("no report")
	}
	var doc pipOneRunReport
	if err := jsonDecodeFirst(out[i:], &doc); err != nil {
		return nil, err
	}
	return &doc, nil
}

// sameHash: every strong hash pip reports for the file it installed from is
// the index's (a hash the index does not give is not compared).
func (c *pipOneRunCheck) sameHash(ctx context.Context, name, raw, hash string, hashes map[string]string) string {
	reported := map[string]string{}
	for alg, v := range hashes {
		reported[alg] = strings.ToLower(v)
	}
	if alg, v, ok := strings.Cut(hash, "="); ok {
		reported[alg] = strings.ToLower(v)
	}
	key, _ := pipURLKey(raw)
	for _, page := range c.pr.pages4(name) {
		links, err := c.pr.page(ctx, page)
		if err != nil {
			continue
		}
		for _, l := range links {
			if l.url != key {
				continue
			}
			for alg, v := range l.hashes {
				if got, ok := reported[alg]; ok && pipStrongHash[alg] && got != strings.ToLower(v) {
					return fmt.Sprintf("pip installed %s with %s %s, the index lists %s", pipPrintable(key), alg, pipPrintable(got), pipPrintable(v))
				}
			}
			return ""
		}
	}
	return ""
}

// newer names a distribution of the report for which a configured index lists
// a version newer than the one the run installed that every requirement on it
// allows; "" when there is none (then --only-binary chose what bare pip
// chooses). Requirements this cannot read (markers, extras, unparsable
// specifiers) are left out, which only widens what counts as allowed. With
// --upgrade, a requested name the run did not install counts too: the
// installed version stayed, which bare pip may have upgraded from an sdist.
func (c *pipOneRunCheck) newer(ctx context.Context, doc *pipOneRunReport) string {
	specs := map[string][]string{}
	for _, r := range c.a.args {
		if m := pipPlainReqRE().FindStringSubmatch(r); m != nil {
			specs[pipNormName(m[1])] = append(specs[pipNormName(m[1])], strings.TrimSpace(m[2]))
		}
	}
	installed := map[string]bool{}
	for _, it := range doc.Install {
		installed[pipNormName(it.Metadata.Name)] = true
		for _, req := range it.Metadata.RequiresDist {
			if name, spec, marker, ok := pipSplitRequirement(req); ok && marker == "" {
				specs[name] = append(specs[name], spec)
			}
		}
	}
	if c.a.flags["upgrade"] {
		for _, r := range c.a.args {
			if m := pipPlainReqRE().FindStringSubmatch(r); m != nil && !installed[pipNormName(m[1])] {
				return m[1] + " is installed already and --upgrade may take a newer sdist"
			}
		}
	}
	for _, it := range doc.Install {
		name := it.Metadata.Name
		chosen, err := semver.PyPI.Parse(it.Metadata.Version)
		if err != nil {
			return "the version of " + pipPrintable(name) + " does not parse"
		}
		pre := c.pre || chosen.IsPrerelease()
		var cons []*semver.Constraint
		for _, s := range specs[pipNormName(name)] {
			if s == "" {
				continue
			}
			con, err := semver.PyPI.ParseConstraint(s)
			if err != nil {
				continue
			}
			pre = pre || con.HasPrerelease()
			cons = append(cons, con)
		}
		for _, page := range c.pr.pages4(name) {
			links, err := c.pr.page(ctx, page)
			if err != nil {
				continue
			}
			for _, l := range links {
				ver, ok := pipFileVersion(l.file, name)
				if !ok {
					continue
				}
				v, err := semver.PyPI.Parse(ver)
				if err != nil || v.Compare(chosen) <= 0 || v.IsPrerelease() && !pre {
					continue
				}
				allowed := true
				for _, con := range cons {
					allowed = allowed && con.MatchVersionPrerelease(v)
				}
				if allowed {
					return fmt.Sprintf("the index lists %s %s (%s), newer than the %s the run installed", pipPrintable(name), pipPrintable(ver), pipPrintable(l.file), pipPrintable(it.Metadata.Version))
				}
			}
		}
	}
	return ""
}

// pipFileVersion reads the version out of a wheel or sdist file name of the
// project name.
func pipFileVersion(file, name string) (string, bool) {
	if stem, ok := strings.CutSuffix(file, ".whl"); ok {
		parts := strings.Split(stem, "-")
		if len(parts) >= 5 && pipNormName(parts[0]) == pipNormName(name) {
			return parts[1], true
		}
		return "", false
	}
	for _, ext := range []string{".tar.gz", ".zip", ".tar.bz2", ".tar.xz", ".tgz", ".tar"} {
		stem, ok := strings.CutSuffix(file, ext)
		if !ok {
			continue
		}
		for i := 0; i < len(stem); i++ {
			if stem[i] == '-' && pipNormName(stem[:i]) == pipNormName(name) {
				return stem[i+1:], true
			}
		}
		return "", false
	}
	return "", false
}

// jsonDecodeFirst decodes the first JSON value of data into v (what follows is
// not read).
func jsonDecodeFirst(data []byte, v any) error {
	return json.NewDecoder(bytes.NewReader(data)).Decode(v)
}

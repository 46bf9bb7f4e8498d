package manager

// `phylum-box analyze` beyond npm: a PyPI wheel or sdist, a gem or a crate — a
// local file, or one downloaded from the configured index — read as an archive in
// memory by the static analysis (precheck/analysis.ReadArchive), never unpacked,
// never built. The download is phylum-box's own HTTP request on the host: no code
// of the package or of any project runs while the network is used, and none runs
// afterwards either (install-time code — setup.py, extconf.rb, build.rs — is not
// run in this form: the report is the static analysis, the OSV database and the
// typosquat lists, and says so). pypi:NAME==VERSION and rubygems:NAME@VERSION
// without --static are instead installed with pip or Bundler in a throwaway
// project, the build under the monitor (runAnalyzePip, runAnalyzeBundle).

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/cmdutil"
	"github.com/phylum-box/phylum-box/internal/exitcode"
	"github.com/phylum-box/phylum-box/internal/lazyre"
	"github.com/phylum-box/phylum-box/internal/redact"
	"github.com/phylum-box/phylum-box/precheck"
	"github.com/phylum-box/phylum-box/precheck/analysis"
	"github.com/phylum-box/phylum-box/precheck/report"
)

// archiveJob is one non-npm package to analyse: a local file (Path) or a
// registry package (Name, Version) to download.
type archiveJob struct {
	Ecosystem     string // precheck's spelling: PyPI, RubyGems, crates.io
	Path          string // a local file, absolute
	Name, Version string
}

// ecosystemPrefixes maps the command's prefixes to precheck's ecosystems.
var ecosystemPrefixes = map[string]string{
	"pypi": precheck.PyPI, "pip": precheck.PyPI,
	"rubygems": precheck.RubyGems, "gem": precheck.RubyGems, "gems": precheck.RubyGems,
	"crates": precheck.CratesIO, "crates.io": precheck.CratesIO, "cargo": precheck.CratesIO,
}

// archiveEcosystem is the ecosystem a local file's name says, "" for none (npm's
// .tgz and directories stay npm's).
func archiveEcosystem(p string) string {
	l := strings.ToLower(p)
	switch {
	case strings.HasSuffix(l, ".whl"), strings.HasSuffix(l, ".zip"), strings.HasSuffix(l, ".tar.bz2"):
		return precheck.PyPI
	case strings.HasSuffix(l, ".gem"):
		return precheck.RubyGems
	case strings.HasSuffix(l, ".crate"):
		return precheck.CratesIO
	case strings.HasSuffix(l, ".tar.gz"):
		// npm packs its tarballs with a package/ top directory; an sdist's is
		// NAME-VERSION/.
		if npmPacked(p) {
			return ""
		}
		return precheck.PyPI
	}
	return ""
}

// parseArchiveTarget recognises the targets this file handles; ok is false for
// npm's (analyzeSpec).
func parseArchiveTarget(target, cwd string) (job archiveJob, ok bool, err error) {
	t := target
	eco := ""
	if pre, rest, found := strings.Cut(t, ":"); found && !strings.ContainsAny(pre, "/@") {
		e, known := ecosystemPrefixes[strings.ToLower(pre)]
		if !known {
			return job, false, nil // npm: or an unknown prefix: analyzeSpec says
		}
		eco, t = e, rest
	}
	local := strings.HasPrefix(t, "./") || strings.HasPrefix(t, "../") || strings.HasPrefix(t, "/")
	if !local && eco == "" {
		for _, ext := range []string{".whl", ".gem", ".crate", ".tar.gz", ".zip", ".tar.bz2"} {
			if strings.HasSuffix(strings.ToLower(t), ext) {
				local = true
			}
		}
	}
	if local {
		p := t
		if !filepath.IsAbs(p) {
			p = filepath.Join(cwd, p)
		}
		if eco == "" {
			if st, err := os.Stat(p); err == nil && st.IsDir() {
				return job, false, nil // a directory: npm's
			}
			if eco = archiveEcosystem(p); eco == "" {
				return job, false, nil
			}
		}
		st, err := os.Stat(p)
		if err != nil {
			return job, true, fmt.Errorf("analyze: %w", err)
		}
		if !st.Mode().IsRegular() {
			return job, true, fmt.Errorf("analyze: %s is not a file (a %s package is analysed from its archive: .whl, .tar.gz, .zip, .gem, .crate)", p, eco)
		}
		return archiveJob{Ecosystem: eco, Path: p}, true, nil
	}
	if eco == "" {
		return job, false, nil
	}
	name, version, found := strings.Cut(t, "==")
	if !found {
		name, version, found = strings.Cut(t, "@")
	}
	if !found || name == "" || version == "" || strings.ContainsAny(name, "/\\ \t\n") || strings.ContainsAny(version, "/\\ \t\n") || strings.HasPrefix(name, "-") {
		return job, true, fmt.Errorf("analyze: %q: name the version, as %s:NAME@VERSION", target, strings.ToLower(map[string]string{precheck.PyPI: "pypi", precheck.RubyGems: "rubygems", precheck.CratesIO: "crates"}[eco]))
	}
	return archiveJob{Ecosystem: eco, Name: name, Version: version}, true, nil
}

// archiveFile is one distribution file read into memory.
type archiveFile struct {
	name string // the file name, whose suffix says the format
	data []byte
}

// runAnalyzeArchive analyses a non-npm package statically and writes the report.
func runAnalyzeArchive(ctx context.Context, f *cmdutil.Factory, o *AnalyzeOptions, job archiveJob) error {
	app := o.App
	var files []archiveFile
	if job.Path != "" {
		data, err := readLocalArchive(job.Path)
		if err != nil {
			return exitcode.With(exitcode.Usage, fmt.Errorf("analyze: %w", err))
		}
		name := filepath.Base(job.Path)
		job.Name, job.Version = nameFromFile(job.Ecosystem, name)
		files = append(files, archiveFile{name: name, data: data})
	} else if job.Ecosystem == precheck.PyPI && !o.StaticOnly {
		return runAnalyzePip(ctx, f, o, job)
	} else if job.Ecosystem == precheck.RubyGems && !o.StaticOnly {
		return runAnalyzeBundle(ctx, f, o, job)
	} else {
		home, _ := os.UserHomeDir()
		app.Log.Infof("downloading %s %s@%s (nothing of it runs)", job.Ecosystem, job.Name, job.Version)
		var err error
		files, err = downloadArchives(ctx, job, home, o.Index)
		if err != nil {
			return exitcode.With(exitcode.Incomplete, fmt.Errorf("analyze: %w", err))
		}
	}
	// The user's policy: an empty directory stands for the project (there is none).
	empty, err := os.MkdirTemp("", "phylum-box-analyze-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(empty)
	pol, err := f.Policy(empty)
	if err != nil {
		return err
	}
	db, dbPath, closeDB, err := f.Database()
	if err != nil {
		return err
	}
	defer closeDB()
	pkg := precheck.Package{Ecosystem: job.Ecosystem, Name: job.Name, Version: job.Version, Source: "analyze"}
	if job.Name == "" || job.Version == "" {
		pkg.Uncheckable, pkg.Reason = true, "a local file whose name gives no NAME-VERSION"
		if pkg.Name == "" {
			pkg.Name = files[0].name
		}
	}
	eng := &precheck.Engine{Policy: pol, DB: db, DBPath: dbPath, DBFlag: cmdutil.DBFlag(dbPath)}
	v, err := eng.Evaluate(ctx, []precheck.Package{pkg})
	if err != nil {
		return err
	}
	key := precheck.Package{Ecosystem: pkg.Ecosystem, Name: pkg.Name, Version: pkg.Version}
	extra := map[precheck.Package][]precheck.Finding{}
	for _, af := range files {
		archName := af.name
		if job.Ecosystem == precheck.CratesIO {
			archName = strings.TrimSuffix(archName, ".crate") + ".tar.gz" // a .crate is a gzipped tar with a NAME-VERSION/ top
		}
		app.Log.Infof("static analysis of %s (read in memory, nothing unpacked or run)", af.name)
		fs, err := analysis.ReadArchive(ctx, analysis.Package{Ecosystem: pkg.Ecosystem, Name: pkg.Name, Version: pkg.Version}, bytes.NewReader(af.data), int64(len(af.data)), archName)
		if err != nil {
			return exitcode.With(exitcode.Incomplete, fmt.Errorf("analyze: %w", err))
		}
		for _, fd := range fs {
			extra[key] = append(extra[key], fd.Precheck())
		}
	}
	if sq, ok := analysis.LoadTopLists(dbPath).TyposquatFinding(pkg.Ecosystem, pkg.Name); ok && !pkg.Uncheckable {
		extra[key] = append(extra[key], sq)
	}
	v = eng.Judge(ctx, v, extra)
	installCode := map[string]string{precheck.PyPI: "setup.py and the build backend are", precheck.RubyGems: "extconf.rb and the Rakefile are", precheck.CratesIO: "build.rs and proc-macros are"}[job.Ecosystem]
	v.Warnings = append(v.Warnings, "install-time code not run (static analysis only) for "+job.Ecosystem+": "+installCode+" read, not executed; the package's dependencies are not analysed")
	if err := writeAnalyzeReport(app, o, v, report.Options{ToolVersion: f.Version}); err != nil {
		return err
	}
	app.Log.Warnf("install-time code not run (static analysis only) for pypi/rubygems/crates")
	who := pkg.Name + "@" + pkg.Version
	if code := v.ExitCode(); code != 0 {
		if v.Result == precheck.Blocked {
			app.Log.Errorf("analysed %s %s: the policy would block it (the report says why)", pkg.Ecosystem, who)
		} else {
			app.Log.Errorf("analysed %s %s: the precheck was incomplete (the report says why)", pkg.Ecosystem, who)
		}
		return cmdutil.ExitSilently(code)
	}
	app.Log.Infof("analysed %s %s: nothing the policy blocks", pkg.Ecosystem, who)
	return nil
}

// readLocalArchive reads a local distribution file, bounded.
func readLocalArchive(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", p)
	}
	if st.Size() > maxLocalPackage {
		return nil, fmt.Errorf("%s is larger than %d MiB", p, maxLocalPackage>>20)
	}
	return io.ReadAll(f) // the file checked, not whatever the path names by now
}

// nameFromFile reads NAME and VERSION from a distribution's file name: a wheel's
// NAME-VERSION-TAGS.whl, an sdist's NAME-VERSION.tar.gz, a gem's
// NAME-VERSION[-PLATFORM].gem, a crate's NAME-VERSION.crate.
func nameFromFile(eco, file string) (name, version string) {
	base := file
	for _, ext := range []string{".whl", ".tar.gz", ".tar.bz2", ".tgz", ".zip", ".tar", ".gem", ".crate"} {
		if strings.HasSuffix(strings.ToLower(base), ext) {
			base = base[:len(base)-len(ext)]
			break
		}
	}
	if eco == precheck.PyPI && strings.HasSuffix(strings.ToLower(file), ".whl") {
		parts := strings.Split(base, "-")
		if len(parts) >= 2 {
			return parts[0], parts[1]
		}
		return "", ""
	}
	// The version is the first dash-separated part after the name that starts
	// with a digit (names may hold dashes; a gem may end with its platform).
	parts := strings.Split(base, "-")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" && parts[i][0] >= '0' && parts[i][0] <= '9' {
			return strings.Join(parts[:i], "-"), parts[i]
		}
	}
	return "", ""
}

// runAnalyzePip installs NAME==VERSION with pip into a --target directory of a
// throwaway project through every step of a protected install: pip's resolve and
// download (the index from the user's pip settings or --index), the static
// analysis of every downloaded wheel and sdist, then the build (setup.py, the
// PEP 517 backend) in the sandbox under the behaviour monitor.
func runAnalyzePip(ctx context.Context, f *cmdutil.Factory, o *AnalyzeOptions, job archiveJob) error {
	tmp, err := throwawayProject()
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	args := []string{"install", "--disable-pip-version-check", "--no-compile", "--target", "site"}
	if o.Index != "" {
		args = append(args, "--index-url", o.Index)
	}
	args = append(args, job.Name+"=="+job.Version)
	// An active virtualenv elsewhere is not the throwaway project's.
	var environ []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k != "VIRTUAL_ENV" && k != "PIP_REQUIRE_VIRTUALENV" && k != "PIP_TARGET" && k != "PIP_PREFIX" && k != "PIP_USER" {
			environ = append(environ, kv)
		}
	}
	return analyzeInstall(ctx, f, o, tmp, "pip", args, environ, job.Name+"=="+job.Version)
}

var (
	gemNameRE    = lazyre.New(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,100}$`)
	gemVersionRE = lazyre.New(`^[0-9][0-9A-Za-z.-]{0,60}$`)
)

// runAnalyzeBundle installs NAME at VERSION with Bundler from a Gemfile
// phylum-box writes into a throwaway project (the gem source from ~/.gemrc or
// --index): the download, the static analysis of the .gem files, then the build
// (extconf.rb) in the sandbox under the behaviour monitor.
func runAnalyzeBundle(ctx context.Context, f *cmdutil.Factory, o *AnalyzeOptions, job archiveJob) error {
	if !gemNameRE().MatchString(job.Name) || !gemVersionRE().MatchString(job.Version) {
		return exitcode.With(exitcode.Usage, fmt.Errorf("analyze: %q@%q is not a gem name and version", job.Name, job.Version))
	}
	src := o.Index
	if src == "" {
		home, _ := os.UserHomeDir()
		src = gemUserSource(home)
	}
	// The Gemfile is Ruby: only a plain http(s) URL goes into it.
	if u, err := url.Parse(src); err != nil || u.Scheme != "https" && u.Scheme != "http" || strings.ContainsAny(src, "\"#'{}\\ \n") {
		return exitcode.With(exitcode.Usage, fmt.Errorf("analyze: gem source %q is not a plain http(s) URL", redact.URL(src)))
	}
	tmp, err := throwawayProject()
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	gemfile := fmt.Sprintf("source %q\ngem %q, %q\n", src, job.Name, "= "+job.Version)
	if err := os.WriteFile(filepath.Join(tmp, "Gemfile"), []byte(gemfile), 0o644); err != nil {
		return err
	}
	var environ []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k != "BUNDLE_GEMFILE" && k != "BUNDLE_APP_CONFIG" && k != "BUNDLE_PATH" && k != "BUNDLE_FROZEN" && k != "BUNDLE_DEPLOYMENT" {
			environ = append(environ, kv)
		}
	}
	return analyzeInstall(ctx, f, o, tmp, "bundle", []string{"install"}, environ, job.Name+"@"+job.Version)
}

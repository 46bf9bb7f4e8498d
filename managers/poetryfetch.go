package managers

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/phylum-box/phylum-box/internal/lazyre"
	"github.com/phylum-box/phylum-box/internal/redact"
	"github.com/phylum-box/phylum-box/precheck"
)

// Poetry's download step is phylum-box's own: `poetry lock` may have run an sdist's
// metadata hook, so nothing it left is trusted by the step that holds the network
// and the index credentials. On the host, after the resolve, poetryFetch:
//
//   - refuses any write of the resolve other than poetry.lock (and pyproject.toml
//     for add and remove);
//   - reads poetry.lock as data and blocks (exit 3, poetry.lock:line, nothing
//     fetched) an entry whose source URL is not the configured one for its source
//     name — the user's Poetry config (repositories.NAME.url), else the pyproject's
//     [[tool.poetry.source]] — since the credentials go with that name; an entry
//     without a file hash, or with a file that is not a distribution of its name and
//     version;
//   - writes the fetch list (index URL, file names and hashes, the credentials of
//     each source) for the download step only, and the build's requirements and
//     constraints for the build only.
//
// The download step runs the system python3 resolved here, isolated (-I -S: no
// current directory, user site or .pth file on sys.path), with / as working
// directory, and reads nothing of the project.

// poetryFetchHome is where the steps find the files phylum-box wrote (relative to
// $HOME): the fetch list for the download step, the requirements for the build.
const (
	poetryFetchList  = ".phylum-box/poetry/fetch.json"
	poetryBuildFiles = ".phylum-box/poetry/build"
)

// pypiSimple is where a poetry.lock entry without a source comes from.
const pypiSimple = "https://pypi.org/simple/"

// poetryLockFile is what the download needs of poetry.lock, as data.
type poetryLockFile struct {
	Package []struct {
		Name    string `toml:"name"`
		Version string `toml:"version"`
		Files   []struct {
			File string `toml:"file"`
			Hash string `toml:"hash"`
		} `toml:"files"`
		Source struct {
			Type      string `toml:"type"`
			URL       string `toml:"url"`
			Reference string `toml:"reference"`
		} `toml:"source"`
	} `toml:"package"`
	Metadata struct {
		Files map[string][]struct {
			File string `toml:"file"`
			Hash string `toml:"hash"`
		} `toml:"files"`
	} `toml:"metadata"`
}

// poetryFetchEntry is one locked package in the fetch list: the download takes the
// first of Files this interpreter can install (else the sdist).
type poetryFetchEntry struct {
	Name    string          `json:"name"`
	Version string          `json:"version"`
	Source  string          `json:"source"` // key in poetryFetchPlan.Sources
	Files   []poetryFetched `json:"files"`
}

type poetryFetched struct {
	File string `json:"file"`
	Alg  string `json:"alg"`
	Hash string `json:"hash"`
}

// poetryFetchPlan is the download step's whole input.
type poetryFetchPlan struct {
	Sources  map[string]*poetrySource `json:"sources"`
	Packages []poetryFetchEntry       `json:"packages"`
}

// poetryHashAlgs are the file hashes poetry.lock carries that the download checks.
var poetryHashAlgs = map[string]bool{"sha256": true, "sha384": true, "sha512": true}

// poetryFetch judges what `poetry lock` left and writes the later steps' inputs.
type poetryFetch struct {
	sources map[string]*poetrySource
	// mayChange are the files the resolve step may write.
	mayChange []string
	opts      []string // the build's group options (--with=…, --only-root, …)
	plan      *Plan
}

// resolved is Plan.Steps.Resolved for Poetry.
func (f *poetryFetch) resolved(changed []string, read func(string) ([]byte, error)) ([]precheck.Package, error) {
	for _, c := range changed {
		if !slices.Contains(f.mayChange, c) {
			return nil, &ForbiddenWrite{fmt.Errorf("poetry lock wrote %s, which nothing but poetry.lock may be while resolving (a source distribution's metadata hook runs there)", quoteRel(c))}
		}
	}
	lockData, err := read("poetry.lock")
	if err != nil {
		return nil, &UnusableResult{fmt.Errorf("poetry lock left no readable poetry.lock: %w", err)}
	}
	pyproject, err := read("pyproject.toml")
	if err != nil {
		return nil, &UnusableResult{fmt.Errorf("reading pyproject.toml after poetry lock: %w", err)}
	}
	fp, bad, err := poetryLockedFiles(lockData, f.sources)
	if err != nil || len(bad) > 0 {
		return bad, err
	}
	poetrySkipInstalled(fp, f.plan.Project.Root) // py8_poetryinstalled.go: what .venv holds at its locked version is not fetched again
	reqs, constraints, root, err := poetryBuildInputs(pyproject, lockData, f.opts)
	if err != nil {
		return nil, err
	}
	list, err := json.Marshal(fp)
	if err != nil {
		return nil, err
	}
	if f.plan.Sandbox.Credentials == nil {
		f.plan.Sandbox.Credentials = &Credentials{}
	}
	f.plan.Sandbox.Credentials.Files = append(f.plan.Sandbox.Credentials.Files,
		ConfigFile{Home: poetryFetchList, Secret: list},
		ConfigFile{Home: poetryBuildFiles + "/requirements.txt", Public: []byte(reqs)},
		ConfigFile{Home: poetryBuildFiles + "/constraints.txt", Public: []byte(constraints)},
		ConfigFile{Home: poetryBuildFiles + "/install-root", Public: []byte(root)})
	return nil, nil
}

func quoteRel(p string) string { return fmt.Sprintf("%q", p) }

// poetryLockedFiles reads poetry.lock: every entry from an index must come from the
// configured URL of its source and pin a hash for each of its files, and each file
// must be a distribution of the entry's name and version. bad are the entries that
// do not (Mismatch and Source set).
func poetryLockedFiles(lockData []byte, sources map[string]*poetrySource) (*poetryFetchPlan, []precheck.Package, error) {
	var lock poetryLockFile
	if _, err := toml.Decode(string(lockData), &lock); err != nil {
		return nil, nil, &UnusableResult{fmt.Errorf("poetry.lock does not parse: %w", err)}
	}
	fp := &poetryFetchPlan{Sources: map[string]*poetrySource{}}
	var bad []precheck.Package
	for i, p := range lock.Package {
		at := fmt.Sprintf("poetry.lock:%d", tomlTableLine(lockData, "[[package]]", i))
		mismatch := func(format string, a ...any) {
			bad = append(bad, precheck.Package{Ecosystem: precheck.PyPI, Name: p.Name, Version: p.Version, Source: at, Mismatch: fmt.Sprintf(format, a...)})
		}
		key := ""
		switch p.Source.Type {
		case "directory", "file", "git", "url":
			continue // not from an index: reported as not checkable; the build reads it itself
		case "":
			key = "(pypi)"
			if fp.Sources[key] == nil {
				fp.Sources[key] = &poetrySource{URL: pypiSimple}
			}
		default:
			key = poetrySourceKey(p.Source.Reference)
			s := sources[key]
			if s == nil {
				mismatch("its source %q (%s) is not a source of this project or of your Poetry config", p.Source.Reference, redact.URL(p.Source.URL))
				continue
			}
			if !sameIndexURL(p.Source.URL, s.URL) {
				mismatch("its source %q is %s in %s, but poetry.lock gives %s; the source's credentials go only to its configured URL",
					p.Source.Reference, redact.URL(s.URL), s.where, redact.URL(p.Source.URL))
				continue
			}
			fp.Sources[key] = s
		}
		files := p.Files
		if len(files) == 0 {
			files = lock.Metadata.Files[p.Name]
		}
		if len(files) == 0 {
			mismatch("poetry.lock pins no file hash for it; lock again (poetry lock)")
			continue
		}
		e := poetryFetchEntry{Name: p.Name, Version: p.Version, Source: key}
		ok := true
		for _, fl := range files {
			if !strings.HasSuffix(fl.File, ".whl") && sdistBase(fl.File) == "" {
				continue // an .egg or .exe of an old release: never fetched
			}
			alg, sum, _ := strings.Cut(fl.Hash, ":")
			switch {
			case !poetryHashAlgs[alg] || !hexHash().MatchString(sum):
				mismatch("%s has no sha256 hash in poetry.lock (%q)", fl.File, fl.Hash)
			case !distOf(fl.File, p.Name, p.Version):
				mismatch("%s is not a distribution of %s %s", fl.File, p.Name, p.Version)
			default:
				e.Files = append(e.Files, poetryFetched{File: fl.File, Alg: alg, Hash: sum})
				continue
			}
			ok = false
			break
		}
		if ok {
			fp.Packages = append(fp.Packages, e)
		}
	}
	return fp, bad, nil
}

// distOf reports whether file is a wheel or sdist named for name and version
// (PEP 503 names; versions compared without case, a leading "v" and separators).
func distOf(file, name, version string) bool {
	if strings.ContainsAny(file, "/\\") || file == "" {
		return false
	}
	var n, v string
	if base, ok := strings.CutSuffix(file, ".whl"); ok {
		parts := strings.Split(base, "-")
		if len(parts) < 5 {
			return false
		}
		n, v = parts[0], parts[1]
	} else {
		base := sdistBase(file)
		i := strings.LastIndex(base, "-")
		if i <= 0 {
			return false
		}
		n, v = base[:i], base[i+1:]
	}
	return pipNormName(n) == pipNormName(name) && normalizePyVersion(v) == normalizePyVersion(version)
}

// sdistBase is an sdist's file name without its archive extension, or "".
func sdistBase(file string) string {
	for _, ext := range []string{".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".zip", ".tar"} {
		if b, ok := strings.CutSuffix(file, ext); ok {
			return b
		}
	}
	return ""
}

func normalizePyVersion(v string) string {
	v = strings.TrimPrefix(strings.ToLower(v), "v")
	return pipSepRE().ReplaceAllString(v, ".")
}

// poetryBuildInputs are the offline build's inputs: the project's direct
// requirements of the selected groups (pip evaluates markers and extras below
// them), every locked index version as a constraint, and whether the project itself
// is installed ("1" or "").
func poetryBuildInputs(pyproject, lockData []byte, opts []string) (reqs, constraints, root string, err error) {
	var doc poetryPyproject
	if _, err := toml.Decode(string(pyproject), &doc); err != nil {
		return "", "", "", &InvalidProject{fmt.Errorf("pyproject.toml does not parse: %w", err)}
	}
	var lock poetryLockFile
	if _, err := toml.Decode(string(lockData), &lock); err != nil {
		return "", "", "", &UnusableResult{fmt.Errorf("poetry.lock does not parse: %w", err)}
	}
	var pins []string
	for _, p := range lock.Package {
		switch p.Source.Type {
		case "directory", "file", "git", "url":
			continue
		}
		if poetryReqName().MatchString(p.Name) && poetryReqVersion().MatchString(p.Version) {
			pins = append(pins, p.Name+"=="+p.Version)
		}
	}
	tp := doc.Tool.Poetry
	type group struct {
		name string
		deps map[string]any
	}
	groups := []group{{"main", tp.Dependencies}}
	for _, g := range sortedKeys(tp.Group) {
		if !tp.Group[g].Optional {
			groups = append(groups, group{g, tp.Group[g].Dependencies})
		}
	}
	if len(tp.DevDependencies) > 0 {
		groups = append(groups, group{"dev", tp.DevDependencies})
	}
	var only, without, with []string
	for _, o := range opts {
		for _, k := range []struct {
			prefix string
			list   *[]string
		}{{"--only=", &only}, {"--without=", &without}, {"--with=", &with}} {
			if v, ok := strings.CutPrefix(o, k.prefix); ok {
				*k.list = append(*k.list, strings.Split(v, ",")...)
			}
		}
		if o == "--no-dev" {
			without = append(without, "dev")
		}
	}
	for _, g := range sortedKeys(tp.Group) {
		if tp.Group[g].Optional && (slices.Contains(with, g) || slices.Contains(only, g)) {
			groups = append(groups, group{g, tp.Group[g].Dependencies})
		}
	}
	var lines []string
	if !slices.Contains(opts, "--only-root") {
		for _, g := range groups {
			if (len(only) > 0 && !slices.Contains(only, g.name)) || slices.Contains(without, g.name) {
				continue
			}
			for _, name := range sortedKeys(g.deps) {
				spec := g.deps[name]
				if strings.EqualFold(name, "python") || !poetryReqName().MatchString(name) {
					continue
				}
				var extras []string
				if m, ok := spec.(map[string]any); ok {
					if opt, _ := m["optional"].(bool); opt {
						continue
					}
					if m["path"] != nil || m["git"] != nil || m["url"] != nil {
						continue
					}
					if list, ok := m["extras"].([]any); ok {
						for _, x := range list {
							if s, ok := x.(string); ok && poetryReqName().MatchString(s) {
								extras = append(extras, s)
							}
						}
					}
				}
				if len(extras) > 0 {
					name += "[" + strings.Join(extras, ",") + "]"
				}
				lines = append(lines, name)
			}
		}
	}
	slices.Sort(lines)
	lines = slices.Compact(lines)
	pkgMode := tp.PackageMode == nil || *tp.PackageMode
	if list, ok := tp.Packages.([]any); ok && len(list) == 0 {
		pkgMode = false // packages = [] (the tests' projects): nothing of the root to install
	}
	if pkgMode && !slices.Contains(opts, "--no-root") {
		root = "1"
	}
	return joinLines(lines), joinLines(pins), root, nil
}

// poetryReqName and poetryReqVersion keep what goes into a requirements line a
// plain name and version (the file is pip's input: no options, no URLs).
var (
	poetryReqName    = lazyre.New(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	poetryReqVersion = lazyre.New(`^[A-Za-z0-9][A-Za-z0-9.!+_-]*$`)
)

func joinLines(l []string) string {
	if len(l) == 0 {
		return ""
	}
	return strings.Join(l, "\n") + "\n"
}

// poetryBuildEnvIndex points the pip Poetry runs to build an sdist's metadata at
// the project's default source (its configured URL, without credentials) and at
// Debian's wheels of setuptools and wheel, when PyPI is not a source; nothing
// when the user set PIP_INDEX_URL.
func poetryBuildEnvIndex(pyproject []byte, sources map[string]*poetrySource, env Env) []string {
	if env.Getenv("PIP_INDEX_URL") != "" {
		return nil
	}
	var doc struct {
		Tool struct {
			Poetry struct {
				Source []struct {
					Name     string `toml:"name"`
					Default  bool   `toml:"default"`
					Priority string `toml:"priority"`
				} `toml:"source"`
			} `toml:"poetry"`
		} `toml:"tool"`
	}
	if _, err := toml.Decode(string(pyproject), &doc); err != nil {
		return nil
	}
	for _, s := range doc.Tool.Poetry.Source {
		if !s.Default && !strings.EqualFold(s.Priority, "default") {
			continue
		}
		src := sources[poetrySourceKey(s.Name)]
		if src == nil {
			return nil
		}
		out := []string{"PIP_INDEX_URL=" + src.URL}
		if st, err := os.Stat(debianWheels); err == nil && st.IsDir() {
			out = append(out, "PIP_FIND_LINKS="+debianWheels)
		}
		return out
	}
	return nil
}

// poetryHideLocalConfig gives the steps with the network an empty poetry.toml in
// place of the project's: Poetry reads that file as config (virtualenvs.*,
// certificates.*.cert, cache-dir, system-git-client, …), and nothing a project sets
// there is needed to lock or fetch. The build sees the project's own.
func poetryHideLocalConfig(p *Plan, root string) error {
	path := filepath.Join(root, "poetry.toml")
	if _, err := os.Lstat(path); err != nil {
		return nil
	}
	if why := projectFileProblem(root, path); why != "" {
		return &Refusal{Manager: "poetry", Reason: why, Advice: "make poetry.toml the project's own file, or remove it"}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return &Refusal{Manager: "poetry", Reason: "reading poetry.toml: " + err.Error(), Advice: "make it readable or remove it"}
	}
	if p.Sandbox.Credentials == nil {
		p.Sandbox.Credentials = &Credentials{}
	}
	p.Sandbox.Credentials.Files = append(p.Sandbox.Credentials.Files, ConfigFile{Project: "poetry.toml",
		Secret: []byte("# phylum-box: the project's poetry.toml is not read while locking and fetching\n"), Public: data})
	return nil
}

// debianWheels holds the wheels of setuptools, wheel and pip that Debian ships.
const debianWheels = "/usr/share/python-wheels"

// poetryHostTools are the programs the networked steps run, found on the host: the
// system python3 (else the first python3 on PATH) and poetry, never one inside the
// project, in a virtualenv, or a shim script (pyenv's and asdf's read the project's
// .python-version). path is the user's PATH without the project's or relative
// directories, for the networked steps. hostDirs are directories the sandbox must
// show for them (an interpreter under $HOME).
func poetryHostTools(env Env, root string) (python, poetry, path string, hostDirs []string, err error) {
	var dirs []string
	for _, d := range filepath.SplitList(env.Getenv("PATH")) {
		if d == "" || !filepath.IsAbs(d) || within(root, filepath.Clean(d)) {
			continue
		}
		if real, err := filepath.EvalSymlinks(d); err == nil && within(root, real) {
			continue
		}
		dirs = append(dirs, d)
	}
	path = strings.Join(dirs, ":")
	if path == "" {
		path = "/usr/local/bin:/usr/bin:/bin"
	}
	find := func(name string, cands []string, elf bool) string {
		for _, c := range cands {
			real, err := filepath.EvalSymlinks(c)
			if err != nil || within(root, real) {
				continue
			}
			st, err := os.Stat(real)
			if err != nil || !st.Mode().IsRegular() || st.Mode()&0o111 == 0 {
				continue
			}
			if elf && (!isELF(real) || isVenvBin(filepath.Dir(c)) || isVenvBin(filepath.Dir(real))) {
				continue
			}
			if elf {
				return real // run as itself, not through a symlink in some venv
			}
			return c
		}
		return ""
	}
	var pyCands, poetryCands []string
	pyCands = append(pyCands, "/usr/bin/python3")
	for _, d := range dirs {
		pyCands = append(pyCands, filepath.Join(d, "python3"))
		poetryCands = append(poetryCands, filepath.Join(d, "poetry"))
	}
	python = find("python3", pyCands, true)
	if python == "" {
		return "", "", "", nil, &Refusal{Manager: "poetry", Reason: "no python3 interpreter outside the project and outside any virtualenv was found on PATH",
			Advice: "install the system python3 (apt install python3)"}
	}
	poetry = find("poetry", poetryCands, false)
	if poetry == "" {
		poetry = "poetry" // the step fails like the bare command would
	}
	if !within(python, "/usr") && !within(python, "/bin") {
		hostDirs = append(hostDirs, filepath.Dir(filepath.Dir(python)))
	}
	return python, poetry, path, hostDirs, nil
}

// isELF reports whether the file starts like an ELF executable.
func isELF(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	b := make([]byte, 4)
	n, _ := f.Read(b)
	return n == 4 && string(b) == "\x7fELF"
}

// isVenvBin reports whether dir is a virtualenv's bin directory.
func isVenvBin(dir string) bool {
	_, err := os.Stat(filepath.Join(filepath.Dir(dir), "pyvenv.cfg"))
	return err == nil
}

package lockfile

import (
	"bytes"
	"io/fs"
	"path"
	"path/filepath"
	"strings"
	"testing/fstest"

	"github.com/google/osv-scalibr/extractor/filesystem"
	"github.com/google/osv-scalibr/extractor/filesystem/language/python/requirements"
	scalibrfs "github.com/google/osv-scalibr/fs"

	"github.com/phylum-box/phylum-box/precheck"
)

// requirements.txt wraps scalibr's requirements extractor, which knows pip's line grammar
// (continuations, comments, extras, markers, per-requirement options, -r includes).
//
// Post-processing, because scalibr reports a version for any comparator and silently skips
// what it cannot name:
//   - only `==`/`===` pins are checkable; `>=`, `~=`, unconstrained lines are reported as
//     Uncheckable (pip would resolve them at install time to something not in this file);
//   - lines scalibr drops without a trace — editable installs, URLs, local paths/wheels,
//     `name @ url` direct references, lines using ${ENV} variables — are found by a second,
//     cheap pass over the top file and reported as Uncheckable;
//   - an -r include that cannot be read is reported as Uncheckable instead of a log line.
func parseRequirements(in *input) ([]precheck.Package, error) {
	top := in.fsPath
	if top == "" {
		top = in.base
	}
	fsys := &includeFS{top: top, data: in.data, fsys: in.fsys}
	ext, err := requirements.New(nil)
	if err != nil {
		return nil, err
	}
	inv, err := ext.Extract(in.ctx, &filesystem.ScanInput{
		FS:     fsys,
		Path:   top,
		Root:   "/",
		Reader: bytes.NewReader(in.data),
	})
	if err != nil {
		return nil, err
	}
	out := make([]precheck.Package, 0, len(inv.Packages))
	for _, p := range inv.Packages {
		pkg := precheck.Package{Ecosystem: precheck.PyPI, Name: p.Name, Version: p.Version}
		file, line := top, 0
		loc := p.Location
		if len(loc.Related) > 0 && loc.Related[0].File != nil {
			file, line = loc.Related[0].File.Path, loc.Related[0].File.LineNumber // from an -r include
		} else if loc.Descriptor != nil && loc.Descriptor.File != nil {
			file, line = loc.Descriptor.File.Path, loc.Descriptor.File.LineNumber
		}
		pkg.Source = in.related(top, file, line)
		comp := ""
		if md, ok := p.Metadata.(*requirements.Metadata); ok {
			comp = md.VersionComparator
		}
		if comp != "==" && comp != "===" || p.Version == "" || strings.ContainsAny(p.Version, "*") {
			req := p.Name
			if md, ok := p.Metadata.(*requirements.Metadata); ok && md.Requirement != "" {
				req = md.Requirement
			}
			pkg.Uncheckable, pkg.Reason, pkg.Version = true, "not pinned with == ("+req+"); pip would choose the version at install time", ""
		}
		out = append(out, pkg)
	}
	out = append(out, requirementsSkipped(in)...)
	for _, inc := range fsys.included {
		// The same second pass over every included file scalibr read.
		out = append(out, requirementsSkipped(&input{source: in.related(top, inc.name, 0), data: inc.data})...)
	}
	for _, name := range fsys.missing {
		shown := in.related(top, name, 0)
		out = append(out, precheck.Package{Ecosystem: precheck.PyPI, Name: shown, Source: in.source,
			Uncheckable: true, Reason: "included requirements file could not be read (" + shown + ")"})
	}
	return out, nil
}

// related is the Source for a line of file, a path in the same file system as top (the
// lockfile): the lockfile's own Source, or the included file's path relative to it.
func (in *input) related(top, file string, line int) string {
	if file == top {
		return in.at(line)
	}
	p := file
	if rel, err := filepath.Rel(filepath.Dir(filepath.FromSlash(top)), filepath.FromSlash(file)); err == nil {
		p = filepath.Join(filepath.Dir(in.source), rel)
	}
	return (&input{source: p}).at(line)
}

// requirementsSkipped finds the logical lines of the top file that name something to
// install but that scalibr's extractor skips.
func requirementsSkipped(in *input) []precheck.Package {
	var out []precheck.Package
	lines := strings.Split(string(in.data), "\n")
	for i := 0; i < len(lines); i++ {
		start := i + 1
		l := lines[i]
		for strings.HasSuffix(strings.TrimRight(l, "\r"), `\`) && i+1 < len(lines) {
			l = strings.TrimSuffix(strings.TrimRight(l, "\r"), `\`) + " " + lines[i+1]
			i++
		}
		l = strings.TrimSpace(l)
		if c := strings.Index(l, " #"); c >= 0 {
			l = strings.TrimSpace(l[:c])
		}
		if l == "" || l[0] == '#' {
			continue
		}
		var reason, name string
		switch {
		case strings.HasPrefix(l, "-e ") || strings.HasPrefix(l, "--editable"):
			target := strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(l, "--editable"), "-e"))
			target = strings.TrimSpace(strings.TrimPrefix(target, "="))
			name, reason = target, "editable install ("+target+")"
		case strings.HasPrefix(l, "-"):
			continue // options and includes
		case strings.Contains(l, "${"):
			name, reason = l, "uses an environment variable ("+l+")"
		case strings.Contains(l, "://") || strings.HasPrefix(l, ".") || strings.HasPrefix(l, "/") ||
			strings.HasSuffix(strings.Fields(l)[0], ".whl") || strings.HasSuffix(strings.Fields(l)[0], ".tar.gz") ||
			strings.HasSuffix(strings.Fields(l)[0], ".zip"):
			ref := strings.Fields(l)[0]
			name = ref
			if n, u, ok := strings.Cut(l, " @ "); ok {
				name, ref = strings.TrimSpace(n), strings.Fields(strings.TrimSpace(u))[0]
			} else if b := path.Base(ref); strings.Contains(b, "-") {
				name = b[:strings.IndexByte(b, '-')]
			}
			reason = "direct reference, not from an index (" + ref + ")"
		default:
			continue
		}
		if _, egg, ok := strings.Cut(name, "#egg="); ok {
			name, _, _ = strings.Cut(egg, "&") // pip's legacy project name fragment
		}
		if j := strings.IndexByte(name, '['); j > 0 {
			name = name[:j]
		}
		out = append(out, precheck.Package{Ecosystem: precheck.PyPI, Name: name, Source: in.at(start), Uncheckable: true, Reason: reason})
	}
	return out
}

// includeFS serves the top file from memory and -r includes from the lockfile's directory
// (os.DirFS refuses paths that climb out of it). An include that cannot be opened is served
// as an empty file and remembered, so it is reported rather than logged by scalibr.
type includeFS struct {
	top      string
	data     []byte
	fsys     fs.FS
	missing  []string
	included []includedFile
}

type includedFile struct {
	name string
	data []byte
}

var _ scalibrfs.FS = (*includeFS)(nil)

func (f *includeFS) Open(name string) (fs.File, error) {
	if name == f.top {
		return fstest.MapFS{name: {Data: f.data}}.Open(name)
	}
	if f.fsys != nil {
		if st, err := fs.Stat(f.fsys, name); err == nil && st.Mode().IsRegular() && st.Size() <= MaxSize {
			if data, err := fs.ReadFile(f.fsys, name); err == nil && len(data) <= MaxSize {
				f.included = append(f.included, includedFile{name, data})
				return fstest.MapFS{"included": {Data: data}}.Open("included")
			}
		}
	}
	f.missing = append(f.missing, name)
	return fstest.MapFS{"missing": {}}.Open("missing") // name may not be a valid fs path
}

func (f *includeFS) ReadDir(name string) ([]fs.DirEntry, error) {
	return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
}

func (f *includeFS) Stat(name string) (fs.FileInfo, error) {
	file, err := f.Open(name)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	return file.Stat()
}

package lockfile

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/phylum-box/phylum-box/precheck"
)

// MaxSize is the largest lockfile read. Real lockfiles of large monorepos are a few MB;
// the limit keeps a hostile or mistaken path (a device, a huge log) from exhausting memory.
const MaxSize = 64 << 20

// format is one lockfile format.
type format struct {
	// names are the base names that select the format without looking at the content.
	names []string
	parse func(in *input) ([]precheck.Package, error)
}

// input is one lockfile being parsed.
type input struct {
	ctx    context.Context
	source string // the lockfile path as given, used for Package.Source
	data   []byte
	base   string // base name, for format detection
	// fsys holds the files a lockfile may include (requirements.txt -r), and fsPath is the
	// lockfile's own path in it. fsys is nil when parsing a reader.
	fsys   fs.FS
	fsPath string
	opts   Options
}

// formats in the order Find reports them when several are present.
var formats = []format{
	{names: []string{"package-lock.json", "npm-shrinkwrap.json"}, parse: parseNPM},
	{names: []string{"yarn.lock"}, parse: parseYarn},
	{names: []string{"pnpm-lock.yaml"}, parse: parsePNPM},
	{names: []string{"requirements.txt"}, parse: parseRequirements},
	{names: []string{"Pipfile.lock"}, parse: parsePipfileLock},
	{names: []string{"poetry.lock"}, parse: parsePoetry},
	{names: []string{"uv.lock"}, parse: parseUV},
	{names: []string{"pdm.lock"}, parse: parsePDM},
	{names: []string{"pip-report.json"}, parse: parsePipReport},
	{names: []string{"Gemfile.lock", "gems.locked"}, parse: parseGemfileLock},
	{names: []string{"Cargo.lock"}, parse: parseCargo},
}

// Formats returns the base names Parse and Find recognise, for help text.
func Formats() []string {
	var out []string
	for _, f := range formats {
		out = append(out, f.names...)
	}
	return out
}

// Find returns the lockfiles phylum-box understands in dir, not recursively, in the order of
// Formats. Only exact base names count (requirements.txt, not dev-requirements.txt): Find
// answers "what does this project lock", and a guess there would check the wrong file.
// A symlink to a regular file inside dir is followed; one leading out of dir, or a file
// with more than one hard link, is an error naming it and where it points (a checkout's
// files are untrusted input: a committed Cargo.lock linking to ~/.pypirc is not the
// project's lockfile); anything else that is not a regular file is skipped. Where both npm-shrinkwrap.json and package-lock.json exist, only the shrinkwrap is
// returned: it is the one npm installs from.
func Find(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("looking for lockfiles: %w", err)
	}
	present := make(map[string]bool, len(entries))
	for _, e := range entries {
		present[e.Name()] = true
	}
	var out []string
	for _, f := range formats {
		for _, n := range f.names {
			if !present[n] {
				continue
			}
			if n == "package-lock.json" && present["npm-shrinkwrap.json"] {
				continue // npm ignores package-lock.json when a shrinkwrap is present
			}
			p := filepath.Join(dir, n)
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				if why := notDirsOwn(dir, p, st); why != "" {
					return nil, fmt.Errorf("%s; a checkout's files are untrusted input: replace it with a plain file, or name it on the command line to check it anyway", why)
				}
				out = append(out, p)
			}
		}
	}
	return out, nil
}

// notDirsOwn says why the regular file p (st), found in dir, is not dir's own: a
// symbolic link out of dir, or a hard link ("" when it is its own).
func notDirsOwn(dir, p string, st os.FileInfo) string {
	if lst, err := os.Lstat(p); err == nil && lst.Mode()&os.ModeSymlink != 0 {
		real, err := filepath.EvalSymlinks(p)
		realDir, derr := filepath.EvalSymlinks(dir)
		if err != nil || derr != nil || !strings.HasPrefix(real, realDir+string(filepath.Separator)) {
			target, _ := os.Readlink(p)
			return fmt.Sprintf("%s is a symbolic link out of %s (to %s)", p, dir, target)
		}
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && sys.Nlink > 1 {
		return fmt.Sprintf("%s has %d hard links (the same file under another name, maybe outside %s)", p, sys.Nlink, dir)
	}
	return ""
}

// Parse reads one lockfile. The format is chosen from the base name: an exact name from
// Formats, or one ending in "."+name (vite.pnpm-lock.yaml), or any *requirements*.txt;
// otherwise the content decides (see detect). Source in the result is path plus ":line"
// where the format makes the line cheap to know.
func Parse(path string) ([]precheck.Package, error) {
	return ParseWith(path, Options{})
}

// ParseWith is Parse with options (the registries the install fetches from).
func ParseWith(path string, opts Options) ([]precheck.Package, error) {
	// O_NONBLOCK: opening a FIFO planted under a lockfile's name must not hang the check;
	// it is refused below as not a regular file. It has no effect on regular files.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("reading lockfile: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading lockfile: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file; give the path of a lockfile", path)
	}
	data, err := readLimited(f, path)
	if err != nil {
		return nil, err
	}
	in := &input{ctx: context.Background(), source: path, data: data, base: filepath.Base(path), opts: opts}
	// Includes are resolved like pip does, relative to the including file and free to climb
	// out of its directory (-r ../base.txt is common), so the file system is rooted at "/".
	// They are only read and parsed as lockfiles, with the user's own rights.
	if abs, err := filepath.Abs(path); err == nil {
		in.fsys, in.fsPath = os.DirFS("/"), strings.TrimPrefix(filepath.ToSlash(abs), "/")
	}
	return parse(in)
}

// ParseReader parses a lockfile read from r. name is the base name used to choose the
// format (as for Parse) and, as given, the Source of every package. Files a lockfile
// includes (requirements.txt -r) cannot be read and are reported as uncheckable.
func ParseReader(ctx context.Context, name string, r io.Reader) ([]precheck.Package, error) {
	return ParseReaderWith(ctx, name, r, Options{})
}

// ParseReaderWith is ParseReader with options.
func ParseReaderWith(ctx context.Context, name string, r io.Reader, opts Options) ([]precheck.Package, error) {
	data, err := readLimited(r, name)
	if err != nil {
		return nil, err
	}
	return parse(&input{ctx: ctx, source: name, data: data, base: filepath.Base(name), opts: opts})
}

func readLimited(r io.Reader, name string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: reading lockfile: %w", name, err)
	}
	if len(data) > MaxSize {
		return nil, fmt.Errorf("%s: larger than %d MiB; this is not a lockfile phylum-box can read", name, MaxSize>>20)
	}
	return data, nil
}

func parse(in *input) ([]precheck.Package, error) {
	f, err := detect(in.base, in.data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", in.source, err)
	}
	return parseWith(f, in)
}

// parseWith runs one format's parser and normalises its result.
func parseWith(f *format, in *input) (pkgs []precheck.Package, err error) {
	// The decoders below include third-party code; a panic on hostile input must become
	// an error about this file, not take the whole check down.
	defer func() {
		if r := recover(); r != nil {
			pkgs = nil
			err = fmt.Errorf("%s: malformed lockfile (parser failed: %v); regenerate it with its package manager", in.source, r)
		}
	}()
	pkgs, err = f.parse(in)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", in.source, err)
	}
	for i := range pkgs {
		if pkgs[i].Name == "" {
			// A malformed entry is still something the package manager may install.
			pkgs[i].Name = "(unnamed entry)"
			if !pkgs[i].Uncheckable {
				pkgs[i].Uncheckable, pkgs[i].Reason = true, "the lockfile entry has no package name"
			}
		}
		// Before the dedupe: every entry is checked as it will be fetched, not only
		// the first of a name and version.
		verifyNPMOrigin(&pkgs[i], in.opts.NPM)
	}
	return dedupe(pkgs), nil
}

// detect picks the format for a base name, looking at the content only when the name does
// not say. Content sniffing covers the names people give exported files (pip-report.json,
// fixtures such as one-package.lock) and is deliberately conservative.
func detect(base string, data []byte) (*format, error) {
	for i := range formats {
		for _, n := range formats[i].names {
			if base == n || strings.HasSuffix(base, "."+n) {
				return &formats[i], nil
			}
		}
	}
	if strings.HasSuffix(base, ".txt") && strings.Contains(base, "requirements") {
		return byName("requirements.txt"), nil
	}
	head := data
	if len(head) > 4096 {
		head = head[:4096]
	}
	trimmed := bytes.TrimSpace(data)
	switch {
	case strings.HasSuffix(base, ".json"):
		switch {
		case bytes.Contains(head, []byte(`"lockfileVersion"`)):
			return byName("package-lock.json"), nil
		case bytes.Contains(head, []byte(`"_meta"`)):
			return byName("Pipfile.lock"), nil
		case bytes.Contains(data, []byte(`"install"`)) && bytes.Contains(head, []byte(`"pip_version"`)):
			return byName("pip-report.json"), nil
		}
	case strings.HasSuffix(base, ".yaml") || strings.HasSuffix(base, ".yml"):
		if bytes.Contains(head, []byte("lockfileVersion")) {
			return byName("pnpm-lock.yaml"), nil
		}
	case strings.HasSuffix(base, ".lock") || strings.HasSuffix(base, ".toml"):
		switch {
		case bytes.Contains(head, []byte("# yarn lockfile v1")) || bytes.Contains(head, []byte("__metadata:")):
			return byName("yarn.lock"), nil
		case bytes.HasPrefix(trimmed, []byte("GEM")) || bytes.HasPrefix(trimmed, []byte("GIT")) ||
			bytes.HasPrefix(trimmed, []byte("PATH")) || bytes.Contains(head, []byte("\nGEM\n")):
			return byName("Gemfile.lock"), nil
		case bytes.Contains(head, []byte("@generated by Cargo")):
			return byName("Cargo.lock"), nil
		case bytes.Contains(head, []byte("@generated by PDM")) || bytes.Contains(data, []byte("\nlock_version =")):
			return byName("pdm.lock"), nil
		case bytes.Contains(head, []byte("@generated by Poetry")) || bytes.Contains(data, []byte("\nlock-version =")):
			return byName("poetry.lock"), nil
		case bytes.Contains(head, []byte("requires-python =")):
			return byName("uv.lock"), nil
		}
	}
	return nil, fmt.Errorf("unknown lockfile format; supported names are %s (a lockfile may also be named <anything>.<name>)", strings.Join(Formats(), ", "))
}

func byName(n string) *format {
	for i := range formats {
		if slices.Contains(formats[i].names, n) {
			return &formats[i]
		}
	}
	panic("lockfile: no format " + n)
}

// dedupe merges identical (ecosystem, name, version) entries and sorts the result so that
// output is stable whatever order maps were walked in. Uncheckable entries also keep apart
// by Reason: two directories that both call themselves "test-dep" are two things to see.
func dedupe(pkgs []precheck.Package) []precheck.Package {
	// Entries of one name and version that pin different hashes, or of which one is
	// not the registry's, stay apart: each is its own claim to check.
	type key struct {
		eco, name, version, reason, integrity, mismatch string
		unc                                             bool
	}
	idx := make(map[key]int, len(pkgs))
	out := make([]precheck.Package, 0, len(pkgs))
	for _, p := range pkgs {
		k := key{p.Ecosystem, p.Name, p.Version, p.Reason, p.Integrity, p.Mismatch, p.Uncheckable}
		if i, ok := idx[k]; ok {
			// A package is development-only if every occurrence is.
			out[i].Dev = out[i].Dev && p.Dev
			if sourceLess(p.Source, out[i].Source) {
				out[i].Source = p.Source
			}
			continue
		}
		idx[k] = len(out)
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b precheck.Package) int {
		return cmp.Or(
			cmp.Compare(a.Ecosystem, b.Ecosystem),
			cmp.Compare(a.Name, b.Name),
			cmp.Compare(a.Version, b.Version),
			boolCmp(a.Uncheckable, b.Uncheckable),
			cmp.Compare(a.Reason, b.Reason),
			cmp.Compare(a.Mismatch, b.Mismatch),
			cmp.Compare(a.Integrity, b.Integrity),
		)
	})
	return out
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

// sourceLess prefers the earliest line of the same file, so a deduplicated package points
// at its first occurrence.
func sourceLess(a, b string) bool {
	la, lb := lineOf(a), lineOf(b)
	if la == 0 {
		return false
	}
	return lb == 0 || la < lb
}

func lineOf(s string) int {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return 0
	}
	n, err := strconv.Atoi(s[i+1:])
	if err != nil {
		return 0
	}
	return n
}

// at returns the Source for a line of the lockfile (no line when unknown).
func (in *input) at(line int) string {
	if line <= 0 {
		return in.source
	}
	return in.source + ":" + strconv.Itoa(line)
}

// errEmpty is returned for lockfiles that are not even a document of their format; an
// empty file of a format that allows it parses to no packages.
var errEmpty = errors.New("empty lockfile")

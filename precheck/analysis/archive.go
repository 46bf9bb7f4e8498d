package analysis

// Downloaded distributions read as data: pip's and Poetry's wheels and sdists and
// Bundler's .gem files wait as archives between the download and the build, so
// they are read where they are, in memory, never unpacked to disk. Entry names are
// untrusted: an absolute name, one that climbs out ("../") or holds a NUL is
// dropped; a tar symlink or hard link is resolved inside the archive (pip unpacks
// an sdist's links as links, so setup.py may be one to a file named otherwise)
// and never outside it; a duplicate name keeps the last entry, as Python's
// tarfile and zipfile leave it on disk.

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

const (
	// maxArchiveScan bounds the bytes decompressed from one tar stream: past it the
	// rest of the archive is not listed and the analysis says so (OVERSIZED).
	maxArchiveScan = 1 << 30
	// maxSideFile and maxSideBytes bound what is kept of files that are not code
	// by their names (data a script may still read as code: an install.sh named
	// in a string has a code extension; a payload.txt exec'd by setup.py does not).
	maxSideFile  = 256 << 10
	maxSideBytes = 8 << 20
	// maxGemMetadata bounds a gem's metadata.gz, decompressed.
	maxGemMetadata = 4 << 20
)

// memFile is one regular file of an archive.
type memFile struct {
	data []byte
	size int64     // the size the archive gives
	zf   *zip.File // a zip entry, read when asked for
	// kept is false for a file whose content was not kept (past the budget, or a
	// link to such a file): reading it is errReadCap, so it is reported unread.
	kept bool
}

// readMem is tree.read for an archive's files; rel is already cleaned and
// checked by read.
func (t *tree) readMem(rel string) ([]byte, bool, error) {
	f, ok := t.mem[rel]
	if !ok {
		return nil, false, &os.PathError{Op: "open", Path: rel, Err: fs.ErrNotExist}
	}
	if !f.kept {
		return nil, false, fmt.Errorf("%s: %w", rel, errReadCap)
	}
	limit := min(int64(maxFileBytes), maxTotalBytes-t.total)
	data := f.data
	if f.zf != nil {
		rc, err := f.zf.Open()
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", rel, err)
		}
		data, err = io.ReadAll(io.LimitReader(rc, limit))
		rc.Close()
		if err != nil && !errors.Is(err, zip.ErrChecksum) {
			return nil, false, fmt.Errorf("%s: %w", rel, err)
		}
	} else if int64(len(data)) > limit {
		data = data[:limit]
	}
	t.total += int64(len(data))
	return data, f.size > int64(len(data)), nil
}

// ReadArchive analyses a distribution file, open as r (size bytes), as data: a
// wheel (.whl), an sdist (.tar.gz, .tgz, .tar.bz2, .tar, .zip) or a gem (.gem),
// as name's suffix says. What is read, and the findings, are those of Dir on the
// unpacked package. The caller opens the file (beneath its dir, no symlink
// followed: safefs) and may hash it first through the same descriptor.
func ReadArchive(ctx context.Context, pkg Package, r io.ReaderAt, size int64, name string) ([]Finding, error) {
	t, gemExts, err := archiveTree(ctx, r, size, name)
	if err != nil {
		return nil, fmt.Errorf("analysing %s %s@%s (%s): %w", pkg.Ecosystem, pkg.Name, pkg.Version, name, err)
	}
	return analyse(ctx, pkg, t, gemExts)
}

// archiveTree reads an archive's listing (and a tar's kept files) into a tree.
func archiveTree(ctx context.Context, r io.ReaderAt, size int64, name string) (*tree, []string, error) {
	lower := strings.ToLower(name)
	b := &memBuilder{ctx: ctx, sdist: !strings.HasSuffix(lower, ".whl") && !strings.HasSuffix(lower, ".gem")}
	var gemExts []string
	switch {
	case strings.HasSuffix(lower, ".whl"):
		if err := b.zip(r, size); err != nil {
			return nil, nil, err
		}
	case strings.HasSuffix(lower, ".zip"):
		if err := b.zip(r, size); err != nil {
			return nil, nil, err
		}
		b.stripTop()
	case strings.HasSuffix(lower, ".tar.gz") || strings.HasSuffix(lower, ".tgz"):
		gz, err := gzip.NewReader(io.NewSectionReader(r, 0, size))
		if err != nil {
			return nil, nil, err
		}
		if err := b.tar(gz, ""); err != nil {
			return nil, nil, err
		}
		b.stripTop()
	case strings.HasSuffix(lower, ".tar.bz2") || strings.HasSuffix(lower, ".tbz"): // pip unpacks both
		if err := b.tar(bzip2.NewReader(io.NewSectionReader(r, 0, size)), ""); err != nil {
			return nil, nil, err
		}
		b.stripTop()
	case strings.HasSuffix(lower, ".tar"):
		if err := b.tar(io.NewSectionReader(r, 0, size), ""); err != nil {
			return nil, nil, err
		}
		b.stripTop()
	case strings.HasSuffix(lower, ".gem"):
		exts, err := b.gem(io.NewSectionReader(r, 0, size))
		if err != nil {
			return nil, nil, err
		}
		gemExts = exts
	default:
		return nil, nil, errors.New("not an archive the analysis reads (.whl, .tar.gz, .tgz, .tar.bz2, .tar, .zip, .gem)")
	}
	return b.tree(), gemExts, nil
}

// memEntry is an archive member before links are resolved.
type memEntry struct {
	name string
	file *memFile
	link string // a tar link's target (archive-relative), resolved later
	sym  bool
	abs  bool // named from the root (pipName): kept only under a shared top
}

type memBuilder struct {
	ctx       context.Context
	entries   []memEntry
	kept      int64 // code kept
	side      int64 // other files kept
	scanned   int64
	truncated string // why the listing stopped early
	// sdist: member names are taken as pip's unpacker takes them (pipName).
	sdist bool
}

// pipName is an sdist member's name as pip unpacks it when the members share a
// top directory (split_leading_dir): leading "/" and then "\" stripped, so
// `/pkg-1.0/setup.py` is pkg-1.0/setup.py; abs says it had to be (without a
// shared top, pip refuses such a member, and stripTop drops it).
func (b *memBuilder) pipName(n string) (name string, abs bool) {
	if !b.sdist {
		return n, false
	}
	name = strings.TrimLeft(strings.TrimLeft(n, "/"), `\`)
	return name, name != n
}

// pipSplit splits a name at its first "/" or "\", as pip finds an sdist's top
// directory: `pkg-1.0\setup.py` is setup.py in pkg-1.0.
func pipSplit(n string) (top, rest string, ok bool) {
	i := strings.IndexAny(n, `/\`)
	if i < 0 {
		return n, "", false
	}
	return n[:i], n[i+1:], true
}

// keptWhole: files kept whole (up to the caps) because the analysis reads them as code
// or configuration: scripts by extension, extension-less files (bin/ scripts,
// Rakefile), and the manifests that name install-time code.
func keptWhole(name string) bool {
	base := path.Base(name)
	ext := path.Ext(base)
	switch ext {
	case "":
		return true
	case ".py", ".pyw", ".pth", ".rb", ".rake", ".gemspec", ".toml", ".cfg", ".sh", ".bash",
		".js", ".cjs", ".mjs", ".ps1", ".bat", ".cmd", ".pl", ".mk":
		return true
	}
	return false
}

// cleanEntry is an archive member's name as a package-relative path, or "" when
// it is not one.
func cleanEntry(n string) string {
	if n == "" || strings.ContainsRune(n, 0) || strings.HasPrefix(n, "/") {
		return ""
	}
	c := path.Clean(strings.TrimPrefix(n, "./"))
	if c == "." || c == ".." || strings.HasPrefix(c, "../") || path.IsAbs(c) {
		return ""
	}
	return c
}

func (b *memBuilder) full() bool { return len(b.entries) >= maxFiles || b.truncated != "" }

func (b *memBuilder) zip(r io.ReaderAt, size int64) error {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return err
	}
	for _, zf := range zr.File {
		if b.full() {
			b.truncated = fmt.Sprintf("more than %d files", maxFiles)
			break
		}
		if zf.FileInfo().IsDir() {
			continue
		}
		raw, abs := b.pipName(zf.Name)
		n := cleanEntry(raw)
		if n == "" {
			continue
		}
		// A zip "symlink" is installed by pip and installers as a regular file
		// holding the target's name: it is read as what it is.
		b.entries = append(b.entries, memEntry{name: n, abs: abs, file: &memFile{zf: zf, size: int64(zf.UncompressedSize64), kept: true}})
	}
	return nil
}

// tar reads a tar stream; prefix is put before each name (none for sdists, whose
// top directory stripTop removes).
func (b *memBuilder) tar(r io.Reader, prefix string) error {
	cr := &countingReader{r: r, left: maxArchiveScan - b.scanned}
	defer func() { b.scanned = maxArchiveScan - cr.left }()
	tr := tar.NewReader(cr)
	for {
		if err := b.ctx.Err(); err != nil {
			return err
		}
		if b.full() {
			if b.truncated == "" {
				b.truncated = fmt.Sprintf("more than %d files", maxFiles)
			}
			return nil
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if cr.left <= 0 {
				b.truncated = fmt.Sprintf("more than %d MiB decompressed", maxArchiveScan>>20)
				return nil
			}
			if len(b.entries) > 0 {
				// A corrupt tail: what came before is what an unpacker wrote too.
				b.truncated = "unreadable past " + b.entries[len(b.entries)-1].name
				return nil
			}
			return err
		}
		raw, abs := b.pipName(prefix + h.Name)
		n := cleanEntry(raw)
		if n == "" {
			continue
		}
		switch h.Typeflag {
		case tar.TypeReg, tar.TypeCont, tar.TypeGNUSparse: // what Python's tarfile writes as files (Go's reader reports the old NUL type as TypeReg)
			f := &memFile{size: h.Size}
			limit, side := int64(maxFileBytes), false
			if !keptWhole(n) {
				limit, side = maxSideFile, true
			}
			switch {
			case side && (h.Size > maxSideFile || b.side+h.Size > maxSideBytes):
			case !side && b.kept >= maxTotalBytes:
			default:
				data, err := io.ReadAll(io.LimitReader(tr, limit))
				if err != nil {
					if cr.left <= 0 {
						b.truncated = fmt.Sprintf("more than %d MiB decompressed", maxArchiveScan>>20)
						return nil
					}
					return err
				}
				f.data, f.kept = data, true
				if side {
					b.side += int64(len(data))
				} else {
					b.kept += int64(len(data))
				}
			}
			b.entries = append(b.entries, memEntry{name: n, abs: abs, file: f})
		case tar.TypeSymlink:
			if strings.HasPrefix(h.Linkname, "/") {
				continue // out of the package: nothing of it to read
			}
			// Relative to the link's directory once the top is stripped (linkTarget).
			b.entries = append(b.entries, memEntry{name: n, abs: abs, link: h.Linkname, sym: true})
		case tar.TypeLink:
			l, _ := b.pipName(prefix + h.Linkname)
			b.entries = append(b.entries, memEntry{name: n, abs: abs, link: cleanEntry(l)})
		}
	}
}

// stripTop removes an sdist's single top directory (NAME-VERSION/), which is
// where pip unpacks it and runs the build from.
func (b *memBuilder) stripTop() {
	top := ""
	for _, e := range b.entries {
		d, _, ok := pipSplit(e.name)
		if !ok || top != "" && d != top {
			top = ""
			break
		}
		top = d
	}
	kept := b.entries[:0]
	if top == "" {
		for _, e := range b.entries {
			if !e.abs {
				kept = append(kept, e)
			}
		}
		b.entries = kept
		return
	}
	for _, e := range b.entries {
		_, rest, _ := pipSplit(e.name)
		if e.name = cleanEntry(rest); e.name == "" {
			continue
		}
		if e.link != "" && !e.sym {
			if d, l, ok := pipSplit(e.link); ok && d == top {
				e.link = cleanEntry(l)
			} else {
				e.link = "" // out of the package
			}
		}
		kept = append(kept, e)
	}
	b.entries = kept
}

// linkTarget is where a link entry points, archive-relative: a symbolic link's
// target is relative to its own directory.
func linkTarget(e memEntry) string {
	if e.sym {
		return path.Join(path.Dir(e.name), e.link)
	}
	return path.Clean(e.link)
}

// tree resolves links (within the archive, a few hops) and builds the tree; a
// later entry of the same name replaces an earlier one.
func (b *memBuilder) tree() *tree {
	files := map[string]*memFile{}
	var order []string
	links := map[string]memEntry{}
	for _, e := range b.entries {
		if _, seen := files[e.name]; !seen {
			if _, seenLink := links[e.name]; !seenLink {
				order = append(order, e.name)
			}
		}
		if e.file != nil {
			files[e.name] = e.file
			delete(links, e.name)
		} else {
			links[e.name] = e
			delete(files, e.name)
		}
	}
	for n, e := range links {
		target := linkTarget(e)
		for hop := 0; hop < 8 && target != "" && !strings.HasPrefix(target, "../") && target != ".."; hop++ {
			if f, ok := files[target]; ok {
				files[n] = f
				break
			}
			next, ok := links[target]
			if !ok {
				break
			}
			target = linkTarget(next)
		}
	}
	t := &tree{names: []string{}, set: map[string]bool{}, mem: files}
	for _, n := range order {
		if _, ok := files[n]; ok && !t.set[n] {
			t.names = append(t.names, n)
			t.set[n] = true
		}
	}
	if b.truncated != "" {
		t.unread = append(t.unread, "(the archive: "+b.truncated+", not listed further)")
	}
	return t
}

// gem reads a .gem: a tar of metadata.gz (the specification as YAML) and
// data.tar.gz (the files). The extensions the specification names are returned:
// RubyGems runs them at install whatever their names. Only the first data.tar.gz
// is read, as RubyGems installs only the first (a second one must not stand in
// for it here). RubyGems loads the specification from metadata and from
// metadata.gz, the later replacing the earlier, so the extensions of both are
// returned. Each gzip stream is read to the end of its first member, as Ruby's
// Zlib::GzipReader reads it (a second member, which RubyGems never sees, must not
// replace the first's files here).
func (b *memBuilder) gem(r io.Reader) ([]string, error) {
	tr := tar.NewReader(r)
	var exts []string
	sawData := false
	sawMeta := map[string]bool{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		switch {
		case h.Name == "metadata" && !sawMeta[h.Name]:
			meta, err := io.ReadAll(io.LimitReader(tr, maxGemMetadata))
			if err != nil {
				return nil, fmt.Errorf("metadata: %w", err)
			}
			exts, sawMeta[h.Name] = append(exts, gemExtensions(meta)...), true
		case h.Name == "metadata.gz" && !sawMeta[h.Name]:
			gz, err := gzip.NewReader(tr)
			if err != nil {
				return nil, fmt.Errorf("metadata.gz: %w", err)
			}
			gz.Multistream(false)
			meta, err := io.ReadAll(io.LimitReader(gz, maxGemMetadata))
			if err != nil {
				return nil, fmt.Errorf("metadata.gz: %w", err)
			}
			exts, sawMeta[h.Name] = append(exts, gemExtensions(meta)...), true
		case h.Name == "data.tar.gz" && !sawData:
			gz, err := gzip.NewReader(tr)
			if err != nil {
				return nil, fmt.Errorf("data.tar.gz: %w", err)
			}
			gz.Multistream(false)
			if err := b.tar(gz, ""); err != nil {
				return nil, fmt.Errorf("data.tar.gz: %w", err)
			}
			sawData = true
		}
	}
	if !sawData {
		return nil, errors.New("no data.tar.gz: not a gem")
	}
	return exts, nil
}

// gemExtensions reads the extensions list of a gem's YAML specification, as data:
//
//	extensions:
//	- ext/foo/extconf.rb
func gemExtensions(meta []byte) []string {
	var out []string
	in := false
	sc := bufio.NewScanner(bytes.NewReader(meta))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if !in {
			in = strings.TrimRight(l, " \t") == "extensions:"
			continue
		}
		item, ok := strings.CutPrefix(l, "- ")
		if !ok {
			break
		}
		item = strings.Trim(strings.TrimSpace(item), `"'`)
		if c := cleanEntry(item); c != "" && len(out) < 50 {
			out = append(out, c)
		}
	}
	return out
}

// countingReader stops a decompression at its budget.
type countingReader struct {
	r    io.Reader
	left int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, errors.New("archive scan budget reached")
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

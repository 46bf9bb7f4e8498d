package analysis

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/phylum-box/phylum-box/internal/safefs"
)

// Caps on what one package costs to read. A file over maxFileBytes is read up to
// the cap (the rest is not seen; an install-time file that large is itself a
// finding); past maxTotalBytes or maxFiles nothing more is read.
const (
	maxFileBytes = 8 << 20
	maxFiles     = 20000
	maxUnits     = 200
)

// maxTotalBytes is a variable for the test that pads a package past it.
var maxTotalBytes int64 = 64 << 20

// tree reads files below one package root.
type tree struct {
	dir   string
	root  int // O_PATH fd of dir
	total int64
	names []string // every regular file, slash-separated, relative; nil until listed
	set   map[string]bool
	// unread are install- and entry-time files left unread by the read cap.
	unread []string
	// mem, when set, holds an archive's files instead of dir (archive.go).
	mem map[string]*memFile
}

func openTree(dir string) (*tree, error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	return &tree{dir: dir, root: fd}, nil
}

func (t *tree) close() {
	if t.mem == nil {
		unix.Close(t.root)
	}
}

var (
	errNotRegular = errors.New("not a regular file")
	errReadCap    = errors.New("the package read cap is reached")
)

// read returns rel's content up to maxFileBytes and whether it was cut. rel is
// resolved beneath the root with no symlink followed anywhere on the way.
func (t *tree) read(rel string) ([]byte, bool, error) {
	rel = path.Clean(strings.TrimPrefix(rel, "./"))
	if rel == "." || strings.HasPrefix(rel, "../") || rel == ".." || path.IsAbs(rel) {
		return nil, false, fmt.Errorf("%s: outside the package", rel)
	}
	if t.total >= maxTotalBytes {
		return nil, false, fmt.Errorf("%s: %w (%d MiB)", rel, errReadCap, maxTotalBytes>>20)
	}
	if t.mem != nil {
		return t.readMem(rel)
	}
	f, err := safefs.OpenAt(t.root, rel, safefs.Options{})
	if errors.Is(err, safefs.ErrNotRegular) {
		return nil, false, fmt.Errorf("%s: %w", rel, errNotRegular)
	}
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, false, err
	}
	limit := int64(maxFileBytes)
	if left := maxTotalBytes - t.total; left < limit {
		limit = left
	}
	data, err := io.ReadAll(io.LimitReader(f, limit))
	if err != nil {
		return nil, false, err
	}
	t.total += int64(len(data))
	return data, st.Size() > int64(len(data)), nil
}

// exists reports whether rel is a regular file below the root (no symlink).
func (t *tree) exists(rel string) bool {
	t.list()
	return t.set[path.Clean(strings.TrimPrefix(rel, "./"))]
}

// list returns every regular file below the root, relative and slash-separated,
// up to maxFiles, outside nested node_modules. Symlinks are neither listed nor
// entered.
func (t *tree) list() []string {
	if t.names != nil {
		return t.names
	}
	t.names = []string{}
	t.set = map[string]bool{}
	_ = filepath.WalkDir(t.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if len(t.names) >= maxFiles {
			return fs.SkipAll
		}
		// A nested node_modules holds other packages (npm nests a dependency
		// there when versions conflict, bundled ones too): each is analysed as
		// itself.
		if d.IsDir() && d.Name() == "node_modules" && p != t.dir {
			return fs.SkipDir
		}
		if d.Type().IsRegular() {
			rel, err := filepath.Rel(t.dir, p)
			if err == nil {
				rel = filepath.ToSlash(rel)
				t.names = append(t.names, rel)
				t.set[rel] = true
			}
		}
		return nil
	})
	return t.names
}

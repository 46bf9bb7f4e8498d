package report

import (
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/phylum-box/phylum-box/precheck"
)

// Format names accepted by Write.
const (
	Text  = "text"
	JSON  = "json"
	SARIF = "sarif"
)

// Formats lists the supported format names, for help and error messages.
func Formats() []string { return []string{Text, JSON, SARIF} }

// Options tune the renderers; the zero value is valid.
type Options struct {
	// Color allows ANSI colour in text output. The caller decides (NO_COLOR, TTY).
	Color bool
	// BaseDir is the project directory: SARIF locations and text sources are shown
	// relative to it. Empty means paths are shown as given.
	BaseDir string
	// ToolVersion is phylum-box's version, recorded in SARIF.
	ToolVersion string
}

// Write renders v in the named format.
func Write(w io.Writer, format string, v *precheck.Verdict, o Options) error {
	switch format {
	case Text:
		return WriteText(w, v, o)
	case JSON:
		return WriteJSON(w, v, o)
	case SARIF:
		return WriteSARIF(w, v, o)
	}
	return fmt.Errorf("unknown format %q (supported: %s)", format, strings.Join(Formats(), ", "))
}

// splitSource splits "path:line" into the path and the line (0 when absent).
func splitSource(src string) (string, int) {
	i := strings.LastIndexByte(src, ':')
	if i <= 0 || i == len(src)-1 {
		return src, 0
	}
	n, err := strconv.Atoi(src[i+1:])
	if err != nil || n <= 0 {
		return src, 0
	}
	return src[:i], n
}

// relPath returns path relative to base when it lies inside it, else ok=false.
func relPath(base, path string) (string, bool) {
	if base == "" || path == "" {
		return path, !filepath.IsAbs(path)
	}
	absBase, err1 := filepath.Abs(base)
	absPath, err2 := filepath.Abs(path)
	if err1 != nil || err2 != nil {
		return path, false
	}
	rel, err := filepath.Rel(absBase, absPath)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return absPath, false
	}
	return rel, true
}

// oneLine reduces a summary to one line of at most n runes.
func oneLine(s string, n int) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func pkgLabel(p precheck.Package) string {
	s := p.Name
	if p.Version != "" {
		s += "@" + p.Version
	}
	return s + " (" + p.Ecosystem + ")"
}

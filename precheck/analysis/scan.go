package analysis

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/phylum-box/phylum-box/internal/lazyre"
)

// role says when a unit's code runs.
type role uint8

const (
	// roleInstall runs at install or build time (lifecycle scripts and what they
	// load, binding.gyp, setup.py, build.rs, proc-macros, extconf.rb).
	roleInstall role = iota
	// roleEntry runs when the application loads the package.
	roleEntry
)

// unit is one piece of text read as code.
type unit struct {
	rel       string // file, relative to the package root
	text      []byte
	lineBase  int // line number of text's first line in rel
	langs     lang
	role      role
	truncated bool // rel is larger than what was read
	hits      []hit
}

type hit struct {
	kind       sig
	u          *unit
	start, end int
}

// Byte-scan thresholds.
const (
	blobMinBase64   = 2048 // characters of base64 in one literal
	blobMinHex      = 4096
	blobMinEscapes  = 256 // \xNN escapes in a row
	longLineBytes   = 5000
	obfuscatorIdent = 30 // _0x1a2b identifiers in one file
	// obfuscatorIdentRotated is the count that suffices next to the rotation.
	obfuscatorIdentRotated = 10
	nearBytes              = 400
	nearDataBytes          = 2000
)

var (
	obfIdentRE = lazyre.New(`\b_0x[0-9a-fA-F]{4,}\b`)
	rotationRE = lazyre.New(`while\s*\(\s*!!\s*\[\s*\]\s*\)|\[\s*['"]push['"]\s*\]\s*\(\s*_0x\w+\s*\[\s*['"]shift['"]\s*\]\s*\(\s*\)\s*\)`)
)

// scan fills u.hits.
func (u *unit) scan() {
	u.text = unsplit(u.text)
	u.scanBlobs()
	// Patterns run on a copy with long base64/hex runs blanked: no code is in
	// them, and searching megabytes of embedded wasm for keys is most of the cost.
	text := maskRuns(u.text)
	// Every pattern's key literals, found in one pass.
	keys := keysFor(u.langs & langAll)
	occ := keys.find(text)
	pats := patterns()
	for i := range pats {
		p := &pats[i]
		if p.langs&u.langs == 0 {
			continue
		}
		for _, loc := range p.findAll(text, keys, occ, keys.patternKeys[i]) {
			u.hits = append(u.hits, hit{p.kind, u, loc[0], loc[1]})
		}
	}
	if u.langs&langJS != 0 {
		// Cheap counts first: these expressions have no literal prefix RE2 could
		// skip ahead with.
		var rotation []int
		if bytes.Contains(text, []byte("!![]")) || bytes.Contains(text, []byte("shift'")) || bytes.Contains(text, []byte(`shift"`)) {
			if rotation = findRotation(text); rotation != nil {
				u.hits = append(u.hits, hit{sRotation, u, rotation[0], rotation[1]})
			}
		}
		// A short payload has fewer identifiers; with the string-array rotation
		// beside them a third of the count is the obfuscator's all the same.
		need := obfuscatorIdent
		if rotation != nil {
			need = obfuscatorIdentRotated
		}
		if bytes.Count(text, []byte("_0x")) >= need {
			if locs := obfIdentRE().FindAllIndex(text, need); len(locs) >= need {
				u.hits = append(u.hits, hit{sObfuscated, u, locs[0][0], locs[0][1]})
			}
		}
		u.scanLongLines()
	}
}

// rotationAlts are rotationRE's two alternatives, anchored: the first starts
// with "while", the second with the "[" in front of its 'push'.
var rotationAlts = [2]func() *regexp.Regexp{
	lazyre.New(`^while\s*\(\s*!!\s*\[\s*\]\s*\)`),
	lazyre.New(`^\[\s*['"]push['"]\s*\]\s*\(\s*_0x\w+\s*\[\s*['"]shift['"]\s*\]\s*\(\s*\)\s*\)`),
}

// findRotation is rotationRE.FindIndex(text), tried only where a match can
// start (RE2 ran over the whole file, and "!![]" is in most minified bundles):
// the leftmost start wins, and no start begins both alternatives.
func findRotation(text []byte) []int {
	best := -1
	var loc []int
	try := func(re *regexp.Regexp, p int) {
		if best >= 0 && p >= best {
			return
		}
		if m := re.FindIndex(text[p:]); m != nil {
			best, loc = p, []int{p + m[0], p + m[1]}
		}
	}
	if bytes.Contains(text, []byte("!!")) {
		for off := 0; ; {
			i := bytes.Index(text[off:], []byte("while"))
			if i < 0 {
				break
			}
			try(rotationAlts[0](), off+i)
			off += i + 1
			if best >= 0 && off >= best {
				break
			}
		}
	}
	if bytes.Contains(text, []byte("_0x")) {
		for off := 0; ; {
			i := bytes.Index(text[off:], []byte("push"))
			if i < 0 {
				break
			}
			q := off + i
			off = q + 1
			if q == 0 || text[q-1] != '\'' && text[q-1] != '"' {
				continue
			}
			k := q - 1
			for k > 0 && isRESpace(text[k-1]) {
				k--
			}
			if k > 0 && text[k-1] == '[' {
				try(rotationAlts[1](), k-1)
			}
		}
	}
	return loc
}

const maskMin = 1024

// maskRuns returns text with every run of maskMin or more base64 characters
// replaced by spaces (offsets and newlines kept); text itself when there is none.
func maskRuns(text []byte) []byte {
	var out []byte
	for i := 0; i < len(text); {
		if !isB64(text[i]) {
			i++
			continue
		}
		j := i
		for j < len(text) && isB64(text[j]) {
			j++
		}
		if j-i >= maskMin {
			if out == nil {
				out = append([]byte(nil), text...)
			}
			for k := i; k < j; k++ {
				out[k] = ' '
			}
		}
		i = j
	}
	if out == nil {
		return text
	}
	return out
}

func (u *unit) scanLongLines() {
	start := 0
	for start < len(u.text) {
		end := bytes.IndexByte(u.text[start:], '\n')
		if end < 0 {
			end = len(u.text)
		} else {
			end += start
		}
		line := u.text[start:end]
		// A source map comment is one long line in unminified files too.
		// A long line of code, not a long literal: minifiers leave statements and
		// calls on it, one in every few dozen bytes.
		if end-start > longLineBytes && !bytes.Contains(line[:min(len(line), 64)], []byte("sourceMappingURL")) &&
			countAny(line, ";{(") > len(line)/100 {
			u.hits = append(u.hits, hit{sLongLine, u, start, start + 80})
			return
		}
		start = end + 1
	}
}

// scanBlobs finds quoted base64 or hex literals longer than the thresholds and
// long runs of \xNN escapes. Data URIs and literals that decode to a known binary
// format (wasm, fonts, images, archives) are what real packages embed; they are
// not counted. A blob split over many short literals is the obfuscator's string
// array, which the obfuscator signals catch.
func (u *unit) scanBlobs() {
	t := u.text
	for i := 0; i < len(t); {
		if !isB64(t[i]) {
			i++
			continue
		}
		j := i
		hex := true
		for j < len(t) && isB64(t[j]) {
			if !isHex(t[j]) {
				hex = false
			}
			j++
		}
		n := j - i
		if (n >= blobMinBase64 && !hex || hex && n >= blobMinHex) && i > 0 && isQuote(t[i-1]) && !knownEmbedded(t, i) {
			u.hits = append(u.hits, hit{sBlob, u, i, j})
			return
		}
		i = j
	}
	for off := 0; off < len(t); {
		i := bytes.Index(t[off:], []byte(`\x`))
		if i < 0 {
			break
		}
		s := off + i
		j := s
		for j+4 <= len(t) && t[j] == '\\' && t[j+1] == 'x' && isHex(t[j+2]) && isHex(t[j+3]) {
			j += 4
		}
		if (j-s)/4 >= blobMinEscapes {
			u.hits = append(u.hits, hit{sBlob, u, s, j})
			return
		}
		off = max(j, s+2)
	}
}

// embeddedMagic are base64 prefixes of formats packages embed for real: wasm,
// woff, woff2, TrueType, OpenType, PNG, JPEG, GIF, WebP, SVG, XML.
var embeddedMagic = []string{"AGFzbQ", "d09GRg", "d09GMg", "AAEAAA", "T1RUTw", "iVBORw0KGgo", "/9j/", "R0lGOD", "UklGR", "PHN2Zy", "PD94bWwg"}

func knownEmbedded(t []byte, i int) bool {
	for _, m := range embeddedMagic {
		if bytes.HasPrefix(t[i:], []byte(m)) {
			return true
		}
	}
	before := t[max(0, i-80):i]
	return bytes.Contains(before, []byte(";base64,")) || bytes.Contains(before, []byte("base64,"))
}

var b64Table = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		t[c] = b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '+' || b == '/' || b == '='
	}
	return
}()

func isB64(c byte) bool { return b64Table[c] }

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// evidence renders a hit as "file:line: excerpt".
func (h hit) evidence() string {
	t := h.u.text
	line := h.u.lineBase + bytes.Count(t[:h.start], []byte{'\n'})
	ls := bytes.LastIndexByte(t[:h.start], '\n') + 1
	le := bytes.IndexByte(t[h.start:], '\n')
	if le < 0 {
		le = len(t)
	} else {
		le += h.start
	}
	from, to := max(ls, h.start-40), min(le, h.start+100)
	ex := excerpt(t[from:to])
	if from > ls {
		ex = "…" + ex
	}
	if to < le {
		ex += "…"
	}
	return fmt.Sprintf("%s:%d: %s", h.u.rel, line, ex)
}

// excerpt makes b printable: control characters and invalid UTF-8 escaped, cut
// at 120 runes, spaces collapsed.
func excerpt(b []byte) string {
	var sb strings.Builder
	n := 0
	space := false
	for len(b) > 0 && n < 120 {
		r, size := utf8.DecodeRune(b)
		c := b[0]
		b = b[size:]
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&sb, `\x%02x`, c)
		case r == ' ' || r == '\t' || r == '\r' || r == '\n':
			if space {
				continue
			}
			space = true
			sb.WriteByte(' ')
			n++
			continue
		case r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 || r == 0x2028 || r == 0x2029 || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069:
			fmt.Fprintf(&sb, `\u%04x`, r)
		default:
			sb.WriteRune(r)
		}
		space = false
		n++
	}
	s := strings.TrimSpace(sb.String())
	if len(b) > 0 {
		s += "…"
	}
	return s
}

func countAny(b []byte, chars string) int {
	n := 0
	for i := 0; i < len(chars); i++ {
		n += bytes.Count(b, []byte{chars[i]})
	}
	return n
}

// Windows around a key occurrence: long enough for the longest match (the
// download-pipe patterns allow a few hundred bytes between their parts).
const (
	windowBefore = 128
	windowAfter  = 400
	maxMatches   = 64
	smallText    = 0
)

// findAll is p.re.FindAllSubmatchIndex, fast on large files: RE2 runs each of
// these alternations at every byte, which costs seconds on a multi-megabyte
// bundle; finding the key literals first is memchr-fast, and the expression then
// runs only on the windows around them. Matches p.ok drops are not counted
// against maxMatches: harmless ones in front must not hide the rest.
//
// occ are the key occurrences in text (keys.find), ids this pattern's keys.
func (p *pattern) findAll(text []byte, keys *keyIndex, occ [][]int, ids []int32) [][]int {
	if len(text) <= smallText || p.keys == "" {
		var out [][]int
		var m memo
		for _, loc := range p.re.FindAllSubmatchIndex(text, -1) {
			if p.ok == nil || p.ok(text, loc, &m) {
				if out = append(out, loc); len(out) >= maxMatches {
					break
				}
			}
		}
		return out
	}
	var wins [][2]int
	for _, id := range ids {
		n := len(keys.keys[id])
		for _, s := range occ[id] {
			wins = append(wins, [2]int{max(0, s-windowBefore), min(len(text), s+n+windowAfter)})
		}
	}
	if len(wins) == 0 {
		return nil
	}
	sort.Slice(wins, func(i, j int) bool { return wins[i][0] < wins[j][0] })
	merged := wins[:1]
	for _, w := range wins[1:] {
		last := &merged[len(merged)-1]
		if w[0] <= last[1] {
			last[1] = max(last[1], w[1])
		} else {
			merged = append(merged, w)
		}
	}
	var out [][]int
	var m memo
	var need [][]byte
	if p.need != "" {
		for _, n := range strings.Split(p.need, "|") {
			need = append(need, []byte(n))
		}
	}
	for _, w := range merged {
		if need != nil && !containsOneOf(text[w[0]:w[1]], need) {
			continue
		}
		for _, loc := range p.re.FindAllSubmatchIndex(text[w[0]:w[1]], -1) {
			for i := range loc {
				if loc[i] >= 0 {
					loc[i] += w[0]
				}
			}
			if p.ok != nil && !p.ok(text, loc, &m) {
				continue
			}
			out = append(out, loc)
			if len(out) >= maxMatches {
				return out
			}
		}
	}
	return out
}

func containsOneOf(b []byte, subs [][]byte) bool {
	for _, s := range subs {
		if bytes.Contains(b, s) {
			return true
		}
	}
	return false
}

// unsplit undoes the cheapest ways to hide a name from a pattern, keeping every
// newline where it was (evidence line numbers stay right): string literals joined
// with + ('ev'+'al', "child_" + "process") become one literal, and \xNN / \u00NN
// escapes of printable ASCII in the source ('\x65\x76\x61\x6c') become the
// characters. Real code rarely writes either; bundlers emit neither for ASCII.
func unsplit(text []byte) []byte {
	if !bytes.Contains(text, []byte("+")) && !bytes.Contains(text, []byte(`\x`)) && !bytes.Contains(text, []byte(`\u00`)) {
		return text
	}
	out := make([]byte, 0, len(text))
	for i := 0; i < len(text); i++ {
		c := text[i]
		// 'a' + 'b' -> 'ab': drop quote, blanks, +, blanks, the same quote.
		if (c == '\'' || c == '"') && i > 0 && text[i-1] != '\\' {
			j := i + 1
			for j < len(text) && (text[j] == ' ' || text[j] == '\t') {
				j++
			}
			if j < len(text) && text[j] == '+' {
				j++
				for j < len(text) && (text[j] == ' ' || text[j] == '\t') {
					j++
				}
				if j < len(text) && text[j] == c && len(out) > 0 {
					i = j
					continue
				}
			}
		}
		if c == '\\' && i+3 < len(text) && text[i+1] == 'x' && isHex(text[i+2]) && isHex(text[i+3]) {
			if v := unhex(text[i+2])<<4 | unhex(text[i+3]); v >= 0x20 && v < 0x7f && v != '\'' && v != '"' && v != '\\' {
				out = append(out, v)
				i += 3
				continue
			}
		}
		if c == '\\' && i+5 < len(text) && text[i+1] == 'u' && text[i+2] == '0' && text[i+3] == '0' && isHex(text[i+4]) && isHex(text[i+5]) {
			if v := unhex(text[i+4])<<4 | unhex(text[i+5]); v >= 0x20 && v < 0x7f && v != '\'' && v != '"' && v != '\\' {
				out = append(out, v)
				i += 5
				continue
			}
		}
		out = append(out, c)
	}
	return out
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

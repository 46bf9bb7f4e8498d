package analysis

// The lists of popular names the typosquatting check compares against: the ones
// built into the binary (data/top-*.txt), or a newer copy that `db update` fetched
// from the database source and stored next to the database. A stored list came
// over the network from a mirror: it is parsed as untrusted data, and when it is
// missing or unreadable the embedded list is used.

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/phylum-box/phylum-box/internal/lazyre"
)

//go:embed data/top-*.txt
var topData embed.FS

// TopListEcosystems are the ecosystems with a list, in the order reports show them.
var TopListEcosystems = []string{"npm", "PyPI", "RubyGems", "crates.io"}

// TopListFile is the file name of an ecosystem's list: data/<file> in this
// package, toplists/<file> under a database source, <database>.<file> when stored.
func TopListFile(ecosystem string) (string, bool) {
	switch ecosystem {
	case "npm":
		return "top-npm.txt", true
	case "PyPI":
		return "top-pypi.txt", true
	case "crates.io":
		return "top-crates.txt", true
	case "RubyGems":
		return "top-rubygems.txt", true
	}
	return "", false
}

// Limits on a list from a source: 15,000 npm names are 200 KB, so these leave
// room for much longer lists while bounding what a hostile mirror can make every
// install parse and index.
const (
	MaxTopListBytes = 4 << 20
	MaxTopListNames = 100_000
	maxListName     = 214 // npm's limit on a name, longer than any other registry's names
)

// Package-name syntax per registry (legacy npm names have capitals: JSONStream).
var topNameRE = map[string]func() *regexp.Regexp{
	"npm":       lazyre.New(`^(?:@[A-Za-z0-9~-][A-Za-z0-9._~-]*/)?[A-Za-z0-9~-][A-Za-z0-9._~-]*$`),
	"PyPI":      lazyre.New(`^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$`), // PEP 508
	"crates.io": lazyre.New(`^[A-Za-z][A-Za-z0-9_-]{0,63}$`),
	"RubyGems":  lazyre.New(`^[A-Za-z0-9._-]*[A-Za-z][A-Za-z0-9._-]*$`),
}

// ParseTopList reads a list in the format of data/top-*.txt: one package name per
// line, most depended-on first; blank lines and lines starting with # are
// ignored; CRLF line ends are accepted; a name repeated (in the registry's
// normalised form) keeps its first place. Everything else is refused as a whole:
// a name that is not valid package-name syntax for the ecosystem, a file larger
// than MaxTopListBytes or with more than MaxTopListNames names, invalid UTF-8, or
// no name at all. It returns the names as the list spells them.
func ParseTopList(ecosystem string, data []byte) ([]string, error) {
	return parseTopList(ecosystem, data, true)
}

// parseTopList is ParseTopList; without check it takes every name as valid:
// for the embedded lists alone, which TestEmbeddedTopListsValid checks (the
// name pattern costs a third of building the 15,000-name npm list, on every
// install that checks names).
func parseTopList(ecosystem string, data []byte, check bool) ([]string, error) {
	nameRE := topNameRE[ecosystem]
	if nameRE == nil {
		return nil, fmt.Errorf("no typosquatting list for ecosystem %q", ecosystem)
	}
	re := nameRE()
	if len(data) > MaxTopListBytes {
		return nil, fmt.Errorf("%d bytes, more than the %d a list may have", len(data), MaxTopListBytes)
	}
	if check && !utf8.Valid(data) {
		return nil, errors.New("not UTF-8 text")
	}
	lines := strings.Split(string(data), "\n")
	names := make([]string, 0, len(lines))
	seen := make(map[string]bool, len(lines))
	for i, line := range lines {
		line = strings.TrimSuffix(line, "\r")
		n := strings.Trim(line, " \t")
		if n == "" || strings.HasPrefix(n, "#") {
			continue
		}
		if check && !validListName(re, n) {
			return nil, fmt.Errorf("line %d: %q is not a valid %s package name", i+1, truncate(n, 80), ecosystem)
		}
		k := normName(ecosystem, n)
		if seen[k] {
			continue
		}
		seen[k] = true
		if names = append(names, n); len(names) > MaxTopListNames {
			return nil, fmt.Errorf("more than %d names", MaxTopListNames)
		}
	}
	if len(names) == 0 {
		return nil, errors.New("no package names in it")
	}
	return names, nil
}

func validListName(re *regexp.Regexp, n string) bool {
	return len(n) <= maxListName && re.MatchString(n)
}

// ValidTopListName reports whether ParseTopList accepts name for ecosystem.
func ValidTopListName(ecosystem, name string) bool {
	nameRE := topNameRE[ecosystem]
	return nameRE != nil && validListName(nameRE(), name)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// TopListInfo says which list an ecosystem's check uses.
type TopListInfo struct {
	Ecosystem string `json:"ecosystem"`
	// Stored is true for a list `db update` fetched, false for the embedded one.
	Stored bool `json:"stored"`
	// Path is the stored file (also when it is unusable and so not in use).
	Path string `json:"path,omitempty"`
	// Source is the URL or file a stored list came from; Fetched when.
	Source  string    `json:"source,omitempty"`
	Fetched time.Time `json:"fetched,omitzero"`
	// Built is the date the embedded list's header gives, if it gives one.
	Built string `json:"built,omitempty"`
	// Names is the number of distinct names in the list in use.
	Names int `json:"names"`
	// Problem is why a stored list is not used: the embedded one is used instead.
	Problem string `json:"problem,omitempty"`
}

// Describe is the list in one line: "15000 names, stored 2026-12-03 from URL".
func (i TopListInfo) Describe() string {
	if i.Stored {
		return fmt.Sprintf("%d names, fetched %s from %s", i.Names, i.Fetched.UTC().Format("2006-01-02 15:04 MST"), i.Source)
	}
	s := fmt.Sprintf("%d names, built into phylum-box", i.Names)
	if i.Built != "" {
		s += " (generated " + i.Built + ")"
	}
	if i.Problem != "" {
		s += "; the stored list is not used: " + i.Problem
	}
	return s
}

type loadedList struct {
	list *topList
	info TopListInfo
}

// TopLists are the lists one check uses. The zero value and a nil *TopLists use
// the embedded lists; LoadTopLists prefers the lists stored next to a database.
// Each ecosystem's list is read on first use.
type TopLists struct {
	dbPath string
	mu     sync.Mutex
	loaded map[string]*loadedList
}

// EmbeddedTopLists are the lists built into phylum-box.
func EmbeddedTopLists() *TopLists { return &TopLists{} }

// LoadTopLists uses, per ecosystem, the list `db update` stored next to the
// database at dbPath when there is one and it is valid, else the embedded list.
func LoadTopLists(dbPath string) *TopLists { return &TopLists{dbPath: dbPath} }

// StoredTopListPath is where `db update` keeps an ecosystem's list for the
// database at dbPath: beside it, as <database>.<file> (osv.db.top-npm.txt).
func StoredTopListPath(dbPath, ecosystem string) string {
	f, _ := TopListFile(ecosystem)
	return dbPath + "." + f
}

// Info describes the list in use for every ecosystem, in TopListEcosystems order.
func (t *TopLists) Info() []TopListInfo {
	var out []TopListInfo
	for _, eco := range TopListEcosystems {
		out = append(out, t.get(eco).info)
	}
	return out
}

// Load reads eco's list now, so that a later check does not wait for it (the
// install loads it while a step's container runs).
func (t *TopLists) Load(eco string) { t.get(eco) }

func (t *TopLists) list(eco string) *topList {
	if l := t.get(eco); l != nil {
		return l.list
	}
	return nil
}

func (t *TopLists) get(eco string) *loadedList {
	if _, ok := TopListFile(eco); !ok {
		return nil
	}
	if t == nil || t.dbPath == "" {
		return embeddedList(eco)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if l, ok := t.loaded[eco]; ok {
		return l
	}
	l := loadStored(t.dbPath, eco)
	if t.loaded == nil {
		t.loaded = map[string]*loadedList{}
	}
	t.loaded[eco] = l
	return l
}

// embeddedLists builds each ecosystem's embedded list on first use: an install
// reads one ecosystem's, never the four.
var embeddedLists = func() map[string]func() *loadedList {
	m := map[string]func() *loadedList{}
	for _, e := range TopListEcosystems {
		m[e] = sync.OnceValue(func() *loadedList {
			data := EmbeddedTopListData(e)
			names, err := parseTopList(e, data, false)
			if err != nil {
				panic(fmt.Sprintf("embedded list for %s: %v", e, err)) // TestEmbeddedTopListsValid
			}
			l := newTopList(e, names)
			return &loadedList{list: l, info: TopListInfo{Ecosystem: e, Names: len(l.names), Built: generatedDate(data)}}
		})
	}
	return m
}()

func embeddedList(eco string) *loadedList {
	if f, ok := embeddedLists[eco]; ok {
		return f()
	}
	return nil
}

var generatedRE = lazyre.New(`(?m)^#.*\bon (\d{4}-\d{2}-\d{2})\b`)

func generatedDate(data []byte) string {
	if m := generatedRE().FindSubmatch(data); m != nil {
		return string(m[1])
	}
	return ""
}

// storedHeader starts the first line of a stored list; the JSON after it says
// where the list came from. The source's own comment lines are not stored, so
// the source cannot write this line.
const storedHeader = "# phylum-box stored list: "

type storedMeta struct {
	Ecosystem string    `json:"ecosystem"`
	Source    string    `json:"source"`
	Fetched   time.Time `json:"fetched"`
	SHA256    string    `json:"sha256"`
}

// StoredTopList is the content `db update` stores for names (already checked by
// ParseTopList) that came from source, whose bytes hash to sha256hex.
func StoredTopList(ecosystem string, names []string, source string, fetched time.Time, sha256hex string) []byte {
	var b bytes.Buffer
	meta, _ := json.Marshal(storedMeta{Ecosystem: ecosystem, Source: source, Fetched: fetched.UTC(), SHA256: sha256hex})
	b.WriteString(storedHeader)
	b.Write(meta)
	b.WriteByte('\n')
	for _, n := range names {
		b.WriteString(n)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// loadStored reads the stored list of eco, falling back to the embedded one
// (with the reason in Problem when a stored file exists but cannot be used).
func loadStored(dbPath, eco string) *loadedList {
	path := StoredTopListPath(dbPath, eco)
	fallback := func(problem string) *loadedList {
		e := embeddedList(eco)
		info := e.info
		info.Path, info.Problem = path, problem
		return &loadedList{list: e.list, info: info}
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return embeddedList(eco)
	}
	if err != nil {
		return fallback(err.Error())
	}
	defer f.Close()
	// The header line comes on top of a list that was at most MaxTopListBytes.
	data, err := io.ReadAll(io.LimitReader(f, MaxTopListBytes+64<<10))
	if err != nil {
		return fallback(err.Error())
	}
	first, body, _ := bytes.Cut(data, []byte("\n"))
	var meta storedMeta
	rest, ok := strings.CutPrefix(string(first), storedHeader)
	if !ok || json.Unmarshal([]byte(rest), &meta) != nil || meta.Ecosystem != eco {
		return fallback("no phylum-box header naming " + eco + " on its first line (run `phylum-box db update`)")
	}
	names, err := ParseTopList(eco, body)
	if err != nil {
		return fallback(err.Error())
	}
	l := newTopList(eco, names)
	return &loadedList{list: l, info: TopListInfo{Ecosystem: eco, Stored: true, Path: path, Source: meta.Source, Fetched: meta.Fetched, Names: len(l.names)}}
}

// EmbeddedTopListData is the text of the list built into phylum-box for an
// ecosystem (nil for one without a list), as hack/toplist copies it to a mirror.
func EmbeddedTopListData(ecosystem string) []byte {
	f, ok := TopListFile(ecosystem)
	if !ok {
		return nil
	}
	data, _ := topData.ReadFile("data/" + f)
	return data
}

// Summary is every ecosystem's list in one line, for doctor.
func (t *TopLists) Summary() string {
	var parts []string
	for _, i := range t.Info() {
		parts = append(parts, i.Ecosystem+": "+i.Describe())
	}
	return strings.Join(parts, "; ")
}

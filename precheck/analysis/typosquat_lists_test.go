package analysis

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Every embedded list passes the validator a fetched list must pass: a mirror
// that serves a copy of data/ is accepted.
func TestEmbeddedTopListsValid(t *testing.T) {
	for _, eco := range TopListEcosystems {
		f, _ := TopListFile(eco)
		data, err := topData.ReadFile("data/" + f)
		if err != nil {
			t.Fatal(err)
		}
		names, err := ParseTopList(eco, data)
		if err != nil {
			t.Errorf("%s: %v", f, err)
		}
		if len(names) < 200 {
			t.Errorf("%s: %d names", f, len(names))
		}
	}
}

func TestParseTopList(t *testing.T) {
	for _, c := range []struct {
		eco, data string
		want      []string
		err       string
	}{
		{"npm", "# comment\nreact\n\n  lodash  \n@types/node\nJSONStream\n", []string{"react", "lodash", "@types/node", "JSONStream"}, ""},
		{"npm", "react\r\nlodash\r\n# c\r\n", []string{"react", "lodash"}, ""},                                // CRLF
		{"npm", "react\nlodash\nreact\nReact\n", []string{"react", "lodash"}, ""},                             // repeats keep their first place
		{"PyPI", "requests\nPython_Dateutil\npython-dateutil\n", []string{"requests", "Python_Dateutil"}, ""}, // PEP 503 alike
		{"crates.io", "serde_json\nserde-json\ntokio\n", []string{"serde_json", "tokio"}, ""},
		{"RubyGems", "rails\nactive_record\n", []string{"rails", "active_record"}, ""},
		{"npm", "", nil, "no package names"},
		{"npm", "# only comments\n\n\r\n", nil, "no package names"},
		{"npm", "react\nlodash; rm -rf /\n", nil, `line 2: "lodash; rm -rf /" is not a valid npm package name`},
		{"npm", "react\n.hidden\n", nil, "line 2"},
		{"npm", "react\n@scope/a/b\n", nil, "line 2"},
		{"npm", "react\x00\n", nil, "line 1"},
		{"npm", "re\ract\n", nil, "line 1"}, // a lone CR is not a line end
		{"npm", "réact\n", nil, "line 1"},
		{"npm", "react\n\xff\n", nil, "not UTF-8"},
		{"npm", strings.Repeat("a", 215) + "\n", nil, "line 1"},
		{"PyPI", "requests\n-leading\n", nil, "line 2"},
		{"PyPI", "@types/node\n", nil, "not a valid PyPI package name"},
		{"crates.io", "9lives\n", nil, "not a valid crates.io package name"},
		{"crates.io", strings.Repeat("a", 65) + "\n", nil, "line 1"},
		{"RubyGems", "rails\n---\n", nil, "line 2"},
		{"Go", "x\n", nil, `no typosquatting list for ecosystem "Go"`},
	} {
		got, err := ParseTopList(c.eco, []byte(c.data))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseTopList(%s, %q) error %v, want %q", c.eco, c.data, err, c.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseTopList(%s, %q) = %q, %v; want %q", c.eco, c.data, got, err, c.want)
		}
	}
}

func TestParseTopListLimits(t *testing.T) {
	var b strings.Builder
	for i := 0; b.Len() <= MaxTopListBytes; i++ {
		b.WriteString("# padding padding padding padding padding padding padding padding\n")
	}
	b.WriteString("react\n")
	if _, err := ParseTopList("npm", []byte(b.String())); err == nil || !strings.Contains(err.Error(), "bytes, more than") {
		t.Errorf("oversize list: %v", err)
	}
	b.Reset()
	for i := 0; i <= MaxTopListNames; i++ {
		b.WriteString("p")
		b.WriteString(strings.Repeat("x", i%7))
		b.WriteString(strconv.Itoa(i))
		b.WriteByte('\n')
	}
	if b.Len() > MaxTopListBytes {
		t.Fatalf("test list of %d bytes exceeds the byte cap", b.Len())
	}
	if _, err := ParseTopList("npm", []byte(b.String())); err == nil || !strings.Contains(err.Error(), "more than 100000 names") {
		t.Errorf("too many names: %v", err)
	}
}

// A stored list replaces the embedded one for its ecosystem only; an unusable
// stored file falls back to the embedded list and says why.
func TestLoadTopLists(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "osv.db")
	// Before anything is stored: the embedded lists.
	tl := LoadTopLists(dbPath)
	for _, i := range tl.Info() {
		if i.Stored || i.Problem != "" || i.Names < 200 {
			t.Errorf("no stored list: %+v", i)
		}
	}
	if _, _, ok := tl.Typosquat("npm", "phylumboxtarget-x"); ok {
		t.Error("flagged against a name on no list")
	}

	fetched := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	names := []string{"phylumboxtarget", "react"}
	if err := os.WriteFile(StoredTopListPath(dbPath, "npm"), StoredTopList("npm", names, "http://mirror/toplists/top-npm.txt", fetched, "ab"), 0o644); err != nil {
		t.Fatal(err)
	}
	tl = LoadTopLists(dbPath)
	if target, tech, ok := tl.Typosquat("npm", "phylumboxtarqet"); !ok || target != "phylumboxtarget" {
		t.Errorf("stored list: Typosquat = %q %q %v", target, tech, ok)
	}
	// lodash is only on the embedded list, which the stored one replaces.
	if _, _, ok := tl.Typosquat("npm", "lodahs"); ok {
		t.Error("the embedded npm list is still used beside the stored one")
	}
	// The other ecosystems keep their embedded lists.
	if _, _, ok := tl.Typosquat("PyPI", "reqeusts"); !ok {
		t.Error("PyPI lost its embedded list")
	}
	info := tl.Info()[0]
	if !info.Stored || info.Names != 2 || info.Source != "http://mirror/toplists/top-npm.txt" || !info.Fetched.Equal(fetched) {
		t.Errorf("info: %+v", info)
	}
	if d := info.Describe(); d != "2 names, fetched 2026-12-01 10:00 UTC from http://mirror/toplists/top-npm.txt" {
		t.Errorf("Describe: %q", d)
	}
	if s := tl.Summary(); !strings.HasPrefix(s, "npm: 2 names, fetched 2026-12-01 10:00 UTC from http://mirror/toplists/top-npm.txt; PyPI: ") || !strings.Contains(s, "names, built into phylum-box") {
		t.Errorf("Summary: %q", s)
	}

	// A file without the header (not written by db update), or corrupt: embedded, with the reason.
	for _, bad := range []string{"phylumboxtarget\n", storedHeader + `{"ecosystem":"npm"}` + "\nnot a name!\n", storedHeader + `{"ecosystem":"PyPI"}` + "\nreact\n"} {
		os.WriteFile(StoredTopListPath(dbPath, "npm"), []byte(bad), 0o644)
		tl = LoadTopLists(dbPath)
		if _, _, ok := tl.Typosquat("npm", "lodahs"); !ok {
			t.Errorf("%q: the embedded list is not used", bad)
		}
		if i := tl.Info()[0]; i.Stored || i.Problem == "" || !strings.Contains(i.Describe(), "the stored list is not used") {
			t.Errorf("%q: info %+v", bad, i)
		}
	}

	// nil and zero TopLists are the embedded lists.
	var none *TopLists
	if _, _, ok := none.Typosquat("npm", "lodahs"); !ok {
		t.Error("nil *TopLists")
	}
}

// A list just under the size limit stays usable once stored with its header.
func TestStoredTopListAtTheLimit(t *testing.T) {
	var b strings.Builder
	for i := 0; b.Len()+201 <= MaxTopListBytes; i++ {
		n := "p" + strconv.Itoa(i) + "-"
		b.WriteString(n + strings.Repeat("x", 200-len(n)) + "\n")
	}
	names, err := ParseTopList("npm", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	dbPath := filepath.Join(t.TempDir(), "osv.db")
	stored := StoredTopList("npm", names, "https://mirror.example/toplists/top-npm.txt", time.Now(), strings.Repeat("0", 64))
	if len(stored) <= MaxTopListBytes {
		t.Fatalf("stored list of %d bytes does not pass the limit; the test tests nothing", len(stored))
	}
	os.WriteFile(StoredTopListPath(dbPath, "npm"), stored, 0o644)
	if i := LoadTopLists(dbPath).Info()[0]; !i.Stored || i.Names != len(names) {
		t.Errorf("%+v", i)
	}
}

// BenchmarkEmbeddedNpmList builds the embedded npm list the way the first
// typosquat check of an install does (issue 12: it is on every install's path).
func BenchmarkEmbeddedNpmList(b *testing.B) {
	data := EmbeddedTopListData("npm")
	for b.Loop() {
		names, err := parseTopList("npm", data, false)
		if err != nil {
			b.Fatal(err)
		}
		newTopList("npm", names)
	}
}

package osvdb

import (
	"os"
	"testing"
)

// FuzzRecord drives an arbitrary document and version through everything an import
// and a lookup do with them: decode, classify, convert, encode, decode the stored
// value, match. Nothing may panic, and a stored value must decode back.
func FuzzRecord(f *testing.F) {
	for _, p := range corpusRecords(f) {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, "1.0.0")
	}
	f.Add([]byte(`{"id":"X","affected":[{"package":{"ecosystem":"PyPI","name":"a"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"1!2.0rc1.post3.dev4+local"},{"limit":"*"}]}]}]}`), "1!2.0")
	f.Add([]byte(`{"id":"X","affected":[{"package":{"ecosystem":"RubyGems","name":"a"},"versions":["1.a.2"],"ranges":[{"type":"SEMVER","events":[{"last_affected":"v1"},{"fixed":"-"}]}]}]}`), "")
	f.Fuzz(func(t *testing.T, doc []byte, version string) {
		r, err := decodeRecord(doc)
		if err != nil {
			return
		}
		r.classify()
		for k, e := range entriesFor(r, func(string) bool { return true }) {
			b := appendEntry(nil, e)
			got, err := decodeEntry(b)
			if err != nil {
				t.Fatalf("stored value does not decode: %v", err)
			}
			if _, err := decodeEntryPart(b, false); err != nil {
				t.Fatalf("partial decode: %v", err)
			}
			_, _ = got.affects(&target{ecosystem: k.Ecosystem, raw: version, cache: versionCache{}})
		}
	})
}

// FuzzDecodeEntry: corrupt stored values are errors, never panics.
func FuzzDecodeEntry(f *testing.F) {
	f.Add(appendEntry(nil, &entry{ID: "GHSA-x", Summary: "s", Aliases: []string{"a"}, Versions: []string{"1"},
		Ranges: []vrange{rng(rangeSemver, intro("0"), fixed("2"))}}))
	f.Add([]byte{1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		if e, err := decodeEntry(b); err == nil {
			_, _ = e.affects(&target{ecosystem: "npm", raw: "1.0.0"})
		}
	})
}

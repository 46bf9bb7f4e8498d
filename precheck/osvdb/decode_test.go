package osvdb

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"reflect"
	"testing"

	"github.com/phylum-box/phylum-box/precheck/osvdb/osvgen"
)

// TestDecodeFastMatchesEncodingJSON: the gjson decoder used by imports gives the
// same osvRecord as encoding/json on every corpus record, on 3,000 generated
// records, and on edge cases; and both reject the same malformed documents.
func TestDecodeFastMatchesEncodingJSON(t *testing.T) {
	var docs [][]byte
	for _, p := range corpusRecords(t) {
		d, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, d)
	}
	var buf bytes.Buffer
	if err := osvgen.Write(&buf, osvgen.Options{Records: 3000, Seed: 42, Popular: []string{"lodash", "@babel/core"}}); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		rc, _ := f.Open()
		d, _ := io.ReadAll(rc)
		rc.Close()
		docs = append(docs, d)
	}
	docs = append(docs,
		[]byte(`{"id":"A","aliases":[],"severity":[],"affected":[]}`),
		[]byte(`{"id":"A","aliases":null,"summary":null,"withdrawn":null,"affected":null,"database_specific":null}`),
		[]byte(`{"id":"A","affected":[{"package":null,"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":null},{"fixed":""},{}]}],"versions":null}]}`),
		[]byte(`{"id":"A","summary":"esc \"q\" \u0026 \\ é","database_specific":{"severity":"HIGH","cwe_ids":["CWE-506"],"other":{"x":[1,2]}}}`),
		[]byte(`  {"id":"A","affected":[{"database_specific":{"cwes":[]}}]}  `),
	)
	for i, d := range docs {
		want, werr := decodeRecordJSON(d)
		got, gerr := decodeRecordFast(d)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("doc %d: encoding/json error %v, gjson error %v\n%s", i, werr, gerr, d)
		}
		if werr == nil && !reflect.DeepEqual(got, want) {
			gj, _ := json.Marshal(got)
			wj, _ := json.Marshal(want)
			t.Fatalf("doc %d differs:\n got %s\nwant %s", i, gj, wj)
		}
	}

	for _, bad := range []string{``, `{`, `[]`, `"x"`, `{"id":""}`, `{"id":1}`, `{"id":"X","affected":{}}`,
		`{"id":"X","aliases":[1]}`, `{"id":"X","affected":[{"ranges":[{"events":[{"fixed":1}]}]}]}`,
		`{"id":"X","severity":[{"score":true}]}`, `{"id":"X"} trailing`, `{"id":"X","affected":[{"package":{"name":[]}}]}`} {
		_, werr := decodeRecordJSON([]byte(bad))
		_, gerr := decodeRecordFast([]byte(bad))
		if werr == nil || gerr == nil {
			t.Errorf("%s: encoding/json error %v, gjson error %v; want both to fail", bad, werr, gerr)
		}
	}
}

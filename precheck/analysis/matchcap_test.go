package analysis

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
)

// Harmless matches a pattern's check drops (eval of a string literal) do not
// count against its match cap: 64 of them in front must not hide a real one.
func TestMatchCapCountsKeptMatches(t *testing.T) {
	payload := base64.StdEncoding.EncodeToString([]byte("require('child_process').exec('id')"))
	real := "module.exports = 1;\nconst x = Buffer.from('" + payload + "', 'base64').toString();\neval(x);\n"
	for _, pad := range []string{strings.Repeat("eval(\"0\");\n", 64), strings.Repeat("eval(\"0\");\n", 5000)} {
		dir := writeTree(t, map[string]string{"package.json": pkgJSON(""), "index.js": pad + real})
		fs, err := Dir(context.Background(), Package{Ecosystem: "npm", Name: "x", Version: "1.0.0"}, dir)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, f := range fs {
			found = found || f.Rule == "PB-ANALYSIS-EVAL-DECODE"
		}
		if !found {
			t.Errorf("%d literal evals in front hid the eval of a decoded blob: %v", strings.Count(pad, "\n"), fs)
		}
		// The twin: the literal evals alone are nothing.
		dir = writeTree(t, map[string]string{"package.json": pkgJSON(""), "index.js": pad + "module.exports = 1\n"})
		fs, err = Dir(context.Background(), Package{Ecosystem: "npm", Name: "x", Version: "1.0.0"}, dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			if f.Rule == "PB-ANALYSIS-EVAL-DECODE" {
				t.Errorf("literal evals alone: %v", f)
			}
		}
	}
}

package rootfs

import "testing"

func TestPrintable(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"node_modules/lodash/index.js", "node_modules/lodash/index.js"},
		{"café/日本.txt", "café/日本.txt"},
		{".git/evil\x1b[2K\r\x1b]0;owned\a", `.git/evil\x1b[2K\x0d\x1b]0;owned\x07`},
		{".git/x\n[phylum-box] FORGED", `.git/x\x0a[phylum-box] FORGED`},
		{"a\u202egnp.exe", `a\u202egnp.exe`},
		{"\u009b31m", `\u009b31m`},
		{"\x9b31m", `\x9b31m`},
		{"bad\xffutf8", `bad\xffutf8`},
		{`back\slash`, `back\\slash`},
		{"del\x7f", `del\x7f`},
	} {
		if got := Printable(tc.in); got != tc.want {
			t.Errorf("Printable(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestRefusalAndChangeStringsArePrintable(t *testing.T) {
	r := RefusedChange{Path: ".git/a\nb", Reason: "x"}
	if got := r.String(); got != `.git/a\x0ab: x` {
		t.Errorf("RefusedChange.String() = %q", got)
	}
	c := Change{Kind: Added, Type: TypeSymlink, Path: "l\x1b", Linkname: "t\r"}
	if got := c.String(); got != `added symlink l\x1b -> t\x0d` {
		t.Errorf("Change.String() = %q", got)
	}
}

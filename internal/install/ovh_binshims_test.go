package install

import (
	"io/fs"
	"strings"
	"testing"
)

// headView is a linkView that can read a file's head, as rootfs.Scratch does;
// it counts the whole-file reads.
type headView struct {
	files map[string]string
	whole int
}

func (v *headView) ReadFile(rel string) ([]byte, error) {
	v.whole++
	s, ok := v.files[rel]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return []byte(s), nil
}

func (v *headView) Readlink(string) (string, error) { return "", fs.ErrInvalid }

func (v *headView) ReadHead(rel string, n int) ([]byte, error) {
	s, ok := v.files[rel]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return []byte(s[:min(n, len(s))]), nil
}

// readShebangLine gives shimRuntime and firstLine what the whole file gives them,
// and reads the whole file only when the head cannot tell.
func TestReadShebangLineMatchesWholeFile(t *testing.T) {
	// Every binary of /usr/bin here has a newline byte in its first 8 KiB.
	binary := "\x7fELF\x02\x01" + strings.Repeat("\x00", 200) + "\n" + strings.Repeat("\x00\x01", 3<<20)
	cases := []struct {
		name, content string
		wholeRead     bool
	}{
		{"short script", "#!/usr/bin/env node\nrequire('x')\n", false},
		{"no newline, short", "#!/usr/bin/env node", false},
		{"native binary", binary, false},
		{"binary without a newline in its head", "\x7fELF" + strings.Repeat("\x00\x01", shimHead) + "\n#!/bin/sh evil\n", true},
		{"long first line", "#!/usr/bin/env node " + strings.Repeat("a", 3*shimHead) + "\nrest\n", true},
		{"white space past the head", strings.Repeat(" \n", shimHead) + "#!/bin/sh -e\nexit 0\n", true},
		{"multibyte space across the head's end", strings.Repeat(" ", shimHead-1) + "\u2028#!/usr/bin/env python3\n", true},
		{"exactly the head, no newline", strings.Repeat("x", shimHead), true},
		{"exactly the head, newline last", "#!/bin/sh" + strings.Repeat(" ", shimHead-10) + "\n", false},
		{"byte order mark", "\uFEFF#!/usr/bin/env -S node --x\n" + strings.Repeat("y", 2*shimHead), false},
		{"empty", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := &headView{files: map[string]string{"f": c.content}}
			got, err := readShebangLine(v, "f")
			if err != nil {
				t.Fatal(err)
			}
			whole := []byte(c.content)
			if firstLine(got) != firstLine(whole) {
				t.Errorf("first line %q, the whole file's is %q", firstLine(got), firstLine(whole))
			}
			for _, target := range []string{"bin/x", "bin/x.js", "bin/x.sh"} {
				gp, ga := shimRuntime(got, target)
				wp, wa := shimRuntime(whole, target)
				if gp != wp || ga != wa {
					t.Errorf("%s: runtime (%q, %q), the whole file's is (%q, %q)", target, gp, ga, wp, wa)
				}
			}
			if (v.whole > 0) != c.wholeRead {
				t.Errorf("whole-file reads: %d, want them: %v", v.whole, c.wholeRead)
			}
		})
	}
	if _, err := readShebangLine(&headView{files: map[string]string{}}, "missing"); err == nil {
		t.Error("a missing file read without error")
	}
}

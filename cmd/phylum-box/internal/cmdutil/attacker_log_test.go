package cmdutil

import (
	"bytes"
	"strings"
	"testing"
)

// Log messages quote what a checkout chose (lockfile lines, directory names,
// settings): the terminal must get none of its escape sequences, while newlines,
// tabs, backslashes and non-ASCII text stay as they are.
func TestAttackerLogNoTerminalEscapes(t *testing.T) {
	var out bytes.Buffer
	l := NewLogger(&out)
	l.Infof("up to date: %s", "vendor/\x1b]0;PWNED\x07\x1b[2J\u202e\u009b31m")
	l.WithField("lock", "x\x1b[31m").Warnf("two\nlines\tand a \\ backslash, caf\u00e9")
	got := out.String()
	if strings.ContainsAny(got, "\x1b\x07\u202e\u009b") {
		t.Errorf("the log carries terminal escapes: %q", got)
	}
	for _, want := range []string{`vendor/\x1b]0;PWNED\x07\x1b[2J\u202e\u009b31m`, "two\nlines\tand a \\ backslash, caf\u00e9", `lock=x\x1b[31m`} {
		if !strings.Contains(got, want) {
			t.Errorf("the log does not have %q:\n%s", want, got)
		}
	}
}

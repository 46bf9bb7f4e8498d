package manager

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/cmdutil"
)

// A run that writes thousands of refused files prints a bounded list, the rest with -v.
func TestPrintRefusedBounded(t *testing.T) {
	var refused []string
	for i := range 300 {
		refused = append(refused, fmt.Sprintf("f%03d: outside the outputs", i))
	}
	app, _, errb := cmdutil.TestApp()
	cmdutil.PrintRefused(app, refused, "refused: ")
	lines := strings.Split(strings.TrimSpace(errb.String()), "\n")
	if len(lines) != cmdutil.MaxRefusedLines+1 {
		t.Fatalf("printed %d lines, want %d:\n%s", len(lines), cmdutil.MaxRefusedLines+1, errb)
	}
	if !strings.Contains(lines[cmdutil.MaxRefusedLines-1], "f049") || !strings.Contains(lines[cmdutil.MaxRefusedLines], "and 250 more") {
		t.Errorf("unexpected tail: %q / %q", lines[cmdutil.MaxRefusedLines-1], lines[cmdutil.MaxRefusedLines])
	}

	app, _, errb = cmdutil.TestApp()
	app.Log.SetLevel(logrus.DebugLevel)
	cmdutil.PrintRefused(app, refused, "refused: ")
	if got := strings.Count(errb.String(), "outside the outputs"); got != len(refused) {
		t.Errorf("with -v %d refusals printed, want all %d", got, len(refused))
	}

	app, _, errb = cmdutil.TestApp()
	cmdutil.PrintRefused(app, refused[:3], "refused: ")
	if got := strings.Count(errb.String(), "\n"); got != 3 || strings.Contains(errb.String(), "more") {
		t.Errorf("a short list is printed whole: %q", errb)
	}
}

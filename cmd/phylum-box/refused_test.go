package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
)

// A run that writes thousands of refused files prints a bounded list, the rest with -v.
func TestPrintRefusedBounded(t *testing.T) {
	var refused []string
	for i := range 300 {
		refused = append(refused, fmt.Sprintf("f%03d: outside the outputs", i))
	}
	app, _, errb := checkTestApp()
	printRefused(app, refused, "refused: ")
	lines := strings.Split(strings.TrimSpace(errb.String()), "\n")
	if len(lines) != maxRefusedLines+1 {
		t.Fatalf("printed %d lines, want %d:\n%s", len(lines), maxRefusedLines+1, errb)
	}
	if !strings.Contains(lines[maxRefusedLines-1], "f049") || !strings.Contains(lines[maxRefusedLines], "and 250 more") {
		t.Errorf("unexpected tail: %q / %q", lines[maxRefusedLines-1], lines[maxRefusedLines])
	}

	app, _, errb = checkTestApp()
	app.Log.SetLevel(logrus.DebugLevel)
	printRefused(app, refused, "refused: ")
	if got := strings.Count(errb.String(), "outside the outputs"); got != len(refused) {
		t.Errorf("with -v %d refusals printed, want all %d", got, len(refused))
	}

	app, _, errb = checkTestApp()
	printRefused(app, refused[:3], "refused: ")
	if got := strings.Count(errb.String(), "\n"); got != 3 || strings.Contains(errb.String(), "more") {
		t.Errorf("a short list is printed whole: %q", errb)
	}
}

package install

import (
	"strings"
	"testing"
)

// A build that failed writing into a local dependency outside the project says
// so, with what to do; other failures, and writes elsewhere, get no such note.
func TestOutsideWriteNote(t *testing.T) {
	out := "Error: EROFS: read-only file system, open 'ran.txt'\n  errno: -30,\n  code: 'EROFS',\nnpm error path /src/pkgs/marker\nnpm error command failed\n"
	if got := outsideWriteNote(out, []string{"/src/lib", "/src/pkgs/marker"}); !strings.Contains(got, "/src/pkgs/marker, a local dependency outside the project, is visible read-only") ||
		!strings.Contains(got, "./vendor/marker") {
		t.Errorf("note %q", got)
	}
	if got := outsideWriteNote(out, []string{"/src/lib"}); got != "" {
		t.Errorf("a note for another directory: %q", got)
	}
	if got := outsideWriteNote("npm error path /src/pkgs/marker\nnpm error command failed\n", []string{"/src/pkgs/marker"}); got != "" {
		t.Errorf("a note without a read-only write: %q", got)
	}
}

package cmdutil

import (
	"errors"
	"fmt"
	"testing"

	"github.com/phylum-box/phylum-box/internal/exitcode"
	"github.com/phylum-box/phylum-box/managers"
)

// TestExitCodeOfManagersErrors: the managers return plain errors; cmd maps them,
// wrapped or not, to the exit-code contract.
func TestExitCodeOfManagersErrors(t *testing.T) {
	base := errors.New("x")
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, exitcode.OK},
		{base, exitcode.Internal},
		{&managers.Refusal{Manager: "npm", Reason: "global installs"}, exitcode.Usage},
		{fmt.Errorf("npm: %w", &managers.Refusal{Manager: "npm"}), exitcode.Usage},
		{&managers.InvalidProject{Err: base}, exitcode.Usage},
		{&managers.UnusableResult{Err: base}, exitcode.Incomplete},
		{&managers.ForbiddenWrite{Err: base}, exitcode.Sandbox},
		{exitcode.With(exitcode.Blocked, &managers.Refusal{}), exitcode.Blocked},
	} {
		if got := ExitCode(tc.err); got != tc.want {
			t.Errorf("ExitCode(%T %v) = %d, want %d", tc.err, tc.err, got, tc.want)
		}
	}
}

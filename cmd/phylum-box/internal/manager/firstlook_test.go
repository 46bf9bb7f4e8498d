package manager

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/phylum-box/phylum-box/managers"
)

// TestFirstLookLeavesThePlan: the nothing-to-do check taken before the sealed
// re-exec, without the project's lock, answers but changes nothing of the plan
// (pip's check records the requirements files as the lockfiles when it says up
// to date: only the check under the lock may), and is not taken for a project
// that is or holds the home directory.
func TestFirstLookLeavesThePlan(t *testing.T) {
	calls := 0
	home := filepath.Join(t.TempDir(), "home", "u")
	proj := filepath.Join(home, "proj")
	if err := os.MkdirAll(proj, 0o755); err != nil {
		t.Fatal(err)
	}
	plan := &managers.Plan{Project: managers.Project{Root: proj, Lockfiles: []string{"package-lock.json"}}}
	plan.Steps.UpToDate = func() (bool, string) {
		calls++
		plan.Project.Lockfiles[0] = "requirements.in" // in place, and replaced
		plan.Project.Lockfiles = []string{"requirements.txt"}
		return true, "checked"
	}
	if !firstLook(plan, home) {
		t.Fatal("an up-to-date plan was not up to date at first look")
	}
	if calls != 1 || !slices.Equal(plan.Project.Lockfiles, []string{"package-lock.json"}) {
		t.Errorf("after the first look: %d call(s), lockfiles %v; want 1 and the plan's own", calls, plan.Project.Lockfiles)
	}
	for _, tc := range []struct{ root, home string }{
		{home, home}, {filepath.Dir(home), home}, {"/", home}, {proj, "/"}, {proj, ""}, {proj, "home/u"},
	} {
		plan.Project.Root = tc.root
		if firstLook(plan, tc.home) {
			t.Errorf("project %s, home %q: taken at first look", tc.root, tc.home)
		}
	}
	if calls != 1 {
		t.Errorf("the check ran %d times for projects holding the home", calls-1)
	}
	plan.Steps.UpToDate = func() (bool, string) { return false, "no" }
	plan.Project.Root = proj
	if firstLook(plan, home) {
		t.Error("a plan with work to do was up to date at first look")
	}
}

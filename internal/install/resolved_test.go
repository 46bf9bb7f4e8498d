package install

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/phylum-box/phylum-box/internal/exitcode"
	"github.com/phylum-box/phylum-box/internal/testutil"
	"github.com/phylum-box/phylum-box/managers"
	"github.com/phylum-box/phylum-box/precheck"
)

// TestInstallResolvedHook: Plan.Steps.Resolved sees what the resolve wrote and reads the
// run's view; the files it adds reach the download (secret) and the build
// (public) only; entries it returns block with exit 3 before the download; its
// plain error's exit code (a *ForbiddenWrite: 4) is the outcome's. Step.Dir and Step.Name are honoured.
func TestInstallResolvedHook(t *testing.T) {
	testutil.NeedRootContainers(t)
	const home = ".phylum-box/test/list"
	for _, tc := range []struct {
		name string
		hook func(plan *managers.Plan) ([]precheck.Package, error)
		code int
		want []managers.Phase
	}{
		{"passes", func(plan *managers.Plan) ([]precheck.Package, error) {
			plan.Sandbox.Credentials = &managers.Credentials{Files: []managers.ConfigFile{{Home: home, Secret: []byte("for-download"), Public: []byte("for-build")}}}
			return nil, nil
		}, exitcode.OK, []managers.Phase{"resolve", "download", "build"}},
		{"blocks", func(*managers.Plan) ([]precheck.Package, error) {
			return []precheck.Package{{Ecosystem: precheck.NPM, Name: "left-pad", Version: "1.3.0", Source: "package-lock.json:3", Mismatch: "not the configured URL"}}, nil
		}, exitcode.Blocked, []managers.Phase{"resolve"}},
		{"stops", func(*managers.Plan) ([]precheck.Package, error) {
			return nil, &managers.ForbiddenWrite{Err: errors.New("the resolve wrote stray")}
		}, exitcode.Sandbox, []managers.Phase{"resolve"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			proj := testutil.NewProject(t, map[string]string{"package.json": packageJSON})
			plan := npmLikePlan(proj)
			plan.Steps.Resolve.Args = sh(lockScript("package-lock.json", nil) + `echo x > stray`)
			plan.Steps.Download.Args = sh(`pwd >&2; cat "$HOME/` + home + `" >&2 || true; mkdir -p "$0/node_modules/left-pad" && echo 1 > "$0/node_modules/left-pad/index.js"`)
			plan.Steps.Download.Args = append(plan.Steps.Download.Args, proj)
			plan.Steps.Download.Dir, plan.Steps.Download.Name, plan.Steps.Download.Credentials = "/", "test fetch", true
			plan.Steps.Build.Args = sh(`echo "build-saw=$(cat "$HOME/` + home + `" 2>/dev/null)" >&2; echo built > node_modules/left-pad/built`)
			plan.Project.Outputs = append(plan.Project.Outputs, "stray")
			var changed []string
			plan.Steps.Resolved = func(c []string, read func(string) ([]byte, error)) ([]precheck.Package, error) {
				changed = c
				if data, err := read("stray"); err != nil || string(data) != "x\n" {
					return nil, fmt.Errorf("read stray: %q %v", data, err)
				}
				return tc.hook(plan)
			}
			out := &syncBuffer{}
			res := install(t, plan, openDB(t), defaultPolicy(t), out)
			if res.Code != tc.code {
				t.Fatalf("Code = %d (%s), want %d\n%s", res.Code, res.Reason, tc.code, out)
			}
			if !slices.Contains(changed, "stray") || !slices.Contains(changed, "package-lock.json") {
				t.Errorf("changed = %q", changed)
			}
			if got := phases(res); !slices.Equal(got, tc.want) {
				t.Errorf("steps = %v, want %v", got, tc.want)
			}
			if tc.code != exitcode.OK {
				return
			}
			for _, want := range []string{"/\n", "for-download", "build-saw=for-build"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

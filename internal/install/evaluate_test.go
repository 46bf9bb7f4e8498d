package install

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phylum-box/phylum-box/internal/exitcode"
	"github.com/phylum-box/phylum-box/internal/testutil"
	"github.com/phylum-box/phylum-box/managers"
)

// TestInstallEvaluateStep: Plan.Steps.Evaluate runs first with no network and no
// credentials whatever the step asks, over a read-only project; its stdout goes
// to Evaluated only, whose files reach the later steps (the secret version the
// credential steps, the public one the build).
func TestInstallEvaluateStep(t *testing.T) {
	testutil.NeedRootContainers(t)
	// A project file the plan replaces for the later steps (the Gemfile for bundle).
	proj := testutil.NewProject(t, map[string]string{"package.json": packageJSON, "evaluated.txt": "the project's"})
	plan := npmLikePlan(proj)
	plan.Sandbox.Credentials = &managers.Credentials{Env: []string{"PBOX_EVAL_TOKEN=s3cret"}}
	plan.Steps.Resolve.Credentials = true
	plan.Steps.Evaluate = &managers.Step{Network: true, Credentials: true, Args: sh(ifaces +
		`printf '{"declared":1}'; echo "eval-net=$(listIfaces | tr '\n' ,)" >&2; echo "eval-token=$PBOX_EVAL_TOKEN" >&2; ` +
		`if echo x > planted 2>/dev/null; then echo eval-write=OK >&2; else echo eval-write=FAIL >&2; fi`)}
	plan.Steps.Resolve.Args = sh(lockScript("package-lock.json", nil) + `mkdir -p node_modules && cat evaluated.txt > node_modules/resolve-saw`)
	plan.Steps.Build.Args = sh(`cat evaluated.txt > node_modules/build-saw`)
	var got []byte
	plan.Steps.Evaluated = func(out []byte, read func(string) ([]byte, error)) error {
		got = append([]byte(nil), out...)
		if pj, err := read("package.json"); err != nil || string(pj) != packageJSON {
			return fmt.Errorf("read: %q %v", pj, err)
		}
		plan.Sandbox.Credentials.Files = append(plan.Sandbox.Credentials.Files, managers.ConfigFile{Project: "evaluated.txt", Secret: []byte("for-resolve"), Public: []byte("for-build")})
		return nil
	}
	out := &syncBuffer{}
	res := install(t, plan, openDB(t), defaultPolicy(t), out)
	if res.Code != exitcode.OK {
		t.Fatalf("Code = %d (%s)\n%s", res.Code, res.Reason, out)
	}
	if p := phases(res); fmt.Sprint(p) != "[evaluate resolve download build]" {
		t.Errorf("steps = %v", p)
	}
	if res.Steps[0].Network {
		t.Error("the evaluate step had the network")
	}
	if string(got) != `{"declared":1}` || strings.Contains(out.String(), "declared") {
		t.Errorf("Evaluated got %q; the step's stdout must go there only:\n%s", got, out)
	}
	for _, want := range []string{"eval-net=lo,", "eval-token=\n", "eval-write=FAIL"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("evaluate step output lacks %q:\n%s", want, out)
		}
	}
	if got := readFile(t, filepath.Join(proj, "evaluated.txt")); got != "the project's" {
		t.Errorf("evaluated.txt = %q, want the project's own after the install", got)
	}
	if _, err := os.Lstat(filepath.Join(proj, "planted")); !os.IsNotExist(err) {
		t.Errorf("the evaluate step wrote into the project (%v)", err)
	}
	for f, want := range map[string]string{"node_modules/resolve-saw": "for-resolve", "node_modules/build-saw": "for-build"} {
		if got := readFile(t, filepath.Join(proj, f)); got != want {
			t.Errorf("%s = %q, want %q", f, got, want)
		}
	}

	// A refusal from Evaluated stops before anything has the network.
	proj = testutil.NewProject(t, map[string]string{"package.json": packageJSON})
	plan = npmLikePlan(proj)
	plan.Steps.Evaluate = &managers.Step{Args: sh(`echo '{}'`)}
	plan.Steps.Evaluated = func([]byte, func(string) ([]byte, error)) error {
		return &managers.Refusal{Manager: "npm", Reason: "manifest: not supported"}
	}
	res = install(t, plan, openDB(t), defaultPolicy(t), nil)
	if res.Code != exitcode.Usage || !strings.Contains(res.Reason, "manifest: not supported") || fmt.Sprint(phases(res)) != "[evaluate]" {
		t.Errorf("a refusal: code %d, reason %q, steps %v", res.Code, res.Reason, phases(res))
	}
}

func TestCapped(t *testing.T) {
	c := &capped{max: 5}
	for _, s := range []string{"abc", "defg", "h"} {
		if n, err := c.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v: a capped writer takes everything", s, n, err)
		}
	}
	if c.String() != "abcde" || !c.over {
		t.Errorf("kept %q, over %v; want the first 5 bytes and over", c.String(), c.over)
	}
}

package managers

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestNpmRunEvents(t *testing.T) {
	for _, tc := range []struct {
		scripts []string
		want    []string
	}{
		{nil, nil},
		{[]string{"postinstall"}, []string{"postinstall"}},
		{[]string{"preinstall", "install", "postinstall", "prepare"}, []string{"install", "prepare"}},
		{[]string{"preinstall", "postinstall", "preprepare", "postprepare", "prepublish"}, []string{"preinstall", "postinstall", "prepublish", "preprepare", "postprepare"}},
		{[]string{"prepare", "test", "build"}, []string{"prepare"}},
	} {
		m := &projectManifest{Scripts: map[string]any{}}
		for _, s := range tc.scripts {
			m.Scripts[s] = "echo " + s
		}
		if got := npmRunEvents(m); !slices.Equal(got, tc.want) {
			t.Errorf("%v: npmRunEvents = %v, want %v", tc.scripts, got, tc.want)
		}
	}
}

func TestNpmPlanProjectScripts(t *testing.T) {
	env := testEnv(t, map[string]string{
		"package.json":            `{"name":"app","version":"1.2.3","workspaces":["packages/*"],"scripts":{"postinstall":"node gen.js","prepare":"husky"}}`,
		"packages/a/package.json": `{"name":"a","version":"1.0.0","scripts":{"prepare":"tsc"}}`,
		"packages/b/package.json": `{"name":"b","version":"1.0.0","scripts":{"test":"x"}}`,
	})
	needNodeHeaders(t, env)
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"install"}, true},
		{[]string{"ci"}, true},
		{[]string{"install", "lodash"}, false},
		{[]string{"install", "--ignore-scripts"}, false},
		{[]string{"rebuild"}, false},
	} {
		p, err := Lookup("npm")
		if !err {
			t.Fatal("npm not registered")
		}
		plan, perr := p.Plan(tc.args, env)
		if perr != nil {
			t.Fatalf("%v: %v", tc.args, perr)
		}
		if got := plan.Steps.ProjectScripts != nil; got != tc.want {
			t.Errorf("%v: ProjectScripts set = %v, want %v", tc.args, got, tc.want)
			continue
		}
		if tc.want && (plan.Project.Name != "app" || plan.Project.Version != "1.2.3") {
			t.Errorf("%v: project %s@%s", tc.args, plan.Project.Name, plan.Project.Version)
		}
		if tc.want && plan.Steps.ProjectScripts.Network {
			t.Errorf("%v: the project scripts step has the network", tc.args)
		}
		if tc.want {
			want := "set -e; npm rebuild --foreground-scripts --no-audit --no-fund a; npm run-script postinstall; npm run-script prepare"
			if got := plan.Steps.ProjectScripts.Args[len(plan.Steps.ProjectScripts.Args)-1]; got != want {
				t.Errorf("%v: project scripts step %q, want %q", tc.args, got, want)
			}
		}
	}
}

// The build's wrapper takes the lifecycle scripts out while the build runs and
// puts the manifest back byte for byte, whatever the build's status.
func TestYarnHideScripts(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("no node")
	}
	dir := t.TempDir()
	orig := "{\n \"name\": \"x\",  \"scripts\": {\"postinstall\": \"echo hi\", \"test\": \"t\"}}\n"
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(orig), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, status := range []string{"0", "3"} {
		argv := yarnHideScripts([]string{"package.json"}, []string{"sh", "-c", "cat package.json; exit " + status})
		c := exec.Command(argv[0], argv[1:]...)
		c.Dir = dir
		out, err := c.Output()
		if code := c.ProcessState.ExitCode(); strconv.Itoa(code) != status {
			t.Fatalf("exit %d (%v), want %s", code, err, status)
		}
		if strings.Contains(string(out), "postinstall") || !strings.Contains(string(out), `"test"`) {
			t.Errorf("during the build the manifest was:\n%s", out)
		}
		if got, _ := os.ReadFile(filepath.Join(dir, "package.json")); string(got) != orig {
			t.Errorf("the manifest after the build:\n%s", got)
		}
	}
}

// With nothing else to build, the reason says whether the project's own scripts
// run after (npm install) or not (npm install PKG, as npm runs none).
func TestNpmRootBuildsChangedReason(t *testing.T) {
	read := func(rel string) ([]byte, error) {
		switch rel {
		case "node_modules/ms/package.json":
			return []byte(`{"name":"ms","version":"2.1.3"}`), nil
		case "node_modules/.package-lock.json":
			return []byte(`{"lockfileVersion":3,"packages":{"node_modules/ms":{"version":"2.1.3"}}}`), nil
		}
		return nil, os.ErrNotExist
	}
	for run, want := range map[bool]string{true: "which run after", false: "which this command does not run"} {
		names, why, ok := npmRootBuildsChanged(nil, run)(read, []string{"node_modules/ms"})
		if !ok || len(names) != 0 || !strings.Contains(why, want) {
			t.Errorf("run %v: %q %q %v, want a reason with %q", run, names, why, ok, want)
		}
	}
}

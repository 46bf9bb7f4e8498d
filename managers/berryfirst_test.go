package managers

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// A bare `yarn install` over a committed yarn.lock is tried first without the
// resolve step (its download, install --immutable, checks the lockfile); a
// command that names packages, --immutable (already no resolve step), other
// options or a missing lockfile keep the plan as it was.
func TestBerryLockFirst(t *testing.T) {
	yarn, _ := Lookup("yarn")
	for _, c := range []struct {
		args  []string
		lock  bool
		tried bool
	}{
		{[]string{"install"}, true, true},
		{nil, true, true},
		{[]string{"install", "--immutable-cache"}, true, true},
		{[]string{"install"}, false, false},
		{[]string{"install", "--immutable"}, true, false},
		{[]string{"install", "--mode=skip-build"}, true, false},
		{[]string{"add", "is-odd"}, true, false},
		{[]string{"up", "is-odd"}, true, false},
	} {
		files := map[string]string{"package.json": `{"name":"b","packageManager":"yarn@4.18.1"}`}
		if c.lock {
			files["yarn.lock"] = berryLock
		}
		env := testEnv(t, files)
		needNodeHeaders(t, env)
		env = withTrustedBerry(t, env)
		p, err := yarn.Plan(c.args, env)
		if err != nil {
			t.Fatalf("%q: %v", c.args, err)
		}
		if (p.TryFirst != nil) != c.tried {
			t.Errorf("%q (yarn.lock %v): tried first %v, want %v", c.args, c.lock, p.TryFirst != nil, c.tried)
			continue
		}
		if !c.tried {
			continue
		}
		try := p.TryFirst
		if try.Steps.Resolve != nil || p.Steps.Resolve == nil {
			t.Errorf("%q: the attempt must have no resolve step and the plan its own", c.args)
		}
		if try.Steps.Download == nil || !slices.Equal(try.Steps.Download.Args, p.Steps.Download.Args) ||
			!slices.Contains(try.Steps.Download.Args, "--immutable") || !try.Steps.Download.Network {
			t.Errorf("%q: the attempt's download %v, want the plan's install --immutable", c.args, try.Steps.Download)
		}
		if try.Retry == nil || !try.Retry(PhaseDownload) || !try.Retry("") || try.Retry(PhaseBuild) {
			t.Errorf("%q: the attempt is thrown away on a failed download or a blocked precheck, and only then", c.args)
		}
		if !slices.Contains(try.ShowAfter, "Fetch step") {
			t.Errorf("%q: the attempt's output must show from yarn's fetch step on, got %q", c.args, try.ShowAfter)
		}
		if try.TryFirst != nil || (try.Steps.UpToDate == nil) != (p.Steps.UpToDate == nil) {
			t.Errorf("%q: the attempt must keep the up-to-date check and try nothing first itself", c.args)
		}
	}
}

// enableScripts as the steps' yarn sees it: false in the project's rc, or in the
// user's when the project's says nothing; anything unread (a variable, an
// installStatePath, a true) means scripts on.
func TestBerryScriptsOff(t *testing.T) {
	for _, c := range []struct {
		name            string
		project, home   string
		environ         []string
		off             bool
		releaseDefault0 bool
	}{
		{name: "project false", project: "enableScripts: false\n", off: true},
		{name: "home false", home: "enableScripts: false\n", off: true},
		{name: "project true wins", project: "enableScripts: true\n", home: "enableScripts: false\n", off: false},
		{name: "unset, no release", off: false},
		{name: "variable", project: "enableScripts: false\n", environ: []string{"YARN_ENABLE_SCRIPTS=false"}, off: false},
		{name: "installStatePath", project: "enableScripts: false\ninstallStatePath: ./state.gz\n", off: false},
		{name: "release default off", project: "yarnPath: .yarn/releases/y.cjs\n", releaseDefault0: true, off: true},
		{name: "release default on", project: "yarnPath: .yarn/releases/y.cjs\n", off: false},
	} {
		root, home := t.TempDir(), t.TempDir()
		if c.project != "" {
			writeTestFile(t, filepath.Join(root, ".yarnrc.yml"), c.project)
		}
		if c.home != "" {
			writeTestFile(t, filepath.Join(home, ".yarnrc.yml"), c.home)
		}
		release := `enableScripts:{description:"x",type:"BOOLEAN",default:!0}`
		if c.releaseDefault0 {
			release = `enableScripts:{description:"x",type:"BOOLEAN",default:!1}`
		}
		writeTestFile(t, filepath.Join(root, ".yarn", "releases", "y.cjs"), release)
		env := Env{Dir: root, Home: home, Environ: append([]string{"HOME=" + home}, c.environ...)}
		rc, err := loadBerryConfig(env, root, nil)
		if err != nil {
			t.Fatal(err)
		}
		var rcs []*yarnProjectRC
		if c.project != "" {
			rcs = []*yarnProjectRC{{path: filepath.Join(root, ".yarnrc.yml")}}
		}
		if got := berryScriptsOff(env, rc, rcs, root); got != c.off {
			t.Errorf("%s: scripts off %v, want %v", c.name, got, c.off)
		}
	}
}

// With scripts off the build is skipped only when nothing asks for one and the
// download left the install state as the project had it.
func TestBerryBuildNeeded(t *testing.T) {
	root := t.TempDir()
	state := "\x1f\x8b state of the last install"
	writeTestFile(t, filepath.Join(root, berryInstallState), state)
	files := map[string]string{
		"package.json":    `{"name":"b","dependencies":{"esbuild":"0.24.2"}}`,
		"ws/package.json": `{"name":"w"}`,
		berryInstallState: state,
	}
	read := func(rel string) ([]byte, error) {
		if s, ok := files[rel]; ok {
			return []byte(s), nil
		}
		return nil, os.ErrNotExist
	}
	need := berryBuildNeeded(root, []string{"ws"})
	if n, why := need(read); n {
		t.Errorf("nothing asks for a build, state unchanged: needed (%s)", why)
	}
	for _, c := range []struct {
		name, file, body, want string
	}{
		{"built true", "package.json", `{"dependenciesMeta":{"esbuild":{"built":true}}}`, "asks for esbuild"},
		{"built in a workspace", "ws/package.json", `{"dependenciesMeta":{"esbuild@0.24.2":{"built":true,"unplugged":true}}}`, "asks for esbuild@0.24.2"},
		{"state changed", berryInstallState, "\x1f\x8b another state", "changed"},
		{"manifest unreadable", "package.json", "{", "not understood"},
	} {
		saved := files[c.file]
		files[c.file] = c.body
		if n, why := need(read); !n || !strings.Contains(why, c.want) {
			t.Errorf("%s: needed %v (%s), want needed: %s", c.name, n, why, c.want)
		}
		files[c.file] = saved
	}
	files["package.json"] = `{"dependenciesMeta":{"esbuild":{"built":false}}}`
	if n, why := need(read); n {
		t.Errorf("built: false asks for no build: needed (%s)", why)
	}
	if err := os.Remove(filepath.Join(root, berryInstallState)); err != nil {
		t.Fatal(err)
	}
	if n, _ := need(read); !n {
		t.Errorf("no install state of an earlier install: the build must run (yarn records the skipped builds)")
	}
}

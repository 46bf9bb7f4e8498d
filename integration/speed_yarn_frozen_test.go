package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// `yarn install --frozen-lockfile` (classic) from a committed, registry-only
// yarn.lock that covers package.json (issue 12, managers/yarnfetchinstall.go): the
// lockfile is the resolution, so there is no resolve step — it is prechecked,
// then one networked `yarn install --ignore-scripts` installs it, and the offline
// build runs the install scripts of only the packages that have them. Asserted
// here: that path is taken (download, build); the install script runs once, in the
// build, without the network; yarn.lock is unchanged and .yarn-integrity is what
// bare yarn writes for the same project; a lockfile entry with a MAL record, and
// one on a host the project does not fetch from, stop the install before any
// step (nothing has the network, the project is byte-identical); the twin with a
// file: dependency keeps resolve, download and build.
func TestSpeedYarnClassicFrozenLockfile(t *testing.T) {
	t.Parallel()
	classic := pmFlavours()[0]
	if classic.name != "yarn-classic" {
		t.Fatalf("pmFlavours()[0] is %s, want yarn-classic", classic.name)
	}
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		classic.setup(t, b)
		reg := startNpmLocalRegistry(t, "")
		script := `node -e "const fs=require('fs');fs.appendFileSync('built.txt','built\n');` +
			`require('http').get('` + reg.URL + `/pbox-probe',()=>{fs.writeFileSync('net.txt','reached');process.exit(0)}).on('error',()=>fs.writeFileSync('net.txt','none'))"`
		// (It exits once it has an answer: the bare yarn below has the network, and an
		// unread response would keep node waiting.)
		reg.Add("pbox-yarn-frozen-built", "1.0.0", map[string]any{"scripts": map[string]string{"postinstall": script}}, nil)
		reg.Add("pbox-yarn-frozen-plain", "1.0.0", nil, map[string]string{"index.js": "module.exports = 1\n"})
		manifest := map[string]any{"name": "pbox-it", "version": "1.0.0", "license": "MIT",
			"dependencies": map[string]any{"pbox-yarn-frozen-built": "1.0.0", "pbox-yarn-frozen-plain": "^1.0.0"}}
		setManifest(t, b, manifest)
		rc := "registry \"" + reg.URL + "/\"\n"
		writeProjectFile(t, b, ".yarnrc", rc)

		// The committed lockfile, and what bare yarn leaves, from bare yarn in a
		// copy of the project (its own cache and home).
		bare := t.TempDir()
		for _, f := range []string{"package.json", ".yarnrc"} {
			data, err := os.ReadFile(filepath.Join(b.Project, f))
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(bare, f), string(data), 0o644)
		}
		c := exec.Command("yarn", "install", "--non-interactive")
		c.Dir = bare
		c.Env = append(os.Environ(), "HOME="+bare, "YARN_CACHE_FOLDER="+filepath.Join(bare, ".cache"))
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("bare yarn install: %v\n%s", err, out)
		}
		lock, err := os.ReadFile(filepath.Join(bare, "yarn.lock"))
		if err != nil {
			t.Fatal(err)
		}
		writeProjectFile(t, b, "yarn.lock", string(lock))
		bareIntegrity := readYarnIntegrity(t, filepath.Join(bare, "node_modules", ".yarn-integrity"))

		// 1. The path: download, then the build of only the package with a script.
		rep := b.reportPath("frozen.json")
		r := b.tool(rep, "yarn", "install", "--frozen-lockfile")
		wantCode(t, r, 0, "yarn install --frozen-lockfile")
		pr := readSpeedReport(t, rep)
		if got := pr.phases(); !slices.Equal(got, []string{"download", "build"}) {
			t.Fatalf("yarn install --frozen-lockfile ran %v, want download, build (no resolve step: the lockfile is the resolution)", got)
		}
		for _, s := range pr.Steps {
			a := strings.Join(s.Args, " ")
			switch s.Phase {
			case "download":
				if !strings.Contains(a, "yarn install --frozen-lockfile") || !strings.Contains(a, "--ignore-scripts") {
					t.Errorf("the networked step must be yarn install with scripts off: %q", a)
				}
			case "build":
				if !strings.Contains(a, "--offline") || strings.HasSuffix(a, "--force") || !strings.HasSuffix(a, " pbox-yarn-frozen-built") {
					t.Errorf("the build must be yarn's offline install of only the package with a script: %q", a)
				}
			}
		}
		if pr.Precheck == nil || len(pr.Precheck.Packages) != 2 {
			t.Errorf("the precheck did not see the lockfile's two packages: %+v", pr.Precheck)
		}
		dir := filepath.Join(b.Project, "node_modules", "pbox-yarn-frozen-built")
		if got, err := os.ReadFile(filepath.Join(dir, "built.txt")); err != nil || string(got) != "built\n" {
			t.Errorf("the install script must run exactly once, in the build: built.txt %q, %v", got, err)
		}
		if got, err := os.ReadFile(filepath.Join(dir, "net.txt")); err != nil || string(got) != "none" {
			t.Errorf("the install script must run without the network: net.txt %q, %v", got, err)
		}
		wantFile(t, filepath.Join(b.Project, "node_modules", "pbox-yarn-frozen-plain", "index.js"), "the package without a script installed")
		if got, _ := os.ReadFile(filepath.Join(b.Project, "yarn.lock")); string(got) != string(lock) {
			t.Errorf("yarn.lock changed:\n%s\nwant\n%s", got, lock)
		}
		if got := readYarnIntegrity(t, filepath.Join(b.Project, "node_modules", ".yarn-integrity")); got != bareIntegrity {
			t.Errorf("node_modules/.yarn-integrity is not bare yarn's:\n%s\nbare:\n%s", got, bareIntegrity)
		}
		r = b.tool("", "yarn", "install", "--frozen-lockfile")
		wantCode(t, r, 0, "yarn install --frozen-lockfile again")
		wantStderr(t, r, "up to date")

		// 2. The attack in the same path: a committed entry with a MAL record is
		// blocked by the precheck, before any step has the network.
		withMal := map[string]any{}
		for k, v := range manifest {
			withMal[k] = v
		}
		withMal["dependencies"] = map[string]any{"pbox-yarn-frozen-built": "1.0.0", "pbox-yarn-frozen-plain": "^1.0.0", "is-number": "7.0.0"}
		setManifest(t, b, withMal)
		writeProjectFile(t, b, "yarn.lock", string(lock)+"\nis-number@7.0.0:\n  version \"7.0.0\"\n"+
			"  resolved \"https://registry.yarnpkg.com/is-number/-/is-number-7.0.0.tgz#7535345b896734d5f80c4d06c50955527a14f12b\"\n"+
			"  integrity sha512-41Cifkg6e8TylSpdtTpeLVMqvSBEVzTttHvERD741+pnZ8ANv0004MRL43QKPDlK9cGvNp6NZWZUBlbGXYxxng==\n")
		before := projectState(t, b.Project)
		rep = b.reportPath("mal.json")
		r = b.tool(rep, "yarn", "install", "--frozen-lockfile")
		wantCode(t, r, 3, "a committed lockfile entry with a MAL record")
		wantStderr(t, r, "is-number", "MAL-0000-PBOXIT1")
		if got := readSpeedReport(t, rep).phases(); len(got) != 0 {
			t.Errorf("a blocked lockfile ran %v; nothing may run before the precheck", got)
		}
		assertSameTree(t, before, projectState(t, b.Project), "a blocked frozen install")

		// 3. An entry in the registry's layout on a host the project does not
		// fetch from: blocked before any step too.
		writeProjectFile(t, b, "yarn.lock", strings.ReplaceAll(string(lock), reg.URL+"/pbox-yarn-frozen-plain/", "http://npm.pbox-it.invalid/pbox-yarn-frozen-plain/"))
		setManifest(t, b, manifest)
		before = projectState(t, b.Project)
		rep = b.reportPath("foreign.json")
		r = b.tool(rep, "yarn", "install", "--frozen-lockfile")
		wantCode(t, r, 3, "a lockfile entry on a foreign host")
		wantStderr(t, r, "pbox-yarn-frozen-plain", "npm.pbox-it.invalid")
		if got := readSpeedReport(t, rep).phases(); len(got) != 0 {
			t.Errorf("a lockfile entry on a foreign host ran %v; nothing may run before the precheck", got)
		}
		assertSameTree(t, before, projectState(t, b.Project), "a frozen install with a foreign entry")
		writeProjectFile(t, b, "yarn.lock", string(lock))

		// 4. The twin: a file: dependency keeps resolve, download and build, for the
		// install that adds it to yarn.lock and for the frozen install after it.
		tgz := packSpeedFixture(t, b, "built-a")
		withFile := map[string]any{}
		for k, v := range manifest {
			withFile[k] = v
		}
		withFile["dependencies"] = map[string]any{"pbox-yarn-frozen-built": "1.0.0", "pbox-yarn-frozen-plain": "^1.0.0", "pbox-built-a": "file:" + tgz}
		setManifest(t, b, withFile)
		rep = b.reportPath("file.json")
		wantCode(t, b.tool(rep, "yarn", "install"), 0, "yarn install with a file: dependency")
		if got := readSpeedReport(t, rep).phases(); !slices.Equal(got, []string{"resolve", "download", "build"}) {
			t.Errorf("an install with a file: dependency ran %v, want resolve, download, build", got)
		}
		if err := os.RemoveAll(filepath.Join(b.Project, "node_modules")); err != nil {
			t.Fatal(err)
		}
		rep = b.reportPath("file-frozen.json")
		wantCode(t, b.tool(rep, "yarn", "install", "--frozen-lockfile"), 0, "yarn install --frozen-lockfile with a file: dependency")
		if got := readSpeedReport(t, rep).phases(); !slices.Equal(got, []string{"resolve", "download", "build"}) {
			t.Errorf("a frozen install with a file: dependency ran %v, want resolve, download, build", got)
		}
		if got, err := os.ReadFile(filepath.Join(dir, "built.txt")); err != nil || string(got) != "built\n" {
			t.Errorf("the whole-tree build runs the registry package's script once: built.txt %q, %v", got, err)
		}
		wantFile(t, filepath.Join(b.Project, "node_modules", "pbox-built-a", "built.txt"), "the file: dependency's install script ran")
	})
}

// readYarnIntegrity is a .yarn-integrity file as JSON with each package's build
// artifacts in name order (yarn lists them in the order it walks the package dir).
func readYarnIntegrity(t testing.TB, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var j map[string]any
	if err := json.Unmarshal(data, &j); err != nil {
		t.Fatalf("%s: %v\n%s", path, err, data)
	}
	if arts, ok := j["artifacts"].(map[string]any); ok {
		for k, v := range arts {
			if list, ok := v.([]any); ok {
				sort.Slice(list, func(a, b int) bool { return list[a].(string) < list[b].(string) })
				arts[k] = list
			}
		}
	}
	out, _ := json.MarshalIndent(j, "", "  ")
	return string(out)
}

package managers

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// These tests run a plan's steps with the real package manager, outside any sandbox
// (the orchestration adds that): they prove the commands and flags chosen here do
// what the plan claims — Resolve writes only the lockfile, Download installs without
// running scripts, Build runs them with the network settings off, and the sealed
// files survive the build. They need the tool and the npm registry.

// tarballPackage writes an npm package tarball whose postinstall writes built.txt.
func tarballPackage(t *testing.T, dir, name string) string {
	os.MkdirAll(dir, 0o755)
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	manifest := `{"name":"` + name + `","version":"1.0.0","license":"MIT","scripts":{"postinstall":"node -e \"require('fs').writeFileSync('built.txt','x')\""}}`
	tw.WriteHeader(&tar.Header{Name: "package/package.json", Mode: 0o644, Size: int64(len(manifest))})
	tw.Write([]byte(manifest))
	tw.Close()
	gz.Close()
	path := filepath.Join(dir, name+"-1.0.0.tgz")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

type stepRunner struct {
	t    *testing.T
	env  Env
	plan *Plan
}

func (r stepRunner) run(step *Step, phase Phase, dir string) string {
	r.t.Helper()
	cmd := exec.Command(step.Args[0], step.Args[1:]...)
	cmd.Dir = filepath.Join(dir, r.plan.Project.Cwd)
	cmd.Env = []string{"HOME=" + r.env.Home, "CI=true", "NO_UPDATE_NOTIFIER=1"}
	names := PassEnv
	if step.Network {
		names = append(append([]string(nil), PassEnv...), NetworkEnv...)
	}
	for _, k := range names {
		if v, ok := os.LookupEnv(k); ok {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	cmd.Env = append(cmd.Env, step.Env...)
	for _, c := range r.plan.Sandbox.Caches {
		if m, _ := c.MountedIn(phase); m {
			cmd.Env = append(cmd.Env, c.Env...)
		}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("%s step %q: %v\n%s", phase, step.Args, err, out)
	}
	return string(out)
}

// runPlanSteps runs Resolve on a scratch copy, keeps the resolved sealed files,
// then Download and Build on the project, and checks each step's promise. built is
// the file (relative to Root) the package's postinstall writes.
func runPlanSteps(t *testing.T, env Env, p *Plan, built string, resolved ...string) {
	t.Helper()
	r := stepRunner{t, env, p}
	// The sandbox runs Resolve on a copy mounted at the project's own path (local
	// file: specs resolve relative to it); here: run in place, then throw away
	// everything but the project's files and the sealed ones.
	keep := map[string]bool{}
	entries, _ := os.ReadDir(p.Project.Root)
	for _, e := range entries {
		keep[e.Name()] = true
	}
	for _, f := range p.Project.Sealed { // the manifests and lockfiles Resolve wrote
		keep[strings.SplitN(f, "/", 2)[0]] = true
	}
	r.run(p.Steps.Resolve, PhaseResolve, p.Project.Root)
	lock, err := os.ReadFile(filepath.Join(p.Project.Root, p.Project.Lockfiles[0]))
	if err != nil {
		t.Fatalf("resolve wrote no %s: %v", p.Project.Lockfiles[0], err)
	}
	for _, want := range resolved {
		if !strings.Contains(string(lock), want) {
			t.Errorf("resolved %s lacks %q:\n%s", p.Project.Lockfiles[0], want, lock)
		}
	}
	if _, err := os.Stat(filepath.Join(p.Project.Root, built)); err == nil {
		t.Fatal("resolve ran an install script")
	}
	entries, _ = os.ReadDir(p.Project.Root)
	for _, e := range entries {
		if !keep[e.Name()] {
			os.RemoveAll(filepath.Join(p.Project.Root, e.Name()))
		}
	}
	r.run(p.Steps.Download, PhaseDownload, p.Project.Root)
	if _, err := os.Stat(filepath.Join(p.Project.Root, built)); err == nil {
		t.Fatal("download ran an install script")
	}
	sealed := map[string][]byte{}
	for _, f := range p.Project.Sealed {
		sealed[f], _ = os.ReadFile(filepath.Join(p.Project.Root, f))
	}
	out := r.run(p.Steps.Build, PhaseBuild, p.Project.Root)
	if _, err := os.Stat(filepath.Join(p.Project.Root, built)); err != nil {
		t.Fatalf("build did not run the postinstall: %v\n%s", err, out)
	}
	for f, before := range sealed {
		after, _ := os.ReadFile(filepath.Join(p.Project.Root, f))
		if !bytes.Equal(before, after) {
			t.Errorf("build changed sealed %s", f)
		}
	}
}

func needTool(t *testing.T, name, versionPrefix string) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs " + name + " against the registry")
	}
	out, err := exec.Command(name, "--version").Output()
	if err != nil || !strings.HasPrefix(strings.TrimSpace(string(out)), versionPrefix) {
		t.Skipf("needs %s %s* in PATH (have %q, %v)", name, versionPrefix, strings.TrimSpace(string(out)), err)
	}
}

const vendored = "vendor/pb-built-1.0.0.tgz" // a local package with a postinstall, inside the project

func TestNpmPlanStepsWithRealNpm(t *testing.T) {
	needTool(t, "npm", "")
	env := testEnv(t, map[string]string{
		// npm 11.19+ runs dependency install scripts only when allowed.
		"package.json": `{"name":"proj","version":"1.0.0","allowScripts":{"pb-built":true}}`,
	})
	tarballPackage(t, filepath.Join(env.Dir, "vendor"), "pb-built")
	needNodeHeaders(t, env)
	npm, _ := Lookup("npm")
	p, err := npm.Plan([]string{"install", "./" + vendored, "is-number@7.0.0"}, env)
	if err != nil {
		t.Fatal(err)
	}
	runPlanSteps(t, env, p, "node_modules/pb-built/built.txt", `"node_modules/is-number"`, `"node_modules/pb-built"`)
	if _, err := os.Stat(filepath.Join(p.Project.Root, "node_modules", "is-number", "package.json")); err != nil {
		t.Errorf("is-number not installed: %v", err)
	}
}

func TestPnpmPlanStepsWithRealPnpm(t *testing.T) {
	needTool(t, "pnpm", "10.")
	env := testEnv(t, map[string]string{
		"package.json": `{"name":"proj","version":"1.0.0"}`,
		// pnpm 10 builds only allowed dependencies.
		"pnpm-workspace.yaml": "dangerouslyAllowAllBuilds: true\n",
	})
	tarballPackage(t, filepath.Join(env.Dir, "vendor"), "pb-built")
	needNodeHeaders(t, env)
	pnpm, _ := Lookup("pnpm")
	p, err := pnpm.Plan([]string{"add", "file:" + vendored, "is-number@7.0.0"}, env)
	if err != nil {
		t.Fatal(err)
	}
	runPlanSteps(t, env, p, "node_modules/pb-built/built.txt", "is-number@7.0.0", "pb-built")
	// Copied, not hard-linked: the store cannot be reached through node_modules.
	st, err := os.Stat(filepath.Join(p.Project.Root, "node_modules", ".pnpm", "is-number@7.0.0", "node_modules", "is-number", "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	if n := linkCount(st); n != 1 {
		t.Errorf("package file has %d links: shared with the store", n)
	}
}

func TestYarnClassicPlanStepsWithRealYarn(t *testing.T) {
	needTool(t, "yarn", "1.")
	env := testEnv(t, map[string]string{"package.json": `{"name":"proj","version":"1.0.0","license":"MIT"}`})
	tarballPackage(t, filepath.Join(env.Dir, "vendor"), "pb-built")
	needNodeHeaders(t, env)
	yarn, _ := Lookup("yarn")
	p, err := yarn.Plan([]string{"add", "file:" + vendored, "is-number@7.0.0"}, env)
	if err != nil {
		t.Fatal(err)
	}
	runPlanSteps(t, env, p, "node_modules/pb-built/built.txt", "is-number@7.0.0", "pb-built@file:")
}

// berryRelease is where hack/install-deps.d/node.sh unpacks yarn berry: projects
// commit their release and point yarnPath at it, which the global yarn 1 obeys.
const berryRelease = "/usr/local/lib/yarn-berry/node_modules/@yarnpkg/cli-dist/bin/yarn.js"

func TestYarnBerryPlanStepsWithRealYarn(t *testing.T) {
	files := map[string]string{
		"package.json": `{"name":"proj","version":"1.0.0"}`,
		"yarn.lock":    "",
		// node_modules linker so the built file has a fixed path; scripts on (off by default in yarn 4.18).
		".yarnrc.yml": "nodeLinker: node-modules\nenableScripts: true\n",
	}
	if out, err := exec.Command("yarn", "--version").Output(); err != nil || !strings.HasPrefix(string(out), "4.") {
		release, err := os.ReadFile(berryRelease)
		if err != nil {
			t.Skipf("needs yarn 4.* in PATH or its release at %s (hack/install-deps.d/node.sh): %v", berryRelease, err)
		}
		files[".yarn/releases/yarn.js"] = string(release)
		files[".yarnrc.yml"] += "yarnPath: .yarn/releases/yarn.js\n"
	} else {
		needTool(t, "yarn", "4.")
	}
	env := testEnv(t, files)
	// The networked steps never run the project's release: the user's trusted one.
	env.Environ = append(env.Environ, trustedBerryEnv+"="+berryRelease)
	tarballPackage(t, filepath.Join(env.Dir, "vendor"), "pb-built")
	needNodeHeaders(t, env)
	yarn, _ := Lookup("yarn")
	p, err := yarn.Plan([]string{"add", "pb-built@file:./" + vendored, "is-number@7.0.0"}, env)
	if err != nil {
		t.Fatal(err)
	}
	runPlanSteps(t, env, p, "node_modules/pb-built/built.txt", "is-number@npm:7.0.0", "pb-built@file:")
}

func linkCount(st os.FileInfo) uint64 {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return uint64(sys.Nlink)
	}
	return 0
}

package install

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/phylum-box/phylum-box/container"
	"github.com/phylum-box/phylum-box/internal/exitcode"
	"github.com/phylum-box/phylum-box/internal/sandbox"
	"github.com/phylum-box/phylum-box/internal/testutil"
	"github.com/phylum-box/phylum-box/managers"
	"github.com/phylum-box/phylum-box/precheck"
	"github.com/phylum-box/phylum-box/precheck/osvdb"
	"github.com/phylum-box/phylum-box/precheck/policy"
	"github.com/phylum-box/phylum-box/rootfs"
)

// ---- pure helpers -----------------------------------------------------------

func TestFailedPackage(t *testing.T) {
	tests := []struct {
		name, output, want string
	}{
		{"npm scoped", "npm error code 1\nnpm error path /p/node_modules/@scope/evil\nnpm error command failed\n", "@scope/evil"},
		{"npm unscoped", "npm error path /home/u/app/node_modules/evil-pkg\n", "evil-pkg"},
		{"npm project path with a space", "npm error path /home/u/My Projects/app/node_modules/@scope/evil\n", "@scope/evil"},
		{"npm nested", "npm error path /p/node_modules/a/node_modules/evil\n", "evil"},
		{"npm 6 ERR!", "npm ERR! path /p/node_modules/old-evil\nnpm ERR! code ELIFECYCLE\n", "old-evil"},
		{"npm path not node_modules", "npm error path /p\nnpm error command failed\n", ""},
		{"pip wheel", "  Building wheel for evil-pkg (setup.py) ... error\n  ERROR: Failed building wheel for evil-pkg\nFailed to build evil-pkg\n", "evil-pkg"},
		{"pip failed to build", "ERROR: Failed to build installable wheels\nFailed to build evil.pkg\n", "evil.pkg"},
		{"cargo", "   Compiling evil-sys v0.1.0 (/p)\nerror: failed to run custom build command for `evil-sys v0.1.0 (/p)`\n\nCaused by:\n  process didn't exit successfully\n", "evil-sys"},
		{"bundler", "Gem::Ext::BuildError: ERROR: Failed to build gem native extension.\n\nAn error occurred while installing evil (0.1.0), and Bundler cannot continue.\n", "evil"},
		{"last failure wins across patterns",
			"npm error path /p/node_modules/first\nsomething\nAn error occurred while installing second (1.0), and Bundler cannot continue.\n", "second"},
		{"last failure wins within a pattern",
			"Failed building wheel for first\nretrying\nFailed building wheel for second\n", "second"},
		{"later npm after pip", "Failed building wheel for aaa\nnpm error path /p/node_modules/@x/zzz\n", "@x/zzz"},
		{"yarn 1", "[4/4] Rebuilding all packages...\nerror /home/u/My app/node_modules/@scope/evil: Command failed.\nExit code: 1\nCommand: exit 1\n", "@scope/evil"},
		{"yarn 1 unscoped", "error /p/node_modules/failer: Command failed.\nExit code: 1\n", "failer"},
		{"no match", "npm error code ENOENT\nerror: could not compile `foo`\n", ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := failedPackage(tt.output); got != tt.want {
				t.Errorf("failedPackage(%q) = %q, want %q", tt.output, got, tt.want)
			}
		})
	}
}

func TestTail(t *testing.T) {
	tl := newTail(10)
	for _, s := range []string{"0123", "456789", "abcdef"} {
		if n, err := tl.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if got, want := tl.String(), "6789abcdef"; got != want {
		t.Errorf("String() = %q, want the last 10 bytes %q", got, want)
	}
	// One write larger than the buffer keeps its end.
	tl = newTail(4)
	tl.Write([]byte("abcdefgh"))
	if got := tl.String(); got != "efgh" {
		t.Errorf("after an oversized write: %q, want %q", got, "efgh")
	}

	tl = newTail(1 << 10)
	for i := 1; i <= 30; i++ {
		fmt.Fprintf(tl, "line %d\n", i)
	}
	got := tl.lastLines(3)
	if want := "line 28\nline 29\nline 30"; got != want {
		t.Errorf("lastLines(3) = %q, want %q", got, want)
	}
	tl = newTail(1 << 10)
	tl.Write([]byte("one\ntwo\n\n\n"))
	if got, want := tl.lastLines(20), "one\ntwo"; got != want {
		t.Errorf("lastLines(20) of a short output = %q, want %q (trailing newlines dropped)", got, want)
	}
}

func TestUncheckedAndPackageSet(t *testing.T) {
	pkgs := []precheck.Package{
		{Ecosystem: precheck.NPM, Name: "left-pad", Version: "1.3.0", Source: "package-lock.json:5"},
		{Ecosystem: precheck.NPM, Name: "lodash", Version: "4.17.21"},
	}
	set := packageSet(pkgs)
	if len(set) != 2 || !set["npm/left-pad@1.3.0"] || !set["npm/lodash@4.17.21"] {
		t.Fatalf("packageSet = %v", set)
	}
	after := []precheck.Package{
		// Same package found at another line: still checked (the source is not part of the key).
		{Ecosystem: precheck.NPM, Name: "left-pad", Version: "1.3.0", Source: "package-lock.json:99"},
		{Ecosystem: precheck.NPM, Name: "lodash", Version: "4.17.20"},         // other version
		{Ecosystem: precheck.PyPI, Name: "left-pad", Version: "1.3.0"},        // other ecosystem
		{Ecosystem: precheck.NPM, Name: "evil", Version: "6.6.6"},             // new
		{Ecosystem: precheck.NPM, Name: "evil", Version: "6.6.6", Dev: true},  // duplicate name
		{Ecosystem: precheck.NPM, Name: "lodash", Version: "4.17.21"},         // checked
		{Ecosystem: precheck.NPM, Name: "aaa", Version: "1.0.0", Source: "x"}, // sorts first
	}
	got := unchecked(after, set)
	want := []string{"aaa@1.0.0", "evil@6.6.6", "left-pad@1.3.0", "lodash@4.17.20"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("unchecked = %v, want %v (sorted, deduplicated)", got, want)
	}
	if got := unchecked(pkgs, set); len(got) != 0 {
		t.Errorf("unchecked(checked packages) = %v, want none", got)
	}
}

func TestWithin(t *testing.T) {
	tests := []struct {
		p    string
		dirs []string
		want bool
	}{
		{"/usr", []string{"/usr"}, true},
		{"/usr/lib/node", []string{"/usr"}, true},
		{"/usrlocal", []string{"/usr"}, false},
		{"/opt/x", []string{"/usr", "/opt"}, true},
		{"/home/u", []string{"/"}, true},
		{"/home/u", []string{"/home/u/proj"}, false},
		{"/home/u", nil, false},
	}
	for _, tt := range tests {
		if got := underAny(tt.p, tt.dirs...); got != tt.want {
			t.Errorf("underAny(%q, %q) = %v, want %v", tt.p, tt.dirs, got, tt.want)
		}
	}
}

// ---- end to end -------------------------------------------------------------

// unrelatedRecord keeps the npm ecosystem present (and fresh) in every test database.
const unrelatedRecord = `{"id":"MAL-2099-0001","modified":"2024-01-01T00:00:00Z","summary":"Malicious code in not-left-pad",
"affected":[{"package":{"ecosystem":"npm","name":"not-left-pad"},"versions":["1.3.0"]}]}`

const leftPadMalware = `{"id":"MAL-2099-0002","modified":"2024-01-01T00:00:00Z","summary":"Malicious code in left-pad",
"affected":[{"package":{"ecosystem":"npm","name":"left-pad"},"versions":["1.3.0"]}]}`

// openDB imports records (OSV JSON) into a new database.
func openDB(t *testing.T, records ...string) precheck.Database {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "osv")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, r := range append([]string{unrelatedRecord}, records...) {
		if err := os.WriteFile(filepath.Join(src, fmt.Sprintf("%d.json", i)), []byte(r), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "osv.db")
	if err := osvdb.Import(context.Background(), path, []string{src}, nil); err != nil {
		t.Fatalf("importing the test records: %v", err)
	}
	db, err := osvdb.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return osvdb.Engine(db)
}

// defaultPolicy is the built-in policy, loaded the way the CLI does, without the
// user's file.
func defaultPolicy(t *testing.T) *policy.Policy {
	t.Helper()
	pol, err := policy.Load(policy.Sources{NoUser: true})
	if err != nil {
		t.Fatal(err)
	}
	return pol
}

// policyFile loads the defaults under an explicit policy file with content yaml.
func policyFile(t *testing.T, yaml string) *policy.Policy {
	t.Helper()
	f := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(f, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	pol, err := policy.Load(policy.Sources{NoUser: true, File: f})
	if err != nil {
		t.Fatal(err)
	}
	return pol
}

func assertUnchanged(t *testing.T, dir string, before map[string]string) {
	t.Helper()
	after := testutil.TreeHash(t, dir)
	for p, d := range after {
		if before[p] != d {
			if before[p] == "" {
				t.Errorf("the project gained %s (%s)", p, d)
			} else {
				t.Errorf("the project's %s changed: %s -> %s", p, before[p], d)
			}
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			t.Errorf("the project lost %s", p)
		}
	}
}

// ifaces defines listIfaces, a shell function printing the network interfaces the
// step sees (there is no /sys inside; /proc/net follows the net namespace).
const ifaces = "listIfaces() { tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort; }\n"

func sh(script string) []string { return []string{"sh", "-c", script} }

const packageJSON = `{"name":"app","version":"1.0.0","dependencies":{"left-pad":"1.3.0"}}
`

// lockScript writes a package-lock.json v3 at rel resolving left-pad 1.3.0 and the
// extra packages (name → version).
func lockScript(rel string, extra map[string]string) string {
	var b strings.Builder
	b.WriteString(`{
  "name": "app",
  "version": "1.0.0",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": {
      "name": "app",
      "version": "1.0.0",
      "dependencies": {
        "left-pad": "1.3.0"
      }
    },
    "node_modules/left-pad": {
      "version": "1.3.0",
      "resolved": "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz",
      "license": "WTFPL"
    }`)
	for name, v := range extra {
		fmt.Fprintf(&b, `,
    "node_modules/%s": {
      "version": "%s"
    }`, name, v)
	}
	b.WriteString("\n  }\n}\n")
	return fmt.Sprintf("mkdir -p %s && cat > %s <<'EOF'\n%sEOF\n", filepath.Dir(rel), rel, b.String())
}

// npmLikePlan is a hand-built plan shaped like npm's: resolve writes the lockfile,
// download unpacks left-pad, build runs its "script" with the network off.
func npmLikePlan(root string) *managers.Plan {
	return &managers.Plan{
		Manager:    "npm",
		Ecosystem:  precheck.NPM,
		Subcommand: "install",
		Args:       []string{"install"},
		Project: managers.Project{
			Root:      root,
			Cwd:       ".",
			Lockfiles: []string{"package-lock.json"},
			Outputs:   []string{"node_modules/", "package.json", "package-lock.json"},
			Sealed:    []string{"package.json", "package-lock.json"},
		},
		Steps: managers.Steps{
			Resolve: &managers.Step{Args: sh(lockScript("package-lock.json", nil)), Network: true},
			Download: &managers.Step{Args: sh(`mkdir -p node_modules/left-pad && echo 'module.exports = 1' > node_modules/left-pad/index.js`),
				Network: true},
			Build: &managers.Step{Args: sh(`echo built > node_modules/left-pad/built`)},
		},
	}
}

// syncBuffer is a bytes.Buffer for Stdout and Stderr at once: the container's two
// output pipes are copied by two goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", bytes.TrimRight(p, "\n"))
	return len(p), nil
}

// install runs plan over its project with db and pol; out collects the steps' output.
func install(t *testing.T, plan *managers.Plan, db precheck.Database, pol *policy.Policy, out io.Writer) *Outcome {
	t.Helper()
	return installEnv(t, plan, db, pol, out)
}

// installEnv is install with extra caller environment, set last.
func installEnv(t *testing.T, plan *managers.Plan, db precheck.Database, pol *policy.Policy, out io.Writer, extraEnv ...string) *Outcome {
	t.Helper()
	log := logrus.New()
	log.Out = testWriter{t}
	log.Level = logrus.DebugLevel
	if out == nil {
		out = testWriter{t}
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "/" {
		t.Skipf("no usable home directory for the sandbox (%q, %v)", home, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := Install(ctx, Options{
		Plan:   plan,
		Engine: &precheck.Engine{DB: db, Policy: pol},
		Limits: container.Limits{Timeout: time.Minute, Memory: 512 << 20, Pids: 256},
		Home:   home, User: "tester",
		Environ: append(append(os.Environ(),
			"AWS_SECRET_ACCESS_KEY=leaked-aws", "NPM_TOKEN=leaked-npm", "HTTPS_PROXY=http://user:pass@proxy.invalid:3128"), extraEnv...),
		Mode:     rootfs.ModeAuto,
		OwnerUID: -1, OwnerGID: -1,
		Log:    log,
		Stdout: out, Stderr: out,
	})
	if err != nil {
		t.Fatalf("Install: %v", err)
	}
	t.Logf("outcome: code %d, reason %q, steps %d, synced %d, refused %v", res.Code, res.Reason, len(res.Steps), res.Synced, res.Refused)
	return res
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func phases(o *Outcome) []managers.Phase {
	var ps []managers.Phase
	for _, s := range o.Steps {
		ps = append(ps, s.Phase)
	}
	return ps
}

func TestInstallPasses(t *testing.T) {
	testutil.NeedRootContainers(t)
	proj := testutil.NewProject(t, map[string]string{"package.json": packageJSON, "src/index.js": "require('left-pad')\n"})
	plan := npmLikePlan(proj)
	// The build records what a package script would see: its environment and network.
	plan.Steps.Download.Args = sh(`mkdir -p node_modules/left-pad && echo 'module.exports = 1' > node_modules/left-pad/index.js && env > node_modules/left-pad/env-download`)
	plan.Steps.Build.Args = sh(ifaces + `echo built > node_modules/left-pad/built && env > node_modules/left-pad/env && listIfaces > node_modules/left-pad/net`)
	res := install(t, plan, openDB(t), defaultPolicy(t), nil)
	if res.Code != exitcode.OK {
		t.Fatalf("Code = %d (%s), want 0", res.Code, res.Reason)
	}
	if got := phases(res); fmt.Sprint(got) != "[resolve download build]" {
		t.Errorf("steps = %v, want resolve, download, build", got)
	}
	for _, s := range res.Steps {
		if s.ExitCode != 0 || s.Stopped != "" || s.Network != (s.Phase != managers.PhaseBuild) {
			t.Errorf("step %+v", s)
		}
	}
	if len(res.Refused) != 0 {
		t.Errorf("refused: %v", res.Refused)
	}
	if res.Verdict == nil || len(res.Verdict.Packages) != 1 || res.Verdict.Packages[0].Name != "left-pad" ||
		res.Verdict.Packages[0].Version != "1.3.0" || !strings.HasPrefix(res.Verdict.Packages[0].Source, "package-lock.json:") {
		t.Errorf("verdict packages = %+v, want left-pad 1.3.0 from package-lock.json", res.Verdict)
	}
	if got := readFile(t, filepath.Join(proj, "node_modules/left-pad/index.js")); got != "module.exports = 1\n" {
		t.Errorf("downloaded file = %q", got)
	}
	if got := readFile(t, filepath.Join(proj, "node_modules/left-pad/built")); got != "built\n" {
		t.Errorf("built file = %q", got)
	}
	if got := readFile(t, filepath.Join(proj, "package-lock.json")); !strings.Contains(got, `"node_modules/left-pad"`) {
		t.Errorf("package-lock.json not synced: %q", got)
	}
	if res.Synced == 0 {
		t.Error("Synced = 0")
	}
	env := readFile(t, filepath.Join(proj, "node_modules/left-pad/env"))
	for _, leak := range []string{"leaked-aws", "leaked-npm", "AWS_SECRET_ACCESS_KEY", "NPM_TOKEN", "proxy.invalid"} {
		if strings.Contains(env, leak) {
			t.Errorf("the build step saw %s in its environment:\n%s", leak, env)
		}
	}
	// Proxy settings (which may hold credentials) reach only the steps with network.
	dlEnv := readFile(t, filepath.Join(proj, "node_modules/left-pad/env-download"))
	if !strings.Contains(dlEnv, "HTTPS_PROXY=http://user:pass@proxy.invalid:3128") {
		t.Errorf("the download step did not get HTTPS_PROXY:\n%s", dlEnv)
	}
	for _, leak := range []string{"leaked-aws", "leaked-npm"} {
		if strings.Contains(dlEnv, leak) {
			t.Errorf("the download step saw %s in its environment", leak)
		}
	}
	if !strings.Contains(env, "HOME=") || !strings.Contains(env, "USER=tester") {
		t.Errorf("the build step's environment lacks HOME/USER:\n%s", env)
	}
	if got := strings.Fields(readFile(t, filepath.Join(proj, "node_modules/left-pad/net"))); fmt.Sprint(got) != "[lo]" {
		t.Errorf("the build step saw network interfaces %v, want only lo", got)
	}
}

// A write outside the plan's outputs is refused and reported (exit 4); the
// outputs themselves are still synced (rootfs.SyncOptions.Only: refusals outside
// Only do not stop the allowed changes).
func TestInstallRefusesWritesOutsideOutputs(t *testing.T) {
	testutil.NeedRootContainers(t)
	proj := testutil.NewProject(t, map[string]string{"package.json": packageJSON, "src/index.js": "require('left-pad')\n"})
	plan := npmLikePlan(proj)
	plan.Steps.Build.Args = sh(`echo built > node_modules/left-pad/built && echo pwned > evil.txt && echo pwned >> src/index.js`)
	res := install(t, plan, openDB(t), defaultPolicy(t), nil)
	if res.Code != exitcode.Sandbox {
		t.Fatalf("Code = %d (%s), want %d", res.Code, res.Reason, exitcode.Sandbox)
	}
	if len(res.Steps) != 3 {
		t.Errorf("steps = %v, want 3", phases(res))
	}
	joined := strings.Join(res.Refused, "\n")
	for _, p := range []string{"evil.txt", "src/index.js"} {
		if !strings.Contains(joined, p+": ") {
			t.Errorf("refused = %q, want %s listed", res.Refused, p)
		}
	}
	if _, err := os.Lstat(filepath.Join(proj, "evil.txt")); !os.IsNotExist(err) {
		t.Errorf("evil.txt reached the project (%v)", err)
	}
	if got := readFile(t, filepath.Join(proj, "src/index.js")); got != "require('left-pad')\n" {
		t.Errorf("src/index.js = %q, want it untouched", got)
	}
	if got := readFile(t, filepath.Join(proj, "node_modules/left-pad/built")); got != "built\n" {
		t.Errorf("the allowed output was not synced: %q", got)
	}
}

// A write inside the outputs that may never be synced (a symlink out of the
// project) stops the whole sync: nothing reaches the project.
func TestInstallRefusalStopsSync(t *testing.T) {
	testutil.NeedRootContainers(t)
	proj := testutil.NewProject(t, map[string]string{"package.json": packageJSON})
	before := testutil.TreeHash(t, proj)
	plan := npmLikePlan(proj)
	plan.Steps.Build.Args = sh(`echo built > node_modules/left-pad/built && ln -s /etc/shadow node_modules/left-pad/secret`)
	res := install(t, plan, openDB(t), defaultPolicy(t), nil)
	if res.Code != exitcode.Sandbox {
		t.Fatalf("Code = %d (%s), want %d", res.Code, res.Reason, exitcode.Sandbox)
	}
	if !strings.Contains(res.Reason, "nothing was synced") {
		t.Errorf("reason = %q, want it to say nothing was synced", res.Reason)
	}
	if !strings.Contains(strings.Join(res.Refused, "\n"), "node_modules/left-pad/secret: ") {
		t.Errorf("refused = %q, want the symlink listed", res.Refused)
	}
	assertUnchanged(t, proj, before)
}

func TestInstallBlockedByMalware(t *testing.T) {
	testutil.NeedRootContainers(t)
	proj := testutil.NewProject(t, map[string]string{"package.json": packageJSON})
	before := testutil.TreeHash(t, proj)
	plan := npmLikePlan(proj)
	res := install(t, plan, openDB(t, leftPadMalware), defaultPolicy(t), nil)
	if res.Code != exitcode.Blocked {
		t.Fatalf("Code = %d (%s), want %d", res.Code, res.Reason, exitcode.Blocked)
	}
	if got := phases(res); fmt.Sprint(got) != "[resolve]" {
		t.Errorf("steps = %v, want only resolve (download and build must not run)", got)
	}
	if res.Verdict == nil || res.Verdict.Result != precheck.Blocked {
		t.Fatalf("verdict = %+v", res.Verdict)
	}
	found := false
	for _, p := range res.Verdict.Packages {
		if p.Name == "left-pad" && p.Blocked {
			for _, f := range p.Findings {
				found = found || f.ID == "MAL-2099-0002"
			}
		}
	}
	if !found {
		t.Errorf("left-pad is not blocked by MAL-2099-0002: %+v", res.Verdict.Packages)
	}
	if !strings.Contains(res.Reason, "nothing was installed") {
		t.Errorf("reason = %q", res.Reason)
	}
	assertUnchanged(t, proj, before)
}

func TestInstallRefusesUncheckedDownload(t *testing.T) {
	testutil.NeedRootContainers(t)
	proj := testutil.NewProject(t, map[string]string{"package.json": packageJSON})
	before := testutil.TreeHash(t, proj)
	plan := npmLikePlan(proj)
	plan.Steps.Download.Args = sh(lockScript("package-lock.json", map[string]string{"evil": "6.6.6"}) +
		"mkdir -p node_modules/evil node_modules/left-pad && echo x > node_modules/evil/index.js")
	res := install(t, plan, openDB(t), defaultPolicy(t), nil)
	if res.Code != exitcode.Sandbox {
		t.Fatalf("Code = %d (%s), want %d", res.Code, res.Reason, exitcode.Sandbox)
	}
	if !strings.Contains(res.Reason, "evil@6.6.6 was not prechecked") {
		t.Errorf("reason = %q, want evil@6.6.6 named as not prechecked", res.Reason)
	}
	if got := phases(res); fmt.Sprint(got) != "[resolve download]" {
		t.Errorf("steps = %v, want the build not to run", got)
	}
	assertUnchanged(t, proj, before)
}

func TestInstallDownloadRemovesLockfile(t *testing.T) {
	testutil.NeedRootContainers(t)
	for _, script := range []string{"rm package-lock.json", "echo '{not json' > package-lock.json"} {
		t.Run(script, func(t *testing.T) {
			proj := testutil.NewProject(t, map[string]string{"package.json": packageJSON})
			before := testutil.TreeHash(t, proj)
			plan := npmLikePlan(proj)
			plan.Steps.Download.Args = sh(script)
			res := install(t, plan, openDB(t), defaultPolicy(t), nil)
			if res.Code != exitcode.Sandbox || !strings.Contains(res.Reason, "left no readable lockfile") {
				t.Fatalf("Code = %d (%s), want %d and the lockfile named", res.Code, res.Reason, exitcode.Sandbox)
			}
			if got := phases(res); fmt.Sprint(got) != "[resolve download]" {
				t.Errorf("steps = %v, want the build not to run", got)
			}
			assertUnchanged(t, proj, before)
		})
	}
}

func TestInstallRefusesSealedChange(t *testing.T) {
	testutil.NeedRootContainers(t)
	for _, tc := range []struct{ name, script, want string }{
		{"lockfile edited", `echo ' ' >> package-lock.json`, "package-lock.json"},
		{"lockfile removed", `rm package-lock.json`, "package-lock.json"},
		{"manifest replaced", `echo '{"name":"app","dependencies":{"evil":"*"}}' > package.json.new && mv package.json.new package.json`, "package.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			proj := testutil.NewProject(t, map[string]string{"package.json": packageJSON})
			before := testutil.TreeHash(t, proj)
			plan := npmLikePlan(proj)
			plan.Steps.Build.Args = sh(`echo built > node_modules/left-pad/built && ` + tc.script)
			res := install(t, plan, openDB(t), defaultPolicy(t), nil)
			if res.Code != exitcode.Sandbox {
				t.Fatalf("Code = %d (%s), want %d", res.Code, res.Reason, exitcode.Sandbox)
			}
			if !strings.Contains(res.Reason, "the build step changed "+tc.want) {
				t.Errorf("reason = %q, want %s named", res.Reason, tc.want)
			}
			assertUnchanged(t, proj, before)
		})
	}
}

func TestInstallBuildFails(t *testing.T) {
	testutil.NeedRootContainers(t)
	proj := testutil.NewProject(t, map[string]string{"package.json": packageJSON})
	before := testutil.TreeHash(t, proj)
	plan := npmLikePlan(proj)
	// One stream: the order of lines across stdout and stderr pipes is not defined.
	plan.Steps.Build.Args = sh(`exec 1>&2
echo half > node_modules/left-pad/built
for i in $(seq 1 40); do echo "gyp info line $i"; done
echo "npm error code 1" >&2
echo "npm error path $PWD/node_modules/@scope/evil" >&2
echo "npm error command failed" >&2
exit 1`)
	var out syncBuffer
	res := install(t, plan, openDB(t), defaultPolicy(t), &out)
	if res.Code != 1 {
		t.Fatalf("Code = %d (%s), want 1 (the build's status)", res.Code, res.Reason)
	}
	if res.FailedPackage != "@scope/evil" {
		t.Errorf("FailedPackage = %q, want @scope/evil", res.FailedPackage)
	}
	if !strings.Contains(res.OutputTail, "npm error command failed") || strings.Contains(res.OutputTail, "gyp info line 1\n") {
		t.Errorf("OutputTail = %q, want the last lines only", res.OutputTail)
	}
	if n := strings.Count(res.OutputTail, "\n") + 1; n != 20 {
		t.Errorf("OutputTail has %d lines, want 20", n)
	}
	if !strings.Contains(out.String(), "gyp info line 1\n") {
		t.Error("the step's output did not reach Stdout/Stderr")
	}
	if got := phases(res); fmt.Sprint(got) != "[resolve download build]" || res.Steps[2].ExitCode != 1 {
		t.Errorf("steps = %+v", res.Steps)
	}
	assertUnchanged(t, proj, before)
}

func TestInstallScriptsPolicy(t *testing.T) {
	testutil.NeedRootContainers(t)
	pol := policyFile(t, "scripts: none\n")
	if pol.Scripts != policy.ScriptsNone {
		t.Fatalf("policy scripts = %q", pol.Scripts)
	}

	t.Run("build is the install", func(t *testing.T) {
		// pip/cargo/bundler-like: the build step cannot be limited or left out.
		proj := testutil.NewProject(t, map[string]string{"package.json": packageJSON})
		before := testutil.TreeHash(t, proj)
		plan := npmLikePlan(proj)
		plan.Steps.Build.AppendChanged = false
		res := install(t, plan, openDB(t), pol, nil)
		if res.Code != exitcode.Blocked {
			t.Fatalf("Code = %d (%s), want %d", res.Code, res.Reason, exitcode.Blocked)
		}
		if len(res.Steps) != 0 {
			t.Errorf("steps = %v, want none before the refusal", phases(res))
		}
		if !strings.Contains(res.Reason, "scripts: none") {
			t.Errorf("reason = %q", res.Reason)
		}
		assertUnchanged(t, proj, before)
	})
	t.Run("scripts can be left out", func(t *testing.T) {
		proj := testutil.NewProject(t, map[string]string{"package.json": packageJSON})
		plan := npmLikePlan(proj)
		plan.Steps.Build.AppendChanged = true
		res := install(t, plan, openDB(t), pol, nil)
		if res.Code != exitcode.OK {
			t.Fatalf("Code = %d (%s), want 0", res.Code, res.Reason)
		}
		if got := phases(res); fmt.Sprint(got) != "[resolve download]" {
			t.Errorf("steps = %v, want the build skipped", got)
		}
		if _, err := os.Stat(filepath.Join(proj, "node_modules/left-pad/index.js")); err != nil {
			t.Errorf("download not synced: %v", err)
		}
		if _, err := os.Lstat(filepath.Join(proj, "node_modules/left-pad/built")); !os.IsNotExist(err) {
			t.Errorf("the build ran under scripts: none (%v)", err)
		}
	})
}

// Download steps have the host's network, build steps only a loopback.
func TestInstallNetwork(t *testing.T) {
	testutil.NeedRootContainers(t)
	host, err := os.ReadDir("/sys/class/net")
	if err != nil {
		t.Skipf("cannot list the host's network interfaces: %v", err)
	}
	var hostIfs []string
	for _, e := range host {
		if e.Name() != "lo" {
			hostIfs = append(hostIfs, e.Name())
		}
	}
	if len(hostIfs) == 0 {
		t.Skip("the host has no interface besides lo: a shared and a private network namespace look the same")
	}
	proj := testutil.NewProject(t, map[string]string{"package.json": packageJSON})
	plan := npmLikePlan(proj)
	plan.Steps.Download.Args = sh(ifaces + `mkdir -p node_modules/left-pad && listIfaces > node_modules/left-pad/net-download`)
	plan.Steps.Build.Args = sh(ifaces + `listIfaces > node_modules/left-pad/net-build`)
	res := install(t, plan, openDB(t), defaultPolicy(t), nil)
	if res.Code != exitcode.OK {
		t.Fatalf("Code = %d (%s)", res.Code, res.Reason)
	}
	dl := strings.Fields(readFile(t, filepath.Join(proj, "node_modules/left-pad/net-download")))
	if !strings.Contains(" "+strings.Join(dl, " ")+" ", " "+hostIfs[0]+" ") {
		t.Errorf("the download step saw interfaces %v, want the host's (%v)", dl, hostIfs)
	}
	if b := strings.Fields(readFile(t, filepath.Join(proj, "node_modules/left-pad/net-build"))); fmt.Sprint(b) != "[lo]" {
		t.Errorf("the build step saw interfaces %v, want only lo", b)
	}
}

// readLockfiles names packages from the project root, not by the lockfile's base
// name, and takes the first lockfile that exists.
func TestReadLockfilesSource(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("opens a sandbox session as root (the CI case); rootless is covered by integration/")
	}
	lock := lockScript("x", map[string]string{"lodash": "4.17.21"})
	lock = lock[strings.Index(lock, "<<'EOF'\n")+len("<<'EOF'\n") : strings.LastIndex(lock, "EOF\n")]
	proj := testutil.NewProject(t, map[string]string{"package.json": packageJSON, "sub/package-lock.json": lock})
	home, _ := os.UserHomeDir()
	sess, err := sandbox.Open(context.Background(), sandbox.Options{Project: proj, Home: home})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	plan := &managers.Plan{
		Manager: "npm",
		Project: managers.Project{
			Root:      proj,
			Lockfiles: []string{"missing/package-lock.json", "sub/package-lock.json", "package-lock.json"},
		},
		Steps: managers.Steps{
			Download: &managers.Step{Args: []string{"true"}},
		},
	}
	r := &runner{o: Options{Plan: plan}, sess: sess, root: proj}
	pkgs, err := r.readLockfiles(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 2 {
		t.Fatalf("packages = %+v, want left-pad and lodash", pkgs)
	}
	for _, p := range pkgs {
		rest, ok := strings.CutPrefix(p.Source, "sub/package-lock.json:")
		if !ok || rest == "" || strings.Trim(rest, "0123456789") != "" {
			t.Errorf("%s source = %q, want sub/package-lock.json:LINE", p.Name, p.Source)
		}
	}

	// No lockfile at all, with a download to check: incomplete, not an empty pass.
	plan.Project.Lockfiles = []string{"missing/package-lock.json"}
	_, err = r.readLockfiles(context.Background())
	var ce *exitcode.Error
	if !errors.As(err, &ce) || ce.Code != exitcode.Incomplete {
		t.Errorf("no lockfile: err = %v, want exit %d", err, exitcode.Incomplete)
	}
}

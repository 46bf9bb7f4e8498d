package integration

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The protected-install tests (issue 4) drive the built binary against the live npm
// registry: `phylum-box npm|yarn|pnpm …` in a project inside a $HOME full of secrets,
// as root and as the unprivileged test user.

// pmFixtures is this file's own scratch root and OSV database. The projects live
// under os.TempDir(), not suite.base: as root suite.base is under /var/tmp, and the
// rootfs cannot build a container root for a project below /var/tmp (it makes
// /var/tmp a symlink to /tmp inside; see the report of issue 4).
var pmFixtures struct {
	once   sync.Once
	base   string
	db     string // prepared database: the corpus's records plus testdata/npm/osv
	err    error
	repo   string
	seq    int
	seqMu  sync.Mutex
	osvDir string
}

func pmSetup(t testing.TB) {
	t.Helper()
	requireBinaries(t)
	pmFixtures.once.Do(func() {
		f := &pmFixtures
		if f.repo, f.err = repoRoot(); f.err != nil {
			return
		}
		if f.base, f.err = os.MkdirTemp("", "pbox-it-pm-"); f.err != nil {
			return
		}
		if f.err = os.Chmod(f.base, 0o755); f.err != nil {
			return
		}
		// One import of the corpus and the test-only record, copied per test.
		f.osvDir = filepath.Join(f.base, "osv")
		if f.err = os.MkdirAll(f.osvDir, 0o755); f.err != nil {
			return
		}
		for _, src := range []string{
			filepath.Join(f.repo, "..", "shared", "corpus", "osv"),
			filepath.Join(f.repo, "integration", "testdata", "npm", "osv"),
		} {
			ents, err := os.ReadDir(src)
			if err != nil {
				f.err = fmt.Errorf("OSV records: %w", err)
				return
			}
			for _, e := range ents {
				if strings.HasSuffix(e.Name(), ".json") {
					data, err := os.ReadFile(filepath.Join(src, e.Name()))
					if err != nil {
						f.err = err
						return
					}
					if f.err = os.WriteFile(filepath.Join(f.osvDir, e.Name()), data, 0o644); f.err != nil {
						return
					}
				}
			}
		}
		f.db = filepath.Join(f.base, "osv-base.db")
		c := exec.Command(suite.bin, "db", "import", f.osvDir)
		c.Env = append(os.Environ(), "PHYLUM_BOX_DB="+f.db)
		if out, err := c.CombinedOutput(); err != nil {
			f.err = fmt.Errorf("phylum-box db import: %v\n%s", err, out)
		}
	})
	if pmFixtures.err != nil {
		t.Fatalf("setting up the install fixtures: %v", pmFixtures.err)
	}
}

// pmScratch is newScratch under this file's base.
func pmScratch(t testing.TB) string {
	t.Helper()
	pmSetup(t)
	pmFixtures.seqMu.Lock()
	pmFixtures.seq++
	n := pmFixtures.seq
	pmFixtures.seqMu.Unlock()
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	if len(name) > 50 {
		name = name[len(name)-50:]
	}
	dir := filepath.Join(pmFixtures.base, fmt.Sprintf("t%03d-%s", n, name))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if *keepScratch || t.Failed() {
			t.Logf("kept %s", dir)
			return
		}
		_ = os.RemoveAll(dir)
	})
	return dir
}

// pmBox is newBox for package-manager tests: the same planted secrets and project
// files (no attacks binary), under this file's base, with its own copy of the OSV
// database owned by the caller.
type pmBox struct {
	*box
	DB string
	// Env is added to every invocation's environment.
	Env []string
}

func newPMBox(t testing.TB, m mode) *pmBox {
	t.Helper()
	dir := pmScratch(t)
	home := filepath.Join(dir, "home")
	b := &box{t: t, Mode: m, Home: home, Project: filepath.Join(home, "src", "proj"),
		Mark: fmt.Sprintf("PBOXSECRET%d", time.Now().UnixNano())}
	for rel, tmpl := range homeSecrets {
		writeFile(t, filepath.Join(home, rel), fmt.Sprintf(tmpl, b.Mark), 0o600)
	}
	for rel, content := range projectFiles {
		writeFile(t, filepath.Join(b.Project, rel), content, 0o644)
	}
	// The planted ~/.npmrc holds a token for the real registry: npm would send it
	// and be refused for a bad token. Keep the secret, scope it to a host nobody asks.
	writeFile(t, filepath.Join(home, ".npmrc"), fmt.Sprintf("//npm.pbox-it.invalid/:_authToken=%s\n", b.Mark), 0o600)
	writeFile(t, filepath.Join(home, ".bashrc"), "# the caller's shell setup\n", 0o644)
	if err := os.Chmod(home, 0o700); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "db", "osv.db")
	data, err := os.ReadFile(pmFixtures.db)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, db, string(data), 0o644)
	chownTree(t, m, dir)
	return &pmBox{box: b, DB: db}
}

// pmPassEnv are the test process's variables the caller must keep: the TLS trust of
// a machine behind an intercepting proxy, and the proxy itself.
var pmPassEnv = []string{"NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE", "SSL_CERT_DIR", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"}

// tool runs `phylum-box [--report FILE] TOOL ARGS...` in the project.
func (b *pmBox) tool(report string, tool string, args ...string) result {
	b.t.Helper()
	return b.toolInv(report, tool, args...).exec(b.t)
}

func (b *pmBox) toolInv(report string, tool string, args ...string) invocation {
	var argv []string
	if report != "" {
		argv = append(argv, "--report", report)
	}
	argv = append(append(argv, tool), args...)
	env := append([]string{"PHYLUM_BOX_DB=" + b.DB}, b.Env...)
	for _, k := range pmPassEnv {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return invocation{Mode: b.Mode, Args: argv, Dir: b.Project, Home: b.Home, Env: env, Timeout: 4 * time.Minute}
}

// reportPath is a file the caller may write (its own dir).
func (b *pmBox) reportPath(name string) string {
	return filepath.Join(filepath.Dir(b.DB), name)
}

// pmReport is the --report JSON, the parts the tests read.
type pmReport struct {
	Manager       string `json:"manager"`
	Subcommand    string `json:"subcommand"`
	Code          int    `json:"exit_code"`
	Reason        string `json:"reason"`
	FailedPackage string `json:"failed_package"`
	OutputTail    string `json:"output_tail"`
	Refused       []string
	Steps         []struct {
		Phase   string `json:"phase"`
		Network bool   `json:"network"`
	} `json:"steps"`
	Precheck *struct {
		Verdict  string   `json:"verdict"`
		Warnings []string `json:"warnings"`
		Packages []struct {
			Name     string `json:"name"`
			Version  string `json:"version"`
			Blocked  bool   `json:"blocked"`
			Findings []struct {
				ID string `json:"id"`
			} `json:"findings"`
			Uncheckable bool `json:"uncheckable"`
		} `json:"packages"`
	} `json:"precheck"`
}

func readPMReport(t testing.TB, path string) *pmReport {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("--report: %v", err)
	}
	var r pmReport
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("--report is not JSON: %v\n%s", err, data)
	}
	return &r
}

func requireTool(t testing.TB, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		skipf(t, "%s is not installed; run hack/install-deps.sh as root (hack/install-deps.d/node.sh)", name)
	}
}

// projectState hashes what an install may change: package.json, the lockfiles and
// node_modules, with times (a blocked install must not even rewrite them), and the
// rest of the project.
func projectState(t testing.TB, dir string) tree { return treeHash(t, dir, true) }

func readJSONFile(t testing.TB, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}

func wantFile(t testing.TB, path, why string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s: %v", why, err)
	}
}

// A fresh project: lodash is installed and recorded, the report says pass; then a
// package a (test-only) MAL record marks malicious is blocked with exit 3 and the
// project — manifest, lockfile, node_modules — is byte-identical.
func TestNpmInstallThenBlockedInstall(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		rep := b.reportPath("install.json")
		r := b.tool(rep, "npm", "install", "lodash")
		wantCode(t, r, 0, "npm install lodash")
		wantFile(t, filepath.Join(b.Project, "node_modules", "lodash", "package.json"), "lodash installed")
		lock := readJSONFile(t, filepath.Join(b.Project, "package-lock.json"))
		if pk, _ := lock["packages"].(map[string]any); pk["node_modules/lodash"] == nil {
			t.Errorf("package-lock.json does not list lodash:\n%v", lock)
		}
		if deps, _ := readJSONFile(t, filepath.Join(b.Project, "package.json"))["dependencies"].(map[string]any); deps["lodash"] == nil {
			t.Errorf("package.json does not depend on lodash")
		}
		if strings.Contains(r.Stderr, `Unknown user config "nodedir"`) || strings.Contains(r.Stderr, `Unknown env config "nodedir"`) {
			t.Errorf("npm warned about nodedir:\n%s", r.Stderr)
		}
		pr := readPMReport(t, rep)
		if pr.Code != 0 || pr.Precheck == nil || pr.Precheck.Verdict != "pass" || pr.Manager != "npm" || pr.Subcommand != "install" {
			t.Errorf("report: %+v", pr)
		}
		for _, s := range pr.Steps {
			if s.Network != (s.Phase != "build") {
				t.Errorf("step %s has network=%v", s.Phase, s.Network)
			}
		}
		wantOwnedBy(t, m, filepath.Join(b.Project, "node_modules", "lodash", "package.json"))

		before := projectState(t, b.Project)
		rep = b.reportPath("blocked.json")
		r = b.tool(rep, "npm", "install", "is-number@7.0.0")
		wantCode(t, r, 3, "installing a package with a MAL record")
		assertSameTree(t, before, projectState(t, b.Project), "a blocked install")
		wantStderr(t, r, "is-number", "MAL-0000-PBOXIT1")
		pr = readPMReport(t, rep)
		found := false
		for _, p := range pr.Precheck.Packages {
			for _, f := range p.Findings {
				found = found || p.Name == "is-number" && p.Version == "7.0.0" && p.Blocked && f.ID == "MAL-0000-PBOXIT1"
			}
		}
		if pr.Code != 3 || pr.Precheck.Verdict != "blocked" || !found {
			t.Errorf("the report does not name is-number@7.0.0 and MAL-0000-PBOXIT1 as blocked: %+v", pr)
		}
		for _, s := range pr.Steps {
			if s.Phase != "resolve" {
				t.Errorf("a blocked install ran the %s step", s.Phase)
			}
		}
	})
}

func wantOwnedBy(t testing.TB, m mode, path string) {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	if int(st.Uid) != m.uid() || int(st.Gid) != m.gid() {
		t.Errorf("%s is owned by %d:%d, want the caller %d:%d", path, st.Uid, st.Gid, m.uid(), m.gid())
	}
}

// No database: fail closed with exit 5 and the command that fixes it; nothing is
// installed.
func TestNpmMissingDatabase(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	m := requireMode(t, "root")
	if !suite.isRoot {
		m = requireMode(t, "rootless")
	}
	b := newPMBox(t, m)
	b.DB = filepath.Join(filepath.Dir(b.DB), "missing", "osv.db")
	before := projectState(t, b.Project)
	r := b.tool("", "npm", "install", "lodash")
	wantCode(t, r, 5, "no OSV database")
	wantStderr(t, r, "phylum-box db update")
	assertSameTree(t, before, projectState(t, b.Project), "an install without a database")
}

// evilTarball packs testdata/npm/evil-pkg into the project's vendor/ dir, aimed at
// the box's home and project and at a 127.0.0.1 port; fail makes its script exit 1.
func evilTarball(t testing.TB, b *pmBox, port int, fail bool) string {
	t.Helper()
	return packFixture(t, b, "evil-pkg", map[string]any{"home": b.Home, "project": b.Project, "port": port, "fail": fail})
}

// packFixture runs `npm pack` on a copy of testdata/npm/NAME (with targets.json when
// targets is set) into the project's vendor/ dir and returns the tarball's path
// relative to the project ("./vendor/x-1.0.0.tgz"): a local dependency must be
// inside the project, the only host tree the sandbox shows.
func packFixture(t testing.TB, b *pmBox, name string, targets map[string]any, edits ...func(dir string)) string {
	t.Helper()
	src := filepath.Join(pmFixtures.repo, "integration", "testdata", "npm", name)
	work := filepath.Join(filepath.Dir(b.DB), "pack-"+name)
	copyTree(t, src, work)
	if targets != nil {
		data, _ := json.Marshal(targets)
		writeFile(t, filepath.Join(work, "targets.json"), string(data), 0o644)
	}
	for _, edit := range edits {
		edit(work)
	}
	vendor := filepath.Join(b.Project, "vendor")
	if err := os.MkdirAll(vendor, 0o755); err != nil {
		t.Fatal(err)
	}
	c := exec.Command("npm", "pack", "--pack-destination", vendor, "--silent")
	c.Dir = work
	c.Env = append(os.Environ(), "HOME="+filepath.Dir(b.DB), "npm_config_update_notifier=false")
	out, err := c.Output()
	if err != nil {
		t.Fatalf("npm pack %s: %v\n%s", name, err, out)
	}
	lines := strings.Fields(strings.TrimSpace(string(out)))
	if len(lines) == 0 {
		t.Fatalf("npm pack %s printed no file name", name)
	}
	chownTree(t, b.Mode, vendor)
	return "./vendor/" + lines[len(lines)-1]
}

// loopbackListener accepts on 127.0.0.1 and counts connections.
func loopbackListener(t testing.TB) (port int, accepted func() int) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	var mu sync.Mutex
	n := 0
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			n++
			mu.Unlock()
			c.Close()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port, func() int { mu.Lock(); defer mu.Unlock(); return n }
}

// pmHomeHash is homeHash without the caches phylum-box itself writes (the npm and
// yarn caches and the pnpm store are writable in the resolve and download steps,
// never to package code; the scratch lock) — the planted secrets, ~/.bashrc and
// the rest stay covered.
func pmHomeHash(b *pmBox) tree {
	h := b.homeHash()
	for p := range h {
		if slices.ContainsFunc([]string{".npm", ".cache", ".yarn", ".local/share/pnpm", ".local/share", ".local"}, func(c string) bool {
			return p == c || strings.HasPrefix(p, c+"/") && c != ".local/share" && c != ".local"
		}) {
			delete(h, p)
		}
	}
	return h
}

var evilOutcomesRE = regexp.MustCompile(`pbox-evil-pkg outcomes: (\{.*\})`)

// checkEvilOutcomes proves each attack ran and failed where it matters: reading the
// key and both connections failed inside; the writes to ~/.bashrc and .git/hooks
// may land in the sandbox's throwaway views but never on the host.
// The outcomes come from the script's output line or, for managers that hide a
// succeeding script's output (yarn 1), from the outcomes.json it left in pkgDir.
func checkEvilOutcomes(t testing.TB, b *pmBox, output, pkgDir string, homeBefore tree, hooksBefore tree, accepted func() int) {
	t.Helper()
	var raw []byte
	if m := evilOutcomesRE.FindStringSubmatch(output); m != nil {
		raw = []byte(m[1])
	} else if pkgDir != "" {
		raw, _ = os.ReadFile(filepath.Join(pkgDir, "outcomes.json"))
	}
	if raw == nil {
		t.Fatalf("the install script did not run (no outcomes line, no outcomes.json in %q):\n%s", pkgDir, output)
	}
	var outcomes map[string]string
	if err := json.Unmarshal(raw, &outcomes); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"read_ssh_key", "connect_registry", "connect_listener"} {
		if !strings.HasPrefix(outcomes[k], "denied:") {
			t.Errorf("%s: %q, want denied", k, outcomes[k])
		}
	}
	for _, k := range []string{"write_bashrc", "write_git_hook"} {
		if outcomes[k] == "" {
			t.Errorf("%s was not attempted", k)
		}
	}
	if strings.Contains(output, b.Mark) {
		t.Errorf("the secret mark reached the script's output")
	}
	if n := accepted(); n != 0 {
		t.Errorf("the 127.0.0.1 listener accepted %d connection(s)", n)
	}
	assertSameTree(t, homeBefore, pmHomeHash(b), "the caller's home after the install script")
	assertSameTree(t, hooksBefore, treeHash(t, filepath.Join(b.Project, ".git"), true), "the project's .git")
}

// A local tarball whose install script reads ~/.ssh/id_rsa, connects to the registry
// and to a 127.0.0.1 listener, and writes ~/.bashrc and .git/hooks: every attempt
// fails or stays in the sandbox; the local tarball is reported uncheckable (the
// default policy warns). A succeeding script's .git write is refused and listed
// (exit 4); a failing script is named in the report.
func TestNpmInstallScriptAttacks(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		containmentOnly(t, m, b.Home) // the sandbox alone: a hostile fixture
		port, accepted := loopbackListener(t)
		tgz := evilTarball(t, b, port, false)
		homeBefore, gitBefore := pmHomeHash(b), treeHash(t, filepath.Join(b.Project, ".git"), true)

		rep := b.reportPath("evil.json")
		r := b.tool(rep, "npm", "install", tgz)
		wantCode(t, r, 4, "an install script that writes .git/hooks (refused at the sync)")
		checkEvilOutcomes(t, b, r.Stdout+r.Stderr, "", homeBefore, gitBefore, accepted)
		wantStderr(t, r, "pbox-evil-pkg", "cannot be checked", ".git/hooks/post-checkout")
		pr := readPMReport(t, rep)
		if len(pr.Precheck.Packages) != 1 || !pr.Precheck.Packages[0].Uncheckable || len(pr.Precheck.Warnings) == 0 {
			t.Errorf("the local tarball is not reported uncheckable with a warning: %+v", pr.Precheck)
		}
		if !strings.Contains(strings.Join(pr.Refused, "\n"), ".git/hooks/post-checkout") {
			t.Errorf("the report does not list the refused .git/hooks write: %v", pr.Refused)
		}
		// The outputs were synced: the script's own record is in its package dir.
		wantFile(t, filepath.Join(b.Project, "node_modules", "pbox-evil-pkg", "outcomes.json"), "outcomes.json synced with node_modules")

		// Now the script fails (a fresh project: npm would keep the installed copy
		// of the same name and version): nothing is synced, the package is named.
		b = newPMBox(t, m)
		containmentOnly(t, m, b.Home) // the sandbox alone: a hostile fixture
		tgz = evilTarball(t, b, port, true)
		before := projectState(t, b.Project)
		homeBefore, gitBefore = pmHomeHash(b), treeHash(t, filepath.Join(b.Project, ".git"), true)
		rep = b.reportPath("evil-fail.json")
		r = b.tool(rep, "npm", "install", tgz)
		if r.Code == 0 || r.Code == 3 {
			t.Fatalf("a failing install script: want the build's failure, got\n%s", r)
		}
		checkEvilOutcomes(t, b, r.Stdout+r.Stderr, "", homeBefore, gitBefore, accepted)
		assertSameTree(t, before, projectState(t, b.Project), "a failed build")
		pr = readPMReport(t, rep)
		if pr.FailedPackage != "pbox-evil-pkg" || !strings.Contains(pr.OutputTail, "giving up") {
			t.Errorf("the report does not name the failing package: %+v", pr)
		}
		wantStderr(t, r, "allow_scripts")
	})
}

// A node-gyp addon (binding.gyp + C) builds in the build step with no network,
// against this machine's node headers, and loads on the host afterwards.
func TestNpmNativeAddonBuildsOffline(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	requireTool(t, "g++")
	requireTool(t, "python3")
	requireNodeHeaders(t)
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		tgz := packFixture(t, b, "native-addon", nil)
		r := b.tool("", "npm", "install", tgz)
		wantCode(t, r, 0, "installing a native addon")
		if strings.Contains(r.Stderr+r.Stdout, "gyp http GET") {
			t.Errorf("node-gyp tried to download headers:\n%s", r)
		}
		wantAddonLoads(t, b, filepath.Join(b.Project, "node_modules", "pbox-native-addon"))
	})
}

func requireNodeHeaders(t testing.TB) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		skipf(t, "node is not installed")
	}
	real, _ := filepath.EvalSymlinks(node)
	if _, err := os.Stat(filepath.Join(filepath.Dir(filepath.Dir(real)), "include", "node", "common.gypi")); err != nil {
		skipf(t, "no node headers beside %s (native addons cannot be built offline); run hack/install-deps.d/node.sh", real)
	}
}

func wantAddonLoads(t testing.TB, b *pmBox, dir string) {
	t.Helper()
	wantFile(t, filepath.Join(dir, "build", "Release", "pbox_addon.node"), "the addon was built")
	out, err := exec.Command("node", "-e", "console.log(require(process.argv[1]).answer())", dir).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "42" {
		t.Errorf("loading the built addon: %v\n%s", err, out)
	}
}

// npm ci installs exactly the committed lockfile (no resolve step).
func TestNpmCiCommittedLockfile(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		for _, f := range []string{"package.json", "package-lock.json"} {
			data, err := os.ReadFile(filepath.Join(pmFixtures.repo, "integration", "testdata", "npm", "ci", f))
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(b.Project, f), string(data), 0o644)
		}
		chownTree(t, m, b.Project)
		lockBefore, _ := hashFile(filepath.Join(b.Project, "package-lock.json"))
		rep := b.reportPath("ci.json")
		r := b.tool(rep, "npm", "ci")
		wantCode(t, r, 0, "npm ci")
		for _, p := range []string{"lodash", "is-odd", "is-number"} {
			wantFile(t, filepath.Join(b.Project, "node_modules", p, "package.json"), p+" installed")
		}
		if v := readJSONFile(t, filepath.Join(b.Project, "node_modules", "is-number", "package.json"))["version"]; v != "6.0.0" {
			t.Errorf("is-number %v installed, the lockfile says 6.0.0", v)
		}
		if h, _ := hashFile(filepath.Join(b.Project, "package-lock.json")); h != lockBefore {
			t.Errorf("npm ci changed the committed lockfile")
		}
		pr := readPMReport(t, rep)
		for _, s := range pr.Steps {
			if s.Phase == "resolve" {
				t.Errorf("npm ci ran a resolve step")
			}
		}
		if pr.Precheck == nil || len(pr.Precheck.Packages) != 3 {
			t.Errorf("want the 3 locked packages checked: %+v", pr.Precheck)
		}
	})
}

// Killing the wrapper (SIGKILL, SIGINT) during the networked step that fetches
// (`npm install` of registry packages resolves and downloads in one step,
// managers/npmfetch.go) and during a build script leaves the project
// byte-identical, and the next run works.
func TestNpmKilledInstallLeavesProjectIntact(t *testing.T) {
	requireTool(t, "npm")
	type killCase struct {
		name  string
		sig   syscall.Signal
		build bool
	}
	cases := []killCase{
		{"fetch-SIGKILL", syscall.SIGKILL, false},
		{"fetch-SIGINT", syscall.SIGINT, false},
		{"build-SIGKILL", syscall.SIGKILL, true},
		{"build-SIGINT", syscall.SIGINT, true},
	}
	forEachMode(t, func(t *testing.T, m mode) {
		for _, kc := range cases {
			t.Run(kc.name, func(t *testing.T) {
				b := newPMBox(t, m)
				args := []string{"install", "lodash", "is-odd"}
				ready := "[phylum-box] resolving:"
				if kc.build {
					args = []string{"install", packFixture(t, b, "slow-pkg", nil)}
					ready = "PBOX-SLOW-BUILD-STARTED"
				}
				before := projectState(t, b.Project)
				inv := b.toolInv("", "npm", args...)
				c, stderr, done := startPMRun(t, inv, ready)
				if kc.sig == syscall.SIGKILL {
					// What a crash or the OOM killer does: only phylum-box dies.
					_ = c.Process.Signal(syscall.SIGKILL)
				} else {
					_ = c.Process.Signal(syscall.SIGINT)
				}
				select {
				case err := <-done:
					if code := exitCode(err); code == 0 {
						t.Errorf("a killed install exited 0\n%s", stderr)
					}
				case <-time.After(30 * time.Second):
					_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
					<-done
					t.Fatalf("phylum-box did not stop within 30 s of %v\n%s", kc.sig, stderr)
				}
				if kc.sig == syscall.SIGKILL {
					// The container's processes die with their init; give them a moment.
					time.Sleep(500 * time.Millisecond)
				}
				assertSameTree(t, before, projectState(t, b.Project), "a killed install")
				if kc.build {
					// The build script must not outlive the wrapper.
					waitNoProcs(t, "PBOX-SLOW-BUILD-STARTED", 10*time.Second)
				}
				r := b.tool("", "npm", "install", "lodash")
				wantCode(t, r, 0, "the next install after a killed one")
				wantFile(t, filepath.Join(b.Project, "node_modules", "lodash", "package.json"), "lodash installed by the next run")
			})
		}
	})
}

// startPMRun is startRun matching ready on stdout or stderr (phylum-box's own
// step lines go to stderr, the package manager's output to stdout).
func startPMRun(t *testing.T, inv invocation, ready string) (*exec.Cmd, *strings.Builder, <-chan error) {
	t.Helper()
	c := inv.command()
	var mu sync.Mutex
	var all strings.Builder
	got := make(chan struct{})
	var once sync.Once
	w := writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		all.Write(p)
		hit := strings.Contains(all.String(), ready)
		mu.Unlock()
		if hit {
			once.Do(func() { close(got) })
		}
		return len(p), nil
	})
	c.Stdout, c.Stderr = w, w
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	select {
	case <-got:
	case err := <-done:
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("phylum-box ended (%v) before printing %q:\n%s", err, ready, all.String())
	case <-time.After(3 * time.Minute):
		_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
		<-done
		t.Fatalf("phylum-box did not print %q within 3 minutes:\n%s", ready, all.String())
	}
	return c, &all, done
}

type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// npx and npm exec: the package is installed into a scratch project (checked like
// any install), then run with the network off, without the caller's secrets; what
// it writes to the project is synced back and listed (integration/scaffold_test.go
// has the rules); a blocked package never runs.
func TestNpxRunsOfflineAndWritesBack(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		rep := b.reportPath("npx.json")
		r := b.tool(rep, "npx", "cowsay", "hi from npx")
		wantCode(t, r, 0, "npx cowsay")
		if !strings.Contains(r.Stdout, "hi from npx") {
			t.Errorf("cowsay did not run:\n%s", r)
		}
		pr := readPMReport(t, rep)
		if n := len(pr.Steps); n == 0 || pr.Steps[n-1].Phase != "run" || pr.Steps[n-1].Network {
			t.Errorf("want a last step run without network: %+v", pr.Steps)
		}

		// Writes into the project are synced back and listed (a write-back run);
		// the secret stays out of reach.
		r = b.tool("", "npm", "exec", "--package=cowsay", "-c",
			`cowsay inside > said.txt && echo more >> README.md && ls said.txt && (cat ~/.ssh/id_rsa || echo NO-KEY)`)
		wantCode(t, r, 0, "npm exec -c with writes into the project")
		if !strings.Contains(r.Stdout, "said.txt") || !strings.Contains(r.Stdout, "NO-KEY") || strings.Contains(r.Stdout, b.Mark) {
			t.Errorf("the command did not run as expected:\n%s", r)
		}
		wantStderr(t, r, "synced back: M README.md", "synced back: A said.txt")
		if data, _ := os.ReadFile(filepath.Join(b.Project, "README.md")); !strings.HasSuffix(string(data), "more\n") {
			t.Errorf("README.md was not synced back: %q", data)
		}
		if data, _ := os.ReadFile(filepath.Join(b.Project, "said.txt")); !strings.Contains(string(data), "inside") || strings.Contains(string(data), b.Mark) {
			t.Errorf("said.txt: %q", data)
		}
		before := projectState(t, b.Project)

		r = b.tool("", "npx", "--yes", "--package=is-number@7.0.0", "--", "true")
		wantCode(t, r, 3, "npx of a package with a MAL record")
		wantStderr(t, r, "MAL-0000-PBOXIT1")
		assertSameTree(t, before, projectState(t, b.Project), "a blocked npx")
	})
}

// min_release_age reads each resolved version's publish time from the configured
// registry (the live one here) before anything is downloaded: a policy that wants
// versions older than any can be blocks lodash, naming the rule; one that lodash
// 4.17.21 (published 2021 or, on this registry's mirror, 2024) satisfies lets the
// same install through.
func TestNpmMinReleaseAge(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		policyFile := filepath.Join(b.Project, ".phylum-box.yaml")
		writeFile(t, policyFile, "min_release_age: 5000w\n", 0o644)
		chownTree(t, m, policyFile)
		before := projectState(t, b.Project)
		rep := b.reportPath("young.json")
		r := b.tool(rep, "npm", "install", "lodash@4.17.21")
		wantCode(t, r, 3, "a policy no published version can meet")
		assertSameTree(t, before, projectState(t, b.Project), "an install blocked by min_release_age")
		wantStderr(t, r, "lodash", "min_release_age")
		pr := readPMReport(t, rep)
		if pr.Precheck == nil || pr.Precheck.Verdict != "blocked" {
			t.Fatalf("report: %+v", pr)
		}

		writeFile(t, policyFile, "min_release_age: 30d\n", 0o644)
		chownTree(t, m, policyFile)
		r = b.tool("", "npm", "install", "lodash@4.17.21")
		wantCode(t, r, 0, "lodash 4.17.21 is older than 30 days")
		wantFile(t, filepath.Join(b.Project, "node_modules", "lodash", "package.json"), "lodash installed")
	})
}

// --format json: stdout is the install's JSON report and nothing else (npm's own
// output moves to stderr), for CI scripts that pipe it.
func TestNpmFormatJSON(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	m := requireMode(t, "root")
	b := newPMBox(t, m)
	r := b.toolInv("", "--format", "json", "npm", "install", "lodash@4.17.21").exec(t)
	wantCode(t, r, 0, "--format json npm install")
	var rep struct {
		Manager  string `json:"manager"`
		Code     int    `json:"exit_code"`
		Precheck struct {
			Verdict  string `json:"verdict"`
			Packages []struct {
				Name string `json:"name"`
			} `json:"packages"`
		} `json:"precheck"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%q", err, r.Stdout)
	}
	if rep.Manager != "npm" || rep.Code != 0 || rep.Precheck.Verdict != "pass" || len(rep.Precheck.Packages) != 1 || rep.Precheck.Packages[0].Name != "lodash" {
		t.Errorf("report: %+v", rep)
	}
	wantStderr(t, r, "added 1 package")
}

// netPkgServers are two HTTP servers on 127.0.0.1 for testdata/npm/net-pkg: the
// one a policy allows (its "prebuilt binary") and another, which counts hits.
func netPkgServers(t testing.TB) (allowed, other *httptest.Server, otherHits func() int32) {
	t.Helper()
	allowed = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "pbox-prebuilt-binary "+r.URL.Path)
	}))
	t.Cleanup(allowed.Close)
	var hits atomic.Int32
	other = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprint(w, "loot")
	}))
	t.Cleanup(other.Close)
	return allowed, other, hits.Load
}

// An install script that downloads (a local tarball, like prebuild-install or
// puppeteer) fails without network, named, with the script_network advice; a
// policy entry for it lets it reach exactly its listed host through the egress
// proxy, so the download lands in node_modules; a URL on another host still fails.
func TestNpmScriptNetwork(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		allowed, other, otherHits := netPkgServers(t)
		allowedHP := strings.TrimPrefix(allowed.URL, "http://")
		otherHP := strings.TrimPrefix(other.URL, "http://")

		b := newPMBox(t, m)
		containmentOnly(t, m, b.Home) // the sandbox alone: a hostile fixture
		tgz := packFixture(t, b, "net-pkg", map[string]any{"urls": []string{allowed.URL + "/chrome.zip"}})
		before := projectState(t, b.Project)
		rep := b.reportPath("nonet.json")
		r := b.tool(rep, "npm", "install", tgz)
		if r.Code == 0 || r.Code == 3 {
			t.Fatalf("a downloading install script without script_network: want the build's failure, got\n%s", r)
		}
		assertSameTree(t, before, projectState(t, b.Project), "a failed build")
		if pr := readPMReport(t, rep); pr.FailedPackage != "pbox-net-pkg" {
			t.Errorf("failed_package = %q, want pbox-net-pkg", pr.FailedPackage)
		}
		wantStderr(t, r, "the install script of pbox-net-pkg failed", `script_network: [{package: "pbox-net-pkg", hosts: ["HOST:443"]}]`, "allow_scripts")

		policyFile := filepath.Join(b.Project, ".phylum-box.yaml")
		writeFile(t, policyFile, fmt.Sprintf("script_network:\n  - package: pbox-net-pkg\n    hosts: [%q]\n", allowedHP), 0o644)
		chownTree(t, m, policyFile)
		rep = b.reportPath("net.json")
		r = b.tool(rep, "npm", "install", tgz)
		wantCode(t, r, 0, "the install script reaches the host script_network lists")
		wantStderr(t, r, "script_network gives the install script of pbox-net-pkg network access to "+allowedHP)
		got, err := os.ReadFile(filepath.Join(b.Project, "node_modules", "pbox-net-pkg", "fetched-0.txt"))
		if err != nil || string(got) != "pbox-prebuilt-binary /chrome.zip" {
			t.Errorf("the download did not land in node_modules: %q, %v", got, err)
		}
		pr := readPMReport(t, rep)
		var phases []string
		for _, s := range pr.Steps {
			phases = append(phases, fmt.Sprintf("%s network=%v", s.Phase, s.Network))
		}
		if fmt.Sprint(phases) != "[resolve network=true download network=true build network=false]" {
			t.Errorf("steps = %v, want one build step (the package's own, behind the proxy)", phases)
		}

		// A second URL, on a host the policy does not list: refused, named.
		b = newPMBox(t, m)
		containmentOnly(t, m, b.Home) // the sandbox alone: a hostile fixture
		tgz = packFixture(t, b, "net-pkg", map[string]any{"urls": []string{allowed.URL + "/chrome.zip", other.URL + "/loot"}})
		policyFile = filepath.Join(b.Project, ".phylum-box.yaml")
		writeFile(t, policyFile, fmt.Sprintf("script_network: [{package: pbox-net-pkg, hosts: [%q]}]\n", allowedHP), 0o644)
		chownTree(t, m, policyFile)
		before = projectState(t, b.Project)
		r = b.tool("", "npm", "install", tgz)
		if r.Code == 0 || r.Code == 3 {
			t.Fatalf("a download from a host script_network does not list: want the build's failure, got\n%s", r)
		}
		assertSameTree(t, before, projectState(t, b.Project), "a failed build")
		wantStderr(t, r, "network only to "+allowedHP, "tried to reach "+otherHP, "pbox-net-pkg: downloading "+other.URL+"/loot failed")
		if n := otherHits(); n != 0 {
			t.Errorf("the host script_network does not list was reached %d time(s)", n)
		}
	})
}

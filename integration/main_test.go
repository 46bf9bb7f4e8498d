package integration

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Test users. pbox-it is a system user: useradd gives system users no /etc/subuid
// range, so it exercises the single-uid map. pbox-its has a subordinate range (the
// full 65536 map through newuidmap). pbox-itd gets the cgroup that
// `phylum-box setup --user` delegates, for the rootless limit tests; keeping it apart
// lets the plain rootless user show the "limits are not enforced" path.
const (
	userPlain     = "pbox-it"
	userSubuid    = "pbox-its"
	userDelegated = "pbox-itd"

	subIDRange = "500000000-500065535"
)

// exitRefused is what testdata/attacks exits with when its operation was refused.
const exitRefused = 10

var (
	// suite is filled once by TestMain; tests read it only.
	suite struct {
		base      string // world-traversable scratch root of this test binary
		bin       string // phylum-box, world-readable copy
		attack    string // testdata/attacks, static
		binErr    error  // why there is no binary (tests fail, never skip, on it)
		attackErr error
		users     map[string]*testUser
		isRoot    bool
		// canary is a root-owned host file outside any project that attacks try to
		// overwrite (instead of a real system file such as /etc/hosts).
		canary string
		// rootGuard is set when a preflight run as root showed the container's
		// root to be host root with capabilities: then no attack runs as root,
		// because a failing attack would damage this machine.
		rootGuard string
	}
	keepScratch = flag.Bool("keep", os.Getenv("PBOX_IT_KEEP") != "", "keep the scratch directory for inspection")
)

type testUser struct {
	Name     string
	UID, GID int
	// Unusable says why rootless tests cannot run as this user (empty when they can).
	Unusable string
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := func() int {
		if err := setupSuite(); err != nil {
			fmt.Fprintf(os.Stderr, "integration: setup failed: %v\n", err)
			return 1
		}
		defer func() {
			if *keepScratch {
				fmt.Fprintf(os.Stderr, "integration: scratch kept in %s\n", suite.base)
				return
			}
			_ = os.RemoveAll(suite.base)
		}()
		defer os.Remove(suite.canary)
		return m.Run()
	}()
	printSkipSummary(os.Stderr)
	os.Exit(code)
}

func setupSuite() error {
	suite.isRoot = os.Geteuid() == 0
	parent := os.TempDir()
	if suite.isRoot {
		// Callers' homes and projects usually live under /home; t.TempDir() is not
		// traversable by the test users. (Projects under /tmp and /var/tmp are
		// tested on their own in TestProjectLocations.)
		parent = "/home"
		if fi, err := os.Stat(parent); err != nil || !fi.IsDir() {
			parent = "/var/tmp"
		}
	}
	base, err := os.MkdirTemp(parent, "pbox-it-")
	if err != nil {
		return err
	}
	if err := os.Chmod(base, 0o755); err != nil {
		return err
	}
	suite.base = base
	binDir := filepath.Join(base, "bin")
	if err := os.Mkdir(binDir, 0o755); err != nil {
		return err
	}
	root, err := repoRoot()
	if err != nil {
		return err
	}
	suite.bin, suite.binErr = provideBinary(root, binDir)
	suite.attack = filepath.Join(binDir, "attacks")
	if out, err := goBuild(root, suite.attack, "./integration/testdata/attacks", "CGO_ENABLED=0"); err != nil {
		suite.attackErr = fmt.Errorf("building testdata/attacks: %v\n%s", err, out)
	}
	suite.users = map[string]*testUser{}
	if suite.isRoot {
		suite.canary = fmt.Sprintf("/etc/pbox-it-canary-%d", os.Getpid())
	} else {
		suite.canary = filepath.Join(base, "canary")
	}
	if err := os.WriteFile(suite.canary, []byte(canaryContent), 0o644); err != nil {
		return err
	}
	if suite.isRoot && suite.binErr == nil && suite.attackErr == nil {
		suite.rootGuard = preflightRoot()
	}
	if !suite.isRoot {
		u, err := user.Current()
		if err != nil {
			return err
		}
		tu := &testUser{Name: u.Username, UID: os.Getuid(), GID: os.Getgid()}
		tu.Unusable = checkUserns(tu)
		suite.users[userPlain] = tu
		return nil
	}
	for _, name := range []string{userPlain, userSubuid, userDelegated} {
		tu, err := ensureUser(name, name == userSubuid)
		if err != nil {
			return err
		}
		tu.Unusable = checkUserns(tu)
		suite.users[name] = tu
	}
	return nil
}

const canaryContent = "pbox-it canary: attacks try to overwrite this file\n"

// preflightRoot runs the status probe once as root and returns why attacks must not
// run as root (container root is host root, or it kept capabilities), or "".
func preflightRoot() string {
	dir := filepath.Join(suite.base, "preflight")
	proj := filepath.Join(dir, "proj")
	home := filepath.Join(dir, "home")
	for _, d := range []string{proj, home} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err.Error()
		}
	}
	attack, err := os.ReadFile(suite.attack)
	if err != nil {
		return err.Error()
	}
	if err := os.WriteFile(filepath.Join(proj, "attacks"), attack, 0o755); err != nil {
		return err.Error()
	}
	defer os.RemoveAll(dir)
	r, err := invocation{Mode: mode{Name: "root"}, Args: []string{"run", "--", "./attacks", "status"}, Dir: proj, Home: home, Timeout: 60 * time.Second}.execE()
	if err != nil || r.Code != 0 {
		// Nothing ran; the tests will show why.
		return ""
	}
	for _, l := range strings.Split(r.Stdout, "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "0" && f[1] == "0" {
			return "preflight: the container's root is host root (uid_map " + l + ")"
		}
		if k, v, ok := strings.Cut(l, ":"); ok && k == "CapEff" && strings.TrimSpace(v) != "0000000000000000" {
			return "preflight: CMD runs with capabilities (CapEff " + strings.TrimSpace(v) + ")"
		}
	}
	return ""
}

func repoRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the phylum-box module; run the tests from the repository")
	}
	return filepath.Dir(mod), nil
}

func goBuild(root, out, pkg string, env ...string) ([]byte, error) {
	args := []string{"build", "-o", out}
	if !strings.Contains(strings.Join(env, " "), "CGO_ENABLED=0") {
		args = append(args, "-tags", "seccomp")
	}
	c := exec.Command("go", append(args, pkg)...)
	c.Dir = root
	c.Env = append(os.Environ(), env...)
	return c.CombinedOutput()
}

// provideBinary copies $PHYLUM_BOX_BIN (or a fresh build) into dir, world-readable:
// the repository may live under /root, which the test users cannot traverse.
func provideBinary(root, dir string) (string, error) {
	dst := filepath.Join(dir, "phylum-box")
	src := os.Getenv("PHYLUM_BOX_BIN")
	if src == "" {
		if out, err := goBuild(root, dst, "./cmd/phylum-box", "CGO_ENABLED=1"); err != nil {
			return "", fmt.Errorf("PHYLUM_BOX_BIN is unset and `go build -tags seccomp ./cmd/phylum-box` failed: %v\n%s", err, out)
		}
		return dst, os.Chmod(dst, 0o755)
	}
	b, err := os.ReadFile(src)
	if err != nil {
		return "", fmt.Errorf("PHYLUM_BOX_BIN: %w (run `make build` first)", err)
	}
	return dst, os.WriteFile(dst, b, 0o755)
}

// ensureUser creates an unprivileged user once; re-runs find it in place.
func ensureUser(name string, subids bool) (*testUser, error) {
	if _, err := user.Lookup(name); err != nil {
		out, err := exec.Command("useradd", "--system", "--create-home", "--user-group", "--shell", "/bin/sh", name).CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("useradd %s: %v: %s", name, err, out)
		}
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	tu := &testUser{Name: name, UID: uid, GID: gid}
	if subids && !hasSubIDs(name) {
		out, err := exec.Command("usermod", "--add-subuids", subIDRange, "--add-subgids", subIDRange, name).CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("usermod --add-subuids %s: %v: %s", name, err, out)
		}
	}
	return tu, nil
}

func hasSubIDs(name string) bool {
	b, err := os.ReadFile("/etc/subuid")
	if err != nil {
		return false
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, name+":") {
			return true
		}
	}
	return false
}

// checkUserns returns why u cannot create a user namespace, or "".
func checkUserns(u *testUser) string {
	if b, err := os.ReadFile("/proc/sys/user/max_user_namespaces"); err == nil && strings.TrimSpace(string(b)) == "0" {
		return "user namespaces are disabled (user.max_user_namespaces=0)"
	}
	c := exec.Command("unshare", "--user", "--map-root-user", "true")
	if suite.isRoot {
		c = exec.Command("setpriv", asUserArgs(u, "unshare", "--user", "--map-root-user", "true")...)
	}
	if out, err := c.CombinedOutput(); err != nil {
		return fmt.Sprintf("user %s cannot create a user namespace (`unshare --user --map-root-user true`: %v: %s)", u.Name, err, bytes.TrimSpace(out))
	}
	return ""
}

func asUserArgs(u *testUser, argv ...string) []string {
	return append([]string{"--reuid=" + strconv.Itoa(u.UID), "--regid=" + strconv.Itoa(u.GID), "--init-groups", "--"}, argv...)
}

// ---- skips: never silent ----

var skipLog struct {
	sync.Mutex
	lines []string
}

// skipf skips t and records why, for the summary TestMain prints.
func skipf(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	skipLog.Lock()
	skipLog.lines = append(skipLog.lines, t.Name()+": "+msg)
	skipLog.Unlock()
	t.Skip("SKIPPED: " + msg)
}

func printSkipSummary(w *os.File) {
	skipLog.Lock()
	defer skipLog.Unlock()
	if len(skipLog.lines) == 0 {
		fmt.Fprintln(w, "integration: no tests were skipped")
		return
	}
	sort.Strings(skipLog.lines)
	fmt.Fprintf(w, "integration: %d test(s) SKIPPED:\n", len(skipLog.lines))
	for _, l := range skipLog.lines {
		fmt.Fprintf(w, "  - %s\n", l)
	}
}

// ---- modes: every test runs as root and rootless ----

type mode struct {
	Name string
	User *testUser // nil: real root
}

func (m mode) rootless() bool { return m.User != nil }

// uid and gid are the host ids phylum-box runs with in this mode.
func (m mode) uid() int {
	if m.User == nil {
		return 0
	}
	return m.User.UID
}

func (m mode) gid() int {
	if m.User == nil {
		return 0
	}
	return m.User.GID
}

// forEachMode runs f as the subtests "root" and "rootless".
func forEachMode(t *testing.T, f func(t *testing.T, m mode)) {
	t.Helper()
	for _, name := range []string{"root", "rootless"} {
		t.Run(name, func(t *testing.T) {
			m := requireMode(t, name)
			f(t, m)
		})
	}
}

// forEachModeScratch runs f for root and rootless, each with the project shown
// through an overlay and through a scratch copy: two sync-back code paths.
func forEachModeScratch(t *testing.T, f func(t *testing.T, m mode, scratch []string)) {
	t.Helper()
	forEachMode(t, func(t *testing.T, m mode) {
		for _, s := range []string{"overlay", "copy"} {
			t.Run(s, func(t *testing.T) {
				flags := []string{"--scratch", s}
				requireScratch(t, m, s)
				f(t, m, flags)
			})
		}
	})
}

var scratchProbe sync.Map // mode name + scratch → "" or why it cannot be used

// requireScratch skips when this machine cannot present the project that way (an
// overlay needs kernel support for overlayfs in a user namespace).
func requireScratch(t *testing.T, m mode, s string) {
	t.Helper()
	key := m.Name + "/" + s
	why, ok := scratchProbe.Load(key)
	if !ok {
		b := newBox(t, m)
		r := b.run([]string{"--scratch", s}, "/bin/true")
		w := ""
		if r.Code != 0 {
			w = strings.TrimSpace(r.Stderr)
		}
		scratchProbe.Store(key, w)
		why = w
	}
	if why.(string) != "" {
		if s == "overlay" && strings.Contains(strings.ToLower(why.(string)), "overlay") {
			skipf(t, "--scratch overlay is not available here as %s: %s", m.Name, why)
		}
		t.Fatalf("--scratch %s -- /bin/true fails as %s: %s", s, m.Name, why)
	}
}

// requireMode returns the mode named, or skips (with the reason) when this machine
// or this test process cannot provide it. "rootless-subuid" and "rootless-delegated"
// are the other two test users.
func requireMode(t testing.TB, name string) mode {
	t.Helper()
	requireBinaries(t)
	switch name {
	case "root":
		if !suite.isRoot {
			skipf(t, "root half not run: the test process is not root (uid %d); run `make integration` as root", os.Geteuid())
		}
		if suite.rootGuard != "" {
			t.Fatalf("refusing to run attacks as root against a binary that does not sandbox: %s", suite.rootGuard)
		}
		return mode{Name: name}
	case "rootless", "rootless-subuid", "rootless-delegated":
		un := map[string]string{"rootless": userPlain, "rootless-subuid": userSubuid, "rootless-delegated": userDelegated}[name]
		u := suite.users[un]
		if u == nil {
			skipf(t, "%s half not run: test user %s does not exist (creating users needs root)", name, un)
		}
		if u.Unusable != "" {
			skipf(t, "%s half not run: %s", name, u.Unusable)
		}
		if !suite.isRoot && name != "rootless" {
			skipf(t, "%s half not run: it needs a second user, which only a root test process can create", name)
		}
		return mode{Name: name, User: u}
	}
	t.Fatalf("unknown mode %q", name)
	return mode{}
}

func requireBinaries(t testing.TB) {
	t.Helper()
	if suite.binErr != nil {
		t.Fatalf("no phylum-box binary: %v", suite.binErr)
	}
	if suite.attackErr != nil {
		t.Fatalf("%v", suite.attackErr)
	}
}

// ---- invoking phylum-box ----

// invocation is one phylum-box process, as the user of a mode.
type invocation struct {
	Mode mode
	Args []string // phylum-box's argv[1:]
	Dir  string   // working directory
	Home string   // the caller's $HOME
	// Env is added to the caller's environment (which already carries secrets).
	Env    []string
	Prefix []string // e.g. ip netns exec NS, run as root before dropping privileges
	Stdin  *os.File
	// Timeout kills the process group when exceeded (a hung sandbox fails the test
	// instead of the whole run).
	Timeout time.Duration
}

type result struct {
	Stdout, Stderr string
	Code           int
	Elapsed        time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("exit %d after %v\n--- stdout:\n%s--- stderr:\n%s", r.Code, r.Elapsed.Round(time.Millisecond), r.Stdout, r.Stderr)
}

// Host secrets every invocation carries in its environment: none may reach CMD.
var secretEnv = []string{
	"AWS_SECRET_ACCESS_KEY=pbox-it-aws-secret-Zq81",
	"NPM_TOKEN=pbox-it-npm-token-Kx42",
	"GITHUB_TOKEN=pbox-it-gh-token-Wm77",
}

func (inv invocation) command() *exec.Cmd {
	env := []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"HOME=" + inv.Home,
		"LANG=C.UTF-8",
		"TERM=dumb",
		"SSH_AUTH_SOCK=" + filepath.Join(inv.Home, ".ssh", "agent.sock"),
	}
	if inv.Mode.rootless() {
		env = append(env, "USER="+inv.Mode.User.Name, "LOGNAME="+inv.Mode.User.Name)
	} else {
		env = append(env, "USER=root", "LOGNAME=root")
	}
	env = append(env, secretEnv...)
	env = append(env, inv.Env...)

	argv := append([]string{suite.bin}, inv.Args...)
	if inv.Mode.rootless() && suite.isRoot {
		// setpriv, not su: no PAM session, no login shell, the environment we built.
		argv = append([]string{"setpriv"}, asUserArgs(inv.Mode.User, argv...)...)
	}
	argv = append(append([]string{}, inv.Prefix...), argv...)
	c := exec.Command(argv[0], argv[1:]...)
	c.Env = env
	c.Dir = inv.Dir
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if inv.Stdin != nil {
		c.Stdin = inv.Stdin
	}
	return c
}

// exec runs the invocation to completion; t must be the calling goroutine's test.
func (inv invocation) exec(t testing.TB) result {
	t.Helper()
	r, err := inv.execE()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// execE is exec for other goroutines: it reports instead of failing the test.
func (inv invocation) execE() (result, error) {
	c := inv.command()
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	timeout := inv.Timeout
	if timeout == 0 {
		timeout = 90 * time.Second
	}
	timeout *= time.Duration(timeoutScale())
	start := time.Now()
	if err := c.Start(); err != nil {
		return result{}, fmt.Errorf("starting %v: %v", c.Args, err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(timeout):
		_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
		<-done
		return result{}, fmt.Errorf("phylum-box %s did not finish within %v (killed)\n--- stdout:\n%s--- stderr:\n%s",
			strings.Join(inv.Args, " "), timeout, stdout.String(), stderr.String())
	}
	r := result{Stdout: stdout.String(), Stderr: stderr.String(), Elapsed: time.Since(start)}
	r.Code = exitCode(err)
	if r.Code < 0 {
		return r, fmt.Errorf("phylum-box %s: %v\n%s", strings.Join(inv.Args, " "), err, r)
	}
	return r, nil
}

// timeoutScale stretches the invocations' time limits when tests run side by side
// (go test -parallel N with N > 1, as `make integration` runs them): on a 2-core
// machine three installs at once take up to twice as long each. The limits only
// catch a hung sandbox; no test asserts a duration through them.
func timeoutScale() int {
	if f := flag.Lookup("test.parallel"); f != nil {
		if n, err := strconv.Atoi(f.Value.String()); err == nil && n > 1 {
			return 2
		}
	}
	return 1
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	return -1
}

// ---- per-test fixtures ----

var fixtureSeq struct {
	sync.Mutex
	n int
}

// newScratch returns a fresh directory (0755) under the suite's base.
func newScratch(t testing.TB) string {
	t.Helper()
	fixtureSeq.Lock()
	fixtureSeq.n++
	n := fixtureSeq.n
	fixtureSeq.Unlock()
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	if len(name) > 60 {
		name = name[len(name)-60:]
	}
	dir := filepath.Join(suite.base, fmt.Sprintf("t%03d-%s", n, name))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// newHome makes an empty caller $HOME owned by the mode's user.
func newHome(t testing.TB, m mode) string {
	t.Helper()
	home := filepath.Join(newScratch(t), "home")
	mkdirOwned(t, m, home, 0o700)
	return home
}

func mkdirOwned(t testing.TB, m mode, dir string, perm os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(dir, perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, perm); err != nil {
		t.Fatal(err)
	}
	chownTree(t, m, dir)
}

// chownTree gives dir and everything below it to the mode's user.
func chownTree(t testing.TB, m mode, dir string) {
	t.Helper()
	if !suite.isRoot {
		return
	}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, m.uid(), m.gid())
	})
	if err != nil {
		t.Fatal(err)
	}
}

// box is one caller: a $HOME full of secrets and a project inside it (the usual
// ~/src/app layout, which also makes the project a child of the hidden $HOME).
type box struct {
	t       testing.TB
	Mode    mode
	Home    string
	Project string
	// Mark is written into every planted secret; no file inside may contain it.
	Mark string
}

// Secrets planted in the caller's $HOME.
var homeSecrets = map[string]string{
	".ssh/id_rsa":          "-----BEGIN OPENSSH PRIVATE KEY-----\n%s\n-----END OPENSSH PRIVATE KEY-----\n",
	".aws/credentials":     "[default]\naws_access_key_id = AKIAPBOXIT\naws_secret_access_key = %s\n",
	".npmrc":               "//registry.npmjs.org/:_authToken=%s\n",
	".bash_history":        "export TOKEN=%s\n",
	".config/gh/hosts.yml": "github.com:\n  oauth_token: %s\n",
}

// Files every project starts with (plus the attacks binary and a .git directory).
var projectFiles = map[string]string{
	"README.md":         "hello project\n",
	"package.json":      "{\"name\":\"pbox-it\",\"version\":\"1.0.0\"}\n",
	"src/index.js":      "console.log('hi')\n",
	"lib/a.txt":         "a\n",
	"lib/deep/b.txt":    "b\n",
	".git/HEAD":         "ref: refs/heads/main\n",
	".git/config":       "[core]\n\trepositoryformatversion = 0\n",
	".git/hooks/README": "hooks live here\n",
}

func newBox(t testing.TB, m mode) *box {
	t.Helper()
	home := newHome(t, m)
	b := &box{t: t, Mode: m, Home: home, Project: filepath.Join(home, "src", "proj"),
		Mark: fmt.Sprintf("PBOXSECRET%d", time.Now().UnixNano())}
	for rel, tmpl := range homeSecrets {
		writeFile(t, filepath.Join(home, rel), fmt.Sprintf(tmpl, b.Mark), 0o600)
	}
	for rel, content := range projectFiles {
		writeFile(t, filepath.Join(b.Project, rel), content, 0o644)
	}
	attack, err := os.ReadFile(suite.attack)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(b.Project, "attacks"), string(attack), 0o755)
	chownTree(t, m, home)
	return b
}

func writeFile(t testing.TB, path, content string, perm os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil {
		t.Fatal(err)
	}
}

// run executes `phylum-box run FLAGS... -- CMD...` from the project directory.
func (b *box) run(flags []string, cmd ...string) result {
	b.t.Helper()
	return b.invoke(flags, cmd).exec(b.t)
}

func (b *box) invoke(flags, cmd []string) invocation {
	// The containment tests prove what the sandbox holds by itself, as the last
	// line: without the behaviour monitor, which would stop most of their attacks
	// first (exit 3). detect_test.go runs `run` with the monitor.
	args := append([]string{"run", "--no-monitor"}, flags...)
	args = append(append(args, "--"), cmd...)
	return invocation{Mode: b.Mode, Args: args, Dir: b.Project, Home: b.Home}
}

// attack runs the attacks binary inside the sandbox.
func (b *box) attack(flags []string, args ...string) result {
	b.t.Helper()
	return b.run(flags, append([]string{"./attacks"}, args...)...)
}

// sh runs a shell script inside the sandbox (the host's /bin/sh, seen read-only);
// args are its $1, $2, ...
func (b *box) sh(flags []string, script string, args ...string) result {
	b.t.Helper()
	return b.run(flags, append([]string{"/bin/sh", "-c", script, "sh"}, args...)...)
}

// phylum-box's own state in the caller's $HOME (locks, caches): written by
// phylum-box itself, not by CMD, so not a leak. Their parents are ignored as
// directories only; any other file under them still counts.
var (
	ownStateDirs    = []string{".cache/phylum-box", ".local/state/phylum-box", ".local/share/phylum-box", ".config/phylum-box"}
	ownStateParents = map[string]bool{".cache": true, ".local": true, ".local/state": true, ".local/share": true, ".config": true}
)

// homeHash describes the caller's $HOME without the project inside it and without
// phylum-box's own state directories.
func (b *box) homeHash() tree {
	b.t.Helper()
	h := b.homeHashAll()
	for p, desc := range h {
		if ownStateParents[p] && strings.HasPrefix(desc, "dir ") {
			delete(h, p)
		}
		for _, d := range ownStateDirs {
			if p == d || strings.HasPrefix(p, d+"/") {
				delete(h, p)
			}
		}
	}
	return h
}

// homeHashAll is homeHash with phylum-box's own state.
func (b *box) homeHashAll() tree {
	b.t.Helper()
	h := treeHash(b.t, b.Home, true)
	rel, _ := filepath.Rel(b.Home, b.Project)
	for p := range h {
		if p == rel || strings.HasPrefix(p, rel+"/") {
			delete(h, p)
		}
	}
	return h
}

// removeAfter removes host paths an attack may have created outside the project,
// whatever the test's outcome (a failing sandbox must not leave debris).
func removeAfter(t testing.TB, paths ...string) {
	t.Cleanup(func() {
		for _, p := range paths {
			if p != "" && p != "/" {
				_ = os.Remove(p)
			}
		}
	})
}

// hostSh runs a shell script directly on the host (no sandbox) as the mode's user.
func hostSh(t testing.TB, m mode, dir, script string) {
	t.Helper()
	argv := []string{"/bin/sh", "-c", script}
	if m.rootless() && suite.isRoot {
		argv = append([]string{"setpriv"}, asUserArgs(m.User, argv...)...)
	}
	c := exec.Command(argv[0], argv[1:]...)
	c.Dir = dir
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("host: sh -c %q: %v\n%s", script, err, out)
	}
}

// ---- assertions ----

func wantCode(t testing.TB, r result, want int, why string) {
	t.Helper()
	if r.Code != want {
		t.Fatalf("%s: want exit %d, got\n%s", why, want, r)
	}
}

// wantRefused asserts the attack ran and was refused inside (exit 10), not that
// phylum-box failed to start it.
func wantRefused(t testing.TB, r result, why string) {
	t.Helper()
	if r.Code != exitRefused || !strings.Contains(r.Stderr, "refused:") {
		t.Fatalf("%s: want the attack to run and be refused (exit %d), got\n%s", why, exitRefused, r)
	}
}

func wantStderr(t testing.TB, r result, substrings ...string) {
	t.Helper()
	low := strings.ToLower(r.Stderr)
	for _, s := range substrings {
		if !strings.Contains(low, strings.ToLower(s)) {
			t.Errorf("stderr does not mention %q:\n%s", s, r)
		}
	}
}

func pathExists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// ---- host processes ----

// procsMatching lists host pids whose command line contains marker.
func procsMatching(marker string) []string {
	ents, _ := os.ReadDir("/proc")
	var out []string
	self := strconv.Itoa(os.Getpid())
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil || e.Name() == self {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		cmd := strings.ReplaceAll(string(bytes.TrimRight(b, "\x00")), "\x00", " ")
		if strings.Contains(cmd, marker) {
			out = append(out, e.Name()+" "+cmd)
		}
	}
	return out
}

// waitNoProcs fails unless no process matching marker is left within d.
func waitNoProcs(t testing.TB, marker string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		left := procsMatching(marker)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("processes left running %v after the run: %v", d, left)
			for _, l := range left {
				pid, _ := strconv.Atoi(strings.Fields(l)[0])
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// uniqueSleep returns a sleep duration argument that marks its processes, e.g.
// "60.4711", so leftovers can be found on the host.
func uniqueSleep(secs int) string {
	return fmt.Sprintf("%d.%04d%d", secs, time.Now().Nanosecond()%10000, os.Getpid()%100)
}

// startRun starts phylum-box and returns once CMD printed a line containing ready
// on stdout (CMD's way to say "I am inside, with my changes made").
func startRun(t *testing.T, inv invocation, ready string) (*exec.Cmd, *bytes.Buffer, <-chan error) {
	t.Helper()
	c := inv.command()
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	got := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		ok := false
		for sc.Scan() {
			if !ok && strings.Contains(sc.Text(), ready) {
				ok = true
				got <- true
			}
		}
		if !ok {
			got <- false
		}
	}()
	done := make(chan error, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	select {
	case ok := <-got:
		if !ok {
			err := c.Wait()
			t.Fatalf("CMD never printed %q: %v\n%s", ready, err, stderr.String())
		}
	case <-ctx.Done():
		_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
		_ = c.Wait()
		t.Fatalf("CMD did not print %q within 30s\n%s", ready, stderr.String())
	}
	go func() { done <- c.Wait() }()
	return c, &stderr, done
}

package integration

import (
	"archive/zip"
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/phylum-box/phylum-box/precheck/osvdb"
)

// The Dev Container Feature lives in docs/ so it ships with the documentation that
// explains it; the spec requires the directory name to equal the feature id.
const featureDir = "docs/devcontainer-feature/phylum-box"

// featureJSON is devcontainer-feature.json as the containers.dev spec defines it.
type featureJSON struct {
	ID               string                   `json:"id"`
	Version          string                   `json:"version"`
	Name             string                   `json:"name"`
	Description      string                   `json:"description"`
	DocumentationURL string                   `json:"documentationURL"`
	LicenseURL       string                   `json:"licenseURL"`
	Keywords         []string                 `json:"keywords"`
	Options          map[string]featureOption `json:"options"`
	ContainerEnv     map[string]string        `json:"containerEnv"`
	Privileged       *bool                    `json:"privileged"`
	Init             *bool                    `json:"init"`
	CapAdd           []string                 `json:"capAdd"`
	SecurityOpt      []string                 `json:"securityOpt"`
	Entrypoint       string                   `json:"entrypoint"`
	Customizations   map[string]any           `json:"customizations"`
	InstallsAfter    []string                 `json:"installsAfter"`
	LegacyIDs        []string                 `json:"legacyIds"`
	Deprecated       *bool                    `json:"deprecated"`
	Mounts           []any                    `json:"mounts"`
}

type featureOption struct {
	Type        string   `json:"type"`
	Proposals   []string `json:"proposals"`
	Enum        []string `json:"enum"`
	Default     any      `json:"default"`
	Description string   `json:"description"`
}

var semver = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)

// optionEnvName is the spec's option resolution: non-word characters become "_",
// leading digits/underscores collapse to "_", then upper case.
func optionEnvName(id string) string {
	s := regexp.MustCompile(`[^\w_]`).ReplaceAllString(id, "_")
	s = regexp.MustCompile(`^[\d_]+`).ReplaceAllString(s, "_")
	return strings.ToUpper(s)
}

func TestDevcontainerFeatureJSON(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, featureDir)
	data, err := os.ReadFile(filepath.Join(dir, "devcontainer-feature.json"))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields() // a misspelt property would be silently ignored by tools
	var f featureJSON
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("devcontainer-feature.json: %v", err)
	}
	// Required by the spec.
	if f.ID == "" || f.Version == "" || f.Name == "" {
		t.Fatalf("id, version and name are required: id=%q version=%q name=%q", f.ID, f.Version, f.Name)
	}
	if f.ID != filepath.Base(dir) {
		t.Errorf("id %q must equal the directory name %q", f.ID, filepath.Base(dir))
	}
	if !semver.MatchString(f.Version) {
		t.Errorf("version %q is not a semantic version", f.Version)
	}
	install, err := os.ReadFile(filepath.Join(dir, "install.sh"))
	if err != nil {
		t.Fatalf("install.sh is required next to devcontainer-feature.json: %v", err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "install.sh")); fi.Mode().Perm()&0o111 == 0 {
		t.Error("install.sh must be executable (tools run it directly)")
	}
	for id, o := range f.Options {
		switch o.Type {
		case "boolean":
			if _, ok := o.Default.(bool); !ok {
				t.Errorf("option %s: boolean option needs a boolean default, got %#v", id, o.Default)
			}
		case "string":
			if _, ok := o.Default.(string); !ok {
				t.Errorf("option %s: string option needs a string default, got %#v", id, o.Default)
			}
		default:
			t.Errorf("option %s: type %q; the spec allows boolean and string", id, o.Type)
		}
		if len(o.Enum) > 0 && len(o.Proposals) > 0 {
			t.Errorf("option %s: use enum or proposals, not both", id)
		}
		if o.Description == "" {
			t.Errorf("option %s has no description", id)
		}
		// Each option reaches install.sh as an environment variable; one that the
		// script does not read does nothing.
		if env := optionEnvName(id); !strings.Contains(string(install), "${"+env+":-") {
			t.Errorf("option %s (variable %s) is not read by install.sh", id, env)
		}
	}
	// What nested rootless containers need from Docker: unshare(CLONE_NEWUSER) and
	// mount are blocked by the default seccomp and AppArmor profiles, and the kernel
	// refuses a new procfs while /proc has masked paths over-mounted.
	for _, want := range []string{"seccomp=unconfined", "apparmor=unconfined", "systempaths=unconfined"} {
		if !contains(f.SecurityOpt, want) {
			t.Errorf("securityOpt lacks %s", want)
		}
	}
	if f.Privileged != nil && *f.Privileged {
		t.Error("the feature must not ask for a privileged container: user namespaces suffice")
	}
	// install.sh must be POSIX sh: base images may have no bash.
	if _, err := exec.LookPath("shellcheck"); err != nil {
		skipf(t, "shellcheck is not installed (hack/install-deps.d/devcontainer.sh installs it); install.sh not linted")
	}
	if out, err := exec.Command("shellcheck", "-s", "sh", filepath.Join(dir, "install.sh")).CombinedOutput(); err != nil {
		t.Errorf("shellcheck -s sh install.sh: %v\n%s", err, out)
	}
}

// osvSourceFromCorpus writes <dst>/<Ecosystem>/all.zip, the layout of OSV's
// exports, from the corpus's real records.
func osvSourceFromCorpus(t *testing.T, corpus, dst string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(corpus, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no OSV records in %s: %v", corpus, err)
	}
	byEco := map[string]map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var rec struct {
			Affected []struct {
				Package struct{ Ecosystem string } `json:"package"`
			} `json:"affected"`
		}
		if err := json.Unmarshal(b, &rec); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, a := range rec.Affected {
			if byEco[a.Package.Ecosystem] == nil {
				byEco[a.Package.Ecosystem] = map[string][]byte{}
			}
			byEco[a.Package.Ecosystem][filepath.Base(f)] = b
		}
	}
	for _, eco := range osvdb.Ecosystems {
		dir := filepath.Join(dst, eco)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		fh, err := os.Create(filepath.Join(dir, "all.zip"))
		if err != nil {
			t.Fatal(err)
		}
		zw := zip.NewWriter(fh)
		for name, b := range byEco[eco] {
			w, err := zw.Create(name)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(b); err != nil {
				t.Fatal(err)
			}
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		if err := fh.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestDevcontainerFeatureInstall runs install.sh as a dev container tool would —
// as root, options in the environment — in a Debian root made by debootstrap, with
// the built binary bound in, and checks the result from inside that root.
func TestDevcontainerFeatureInstall(t *testing.T) {
	if os.Geteuid() != 0 {
		skipf(t, "needs root to chroot into a debootstrapped Debian root; run `sudo make integration`")
	}
	if _, err := exec.LookPath("debootstrap"); err != nil {
		skipf(t, "debootstrap is not installed; run `make deps` (hack/install-deps.d/devcontainer.sh)")
	}
	if suite.binErr != nil {
		t.Fatalf("no phylum-box binary: %v", suite.binErr)
	}
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	base := debianBase(t, ctx)
	target := overlayRoot(t, base)

	// What a dev container tool provides: the feature directory, a container user,
	// and here the binary under test, bound read-only as if from the build context.
	copyTree(t, filepath.Join(root, featureDir), filepath.Join(target, "tmp/feature"))
	bound := filepath.Join(target, "opt/build/phylum-box")
	bindMount(t, suite.bin, bound, true)
	mount(t, "proc", filepath.Join(target, "proc"), "proc", 0, "")
	minimalDev(t, filepath.Join(target, "dev"))
	mount(t, "/sys", filepath.Join(target, "sys"), "", syscall.MS_BIND|syscall.MS_REC, "") // cgroups, for the sandbox
	// A local OSV source made from the corpus's real records stands in for the
	// network; the first install points at a missing one, as if offline.
	osvSourceFromCorpus(t, filepath.Join(root, "..", "shared", "corpus", "osv"), filepath.Join(target, "srv/osv"))
	chrootRun(t, ctx, target, nil, "useradd", "-m", "-s", "/bin/bash", "vscode")
	// An image may already hand out subordinate ids; the new range must not overlap.
	for _, f := range []string{"etc/subuid", "etc/subgid"} {
		if err := os.WriteFile(filepath.Join(target, f), []byte("alice:100000:65536\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	env := []string{
		"_REMOTE_USER=vscode", "_CONTAINER_USER=vscode",
		"_REMOTE_USER_HOME=/home/vscode", "_CONTAINER_USER_HOME=/home/vscode",
		"BINARYPATH=/opt/build/phylum-box",
		"ALIASES=true", "DBUPDATE=true", "DBSOURCE=/srv/osv-offline",
	}
	start := time.Now()
	out := chrootRun(t, ctx, target, env, "/tmp/feature/install.sh")
	t.Logf("install.sh took %v:\n%s", time.Since(start).Round(time.Millisecond), out)
	if !strings.Contains(out, "did not complete for vscode") {
		t.Errorf("an unreachable database source must be reported, not fatal:\n%s", out)
	}

	// The installed binary answers inside the Debian root.
	ver := chrootRun(t, ctx, target, nil, "/usr/local/bin/phylum-box", "--version")
	if !strings.HasPrefix(ver, "phylum-box ") {
		t.Errorf("phylum-box --version in the Debian root: %q", ver)
	}
	// Runtime needs: newuidmap for a full uid map, and a subordinate range for the user.
	chrootRun(t, ctx, target, nil, "sh", "-c", "command -v newuidmap && command -v newgidmap")
	for _, f := range []string{"etc/subuid", "etc/subgid"} {
		b, err := os.ReadFile(filepath.Join(target, f))
		if err != nil || !regexp.MustCompile(`(?m)^vscode:165536:65536$`).Match(b) {
			t.Errorf("/%s has no range for vscode: %v\n%s", f, err, b)
		}
	}
	// The aliases: files in place, and a login shell of the user gets the function.
	for _, f := range []string{"etc/profile.d/phylum-box.sh", "etc/fish/conf.d/phylum-box.fish"} {
		if _, err := os.Stat(filepath.Join(target, f)); err != nil {
			t.Errorf("alias file /%s: %v", f, err)
		}
	}
	// A manager must be on PATH for shell-init to wrap it; a copy of true stands in
	// for npm (it is never run: the check is what the name resolves to).
	chrootRun(t, ctx, target, nil, "cp", "/bin/true", "/usr/local/bin/npm")
	help := chrootRun(t, ctx, target, nil, "phylum-box", "--help")
	for _, shell := range [][]string{
		{"su", "-", "vscode", "-c", "type npm"},                            // login shell: /etc/profile.d
		{"su", "vscode", "-s", "/bin/bash", "-c", "bash -i -c 'type npm'"}, // interactive: /etc/bash.bashrc
	} {
		if !strings.Contains(help, "\n  npm ") {
			t.Log("TODO: no npm command in this binary, so shell-init wraps nothing; alias check skipped")
			break
		}
		got := chrootRun(t, ctx, target, nil, shell...)
		if !strings.Contains(got, "function") {
			t.Errorf("%q: npm is not the phylum-box function:\n%s", shell, got)
		}
	}

	// Idempotent: a rebuilt layer runs install.sh again. This time the binary is the
	// file shipped next to install.sh (a feature packaged with its binary), and the
	// database source is reachable: the user gets a database.
	copyTree(t, suite.bin, filepath.Join(target, "tmp/feature/phylum-box"))
	again := chrootRun(t, ctx, target, []string{"_REMOTE_USER=vscode", "_CONTAINER_USER=vscode", "DBSOURCE=/srv/osv"},
		"/tmp/feature/install.sh")
	if !strings.Contains(again, "installed phylum-box") || strings.Contains(again, "did not complete") {
		t.Errorf("second install (binary next to install.sh, local OSV source):\n%s", again)
	}
	db := filepath.Join(target, "home/vscode/.local/share/phylum-box/osv.db")
	if fi, err := os.Stat(db); err != nil {
		t.Errorf("db update did not create the user's database: %v", err)
	} else if st := fi.Sys().(*syscall.Stat_t); st.Uid == 0 {
		t.Errorf("%s belongs to root; the container user could not update it", db)
	}
	status := chrootRun(t, ctx, target, nil, "su", "vscode", "-c", "phylum-box db status")
	t.Logf("db status as vscode:\n%s", status)

	// What the runtime packages and the subordinate range are for: the container
	// user gets a rootless sandbox with a full uid map (through newuidmap).
	if !strings.Contains(help, "\n  run ") {
		t.Log("TODO: no run command in this binary; the rootless sandbox in the Debian root is not checked")
		return
	}
	sandbox := enterAsUser(t, ctx, target, "vscode",
		`mkdir -p ~/project && cd ~/project && phylum-box run -- cat /proc/self/uid_map`)
	t.Logf("uid map of a sandbox started by vscode in the Debian root:\n%s", sandbox)
	if !regexp.MustCompile(`(?m)^\s*1\s+\d+\s+65535\s*$`).MatchString(sandbox) {
		t.Errorf("the sandbox in the Debian root has no full uid map (newuidmap + /etc/subuid):\n%s", sandbox)
	}
	rc, _ := os.ReadFile(filepath.Join(target, "etc/bash.bashrc"))
	if n := strings.Count(string(rc), "# phylum-box shell integration"); n != 1 {
		t.Errorf("/etc/bash.bashrc has the integration %d times after two installs", n)
	}
	sub, _ := os.ReadFile(filepath.Join(target, "etc/subuid"))
	if n := strings.Count(string(sub), "vscode:"); n != 1 {
		t.Errorf("/etc/subuid has %d ranges for vscode after two installs", n)
	}
}

// enterAsUser runs script as user in root the way a container does — a new mount
// namespace whose root is pivoted to root — because the kernel refuses to create
// user namespaces (the sandbox) from a chrooted process.
func enterAsUser(t *testing.T, ctx context.Context, root, user, script string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(root, ".oldroot"), 0o700); err != nil {
		t.Fatal(err)
	}
	enter := `cd "$1" && pivot_root . .oldroot && cd / && umount -l /.oldroot && exec su - "$2" -c "$3"`
	cmd := exec.CommandContext(ctx, "unshare", "--mount", "--propagation", "private", "sh", "-c", enter, "enter", root, user, script)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("as %s in the Debian root: %q: %v\n%s", user, script, err, out)
	}
	return string(out)
}

// testCacheDir keeps the debootstrapped root between runs: building it takes about
// half a minute with a warm mirror, several on a cold one.
func testCacheDir(t *testing.T) string {
	if d := os.Getenv("PHYLUM_BOX_TEST_CACHE"); d != "" {
		return d
	}
	d, err := os.UserCacheDir()
	if err != nil {
		t.Fatalf("no cache directory (set PHYLUM_BOX_TEST_CACHE): %v", err)
	}
	return filepath.Join(d, "phylum-box-test")
}

// hostSuite is this Debian host's codename (its keyring verifies that suite), or
// bookworm elsewhere.
func hostSuite() string {
	b, _ := os.ReadFile("/etc/os-release")
	id, codename := "", ""
	for _, l := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(l, "=")
		v = strings.Trim(v, `"`)
		switch k {
		case "ID":
			id = v
		case "VERSION_CODENAME":
			codename = v
		}
	}
	if id == "debian" && codename != "" {
		return codename
	}
	return "bookworm"
}

// aptMirror is the Debian mirror this machine's apt uses, so debootstrap goes where
// the network allows.
func aptMirror() string {
	files, _ := filepath.Glob("/etc/apt/sources.list.d/*")
	files = append([]string{"/etc/apt/sources.list"}, files...)
	uri := regexp.MustCompile(`(?:^URIs:\s*|^deb\s+(?:\[[^\]]*\]\s+)?)(\S+/debian)/?(?:\s|$)`)
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			if m := uri.FindStringSubmatch(strings.TrimSpace(sc.Text())); m != nil {
				fh.Close()
				return m[1]
			}
		}
		fh.Close()
	}
	return "http://deb.debian.org/debian"
}

// debianBase returns a cached minimal Debian root, building it once per suite and
// architecture. It is never modified: tests write to an overlay on top.
func debianBase(t *testing.T, ctx context.Context) string {
	t.Helper()
	suiteName := hostSuite()
	dir := filepath.Join(testCacheDir(t), "debootstrap", suiteName+"-"+runtime.GOARCH)
	if _, err := os.Stat(filepath.Join(dir, "usr/bin/apt-get")); err == nil {
		return dir
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	// Serialise concurrent builders; the loser finds the finished root.
	lock, err := os.OpenFile(dir+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "usr/bin/apt-get")); err == nil {
		return dir
	}
	tmp := fmt.Sprintf("%s.tmp-%d", dir, os.Getpid())
	os.RemoveAll(tmp)
	mirror := aptMirror()
	t.Logf("debootstrap %s from %s into %s (cached for later runs)", suiteName, mirror, dir)
	start := time.Now()
	cmd := exec.CommandContext(ctx, "debootstrap", "--variant=minbase", suiteName, tmp, mirror)
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(tmp)
		t.Fatalf("debootstrap %s %s: %v\n%s", suiteName, mirror, err, tail(out, 3000))
	}
	t.Logf("debootstrap took %v", time.Since(start).Round(time.Second))
	os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// overlayRoot puts a writable overlay over base so each run starts from the same
// pristine root; it falls back to a copy where overlayfs is unavailable.
func overlayRoot(t *testing.T, base string) string {
	t.Helper()
	work := mountScratch(t)
	upper, wdir, merged := filepath.Join(work, "upper"), filepath.Join(work, "work"), filepath.Join(work, "root")
	for _, d := range []string{upper, wdir, merged} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	opts := "lowerdir=" + base + ",upperdir=" + upper + ",workdir=" + wdir
	if err := syscall.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		t.Logf("overlayfs unavailable (%v); copying the root instead", err)
		if out, err := exec.Command("cp", "-a", base+"/.", merged).CombinedOutput(); err != nil {
			t.Fatalf("copying the Debian root: %v\n%s", err, out)
		}
		return merged
	}
	t.Cleanup(func() { unmount(t, merged) })
	return merged
}

// mountScratch is a temporary directory for mount points. Unlike t.TempDir it is
// removed only when nothing is mounted below it any more: a recursive delete that
// walked into a leftover bind mount would delete the host's files.
func mountScratch(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pbox-devcontainer-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if m := mountsBelow(dir); len(m) > 0 {
			t.Errorf("not removing %s: still mounted: %q", dir, m)
			return
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("removing %s: %v", dir, err)
		}
	})
	return dir
}

func mountsBelow(dir string) []string {
	b, _ := os.ReadFile("/proc/self/mountinfo")
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			out = append(out, f[4])
		}
	}
	return out
}

// minimalDev gives the root a /dev of its own: a tmpfs with the few device nodes
// apt and the shells use bound in one by one, and a private devpts. Binding the
// host's whole /dev would expose every device to the install script.
func minimalDev(t *testing.T, dev string) {
	t.Helper()
	mount(t, "tmpfs", dev, "tmpfs", syscall.MS_NOSUID|syscall.MS_NOEXEC, "mode=755")
	for _, n := range []string{"null", "zero", "full", "random", "urandom", "tty"} {
		bindMount(t, "/dev/"+n, filepath.Join(dev, n), false)
	}
	mount(t, "devpts", filepath.Join(dev, "pts"), "devpts", syscall.MS_NOSUID|syscall.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620")
	if err := os.Symlink("pts/ptmx", filepath.Join(dev, "ptmx")); err != nil {
		t.Fatal(err)
	}
}

func mount(t *testing.T, src, dst, fstype string, flags uintptr, data string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount(src, dst, fstype, flags, data); err != nil {
		t.Fatalf("mount %s on %s: %v", src, dst, err)
	}
	t.Cleanup(func() { unmount(t, dst) })
}

func bindMount(t *testing.T, src, dst string, readOnly bool) {
	t.Helper()
	if fi, err := os.Stat(src); err == nil && !fi.IsDir() {
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mount(src, dst, "", syscall.MS_BIND, ""); err != nil {
			t.Fatalf("bind %s on %s: %v", src, dst, err)
		}
		t.Cleanup(func() { unmount(t, dst) })
	} else {
		mount(t, src, dst, "", syscall.MS_BIND, "")
	}
	if readOnly {
		if err := syscall.Mount("", dst, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
			t.Fatalf("remount %s read-only: %v", dst, err)
		}
	}
}

// unmount detaches lazily: a process that outlived its test must not keep the
// overlay (and the cache below it) pinned.
func unmount(t *testing.T, dir string) {
	if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
		t.Errorf("unmount %s: %v", dir, err)
	}
}

// chrootRun runs argv inside root with a clean environment plus env, failing the
// test on a non-zero exit, and returns the combined output.
func chrootRun(t *testing.T, ctx context.Context, root string, env []string, argv ...string) string {
	t.Helper()
	// chroot(8) resolves argv[0] inside the root; exec.Command would look it up on
	// the host.
	cmd := exec.CommandContext(ctx, "chroot", append([]string{root}, argv...)...)
	cmd.Env = append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LANG=C.UTF-8"}, env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("in the Debian root: %q: %v\n%s", argv, err, out)
	}
	return string(out)
}

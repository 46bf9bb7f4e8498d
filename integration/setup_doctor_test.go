package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// `phylum-box doctor` and `phylum-box setup` against this machine: doctor as root
// and as an unprivileged user, setup for a throwaway user created for the test,
// then doctor as that user, then setup again (idempotent). Helpers here carry the
// sd prefix.

// sdReport is doctor's --format json output.
type sdReport struct {
	User       string `json:"user"`
	UID        int    `json:"uid"`
	Root       bool   `json:"root"`
	CgroupMode string `json:"cgroup_mode"`
	Checks     []struct {
		ID     string   `json:"id"`
		Title  string   `json:"title"`
		Level  string   `json:"level"`
		Detail string   `json:"detail"`
		Fix    []string `json:"fix"`
	} `json:"checks"`
	Verdict struct {
		Level   string `json:"level"`
		Summary string `json:"summary"`
	} `json:"verdict"`
}

func (r sdReport) level(id string) string {
	for _, c := range r.Checks {
		if c.ID == id {
			return c.Level
		}
	}
	return "(no " + id + " check)"
}

func (r sdReport) check(t testing.TB, id string) string {
	t.Helper()
	for _, c := range r.Checks {
		if c.ID == id {
			return fmt.Sprintf("%s [%s] %s; fix: %q", c.ID, c.Level, c.Detail, c.Fix)
		}
	}
	t.Fatalf("doctor printed no %s check", id)
	return ""
}

// sdDoctor runs `phylum-box doctor --format json` as m's user and checks that the
// exit code agrees with the verdict (0 exactly when protected).
func sdDoctor(t *testing.T, m mode, env ...string) sdReport {
	t.Helper()
	r := invocation{Mode: m, Args: []string{"doctor", "--format", "json"}, Dir: newScratch(t), Home: newHome(t, m), Env: env}.exec(t)
	var rep sdReport
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
		t.Fatalf("doctor --format json printed no JSON: %v\n%s", err, r)
	}
	if want := map[bool]int{true: 0, false: 1}[rep.Verdict.Level == "ok"]; r.Code != want {
		t.Errorf("doctor exited %d with verdict %q; want %d\n%s", r.Code, rep.Verdict.Summary, want, r)
	}
	if rep.Verdict.Level == "ok" && rep.Verdict.Summary != "protected" {
		t.Errorf("verdict level ok but summary %q", rep.Verdict.Summary)
	}
	return rep
}

// sdDatabase imports the OSV corpus into a database every test user can read.
func sdDatabase(t *testing.T) string {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	corpus := filepath.Join(root, "..", "shared", "corpus", "osv")
	db := filepath.Join(newScratch(t), "osv.db")
	r := invocation{Mode: mode{Name: "root"}, Args: []string{"db", "import", "--db", db, corpus}, Dir: newScratch(t), Home: newHome(t, mode{Name: "root"})}.exec(t)
	if r.Code != 0 {
		t.Fatalf("db import: %s", r)
	}
	if err := os.Chmod(db, 0o644); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestDoctorAsRoot(t *testing.T) {
	m := requireMode(t, "root")
	db := sdDatabase(t)
	rep := sdDoctor(t, m, "PHYLUM_BOX_DB="+db)
	if !rep.Root || rep.UID != 0 {
		t.Errorf("root=%v uid=%d", rep.Root, rep.UID)
	}
	if got := rep.level("osv-db"); got != "ok" {
		t.Errorf("database just imported: %s", rep.check(t, "osv-db"))
	}
	if got := rep.level("userns"); got != "ok" {
		t.Errorf("root can always create user namespaces here (the suite runs as root): %s", rep.check(t, "userns"))
	}
	if rep.CgroupMode != "none" {
		for _, id := range []string{"delegation", "limit.memory", "limit.pids", "limit.cpu", "limit.timeout"} {
			if rep.level(id) != "ok" {
				t.Errorf("as root on a host with cgroups: %s", rep.check(t, id))
			}
		}
	}
	if rep.level("seccomp") != "ok" {
		t.Errorf("the test binary is built with -tags seccomp: %s", rep.check(t, "seccomp"))
	}
	t.Logf("doctor as root with a database: %s", rep.Verdict.Summary)
	// Without a database the verdict names it, and the exit code is 1.
	rep = sdDoctor(t, m, "PHYLUM_BOX_DB="+filepath.Join(newScratch(t), "none.db"))
	if rep.level("osv-db") != "not protected" || !strings.HasPrefix(rep.Verdict.Summary, "not protected: ") || !strings.Contains(rep.Verdict.Summary, "OSV database") {
		t.Errorf("no database: verdict %q, %s", rep.Verdict.Summary, rep.check(t, "osv-db"))
	}
	t.Logf("doctor as root without a database: %s", rep.Verdict.Summary)
}

func TestDoctorAsUnprivilegedUser(t *testing.T) {
	m := requireMode(t, "rootless")
	rep := sdDoctor(t, m)
	if rep.Root || rep.UID != m.User.UID {
		t.Errorf("root=%v uid=%d, want uid %d", rep.Root, rep.UID, m.User.UID)
	}
	if rep.level("userns") != "ok" {
		t.Errorf("the suite found %s able to create user namespaces: %s", m.User.Name, rep.check(t, "userns"))
	}
	// Delegated or not, the memory limit is enforced exactly when a cgroup is
	// delegated, and a missing delegation names the command that fixes it.
	deleg, mem := rep.level("delegation"), rep.level("limit.memory")
	if rep.CgroupMode != "none" && (deleg == "ok") != (mem == "ok") {
		t.Errorf("delegation and memory limit disagree:\n%s\n%s", rep.check(t, "delegation"), rep.check(t, "limit.memory"))
	}
	if deleg == "degraded" && !strings.Contains(rep.check(t, "delegation"), "sudo phylum-box setup --user "+m.User.Name) {
		t.Errorf("no setup command: %s", rep.check(t, "delegation"))
	}
	if rep.level("osv-db") != "not protected" {
		t.Errorf("the fresh $HOME has no database: %s", rep.check(t, "osv-db"))
	}
	t.Logf("doctor as %s: %s", m.User.Name, rep.Verdict.Summary)
}

// sdUser is a throwaway user created for one test and removed with everything
// setup gave it.
func sdUser(t *testing.T) *testUser {
	t.Helper()
	name := fmt.Sprintf("pbsd-%d", os.Getpid()%100000)
	if out, err := exec.Command("useradd", "--system", "--create-home", "--user-group", "--shell", "/bin/sh", name).CombinedOutput(); err != nil {
		t.Fatalf("useradd %s: %v: %s", name, err, out)
	}
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	t.Cleanup(func() {
		dirs, _ := filepath.Glob("/sys/fs/cgroup/*/phylum-box-" + u.Uid)
		for _, d := range dirs {
			// Runs leave their child cgroups removed; anything left is a finding.
			if err := os.Remove(d); err != nil {
				t.Errorf("removing the delegated cgroup: %v", err)
			}
		}
		for _, f := range []struct{ file, flag string }{{"/etc/subuid", "--del-subuids"}, {"/etc/subgid", "--del-subgids"}} {
			for _, r := range sdRanges(t, f.file, name) {
				if out, err := exec.Command("usermod", f.flag, r, name).CombinedOutput(); err != nil {
					t.Errorf("usermod %s %s: %v: %s", f.flag, r, err, out)
				}
			}
		}
		if out, err := exec.Command("userdel", "--remove", name).CombinedOutput(); err != nil && !bytes.Contains(out, []byte("mail spool")) {
			t.Errorf("userdel %s: %v: %s", name, err, out)
		}
	})
	return &testUser{Name: name, UID: uid, GID: gid}
}

// sdRanges returns the user's ranges in an /etc/subuid-style file as "A-B".
func sdRanges(t *testing.T, file, name string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Split(l, ":")
		if len(f) != 3 || f[0] != name {
			continue
		}
		s, _ := strconv.ParseUint(f[1], 10, 32)
		n, _ := strconv.ParseUint(f[2], 10, 32)
		out = append(out, fmt.Sprintf("%d-%d", s, s+n-1))
	}
	return out
}

// sdOverlaps reports a range of name's that overlaps anyone else's in file.
func sdOverlaps(t *testing.T, file, name string) string {
	t.Helper()
	b, _ := os.ReadFile(file)
	type rg struct {
		owner      string
		start, end uint64
	}
	var all []rg
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Split(l, ":")
		if len(f) != 3 {
			continue
		}
		s, err1 := strconv.ParseUint(f[1], 10, 32)
		n, err2 := strconv.ParseUint(f[2], 10, 32)
		if err1 == nil && err2 == nil {
			all = append(all, rg{f[0], s, s + n})
		}
	}
	for _, a := range all {
		for _, b := range all {
			if a.owner == name && b.owner != name && a.start < b.end && b.start < a.end {
				return fmt.Sprintf("%s's %d-%d overlaps %s's %d-%d", a.owner, a.start, a.end-1, b.owner, b.start, b.end-1)
			}
		}
	}
	return ""
}

func sdSetup(t *testing.T, args ...string) result {
	t.Helper()
	root := mode{Name: "root"}
	return invocation{Mode: root, Args: append([]string{"setup"}, args...), Dir: newScratch(t), Home: newHome(t, root)}.exec(t)
}

func TestSetupForAFreshUser(t *testing.T) {
	requireMode(t, "root")
	u := sdUser(t)
	m := mode{Name: "rootless-fresh", User: u}
	if why := checkUserns(u); why != "" {
		skipf(t, "fresh user half not run: %s", why)
	}
	db := sdDatabase(t)
	subuidBefore, _ := os.ReadFile("/etc/subuid")

	before := sdDoctor(t, m, "PHYLUM_BOX_DB="+db)
	if before.level("subids") != "degraded" {
		t.Errorf("a system user gets no subordinate ids from useradd: %s", before.check(t, "subids"))
	}
	if before.CgroupMode != "none" && before.level("delegation") != "degraded" {
		t.Errorf("nothing is delegated yet: %s", before.check(t, "delegation"))
	}

	// --dry-run says what it would do and does nothing.
	r := sdSetup(t, "--user", u.Name, "--dry-run")
	if r.Code != 0 || !strings.Contains(r.Stdout, "would        subordinate ids: add uids and gids") {
		t.Errorf("setup --dry-run:\n%s", r)
	}
	if after, _ := os.ReadFile("/etc/subuid"); !bytes.Equal(after, subuidBefore) {
		t.Errorf("--dry-run changed /etc/subuid")
	}
	if dirs, _ := filepath.Glob("/sys/fs/cgroup/*/phylum-box-" + strconv.Itoa(u.UID)); len(dirs) != 0 {
		t.Errorf("--dry-run created %v", dirs)
	}

	r = sdSetup(t, "--user", u.Name)
	if r.Code != 0 {
		t.Fatalf("setup --user %s:\n%s", u.Name, r)
	}
	t.Logf("setup:\n%s", r.Stdout)
	for _, f := range []string{"/etc/subuid", "/etc/subgid"} {
		rs := sdRanges(t, f, u.Name)
		if len(rs) != 1 {
			t.Errorf("%s: %s has ranges %v, want one", f, u.Name, rs)
			continue
		}
		var a, b uint64
		fmt.Sscanf(rs[0], "%d-%d", &a, &b)
		if b-a+1 != 65536 {
			t.Errorf("%s: range %s is not 65536 ids", f, rs[0])
		}
		if o := sdOverlaps(t, f, u.Name); o != "" {
			t.Errorf("%s: %s", f, o)
		}
	}

	after := sdDoctor(t, m, "PHYLUM_BOX_DB="+db)
	for _, id := range []string{"subids", "osv-db"} {
		if after.level(id) != "ok" {
			t.Errorf("after setup: %s", after.check(t, id))
		}
	}
	if after.CgroupMode != "none" {
		for _, id := range []string{"delegation", "limit.memory", "limit.pids", "limit.cpu"} {
			if after.level(id) != "ok" {
				t.Errorf("after setup: %s", after.check(t, id))
			}
		}
	}
	// What is still missing for the user must be missing for root as well: the
	// rest is the host's, not the user's.
	rootRep := sdDoctor(t, mode{Name: "root"}, "PHYLUM_BOX_DB="+db)
	for _, c := range after.Checks {
		if (c.Level == "degraded" || c.Level == "not protected") && rootRep.level(c.ID) == "ok" && c.ID != "userns" {
			t.Errorf("after setup %s still has a gap root does not: %s", u.Name, after.check(t, c.ID))
		}
	}
	t.Logf("doctor as %s after setup: %s", u.Name, after.Verdict.Summary)

	// A run really gets the memory limit from the delegated cgroup.
	if after.CgroupMode != "none" {
		b := newBox(t, m)
		res := b.run([]string{"-v", "--memory", "64MiB"}, "true")
		if res.Code != 0 || strings.Contains(res.Stderr, "not enforced") {
			t.Errorf("run as %s after setup: want exit 0 and no unenforced limit:\n%s", u.Name, res)
		}
	}

	// Again: nothing changes, and it says so.
	subuidSet, _ := os.ReadFile("/etc/subuid")
	r = sdSetup(t, "--user", u.Name)
	if r.Code != 0 || !strings.Contains(r.Stdout, "nothing to change") || strings.Contains(r.Stdout, "  done ") {
		t.Errorf("second setup should change nothing:\n%s", r)
	}
	if again, _ := os.ReadFile("/etc/subuid"); !bytes.Equal(again, subuidSet) {
		t.Errorf("second setup changed /etc/subuid:\nbefore:\n%s\nafter:\n%s", subuidSet, again)
	}
}

func TestSetupWithoutUser(t *testing.T) {
	requireMode(t, "root")
	r := sdSetup(t)
	if !strings.Contains(r.Stdout, "sudo phylum-box setup --user") || !strings.Contains(r.Stdout, "Diagnosis for root:") {
		t.Errorf("setup without --user should explain --user and diagnose root's own use:\n%s", r)
	}
	if r.Code != 0 {
		t.Errorf("root's own use is ready here, want exit 0:\n%s", r)
	}
}

func TestSetupRefusesNonRoot(t *testing.T) {
	m := requireMode(t, "rootless")
	r := invocation{Mode: m, Args: []string{"setup", "--user", m.User.Name}, Dir: newScratch(t), Home: newHome(t, m)}.exec(t)
	if r.Code != 2 || !strings.Contains(r.Stderr, "sudo phylum-box setup --user "+m.User.Name) {
		t.Errorf("setup as %s: want exit 2 and the sudo command:\n%s", m.User.Name, r)
	}
}

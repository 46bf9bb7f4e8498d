package doctor

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/phylum-box/phylum-box/container"
)

func findCheck(t *testing.T, checks []Check, id string) Check {
	t.Helper()
	for _, c := range checks {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no check %q in %+v", id, checks)
	return Check{}
}

var defaultLimits = container.Limits{Memory: 4 << 30, Pids: 1024, CPUs: 2, Timeout: 30 * time.Minute}

// rootlessFacts is a healthy rootless workstation on a v1 host; cases change
// one thing each.
func rootlessFacts() HostFacts {
	return HostFacts{
		Caps: Capabilities{
			CgroupMode: container.CgroupHybrid, Seccomp: true, UserNamespaces: true, LandlockScope: true, NPROCPerUserNS: true,
			Delegation: &container.Delegation{Path: "/phylum-box-1000", Mode: container.CgroupHybrid, Dirs: []string{"/sys/fs/cgroup/memory/phylum-box-1000", "/sys/fs/cgroup/pids/phylum-box-1000"}},
		},
		User: "alice", UID: 1000, Kernel: "6.1.0-13-amd64",
		Sysctls:      map[string]string{sysctlMaxUserNS: "63000"},
		UsernsProbed: true,
		NewUIDMap:    IDMapHelper{Path: "/usr/bin/newuidmap", Privileged: true, How: "setuid root"},
		NewGIDMap:    IDMapHelper{Path: "/usr/bin/newgidmap", Privileged: true, How: "setuid root"},
		SubUID:       []container.SubIDRange{{Owner: "alice", Start: 100000, Count: 65536}},
		SubGID:       []container.SubIDRange{{Owner: "alice", Start: 100000, Count: 65536}},
		Binary:       "/usr/local/bin/phylum-box",
		Libseccomp:   "/usr/lib/x86_64-linux-gnu/libseccomp.so.2.5.4",
		ProjectDir:   "/home/alice/proj", ProjectFS: "ext4",
		Limits: defaultLimits,
	}
}

func TestDiagnoseHealthyRootlessIsProtected(t *testing.T) {
	checks := Diagnose(rootlessFacts())
	v := Summarize(checks)
	if v.Level != LevelOK || v.Text != "protected" {
		t.Fatalf("verdict %+v, want protected; checks:\n%+v", v, checks)
	}
	if d := findCheck(t, checks, "delegation").Detail; !strings.Contains(d, "/sys/fs/cgroup/{memory,pids}/phylum-box-1000") {
		t.Errorf("delegation detail should list the hierarchies compactly: %s", d)
	}
}

func TestDiagnoseUserNamespaces(t *testing.T) {
	cases := []struct {
		name      string
		change    func(f *HostFacts)
		level     Level
		wantInFix []string // each must appear in the joined fixes
		wantInDet string
	}{
		{"probe succeeded", func(f *HostFacts) {}, LevelOK, nil, "was created"},
		{"apparmor restricts but a profile allows it", func(f *HostFacts) {
			f.Sysctls[sysctlAppArmorNS] = "1"
			f.AppArmorLabel = "phylum-box (unconfined)"
		}, LevelOK, nil, "profile allows them: phylum-box (unconfined)"},
		{"apparmor restriction", func(f *HostFacts) {
			f.Sysctls[sysctlAppArmorNS] = "1"
			f.UsernsProbeErr = "fork/exec /proc/self/exe: permission denied"
		}, LevelBroken, []string{
			"profile phylum-box /usr/local/bin/phylum-box flags=(unconfined)", "  userns,",
			"sudo apparmor_parser -r /etc/apparmor.d/phylum-box",
			"sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0",
		}, "kernel.apparmor_restrict_unprivileged_userns is 1"},
		{"debian unprivileged_userns_clone=0", func(f *HostFacts) {
			f.Sysctls[sysctlUsernsClone] = "0"
			f.UsernsProbeErr = "operation not permitted"
		}, LevelBroken, []string{"sudo sysctl -w kernel.unprivileged_userns_clone=1", "/etc/sysctl.d/"}, "probe: operation not permitted"},
		{"max_user_namespaces=0", func(f *HostFacts) {
			f.Sysctls[sysctlMaxUserNS] = "0"
			f.UsernsProbeErr = "no space left on device"
		}, LevelBroken, []string{"sudo sysctl -w user.max_user_namespaces=15000"}, "user.max_user_namespaces is 0"},
		{"probe fails with no knob set (seccomp in a container)", func(f *HostFacts) {
			f.UsernsProbeErr = "operation not permitted"
		}, LevelBroken, []string{"seccomp"}, "creating a user namespace failed: operation not permitted"},
		{"not probed (setup for another user), knobs allow", func(f *HostFacts) {
			f.UsernsProbed = false
		}, LevelOK, nil, "user.max_user_namespaces=63000"},
		{"not probed, apparmor restricts", func(f *HostFacts) {
			f.UsernsProbed = false
			f.Sysctls[sysctlAppArmorNS] = "1"
		}, LevelBroken, []string{"userns,"}, "refuses user namespaces to alice"},
		{"root ignores the unprivileged knobs", func(f *HostFacts) {
			f.Caps.Root = true
			f.UsernsProbed = false
			f.Sysctls[sysctlAppArmorNS] = "1"
			f.Sysctls[sysctlUsernsClone] = "0"
		}, LevelOK, nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := rootlessFacts()
			tc.change(&f)
			c := findCheck(t, Diagnose(f), "userns")
			if c.Level != tc.level {
				t.Errorf("level %v, want %v: %+v", c.Level, tc.level, c)
			}
			fix := strings.Join(c.Fix, "\n")
			for _, w := range tc.wantInFix {
				if !strings.Contains(fix, w) {
					t.Errorf("fix lacks %q:\n%s", w, fix)
				}
			}
			if !strings.Contains(c.Detail, tc.wantInDet) {
				t.Errorf("detail lacks %q: %s", tc.wantInDet, c.Detail)
			}
			if tc.level == LevelBroken {
				if v := Summarize(Diagnose(f)); v.Level != LevelBroken || !strings.HasPrefix(v.Text, "not protected: user namespaces") {
					t.Errorf("verdict %+v", v)
				}
			}
		})
	}
}

func TestDiagnoseLimits(t *testing.T) {
	type want struct{ memory, pids, cpu, timeout Level }
	cases := []struct {
		name   string
		change func(f *HostFacts)
		want   want
		how    map[string]string // check id -> substring of its detail
	}{
		{"rootless delegated", func(f *HostFacts) {}, want{LevelOK, LevelOK, LevelOK, LevelOK},
			map[string]string{"limit.memory": "below the delegated /phylum-box-1000", "limit.timeout": "30m0s"}},
		{"root", func(f *HostFacts) { f.Caps.Root, f.Caps.Delegation = true, nil }, want{LevelOK, LevelOK, LevelOK, LevelOK},
			map[string]string{"limit.cpu": "a cgroup per run (hybrid)", "delegation": "not needed"}},
		{"rootless without delegation, kernel >= 5.14", func(f *HostFacts) {
			f.Caps.Delegation, f.Caps.DelegationErr = nil, errors.New("no cgroup delegated to uid 1000 (/sys/fs/cgroup/cpu/phylum-box-1000 missing); run `sudo phylum-box setup --user alice`")
		}, want{LevelDegraded, LevelOK, LevelDegraded, LevelOK},
			map[string]string{"limit.pids": "RLIMIT_NPROC", "limit.memory": "NOT enforced", "delegation": "phylum-box-1000 missing); without it"}},
		{"rootless without delegation, old kernel", func(f *HostFacts) {
			f.Caps.Delegation, f.Caps.NPROCPerUserNS = nil, false
		}, want{LevelDegraded, LevelDegraded, LevelDegraded, LevelOK},
			map[string]string{"limit.pids": "before 5.14"}},
		{"no cgroup file system", func(f *HostFacts) {
			f.Caps.Delegation, f.Caps.CgroupMode = nil, container.CgroupNone
		}, want{LevelDegraded, LevelOK, LevelDegraded, LevelOK},
			map[string]string{"cgroup": "no cgroup file system"}},
		{"no limits configured", func(f *HostFacts) { f.Limits = container.Limits{} }, want{LevelInfo, LevelInfo, LevelInfo, LevelInfo},
			map[string]string{"limit.memory": "no memory limit is configured"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := rootlessFacts()
			tc.change(&f)
			checks := Diagnose(f)
			got := want{findCheck(t, checks, "limit.memory").Level, findCheck(t, checks, "limit.pids").Level,
				findCheck(t, checks, "limit.cpu").Level, findCheck(t, checks, "limit.timeout").Level}
			if got != tc.want {
				t.Errorf("levels (memory, pids, cpu, timeout) = %v, want %v", got, tc.want)
			}
			for id, sub := range tc.how {
				if d := findCheck(t, checks, id).Detail; !strings.Contains(d, sub) {
					t.Errorf("%s detail lacks %q: %s", id, sub, d)
				}
			}
			if got.memory == LevelDegraded && f.Caps.CgroupMode != container.CgroupNone {
				if fix := findCheck(t, checks, "limit.memory").Fix; len(fix) == 0 || fix[0] != "sudo phylum-box setup --user alice" {
					t.Errorf("an unenforced memory limit must name the setup command, got %q", fix)
				}
			}
		})
	}
}

func TestDiagnoseIDMapping(t *testing.T) {
	cases := []struct {
		name   string
		change func(f *HostFacts)
		id     string
		level  Level
		sub    string
	}{
		{"helpers missing", func(f *HostFacts) { f.NewUIDMap, f.NewGIDMap = IDMapHelper{}, IDMapHelper{} }, "uidmap-tools", LevelDegraded, "newuidmap and newgidmap not found"},
		{"helper not privileged", func(f *HostFacts) { f.NewGIDMap.Privileged = false }, "uidmap-tools", LevelDegraded, "/usr/bin/newgidmap is neither setuid"},
		{"helpers by file caps", func(f *HostFacts) { f.NewUIDMap.How = "file capabilities" }, "uidmap-tools", LevelOK, "newuidmap (file capabilities)"},
		{"no subgid range", func(f *HostFacts) { f.SubGID = nil }, "subids", LevelDegraded, "no range in /etc/subgid"},
		{"no ranges at all", func(f *HostFacts) { f.SubUID, f.SubGID = nil, nil }, "subids", LevelDegraded, "/etc/subuid or /etc/subgid"},
		{"small range", func(f *HostFacts) { f.SubUID[0].Count = 1000 }, "subids", LevelInfo, "above 1000 are unmapped"},
		{"root needs neither", func(f *HostFacts) {
			f.Caps.Root = true
			f.Caps.Identity = container.Identity{UIDMap: nil}
			f.NewUIDMap = IDMapHelper{}
		}, "subids", LevelOK, "no helper is needed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := rootlessFacts()
			tc.change(&f)
			c := findCheck(t, Diagnose(f), tc.id)
			if c.Level != tc.level || !strings.Contains(c.Detail, tc.sub) {
				t.Errorf("got %v %q, want %v containing %q", c.Level, c.Detail, tc.level, tc.sub)
			}
		})
	}
}

func TestDiagnoseSeccompLandlockOverlay(t *testing.T) {
	cases := []struct {
		name   string
		change func(f *HostFacts)
		id     string
		level  Level
		sub    string
	}{
		{"seccomp linked", func(f *HostFacts) {}, "seccomp", LevelOK, "libseccomp.so.2.5.4"},
		{"seccomp not compiled, library present", func(f *HostFacts) {
			f.Caps.Seccomp, f.Libseccomp, f.LibseccompOnHost = false, "", "/lib/x86_64-linux-gnu/libseccomp.so.2"
		}, "seccomp", LevelDegraded, "libseccomp is installed"},
		{"seccomp not compiled, no library", func(f *HostFacts) { f.Caps.Seccomp, f.Libseccomp = false, "" }, "seccomp", LevelDegraded, "no libseccomp.so.2 found"},
		{"no landlock scope", func(f *HostFacts) { f.Caps.LandlockScope = false }, "landlock", LevelInfo, "Linux 6.12+"},
		{"old kernel: no overlay", func(f *HostFacts) { f.Kernel = "5.10.0-28-amd64" }, "overlay", LevelInfo, "needs 5.11"},
		{"overlay on ext4", func(f *HostFacts) {}, "overlay", LevelOK, "/home/alice/proj is on ext4"},
		{"mounts inside the project", func(f *HostFacts) { f.ProjectMounts = []string{"/home/alice/proj/cache"} }, "overlay", LevelInfo, "has mounts inside (/home/alice/proj/cache)"},
		{"project on nfs", func(f *HostFacts) { f.ProjectFS = "nfs" }, "overlay", LevelInfo, "scratch copy"},
		{"unparsable kernel", func(f *HostFacts) { f.Kernel = "" }, "overlay", LevelInfo, "unknown kernel version"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := rootlessFacts()
			tc.change(&f)
			c := findCheck(t, Diagnose(f), tc.id)
			if c.Level != tc.level || !strings.Contains(c.Detail, tc.sub) {
				t.Errorf("got %v %q, want %v containing %q", c.Level, c.Detail, tc.level, tc.sub)
			}
		})
	}
	f := rootlessFacts()
	f.Caps.Seccomp = false
	if v := Summarize(Diagnose(f)); v.Text != "degraded: seccomp" {
		t.Errorf("summary %q, want %q", v.Text, "degraded: seccomp")
	}
}

func TestSummarize(t *testing.T) {
	cases := []struct {
		levels []Level
		want   string
	}{
		{nil, "protected"},
		{[]Level{LevelOK, LevelInfo}, "protected"},
		{[]Level{LevelOK, LevelDegraded, LevelInfo, LevelDegraded}, "degraded: c1, c3"},
		{[]Level{LevelBroken, LevelDegraded, LevelOK}, "not protected: c0 (also degraded: c1)"},
		{[]Level{LevelBroken, LevelBroken}, "not protected: c0, c1"},
	}
	for _, tc := range cases {
		var checks []Check
		for i, l := range tc.levels {
			checks = append(checks, Check{ID: "x", Title: "c" + string(rune('0'+i)), Level: l})
		}
		if got := Summarize(checks).Text; got != tc.want {
			t.Errorf("Summarize(%v) = %q, want %q", tc.levels, got, tc.want)
		}
	}
}

// TestDiagnoseAgreesWithPlanLimits checks, on this host, that doctor predicts
// the enforcement a run really plans.
func TestDiagnoseAgreesWithPlanLimits(t *testing.T) {
	f := GatherHostFacts(os.Geteuid(), defaultLimits)
	checks := Diagnose(f)
	id, err := container.CurrentIdentity()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range container.PlanLimits(defaultLimits, &id) {
		c := findCheck(t, checks, "limit."+e.Limit)
		if got := c.Level == LevelOK; got != e.Enforced {
			t.Errorf("%s: doctor says enforced=%v (%s), the run plans enforced=%v (%s)", e.Limit, got, c.Detail, e.Enforced, e.How)
		}
	}
	if ok, _ := usernsAllowed(f.Sysctls, f.Caps.Root); ok && f.UsernsProbeErr != "" {
		t.Errorf("the knobs allow user namespaces, yet the probe failed: %s", f.UsernsProbeErr)
	}
	if f.Kernel == "" || f.Binary == "" {
		t.Errorf("facts incomplete: %+v", f)
	}
	if container.SeccompCompiled && f.Libseccomp == "" {
		t.Errorf("built with the seccomp tag, yet no libseccomp in /proc/self/maps")
	}
}

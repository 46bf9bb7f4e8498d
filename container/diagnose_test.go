package container

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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

var defaultLimits = Limits{Memory: 4 << 30, Pids: 1024, CPUs: 2, Timeout: 30 * time.Minute}

// rootlessFacts is a healthy rootless workstation on a v1 host; cases change
// one thing each.
func rootlessFacts() HostFacts {
	return HostFacts{
		Caps: Capabilities{
			CgroupMode: CgroupHybrid, Seccomp: true, UserNamespaces: true, LandlockScope: true, NPROCPerUserNS: true,
			Delegation: &Delegation{Path: "/phylum-box-1000", Mode: CgroupHybrid, Dirs: []string{"/sys/fs/cgroup/memory/phylum-box-1000", "/sys/fs/cgroup/pids/phylum-box-1000"}},
		},
		User: "alice", UID: 1000, Kernel: "6.1.0-13-amd64",
		Sysctls:      map[string]string{sysctlMaxUserNS: "63000"},
		UsernsProbed: true,
		NewUIDMap:    IDMapHelper{Path: "/usr/bin/newuidmap", Privileged: true, How: "setuid root"},
		NewGIDMap:    IDMapHelper{Path: "/usr/bin/newgidmap", Privileged: true, How: "setuid root"},
		SubUID:       []SubIDRange{{Owner: "alice", Start: 100000, Count: 65536}},
		SubGID:       []SubIDRange{{Owner: "alice", Start: 100000, Count: 65536}},
		Binary:       "/usr/local/bin/phylum-box",
		Libseccomp:   "/usr/lib/x86_64-linux-gnu/libseccomp.so.2.5.4",
		ProjectDir:   "/home/alice/proj", ProjectFS: "ext4",
		Limits: defaultLimits,
	}
}

func TestDiagnoseHealthyRootlessIsProtected(t *testing.T) {
	checks := Diagnose(rootlessFacts())
	v := Summarize(checks)
	if v.Level != LevelOK || v.Summary != "protected" {
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
				if v := Summarize(Diagnose(f)); v.Level != LevelBroken || !strings.HasPrefix(v.Summary, "not protected: user namespaces") {
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
			f.Caps.Delegation, f.Caps.CgroupMode = nil, CgroupNone
		}, want{LevelDegraded, LevelOK, LevelDegraded, LevelOK},
			map[string]string{"cgroup": "no cgroup file system"}},
		{"no limits configured", func(f *HostFacts) { f.Limits = Limits{} }, want{LevelInfo, LevelInfo, LevelInfo, LevelInfo},
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
			if got.memory == LevelDegraded && f.Caps.CgroupMode != CgroupNone {
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
			f.Caps.Identity = Identity{UIDMap: nil}
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
	if v := Summarize(Diagnose(f)); v.Summary != "degraded: seccomp" {
		t.Errorf("verdict %q, want %q", v.Summary, "degraded: seccomp")
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
		if got := Summarize(checks).Summary; got != tc.want {
			t.Errorf("Summarize(%v) = %q, want %q", tc.levels, got, tc.want)
		}
	}
}

func TestFreeSubIDRange(t *testing.T) {
	r := func(start, count uint32) SubIDRange { return SubIDRange{Start: start, Count: count} }
	cases := []struct {
		name     string
		taken    []SubIDRange
		min, max uint32
		want     uint32
		err      bool
	}{
		{"empty files", nil, 100000, 600100000, 100000, false},
		{"first range taken", []SubIDRange{r(100000, 65536)}, 100000, 600100000, 165536, false},
		{"gap before a range fits exactly", []SubIDRange{r(165536, 65536)}, 100000, 600100000, 100000, false},
		{"gap too small", []SubIDRange{r(100000, 65536), r(200000, 65536)}, 100000, 600100000, 265536, false},
		{"unsorted, overlapping, duplicated (uid and gid files)", []SubIDRange{r(231072, 10), r(100000, 65536), r(100000, 65536), r(150000, 81072)}, 100000, 600100000, 231082, false},
		{"a range starting below min reaching into it", []SubIDRange{r(50000, 60000)}, 100000, 600100000, 110000, false},
		{"ranges far above do not matter", []SubIDRange{r(500000000, 65536)}, 100000, 600100000, 100000, false},
		{"no room below max", []SubIDRange{r(100000, 65536)}, 100000, 200000, 0, true},
		{"max is inclusive", nil, 100000, 165535, 100000, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FreeSubIDRange(tc.taken, tc.min, tc.max, 65536)
			if (err != nil) != tc.err || got != tc.want {
				t.Fatalf("got %d, %v; want %d, err=%v", got, err, tc.want, tc.err)
			}
			if err == nil {
				for _, x := range tc.taken {
					if uint64(got) < x.End() && uint64(x.Start) < uint64(got)+65536 {
						t.Errorf("%d+65536 overlaps %v", got, x)
					}
				}
			}
		})
	}
}

func TestSubIDFiles(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "subuid")
	content := "# comment\nalice:100000:65536\n\nbob:165536:65536\n1002:231072:65536\nbroken line\ncarol:x:1\ndave:300000:0\n"
	if err := os.WriteFile(sub, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	all, err := ReadSubIDFile(sub)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 {
		t.Fatalf("parsed %+v, want alice, bob and 1002 only", all)
	}
	if got := RangesOf(all, "carl", 1002); len(got) != 1 || got[0].String() != "231072-296607" {
		t.Errorf("by numeric uid: %+v", got)
	}
	if got := RangesOf(all, "alice", 1000); len(got) != 1 || got[0].Start != 100000 {
		t.Errorf("by name: %+v", got)
	}
	if got, err := ReadSubIDFile(filepath.Join(dir, "missing")); err != nil || got != nil {
		t.Errorf("a missing file is empty: %v %v", got, err)
	}

	defs := filepath.Join(dir, "login.defs")
	os.WriteFile(defs, []byte("# shadow\nSUB_UID_MIN\t\t   200000\nSUB_UID_MAX  900000000\nSUB_UID_COUNT 70000\nUID_MIN 1000\n"), 0o644)
	if lo, hi, n := SubIDBounds(defs); lo != 200000 || hi != 900000000 || n != 70000 {
		t.Errorf("SubIDBounds = %d %d %d", lo, hi, n)
	}
	if lo, hi, n := SubIDBounds(filepath.Join(dir, "none")); lo != 100000 || hi != 600100000 || n != 65536 {
		t.Errorf("defaults = %d %d %d", lo, hi, n)
	}
}

func TestCompactPaths(t *testing.T) {
	cases := []struct {
		in   []string
		want string
	}{
		{nil, ""},
		{[]string{"/a/b"}, "/a/b"},
		{[]string{"/sys/fs/cgroup/cpu/pb-1", "/sys/fs/cgroup/memory/pb-1"}, "/sys/fs/cgroup/{cpu,memory}/pb-1"},
		{[]string{"/sys/fs/cgroup/cpu/pb-1", "/sys/fs/cgroup/memory/pb-2"}, "/sys/fs/cgroup/cpu/pb-1, /sys/fs/cgroup/memory/pb-2"},
		{[]string{"/x/cpu/pb-1", "/y/memory/pb-1"}, "/x/cpu/pb-1, /y/memory/pb-1"},
	}
	for _, tc := range cases {
		if got := CompactPaths(tc.in); got != tc.want {
			t.Errorf("CompactPaths(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestDiagnoseAgreesWithPlanLimits checks, on this host, that doctor predicts
// the enforcement a run really plans.
func TestDiagnoseAgreesWithPlanLimits(t *testing.T) {
	f := GatherHostFacts(os.Geteuid(), defaultLimits)
	checks := Diagnose(f)
	id, err := CurrentIdentity()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range PlanLimits(defaultLimits, &id) {
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
	if SeccompCompiled && f.Libseccomp == "" {
		t.Errorf("built with the seccomp tag, yet no libseccomp in /proc/self/maps")
	}
}

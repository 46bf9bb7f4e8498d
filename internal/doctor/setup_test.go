package doctor

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/phylum-box/phylum-box/container"
)

func TestDelegate(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("Delegate needs root (it creates cgroups and chowns them)")
	}
	if m := container.HostCgroupMode(); m != container.CgroupV1 && m != container.CgroupHybrid {
		t.Skipf("cgroup %s: the v2 path writes a systemd drop-in; not exercised here", m)
	}
	const uid, gid = 65534, 65534 // nobody: an account that never runs phylum-box here
	dirs, err := container.V1HierarchyDirs()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, d := range dirs {
			_ = os.Remove(filepath.Join(d, container.DelegationName(uid)))
		}
	})
	rep, err := Delegate(uid, gid)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Created) != len(dirs) {
		t.Errorf("created %d of %d hierarchies: %v", len(rep.Created), len(dirs), rep.Created)
	}
	for _, d := range dirs {
		for _, f := range []string{"", "cgroup.procs"} {
			st, err := os.Stat(filepath.Join(d, container.DelegationName(uid), f))
			if err != nil {
				t.Fatal(err)
			}
			if s := st.Sys().(*syscall.Stat_t); s.Uid != uid || s.Gid != gid {
				t.Errorf("%s/%s owned by %d:%d", d, f, s.Uid, s.Gid)
			}
		}
	}
	if cpus, err := os.ReadFile(filepath.Join("/sys/fs/cgroup/cpuset", container.DelegationName(uid), "cpuset.cpus")); err == nil && len(cpus) < 2 {
		t.Errorf("cpuset.cpus not initialised: %q", cpus)
	}
	// Idempotent: a second run creates nothing.
	rep, err = Delegate(uid, gid)
	if err != nil || len(rep.Created) != 0 {
		t.Fatalf("second Delegate: created %v, err %v", rep.Created, err)
	}
}

func TestFreeSubIDRange(t *testing.T) {
	r := func(start, count uint32) container.SubIDRange {
		return container.SubIDRange{Start: start, Count: count}
	}
	cases := []struct {
		name     string
		taken    []container.SubIDRange
		min, max uint32
		want     uint32
		err      bool
	}{
		{"empty files", nil, 100000, 600100000, 100000, false},
		{"first range taken", []container.SubIDRange{r(100000, 65536)}, 100000, 600100000, 165536, false},
		{"gap before a range fits exactly", []container.SubIDRange{r(165536, 65536)}, 100000, 600100000, 100000, false},
		{"gap too small", []container.SubIDRange{r(100000, 65536), r(200000, 65536)}, 100000, 600100000, 265536, false},
		{"unsorted, overlapping, duplicated (uid and gid files)", []container.SubIDRange{r(231072, 10), r(100000, 65536), r(100000, 65536), r(150000, 81072)}, 100000, 600100000, 231082, false},
		{"a range starting below min reaching into it", []container.SubIDRange{r(50000, 60000)}, 100000, 600100000, 110000, false},
		{"ranges far above do not matter", []container.SubIDRange{r(500000000, 65536)}, 100000, 600100000, 100000, false},
		{"no room below max", []container.SubIDRange{r(100000, 65536)}, 100000, 200000, 0, true},
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
	all, err := container.ReadSubIDFile(sub)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 {
		t.Fatalf("parsed %+v, want alice, bob and 1002 only", all)
	}
	if got := container.RangesOf(all, "carl", 1002); len(got) != 1 || got[0].String() != "231072-296607" {
		t.Errorf("by numeric uid: %+v", got)
	}
	if got := container.RangesOf(all, "alice", 1000); len(got) != 1 || got[0].Start != 100000 {
		t.Errorf("by name: %+v", got)
	}
	if got, err := container.ReadSubIDFile(filepath.Join(dir, "missing")); err != nil || got != nil {
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

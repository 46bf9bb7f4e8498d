package container

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestSubordinateRange(t *testing.T) {
	f := filepath.Join(t.TempDir(), "subuid")
	content := "# comment\nalice:100000:65536\n1001:300000:1000\nbad line\nbob:x:5\ncarol:400000:0\n"
	if err := os.WriteFile(f, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name        string
		uid         int
		start, size uint32
		ok          bool
	}{
		{"alice", 1000, 100000, 65536, true},
		{"dave", 1001, 300000, 1000, true}, // by numeric id
		{"bob", 1002, 0, 0, false},         // malformed
		{"carol", 1003, 0, 0, false},       // empty range
		{"erin", 1004, 0, 0, false},
	} {
		s, n, ok := subordinateRange(f, tc.name, tc.uid)
		if s != tc.start || n != tc.size || ok != tc.ok {
			t.Errorf("%s: %d,%d,%v want %d,%d,%v", tc.name, s, n, ok, tc.start, tc.size, tc.ok)
		}
	}
}

func TestCurrentIdentityNeverHostRoot(t *testing.T) {
	id, err := CurrentIdentity()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range id.UIDMap {
		if m.HostID == 0 {
			t.Fatalf("container uid %d maps to host root: %+v", m.ContainerID, id.UIDMap)
		}
	}
	for _, m := range id.GIDMap {
		if m.HostID == 0 {
			t.Fatalf("container gid %d maps to host root: %+v", m.ContainerID, id.GIDMap)
		}
	}
	if os.Geteuid() != 0 && id.RootUID != os.Geteuid() {
		t.Fatalf("rootless container root is host uid %d, want %d", id.RootUID, os.Geteuid())
	}
	if os.Geteuid() == 0 && id.RootUID == 0 {
		t.Fatal("container root is host root")
	}
}

func TestMountsForDropsUnmappedDevptsGid(t *testing.T) {
	in := []specs.Mount{{Destination: "/dev/pts", Type: "devpts", Options: []string{"newinstance", "gid=5", "mode=0620"}}}
	single := &Identity{GIDMap: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}}
	full := &Identity{GIDMap: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 65535}}}
	if got := mountsFor(in, single)[0].Options; slices.Contains(got, "gid=5") {
		t.Errorf("single map kept gid=5: %v", got)
	}
	if got := mountsFor(in, full)[0].Options; !slices.Contains(got, "gid=5") {
		t.Errorf("full map dropped gid=5: %v", got)
	}
	if !slices.Contains(in[0].Options, "gid=5") {
		t.Error("caller's mount list modified")
	}
}

func TestSeccompProfileCoversTheList(t *testing.T) {
	p := seccompProfile()
	if p.DefaultAction != specs.ActAllow {
		t.Fatalf("default action %s", p.DefaultAction)
	}
	unconditional := map[string]bool{}
	conditional := map[string]int{}
	for _, r := range p.Syscalls {
		for _, n := range r.Names {
			if len(r.Args) == 0 {
				unconditional[n] = true
			} else {
				conditional[n]++
			}
		}
	}
	for _, n := range []string{"setns", "mount", "umount2", "pivot_root", "move_mount", "open_tree", "fsopen", "fsmount",
		"fsconfig", "keyctl", "add_key", "request_key", "bpf", "perf_event_open", "userfaultfd", "ptrace",
		"kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "clone3"} {
		if !unconditional[n] {
			t.Errorf("%s not refused", n)
		}
	}
	if conditional["unshare"] != 8 || conditional["clone"] != 7 || conditional["ioctl"] != 2 {
		t.Errorf("conditional rules: %v", conditional)
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0B", 100: "100B", 64 << 20: "64MiB", 2 << 30: "2GiB", 4628480: "4.4MiB"} {
		if got := FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %s, want %s", n, got, want)
		}
	}
}

func TestRootFallbackRange(t *testing.T) {
	for _, tc := range []struct {
		name, idMap string
		start, size uint32
		wantErr     bool
	}{
		{"host", "0 0 4294967295", RootFallbackBase, rootFallbackSize, false},
		{"rootless podman", "0 1000 1\n1 100000 65536", 1, 65536, false},
		{"small range", "0 1000 1\n1 100000 1000", 1, 1000, false},
		{"root only", "0 1000 1", 0, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "uid_map")
			if err := os.WriteFile(f, []byte(tc.idMap+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			s, n, err := rootFallbackRange(f)
			if (err != nil) != tc.wantErr || s != tc.start || n != tc.size {
				t.Fatalf("got %d,%d,%v want %d,%d, error %v", s, n, err, tc.start, tc.size, tc.wantErr)
			}
		})
	}
}

func TestSystemdUserCgroup(t *testing.T) {
	for _, tc := range []struct {
		name, content, want string
		wantErr             bool
	}{
		{"user session", "0::/user.slice/user-1000.slice/user@1000.service/app.slice/vte-spawn-1.scope\n", "/user.slice/user-1000.slice/user@1000.service", false},
		{"ssh login scope", "0::/user.slice/user-1000.slice/session-3.scope\n", "", true},
		{"other user's service", "0::/user.slice/user-1001.slice/user@1001.service/init.scope\n", "", true},
		{"v1 only", "4:memory:/x\n", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := systemdUserCgroupFrom(tc.content, 1000)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("got %q, %v; want %q (error %v)", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

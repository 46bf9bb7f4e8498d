package rootfs

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestBuildSkeleton(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "root")
	cache := t.TempDir()
	uid, gid := os.Getuid(), os.Getgid()
	project := specs.Mount{Destination: "/home/alice/proj", Type: "bind", Source: t.TempDir(), Options: []string{"rbind"}}
	sk, err := BuildSkeleton(SkeletonOptions{
		Dir: dir, RootUID: uid, RootGID: gid, Home: "/home/alice", HomeSize: 1 << 20,
		Caches: []Cache{{Name: "npm", HostPath: cache, Target: "/home/alice/.npm"}},
		Extra:  []specs.Mount{project},
	})
	if err != nil {
		t.Fatal(err)
	}
	byDest := map[string]specs.Mount{}
	for _, m := range sk.Mounts {
		byDest[m.Destination] = m
	}

	t.Run("system trees are read-only, nosuid, nodev binds", func(t *testing.T) {
		for _, d := range []string{"/usr", "/etc"} {
			m, ok := byDest[d]
			if !ok {
				t.Fatalf("%s not mounted", d)
			}
			for _, o := range []string{"rbind", "ro", "rro", "nosuid", "nodev"} {
				if !slices.Contains(m.Options, o) {
					t.Errorf("%s lacks %s: %v", d, o, m.Options)
				}
			}
		}
	})
	t.Run("home and tmp are size-limited tmpfs", func(t *testing.T) {
		for d, mode := range map[string]string{"/home/alice": "mode=0700", "/tmp": "mode=1777"} {
			m := byDest[d]
			if m.Type != "tmpfs" || !slices.Contains(m.Options, mode) || !slices.ContainsFunc(m.Options, func(o string) bool { return strings.HasPrefix(o, "size=") }) {
				t.Errorf("%s: %+v", d, m)
			}
		}
		if !slices.Contains(byDest["/home/alice"].Options, "size=1048576") {
			t.Errorf("home size not applied: %v", byDest["/home/alice"].Options)
		}
	})
	t.Run("fresh proc and minimal dev", func(t *testing.T) {
		for _, d := range []string{"/proc", "/dev", "/dev/pts", "/dev/shm"} {
			if _, ok := byDest[d]; !ok {
				t.Errorf("%s missing", d)
			}
		}
	})
	t.Run("nothing of the host's /root or /home", func(t *testing.T) {
		for _, m := range sk.Mounts {
			if m.Type == "bind" && (m.Source == "/root" || m.Source == "/home" || strings.HasPrefix(m.Source, "/home/")) {
				t.Errorf("host home bound: %+v", m)
			}
		}
		ents, _ := os.ReadDir(filepath.Join(dir, "home"))
		if len(ents) != 1 || ents[0].Name() != "alice" {
			t.Errorf("skeleton /home holds %v", ents)
		}
		if _, err := os.Lstat(filepath.Join(dir, "root")); err == nil {
			t.Error("skeleton has /root")
		}
	})
	t.Run("parents mount before children, extra mounts last", func(t *testing.T) {
		pos := map[string]int{}
		for i, m := range sk.Mounts {
			pos[m.Destination] = i
		}
		for _, pair := range [][2]string{{"/dev", "/dev/pts"}, {"/home/alice", "/home/alice/.npm"}, {"/home/alice", "/home/alice/proj"}} {
			if pos[pair[0]] >= pos[pair[1]] {
				t.Errorf("%s mounted after %s", pair[0], pair[1])
			}
		}
		if last := sk.Mounts[len(sk.Mounts)-1]; last.Destination != project.Destination {
			t.Errorf("last mount %s, want the project", last.Destination)
		}
	})
	t.Run("merged-/usr links recreated as symlinks", func(t *testing.T) {
		for _, d := range mergedUsrLinks {
			host, err := os.Lstat(d)
			if err != nil || host.Mode()&os.ModeSymlink == 0 {
				continue
			}
			want, _ := os.Readlink(d)
			got, err := os.Readlink(filepath.Join(dir, d))
			if err != nil || got != want {
				t.Errorf("%s -> %q (%v), want -> %q", d, got, err, want)
			}
		}
	})
	t.Run("mount points exist and belong to the container root", func(t *testing.T) {
		for _, d := range []string{"", "usr", "etc", "proc", "dev", "tmp", "home", "home/alice"} {
			st, err := os.Lstat(filepath.Join(dir, d))
			if err != nil {
				t.Errorf("/%s: %v", d, err)
				continue
			}
			sys := st.Sys().(*syscall.Stat_t)
			if int(sys.Uid) != uid || int(sys.Gid) != gid {
				t.Errorf("/%s owned by %d:%d", d, sys.Uid, sys.Gid)
			}
		}
		// Below a tmpfs the container's init makes the mount point itself.
		if _, err := os.Lstat(filepath.Join(dir, "home/alice/proj")); err == nil {
			t.Error("mount point created below the home tmpfs in the skeleton")
		}
	})
	t.Run("hidden paths exist on the host and lie under bound trees", func(t *testing.T) {
		for _, h := range sk.Hidden {
			if _, err := os.Lstat(h); err != nil {
				t.Errorf("hiding %s which does not exist", h)
			}
			if !underAny(h, SystemDirs) {
				t.Errorf("hiding %s outside the bound trees", h)
			}
		}
		if _, err := os.Stat("/etc/machine-id"); err == nil && !slices.Contains(sk.Hidden, "/etc/machine-id") {
			t.Error("/etc/machine-id not hidden")
		}
	})
}

func TestBuildSkeletonRejects(t *testing.T) {
	base := t.TempDir()
	for _, tc := range []struct {
		name string
		o    SkeletonOptions
	}{
		{"relative dir", SkeletonOptions{Dir: "root", Home: "/home/a"}},
		{"home is /", SkeletonOptions{Dir: filepath.Join(base, "a"), Home: "/"}},
		{"relative home", SkeletonOptions{Dir: filepath.Join(base, "b"), Home: "home"}},
		{"existing dir", SkeletonOptions{Dir: base, Home: "/home/a"}},
		{"relative cache", SkeletonOptions{Dir: filepath.Join(base, "c"), Home: "/home/a", Caches: []Cache{{Name: "x", HostPath: "rel", Target: "/x"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.RootUID, tc.o.RootGID = os.Getuid(), os.Getgid()
			if _, err := BuildSkeleton(tc.o); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestSortMounts(t *testing.T) {
	ms := []specs.Mount{{Destination: "/a/b/c"}, {Destination: "/a"}, {Destination: "/x/y"}, {Destination: "/a/b"}}
	sortMounts(ms)
	var got []string
	for _, m := range ms {
		got = append(got, m.Destination)
	}
	want := []string{"/a", "/x/y", "/a/b", "/a/b/c"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestSkeletonSanitizesConfigs(t *testing.T) {
	tool := t.TempDir() // stands in for a read-only tree holding a global npmrc
	npmrc := filepath.Join(tool, "npmrc")
	if err := os.WriteFile(npmrc, []byte("cafile=/x.crt\n//r/:_authToken=SECRET\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "root")
	sk, err := BuildSkeleton(SkeletonOptions{Dir: dir, RootUID: os.Getuid(), RootGID: os.Getgid(), Home: "/home/a",
		ReadOnly: []string{tool}, Sanitize: []string{npmrc, "/nonexistent/npmrc"}})
	if err != nil {
		t.Fatal(err)
	}
	var found *specs.Mount
	for i, m := range sk.Mounts {
		if m.Destination == npmrc {
			found = &sk.Mounts[i]
		}
	}
	if found == nil {
		t.Fatalf("no mount over %s: %+v", npmrc, sk.Mounts)
	}
	b, err := os.ReadFile(found.Source)
	if err != nil || string(b) != "cafile=/x.crt\n" {
		t.Fatalf("sanitized copy %q (%v)", b, err)
	}
	if !slices.Contains(found.Options, "ro") {
		t.Errorf("sanitized bind not read-only: %v", found.Options)
	}
	if !strings.HasPrefix(found.Source, dir+".files/") {
		t.Errorf("sanitized copy outside the run's dir: %s", found.Source)
	}
}

// A project below /var/tmp needs var/tmp as a directory of mount points, not the
// usual symlink to /tmp.
func TestBuildSkeletonProjectBelowVarTmp(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "root")
	proj := specs.Mount{Destination: "/var/tmp/work/proj", Type: "bind", Source: t.TempDir(), Options: []string{"rbind"}}
	sk, err := BuildSkeleton(SkeletonOptions{Dir: dir, RootUID: os.Getuid(), RootGID: os.Getgid(), Home: "/home/a",
		Extra: []specs.Mount{proj}})
	if err != nil {
		t.Fatalf("BuildSkeleton with a project below /var/tmp: %v", err)
	}
	st, err := os.Lstat(filepath.Join(sk.Root, "var", "tmp"))
	if err != nil || !st.IsDir() {
		t.Fatalf("var/tmp should be a directory holding the project's mount point: %v %v", st, err)
	}
	// Without a project there, var/tmp is the symlink to /tmp.
	dir2 := filepath.Join(t.TempDir(), "root")
	sk2, err := BuildSkeleton(SkeletonOptions{Dir: dir2, RootUID: os.Getuid(), RootGID: os.Getgid(), Home: "/home/a"})
	if err != nil {
		t.Fatal(err)
	}
	if target, err := os.Readlink(filepath.Join(sk2.Root, "var", "tmp")); err != nil || target != "/tmp" {
		t.Fatalf("var/tmp = %q, %v; want a symlink to /tmp", target, err)
	}
}

// A Throwaway cache is its host dir bound read-only at ThrowawayLower+name (masked
// afterwards) and an overlay at the cache's path over that bind, with upper and work
// dirs of the container root's beside the skeleton; where overlay options cannot name
// the dirs, it is the plain read-only bind.
func TestBuildSkeletonThrowawayCache(t *testing.T) {
	base := t.TempDir()
	cache := t.TempDir()
	uid, gid := os.Getuid(), os.Getgid()
	dir := filepath.Join(base, "root")
	sk, err := BuildSkeleton(SkeletonOptions{
		Dir: dir, RootUID: uid, RootGID: gid, Home: "/home/alice",
		Caches: []Cache{{Name: "yarn", HostPath: cache, Target: "/home/alice/.cache/yarn", ReadOnly: true, Throwaway: true}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var lower, ov *specs.Mount
	for i, m := range sk.Mounts {
		switch m.Destination {
		case ThrowawayLower + "yarn":
			lower = &sk.Mounts[i]
		case "/home/alice/.cache/yarn":
			if ov != nil {
				t.Fatalf("two mounts at the cache's path: %+v", sk.Mounts)
			}
			ov = &sk.Mounts[i]
			if lower == nil {
				t.Errorf("the overlay is mounted before its lower bind")
			}
		}
	}
	if lower == nil || ov == nil {
		t.Fatalf("want the lower bind and the overlay: %+v", sk.Mounts)
	}
	if lower.Type != "bind" || lower.Source != cache || !slices.Contains(lower.Options, "ro") {
		t.Errorf("lower bind: %+v", lower)
	}
	up := dir + ".cache-yarn"
	for _, o := range []string{"lowerdir=" + dir + ThrowawayLower + "yarn", "upperdir=" + up + "/upper", "workdir=" + up + "/work", "userxattr", "nosuid", "nodev"} {
		if !slices.Contains(ov.Options, o) {
			t.Errorf("overlay lacks %s: %v", o, ov.Options)
		}
	}
	if ov.Type != "overlay" {
		t.Errorf("cache mount type %q", ov.Type)
	}
	for _, d := range []string{up + "/upper", up + "/work"} {
		if st, err := os.Stat(d); err != nil || !st.IsDir() || st.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v %v", d, st, err)
		}
	}
	if !slices.Contains(sk.Hidden, ThrowawayLower+"yarn") {
		t.Errorf("the lower bind is not masked: %v", sk.Hidden)
	}

	// A skeleton dir overlay options cannot carry: the plain read-only bind.
	odd := filepath.Join(base, "a,b")
	sk, err = BuildSkeleton(SkeletonOptions{
		Dir: odd, RootUID: uid, RootGID: gid, Home: "/home/alice",
		Caches: []Cache{{Name: "yarn", HostPath: cache, Target: "/home/alice/.cache/yarn", ReadOnly: true, Throwaway: true}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range sk.Mounts {
		if m.Destination == "/home/alice/.cache/yarn" && (m.Type != "bind" || !slices.Contains(m.Options, "ro")) {
			t.Errorf("fallback: %+v", m)
		}
		if strings.HasPrefix(m.Destination, ThrowawayLower) {
			t.Errorf("fallback still binds the lower: %+v", m)
		}
	}
}

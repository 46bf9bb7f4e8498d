package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Cache is a named host directory a manager wants inside the container (its
// download cache, a toolchain's registry index). Target is the absolute path
// inside the container.
type Cache struct {
	Name     string
	HostPath string
	Target   string
	ReadOnly bool
	// Throwaway (with ReadOnly) shows the cache through an overlay whose upper and
	// work dirs are made next to the skeleton (Dir + ".cache-" + Name) and go with
	// it: the container can write, the cache never changes.
	Throwaway bool
}

// SkeletonOptions says what the container's file system holds besides the
// read-only host system.
type SkeletonOptions struct {
	// Dir is where the skeleton root is created; it must not exist yet and its
	// parent must be traversable by RootUID.
	Dir string
	// RootUID/RootGID are the host ids of the container's root; the skeleton's
	// directories are chowned to them so the container's init can create mount
	// points below them.
	RootUID, RootGID int
	// Home is the container's $HOME: the caller's own HOME path, covered by an
	// empty tmpfs so nothing of the real home is visible.
	Home string
	// HomeSize and TmpSize cap the tmpfs $HOME and /tmp (bytes; 0 = defaults).
	HomeSize, TmpSize int64
	// ReadOnly are extra host directories (toolchains: /usr/local/go, ~/.nvm/...)
	// bound read-only at their own path.
	ReadOnly []string
	Caches   []Cache
	// Extra are mounts added last, in order (the project mount from Scratch).
	Extra []specs.Mount
	// Hide lists host files and directories under the bound trees that must
	// look empty inside; nil means DefaultHidden.
	Hide []string
	// Sanitize lists host config files under the bound trees that are replaced
	// inside by a copy without credentials; nil means DefaultSanitized.
	Sanitize []string
}

// Default tmpfs sizes. A build's temporary files can be large (node-gyp, cargo),
// but the tmpfs lives in RAM and counts against the memory cgroup.
const (
	DefaultHomeSize = 1 << 30 // 1 GiB
	DefaultTmpSize  = 2 << 30 // 2 GiB
)

// SystemDirs are the host trees every container gets read-only.
var SystemDirs = []string{"/usr", "/etc", "/opt"}

// mergedUsrLinks are the top-level directories that merged-/usr hosts turn into
// symlinks into /usr.
var mergedUsrLinks = []string{"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}

// DefaultHidden are world-readable files under the bound trees that commonly
// carry credentials (registry API keys, netrc passwords, docker logins) and
// nothing a build needs. They appear empty inside. Files that only root can
// read (/etc/shadow, ssh host keys) are already unreadable to the unprivileged
// container root and need no mask.
var DefaultHidden = []string{
	"/etc/gemrc", "/etc/netrc", "/etc/.netrc",
	"/etc/docker", "/etc/containers/auth.json",
	"/etc/apt/auth.conf", "/etc/apt/auth.conf.d",
	"/etc/ssh/ssh_config.d", // may name identity files and proxy commands
	"/etc/machine-id", "/var/lib/dbus/machine-id",
}

// DefaultSanitized are global package-manager configs a build does need —
// registry URL, cafile for a TLS-intercepting proxy, proxy settings — but that
// may also hold tokens. Inside, each is replaced by a copy without its
// credentials (see SanitizeConfig).
var DefaultSanitized = []string{
	"/etc/npmrc", "/usr/etc/npmrc", "/usr/local/etc/npmrc",
	"/etc/pip.conf", "/etc/xdg/pip/pip.conf",
}

// Skeleton is a built container root.
type Skeleton struct {
	Root   string
	Mounts []specs.Mount
	// Hidden are the container paths to mask (pass to the container as extra
	// masked paths: files become /dev/null, directories an empty read-only tmpfs).
	Hidden []string
}

// roBind are the options of a read-only system bind. "rro" etc. apply the flag
// to every submount too (mount_setattr with AT_RECURSIVE): a host /etc often has
// files bind-mounted into it (resolv.conf, hosts in a container host) that
// would otherwise stay writable.
var roBind = []string{"rbind", "ro", "rro", "nosuid", "rnosuid", "nodev", "rnodev"}

// BuildSkeleton creates the skeleton root in o.Dir and returns it with the
// mount list, in mount order (parents before children).
func BuildSkeleton(o SkeletonOptions) (*Skeleton, error) {
	if !filepath.IsAbs(o.Dir) {
		return nil, fmt.Errorf("skeleton dir %q must be absolute", o.Dir)
	}
	if o.Home == "" || !filepath.IsAbs(o.Home) || filepath.Clean(o.Home) == "/" {
		return nil, fmt.Errorf("container HOME %q must be an absolute path below /", o.Home)
	}
	if err := os.Mkdir(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("create skeleton: %w", err)
	}
	sk := &Skeleton{Root: o.Dir}
	b := &builder{root: o.Dir, uid: o.RootUID, gid: o.RootGID}

	// Merged-/usr symlinks are recreated as symlinks; a real directory is bound.
	var sys []string
	for _, d := range mergedUsrLinks {
		st, err := os.Lstat(d)
		if err != nil {
			continue
		}
		if st.Mode()&os.ModeSymlink != 0 {
			target, err := os.Readlink(d)
			if err != nil {
				return nil, err
			}
			if err := os.Symlink(target, filepath.Join(o.Dir, d)); err != nil {
				return nil, err
			}
			continue
		}
		if st.IsDir() {
			sys = append(sys, d)
		}
	}
	sys = append(sys, SystemDirs...)
	for _, d := range append(sys, o.ReadOnly...) {
		d = filepath.Clean(d)
		st, err := os.Stat(d)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // /opt, a toolchain dir that is not installed
			}
			return nil, err
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("read-only bind %s is not a directory", d)
		}
		sk.Mounts = append(sk.Mounts, specs.Mount{Destination: d, Type: "bind", Source: d, Options: roBind})
	}
	// /etc/resolv.conf may point into /run (systemd-resolved); bind its target
	// so DNS works with --network.
	if target, err := filepath.EvalSymlinks("/etc/resolv.conf"); err == nil && target != "/etc/resolv.conf" && !underAny(target, sys) {
		sk.Mounts = append(sk.Mounts, specs.Mount{Destination: target, Type: "bind", Source: target, Options: []string{"bind", "ro", "nosuid", "nodev", "noexec"}})
	}

	homeSize, tmpSize := o.HomeSize, o.TmpSize
	if homeSize <= 0 {
		homeSize = DefaultHomeSize
	}
	if tmpSize <= 0 {
		tmpSize = DefaultTmpSize
	}
	sk.Mounts = append(sk.Mounts,
		specs.Mount{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		specs.Mount{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		specs.Mount{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		specs.Mount{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		specs.Mount{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "mode=1777", "size=" + strconv.FormatInt(tmpSize, 10)}},
		specs.Mount{Destination: filepath.Clean(o.Home), Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "mode=0700", "size=" + strconv.FormatInt(homeSize, 10)}},
	)
	var throwaway []string // the lower binds of throwaway caches, masked
	for _, c := range o.Caches {
		if c.Name == "" || !filepath.IsAbs(c.HostPath) || !filepath.IsAbs(c.Target) {
			return nil, fmt.Errorf("cache %q: host path and target must be absolute", c.Name)
		}
		if c.ReadOnly && c.Throwaway {
			ms, hide, err := throwawayCache(o, c)
			if err != nil {
				return nil, err
			}
			if ms != nil {
				sk.Mounts = append(sk.Mounts, ms...)
				throwaway = append(throwaway, hide)
				continue
			}
		}
		opts := []string{"rbind", "nosuid", "nodev"}
		if c.ReadOnly {
			opts = append(opts, "ro", "rro")
		}
		sk.Mounts = append(sk.Mounts, specs.Mount{Destination: filepath.Clean(c.Target), Type: "bind", Source: c.HostPath, Options: opts})
	}
	sanitized, err := sanitizedMounts(o, append(append([]string{}, sys...), o.ReadOnly...))
	if err != nil {
		return nil, err
	}
	sk.Mounts = append(sk.Mounts, sanitized...)
	sortMounts(sk.Mounts)
	sk.Mounts = append(sk.Mounts, o.Extra...)

	// Mount points: directories, except file binds. Those below a tmpfs or a
	// bind are created by the container's init inside that mount, not here.
	for i, m := range sk.Mounts {
		if coveredBy(m.Destination, sk.Mounts[:i]) {
			continue
		}
		isFile := false
		if m.Type == "bind" {
			if st, err := os.Stat(m.Source); err == nil && !st.IsDir() {
				isFile = true
			}
		}
		if err := b.mountpoint(m.Destination, isFile); err != nil {
			return nil, err
		}
	}
	// /var/tmp is /tmp inside; some tools insist on it.
	if err := b.mountpoint("/var", false); err != nil {
		return nil, err
	}
	// A project (or cache) below /var/tmp already made var/tmp a directory of
	// mount points; then /var/tmp stays that directory.
	if err := os.Symlink("/tmp", filepath.Join(o.Dir, "var", "tmp")); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, err
	}
	if err := b.chownAll(); err != nil {
		return nil, err
	}

	hide := o.Hide
	if hide == nil {
		hide = DefaultHidden
	}
	for _, h := range hide {
		if _, err := os.Lstat(h); err == nil && underAny(h, sys) {
			sk.Hidden = append(sk.Hidden, h)
		}
	}
	// The idmapped lower of the project's overlay is only needed while the overlay is
	// mounted; masked after that, the container cannot reach the host project's
	// files through it (read-only as it is, its files are the container root's).
	sk.Hidden = append(sk.Hidden, throwaway...)
	for _, m := range o.Extra {
		if m.Destination == IdmappedLower {
			sk.Hidden = append(sk.Hidden, IdmappedLower)
			break
		}
	}
	return sk, nil
}

// sanitizedMounts writes credential-free copies of the configs to sanitize into
// o.Dir + ".files" (owned by the container root, read-only) and returns file
// binds of them over the originals.
func sanitizedMounts(o SkeletonOptions, sys []string) ([]specs.Mount, error) {
	list := o.Sanitize
	if list == nil {
		list = DefaultSanitized
	}
	var out []specs.Mount
	filesDir := o.Dir + ".files"
	for i, p := range list {
		if !underAny(p, sys) {
			continue
		}
		st, err := os.Stat(p)
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			// Unreadable to us: the container cannot read it either.
			continue
		}
		if len(out) == 0 {
			if err := os.Mkdir(filesDir, 0o755); err != nil {
				return nil, fmt.Errorf("sanitized configs: %w", err)
			}
			if err := os.Lchown(filesDir, o.RootUID, o.RootGID); err != nil {
				return nil, fmt.Errorf("sanitized configs: %w", err)
			}
		}
		dst := filepath.Join(filesDir, strconv.Itoa(i)+"-"+filepath.Base(p))
		if err := os.WriteFile(dst, []byte(SanitizeConfig(string(data))), 0o444); err != nil {
			return nil, fmt.Errorf("sanitized copy of %s: %w", p, err)
		}
		if err := os.Lchown(dst, o.RootUID, o.RootGID); err != nil {
			return nil, fmt.Errorf("sanitized copy of %s: %w", p, err)
		}
		out = append(out, specs.Mount{Destination: p, Type: "bind", Source: dst, Options: []string{"bind", "ro", "nosuid", "nodev", "noexec"}})
	}
	return out, nil
}

func underAny(p string, dirs []string) bool {
	for _, d := range dirs {
		if p == d || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

// coveredBy reports whether dest lies strictly below an earlier mount.
func coveredBy(dest string, earlier []specs.Mount) bool {
	for _, m := range earlier {
		if strings.HasPrefix(dest, strings.TrimSuffix(m.Destination, "/")+"/") {
			return true
		}
	}
	return false
}

// sortMounts orders mounts so that a parent is mounted before anything below
// it (by path depth; stable for equal depth).
func sortMounts(ms []specs.Mount) {
	sort.SliceStable(ms, func(i, j int) bool {
		return depth(ms[i].Destination) < depth(ms[j].Destination)
	})
}

func depth(p string) int {
	p = filepath.Clean(p)
	if p == "/" {
		return 0
	}
	return strings.Count(p, "/")
}

type builder struct {
	root     string
	uid, gid int
	created  []string
}

// mountpoint creates dest (and its parents) inside the skeleton. The skeleton
// is new and only this code writes to it, but paths are still created one
// component at a time with Mkdir/Lstat so nothing is followed through a symlink
// (a merged-/usr link such as /lib must not lead a mount point onto the host).
func (b *builder) mountpoint(dest string, isFile bool) error {
	rel := strings.TrimPrefix(filepath.Clean(dest), "/")
	if rel == "" {
		return nil
	}
	parts := strings.Split(rel, "/")
	cur := b.root
	for i, part := range parts {
		cur = filepath.Join(cur, part)
		last := i == len(parts)-1
		st, err := os.Lstat(cur)
		switch {
		case err == nil && st.Mode()&os.ModeSymlink != 0:
			return fmt.Errorf("mount point %s passes through the symlink %s in the skeleton", dest, cur)
		case err == nil:
			continue
		case !errors.Is(err, os.ErrNotExist):
			return err
		}
		if last && isFile {
			f, err := os.OpenFile(cur, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
			if err != nil {
				return err
			}
			f.Close()
		} else if err := os.Mkdir(cur, 0o755); err != nil {
			return err
		}
		b.created = append(b.created, cur)
	}
	return nil
}

func (b *builder) chownAll() error {
	for _, p := range append([]string{b.root}, b.created...) {
		if err := os.Lchown(p, b.uid, b.gid); err != nil {
			return fmt.Errorf("chown skeleton %s to %d:%d: %w", p, b.uid, b.gid, err)
		}
	}
	return nil
}

// throwawayCache is the overlay of a Throwaway cache, with the host cache as its only
// lower and upper and work dirs of the container root's beside the skeleton. The
// overlay is mounted in the container's user namespace, whose root may not be able
// to walk to the host cache (root's ~/.cache under a 0700 home): the cache is first
// bound read-only at ThrowawayLower+Name inside, and the overlay's lower names that
// bind by its host path (mounts are made before pivot_root). The bind is masked
// once the overlay holds it.
func throwawayCache(o SkeletonOptions, c Cache) (m []specs.Mount, hide string, err error) {
	if c.Name == "" || strings.ContainsAny(c.Name, "/\x00") || c.Name == "." || c.Name == ".." {
		return nil, "", fmt.Errorf("cache name %q", c.Name)
	}
	base := o.Dir + ".cache-" + c.Name
	lower := ThrowawayLower + c.Name
	if !filepath.IsAbs(o.Dir) || filepath.Clean(o.Dir) != o.Dir || optionUnsafe(o.Dir+lower) != "" || optionUnsafe(base) != "" {
		return nil, "", nil // overlay options cannot name it: plain read-only
	}
	if err := os.Mkdir(base, 0o700); err != nil {
		return nil, "", err
	}
	for _, d := range []string{base, filepath.Join(base, "upper"), filepath.Join(base, "work")} {
		if d != base {
			if err := os.Mkdir(d, 0o700); err != nil {
				return nil, "", err
			}
		}
		if err := os.Lchown(d, o.RootUID, o.RootGID); err != nil {
			return nil, "", fmt.Errorf("give %s to the container's root: %w", d, err)
		}
	}
	opts := append([]string{
		"lowerdir=" + o.Dir + lower,
		"upperdir=" + filepath.Join(base, "upper"),
		"workdir=" + filepath.Join(base, "work"),
	}, OverlayOptions...)
	return []specs.Mount{
		{Destination: lower, Type: "bind", Source: c.HostPath, Options: []string{"bind", "ro", "nosuid", "nodev"}},
		{Destination: filepath.Clean(c.Target), Type: "overlay", Source: "overlay", Options: append(opts, "nosuid", "nodev")},
	}, lower, nil
}

// ThrowawayLower (+ the cache's name) is where a Throwaway cache's read-only bind, the
// lower of its overlay, is mounted inside before it is masked.
const ThrowawayLower = "/.pb-cache-lower-"

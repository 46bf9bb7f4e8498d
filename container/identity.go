package container

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// RootFallbackBase is the first host uid/gid of the range container ids map to
// when phylum-box runs as real root and root has no /etc/subuid range. It is far
// above any ordinary account (useradd stops at 60000, systemd's dynamic users at
// 61183, nobody is 65534) and below the 32-bit overflow ids. rootFallbackSize
// ids are mapped, so container uids 0..65535 exist.
const (
	RootFallbackBase = 2_000_000_000
	rootFallbackSize = 65536
)

// Identity is the user-namespace mapping of a container: which host ids the
// container's ids stand for. Container root is never host root.
type Identity struct {
	// RootUID/RootGID are the host ids of the container's root. Scratch dirs and
	// the skeleton must be owned by them.
	RootUID, RootGID int
	UIDMap, GIDMap   []specs.LinuxIDMapping
	// Rootless is true when phylum-box itself runs as an ordinary user.
	Rootless bool
	// Subordinate is true when the map uses /etc/subuid ranges (needs
	// newuidmap/newgidmap when rootless).
	Subordinate bool
	// User is the invoking user's name ("" if unknown).
	User string
}

// Describe is a one-line account of the mapping, for -v output and doctor.
func (id Identity) Describe() string {
	var parts []string
	for _, m := range id.UIDMap {
		parts = append(parts, fmt.Sprintf("%d->%d(x%d)", m.ContainerID, m.HostID, m.Size))
	}
	return "uid map " + strings.Join(parts, ",")
}

// SingleMap is id reduced to its root mapping (container 0 = RootUID/RootGID).
func (id Identity) SingleMap() Identity {
	id.UIDMap = []specs.LinuxIDMapping{{ContainerID: 0, HostID: uint32(id.RootUID), Size: 1}}
	id.GIDMap = []specs.LinuxIDMapping{{ContainerID: 0, HostID: uint32(id.RootGID), Size: 1}}
	id.Subordinate = false
	return id
}

// MapsGID reports whether container gid g is mapped.
func (id Identity) mapsGID(g uint32) bool {
	for _, m := range id.GIDMap {
		if g >= m.ContainerID && g < m.ContainerID+m.Size {
			return true
		}
	}
	return false
}

// CurrentIdentity works out the mapping for the calling process:
//
//   - an ordinary user: container root = the user; with newuidmap/newgidmap
//     and a /etc/subuid+/etc/subgid range for the user, container ids 1..65535
//     map to that range as well;
//   - real root: container root = the first id of root's /etc/subuid range, or
//     RootFallbackBase when there is none, 65536 ids in all.
func CurrentIdentity() (Identity, error) {
	uid, gid := os.Geteuid(), os.Getegid()
	name := ""
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		name = u.Username
	}
	if uid == 0 {
		id := Identity{User: name}
		ub, us, uok := subordinateRange("/etc/subuid", name, uid)
		gb, gs, gok := subordinateRange("/etc/subgid", name, uid)
		if !uok || !gok || ub == 0 || gb == 0 {
			var err error
			if ub, us, err = rootFallbackRange("/proc/self/uid_map"); err != nil {
				return Identity{}, err
			}
			if gb, gs, err = rootFallbackRange("/proc/self/gid_map"); err != nil {
				return Identity{}, err
			}
		} else {
			id.Subordinate = true
		}
		us, gs = min(us, 65536), min(gs, 65536)
		id.RootUID, id.RootGID = int(ub), int(gb)
		id.UIDMap = []specs.LinuxIDMapping{{ContainerID: 0, HostID: ub, Size: us}}
		id.GIDMap = []specs.LinuxIDMapping{{ContainerID: 0, HostID: gb, Size: gs}}
		return id, nil
	}
	id := Identity{
		RootUID: uid, RootGID: gid, Rootless: true, User: name,
		UIDMap: []specs.LinuxIDMapping{{ContainerID: 0, HostID: uint32(uid), Size: 1}},
		GIDMap: []specs.LinuxIDMapping{{ContainerID: 0, HostID: uint32(gid), Size: 1}},
	}
	if !haveMappingTools() {
		return id, nil
	}
	ub, us, uok := subordinateRange("/etc/subuid", name, uid)
	gb, gs, gok := subordinateRange("/etc/subgid", name, uid)
	if !uok || !gok || us < 1 || gs < 1 {
		return id, nil
	}
	id.Subordinate = true
	id.UIDMap = append(id.UIDMap, specs.LinuxIDMapping{ContainerID: 1, HostID: ub, Size: min(us, 65535)})
	id.GIDMap = append(id.GIDMap, specs.LinuxIDMapping{ContainerID: 1, HostID: gb, Size: min(gs, 65535)})
	return id, nil
}

func haveMappingTools() bool {
	_, e1 := exec.LookPath("newuidmap")
	_, e2 := exec.LookPath("newgidmap")
	return e1 == nil && e2 == nil
}

// subordinateRange returns the first range of /etc/subuid-style file f that
// belongs to the user (by name or by numeric id).
func subordinateRange(f, name string, uid int) (start, size uint32, ok bool) {
	all, err := ReadSubIDFile(f)
	if err != nil {
		return 0, 0, false
	}
	if mine := RangesOf(all, name, uid); len(mine) > 0 {
		return mine[0].Start, mine[0].Count, true
	}
	return 0, 0, false
}

// SubIDRange is one line of /etc/subuid or /etc/subgid.
type SubIDRange struct {
	Owner string // user name or numeric uid, as written
	Start uint32
	Count uint32
}

// End is the first id after the range.
func (r SubIDRange) End() uint64 { return uint64(r.Start) + uint64(r.Count) }

func (r SubIDRange) String() string {
	return fmt.Sprintf("%d-%d", r.Start, r.End()-1)
}

// ReadSubIDFile parses /etc/subuid or /etc/subgid; a missing file is empty.
func ReadSubIDFile(path string) ([]SubIDRange, error) {
	fh, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	var out []SubIDRange
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, ":")
		if len(fields) != 3 {
			continue
		}
		s, err1 := strconv.ParseUint(fields[1], 10, 32)
		n, err2 := strconv.ParseUint(fields[2], 10, 32)
		if err1 != nil || err2 != nil || n == 0 {
			continue
		}
		out = append(out, SubIDRange{Owner: fields[0], Start: uint32(s), Count: uint32(n)})
	}
	return out, sc.Err()
}

// RangesOf picks the ranges that belong to the user (by name or numeric id).
func RangesOf(all []SubIDRange, name string, uid int) []SubIDRange {
	var out []SubIDRange
	for _, r := range all {
		if (name != "" && r.Owner == name) || r.Owner == strconv.Itoa(uid) {
			out = append(out, r)
		}
	}
	return out
}

func lookupUserName(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return u.Username
	}
	return ""
}

// idExtent is one line of /proc/self/uid_map: ids Inside..Inside+Size-1 of this
// namespace.
type idExtent struct{ Inside, Outside, Size uint64 }

func readIDMap(f string) ([]idExtent, error) {
	b, err := os.ReadFile(f)
	if err != nil {
		return nil, err
	}
	var out []idExtent
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var e idExtent
		if _, err := fmt.Sscan(line, &e.Inside, &e.Outside, &e.Size); err == nil {
			out = append(out, e)
		}
	}
	return out, nil
}

// rootFallbackRange picks the ids container ids map to when root has no
// subordinate range: RootFallbackBase when this namespace has those ids (the
// host, a rootful container), else — root inside a rootless container, where
// only a few thousand ids exist — the largest run of mapped ids above 0.
func rootFallbackRange(mapFile string) (start, size uint32, err error) {
	exts, err := readIDMap(mapFile)
	if err != nil {
		return 0, 0, err
	}
	var best idExtent
	for _, e := range exts {
		if e.Inside <= RootFallbackBase && e.Inside+e.Size >= RootFallbackBase+rootFallbackSize {
			return RootFallbackBase, rootFallbackSize, nil
		}
		if e.Inside == 0 { // never hand out this namespace's root
			e.Inside, e.Size = 1, e.Size-1
		}
		if e.Size > best.Size {
			best = e
		}
	}
	if best.Size == 0 {
		return 0, 0, fmt.Errorf("running as root in a user namespace that maps no id but root (%s); run phylum-box as an ordinary user, or give this namespace more ids", mapFile)
	}
	return uint32(best.Inside), uint32(min(best.Size, rootFallbackSize)), nil
}

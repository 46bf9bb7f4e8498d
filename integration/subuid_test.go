package integration

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// The third user has an /etc/subuid range, so phylum-box maps a full range through
// newuidmap. A smoke test of that path: the map, the secrets, the sync ownership.
func TestRootlessWithSubordinateIDs(t *testing.T) {
	t.Parallel()
	m := requireMode(t, "rootless-subuid")
	b := newBox(t, m)
	r := b.attack(nil, "status")
	wantCode(t, r, 0, "status")
	_, uidMap, _ := strings.Cut(r.Stdout, "== /proc/self/uid_map\n")
	uidMap, _, _ = strings.Cut(uidMap, "==")
	if lines := strings.Split(strings.TrimSpace(uidMap), "\n"); len(lines) < 2 {
		t.Logf("uid_map with /etc/subuid present is a single line (%q): the subordinate range is not used", uidMap)
	}
	wantRefused(t, b.attack(nil, "read", filepath.Join(b.Home, ".ssh/id_rsa")), "reading ~/.ssh/id_rsa")
	wantRefused(t, b.attack(nil, "findsecret", b.Mark), "searching for secrets")
	r = b.sh(nil, `mkdir -p node_modules/x && echo 1 > node_modules/x/i.js`)
	wantCode(t, r, 0, "a successful run")
	for _, p := range []string{"node_modules", "node_modules/x", "node_modules/x/i.js"} {
		fi, err := os.Lstat(filepath.Join(b.Project, p))
		if err != nil {
			t.Errorf("%s not synced: %v", p, err)
			continue
		}
		st := fi.Sys().(*syscall.Stat_t)
		if int(st.Uid) != m.uid() || int(st.Gid) != m.gid() {
			t.Errorf("%s owned by %d:%d, want the caller %d:%d", p, st.Uid, st.Gid, m.uid(), m.gid())
		}
	}
}

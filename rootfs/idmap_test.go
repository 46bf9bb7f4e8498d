package rootfs

import (
	"os"
	"path/filepath"
	"testing"
)

// foreignEntry finds an entry of another owner however deep, reports none for a tree
// of one owner, and does not follow a link to a foreign file.
func TestForeignEntry(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipped: making files of another owner needs root (CI runs the unit tests as root)")
	}
	const uid, gid = 4242, 4243
	dir := t.TempDir()
	proj := filepath.Join(dir, "proj")
	outside := filepath.Join(dir, "outside")
	for _, d := range []string{proj + "/node_modules/a/lib", outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{proj + "/package.json", proj + "/node_modules/a/lib/x.js", outside + "/root-owned"} {
		if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside+"/root-owned", proj+"/node_modules/a/link"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{proj, proj + "/package.json", proj + "/node_modules", proj + "/node_modules/a", proj + "/node_modules/a/lib", proj + "/node_modules/a/lib/x.js"} {
		if err := os.Chown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Lchown(proj+"/node_modules/a/link", uid, gid); err != nil {
		t.Fatal(err)
	}
	if p, u, g := foreignEntry(proj, uid, gid); p != "" {
		t.Fatalf("a tree of one owner (a link to a root file in it): found %s (%d:%d)", p, u, g)
	}
	if err := os.Chown(proj+"/node_modules/a/lib/x.js", 0, 0); err != nil {
		t.Fatal(err)
	}
	if p, u, g := foreignEntry(proj, uid, gid); p != proj+"/node_modules/a/lib/x.js" || u != 0 || g != 0 {
		t.Fatalf("found %q (%d:%d), want the root-owned x.js", p, u, g)
	}
	if p, _, _ := foreignEntry(proj, 1, 1); p != proj {
		t.Fatalf("the root itself of another owner: found %q", p)
	}
}

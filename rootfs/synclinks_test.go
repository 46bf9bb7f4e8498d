package rootfs

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// hostLink makes rel2 a hard link to rel1 below the project (a build's outputs, as the
// last sync left them).
func hostLink(t *testing.T, project, rel1, rel2 string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(filepath.Join(project, rel2)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(project, rel1), filepath.Join(project, rel2)); err != nil {
		t.Fatal(err)
	}
}

func inodeOf(t *testing.T, root, rel string) unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(root, rel), &st); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return st
}

// wantOneInode: the names are one file on the host, with exactly that many links.
func wantOneInode(t *testing.T, root string, rels ...string) {
	t.Helper()
	first := inodeOf(t, root, rels[0])
	for _, rel := range rels[1:] {
		if st := inodeOf(t, root, rel); st.Ino != first.Ino {
			t.Errorf("%s and %s should be one inode on the host", rels[0], rel)
		}
	}
	if first.Nlink != uint64(len(rels)) {
		t.Errorf("%s has %d links, want %d", rels[0], first.Nlink, len(rels))
	}
}

// tmpfsStateDir puts the scratch on another file system than the project, so that the
// run's files are copied into place instead of renamed.
func tmpfsStateDir(t *testing.T) string {
	d, err := os.MkdirTemp("/dev/shm", "pb-synclinks-")
	if err != nil {
		t.Skipf("no tmpfs at /dev/shm: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(d) })
	if err := os.Chmod(d, 0o711); err != nil {
		t.Fatal(err)
	}
	var a, b unix.Stat_t
	if unix.Stat(d, &a) != nil || unix.Stat(os.TempDir(), &b) != nil || a.Dev == b.Dev {
		t.Skip("/dev/shm is on the same file system as the project")
	}
	siblingScratch = false // else the scratch goes beside the project, on its file system
	t.Cleanup(func() { siblingScratch = true })
	return filepath.Join(d, "state")
}

// cargo's edit → build loop: target/debug/app and target/debug/deps/app-HASH are one
// inode on the host after the first build; the rebuild writes deps/app-HASH anew and
// links app to it again.
const rebuildScript = `rm out/deps/app-h && echo v2 > out/deps/app-h && rm out/app && ln out/deps/app-h out/app &&
	echo v2 > out/build/app-b/build_script_build-h && rm out/build/app-b/build-script-build &&
	ln out/build/app-b/build_script_build-h out/build/app-b/build-script-build`

func rebuildSetup(t *testing.T, p, _ string) {
	hostLink(t, p, "out/deps/app-h", "out/app")
	hostLink(t, p, "out/build/app-b/build_script_build-h", "out/build/app-b/build-script-build")
}

func rebuildCheck(t *testing.T, p, _ string) {
	for _, f := range []string{"out/app", "out/deps/app-h", "out/build/app-b/build-script-build", "out/build/app-b/build_script_build-h"} {
		wantFile(t, p, f, "v2\n")
	}
	wantOneInode(t, p, "out/app", "out/deps/app-h")
	wantOneInode(t, p, "out/build/app-b/build-script-build", "out/build/app-b/build_script_build-h")
}

var rebuildFiles = map[string]string{"out/deps/app-h": "v1", "out/build/app-b/build_script_build-h": "v1", "src/main.rs": "fn main() {}"}

var syncLinkCases = []syncCase{
	{
		name:   "a rebuild that relinks its outputs is synced with its links",
		files:  rebuildFiles,
		setup:  rebuildSetup,
		script: rebuildScript,
		opts:   SyncOptions{Only: []string{"out"}},
		check:  rebuildCheck,
	},
	{
		name:     "a rebuild synced by copying keeps its links (scratch on another file system)",
		files:    rebuildFiles,
		setup:    rebuildSetup,
		script:   rebuildScript,
		opts:     SyncOptions{Only: []string{"out"}},
		stateDir: tmpfsStateDir,
		check:    rebuildCheck,
	},
	{
		name:  "a rebuild that rewrites one name in place and relinks the other",
		files: rebuildFiles,
		setup: rebuildSetup,
		// the write breaks the host link (overlay copy-up / staging copy); app is relinked.
		script: `echo v2 > out/deps/app-h && rm out/app && ln out/deps/app-h out/app`,
		check: func(t *testing.T, p, _ string) {
			wantFile(t, p, "out/app", "v2\n")
			wantOneInode(t, p, "out/app", "out/deps/app-h")
			wantOneInode(t, p, "out/build/app-b/build-script-build", "out/build/app-b/build_script_build-h")
		},
	},
	{
		name:  "a host edit of a hard-linked output during the run is still refused",
		files: rebuildFiles,
		setup: rebuildSetup,
		// the user's edit goes through the second name; the first name synced shows it.
		script: rebuildScript,
		between: func(t *testing.T, p, _ string) {
			if err := os.WriteFile(filepath.Join(p, "out/deps/app-h"), []byte("the user's edit"), 0o644); err != nil {
				t.Fatal(err)
			}
		},
		stop:    true,
		refused: []string{"out/app"},
		check: func(t *testing.T, p, _ string) {
			wantFile(t, p, "out/app", "the user's edit")
			wantOneInode(t, p, "out/app", "out/deps/app-h")
		},
	},
	{
		// The user's change (a chmod, which keeps the tree's hash) lands between the sync's
		// move of out/app and its turn at out/deps/app-h, the same inode.
		name:   "a host change of a hard-linked output after the sync moved its first name is refused",
		files:  rebuildFiles,
		setup:  rebuildSetup,
		script: rebuildScript,
		between: func(t *testing.T, p, _ string) {
			asides, done := 0, false
			afterJournalStep = func(op string) {
				if op == "aside" {
					asides++
					return
				}
				if asides == 1 && !done {
					done = true
					if err := os.Chmod(filepath.Join(p, "out/deps/app-h"), 0o644); err != nil {
						t.Error(err)
					}
				}
			}
			t.Cleanup(func() { afterJournalStep = nil })
		},
		stop:    true,
		refused: []string{"out/deps/app-h"},
		check: func(t *testing.T, p, _ string) {
			afterJournalStep = nil
			wantFile(t, p, "out/app", "v1")
			wantOneInode(t, p, "out/app", "out/deps/app-h")
		},
	},
	{
		name:   "a hard link from an output to a project file outside the outputs is not made on the host",
		files:  map[string]string{"src/secret": "s"},
		script: `mkdir out && ln src/secret out/h`,
		opts:   SyncOptions{Only: []string{"out"}},
		check: func(t *testing.T, p, _ string) {
			wantFile(t, p, "out/h", "s")
			if inodeOf(t, p, "out/h").Ino == inodeOf(t, p, "src/secret").Ino {
				t.Fatal("the synced output is a hard link to the project's src/secret")
			}
			if err := os.WriteFile(filepath.Join(p, "out/h"), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			wantFile(t, p, "src/secret", "s")
		},
	},
	{
		// An install script linking the manifest (an output too) to a package's file: the
		// host's manifest would be one file with node_modules/x/pj.
		name:    "a hard link between two different outputs is refused",
		files:   map[string]string{"manifest.json": "{}"},
		script:  `echo '{"a":1}' > manifest.json && mkdir out && ln manifest.json out/h`,
		opts:    SyncOptions{Only: []string{"out", "manifest.json"}},
		stop:    true,
		refused: []string{"out/h"},
		check: func(t *testing.T, p, _ string) {
			wantFile(t, p, "manifest.json", "{}")
		},
	},
	{
		name:   "a hard link within one output is kept beside another output (its twin)",
		files:  map[string]string{"manifest.json": "{}"},
		script: `echo '{"a":1}' > manifest.json && mkdir -p out/d && echo v > out/a && ln out/a out/d/b`,
		opts:   SyncOptions{Only: []string{"out", "manifest.json"}},
		check: func(t *testing.T, p, _ string) {
			wantFile(t, p, "manifest.json", "{\"a\":1}\n")
			wantFile(t, p, "out/d/b", "v\n")
			wantOneInode(t, p, "out/a", "out/d/b")
			wantOneInode(t, p, "manifest.json")
		},
	},
	{
		name:  "a project file hard-linked to an output on the host is not written through",
		files: map[string]string{"src/keep": "orig"},
		setup: func(t *testing.T, p, _ string) {
			hostLink(t, p, "src/keep", "out/gen")
		},
		script: `echo new > out/gen`,
		opts:   SyncOptions{Only: []string{"out"}},
		check: func(t *testing.T, p, _ string) {
			wantFile(t, p, "out/gen", "new\n")
			wantFile(t, p, "src/keep", "orig")
		},
	},
	{
		name:   "a run file linked to a file outside the run's tree is refused, even beside a legitimate link",
		files:  rebuildFiles,
		setup:  rebuildSetup,
		script: rebuildScript,
		tamper: func(t *testing.T, s *Scratch) {
			outside := filepath.Join(s.Dir(), "outside")
			if err := os.WriteFile(outside, []byte("secret"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Link(outside, filepath.Join(s.sourceDir(), "out", "hl")); err != nil {
				t.Fatal(err)
			}
		},
		stop:    true,
		refused: []string{"out/hl"},
	},
}

func TestSyncBackHardLinks(t *testing.T) {
	usernsWhy := canUserns()
	if usernsWhy != "" {
		t.Skip(usernsWhy + ": the runs need one")
	}
	for _, mode := range []Mode{ModeOverlay, ModeCopy} {
		for _, tc := range syncLinkCases {
			t.Run(mode.String()+"/"+tc.name, func(t *testing.T) { runSyncCase(t, tc, mode) })
		}
	}
}

package rootfs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// nodeModulesShape writes a node_modules-like tree of 600 packages x 50 files = 30,000
// small files in nested dirs, as an install would leave it in the upper/staging dir.
func nodeModulesShape(b *testing.B, root string) int {
	b.Helper()
	body := []byte(strings.Repeat("module.exports = function () { return 42 }\n", 20)) // ~900 B
	n := 0
	write := func(p string, data []byte) {
		if err := os.WriteFile(p, data, 0o644); err != nil {
			b.Fatal(err)
		}
		n++
	}
	for i := 0; i < 600; i++ {
		pkg := filepath.Join(root, "node_modules", fmt.Sprintf("pkg-%03d", i))
		for _, d := range []string{"lib/a", "lib/b", "lib/c", "lib/d", "types"} {
			if err := os.MkdirAll(filepath.Join(pkg, d), 0o755); err != nil {
				b.Fatal(err)
			}
		}
		write(filepath.Join(pkg, "package.json"), []byte(fmt.Sprintf(`{"name":"pkg-%03d","version":"1.0.0","main":"index.js"}`, i)))
		write(filepath.Join(pkg, "README.md"), body[:400])
		write(filepath.Join(pkg, "LICENSE"), body[:300])
		write(filepath.Join(pkg, "index.js"), body)
		for _, d := range []string{"a", "b", "c", "d"} {
			for f := 0; f < 11; f++ {
				write(filepath.Join(pkg, "lib", d, fmt.Sprintf("f%d.js", f)), body)
			}
		}
		write(filepath.Join(pkg, "types", "index.d.ts"), body[:200])
		write(filepath.Join(pkg, "types", "extra.d.ts"), body[:200])
	}
	return n
}

// BenchmarkSyncBack30k measures SyncBack (change set + validation + apply) of a
// 30,000-file node_modules tree: moved by rename (scratch on the project's file system,
// overlay and copy mode) and copied (scratch on another file system).
//
//	go test -tags seccomp -run '^$' -bench SyncBack30k -benchtime 3x ./rootfs/
func BenchmarkSyncBack30k(b *testing.B) {
	for _, bc := range []struct {
		name    string
		mode    Mode
		otherFS bool
	}{
		{"overlay-rename", ModeOverlay, false},
		{"copymode-rename", ModeCopy, false},
		{"overlay-crossfs-copy", ModeOverlay, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			if bc.otherFS {
				siblingScratch = false
				defer func() { siblingScratch = true }()
			}
			uid, gid := testOwner()
			files := 0
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				base := b.TempDir()
				project := filepath.Join(base, "project")
				if err := os.MkdirAll(project, 0o755); err != nil {
					b.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(project, "package.json"), []byte(`{"dependencies":{}}`), 0o644); err != nil {
					b.Fatal(err)
				}
				state := filepath.Join(base, "state")
				if bc.otherFS {
					d, err := os.MkdirTemp("/dev/shm", "phylum-bench-")
					if err != nil || sameDevice(d, base) {
						b.Skipf("need /dev/shm on another file system: %v", err)
					}
					defer os.RemoveAll(d)
					state = d
				}
				s, err := NewScratch(context.Background(), ScratchOptions{Project: project, StateDir: state,
					RootUID: os.Getuid(), RootGID: os.Getgid(), Mode: bc.mode})
				if err != nil {
					b.Fatal(err)
				}
				files = nodeModulesShape(b, s.sourceDir())
				b.StartTimer()
				rep, err := s.SyncBack(SyncOptions{Only: []string{"node_modules", "package.json"}, OwnerUID: uid, OwnerGID: gid})
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				if len(rep.Applied) < files {
					b.Fatalf("applied %d changes for %d files", len(rep.Applied), files)
				}
				s.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(files), "files/op")
		})
	}
}

// BenchmarkStageCopy30k measures what ModeCopy costs before the run starts: copying a
// project that already holds a 30,000-file node_modules into the staging dir.
//
//	go test -tags seccomp -run '^$' -bench StageCopy30k -benchtime 2x ./rootfs/
func BenchmarkStageCopy30k(b *testing.B) {
	base := b.TempDir()
	project := filepath.Join(base, "project")
	files := nodeModulesShape(b, project)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, err := NewScratch(context.Background(), ScratchOptions{Project: project, StateDir: filepath.Join(base, "state"),
			RootUID: os.Getuid(), RootGID: os.Getgid(), Mode: ModeCopy})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if len(s.snap) < files {
			b.Fatalf("staged %d entries for %d files", len(s.snap), files)
		}
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(files), "files/op")
}

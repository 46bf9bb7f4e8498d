package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Issue 9, class 6: a sandboxed command filled the host's disk through the overlay.
// limits.disk (--disk, PHYLUM_BOX_DISK, the config file) bounds what a run writes to
// the host through its scratch: over it the run is stopped (exit 4), nothing is
// synced and the message names the limit and how to raise it.

const (
	manyFiles = "mkdir -p out && for i in $(seq 100); do head -c 2M /dev/urandom > out/f$i || exit 9; done"
	oneFile   = "head -c 200M /dev/zero > big"
	underDisk = "mkdir -p out && for i in $(seq 16); do head -c 2M /dev/urandom > out/f$i; done"
)

func TestDiskLimitStopsRun(t *testing.T) {
	forEachModeScratch(t, func(t *testing.T, m mode, scratch []string) {
		b := newBox(t, m)
		flags := append([]string{"--disk", "64M"}, scratch...)
		for _, tc := range []struct{ name, script string }{
			{"many files", manyFiles},
			{"one file", oneFile},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := treeHash(t, b.Project, true)
				r := b.sh(flags, tc.script)
				wantCode(t, r, 4, tc.name+" past --disk 64M")
				wantStderr(t, r, "disk limit 64mib hit", "--disk", "nothing was synced back")
				assertSameTree(t, before, treeHash(t, b.Project, true), tc.name+" past the disk limit")
			})
		}
		t.Run("twin: 32 MiB under the limit is synced", func(t *testing.T) {
			r := b.sh(flags, underDisk)
			wantCode(t, r, 0, "32 MiB under --disk 64M")
			for i := 1; i <= 16; i++ {
				fi, err := os.Stat(filepath.Join(b.Project, "out", fmt.Sprintf("f%d", i)))
				if err != nil || fi.Size() != 2<<20 {
					t.Fatalf("out/f%d not synced (%v):\n%s", i, err, r)
				}
			}
		})
	})
}

// TestDiskLimitFromEnvAndConfig: the environment variable and the config key set
// the same limit; the flag overrides both.
func TestDiskLimitFromEnvAndConfig(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		b := newBox(t, m)
		t.Run("PHYLUM_BOX_DISK", func(t *testing.T) {
			before := treeHash(t, b.Project, true)
			inv := b.invoke(nil, []string{"/bin/sh", "-c", manyFiles})
			inv.Env = []string{"PHYLUM_BOX_DISK=64MiB"}
			r := inv.exec(t)
			wantCode(t, r, 4, "PHYLUM_BOX_DISK=64MiB")
			wantStderr(t, r, "disk limit 64mib hit")
			assertSameTree(t, before, treeHash(t, b.Project, true), "past PHYLUM_BOX_DISK")
			inv = b.invoke([]string{"--disk", "1GiB"}, []string{"/bin/sh", "-c", underDisk + " && head -c 64M /dev/zero > more"})
			inv.Env = []string{"PHYLUM_BOX_DISK=64MiB"}
			wantCode(t, inv.exec(t), 0, "--disk 1GiB over PHYLUM_BOX_DISK=64MiB")
		})
		t.Run("limits.disk", func(t *testing.T) {
			cfg := filepath.Join(b.Home, ".config", "phylum-box", "config.yaml")
			writeFile(t, cfg, "limits:\n  disk: 64MiB\n", 0o600)
			chownTree(t, m, filepath.Join(b.Home, ".config"))
			defer os.Remove(cfg)
			if err := os.RemoveAll(filepath.Join(b.Project, "out")); err != nil {
				t.Fatal(err)
			}
			before := treeHash(t, b.Project, true)
			r := b.sh(nil, manyFiles)
			wantCode(t, r, 4, "limits.disk: 64MiB")
			wantStderr(t, r, "disk limit 64mib hit", "limits.disk")
			assertSameTree(t, before, treeHash(t, b.Project, true), "past limits.disk")
			wantCode(t, b.sh(nil, underDisk), 0, "32 MiB under limits.disk: 64MiB")
		})
	})
}

// TestNpmInstallScriptHitsDiskLimit: an install script that writes 200 MiB into
// node_modules under PHYLUM_BOX_DISK=64MiB stops the install (exit 4) and leaves
// the project as it was; the twin writing 8 MiB installs.
func TestNpmInstallScriptHitsDiskLimit(t *testing.T) {
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		size := func(mib string) func(dir string) {
			return func(dir string) { writeFile(t, filepath.Join(dir, "size.txt"), mib+"\n", 0o644) }
		}
		b := newPMBox(t, m)
		b.Env = append(b.Env, "PHYLUM_BOX_DISK=64MiB")
		tgz := packFixture(t, b, "disk-filler", nil, size("200"))
		before := projectState(t, b.Project)
		r := b.tool("", "npm", "install", tgz)
		wantCode(t, r, 4, "an install script writing 200 MiB under PHYLUM_BOX_DISK=64MiB")
		wantStderr(t, r, "disk limit 64mib hit", "limits.disk")
		assertSameTree(t, before, projectState(t, b.Project), "an install stopped by the disk limit")

		b = newPMBox(t, m)
		b.Env = append(b.Env, "PHYLUM_BOX_DISK=64MiB")
		tgz = packFixture(t, b, "disk-filler", nil, size("8"))
		wantCode(t, b.tool("", "npm", "install", tgz), 0, "an install script writing 8 MiB under PHYLUM_BOX_DISK=64MiB")
		wantFile(t, filepath.Join(b.Project, "node_modules", "pbox-disk-filler", "fill", "f7"), "the 8 MiB synced with node_modules")
	})
}

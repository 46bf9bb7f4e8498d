package integration

import (
	"os"
	"path/filepath"
	"testing"
)

// A file deleted while open keeps its blocks until it is closed, and no walk of
// the scratch sees it: six 60 MiB files, each under the per-file limit, written,
// unlinked and held open, kept 360 MiB of the host's disk through --disk 64M
// (exit 0). The files the container's processes hold with no name count too.

// heldDeleted writes $1 files of $2 MiB into the scratch, unlinks each while
// keeping it open, and then waits (held) or exits (closing them).
const heldDeleted = `n=$1; size=$2; i=0
while [ $i -lt $n ]; do i=$((i+1)); fd=$((i+2))
	eval "exec $fd>held$i" && head -c ${size}M /dev/zero >&$fd && rm held$i || exit 9
done
echo wrote
[ "$3" = wait ] && sleep 600
exit 0`

func TestDiskLimitCountsDeletedOpenFiles(t *testing.T) {
	forEachModeScratch(t, func(t *testing.T, m mode, scratch []string) {
		b := newBox(t, m)
		flags := append([]string{"--disk", "64M", "--timeout", "60s"}, scratch...)
		r := b.sh(flags, heldDeleted, "6", "60", "wait")
		wantCode(t, r, 4, "360 MiB held in deleted files past --disk 64M")
		wantStderr(t, r, "disk limit 64mib hit", "nothing was synced back")

		// The twin: files deleted and held under the limit do not stop the run.
		r = b.sh(flags, heldDeleted, "2", "10", "exit")
		wantCode(t, r, 0, "20 MiB held in deleted files under --disk 64M")
	})
}

// TestDiskLimitChargesEmptyFiles: empty files take no block, only an inode; a
// run making hundreds of thousands of them (300,000 passed --disk 64M) could
// exhaust the host file system's inodes. Each entry counts as one 4 KiB block:
// 40,000 of them are past 64 MiB, 2,000 are not.
func TestDiskLimitChargesEmptyFiles(t *testing.T) {
	const emptyFiles = `mkdir -p e && cd e && i=0; while [ $i -lt $1 ]; do : >f$i; i=$((i+1)); done`
	forEachModeScratch(t, func(t *testing.T, m mode, scratch []string) {
		b := newBox(t, m)
		flags := append([]string{"--disk", "64M"}, scratch...)
		r := b.sh(flags, emptyFiles, "40000")
		wantCode(t, r, 4, "40,000 empty files past --disk 64M")
		wantStderr(t, r, "disk limit 64mib hit")
		if _, err := os.Stat(filepath.Join(b.Project, "e")); err == nil {
			t.Errorf("the files were synced\n%s", r)
		}
		r = b.sh(flags, emptyFiles, "2000")
		wantCode(t, r, 0, "2,000 empty files under --disk 64M")
		if _, err := os.Stat(filepath.Join(b.Project, "e", "f1999")); err != nil {
			t.Errorf("the files were not synced: %v\n%s", err, r)
		}
	})
}

package integration

import (
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

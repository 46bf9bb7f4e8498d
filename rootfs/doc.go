// Package rootfs builds the container's file system — a skeleton root with read-only
// host binds, tmpfs $HOME and /tmp, the project overlay and named caches — and
// applies a successful run's changes back to the host project tree (SyncBack),
// treating every path and symlink from inside the sandbox as hostile.
package rootfs

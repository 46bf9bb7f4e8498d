// Package kernel answers one question about the running Linux kernel: which
// version it is. The sandbox's choices hang on it (overlayfs in a user namespace
// since 5.11, RLIMIT_NPROC per user namespace since 5.14), and doctor grades the
// same facts, so both ask here.
package kernel

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Release is the running kernel's release as uname -r prints it
// ("6.1.0-13-amd64"), "" when uname fails.
func Release() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}

// Version reads the major and minor numbers of a release string; ok is false
// when it does not start with "<major>.<minor>".
func Version(release string) (major, minor int, ok bool) {
	if _, err := fmt.Sscanf(release, "%d.%d", &major, &minor); err != nil {
		return 0, 0, false
	}
	return major, minor, true
}

// Older reports whether release is a version before major.minor; a release that
// does not parse is not older.
func Older(release string, major, minor int) bool {
	a, b, ok := Version(release)
	return ok && (a < major || a == major && b < minor)
}

// AtLeast reports whether the running kernel is major.minor or newer; false when
// its version cannot be read.
func AtLeast(major, minor int) bool {
	a, b, ok := Version(Release())
	return ok && (a > major || a == major && b >= minor)
}

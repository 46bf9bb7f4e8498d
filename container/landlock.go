package container

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// landlockScopeABI is the first Landlock ABI with scoping (Linux 6.12).
const landlockScopeABI = 6

// landlockRulesetAttrSize is the size of the ruleset attribute up to and
// including Scoped; newer kernels accept the short form.
const landlockRulesetAttrSize = 24

// LandlockScopeAvailable reports whether the kernel can scope abstract unix
// sockets (Landlock ABI >= 6).
func LandlockScopeAvailable() bool {
	abi, _, e := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	return e == 0 && int(abi) >= landlockScopeABI
}

// scopeAbstractUnixSockets puts the calling thread, and everything it forks
// from now on, in a Landlock domain that may not connect to abstract unix
// sockets created outside it. A network namespace of its own already hides the
// host's abstract sockets; with Spec.Network the container shares the host's,
// where X11 (@/tmp/.X11-unix/X0), D-Bus and IDE helpers listen, and this is
// what keeps a build script from typing into the desktop session.
//
// The domain cannot be left again, so call it only on a thread that is
// discarded afterwards. An unprivileged thread must set no_new_privs first,
// which would also strip setuid from newuidmap: callers with a subordinate map
// cannot use it.
func scopeAbstractUnixSockets(privileged bool) error {
	if !LandlockScopeAvailable() {
		return errors.New("the kernel has no Landlock scoping (Linux 6.12 or later with landlock in lsm=)")
	}
	attr := unix.LandlockRulesetAttr{Scoped: unix.LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET}
	fd, _, e := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(&attr)), landlockRulesetAttrSize, 0)
	if e != 0 {
		return fmt.Errorf("landlock_create_ruleset: %w", e)
	}
	defer unix.Close(int(fd))
	if !privileged {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("no_new_privs: %w", err)
		}
	}
	if _, _, e := unix.Syscall(unix.SYS_LANDLOCK_RESTRICT_SELF, fd, 0, 0); e != 0 {
		return fmt.Errorf("landlock_restrict_self: %w", e)
	}
	return nil
}

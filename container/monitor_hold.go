//go:build seccomp

package container

import (
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// monitorExitGrace is how long the init's exit waits for the container's other
// processes to end by themselves.
const monitorExitGrace = 300 * time.Millisecond

// heldExit is the init's exit_group, unanswered while the processes still
// running (pidfds) get their grace.
type heldExit struct {
	id     uint64
	ev     SyscallEvent
	pidfds []int
	until  time.Time
}

func pidfdsOf(procs []Process) []int {
	var fds []int
	for _, p := range procs {
		if fd, err := unix.PidfdOpen(p.Pid, 0); err == nil {
			fds = append(fds, fd)
		}
	}
	return fds
}

// releaseHeld reports the held exit (its Running lists what is still running
// after the grace) and lets it go on.
func (l *monitorListener) releaseHeld(fd int) {
	h := l.held
	l.dropHeld()
	id := h.id
	if ioctlPtr(fd, unix.SECCOMP_IOCTL_NOTIF_ID_VALID, unsafe.Pointer(&id)) != nil {
		return // killed meanwhile (the timeout, Ctrl-C)
	}
	l.m.OnEvent(h.ev)
	resp := seccompNotifResp{ID: h.id, Flags: unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE}
	_ = ioctlPtr(fd, unix.SECCOMP_IOCTL_NOTIF_SEND, unsafe.Pointer(&resp))
}

func (l *monitorListener) dropHeld() {
	if l.held == nil {
		return
	}
	for _, p := range l.held.pidfds {
		unix.Close(p)
	}
	l.held = nil
}

// Package flock takes an exclusive flock(2) on an open file, waiting cancellably.
//
// It polls with LOCK_NB rather than blocking in flock(2) on another goroutine: a
// goroutine blocked in flock cannot be woken, and closing the descriptor under it
// (the only way out when the caller gives up) lets the kernel reuse the fd number
// for an unrelated file, which the blocked flock could then lock.
package flock

import (
	"context"
	"errors"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// PollInterval is how often a waiting Lock tries again.
const PollInterval = 100 * time.Millisecond

// Lock takes an exclusive lock on f. While another process holds it, onWait (if
// set) is called once, then Lock retries every PollInterval until it gets the lock
// or ctx ends (ctx.Err() is returned; f stays open, the caller closes it).
func Lock(ctx context.Context, f *os.File, onWait func()) error {
	waited := false
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			return err
		}
		if !waited {
			waited = true
			if onWait != nil {
				onWait()
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(PollInterval):
		}
	}
}

// TryLock takes an exclusive lock on f if no other holder has one; false when one does.
func TryLock(f *os.File) (bool, error) {
	err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}

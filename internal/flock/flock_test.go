package flock

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func open(t *testing.T, p string) *os.File {
	t.Helper()
	f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// A second open file description waits for the first holder, is cancellable, and
// gets the lock once the holder closes.
func TestLockWaitsAndCancels(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.lock")
	a, b := open(t, p), open(t, p)
	if err := Lock(context.Background(), a, nil); err != nil {
		t.Fatal(err)
	}
	if ok, err := TryLock(b); ok || err != nil {
		t.Fatalf("TryLock while held = %v, %v; want false, nil", ok, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*PollInterval)
	defer cancel()
	waits := 0
	if err := Lock(ctx, b, func() { waits++ }); !errors.Is(err, context.DeadlineExceeded) || waits != 1 {
		t.Fatalf("Lock while held = %v after %d wait call(s); want the context's error after 1", err, waits)
	}
	done := make(chan error, 1)
	go func() { done <- Lock(context.Background(), b, nil) }()
	time.Sleep(PollInterval / 2)
	a.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Lock did not get the lock after the holder closed")
	}
	if ok, _ := TryLock(open(t, p)); ok {
		t.Error("a third description got the lock b holds")
	}
}

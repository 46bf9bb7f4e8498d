package rootfs

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A FIFO the run planted under a file's name is refused at once (the open does not
// wait for a writer); a regular file beside it still reads.
func TestReadBeneathFIFO(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(root, "x", "package.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "x", "ok.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := readBeneath(root, "x/package.json"); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("a FIFO: %v, want refused as not a regular file", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("reading a FIFO hung (opened without O_NONBLOCK)")
	}
	if data, err := readBeneath(root, "x/ok.json"); err != nil || string(data) != "{}" {
		t.Errorf("a regular file: %q %v", data, err)
	}
}

package container

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestParentShares(t *testing.T) {
	if got, want := parentShares(), uint64(2048*runtime.NumCPU()); want <= 262144 && got != want {
		t.Errorf("parentShares() = %d, want %d (two processes' weight per CPU)", got, want)
	}
	if parentShares() > 262144 || parentShares() < 2048 {
		t.Errorf("parentShares() = %d, outside [2048, 262144]", parentShares())
	}
}

func TestHasController(t *testing.T) {
	for name, want := range map[string]bool{"cpu": true, "cpu,cpuacct": true, "cpuacct,cpu": true, "cpuacct": false, "cpuset": false, "memory": false} {
		if got := hasController(name, "cpu"); got != want {
			t.Errorf("hasController(%q, cpu) = %v, want %v", name, got, want)
		}
	}
}

// writeWeight creates the parent when missing and writes the weight once; an
// existing parent keeps what is in it apart from that file.
func TestWriteWeight(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "phylum-box")
	if err := writeWeight(dir, "cpu.shares", 4096); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "other"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeWeight(dir, "cpu.shares", 4096); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "cpu.shares"))
	if err != nil || string(b) != "4096" {
		t.Fatalf("cpu.shares = %q, %v; want 4096", b, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "other")); err != nil {
		t.Errorf("the existing parent was replaced: %v", err)
	}
}

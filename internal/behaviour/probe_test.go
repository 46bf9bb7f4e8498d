package behaviour

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/phylum-box/phylum-box/container"
	"github.com/phylum-box/phylum-box/internal/sandbox"
	"github.com/phylum-box/phylum-box/rootfs"
)

// TestProbeRealProject runs a command over a real project in a monitored sandbox
// with decoys, offline, as a build step would, and logs every observation: the
// false-alarm measurement on real packages. It runs only when asked:
//
//	PB_BEHAVIOUR_PROBE=/path/to/project PB_BEHAVIOUR_PROBE_CMD='npm rebuild --foreground-scripts' \
//	  go test -tags seccomp -run TestProbeRealProject -v ./internal/behaviour/
//
// PB_BEHAVIOUR_PROBE_ECO is the ecosystem (default npm); PB_BEHAVIOUR_PROBE_ENV adds
// KEY=VALUE pairs, space-separated.
func TestProbeRealProject(t *testing.T) {
	proj := os.Getenv("PB_BEHAVIOUR_PROBE")
	if proj == "" {
		t.Skip("set PB_BEHAVIOUR_PROBE to a project to probe")
	}
	needContainers(t)
	eco := os.Getenv("PB_BEHAVIOUR_PROBE_ECO")
	if eco == "" {
		eco = "npm"
	}
	cmd := os.Getenv("PB_BEHAVIOUR_PROBE_CMD")
	if cmd == "" {
		cmd = "npm rebuild --foreground-scripts --no-audit --no-fund"
	}
	home := os.Getenv("HOME")
	s, err := sandbox.Open(context.Background(), sandbox.Options{Project: proj, Home: home, User: os.Getenv("USER"), Mode: rootfs.ModeAuto})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	dir := filepath.Join(t.TempDir(), "decoys")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(filepath.Dir(dir), 0o711)
	_ = os.Chmod(filepath.Dir(filepath.Dir(dir)), 0o711)
	id := s.Identity()
	d, err := NewDecoys(dir, home, id.RootUID, id.RootGID)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRecorder(eco, d)
	if err != nil {
		t.Fatal(err)
	}
	ro, rw := d.Binds(nil)
	extra := strings.Fields(os.Getenv("PB_BEHAVIOUR_PROBE_ENV"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	start := time.Now()
	res, err := s.Run(ctx, sandbox.Exec{
		Args:   []string{"sh", "-c", cmd},
		Env:    sandbox.ScrubEnv(os.Environ(), nil, home, os.Getenv("USER"), extra...),
		Limits: container.Limits{Timeout: 25 * time.Minute},
		Files:  ro, Writable: rw, Monitor: r.Monitor(),
		Stdout: testWriter{t}, Stderr: testWriter{t},
	})
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("exit %d in %s, monitored %v %s", res.ExitCode, time.Since(start).Round(time.Millisecond), res.Monitored, res.MonitorNote)
	for _, o := range r.Findings() {
		m := ""
		if o.Manager {
			m = " [manager]"
		}
		t.Logf("OBS %s %s %s%s: %s", o.Severity, o.Rule, o.Owner(), m, o.Summary)
		for _, e := range o.Evidence {
			t.Logf("      %s", e)
		}
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("| %s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

package rootfs

import (
	"bytes"
	"testing"
)

// sameButFirstLine: the first line is a time stamp the manager rewrites every run.
func sameButFirstLine(run, host []byte) bool {
	_, r, _ := bytes.Cut(run, []byte("\n"))
	_, h, _ := bytes.Cut(host, []byte("\n"))
	return bytes.Equal(r, h)
}

var unchangedOpts = SyncOptions{Unchanged: map[string]func(run, host []byte) bool{"nm/state": sameButFirstLine}}

func TestSyncBackUnchanged(t *testing.T) {
	usernsWhy := canUserns()
	if usernsWhy != "" {
		t.Skip(usernsWhy + ": the runs need one")
	}
	cases := []syncCase{
		{
			name:   "a state file rewritten with only a new time stamp is left as the host has it, not counted",
			files:  map[string]string{"nm/state": "t=1\nsettings\n"},
			script: `printf 't=2\nsettings\n' > nm/state`,
			opts:   unchangedOpts,
			// no check: the harness wants nothing applied
		},
		{
			name:   "a state file whose content changed is synced",
			files:  map[string]string{"nm/state": "t=1\nsettings\n"},
			script: `printf 't=2\nother settings\n' > nm/state`,
			opts:   unchangedOpts,
			check: func(t *testing.T, p, _ string) {
				wantFile(t, p, "nm/state", "t=2\nother settings\n")
			},
		},
		{
			name:  "a state file in a dir the run replaced is synced with its dir",
			files: map[string]string{"nm/state": "t=1\nsettings\n", "nm/old": "o"},
			// mv first: the new dir must not reuse the old one's inode (copy mode tells a
			// replaced dir by its inode).
			script: `mv nm nm2 && mkdir nm && printf 't=2\nsettings\n' > nm/state`,
			opts:   unchangedOpts,
			check: func(t *testing.T, p, _ string) {
				wantFile(t, p, "nm/state", "t=2\nsettings\n")
				wantAbsent(t, p, "nm/old")
				wantFile(t, p, "nm2/old", "o")
			},
		},
		{
			name:  "a host symlink at the state file's name is replaced, never read through",
			files: map[string]string{"secret": "t=0\nsettings\n", "nm/keep": "k"},
			setup: func(t *testing.T, p, _ string) {
				symlink(t, "../secret", p+"/nm/state")
			},
			script: `rm nm/state && printf 't=2\nsettings\n' > nm/state`,
			opts:   unchangedOpts,
			check: func(t *testing.T, p, _ string) {
				wantFile(t, p, "nm/state", "t=2\nsettings\n")
				wantFile(t, p, "secret", "t=0\nsettings\n")
			},
		},
	}
	for _, mode := range []Mode{ModeOverlay, ModeCopy} {
		for _, tc := range cases {
			t.Run(mode.String()+"/"+tc.name, func(t *testing.T) { runSyncCase(t, tc, mode) })
		}
	}
}

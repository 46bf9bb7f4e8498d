package rootfs

import (
	"path/filepath"
	"testing"
)

// SyncOptions.Validate sees the changes that passed the generic rules; a refusal it
// returns stops the whole sync, before anything is applied.
func TestSyncBackValidate(t *testing.T) {
	usernsWhy := canUserns()
	if usernsWhy != "" {
		t.Skip(usernsWhy + ": the runs need one")
	}
	refuseLinks := func(cs, _ []Change) []RefusedChange {
		var out []RefusedChange
		for _, c := range cs {
			if c.Type == TypeSymlink {
				out = append(out, RefusedChange{Path: c.Path, Reason: "a link the caller refuses", OutsideOnly: true})
			}
		}
		return out
	}
	cases := []syncCase{
		{
			name:    "a refusal from Validate stops the sync",
			files:   map[string]string{"keep": "k"},
			script:  `mkdir -p out/sub; echo new > out/sub/file; ln -s ../../keep out/sub/link; echo x > elsewhere`,
			opts:    SyncOptions{Only: []string{"out"}, Validate: refuseLinks},
			stop:    true,
			refused: []string{"elsewhere", "out/sub/link"},
			check: func(t *testing.T, p, _ string) {
				wantAbsent(t, p, "out")
				wantFile(t, p, "keep", "k")
			},
		},
		{
			name:   "nothing refused: everything applied",
			files:  map[string]string{"keep": "k"},
			script: `mkdir -p out; echo new > out/file`,
			opts:   SyncOptions{Validate: refuseLinks},
			check: func(t *testing.T, p, _ string) {
				wantFile(t, p, "out/file", "new\n")
			},
		},
		{
			name:  "Readlink sees the run's view without following links",
			files: map[string]string{"keep": "k"},
			setup: func(t *testing.T, p, outside string) {
				symlink(t, "keep", filepath.Join(p, "hostlink"))
				symlink(t, outside, filepath.Join(p, "out-link"))
			},
			script: `mkdir -p d; ln -s ../keep d/runlink; rm hostlink; ln -s other hostlink`,
			tamper: func(t *testing.T, s *Scratch) {
				for rel, want := range map[string]string{"d/runlink": "../keep", "hostlink": "other"} {
					if got, err := s.Readlink(rel); err != nil || got != want {
						t.Errorf("Readlink(%s) = %q, %v; want %q", rel, got, err, want)
					}
				}
				if got, err := s.Readlink("out-link"); err != nil || !filepath.IsAbs(got) {
					t.Errorf("Readlink(out-link) = %q, %v; want the absolute target", got, err)
				}
				for _, rel := range []string{"keep", "d", "out-link/x", "missing", "../x"} {
					if got, err := s.Readlink(rel); err == nil {
						t.Errorf("Readlink(%s) = %q, want an error", rel, got)
					}
				}
			},
			stop:    true,
			refused: []string{"d/runlink", "hostlink"},
			opts:    SyncOptions{Validate: refuseLinks},
		},
	}
	for _, mode := range []Mode{ModeOverlay, ModeCopy} {
		for _, tc := range cases {
			t.Run(mode.String()+"/"+tc.name, func(t *testing.T) { runSyncCase(t, tc, mode) })
		}
	}
}

package lockfile

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestPNPMFastAgrees checks that the line reader accepts every pnpm-written lockfile here
// (otherwise the fast path would be dead weight) and reads exactly what yaml.v3 reads.
func TestPNPMFastAgrees(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(corpus(t), "lockfiles", "fixtures", "pnpm", "*.yaml"))
	files = append(files, filepath.Join(corpus(t), "lockfiles", "real", "vite.pnpm-lock.yaml"))
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			fast, stop := pnpmFastAt(data)
			if stop != 0 {
				t.Fatalf("fast reader gave up at line %d of a lockfile pnpm wrote", stop)
			}
			slow, err := pnpmYAML(data)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(fast, slow) {
				t.Errorf("fast and yaml.v3 readers disagree:\nfast %+v\nyaml %+v", fast, slow)
			}
		})
	}
	// Inputs outside the subset must be left to yaml.v3.
	for _, in := range []string{
		"lockfileVersion: '9.0'\npackages:\n  a@1.0.0:\n    name: &x a\n",
		"lockfileVersion: '9.0'\npackages:\n  a@1.0.0:\n    name: |\n      a\n",
		"lockfileVersion: '9.0'\npackages:\n  a@1.0.0:\n    name: a\n      b\n",
		"lockfileVersion: '9.0'\npackages:\n  a@1.0.0: {}\n  a@1.0.0: {}\n",
		"lockfileVersion: '9.0'\npackages:\n   a@1.0.0: {}\n",
		"lockfileVersion: '9.0'\npackages:\n  a@1.0.0:\n    resolution: {integrity: x,\n      tarball: y}\n",
		"lockfileVersion: '9.0'\nsettings:\n  x: 'abc\npackages:\n  evil@1.0.0: {}\n  y: z'\n",
		"lockfileVersion: \"9.0\\x41\"\n",
		"lockfileVersion: '9.0'\t\n",
	} {
		if _, ok := pnpmFast([]byte(in)); ok {
			t.Errorf("fast reader accepted %q", in)
		}
	}
}

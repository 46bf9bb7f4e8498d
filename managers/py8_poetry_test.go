package managers

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPoetryBuildPipPATH runs the build script with a stand-in for the venv's
// python that records its PATH: wheels only, pip gets a PATH naming no program
// (no User-Agent probes); an sdist among the files (pip builds it, its backend
// may need a compiler) or no file at all, the step's own PATH.
func TestPoetryBuildPipPATH(t *testing.T) {
	tests := []struct {
		name  string
		files []string
		bare  bool // pip gets no programs
	}{
		{"wheels only", []string{"a-1.0-py3-none-any.whl", "b-2.0-cp311-cp311-manylinux_2_17_x86_64.whl"}, true},
		{"an sdist after wheels", []string{"a-1.0-py3-none-any.whl", "c-1.0.tar.gz"}, false},
		{"an sdist only", []string{"c-1.0.tar.gz"}, false},
		{"nothing fetched", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			proj, in := t.TempDir(), t.TempDir()
			work := filepath.Join(proj, poetryWork)
			if err := os.MkdirAll(filepath.Join(work, "dist"), 0o755); err != nil {
				t.Fatal(err)
			}
			for _, f := range tc.files {
				if err := os.WriteFile(filepath.Join(work, "dist", f), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(in, "requirements.txt"), []byte("a\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Join(proj, ".venv", "bin"), 0o755); err != nil {
				t.Fatal(err)
			}
			seen := filepath.Join(t.TempDir(), "path")
			if err := os.WriteFile(filepath.Join(proj, ".venv", "bin", "python"), []byte("#!/bin/sh\nprintf '%s' \"$PATH\" > "+seen+"\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("/bin/sh", "-c", `eval "$PHYLUM_BOX_SCRIPT"`, work, in)
			cmd.Dir = proj
			cmd.Env = []string{"PATH=/usr/bin:/bin", "PHYLUM_BOX_SCRIPT=" + poetryBuildScript, "PHYLUM_BOX_NO_PROGRAMS=" + pipNoProgramsPATH}
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("build script: %v\n%s", err, out)
			}
			got, err := os.ReadFile(seen)
			if err != nil {
				t.Fatal(err)
			}
			want := "/usr/bin:/bin"
			if tc.bare {
				want = pipNoProgramsPATH
			}
			if string(got) != want {
				t.Errorf("pip ran with PATH=%s, want %s", got, want)
			}
			if _, err := os.Stat(work); !os.IsNotExist(err) {
				t.Errorf("the download dir was left: %v", err)
			}
		})
	}
}

// TestPoetryFetchPicksAsPackaging: the fetch script's quick test for pure
// wheels chooses exactly what pip's packaging chooses (the system python3 with
// pip's vendored packaging), for names, versions and tags at its edges.
func TestPoetryFetchPicksAsPackaging(t *testing.T) {
	py, err := exec.LookPath("/usr/bin/python3")
	if err != nil {
		t.Skip("no /usr/bin/python3")
	}
	defs, _, ok := strings.Cut(poetryFetchScript, `for pkg in plan["packages"]:`)
	if !ok {
		t.Fatal("the fetch script changed shape")
	}
	defs = strings.Replace(defs, "listfile, dist = sys.argv[1], sys.argv[2]\nwith open(listfile) as f:\n    plan = json.load(f)\nos.makedirs(dist, exist_ok=True)\n", "", 1)
	names := []string{
		"pbox_extra-1.0-py3-none-any.whl", "six-1.16.0-py2.py3-none-any.whl", "x-1.0-1-py3-none-any.whl", "x-1.0-a1-py3-none-any.whl",
		"x-1.0rc1.post2.dev3-py3-none-any.whl", "x-1.0-py2-none-any.whl", "x__y-1.0-py3-none-any.whl", "x-1.0.local+abc-py3-none-any.whl",
		"x-1.0-py3-none-win32.whl", "x-1.0-py3-abi3-any.whl", "x-v1.0-py3-none-any.whl", "x-1.0-py3.py2-none.abi3-any.whl",
		"x-1!2.0-py3-none-any.whl", "x-1.0-py3-none-any.tar.gz", "x-1.0-py3-none-any-extra-x.whl", "x-1.0-cp39-abi3-manylinux_2_17_x86_64.whl",
	}
	check := defs + `
import sys
sys.path.extend(d for d in site.getsitepackages() if os.path.isdir(d))
from pip._vendor.packaging.tags import sys_tags
from pip._vendor.packaging.utils import parse_wheel_filename
ref = set(sys_tags())
def old(fn):
    if not fn.endswith(".whl"):
        return False
    try:
        return bool(set(parse_wheel_filename(fn)[3]) & ref)
    except Exception:
        return False
quick = 0
for fn in sys.argv[1:]:
    quick += pure(fn) if fn.endswith(".whl") else 0
    if fits(fn) != old(fn):
        print("differs:", fn, fits(fn), old(fn))
print("quick", quick)
`
	out, err := exec.Command(py, append([]string{"-I", "-S", "-c", check}, names...)...).CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "No module named 'pip'") {
			t.Skip("the system python3 has no pip")
		}
		t.Fatalf("%v\n%s", err, out)
	}
	if strings.Contains(string(out), "differs") || !strings.Contains(string(out), "quick 5") {
		t.Errorf("the quick test and packaging disagree, or the quick test took another set of files:\n%s", out)
	}
}

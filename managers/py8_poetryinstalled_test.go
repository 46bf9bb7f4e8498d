package managers

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestPoetrySkipInstalled: the fetch list loses the packages the venv holds at
// their locked version (and a source left unused), keeps one at another
// version or missing, and drops nothing from a venv it cannot read plainly.
func TestPoetrySkipInstalled(t *testing.T) {
	plan := func() *poetryFetchPlan {
		return &poetryFetchPlan{
			Sources: map[string]*poetrySource{"ONE": {URL: "https://one.example/simple/"}, "TWO": {URL: "https://two.example/simple/"}},
			Packages: []poetryFetchEntry{
				{Name: "Pbox_A", Version: "1.0", Source: "ONE"},
				{Name: "pbox-b", Version: "1.0", Source: "TWO"},
				{Name: "pbox-c", Version: "1.0", Source: "TWO"},
			},
		}
	}
	names := func(fp *poetryFetchPlan) string {
		var out []string
		for _, e := range fp.Packages {
			out = append(out, e.Name)
		}
		for k := range fp.Sources {
			out = append(out, "source "+k)
		}
		slices.Sort(out)
		return strings.Join(out, ",")
	}
	site := ".venv/lib/python3.11/site-packages/"
	files := map[string]string{
		".venv/pyvenv.cfg":                     "home = /usr/bin\n",
		site + "pbox_a-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: pbox-a\nVersion: 1.0\n",
		site + "pbox_b-2.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: pbox-b\nVersion: 2.0\n",
	}
	env := testEnv(t, files)
	fp := plan()
	if n := poetrySkipInstalled(fp, env.Dir); n != 1 || names(fp) != "pbox-b,pbox-c,source TWO" {
		t.Errorf("skipped %d, left %s; want 1, pbox-b,pbox-c,source TWO", n, names(fp))
	}
	// A dist-info that is a link: the venv is not read, nothing is skipped.
	link := filepath.Join(env.Dir, filepath.FromSlash(site), "pbox_c-1.0.dist-info")
	if err := os.Symlink(filepath.Join(env.Dir, filepath.FromSlash(site), "pbox_a-1.0.dist-info"), link); err != nil {
		t.Fatal(err)
	}
	fp = plan()
	if n := poetrySkipInstalled(fp, env.Dir); n != 0 || len(fp.Packages) != 3 || len(fp.Sources) != 2 {
		t.Errorf("a venv with a linked dist-info: skipped %d, left %s", n, names(fp))
	}
	// No venv: nothing skipped.
	fp = plan()
	if n := poetrySkipInstalled(fp, t.TempDir()); n != 0 || len(fp.Packages) != 3 {
		t.Errorf("no venv: skipped %d", n)
	}
}

package install

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/phylum-box/phylum-box/managers"
	"github.com/phylum-box/phylum-box/rootfs"
)

func added(p string, dir bool) rootfs.Change {
	t := rootfs.TypeRegular
	if dir {
		t = rootfs.TypeDir
	}
	return rootfs.Change{Path: p, Kind: rootfs.Added, Type: t}
}

func modified(p string) rootfs.Change {
	return rootfs.Change{Path: p, Kind: rootfs.Modified, Type: rootfs.TypeRegular, Prev: rootfs.TypeRegular}
}

func refusedPaths(r writeBackResult) []string {
	var out []string
	for _, rf := range r.refused {
		out = append(out, rf.Path)
	}
	return out
}

func TestWriteBackRules(t *testing.T) {
	scaffold := &managers.WriteBack{Scaffold: true, Dir: "/p", Installer: "npm"}
	edit := &managers.WriteBack{Dir: "/p", Installer: "npm"}
	fresh := &managers.WriteBack{Scaffold: true, NewProject: true, Dir: "/home/u", Installer: "npm"}
	cases := []struct {
		name    string
		wb      *managers.WriteBack
		changes []rootfs.Change
		refused []string
		dropped int
		only    []string
		newDir  string
	}{
		{"scaffold adds a project", scaffold, []rootfs.Change{added("app", true), added("app/package.json", false), added("app/src", true), added("app/src/main.ts", false)}, nil, 0, nil, ""},
		{"scaffold edits an existing file", scaffold, []rootfs.Change{added("app", true), modified("package.json")}, []string{"package.json"}, 0, nil, ""},
		{"scaffold writes the project's git hooks", scaffold, []rootfs.Change{added("app", true), added(".git/hooks/pre-commit", false)}, []string{".git/hooks/pre-commit"}, 0, nil, ""},
		{"a new repository in the new dir is left out", scaffold,
			[]rootfs.Change{added("app", true), added("app/.git", true), added("app/.git/HEAD", false), added("app/index.js", false), added("app/src", true), added("app/src/a.js", false)},
			nil, 1, []string{"app/index.js", "app/src"}, ""},
		{"node_modules is left out", edit,
			[]rootfs.Change{modified("src/x.ts"), added("node_modules/.cache", true), added("node_modules/.cache/p", false)},
			nil, 1, []string{"src/x.ts"}, ""},
		{"an editing tool changes and deletes", edit,
			[]rootfs.Change{modified("src/x.ts"), {Path: "old.ts", Kind: rootfs.Deleted, Prev: rootfs.TypeRegular}}, nil, 0, nil, ""},
		{"an editing tool still may not touch .git", edit, []rootfs.Change{modified(".git/config")}, []string{".git/config"}, 0, nil, ""},
		{"a tool may not change the project's policy", edit, []rootfs.Change{modified(".phylum-box.yaml"), modified("src/x.ts")}, []string{".phylum-box.yaml"}, 0, nil, ""},
		{"a scaffolder may not add one to the project", scaffold, []rootfs.Change{added(".phylum-box.yaml", false)}, []string{".phylum-box.yaml"}, 0, nil, ""},
		{"a new project's own policy is its own", scaffold, []rootfs.Change{added("app", true), added("app/.phylum-box.yaml", false)}, nil, 0, nil, ""},
		{"new project: one dir", fresh, []rootfs.Change{added("myapp", true), added("myapp/package.json", false)}, nil, 0, nil, "myapp"},
		{"new project: and ~/.bashrc", fresh, []rootfs.Change{added(".bashrc", false), added("myapp", true), added("myapp/package.json", false)}, []string{".bashrc"}, 0, nil, "myapp"},
		{"new project: ~/.ssh", fresh, []rootfs.Change{added(".ssh", true), added(".ssh/authorized_keys", false)}, []string{".ssh"}, 0, nil, ""},
		{"new project: two dirs", fresh, []rootfs.Change{added("a", true), added("b", true)}, []string{"b"}, 0, nil, "a"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := writeBackRules(c.changes, c.wb, nil)
			if got := refusedPaths(r); !reflect.DeepEqual(got, c.refused) {
				t.Errorf("refused %v, want %v (%v)", got, c.refused, r.refused)
			}
			if len(r.dropped) != c.dropped || !reflect.DeepEqual(r.only, c.only) || r.newDir != c.newDir {
				t.Errorf("dropped %v only %q newDir %q, want %d %q %q", r.dropped, r.only, r.newDir, c.dropped, c.only, c.newDir)
			}
		})
	}
}

func TestChangeSummary(t *testing.T) {
	applied := []rootfs.Change{added("app", true), added("app/a", false), added("app/s", true), added("app/s/b", false), modified("src/x.ts")}
	got := changeSummary(applied, 10)
	want := []string{"A app/ (2 file(s))", "M src/x.ts"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	var many []rootfs.Change
	for i := 0; i < 14; i++ {
		many = append(many, modified("f"+string(rune('a'+i))))
	}
	got = changeSummary(many, 10)
	if len(got) != 11 || got[10] != "… and 4 more" {
		t.Errorf("not collapsed: %q", got)
	}
}

func TestNewProjects(t *testing.T) {
	applied := []rootfs.Change{added("web/app", true), added("web/app/package.json", false), added("web/app/pkgs/x/y/package.json", false)}
	if got := newProjects(applied, false, "web"); !reflect.DeepEqual(got, []string{"app"}) {
		t.Errorf("got %q", got)
	}
	if got := newProjects([]rootfs.Change{added("package.json", false)}, false, "."); !reflect.DeepEqual(got, []string{"."}) {
		t.Errorf("got %q", got)
	}
}

func runWithPath(path, prog string, args ...string) (string, error) {
	c := exec.Command(prog, args...)
	c.Env = []string{"PATH=" + path}
	out, err := c.CombinedOutput()
	return string(out), err
}

// The shim skips installs and runs anything else as the real tool.
func TestInstallShim(t *testing.T) {
	tmp := t.TempDir()
	dir, err := writeInstallShims(tmp)
	if err != nil {
		t.Fatal(err)
	}
	real := t.TempDir()
	if err := os.WriteFile(filepath.Join(real, "npm"), []byte("#!/bin/sh\necho REAL \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		t.Helper()
		out, err := runWithPath(dir+":"+real+":/usr/bin:/bin", filepath.Join(dir, "npm"), args...)
		if err != nil {
			t.Fatalf("npm %v: %v\n%s", args, err, out)
		}
		return out
	}
	if out := run("install"); !strings.Contains(out, "skipped 'npm install'") || strings.Contains(out, "REAL") {
		t.Errorf("npm install was not skipped: %s", out)
	}
	if out := run("--prefix", "app", "i", "vite"); strings.Contains(out, "REAL") {
		t.Errorf("npm i was not skipped: %s", out)
	}
	if out := run("--version"); !strings.Contains(out, "REAL --version") {
		t.Errorf("npm --version did not run the real npm: %s", out)
	}
}

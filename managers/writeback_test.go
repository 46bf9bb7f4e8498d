package managers

import (
	"os"
	"path/filepath"
	"testing"
)

// Every scratch run is a write-back run; a create-* package is a scaffolder (only
// additions); from the home directory, or a scaffolder from a non-empty directory
// outside any project, the run gets an empty directory (NewProject).
func TestPlanWriteBack(t *testing.T) {
	type want struct{ scaffold, newProject bool }
	cases := []struct {
		name  string
		tool  string
		args  []string
		where string // "project", "home", "loose" (non-empty, no package.json), "empty"
		want  want
		inst  string
	}{
		{"npm create in a project", "npm", []string{"create", "vite@latest", "app", "--", "--template", "react-ts"}, "project", want{true, false}, "npm"},
		{"npm init in a project", "npm", []string{"init", "vite", "app"}, "project", want{true, false}, "npm"},
		{"npx create-vite", "npx", []string{"create-vite", "app"}, "project", want{true, false}, "npm"},
		{"npx @scope/create", "npx", []string{"@vue/create-app"}, "project", want{true, false}, "npm"},
		{"npx prettier", "npx", []string{"prettier@3", "--write", "x.ts"}, "project", want{false, false}, "npm"},
		{"npm exec -c", "npm", []string{"exec", "--package=cowsay", "-c", "cowsay hi > x"}, "project", want{false, false}, "npm"},
		{"pnpm create", "pnpm", []string{"create", "vite", "app"}, "project", want{true, false}, "pnpm"},
		{"pnpm dlx", "pnpm", []string{"dlx", "prettier", "--write", "x.ts"}, "project", want{false, false}, "pnpm"},
		{"npm create from home", "npm", []string{"create", "vite@latest", "app"}, "home", want{true, true}, "npm"},
		{"npx from home", "npx", []string{"cowsay", "hi"}, "home", want{false, true}, "npm"},
		{"npm create in a loose dir", "npm", []string{"create", "vite", "app"}, "loose", want{true, true}, "npm"},
		{"npx in a loose dir edits in place", "npx", []string{"prettier", "--write", "x.ts"}, "loose", want{false, false}, "npm"},
		{"npm create in an empty dir", "npm", []string{"create", "vite", "."}, "empty", want{true, false}, "npm"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := Env.LookPath(Env{Environ: []string{"PATH=" + os.Getenv("PATH")}}, c.tool); err != nil {
				t.Skipf("%s not installed", c.tool)
			}
			env := testEnv(t, nil)
			switch c.where {
			case "home":
				env.Dir = env.Home
			case "loose":
				env = testEnv(t, map[string]string{"notes.txt": "x"})
			case "empty":
				env = testEnv(t, map[string]string{})
				if err := os.Remove(filepath.Join(env.Dir, "package.json")); err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
			}
			needNodeHeaders(t, env)
			m, _ := Lookup(c.tool)
			p, err := m.Plan(c.args, env)
			if err != nil {
				t.Fatal(err)
			}
			if p.Scratch == nil || p.Scratch.WriteBack == nil {
				t.Fatalf("want a scratch plan with a write-back: %+v", p)
			}
			wb := p.Scratch.WriteBack
			if wb.Scaffold != c.want.scaffold || wb.NewProject != c.want.newProject {
				t.Errorf("scaffold=%v newProject=%v, want %+v", wb.Scaffold, wb.NewProject, c.want)
			}
			if wb.Dir != env.Dir || wb.Installer != c.inst {
				t.Errorf("dir=%q installer=%q, want %q %q", wb.Dir, wb.Installer, env.Dir, c.inst)
			}
			if wb.NewProject && (p.Project.Root != env.Dir || p.Project.Cwd != ".") {
				t.Errorf("a new project runs where the user is: root=%q cwd=%q", p.Project.Root, p.Project.Cwd)
			}
		})
	}
}

func TestHoldsHome(t *testing.T) {
	for _, c := range []struct {
		dir, home string
		want      bool
	}{
		{"/home/u", "/home/u", true},
		{"/home", "/home/u", true},
		{"/", "/home/u", true},
		{"/home/u/src", "/home/u", false},
		{"/home/uu", "/home/u", false},
		{"/tmp/x", "/home/u", false},
	} {
		if got := holdsHome(c.dir, c.home); got != c.want {
			t.Errorf("holdsHome(%q, %q) = %v", c.dir, c.home, got)
		}
	}
}

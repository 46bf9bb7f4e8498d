package managers

import (
	"os"
	"path/filepath"
	"strings"
)

// A command that runs registry code over the project — a scaffolder (`npm create
// vite`, `npm init vite`, `yarn create`, `pnpm create`, `npx create-vite`) or a tool
// (`npx prettier --write x.ts`, `npm exec`, `pnpm dlx`, `yarn dlx`) — is a write-back
// run: the package is installed into a scratch project and prechecked as any
// install, the command runs in the sandbox with the network off and no terminal
// input, and what it wrote to the project is synced back through the same
// validated, all-or-nothing sync as an install's outputs, under these rules:
//
//   - a scaffolder (the package run is create-* or @scope/create*) may only add
//     files and directories; a change to an existing file stops the sync;
//   - any other tool may add, change and delete files: the user asked for a tool
//     that edits them; every change is listed;
//   - .git (and .hg) is never synced: a write there stops the sync, except a
//     repository the command made inside a directory it created itself (`git init`
//     of create-next-app), which is left out with a note;
//   - node_modules is written only by an install: anything the command wrote there
//     is left out with a note;
//   - from a directory that is not a project to write into — your home directory
//     (or a directory holding it), or, for a scaffolder, a non-empty directory
//     outside any Node project — the command runs in an empty directory instead,
//     and its only permitted write is one new directory (not a dot-directory, not a
//     name that exists), which becomes the new project; anything else stops the sync.

// WriteBack says how a Scratch plan's Run is synced back to the project.
type WriteBack struct {
	// Scaffold: the command may only add files and directories.
	Scaffold bool
	// NewProject: the command runs in an empty directory standing for Dir, and may
	// create exactly one new directory there.
	NewProject bool
	// Dir is the directory the user ran the command in (absolute).
	Dir string
	// Installer is the manager whose install the next step names ("npm").
	Installer string
}

// WriteBackNote is the reference pages' word on it.
const WriteBackNote = "What the command writes to the project is synced back once it exits 0, through the same validated, all-or-nothing sync as an install (exit 4 and nothing synced on a refused write), and listed: a scaffolder (create-*, npm init/create, yarn create, pnpm create) may only add files and directories; any other tool may also change and delete files; .git is never synced (a repository made inside a new directory is left out); node_modules is left out (install the new project's dependencies with phylum-box). It runs without terminal input (stdin is empty) and an install it starts itself is skipped. Run from your home directory, or a scaffolder from a non-empty directory outside any project, it runs in an empty directory and may create one new directory there, nothing else."

// planWriteBack makes a Scratch plan's Run a write-back run (see above).
func planWriteBack(p *Plan, env Env) {
	if p == nil || p.Scratch == nil || p.Steps.Run == nil {
		return
	}
	wb := &WriteBack{Scaffold: isScaffolder(runPackage(p)), Dir: env.Dir, Installer: p.Manager}
	switch p.Manager {
	case "npx":
		wb.Installer = "npm"
	case "pnpx":
		wb.Installer = "pnpm"
	}
	switch {
	case holdsHome(p.Project.Root, env.Home) || holdsHome(env.Dir, env.Home):
		wb.NewProject = true
	case wb.Scaffold && findUp(env.Dir, "package.json") == "" && findUp(env.Dir, "node_modules") == "" && !emptyDir(env.Dir):
		wb.NewProject = true
	}
	if wb.NewProject {
		p.Project.Root, p.Project.Cwd = env.Dir, "."
	}
	p.Scratch.WriteBack = wb
	what := "writes to the project are synced back"
	if wb.Scaffold {
		what = "new files and directories are synced back"
	}
	if wb.NewProject {
		what = "it runs in an empty directory and one new directory it creates is moved into " + env.Dir
	}
	p.Notes = append(p.Notes, "write-back run: "+what+" (.git never, node_modules left out)")
}

// runPackage names the package whose bin Run starts ("create-vite"), or the bin
// itself when the plan names it (npm init's create-vite), "" for a shell line.
func runPackage(p *Plan) string {
	if p.Scratch.RunBinOf != "" {
		return p.Scratch.RunBinOf
	}
	if len(p.Steps.Run.Args) > 0 && p.Steps.Run.Args[0] != "sh" {
		return npmSpecName(p.Steps.Run.Args[0])
	}
	return ""
}

// isScaffolder: npm's initializer naming (create-foo, @scope/create,
// @scope/create-foo), which `npm init`, `yarn create` and `pnpm create` expand to.
func isScaffolder(pkg string) bool {
	base := pkg[strings.LastIndex(pkg, "/")+1:]
	return base == "create" || strings.HasPrefix(base, "create-")
}

// holdsHome reports whether dir is the home directory or one of its ancestors
// (under either spelling of each).
func holdsHome(dir, home string) bool {
	if dir == "" || home == "" {
		return false
	}
	dirs, homes := []string{filepath.Clean(dir)}, []string{filepath.Clean(home)}
	if d, err := filepath.EvalSymlinks(dir); err == nil {
		dirs = append(dirs, d)
	}
	if h, err := filepath.EvalSymlinks(home); err == nil {
		homes = append(homes, h)
	}
	for _, d := range dirs {
		for _, h := range homes {
			if d == "/" || d == h || strings.HasPrefix(h, d+"/") {
				return true
			}
		}
	}
	return false
}

func emptyDir(dir string) bool {
	f, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer f.Close()
	names, _ := f.Readdirnames(1)
	return len(names) == 0
}

package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A git dependency with a prepare script: bare npm and yarn 1 run it while they
// fetch — with the network and the user's credentials (yarn 1 even with
// --ignore-scripts). phylum-box's networked steps run no package code, so the
// prepare script never runs; the package is installed as its repository holds it,
// and phylum-box says so (a silent difference from bare would be a bug). The twin,
// in the same install: a git dependency without a prepare script, no warning.
func TestGitDependencyPrepareNotRun(t *testing.T) {
	t.Parallel()
	requireTool(t, "git")
	requireTool(t, "npm")
	classic := pmFlavours()[0]
	if classic.name != "yarn-classic" {
		t.Fatalf("pmFlavours()[0] is %s, want yarn-classic", classic.name)
	}
	forEachMode(t, func(t *testing.T, m mode) {
		for _, tool := range []string{"npm", "yarn"} {
			t.Run(tool, func(t *testing.T) {
				b := newPMBox(t, m)
				if tool == "yarn" {
					classic.setup(t, b)
				}
				var specs []string
				for name, scripts := range map[string]string{
					"gd": `,"scripts":{"prepare":"node -e \"require('fs').writeFileSync('prepared.txt', 'prepare ran')\""}`,
					"gp": "",
				} {
					src := filepath.Join(b.Project, name+"-src")
					writeFile(t, filepath.Join(src, "package.json"), `{"name":"`+name+`","version":"1.0.0","files":["index.js","prepared.txt"]`+scripts+`}`, 0o644)
					writeFile(t, filepath.Join(src, "index.js"), "module.exports = 1\n", 0o644)
					chownTree(t, m, b.Project)
					hostSh(t, m, src, "git init -q . && git add . && git -c user.email=it@example.invalid -c user.name=it commit -qm one && git clone -q --bare . ../"+name+".git")
					specs = append(specs, "git+file://"+filepath.Join(b.Project, name+".git"))
				}
				args := append([]string{"install"}, specs...)
				if tool == "yarn" {
					args[0] = "add"
				}
				r := b.tool("", tool, args...)
				wantCode(t, r, 0, tool+" "+strings.Join(args, " "))
				for _, name := range []string{"gd", "gp"} {
					wantFile(t, filepath.Join(b.Project, "node_modules", name, "index.js"), "the git dependency "+name+" installed")
				}
				if _, err := os.Lstat(filepath.Join(b.Project, "node_modules", "gd", "prepared.txt")); err == nil {
					t.Errorf("the git dependency's prepare script ran (its output was packed):\n%s", r)
				}
				wantStderr(t, r, "gd@1.0.0 is a git dependency with a prepare script", "unprepared")
				if strings.Contains(r.Stderr, "gp@1.0.0 is a git dependency") {
					t.Errorf("a git dependency without prepare is warned about:\n%s", r)
				}
			})
		}
	})
}

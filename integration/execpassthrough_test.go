package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// `npx yarn --version` (a manager's command that installs nothing) ran the
// project's node_modules/.bin/yarn on the host; it is this machine's yarn now. A
// project bin that is no package manager (tsc) runs as before.
func TestExecManagerPassthroughRunsTheMachinesManager(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	requireTool(t, "yarn")
	out, err := exec.Command("yarn", "--version").Output()
	if err != nil {
		t.Fatalf("yarn --version: %v", err)
	}
	version := strings.TrimSpace(string(out))
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		marker := fakeProjectManagers(t, b)
		writeFile(t, filepath.Join(b.Project, "node_modules", ".bin", "tsc"), "#!/bin/sh\necho \"$0 $*\" >> '"+marker+"'\n", 0o755)
		chownTree(t, b.Mode, b.Project)

		for _, argv := range [][]string{{"npx", "yarn", "--version"}, {"npm", "exec", "--", "yarn", "--version"}} {
			r := b.tool("", argv[0], argv[1:]...)
			wantCode(t, r, 0, strings.Join(argv, " "))
			if strings.TrimSpace(r.Stdout) != version {
				t.Errorf("%s printed %q, want this machine's yarn %s\n%s", strings.Join(argv, " "), r.Stdout, version, r)
			}
			if data, err := os.ReadFile(marker); err == nil {
				t.Fatalf("%s ran the project's own yarn on the host: %s\n%s", strings.Join(argv, " "), data, r)
			}
		}

		// The twin: a project tool that is no package manager still runs.
		r := b.tool("", "npx", "tsc", "--version")
		wantCode(t, r, 0, "npx tsc --version")
		if data, err := os.ReadFile(marker); err != nil || !strings.Contains(string(data), "tsc --version") {
			t.Errorf("npx tsc did not run the project's tsc (%v): %q\n%s", err, data, r)
		}
	})
}

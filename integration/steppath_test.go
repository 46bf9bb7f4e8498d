package integration

// The user's PATH may hold the project's own bin directories (direnv's PATH_add
// node_modules/.bin or bin, ./node_modules/.bin in a shell rc, phylum-box started
// from an npm script). The steps name their tools by name, so a committed
// node_modules/.bin/npm ran as the resolve and download steps' npm, with the
// network and the registry token of ~/.npmrc.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStepPathProjectBinNeverRunsNetworked(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		marker := filepath.Join(b.Project, "PROJECT-TOOL-RAN")
		bin := filepath.Join(b.Project, "node_modules", ".bin")
		for _, tool := range []string{"npm", "git"} {
			// Inside the sandbox the marker lands in the discarded scratch or is
			// refused by the sync: the step's failure and output are the witness.
			writeFile(t, filepath.Join(bin, tool), "#!/bin/sh\necho \"PROJECT-"+tool+"-RAN $*\" >&2\necho ran >> '"+marker+"'\nexit 97\n", 0o755)
		}
		writeFile(t, filepath.Join(b.Project, "package.json"), `{"name":"app","version":"1.0.0","private":true}`+"\n", 0o644)
		chownTree(t, b.Mode, b.Project)
		b.Env = append(b.Env, "PATH="+bin+":./node_modules/.bin::/usr/local/bin:/usr/bin:/bin")

		r := b.tool("", "npm", "install", "lodash@4.17.11")
		wantCode(t, r, 3, "npm install of a blocked lodash with the project's node_modules/.bin first in PATH")
		if strings.Contains(r.Stderr, "PROJECT-") || pathExists(marker) {
			t.Fatalf("the project's own tool ran in a networked step:\n%s", r)
		}

		// The same PATH installs the clean version with this machine's npm.
		r = b.tool("", "npm", "install", "lodash@4.17.21")
		wantCode(t, r, 0, "npm install lodash@4.17.21 with the project's node_modules/.bin first in PATH")
		if strings.Contains(r.Stderr, "PROJECT-") || pathExists(marker) {
			t.Fatalf("the project's own tool ran in a networked step:\n%s", r)
		}
		if v := installedVersion(t, b.Project, "lodash"); v != "4.17.21" {
			t.Errorf("node_modules/lodash is %q, want 4.17.21\n%s", v, r)
		}
		if _, err := os.Stat(filepath.Join(bin, "npm")); err != nil {
			t.Errorf("the project's node_modules/.bin/npm is gone: %v", err)
		}
	})
}

// keep_env (here from the project's own .phylum-box.yaml, a reported weakening)
// passed the named variables to every step: a user's NODE_OPTIONS=--require FILE
// (or LD_LIBRARY_PATH=:/usr/local/cuda/lib64, whose empty entry is the project)
// loaded the project's file into npm's resolve and download, with the registry
// token. The kept variables reach only the steps that run package code: the
// install script still sees its switch.
func TestStepPathKeepEnvNeverReachesNetworkedSteps(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		tgz := packFixture(t, b, "env-print", nil)
		hook := filepath.Join(b.Project, "hook.js")
		writeFile(t, hook, "if (process.env.npm_config_ignore_scripts === 'true') process.stderr.write('PBOX-HOOK-NETWORKED ' + process.argv.slice(2).join(' ') + '\\n');\n", 0o644)
		writeFile(t, filepath.Join(b.Project, ".phylum-box.yaml"), "keep_env: [NODE_OPTIONS, PBOX_IT_FLAG]\n", 0o644)
		chownTree(t, b.Mode, b.Project)
		b.Env = append(b.Env, "NODE_OPTIONS=--require "+hook, "PBOX_IT_FLAG=on")

		r := b.tool("", "npm", "install", tgz)
		wantCode(t, r, 0, "npm install with keep_env NODE_OPTIONS naming a project file")
		if strings.Contains(r.Stderr, "PBOX-HOOK-NETWORKED") {
			t.Fatalf("the project's hook ran in a networked step through keep_env NODE_OPTIONS:\n%s", r)
		}
		wantStderr(t, r, "keep_env passes NODE_OPTIONS, PBOX_IT_FLAG")
		// The twin: the install script, in the build, still gets what keep_env names.
		readEnvSeen(t, b).want(t, "keep_env from the project policy", map[string]string{"PBOX_IT_FLAG": "on"})
	})
}

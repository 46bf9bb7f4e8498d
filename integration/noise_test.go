package integration

import (
	"path/filepath"
	"strings"
	"testing"
)

// Quiet by default (issue 11 item 9): what bare runs do not print, wrapped runs
// do not print either, and each install still does its work.

// noAnywhere fails for every s found in the run's output.
func noAnywhere(t *testing.T, r result, why string, ss ...string) {
	t.Helper()
	out := r.Stdout + r.Stderr
	for _, s := range ss {
		if strings.Contains(out, s) {
			t.Errorf("%s: the output has %q:\n%s", why, s, r)
		}
	}
}

func TestNoisePnpmYarn(t *testing.T) {
	t.Parallel()
	requireTool(t, "pnpm")
	requireTool(t, "yarn")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		r := b.tool("", "pnpm", "add", "is-odd@3.0.1")
		wantCode(t, r, 0, "pnpm add")
		noAnywhere(t, r, "pnpm add", "Update available", "curl -fsSL", "pnpm self-update")
		wantFile(t, filepath.Join(b.Project, "node_modules", "is-odd", "package.json"), "pnpm add installs")

		// yarn 1 warned before every lifecycle script: a postinstall that leaves
		// a file in node_modules (an output) to show it ran.
		b = newPMBox(t, m)
		writeFile(t, filepath.Join(b.Project, "package.json"), `{"name":"pbox-noise","version":"1.0.0","license":"MIT","scripts":{"postinstall":"echo ran > node_modules/ran.txt"},"dependencies":{"is-odd":"3.0.1"}}`+"\n", 0o644)
		chownTree(t, m, b.Project)
		r = b.tool("", "yarn", "install")
		wantCode(t, r, 0, "yarn install with a postinstall")
		noAnywhere(t, r, "yarn install", "Cannot find a suitable global folder")
		wantFile(t, filepath.Join(b.Project, "node_modules", "is-odd", "package.json"), "yarn installs")
		wantFile(t, filepath.Join(b.Project, "node_modules", "ran.txt"), "the postinstall ran")
	})
}

func TestNoiseNpm(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		// undici 8 wants node >= 22.19 (EBADENGINE on this machine's node 20);
		// core-js has a postinstall, which npm 11's rebuild follows with "not yet
		// covered by allowScripts".
		r := b.tool("", "npm", "install", "undici@8.14.0", "core-js@3.39.0")
		wantCode(t, r, 0, "npm install")
		out := r.Stdout + r.Stderr
		if n := strings.Count(out, "EBADENGINE Unsupported engine"); n != 1 {
			t.Errorf("EBADENGINE printed %d times, want once:\n%s", n, r)
		}
		noAnywhere(t, r, "npm install", "up to date in", "not yet covered by allowScripts", "New minor version of npm", "New major version of npm")
		if !strings.Contains(out, "added 2 packages") {
			t.Errorf("the download step's summary is missing:\n%s", r)
		}
		wantFile(t, filepath.Join(b.Project, "node_modules", "undici", "package.json"), "npm installs")

		// -v: phylum-box's debug lines, not libcontainer's.
		b = newPMBox(t, m)
		r = b.tool("", "-v", "npm", "install", "is-odd@3.0.1")
		wantCode(t, r, 0, "npm install -v")
		wantStderr(t, r, "step runs:")
		noAnywhere(t, r, "-v", "nsexec", "level=debug")

		// The -g refusal says nothing of npm link.
		r = b.tool("", "npm", "install", "-g", "is-odd")
		wantCode(t, r, 2, "npm install -g")
		noAnywhere(t, r, "npm install -g", "npm link")
		wantStderr(t, r, "npm install --save-dev")

		// Run from $HOME: a usage error with the next step.
		inv := b.toolInv("", "npm", "install", "is-odd@3.0.1")
		inv.Dir = b.Home
		r = inv.exec(t)
		wantCode(t, r, 2, "npm install in $HOME")
		wantStderr(t, r, "mkdir ~/myproject && cd ~/myproject && phylum-box npm install is-odd@3.0.1")
	})
}

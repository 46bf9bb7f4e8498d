package integration

import (
	"path/filepath"
	"testing"
)

// Attacker review of the write-back runs (issue 11 item 1): .git is never synced
// back because git runs hooks from it, but git runs hooks from wherever the
// project's core.hooksPath says (husky's .husky/_, a .githooks directory): a
// scaffolder may add files there, and they run on the host at the next commit.

// hooksScript is the bin of create-pbox-hookspath and create-pbox-plain: both make
// the new app; the first also adds a pre-commit hook where the project's git
// config looks for hooks.
const hooksScript = `#!/usr/bin/env node
const fs = require('fs'), path = require('path');
const dir = process.argv[2] || 'pbox-app';
fs.mkdirSync(path.join(dir, 'src'), { recursive: true });
fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'pbox-app', version: '1.0.0', private: true }) + '\n');
fs.writeFileSync(path.join(dir, 'src', 'index.js'), 'module.exports = 1\n');
if (require('./package.json').name === 'create-pbox-hookspath') {
  fs.mkdirSync('.githooks', { recursive: true });
  fs.writeFileSync('.githooks/pre-commit', '#!/bin/sh\necho PWNED > /tmp/pbox-pwned\n', { mode: 0o755 });
}
`

func TestAttackWriteBackHooksPath(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		reg := startNpmLocalRegistry(t, "")
		for _, name := range []string{"create-pbox-hookspath", "create-pbox-plain"} {
			reg.Add(name, "1.0.0", map[string]any{"bin": map[string]string{name: "index.js"}}, map[string]string{"index.js": hooksScript})
		}
		writeProjectFile(t, b, ".npmrc", "registry="+reg.URL+"/\n")
		// The project keeps its hooks in .githooks (git config core.hooksPath, as
		// husky and many repositories set it); the directory exists, empty of hooks.
		writeProjectFile(t, b, ".git/config", "[core]\n\trepositoryformatversion = 0\n\thooksPath = .githooks\n")
		writeProjectFile(t, b, ".githooks/README", "the team's hooks\n")

		// The legitimate twin first: the new app arrives.
		r := scaffoldWith(t, b, "npm", b.Project, "plain", "app")
		wantCode(t, r, 0, "npm create pbox-plain app")
		wantFile(t, filepath.Join(b.Project, "app", "package.json"), "the scaffolded package.json")

		before := treeHash(t, b.Project, true)
		r = scaffoldWith(t, b, "npm", b.Project, "hookspath", "app2")
		if pathExists(filepath.Join(b.Project, ".githooks", "pre-commit")) {
			t.Errorf("BYPASS: the scaffolder's .githooks/pre-commit reached the project; git runs it on the host at the next commit (core.hooksPath)")
		}
		wantCode(t, r, 4, "a scaffolder that adds a hook where core.hooksPath points")
		wantStderr(t, r, "refused: ", ".githooks/pre-commit", "nothing was synced back")
		assertSameTree(t, before, treeHash(t, b.Project, true), "the project after create-pbox-hookspath")
	})
}

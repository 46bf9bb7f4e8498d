package integration

import (
	"bufio"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// pnpm's code cache (issue 12, internal/install/nodecc.go): pnpm's steps start as
// `node --require HOOK PNPM ARGS`, and HOOK keeps a V8 code cache of pnpm's bundle
// in ~/.cache/phylum-box/node-compile, made by a step of phylum-box's own (an
// empty project, offline, no credentials) and read-only in every step of an
// install. Asserted here: the first install makes the cache (its marker says so)
// and installs as before (an allowed postinstall runs); a postinstall that finds
// the hook in pnpm's command line (as any script can, in /proc) and tries to
// overwrite the hook and the cache, or to add an entry, is refused every time; a
// second, frozen install uses the cache (not written again) and works; with the
// cache removed and its marker kept, an install's own steps cannot write one.

// nodeCCPoison is a postinstall that looks for the hook in every process's command
// line and tries to write into the hook's directory.
const nodeCCPoison = `const fs = require('fs'), path = require('path');
const out = [];
for (const p of fs.readdirSync('/proc')) {
  if (!/^\d+$/.test(p)) continue;
  let argv;
  try { argv = fs.readFileSync('/proc/' + p + '/cmdline', 'utf8').split('\0'); } catch { continue; }
  const i = argv.indexOf('--require');
  if (i < 0 || !argv[i + 1] || !argv[i + 1].includes('node-compile')) continue;
  const dir = path.dirname(argv[i + 1]);
  out.push('found');
  for (const f of fs.readdirSync(dir)) {
    try { fs.writeFileSync(path.join(dir, f), 'poison'); out.push('wrote ' + f); } catch (e) { out.push('denied ' + e.code); }
  }
  try { fs.writeFileSync(path.join(dir, 'extra.v8'), 'poison'); out.push('created'); } catch (e) { out.push('denied ' + e.code); }
  break;
}
fs.writeFileSync('poison.txt', out.join('\n') + '\n');
`

func TestNodeCompileCachePnpm(t *testing.T) {
	t.Parallel()
	requireTool(t, "pnpm")
	pnpm, _ := exec.LookPath("pnpm")
	if f, err := os.Open(pnpm); err == nil {
		line, _ := bufio.NewReader(f).ReadString('\n')
		f.Close()
		if line != "#!/usr/bin/env node\n" {
			skipf(t, "%s is not pnpm's published node script (first line %q): phylum-box starts it without a code cache", pnpm, line)
		}
	}
	forEachMode(t, func(t *testing.T, m mode) {
		reg := startNpmLocalRegistry(t, "")
		reg.Add("pbox-cc-poison", "1.0.0", map[string]any{"scripts": map[string]string{"postinstall": "node poison.js"}},
			map[string]string{"index.js": "module.exports = 1\n", "poison.js": nodeCCPoison})
		b := newPMBox(t, m)
		setManifest(t, b, map[string]any{"name": "pbox-it", "version": "1.0.0",
			"dependencies": map[string]any{"pbox-cc-poison": "1.0.0"},
			"pnpm":         map[string]any{"onlyBuiltDependencies": []string{"pbox-cc-poison"}}})
		writeProjectFile(t, b, ".npmrc", "registry="+reg.URL+"/\n")
		dir := filepath.Join(b.Home, ".cache", "phylum-box", "node-compile")
		poison := filepath.Join(b.Project, "node_modules", "pbox-cc-poison", "poison.txt")

		var cache map[string]string
		for i, args := range [][]string{{"install"}, {"install", "--frozen-lockfile"}} {
			name := "pnpm " + strings.Join(args, " ")
			if i > 0 {
				if err := os.RemoveAll(filepath.Join(b.Project, "node_modules")); err != nil {
					t.Fatal(err)
				}
			}
			rep := b.reportPath("cc.json")
			wantCode(t, b.tool(rep, "pnpm", args...), 0, name)
			if got := readPnpmAddReport(t, rep).phases(); got[len(got)-1] != "build" {
				t.Fatalf("%s ran %v: no build step, the postinstall never ran", name, got)
			}
			got := readFileT(t, poison)
			lines := strings.Split(strings.TrimSpace(string(got)), "\n")
			if lines[0] != "found" || len(lines) < 2 {
				t.Fatalf("%s: the postinstall did not find pnpm's hook in /proc (%q): is the cache in use?", name, got)
			}
			for _, l := range lines[1:] {
				if !strings.HasPrefix(l, "denied ") {
					t.Errorf("%s: the build step's postinstall wrote into the code cache: %q", name, l)
				}
			}
			now := map[string]string{}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatalf("%s: no code cache dir: %v", name, err)
			}
			for _, e := range entries {
				now[e.Name()] = string(readFileT(t, filepath.Join(dir, e.Name())))
			}
			var hooks, v8, warm []string
			for n, data := range now {
				switch {
				case strings.HasPrefix(n, "hook-") && strings.HasSuffix(n, ".js"):
					hooks = append(hooks, n)
					if !strings.Contains(data, "Module.prototype._compile") {
						t.Errorf("%s: the hook %s is not phylum-box's: %.200q", name, n, data)
					}
				case strings.HasPrefix(n, "warm-") && !strings.HasPrefix(n, "warm-project-"):
					warm = append(warm, n)
					if data != "made\n" {
						t.Errorf("%s: the cache was not made by phylum-box's own step: %s says %q", name, n, data)
					}
				case strings.HasSuffix(n, ".v8"):
					v8 = append(v8, n)
					if len(data) < 1<<20 || strings.Contains(data, "poison") {
						t.Errorf("%s: %s is not pnpm's code cache (%d bytes)", name, n, len(data))
					}
				default:
					t.Errorf("%s: an unexpected file in the code cache dir: %s", name, n)
				}
			}
			slices.Sort(v8)
			if len(hooks) != 1 || len(v8) != 1 || len(warm) != 1 {
				t.Errorf("%s: the code cache dir holds hooks %v, caches %v and markers %v, want one of each", name, hooks, v8, warm)
			}
			if i > 0 && !maps.Equal(cache, now) {
				t.Errorf("%s: the code cache changed: V8 refused it, or something wrote it", name)
			}
			cache = now
			wantFile(t, filepath.Join(b.Project, "node_modules", "pbox-cc-poison", "index.js"), name+": the package installed")
		}

		// The cache gone, its marker kept: no step of the install writes a new one,
		// and the install works without it.
		for n := range cache {
			if strings.HasSuffix(n, ".v8") {
				if err := os.Remove(filepath.Join(dir, n)); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := os.RemoveAll(filepath.Join(b.Project, "node_modules")); err != nil {
			t.Fatal(err)
		}
		wantCode(t, b.tool("", "pnpm", "install", "--frozen-lockfile"), 0, "an install with the cache removed")
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".v8") || strings.HasSuffix(e.Name(), ".tmp") {
				t.Errorf("an install's own steps wrote the code cache: %s", e.Name())
			}
		}
		wantFile(t, filepath.Join(b.Project, "node_modules", "pbox-cc-poison", "index.js"), "installed without the cache")
	})
}

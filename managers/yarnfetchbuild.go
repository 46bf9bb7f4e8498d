package managers

import (
	"fmt"
	"path/filepath"
	"strings"
)

// The build after a one-run yarn classic install (issue 12): an add, upgrade or
// remove, or an install from a registry-only yarn.lock (yarnfetchinstall.go).
//
// The networked run installed with --ignore-scripts. Bare yarn runs the install
// scripts of the packages it linked in the same run ("fresh" ones: a file of
// theirs was copied) and nothing else; yarn 1 has no command that builds by name,
// and `yarn install --force` relinks every file of the tree from the cache and
// runs every script, most of a wrapped install's cost. So:
//
//   - when none of the packages this install wrote has install scripts
//     (yarnClassicChangedNames), there is nothing to build and the step is skipped.
//     What is left is the mark --ignore-scripts puts in node_modules/.yarn-integrity
//     ("flags": ["ignoreScripts"]): synced as it is, yarn would take the tree for one
//     installed without scripts, and the next `yarn install` (bare, or phylum-box's
//     nothing-to-do check) would relink it all. The networked step takes the mark
//     out after yarn succeeded (yarnIntegrityScript): the file is then byte for byte
//     what bare yarn writes for the same tree.
//   - when some have, the offline build (yarnChangedBuildScript) takes the
//     package.json out of every copy of those packages and puts the mark back,
//     then runs `yarn install --frozen-lockfile --offline`: the mark makes yarn
//     look at the tree instead of answering "Already up-to-date", its linker finds
//     every file in place but the missing manifests, copies those back from its
//     cache — which makes exactly those packages fresh — and runs their scripts,
//     in yarn's order, with yarn's environment, and records what they built in
//     .yarn-integrity as bare yarn does. Nothing else is copied.
//
// The names come from the orchestration (Build.AppendChanged): the changed
// packages with install scripts, or the policy's allow_scripts among them. With no
// names (it could not tell), the build is the whole-tree `--force` one.

// yarnBuildNamesMark ends yarn's command line in the build step's argv; the names
// of the packages to build follow it.
const yarnBuildNamesMark = "phylum-box:build-these"

// yarnIntegrityScript runs the networked step ("$@"), then, when it succeeded,
// drops "ignoreScripts" from the flags of the integrity file ($0) — a regular file,
// not a link — as JSON.stringify(…, null, 2) would have written the file without
// it (yarn's own format: two-space indent, no final newline). The program is
// phylum-box's, awk rather than node (a node start-up is most of a tenth of a
// second of CPU, on every add); it changes nothing unless it finds the flags array
// laid out exactly as yarn writes it, the mark among its items.
const yarnIntegrityScript = `f=$0
"$@" || exit
[ -f "$f" ] && [ ! -L "$f" ] || exit 0
out=$(awk '
{ line[NR] = $0 }
END {
  n = 0; found = 0
  for (i = 1; i <= NR; i++) {
    if (line[i] != "  \"flags\": [") { out[++n] = line[i]; continue }
    k = 0
    for (j = i + 1; j <= NR && line[j] != "  ]," && line[j] != "  ]"; j++) {
      item = line[j]
      sub(/,$/, "", item)
      if (item == "    \"ignoreScripts\"") found = 1
      else items[++k] = item
    }
    if (j > NR) exit 1
    if (k == 0) { out[++n] = "  \"flags\": []" substr(line[j], 4); i = j; continue }
    out[++n] = line[i]
    for (m = 1; m <= k; m++) out[++n] = items[m] (m < k ? "," : "")
    out[++n] = line[j]
    i = j
  }
  if (!found) exit 1
  for (i = 1; i <= n; i++) printf "%s%s", out[i], (i < n ? "\n" : "")
}' "$f") || exit 0
printf '%s' "$out" >"$f"`

// yarnChangedBuildScript is the build step: $0 is node_modules/.yarn-integrity,
// "$@" yarn's command line, yarnBuildNamesMark, then the names to build. With
// names, the node program (phylum-box's, run before any package code) marks them
// stale as described above and yarn runs without --force; without names, or when
// the integrity file is not one yarn wrote (a link, not JSON), yarn runs with
// --force over the whole tree.
const yarnChangedBuildScript = `f=$0 force=--force
eval "last=\${$#}"
if [ "$last" != ` + yarnBuildNamesMark + ` ]; then
  node -e '
const fs = require("fs"), path = require("path");
const [f, ...rest] = process.argv.slice(1);
const names = new Set(rest.slice(rest.indexOf("` + yarnBuildNamesMark + `") + 1));
let j;
try { if (fs.lstatSync(f).isFile()) j = JSON.parse(fs.readFileSync(f, "utf8")); } catch (e) {}
if (!j || !Array.isArray(j.flags)) process.exit(3);
if (!j.flags.includes("ignoreScripts")) {
  j.flags.push("ignoreScripts");
  fs.writeFileSync(f, JSON.stringify(j, null, 2));
}
const list = (d) => { try { return fs.readdirSync(d, { withFileTypes: true }); } catch (e) { return []; } };
const visit = (nm, name) => {
  const d = path.join(nm, name);
  if (names.has(name)) fs.rmSync(path.join(d, "package.json"), { force: true });
  walk(path.join(d, "node_modules"));
};
const walk = (nm) => {
  for (const e of list(nm)) {
    if (!e.isDirectory() || e.name.startsWith(".")) continue;
    if (!e.name.startsWith("@")) { visit(nm, e.name); continue; }
    for (const s of list(path.join(nm, e.name))) if (s.isDirectory()) visit(nm, e.name + "/" + s.name);
  }
};
walk(path.dirname(f));' "$f" "$@" && force=
fi
cut=
for a do
  shift
  [ "$a" = ` + yarnBuildNamesMark + ` ] && cut=1
  [ -n "$cut" ] || set -- "$@" "$a"
done
exec "$@" $force`

// yarnKeepIntegrity wraps a one-run install's networked step in yarnIntegrityScript.
func yarnKeepIntegrity(s *Step, root string) *Step {
	return wrapStep(s, yarnIntegrityScript, filepath.Join(root, "node_modules", ".yarn-integrity"))
}

// yarnChangedBuild is the build step of a one-run install: yarn's offline install
// (argv, without --force) in yarnChangedBuildScript, taking the names of the
// packages to build (AppendChanged).
func yarnChangedBuild(argv []string, env []string, root string) *Step {
	s := &Step{Args: append(argv, yarnBuildNamesMark), Env: env, AppendChanged: true}
	s = wrapStep(s, yarnChangedBuildScript, filepath.Join(root, "node_modules", ".yarn-integrity"))
	s.Name = strings.Join(argv, " ")
	return s
}

// wrapStep runs step s as the "$@" of a shell script that gets file as its $0; the
// step keeps its own command line as its Name (what -v and errors show).
func wrapStep(s *Step, script, file string) *Step {
	w := *s
	if w.Name == "" {
		w.Name = strings.Join(s.Args, " ")
	}
	w.Args = concat([]string{"sh", "-c", script, file}, s.Args)
	return &w
}

// changedWithoutScripts: none of the package dirs an add wrote (the project's own
// manifest, ".", aside) has install scripts; why says which has, or how many had none.
func changedWithoutScripts(read func(rel string) ([]byte, error), dirs []string) (why string, ok bool) {
	n := 0
	for _, d := range dirs {
		if d == "." {
			continue
		}
		if why := installScriptsAnyGypfile(read, d); why != "" {
			return why, false
		}
		n++
	}
	if n == 0 {
		return "this install added or changed no package", true
	}
	return fmt.Sprintf("none of the %d package(s) this install added or changed has install scripts", n), true
}

// yarnClassicChangedNames is Plan.Steps.BuildChanged for a one-run yarn classic
// install: the names of the packages among the dirs this install wrote (relative
// to the root; "." is the project's own manifest, whose scripts the project step
// runs) that have install scripts — a preinstall, install or postinstall, or a
// binding.gyp, whatever its gypfile says (installScriptsAnyGypfile; an unreadable manifest counts as scripts). None:
// nothing to build. ok is false for a dir that is not a package of node_modules:
// the whole tree is built.
func yarnClassicChangedNames(read func(rel string) ([]byte, error), dirs []string) (names []string, why string, ok bool) {
	seen := map[string]bool{}
	var found []string
	for _, d := range dirs {
		if d == "." {
			continue
		}
		name, isPkg := yarnModulesPackage(d)
		if !isPkg {
			return nil, d + " is not a package of node_modules", false
		}
		if w := installScriptsAnyGypfile(read, d); w != "" {
			found = append(found, w)
			if !seen[name] {
				seen[name] = true
				names = append(names, name)
			}
		}
	}
	if len(names) == 0 {
		why, _ = changedWithoutScripts(read, dirs)
		return nil, why, true
	}
	return names, "only what this install wrote with install scripts (" + strings.Join(found, "; ") + ")", true
}

// yarnModulesPackage is the package name of a dir of node_modules
// ("node_modules/a/node_modules/@s/b" → "@s/b").
func yarnModulesPackage(dir string) (name string, ok bool) {
	i := strings.LastIndex(dir, "node_modules/")
	if i < 0 || i > 0 && dir[i-1] != '/' || !strings.HasPrefix(dir, "node_modules/") {
		return "", false
	}
	name = dir[i+len("node_modules/"):]
	return name, npmRebuildName.MatchString(name)
}

// yarnModulesFolderSet: a project .yarnrc moves node_modules (modules-folder), where
// the integrity file and the package dirs are not where yarnKeepIntegrity looks.
func yarnModulesFolderSet(rcs []*yarnProjectRC) bool {
	for _, rc := range rcs {
		if _, ok := rc.inside["modules-folder"]; ok {
			return true
		}
	}
	return false
}

package managers

import "path/filepath"

// The bins after a one-run pnpm add's build (issue 12). pnpm writes a package's
// .bin shims when it links the package, and runs with scripts off in the one run,
// so every shim is written for the bin file as the tarball had it. A build may then
// replace that file: esbuild's postinstall puts the native binary where its
// JavaScript bin/esbuild was. Bare pnpm builds before it links and writes the shim
// for the binary (`"$basedir/…/bin/esbuild" "$@"`); `pnpm rebuild` relinks the
// root's and the dependents' .bin dirs but never the built package's own
// node_modules/.bin (@pnpm/link-bins leaves out the package that holds the bins
// dir), so the shim of the JavaScript file stays, runs `node` on an ELF file, and
// the sync back refuses it (found with `pnpm add esbuild` where esbuild may build;
// measured with pnpm 10.34).
//
// pnpmRelinkScript runs after the build, in the same offline container: for every
// pnpm shim in node_modules/.bin and in each virtual-store package's
// node_modules/.bin it reads the first line of the file the shim already runs and,
// when the shim no longer runs it the way cmd-shim writes it for that line (the #!
// program and its arguments, else by extension, else the file itself), rewrites
// the shim's last lines so that it does — only when they are exactly what pnpm
// writes for some runtime (a shim a script appended to is left for the sync back
// to refuse). It never creates a shim or changes which
// file a shim runs; in a shim it rewrites, the absolute paths of its PATH and
// NODE_PATH are changed only from the project's old place to its new one (a
// project copied or moved since pnpm wrote them, which the sync back would refuse
// as naming another directory); and it writes nothing for a #!
// line with a character a shell would read (quotes, $, `, ;, |, &, …). It adds no
// trust: the build step's package code could write any of these files itself, and
// the sync back still checks every .bin entry (a declared bin inside the outputs,
// run the way pnpm runs that file, no link out of the project).
//
// The same wrapper keeps pnpm's record of the builds it ignored: `pnpm rebuild
// NAMES` writes ignoredBuilds as only the packages it was given and left out,
// dropping the record the resolve step kept (pnpmIgnoredBuildsScript), which `pnpm
// approve-builds` and the notice read. Bare `pnpm add` writes the new ones, then
// the old ones still installed; so does the wrapper.

// pnpmRelinkScript: $0 is the project's node_modules; "$@" the build command. The
// node program is the system's, run after the build's package code has exited.
const pnpmRelinkScript = `m=$0 t=
if [ -f "$m/.modules.yaml" ] && [ ! -L "$m/.modules.yaml" ]; then t=$(mktemp) && cp "$m/.modules.yaml" "$t" 2>/dev/null || t=; fi
` + pnpmRelinkBody

// pnpmRelinkOnlyScript relinks the stale shims and keeps pnpm's record as the
// build wrote it (t stays empty): the build of `pnpm approve-builds`, `pnpm
// rebuild` and an install, where the packages a build ran for are no longer
// ignored.
const pnpmRelinkOnlyScript = "m=$0 t=\n" + pnpmRelinkBody

// pnpmRelinkBody runs the build ("$@"), then relinks; with $t, the copy of the
// modules file from before the build, it merges the ignored builds.
const pnpmRelinkBody = `"$@"; rc=$?
if [ $rc -eq 0 ]; then node -e '
const fs = require("fs"), path = require("path");
const [nm, old] = process.argv.slice(1);
const ls = (d) => { try { return fs.readdirSync(d, { withFileTypes: true }); } catch (e) { return []; } };
const q = "\"";
const body = (prog, args, t) => {
  const tq = q + "$basedir/" + t + q;
  if (!prog) return tq + "   " + q + "$@" + q + "\nexit $?\n";
  const l = q + "$basedir/" + prog + q;
  return "if [ -x " + l + " ]; then\n  exec " + l + " " + args + " " + tq + " " + q + "$@" + q +
    "\nelse\n  exec " + prog + " " + args + " " + tq + " " + q + "$@" + q + "\nfi\n";
};
const runtime = (file, t) => {
  let s = "";
  try { const fd = fs.openSync(file, "r"); const b = Buffer.alloc(4096); const n = fs.readSync(fd, b, 0, 4096, 0); fs.closeSync(fd); s = b.toString("utf8", 0, n); } catch (e) { return null; }
  s = s.replace(/^[\s\uFEFF]+/, "").split("\n")[0].replace(/\r+$/, "");
  const m = /^#!\s*(?:\/usr\/bin\/env(?:\s+-S\s*)?)?\s*([^ \t]+)(.*)$/.exec(s);
  if (m) return [m[1], m[2]];
  switch (path.extname(t).toLowerCase()) {
    case ".js": case ".cjs": case ".mjs": return ["node", ""];
    case ".cmd": case ".bat": return ["cmd", "/C"];
    case ".ps1": return ["pwsh", ""];
    case ".sh": return ["sh", ""];
  }
  return ["", ""];
};
const safe = /^[A-Za-z0-9_./+=:,@ -]*$/;
const root = path.dirname(nm);
const moved = (head) => {
  const m = /NODE_PATH="(\/[^"]*?)\/node_modules\/\.pnpm\//.exec(head);
  if (!m || m[1] === root || !safe.test(m[1]) || !safe.test(root)) return head;
  return head.split(m[1] + "/node_modules/").join(root + "/node_modules/");
};
const pnpmWrote = (rest, t) => {
  if (rest === body("", "", t)) return true;
  const m = /^if \[ -x "\$basedir\/([^"]+)" \]; then\n  exec "\$basedir\/[^"]+" (.*)"\$basedir\//.exec(rest);
  return m !== null && safe.test(m[1]) && rest === body(m[1], m[2].slice(0, -1), t);
};
const relink = (bin) => {
  for (const e of ls(bin)) {
    if (!e.isFile()) continue;
    const f = path.join(bin, e.name);
    let text;
    try { if (fs.lstatSync(f).size > 65536) continue; text = fs.readFileSync(f, "utf8"); } catch (err) { continue; }
    if (!text.startsWith("#!/bin/sh\nbasedir=$(dirname ")) continue;
    const i = text.indexOf("\nesac\n\n");
    if (i < 0) continue;
    let rest = text.slice(i + 7);
    if (rest.startsWith("export PATH=" + q)) rest = rest.slice(rest.indexOf("\n") + 1);
    if (rest.startsWith("if [ -z " + q + "$NODE_PATH" + q + " ]; then\n")) rest = rest.slice(rest.indexOf("\nfi\n") + 4);
    const ts = [...rest.matchAll(/"\$basedir\/([^"$\x60\\]+)"/g)];
    if (ts.length === 0) continue;
    const t = ts[ts.length - 1][1];
    const rt = runtime(path.join(bin, t), t);
    if (!rt || !safe.test(rt[0]) || !safe.test(rt[1])) continue;
    if (rest === body(rt[0], rt[1], t) || rest === body(rt[0], (rt[1] + " --preserve-symlinks").replace(/^ /, ""), t)) continue;
    if (!pnpmWrote(rest, t)) continue;
    try { fs.writeFileSync(f, moved(text.slice(0, text.length - rest.length)) + body(rt[0], rt[1], t)); } catch (err) {}
  }
};
relink(path.join(nm, ".bin"));
for (const v of ls(path.join(nm, ".pnpm"))) {
  if (!v.isDirectory()) continue;
  const d = path.join(nm, ".pnpm", v.name, "node_modules");
  for (const p of ls(d)) {
    if (!p.isDirectory()) continue;
    if (!p.name.startsWith("@")) { relink(path.join(d, p.name, "node_modules", ".bin")); continue; }
    for (const s of ls(path.join(d, p.name))) if (s.isDirectory()) relink(path.join(d, p.name, s.name, "node_modules", ".bin"));
  }
}
if (!old) process.exit(0);
const read = (p) => { try { if (fs.lstatSync(p).isFile()) return JSON.parse(fs.readFileSync(p, "utf8")); } catch (e) {} };
const f = path.join(nm, ".modules.yaml"), n = read(f), o = read(old);
if (!n || !o || typeof n !== "object" || !Array.isArray(n.ignoredBuilds)) process.exit(0);
const have = ls(path.join(nm, ".pnpm")).map((e) => e.name);
const present = (id) => typeof id === "string" &&
  have.some((d) => { const k = id.replace(/\//g, "+"); return d === k || d.startsWith(k + "_") || d.startsWith(k + "("); });
const keep = [...n.ignoredBuilds];
for (const id of Array.isArray(o.ignoredBuilds) ? o.ignoredBuilds : []) if (present(id) && !keep.includes(id)) keep.push(id);
if (keep.length === n.ignoredBuilds.length && keep.length > 0) process.exit(0);
if (keep.length === 0) delete n.ignoredBuilds; else n.ignoredBuilds = keep;
fs.writeFileSync(f, JSON.stringify(n, null, 2));
' "$m" "$t" || true; fi
[ -n "$t" ] && rm -f "$t"
exit $rc`

// pnpmRelinkBins wraps a one-run add's build step (pnpm rebuild) in pnpmRelinkScript.
func pnpmRelinkBins(s *Step, root string) *Step {
	return wrapStep(s, pnpmRelinkScript, filepath.Join(root, "node_modules"))
}

// pnpmRelinkAfter wraps any other pnpm build step in pnpmRelinkOnlyScript. Found
// trying phylum-box as a new user: after `pnpm add esbuild` with its build left
// out, `pnpm approve-builds --all` built esbuild and left every shim running its
// new native binary with node (exit 0, a broken esbuild), and `pnpm install` after
// allowing it in pnpm-workspace.yaml was refused at the sync back (exit 4): pnpm's
// rebuild relinks neither the project's nor the package's own shims there.
func pnpmRelinkAfter(s *Step, root string) *Step {
	return wrapStep(s, pnpmRelinkOnlyScript, filepath.Join(root, "node_modules"))
}

package install

// A failing optional dependency does not fail the install, as with the bare
// manager: npm's reify drops an optional package whose install script fails
// (and what only it needed) and goes on. phylum-box builds in a step of its own
// (`npm rebuild`), which fails outright; buildStep does what reify would, still
// offline and in the sandbox, then builds the rest again.

import (
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/phylum-box/phylum-box/managers"
	"github.com/phylum-box/phylum-box/rootfs"
)

// removeOptionalJS runs in the sandbox with node (the manager's own runtime, no
// network): it removes the given node_modules paths, the .bin links into them,
// and their entries in npm's hidden lockfile, which npm writes without the
// packages it dropped (package-lock.json keeps them, as npm's does).
const removeOptionalJS = `
const fs = require('fs'), path = require('path');
const gone = process.argv.slice(1);
const under = (p, d) => p === d || p.startsWith(d + path.sep);
for (const rel of gone) {
  const abs = path.resolve(rel);
  let nm = path.dirname(abs);
  if (path.basename(nm).startsWith('@')) nm = path.dirname(nm);
  const bin = path.join(nm, '.bin');
  let names = [];
  try { names = fs.readdirSync(bin); } catch {}
  for (const n of names) {
    try {
      const to = path.resolve(bin, fs.readlinkSync(path.join(bin, n)));
      if (under(to, abs)) fs.unlinkSync(path.join(bin, n));
    } catch {}
  }
  fs.rmSync(abs, { recursive: true, force: true });
}
const hidden = 'node_modules/.package-lock.json';
let lock;
try { lock = JSON.parse(fs.readFileSync(hidden, 'utf8')); } catch { process.exit(0); }
if (lock && lock.packages) {
  for (const k of Object.keys(lock.packages)) {
    if (gone.some(g => k === g || k.startsWith(g + '/'))) delete lock.packages[k];
  }
  fs.writeFileSync(hidden, JSON.stringify(lock, null, 2) + '\n');
}
`

// maxOptionalRetries bounds the builds one install runs again after dropping a
// failed optional package.
const maxOptionalRetries = 16

// buildStep runs one build step; when it fails because an optional package's
// script failed (Plan.Steps.BuildOptionalFailed), that package and what npm would drop
// with it are removed from the scratch tree, a warning names them, and the build
// runs again without them. Any other failure stands as before.
func (r *runner) buildStep(ctx context.Context, s *managers.Step) (done bool, err error) {
	p := r.o.Plan
	dropped := map[string]bool{}
	for try := 0; ; try++ {
		done, err = r.step(ctx, managers.PhaseBuild, s)
		if err != nil || !done || p.Steps.BuildOptionalFailed == nil || try >= maxOptionalRetries || !r.plainBuildFailure() {
			return done, err
		}
		failed, remove, gone, ok := p.Steps.BuildOptionalFailed(r.out.OutputTail, r.root, r.sess.Scratch().ReadFile)
		if !ok || len(remove) == 0 || allIn(remove, dropped) {
			return done, err
		}
		for _, rel := range remove {
			dropped[rel] = true
		}
		r.o.Log.Warnf("optional dependency %s failed to build (its install script exited with an error); as npm does, it is not installed: removing %s",
			rootfs.Printable(failed), rootfs.Printable(strings.Join(remove, ", ")))
		r.dropKeptLog()
		r.out.Code, r.out.Reason, r.out.OutputTail, r.out.TriedHosts, r.out.FailedPackage = 0, "", "", nil, ""
		if done, err := r.removeOptional(ctx, remove); err != nil || done {
			return done, err
		}
		// A build limited to names no longer passes the dropped ones; none left,
		// nothing left to build.
		if names, fixed := namesAfter(s.Args, p.Steps.Build.Args); len(names) > 0 {
			keep := slices.DeleteFunc(slices.Clone(names), func(n string) bool { return slices.Contains(gone, n) })
			if len(keep) == 0 {
				return false, nil
			}
			c := *s
			c.Args = append(slices.Clone(fixed), keep...)
			s = &c
		}
	}
}

// dropKeptLog removes the npm debug log the failed build kept (npmlog.go): the
// build goes on, and a successful one keeps none.
func (r *runner) dropKeptLog() {
	_, kept, found := strings.Cut(r.out.Reason, logNote(""))
	if !found {
		return
	}
	dir := filepath.Dir(kept)
	if filepath.Dir(dir) == filepath.Join(cacheHome(r.o), "phylum-box", "logs") && strings.HasPrefix(filepath.Base(dir), "npm-") {
		_ = os.RemoveAll(dir)
	}
}

// plainBuildFailure: the last step exited non-zero on its own (not stopped by a
// limit, not blocked for its behaviour).
func (r *runner) plainBuildFailure() bool {
	if len(r.out.Steps) == 0 || r.out.OutputTail == "" || !strings.HasPrefix(r.out.Reason, string(managers.PhaseBuild)+" step failed") {
		return false
	}
	last := r.out.Steps[len(r.out.Steps)-1]
	return last.Phase == managers.PhaseBuild && last.ExitCode != 0 && last.Stopped == ""
}

// removeOptional removes the dropped packages in the sandbox (offline, as the
// build), and keeps npm's hidden lockfile counted as the manager's own when the
// build had left it as the download wrote it (noop.go's freshen).
func (r *runner) removeOptional(ctx context.Context, remove []string) (bool, error) {
	const hidden = "node_modules/.package-lock.json"
	before, berr := r.sess.Scratch().ReadFile(hidden)
	blessed := berr == nil && r.fresh != nil && sha256.Sum256(before) == r.fresh[hidden]
	s := &managers.Step{Args: append([]string{"node", "-e", removeOptionalJS, "--"}, remove...), Name: "remove failed optional dependencies"}
	if done, err := r.step(ctx, managers.PhaseBuild, s); err != nil || done {
		return done, err
	}
	if after, err := r.sess.Scratch().ReadFile(hidden); blessed && err == nil {
		r.fresh[hidden] = sha256.Sum256(after)
	}
	return false, nil
}

// namesAfter splits a build step's args into the plan's own args and the package
// names appended to them; no names when args do not start with the plan's.
func namesAfter(args, plan []string) (names, fixed []string) {
	if len(args) <= len(plan) || !slices.Equal(args[:len(plan)], plan) {
		return nil, args
	}
	return args[len(plan):], args[:len(plan)]
}

func allIn(xs []string, set map[string]bool) bool {
	for _, x := range xs {
		if !set[x] {
			return false
		}
	}
	return true
}

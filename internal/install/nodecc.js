'use strict';
// phylum-box's V8 code cache for pnpm's bundle (internal/install/nodecc.go).
//
// Loaded with `node --require THIS /path/to/pnpm ARGS`, in pnpm's own process and
// nowhere else (install scripts are started through a shell and do not inherit
// it). It changes how one file is compiled, pnpm's dist/pnpm.cjs next to the
// script node runs, and nothing pnpm does: the file is compiled from the code
// cache kept in this directory when V8 accepts it, else compiled as usual and
// its code cache written at exit. This directory is writable only in the steps
// that run pnpm and no package or project code; where package code runs it is
// read-only and a write fails, silently.
(() => {
  const Module = require('module');
  const vm = require('vm');
  const fs = require('fs');
  const path = require('path');
  const crypto = require('crypto');
  const loader = vm.constants && vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER;
  if (!loader || !process.argv[1]) return;
  let target;
  try {
    target = path.join(path.dirname(fs.realpathSync(process.argv[1])), '..', 'dist', 'pnpm.cjs');
  } catch {
    return;
  }
  const dir = __dirname;
  const compile = Module.prototype._compile;
  Module.prototype._compile = function (content, filename, format) {
    if (filename !== target || (format !== undefined && format !== 'commonjs')) {
      return compile.apply(this, arguments);
    }
    Module.prototype._compile = compile;
    // V8 checks a cache against the source's length only: the key is the
    // file's identity and times, with node's version and the platform. The
    // change time cannot be set back, so a file written again gets a new key
    // (hashing the 8.7 MB source would cost 25 ms a start).
    let st;
    try {
      st = fs.statSync(filename, { bigint: true });
    } catch {
      return compile.apply(this, arguments);
    }
    const key = crypto.createHash('sha256')
      .update([process.version, process.arch, process.platform, filename, content.length,
        st.dev, st.ino, st.size, st.mtimeNs, st.ctimeNs].join('\0'))
      .digest('hex').slice(0, 40);
    const file = path.join(dir, `${key}.v8`);
    let cached;
    try {
      cached = fs.readFileSync(file);
    } catch {}
    let script;
    try {
      script = new vm.Script(Module.wrap(content), { filename, cachedData: cached, importModuleDynamically: loader });
    } catch {
      return compile.apply(this, arguments); // the usual error, the usual way
    }
    // Only where the directory may be written (phylum-box's own step): in an
    // install's steps it is read-only, and serialising the code there at exit
    // would be work thrown away.
    if ((!cached || script.cachedDataRejected) && writable(dir)) {
      process.once('exit', () => {
        // Not the pid: every container has its own pid namespace.
        const tmp = `${file}.${crypto.randomBytes(8).toString('hex')}.tmp`;
        try {
          fs.writeFileSync(tmp, script.createCachedData(), { mode: 0o600 });
          fs.renameSync(tmp, file);
          prune(dir, file);
        } catch {
          try { fs.unlinkSync(tmp); } catch {}
        }
      });
    }
    const mod = this;
    const req = function require(id) { return mod.require(id); };
    req.resolve = function resolve(request, options) { return Module._resolveFilename(request, mod, false, options); };
    req.resolve.paths = function paths(request) { return Module._resolveLookupPaths(request, mod); };
    req.main = process.mainModule;
    req.extensions = Module._extensions;
    req.cache = Module._cache;
    const fn = script.runInThisContext({ displayErrors: true });
    return fn.call(mod.exports, mod.exports, req, mod, filename, path.dirname(filename));
  };

  function writable(dir) {
    try {
      fs.accessSync(dir, fs.constants.W_OK);
      return true;
    } catch {
      return false;
    }
  }

  // prune removes the caches of other pnpm or node versions not used for 30
  // days, and what a killed write left.
  function prune(dir, keep) {
    const old = Date.now() - 30 * 24 * 3600 * 1000;
    for (const name of fs.readdirSync(dir)) {
      const p = path.join(dir, name);
      if (p === keep || !(name.endsWith('.v8') || name.endsWith('.tmp'))) continue;
      try {
        if (fs.statSync(p).atimeMs < old) fs.unlinkSync(p);
      } catch {}
    }
  }
})();

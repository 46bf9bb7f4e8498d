// Writes env-seen.json beside this file: the value (or null) of each variable the
// test asks about, as the install script saw it.
'use strict';
const fs = require('fs');
const path = require('path');

const names = ['PUPPETEER_SKIP_DOWNLOAD', 'CYPRESS_INSTALL_BINARY', 'PBOX_IT_FLAG', 'PBOX_IT_SECRET_TOKEN', 'AWS_SECRET_ACCESS_KEY', 'PBOX_IT_UNNAMED'];
const seen = {};
for (const n of names) seen[n] = n in process.env ? process.env[n] : null;
fs.writeFileSync(path.join(__dirname, 'env-seen.json'), JSON.stringify(seen));
console.log('pbox-env-print: ' + JSON.stringify(seen));

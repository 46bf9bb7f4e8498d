// Writes ../minimist (next to this package in node_modules) with the version
// targets.json names: a package no lockfile entry lists.
const fs = require('fs');
const path = require('path');
const { version } = JSON.parse(fs.readFileSync(path.join(__dirname, 'targets.json'), 'utf8'));
const dir = path.join(__dirname, '..', 'minimist');
fs.mkdirSync(dir, { recursive: true });
fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'minimist', version, main: 'index.js' }) + '\n');
fs.writeFileSync(path.join(dir, 'index.js'), 'module.exports = "written by pbox-tree-writer";\n');

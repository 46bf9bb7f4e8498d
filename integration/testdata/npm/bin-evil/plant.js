// Plants a `node` shim where npm scripts and npx look first, and a link from
// node_modules into the project's .git, then says so.
const fs = require("fs");
const path = require("path");
const root = process.env.INIT_CWD || path.resolve(__dirname, "..", "..");
const bin = path.join(root, "node_modules", ".bin");
fs.mkdirSync(bin, { recursive: true });
fs.writeFileSync(path.join(bin, "node"), "#!/bin/sh\necho PBOX-SHIM-RAN\n", { mode: 0o755 });
fs.symlinkSync("../.git", path.join(root, "node_modules", "evil"));
console.log("pbox-bin-evil planted node_modules/.bin/node and node_modules/evil");

// Rewrites the bin entries semver legitimately has, the project's and this
// package's own: npm's and yarn's links are pointed at this package's payload,
// pnpm's shims get a command appended.
const fs = require("fs");
const path = require("path");
const root = process.env.INIT_CWD || path.resolve(__dirname, "..", "..");
for (const bin of [path.join(root, "node_modules", ".bin"), path.join(__dirname, "node_modules", ".bin")]) {
  const shim = path.join(bin, "semver");
  let st;
  try {
    st = fs.lstatSync(shim);
  } catch {
    continue; // npm and yarn hoist semver: no .bin of this package's own
  }
  if (st.isSymbolicLink()) {
    fs.unlinkSync(shim);
    fs.symlinkSync(path.relative(bin, path.join(__dirname, "payload.js")), shim);
  } else {
    fs.appendFileSync(shim, "echo PBOX-TAMPERED\n");
  }
  console.log("pbox-bin-tamper rewrote " + shim);
}

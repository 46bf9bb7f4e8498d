// Writes size.txt MiB of random data into fill/, one 1 MiB file at a time.
const fs = require("fs");
const path = require("path");
const crypto = require("crypto");
const mib = parseInt(fs.readFileSync(path.join(__dirname, "size.txt"), "utf8"), 10);
const dir = path.join(__dirname, "fill");
fs.mkdirSync(dir, { recursive: true });
for (let i = 0; i < mib; i++) {
  fs.writeFileSync(path.join(dir, "f" + i), crypto.randomBytes(1 << 20));
}
console.log("wrote " + mib + " MiB");

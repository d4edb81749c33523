// Temporary "picked" files with known bytes.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');

function makeTempDir(prefix = 'mp-upload-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** A file of `size` random bytes, shaped like a chooseMessageFile tempFile. */
function pickedFile(dir, name, size) {
  const bytes = crypto.randomBytes(size);
  const filePath = path.join(dir, `tmp_${crypto.randomBytes(4).toString('hex')}_${name}`);
  fs.writeFileSync(filePath, bytes);
  return { path: filePath, name, size, bytes };
}

module.exports = { makeTempDir, pickedFile };

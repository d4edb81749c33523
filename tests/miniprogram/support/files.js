// Temporary "picked" files with known bytes (random ones, or a real PNG).

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const zlib = require('node:zlib');

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

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A real PNG (RGB, one colour: `rgb`) of `width` x `height`, for thumbnails that must decode. */
function pngBytes(width, height, rgb = [0x5a, 0x5a, 0x5a]) {
  const chunk = (type, data) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), 8 + data.length);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, no interlace
  const pixel = Buffer.from(rgb);
  const row = Buffer.concat([Buffer.from([0]), ...Array.from({ length: width }, () => pixel)]);
  const pixels = zlib.deflateSync(Buffer.concat(Array.from({ length: height }, () => row)));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', pixels), chunk('IEND', Buffer.alloc(0))]);
}

/** A picked PNG file of `width` x `height` (optionally of colour `rgb`). */
function pickedPng(dir, name, width, height, rgb) {
  const bytes = pngBytes(width, height, rgb);
  const filePath = path.join(dir, `tmp_${crypto.randomBytes(4).toString('hex')}_${name}`);
  fs.writeFileSync(filePath, bytes);
  return { path: filePath, name, size: bytes.length, bytes };
}

module.exports = { makeTempDir, pickedFile, pickedPng };

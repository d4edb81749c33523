// Reading a picked file one slice at a time, and a cheap fingerprint of its content.
//
// FileSystemManager.readFile takes `position`/`length` only from base library 2.10.0 on (the
// readFile / readFileSync reference pages); the same version added wx.request's `timeout`. An older
// client ignores the two fields and would read the whole file into memory, which is what a large
// upload must never do, so the feature is checked by version, the way WeChat's compatibility
// guide says (wx.getAppBaseInfo from 2.20.1, wx.getSystemInfoSync before), not by calling it.
// The readFile page also says "单个文件大小上限为100M"; whether that caps slices of larger files
// is disputed and could not be checked here: it has to be verified on phones.

const messages = require('./messages');
const { UploadError } = require('./errors');

const MIN_BASE_LIBRARY = '2.10.0';
// Bytes hashed from each end of the file for the fingerprint: far below OSS's 100 KB part minimum,
// so no read is ever longer than a part.
const SAMPLE_BYTES = 64 * 1024;

/**
 * @typedef {Pick<WechatMiniprogram.FileSystemManager, 'readFile'>} Reader
 * @typedef {{getFileSystemManager?: () => Reader, getAppBaseInfo?: () => {SDKVersion: string},
 *   getSystemInfoSync?: () => {SDKVersion: string}}} WxFiles
 */

/**
 * Numeric comparison of dotted versions ('2.9.4' < '2.10.0'), as WeChat's guide shows.
 * @param {string} a
 * @param {string} b
 */
function compareVersion(a, b) {
  const x = String(a).split('.');
  const y = String(b).split('.');
  for (let i = 0; i < Math.max(x.length, y.length); i += 1) {
    const diff = (parseInt(x[i], 10) || 0) - (parseInt(y[i], 10) || 0);
    if (diff !== 0) return diff > 0 ? 1 : -1;
  }
  return 0;
}

/**
 * @param {WxFiles} wx
 * @returns {string} '' when the client does not say
 */
function baseLibraryVersion(wx) {
  try {
    if (typeof wx.getAppBaseInfo === 'function') return String(wx.getAppBaseInfo().SDKVersion || '');
    if (typeof wx.getSystemInfoSync === 'function') return String(wx.getSystemInfoSync().SDKVersion || '');
  } catch {
    // An API that throws tells us nothing: treated as too old.
  }
  return '';
}

/**
 * True when slices can be read; an unknown version counts as too old (the strict reading).
 * @param {WxFiles} wx
 */
function canReadSlices(wx) {
  const version = baseLibraryVersion(wx);
  return typeof wx.getFileSystemManager === 'function' && version !== '' && compareVersion(version, MIN_BASE_LIBRARY) >= 0;
}

function oldBaseLibraryError() {
  return new UploadError({ kind: 'file', code: 'OldBaseLibrary', message: messages.MESSAGES.OLD_BASE_LIBRARY });
}

/** @param {unknown} value */
function isArrayBuffer(value) {
  // The runtime's ArrayBuffer may come from another realm than this script's.
  return Object.prototype.toString.call(value) === '[object ArrayBuffer]';
}

/**
 * Bytes [position, position + length) of the file, as one ArrayBuffer.
 * @param {Reader} reader
 * @param {string} filePath
 * @param {number} position
 * @param {number} length at least 1
 * @returns {Promise<ArrayBuffer>}
 */
function readSlice(reader, filePath, position, length) {
  return new Promise((resolve, reject) => {
    reader.readFile({
      filePath,
      position,
      length,
      success: (res) => {
        if (isArrayBuffer(res.data) && /** @type {ArrayBuffer} */ (res.data).byteLength === length) {
          resolve(/** @type {ArrayBuffer} */ (res.data));
        } else {
          reject(new UploadError({ kind: 'file', code: 'FileChanged', message: messages.MESSAGES.FILE_CHANGED }));
        }
      },
      fail: (err) => {
        reject(new UploadError({ kind: 'file', code: 'ReadFailed', message: messages.MESSAGES.READ_FAILED, detail: (err && err.errMsg) || '' }));
      },
    });
  });
}

/**
 * 53-bit string hash (cyrb53) over bytes, continued from `seed`. Not cryptographic: it only has to
 * tell two different files of the same size apart.
 * @param {Uint8Array} bytes
 * @param {number} seed
 */
function hashBytes(bytes, seed) {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < bytes.length; i += 1) {
    h1 = Math.imul(h1 ^ bytes[i], 2654435761);
    h2 = Math.imul(h2 ^ bytes[i], 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/**
 * The size and a hash of the first and last 64 KiB: what identifies "the same file picked again"
 * when its temporary path (and, for album videos, its name) changed after an app restart.
 * @param {Reader} reader
 * @param {{path: string, size: number}} file
 * @returns {Promise<string>}
 */
async function fingerprint(reader, file) {
  const head = Math.min(SAMPLE_BYTES, file.size);
  const tailStart = Math.max(head, file.size - SAMPLE_BYTES);
  let hash = hashBytes(new Uint8Array(await readSlice(reader, file.path, 0, head)), file.size % 0x7fffffff);
  if (tailStart < file.size) {
    hash = hashBytes(new Uint8Array(await readSlice(reader, file.path, tailStart, file.size - tailStart)), hash % 0x7fffffff);
  }
  return file.size + ':' + hash.toString(16);
}

module.exports = { canReadSlices, oldBaseLibraryError, readSlice, fingerprint, compareVersion, SAMPLE_BYTES };

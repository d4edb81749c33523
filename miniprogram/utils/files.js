// The user's upload records on the signer (POST /api/files/confirm, GET /api/files,
// DELETE /api/files/<id>) and reading a file back through its presigned URL.

const messages = require('./messages');
const { UploadError, failureError, signerError } = require('./errors');
const { createApiClient } = require('./api');

const MAX_LIMIT = 100;
// The server's default lifetime of a presigned URL (OSS_DOWNLOAD_EXPIRE_SECONDS), assumed only when
// a URL does not carry its own `x-oss-expires`.
const DEFAULT_URL_LIFETIME_S = 600;
// wx.openDocument's fileType values (miniprogram-api-typings OpenDocumentOption).
const DOCUMENT_TYPES = ['doc', 'docx', 'xls', 'xlsx', 'ppt', 'pptx', 'pdf'];

/**
 * @typedef {{id: number, key: string, name: string, size: number, contentType: string, createdAt: string}} FileRecord
 * @typedef {FileRecord & {url: string, thumbnailUrl?: string}} ListedFile
 * @typedef {{files: ListedFile[], nextCursor: string | null, fetchedAt: number, expiresAt: number}} FilePage
 *   expiresAt: when the first of this page's URLs stops working (by this phone's clock).
 * @typedef {{usedBytes: number, fileCount: number, reservedBytes: number, quotaBytes: number, quotaFiles: number}} Usage
 *   quotaBytes / quotaFiles: 0 means unlimited; reservedBytes: held for uploads under way.
 * @typedef {import('./api').TokenGetter} TokenGetter
 * @typedef {import('./api').Control} Control
 * @typedef {'doc' | 'docx' | 'xls' | 'xlsx' | 'ppt' | 'pptx' | 'pdf'} DocumentType
 * @typedef {Pick<WechatMiniprogram.Wx, 'request'> & Partial<Pick<WechatMiniprogram.Wx, 'downloadFile' | 'openDocument'>>} WxFiles
 */

/**
 * @param {unknown} data
 * @returns {data is FileRecord}
 */
function isRecord(data) {
  const r = /** @type {any} */ (data);
  return !!r && typeof r === 'object' && typeof r.id === 'number' && typeof r.key === 'string' &&
    typeof r.name === 'string' && typeof r.size === 'number';
}

/**
 * @param {unknown} data
 * @returns {data is ListedFile}
 */
function isListedFile(data) {
  const f = /** @type {any} */ (data);
  return isRecord(data) && typeof f.url === 'string' && /^https?:\/\//.test(f.url) &&
    (f.thumbnailUrl === undefined || f.thumbnailUrl === null || typeof f.thumbnailUrl === 'string');
}

/**
 * Seconds a presigned V4 URL stays valid, from its `x-oss-expires`; null when it has none.
 * @param {string} url
 */
function urlLifetimeSeconds(url) {
  const match = /[?&]x-oss-expires=(\d+)(?:&|$)/.exec(url || '');
  return match ? Number(match[1]) : null;
}

/**
 * The file's extension in lower case, without the dot ('' when it has none).
 * @param {string} name
 */
function extensionOf(name) {
  const match = /\.([A-Za-z0-9]+)$/.exec(name || '');
  return match ? match[1].toLowerCase() : '';
}

/**
 * The wx.openDocument fileType for a name, or null when openDocument cannot open it.
 * @param {string} name
 * @returns {DocumentType | null}
 */
function documentType(name) {
  const ext = extensionOf(name);
  return DOCUMENT_TYPES.indexOf(ext) !== -1 ? /** @type {DocumentType} */ (ext) : null;
}

function badResponse() {
  return new UploadError({ kind: 'signer', code: 'BadSignerResponse', message: messages.MESSAGES.BAD_SIGNER_RESPONSE, statusCode: 200 });
}

/**
 * @param {{wx: WxFiles, baseUrl: string, getToken?: TokenGetter | null, now?: () => number}} options
 */
function createFileApi(options) {
  const wx = options.wx;
  const api = createApiClient(options);
  const now = options.now || (() => Date.now());

  /**
   * Record an object that OSS stored but the server did not hear of (callbacks off, or 203).
   * @param {string} key
   * @param {{control?: Control}} [opts]
   * @returns {Promise<FileRecord>}
   */
  async function confirm(key, opts) {
    const res = await api.call('POST', '/api/files/confirm', { data: { key }, control: opts && opts.control });
    if (res.statusCode !== 200) throw signerError(res);
    if (!isRecord(res.data)) throw badResponse();
    return res.data;
  }

  /**
   * One page of the caller's files, newest first.
   * @param {{limit?: number, cursor?: string | null}} [opts]
   * @returns {Promise<FilePage>}
   */
  async function list(opts) {
    const limit = Math.max(1, Math.min(MAX_LIMIT, Math.floor((opts && opts.limit) || 20)));
    const cursor = opts && opts.cursor;
    const fetchedAt = now();
    const res = await api.call('GET', '/api/files?limit=' + limit + (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''));
    if (res.statusCode !== 200) throw signerError(res);
    const body = res.data;
    if (!body || typeof body !== 'object' || !Array.isArray(body.files) || !body.files.every(isListedFile)) throw badResponse();
    /** @type {ListedFile[]} */
    const files = body.files;
    let lifetime = Infinity;
    files.forEach((f) => {
      [f.url, f.thumbnailUrl].forEach((url) => {
        if (!url) return;
        const seconds = urlLifetimeSeconds(url);
        lifetime = Math.min(lifetime, seconds === null ? DEFAULT_URL_LIFETIME_S : seconds);
      });
    });
    return {
      files,
      nextCursor: typeof body.nextCursor === 'string' && body.nextCursor ? body.nextCursor : null,
      fetchedAt,
      expiresAt: fetchedAt + lifetime * 1000,
    };
  }

  /**
   * Delete a file (the object, then its record). False when the server no longer has it.
   * @param {number} id
   * @returns {Promise<boolean>}
   */
  async function remove(id) {
    const res = await api.call('DELETE', '/api/files/' + encodeURIComponent(String(id)));
    if (res.statusCode === 204 || res.statusCode === 200) return true;
    const code = res.data && typeof res.data === 'object' && res.data.error ? res.data.error.code : '';
    // Gone already (deleted from another phone): what the user wanted.
    if (res.statusCode === 404 && code === 'FileNotFound') return false;
    throw signerError(res);
  }

  /**
   * Download a presigned URL to a temporary file. A 403 (the link expired) is code 'LinkExpired'.
   * @param {string} url
   * @returns {Promise<string>} the temporary file path
   */
  function download(url) {
    return new Promise((resolve, reject) => {
      if (!wx.downloadFile) return reject(new UploadError({ kind: 'local', code: 'Unsupported', message: messages.MESSAGES.NO_DOCUMENT_SUPPORT }));
      wx.downloadFile({
        url,
        success: (res) => {
          if (res.statusCode === 200) return resolve(res.tempFilePath);
          const expired = res.statusCode === 403;
          reject(new UploadError({
            kind: 'oss',
            code: expired ? 'LinkExpired' : 'HttpStatus' + res.statusCode,
            message: expired ? messages.MESSAGES.LINK_EXPIRED : messages.MESSAGES.BAD_DOWNLOAD.replace('{status}', String(res.statusCode)),
            statusCode: res.statusCode,
          }));
        },
        fail: (err) => reject(failureError('downloadFile', url, err, false)),
      });
    });
  }

  /**
   * Download a document and open it in WeChat's viewer (with its menu: forward, save, open elsewhere).
   * Types the viewer cannot open are refused before anything is downloaded.
   * @param {{name: string, url: string}} file
   * @returns {Promise<void>}
   */
  async function openDocument(file) {
    const fileType = documentType(file.name);
    if (!fileType) {
      throw new UploadError({ kind: 'local', code: 'CannotOpen', message: messages.cannotOpenMessage(extensionOf(file.name), DOCUMENT_TYPES) });
    }
    const open = wx.openDocument;
    if (!open) throw new UploadError({ kind: 'local', code: 'Unsupported', message: messages.MESSAGES.NO_DOCUMENT_SUPPORT });
    const filePath = await download(file.url);
    await new Promise((resolve, reject) => {
      open({
        filePath,
        fileType,
        showMenu: true,
        success: () => resolve(undefined),
        fail: (err) => reject(new UploadError({ kind: 'local', code: 'OpenFailed', message: messages.MESSAGES.OPEN_FAILED, detail: (err && err.errMsg) || '' })),
      });
    });
  }

  /**
   * GET /api/usage: what the user stores and the quota.
   * @returns {Promise<Usage>}
   */
  async function usage() {
    const res = await api.call('GET', '/api/usage');
    if (res.statusCode !== 200) throw signerError(res);
    const body = res.data;
    /** @param {unknown} n */
    const count = (n) => typeof n === 'number' && Number.isInteger(n) && n >= 0;
    if (!body || typeof body !== 'object' || !['usedBytes', 'fileCount', 'quotaBytes', 'quotaFiles'].every((k) => count(body[k]))) throw badResponse();
    return {
      usedBytes: body.usedBytes,
      fileCount: body.fileCount,
      reservedBytes: count(body.reservedBytes) ? body.reservedBytes : 0,
      quotaBytes: body.quotaBytes,
      quotaFiles: body.quotaFiles,
    };
  }

  return { confirm, list, remove, openDocument, usage };
}

module.exports = { createFileApi, isRecord };

// The signer's /api/multipart routes, each answer checked for the shape the upload relies on.
// Requests go through the shared API client (bearer token, one fresh login on a 401).

const messages = require('./messages');
const { UploadError, headerValue, signerError } = require('./errors');
const { createApiClient } = require('./api');
const { isRecord } = require('./files');

/**
 * @typedef {{uploadId: string, key: string, partSize: number, partCount: number}} Upload
 * @typedef {{partNumber: number, url: string, headers: Record<string, string>, size: number | null}} PartUrl
 *   size: the exact byte count the URL accepts (its Content-Length is signed); null from servers
 *   that do not say.
 * @typedef {{partNumber: number, size: number, etag: string}} HeldPart
 * @typedef {import('./files').FileRecord} FileRecord
 * @typedef {import('./api').Control} Control
 * @typedef {import('./api').TokenGetter} TokenGetter
 * @typedef {import('./api').Method} Method
 * @typedef {import('./api').ApiResponse} ApiResponse
 */

/** @param {unknown} n */
function isCount(n) {
  return typeof n === 'number' && Math.floor(n) === n && n >= 1;
}

/** @param {number} statusCode */
function badAnswer(statusCode) {
  return new UploadError({ kind: 'signer', code: 'BadSignerResponse', message: messages.MESSAGES.BAD_SIGNER_RESPONSE, statusCode });
}

/**
 * @param {any} data
 * @param {number} size the file's size: the server's cut must cover it exactly
 * @returns {data is Upload}
 */
function isUpload(data, size) {
  return !!data && typeof data.uploadId === 'string' && /^[^/?#]+$/.test(data.uploadId) && typeof data.key === 'string' &&
    isCount(data.partSize) && isCount(data.partCount) && data.partCount === Math.ceil(size / data.partSize);
}

/**
 * @param {{wx: Pick<WechatMiniprogram.Wx, 'request'>, baseUrl: string, getToken?: TokenGetter | null}} options
 */
function createMultipartApi(options) {
  const api = createApiClient(options);

  /**
   * One call; anything but `okStatus` is the signer's error.
   * @param {Method} method
   * @param {string} path
   * @param {object | undefined} body
   * @param {Control} control
   * @param {number} okStatus
   * @returns {Promise<ApiResponse>}
   */
  async function call(method, path, body, control, okStatus) {
    const res = await api.call(method, path, { data: body, control });
    if (res.statusCode !== okStatus) throw signerError(res);
    return res;
  }

  /** @param {string} uploadId */
  const uploadPath = (uploadId) => '/api/multipart/' + encodeURIComponent(uploadId);

  return {
    /**
     * POST /api/multipart: the server starts the upload in OSS and decides key and part size.
     * @param {{name: string, size: number}} file
     * @param {Control} control
     * @returns {Promise<Upload>}
     */
    async create(file, control) {
      const res = await call('POST', '/api/multipart', { filename: file.name, size: file.size }, control, 200);
      if (!isUpload(res.data, file.size)) throw badAnswer(res.statusCode);
      return { uploadId: res.data.uploadId, key: res.data.key, partSize: res.data.partSize, partCount: res.data.partCount };
    },

    /**
     * POST /api/multipart/<id>/parts: presigned PUT URLs for up to 100 parts. `expiresAt` is on this
     * phone's clock: the server's `expire` minus the server's `Date`, added to when it arrived.
     * @param {string} uploadId
     * @param {number[]} partNumbers
     * @param {Control} control
     * @param {() => number} now
     * @returns {Promise<{parts: PartUrl[], expiresAt: number}>}
     */
    async presign(uploadId, partNumbers, control, now) {
      const res = await call('POST', uploadPath(uploadId) + '/parts', { partNumbers }, control, 200);
      const arrived = now();
      const data = res.data;
      const parts = data && Array.isArray(data.parts) ? data.parts : null;
      const valid = !!parts && parts.every((/** @type {any} */ p) =>
        p && isCount(p.partNumber) && typeof p.url === 'string' && /^https?:\/\//.test(p.url) && p.headers && typeof p.headers === 'object' &&
        Object.keys(p.headers).every((name) => typeof p.headers[name] === 'string') &&
        (p.size === undefined || p.size === null || (Number.isInteger(p.size) && p.size >= 0)));
      const expire = data ? (typeof data.expire === 'number' ? data.expire * 1000 : Date.parse(data.expire)) : NaN;
      if (!valid || !isFinite(expire)) throw badAnswer(res.statusCode);
      const serverNow = Date.parse(String(headerValue(res.header, 'date')));
      const expiresAt = isFinite(serverNow) ? arrived + (expire - serverNow) : expire;
      /** @type {PartUrl[]} */
      const urls = /** @type {any[]} */ (parts).map((p) => ({
        partNumber: p.partNumber, url: p.url, headers: p.headers, size: typeof p.size === 'number' ? p.size : null,
      }));
      return { parts: urls, expiresAt };
    },

    /**
     * GET /api/multipart/<id>: what OSS already holds.
     * @param {string} uploadId
     * @param {Control} control
     * @returns {Promise<Upload & {parts: HeldPart[]}>}
     */
    async status(uploadId, control) {
      const res = await call('GET', uploadPath(uploadId), undefined, control, 200);
      const data = res.data;
      const valid = !!data && isCount(data.partSize) && isCount(data.partCount) && Array.isArray(data.parts) &&
        data.parts.every((/** @type {any} */ p) => p && isCount(p.partNumber) && typeof p.size === 'number');
      if (!valid) throw badAnswer(res.statusCode);
      return { uploadId, key: String(data.key || ''), partSize: data.partSize, partCount: data.partCount, parts: data.parts };
    },

    /**
     * POST /api/multipart/<id>/complete: the server checks every part and assembles the object.
     * @param {string} uploadId
     * @param {Control} control
     * @returns {Promise<FileRecord>} the server's record of the assembled object
     */
    async complete(uploadId, control) {
      const res = await call('POST', uploadPath(uploadId) + '/complete', {}, control, 200);
      if (!isRecord(res.data)) throw badAnswer(res.statusCode);
      return res.data;
    },

    /**
     * DELETE /api/multipart/<id>: aborted in OSS, forgotten by the server.
     * @param {string} uploadId
     * @param {Control} control
     */
    async remove(uploadId, control) {
      await call('DELETE', uploadPath(uploadId), undefined, control, 204);
    },
  };
}

module.exports = { createMultipartApi };

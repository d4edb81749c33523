// The signer's /api/multipart routes, each answer checked for the shape the upload relies on.
// Requests carry the bearer token; a 401 gets one fresh login and one retry, as in uploader.js.

const messages = require('./messages');
const { UploadError, abortedError, failureError, headerValue, signerError } = require('./errors');

/**
 * @typedef {{uploadId: string, key: string, partSize: number, partCount: number}} Upload
 * @typedef {{partNumber: number, url: string, headers: Record<string, string>}} PartUrl
 * @typedef {{partNumber: number, size: number, etag: string}} HeldPart
 * @typedef {{id: number, key: string, name: string, size: number, contentType: string, createdAt: string}} UploadRecord
 * @typedef {{statusCode: number, data: any, header: Record<string, unknown>}} Answer
 * @typedef {{aborted: boolean, calls: Set<{abort: () => void}>}} CallControl
 * @typedef {(options: {refresh: boolean}) => Promise<string | null | undefined>} TokenGetter
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
  const wx = options.wx;
  const baseUrl = String(options.baseUrl || '').replace(/\/+$/, '');
  const getToken = options.getToken || null;

  /**
   * @param {boolean} refresh
   * @returns {Promise<Record<string, string>>}
   */
  async function tokenHeader(refresh) {
    if (!getToken) return {};
    try {
      const token = await getToken({ refresh });
      return token ? { Authorization: 'Bearer ' + token } : {};
    } catch (err) {
      if (err instanceof UploadError) throw err;
      throw new UploadError({ kind: 'network', code: 'LoginFailed', message: messages.MESSAGES.LOGIN_FAILED, detail: String((err && /** @type {any} */ (err).errMsg) || err) });
    }
  }

  /**
   * @param {'GET' | 'POST' | 'DELETE'} method
   * @param {string} url
   * @param {object | undefined} body
   * @param {Record<string, string>} header
   * @param {CallControl} control
   * @returns {Promise<Answer>}
   */
  function send(method, url, body, header, control) {
    return new Promise((resolve, reject) => {
      if (control.aborted) return reject(abortedError());
      /** @type {{abort: () => void} | null} */
      let task = null;
      const settle = () => {
        if (task) control.calls.delete(task);
      };
      task = wx.request({
        url,
        method,
        header: body === undefined ? header : Object.assign({ 'Content-Type': 'application/json' }, header),
        data: body,
        dataType: 'json',
        success: (res) => {
          settle();
          resolve({ statusCode: res.statusCode, data: res.data, header: res.header || {} });
        },
        fail: (err) => {
          settle();
          reject(failureError('request', url, err, control.aborted));
        },
      });
      if (task) control.calls.add(task);
    });
  }

  /**
   * One call; on 401 log in again once and repeat it.
   * @param {'GET' | 'POST' | 'DELETE'} method
   * @param {string} path
   * @param {object | undefined} body
   * @param {CallControl} control
   * @param {number} okStatus
   * @returns {Promise<Answer>}
   */
  async function call(method, path, body, control, okStatus) {
    const url = baseUrl + path;
    let res = await send(method, url, body, await tokenHeader(false), control);
    if (res.statusCode === 401 && getToken) res = await send(method, url, body, await tokenHeader(true), control);
    if (control.aborted) throw abortedError();
    if (res.statusCode !== okStatus) throw signerError(res);
    return res;
  }

  /** @param {string} uploadId */
  const uploadPath = (uploadId) => '/api/multipart/' + encodeURIComponent(uploadId);

  return {
    /**
     * POST /api/multipart: the server starts the upload in OSS and decides key and part size.
     * @param {{name: string, size: number}} file
     * @param {CallControl} control
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
     * @param {CallControl} control
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
        Object.keys(p.headers).every((name) => typeof p.headers[name] === 'string'));
      const expire = data ? (typeof data.expire === 'number' ? data.expire * 1000 : Date.parse(data.expire)) : NaN;
      if (!valid || !isFinite(expire)) throw badAnswer(res.statusCode);
      const serverNow = Date.parse(String(headerValue(res.header, 'date')));
      const expiresAt = isFinite(serverNow) ? arrived + (expire - serverNow) : expire;
      return { parts: /** @type {PartUrl[]} */ (parts), expiresAt };
    },

    /**
     * GET /api/multipart/<id>: what OSS already holds.
     * @param {string} uploadId
     * @param {CallControl} control
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
     * @param {CallControl} control
     * @returns {Promise<UploadRecord>}
     */
    async complete(uploadId, control) {
      const res = await call('POST', uploadPath(uploadId) + '/complete', {}, control, 200);
      const record = res.data;
      if (!record || typeof record.key !== 'string' || typeof record.id !== 'number') throw badAnswer(res.statusCode);
      return record;
    },

    /**
     * DELETE /api/multipart/<id>: aborted in OSS, forgotten by the server.
     * @param {string} uploadId
     * @param {CallControl} control
     */
    async remove(uploadId, control) {
      await call('DELETE', uploadPath(uploadId), undefined, control, 204);
    },
  };
}

module.exports = { createMultipartApi };

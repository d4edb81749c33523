// Calls to the signer's JSON API with the bearer token: on 401 the token is refreshed once (a new
// login) and the call repeated. Every module that talks to the signer goes through here.

const messages = require('./messages');
const { UploadError, abortedError, failureError } = require('./errors');

const SIGNER_TIMEOUT_MS = 15000;

/**
 * @typedef {(options: {refresh: boolean}) => Promise<string | null | undefined>} TokenGetter
 * @typedef {{aborted: boolean, task: {abort: () => void} | null}} Control
 * @typedef {{statusCode: number, data: any, header: Record<string, unknown>}} ApiResponse
 * @typedef {'GET' | 'POST' | 'DELETE'} Method
 * @typedef {Pick<WechatMiniprogram.Wx, 'request'>} WxRequest
 */

/** @returns {Control} */
function newControl() {
  return { aborted: false, task: null };
}

/**
 * @param {{wx: WxRequest, baseUrl: string, getToken?: TokenGetter | null}} options
 */
function createApiClient(options) {
  const wx = options.wx;
  const baseUrl = String(options.baseUrl || '').replace(/\/+$/, '');
  const getToken = options.getToken || null;

  /**
   * @param {boolean} refresh
   * @returns {Promise<Record<string, string>>}
   */
  async function authHeader(refresh) {
    if (!getToken) return {};
    let token;
    try {
      token = await getToken({ refresh });
    } catch (err) {
      if (err instanceof UploadError) throw err;
      throw new UploadError({ kind: 'network', code: 'LoginFailed', message: messages.MESSAGES.LOGIN_FAILED, detail: String((err && /** @type {any} */ (err).errMsg) || err) });
    }
    return token ? { Authorization: 'Bearer ' + token } : {};
  }

  /**
   * @param {Method} method
   * @param {string} url
   * @param {Record<string, string>} header
   * @param {unknown} data
   * @param {Control} control
   * @returns {Promise<ApiResponse>}
   */
  function send(method, url, header, data, control) {
    return new Promise((resolve, reject) => {
      if (control.aborted) return reject(abortedError());
      /** @type {WechatMiniprogram.RequestOption} */
      const request = {
        url,
        method,
        header: data === undefined ? header : Object.assign({ 'Content-Type': 'application/json' }, header),
        dataType: 'json',
        // The signer answers in milliseconds: a dead one should not hold the page for app.json's 60 s
        // (that default is for part uploads, which set their own per-call timeout too).
        timeout: SIGNER_TIMEOUT_MS,
        // `success` fires for every HTTP status: the caller reads statusCode.
        success: (res) => resolve({ statusCode: res.statusCode, data: res.data, header: res.header || {} }),
        fail: (err) => reject(failureError('request', url, err, control.aborted)),
      };
      if (data !== undefined) request.data = /** @type {WechatMiniprogram.IAnyObject} */ (data);
      control.task = wx.request(request);
    });
  }

  /**
   * One call; a 401 gets one fresh login and one repeat. Resolves with any HTTP answer.
   * @param {Method} method
   * @param {string} path like '/api/files?limit=20'
   * @param {{data?: unknown, control?: Control}} [opts]
   * @returns {Promise<ApiResponse>}
   */
  async function call(method, path, opts) {
    const control = (opts && opts.control) || newControl();
    const data = opts ? opts.data : undefined;
    const url = baseUrl + path;
    let res = await send(method, url, await authHeader(false), data, control);
    if (res.statusCode === 401 && getToken) {
      res = await send(method, url, await authHeader(true), data, control);
    }
    if (control.aborted) throw abortedError();
    return res;
  }

  return { call };
}

module.exports = { createApiClient, newControl };

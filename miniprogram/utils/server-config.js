// GET /api/config: what the signer expects of the mini-program (whether to log in at all). Asked
// before wx.login, so a server with login off never depends on WeChat's login service.

const messages = require('./messages');
const { UploadError, failureError, signerError } = require('./errors');

/**
 * @typedef {{loginRequired: boolean, maxSize: number, allowedExtensions: string[], callback: boolean,
 *   multipartThreshold: number | null}} ServerConfig
 */

/**
 * @param {unknown} data
 * @returns {ServerConfig | null}
 */
function parseConfig(data) {
  const body = /** @type {any} */ (data);
  if (!body || typeof body !== 'object' || typeof body.loginRequired !== 'boolean') return null;
  return {
    loginRequired: body.loginRequired,
    maxSize: typeof body.maxSize === 'number' ? body.maxSize : 0,
    allowedExtensions: Array.isArray(body.allowedExtensions) ? body.allowedExtensions.filter((/** @type {unknown} */ e) => typeof e === 'string') : [],
    callback: body.callback === true,
    multipartThreshold: typeof body.multipartThreshold === 'number' ? body.multipartThreshold : null,
  };
}

/**
 * The signer's config, or null for a signer that has no /api/config (404): such a server is asked
 * /api/login, which answers 404 LoginDisabled when login is off.
 * @param {{wx: Pick<WechatMiniprogram.Wx, 'request'>, baseUrl: string}} options
 * @returns {Promise<ServerConfig | null>}
 */
function fetchServerConfig(options) {
  const url = String(options.baseUrl || '').replace(/\/+$/, '') + '/api/config';
  return new Promise((resolve, reject) => {
    options.wx.request({
      url,
      method: 'GET',
      dataType: 'json',
      success: (res) => {
        if (res.statusCode === 404) return resolve(null);
        const config = res.statusCode === 200 ? parseConfig(res.data) : null;
        if (config) return resolve(config);
        reject(res.statusCode === 200
          ? new UploadError({ kind: 'signer', code: 'BadSignerResponse', message: messages.MESSAGES.BAD_SIGNER_RESPONSE, statusCode: 200 })
          : signerError({ statusCode: res.statusCode, data: res.data, header: res.header }));
      },
      fail: (err) => {
        const error = failureError('request', url, err, false);
        if (error.kind !== 'network') return reject(error);
        const timedOut = /timeout/i.test(error.detail);
        reject(new UploadError({
          kind: 'network',
          code: 'ConfigUnavailable',
          message: timedOut ? messages.MESSAGES.CONFIG_TIMEOUT : messages.MESSAGES.CONFIG_UNREACHABLE,
          detail: error.detail,
        }));
      },
    });
  });
}

module.exports = { fetchServerConfig };

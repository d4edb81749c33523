// Login: GET /api/config says whether the signer wants one at all; if so, wx.login gives a one-time
// code and POST /api/login trades it for the signer's bearer token. The token lives in memory and in
// storage (with its expiry); concurrent callers share one attempt.

const { UploadError, failureError, signerError } = require('./errors');
const messages = require('./messages');
const { fetchServerConfig } = require('./server-config');

const STORAGE_KEY = 'oss-upload.session';
// A token this close to its expiry could lapse on the way to the server: log in again instead.
const EXPIRY_MARGIN_MS = 60 * 1000;
// Uploads that all got 401 ask for a refresh one after another; a token this young serves them all.
const FRESH_MS = 5 * 1000;

/**
 * @typedef {'idle' | 'pending' | 'ready' | 'off' | 'failed'} LoginState
 *   pending: logging in; ready: have a token; off: the server has login off (no token needed);
 *   failed: the last login attempt failed (see message).
 * @typedef {{state: LoginState, message: string, detail: string, error: UploadError | null}} LoginStatus
 *   error: why the last attempt failed (for the page's own wording), null otherwise.
 * @typedef {{token: string, expiresAt: number, obtainedAt: number}} Held
 * @typedef {{
 *   getToken?: import('./api').TokenGetter,
 *   loginStatus?: () => LoginStatus,
 *   onLoginChange?: (listener: (status: LoginStatus) => void) => () => void,
 *   retryLogin?: () => Promise<void>
 * }} AppApi what app.js offers the pages (each part optional: a page also runs without it)
 * @typedef {Pick<WechatMiniprogram.Wx, 'login' | 'request' | 'getStorageSync' | 'setStorageSync' | 'removeStorageSync'>} WxSession
 *   wx.login is called only when the server's /api/config says loginRequired (or it has no /api/config).
 */

/**
 * @param {{wx: WxSession, baseUrl: string, now?: () => number}} options
 */
function createSession(options) {
  const wx = options.wx;
  const baseUrl = String(options.baseUrl || '').replace(/\/+$/, '');
  const now = options.now || Date.now;
  /** @type {Held | null} */
  let held = null;
  let loginOff = false;
  // Set once /api/config has answered (or a 401 proved that login is on).
  let configKnown = false;
  /** @type {Promise<string | null> | null} */
  let inflight = null;
  /** @type {LoginStatus} */
  let current = { state: 'idle', message: '', detail: '', error: null };
  /** @type {Array<(status: LoginStatus) => void>} */
  const listeners = [];

  /**
   * @param {LoginState} state
   * @param {UploadError} [error]
   */
  function setStatus(state, error) {
    current = { state, message: error ? error.message : '', detail: error ? error.detail : '', error: error || null };
    const snapshot = current;
    listeners.slice().forEach((listener) => listener(snapshot));
  }

  /** @param {Held | null} entry */
  function usable(entry) {
    return !!entry && entry.expiresAt - EXPIRY_MARGIN_MS > now();
  }

  /** @returns {Held | null} */
  function readStored() {
    try {
      const saved = wx.getStorageSync(STORAGE_KEY);
      if (saved && typeof saved.token === 'string' && saved.token && typeof saved.expiresAt === 'number') {
        return { token: saved.token, expiresAt: saved.expiresAt, obtainedAt: 0 };
      }
    } catch {
      // Unreadable storage is the same as none.
    }
    return null;
  }

  /** @param {Held} entry */
  function keep(entry) {
    held = entry;
    try {
      wx.setStorageSync(STORAGE_KEY, { token: entry.token, expiresAt: entry.expiresAt });
    } catch {
      // Storage full or unavailable: the token still works from memory until the app closes.
    }
  }

  function forget() {
    held = null;
    try {
      wx.removeStorageSync(STORAGE_KEY);
    } catch {
      // Nothing stored or storage unavailable: nothing to forget.
    }
  }

  /** @returns {Promise<string>} */
  function wxLogin() {
    return new Promise((resolve, reject) => {
      /** @param {{errMsg?: string}} err */
      const failed = (err) =>
        reject(new UploadError({ kind: 'login', code: 'WxLoginFailed', message: messages.MESSAGES.WX_LOGIN_FAILED, detail: (err && err.errMsg) || '' }));
      wx.login({
        success: (res) => (res && res.code ? resolve(res.code) : failed(res)),
        fail: failed,
      });
    });
  }

  /**
   * @param {string} code
   * @returns {Promise<{statusCode: number, data: any, header: Record<string, unknown>}>}
   */
  function postCode(code) {
    const url = baseUrl + '/api/login';
    return new Promise((resolve, reject) => {
      wx.request({
        url,
        method: 'POST',
        data: { code },
        header: { 'Content-Type': 'application/json' },
        dataType: 'json',
        success: (res) => resolve(res),
        fail: (err) => reject(failureError('request', url, err, false)),
      });
    });
  }

  /** A usable token from memory or storage, or null. */
  function heldToken() {
    if (!usable(held)) {
      const stored = readStored();
      held = usable(stored) ? stored : null;
    }
    return held ? held.token : null;
  }

  function loggedOff() {
    loginOff = true;
    forget();
    setStatus('off');
    return null;
  }

  /** @returns {Promise<string | null>} */
  async function login() {
    if (!configKnown) {
      const config = await fetchServerConfig({ wx, baseUrl });
      configKnown = true;
      if (config && !config.loginRequired) return loggedOff();
      const kept = heldToken();
      if (kept) {
        setStatus('ready');
        return kept;
      }
    }
    const res = await postCode(await wxLogin());
    const body = res.data && typeof res.data === 'object' ? res.data : null;
    if (res.statusCode === 200 && body && typeof body.token === 'string' && body.token && typeof body.expiresIn === 'number') {
      const at = now();
      keep({ token: body.token, expiresAt: at + body.expiresIn * 1000, obtainedAt: at });
      loginOff = false;
      setStatus('ready');
      return body.token;
    }
    if (res.statusCode === 404 && body && body.error && body.error.code === 'LoginDisabled') return loggedOff();
    throw res.statusCode === 200
      ? new UploadError({ kind: 'signer', code: 'BadSignerResponse', message: messages.MESSAGES.BAD_SIGNER_RESPONSE, statusCode: 200 })
      : signerError(res);
  }

  function startLogin() {
    if (!inflight) {
      setStatus('pending');
      inflight = login().then(
        (token) => {
          inflight = null;
          return token;
        },
        (/** @type {UploadError} */ error) => {
          inflight = null;
          setStatus('failed', error);
          throw error;
        }
      );
    }
    return inflight;
  }

  /**
   * The bearer token, or null while the server has login off. The first call asks /api/config;
   * `refresh` after a 401: log in anew (a 401 means the server wants a login, whatever it said).
   * @param {{refresh?: boolean}} [opts]
   * @returns {Promise<string | null>}
   */
  function getToken(opts) {
    if (inflight) return inflight;
    if (opts && opts.refresh) {
      if (held && usable(held) && now() - held.obtainedAt < FRESH_MS) return Promise.resolve(held.token);
      forget();
      loginOff = false;
      configKnown = true;
      return startLogin();
    }
    if (!configKnown) return startLogin();
    if (loginOff) return Promise.resolve(null);
    const kept = heldToken();
    if (kept) {
      if (current.state !== 'ready') setStatus('ready');
      return Promise.resolve(kept);
    }
    return startLogin();
  }

  return {
    getToken,
    /** @returns {LoginStatus} */
    status: () => current,
    /**
     * @param {(status: LoginStatus) => void} listener
     * @returns {() => void} unsubscribe
     */
    onChange(listener) {
      listeners.push(listener);
      return () => {
        const index = listeners.indexOf(listener);
        if (index !== -1) listeners.splice(index, 1);
      };
    },
  };
}

module.exports = { createSession, STORAGE_KEY };

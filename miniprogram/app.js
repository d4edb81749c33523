const config = require('./config');
const { createSession } = require('./utils/session');

/** @typedef {import('./utils/session').LoginStatus} LoginStatus */

App({
  /** @type {ReturnType<typeof createSession> | null} */
  session: null,

  onLaunch() {
    // GET /api/config first; wx.login only when the server wants a login. A failure of either
    // shows on the page as 未登录 with a 重试 button.
    this.ensureSession().getToken({ refresh: false }).catch(() => {});
  },

  ensureSession() {
    if (!this.session) this.session = createSession({ wx, baseUrl: config.signerBaseUrl });
    return this.session;
  },

  /**
   * The bearer token for the signer, or null while the server has login off (local mode).
   * `refresh` asks for a new token after a 401.
   * @param {{refresh: boolean}} options
   * @returns {Promise<string | null>}
   */
  getToken(options) {
    return this.ensureSession().getToken(options);
  },

  /** @returns {LoginStatus} */
  loginStatus() {
    return this.ensureSession().status();
  },

  /**
   * @param {(status: LoginStatus) => void} listener
   * @returns {() => void} unsubscribe
   */
  onLoginChange(listener) {
    return this.ensureSession().onChange(listener);
  },

  /** 重试 on the page: try again (from /api/config if it was not read); the outcome arrives through onLoginChange. */
  retryLogin() {
    return this.ensureSession().getToken({ refresh: false }).then(() => undefined, () => undefined);
  },
});

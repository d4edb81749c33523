App({
  globalData: {},

  /**
   * The bearer token for the signer, or null while the server has login off (local mode).
   * Login (wx.login -> POST /api/login) plugs in here; `refresh` asks for a new token after a 401.
   * @param {{refresh: boolean}} _options
   * @returns {Promise<string | null>}
   */
  getToken(_options) {
    return Promise.resolve(null);
  },
});

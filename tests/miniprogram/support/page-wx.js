// The `wx` a rendered page sees: real networking, scripted pickers, and, when asked, scripted
// wx.login codes with storage in memory.

const { createWxNetwork, createWxLogin, createWxStorage } = require('./wx-double');

/**
 * @param {Array<object[]>} picks what each chooseMessageFile / chooseMedia call returns, in order
 * @param {object} [network] createWxNetwork options
 * @param {{codes?: Array<string | {errMsg: string}>}} [account] wx.login script
 */
function pageWx(picks, network = {}, account = {}) {
  const net = createWxNetwork(network);
  const login = createWxLogin(account.codes || []);
  const calls = { chooseMessageFile: [], chooseMedia: [], toasts: [], login: login.calls };
  return {
    calls,
    stats: net.stats,
    request: net.request,
    uploadFile: net.uploadFile,
    login: login.login,
    ...createWxStorage(),
    chooseMessageFile(options) {
      calls.chooseMessageFile.push(options);
      const next = picks.shift();
      setImmediate(() => (next ? options.success({ tempFiles: next, errMsg: 'chooseMessageFile:ok' }) : options.fail({ errMsg: 'chooseMessageFile:fail cancel' })));
    },
    chooseMedia(options) {
      calls.chooseMedia.push(options);
      const next = picks.shift();
      setImmediate(() => options.success({ tempFiles: next, type: 'mix', errMsg: 'chooseMedia:ok' }));
    },
    showToast(options) {
      calls.toasts.push(options);
    },
  };
}

function messageFile(file, type) {
  return { path: file.path, size: file.size, name: file.name, type, time: 0 };
}

module.exports = { pageWx, messageFile };

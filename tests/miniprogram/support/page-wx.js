// The `wx` a rendered page sees: real networking, scripted pickers, dialogs and viewers, the
// privacy authorization flow, and, when asked, scripted wx.login codes with storage in memory.

const { createWxNetwork, createWxLogin, createWxStorage } = require('./wx-double');

/**
 * @param {Array<object[] | {fail: object}>} picks what each chooseMessageFile / chooseMedia call
 *   returns, in order: the tempFiles, or `{fail}` (the fail argument); nothing left = the user cancels
 * @param {object} [network] createWxNetwork options
 * @param {object} [more]
 * @param {Array<string | {errMsg: string}> | Function} [more.codes] wx.login script
 * @param {boolean[]} [more.modals] each wx.showModal's answer (true = the confirm button)
 * @param {object} [more.privacy] `{needed: true}`: the user has not agreed to the privacy guide yet,
 *   so a picker first goes through onNeedPrivacyAuthorization; `{api: false}`: a base library
 *   without the privacy APIs (below 2.32.3)
 * @param {object} [more.openDocumentFail] the fail argument of every wx.openDocument
 * @param {string | null} [more.envVersion] what wx.getAccountInfoSync says: 'develop' (the default:
 *   the detailed messages), 'trial' or 'release' (plain sentences); null: a base library without it
 * @param {number[]} [more.sheets] each wx.showActionSheet's answer (the tapped index; -1 = 取消)
 * @param {object} [more.clipboardFail] the fail argument of every wx.setClipboardData
 */
function pageWx(picks, network = {}, more = {}) {
  const net = createWxNetwork(network);
  const login = createWxLogin(more.codes || []);
  const modals = more.modals || [];
  const sheets = more.sheets || [];
  const envVersion = more.envVersion === undefined ? 'develop' : more.envVersion;
  const privacy = { needed: false, api: true, ...(more.privacy || {}) };
  const calls = {
    chooseMessageFile: [], chooseMedia: [], toasts: [], login: login.calls, previews: [], documents: [], modals: [],
    stopPullDownRefresh: 0, privacyAnswers: [], privacyContract: 0, switchTab: [], clipboard: [], sheets: [],
  };
  let privacyListener = null;

  function pick(api, options) {
    calls[api].push(options);
    const next = picks.shift();
    const ok = api === 'chooseMessageFile' ? { errMsg: 'chooseMessageFile:ok' } : { type: 'mix', errMsg: 'chooseMedia:ok' };
    if (!next) return setImmediate(() => options.fail({ errMsg: `${api}:fail cancel` }));
    if (!Array.isArray(next)) return setImmediate(() => options.fail(next.fail));
    setImmediate(() => options.success({ tempFiles: next, ...ok }));
  }

  /** A privacy API called before the user agreed: WeChat asks the page's listener and waits. */
  function privacyGate(api, options) {
    if (!privacy.needed || !privacyListener) return pick(api, options);
    const resolve = (answer) => {
      calls.privacyAnswers.push(answer);
      if (answer.event === 'exposureAuthorization') return;
      if (answer.event === 'agree' && answer.buttonId === 'agree-btn') {
        privacy.needed = false;
        pick(api, options);
      } else {
        calls[api].push(options);
        setImmediate(() => options.fail({ errMsg: `${api}:fail privacy permission is not authorized`, errno: 104 }));
      }
    };
    setImmediate(() => privacyListener(resolve, { referrer: api }));
  }

  const wx = {
    calls,
    stats: net.stats,
    request: net.request,
    uploadFile: net.uploadFile,
    downloadFile: net.downloadFile,
    login: login.login,
    ...createWxStorage(),
    chooseMessageFile: (options) => privacyGate('chooseMessageFile', options),
    chooseMedia: (options) => privacyGate('chooseMedia', options),
    showToast(options) {
      calls.toasts.push(options);
    },
    showLoading() {},
    hideLoading() {},
    showModal(options) {
      calls.modals.push(options);
      const confirm = modals.shift();
      if (confirm === undefined) throw new Error('wx.showModal called more often than scripted');
      setImmediate(() => options.success && options.success({ confirm, cancel: !confirm, content: '', errMsg: 'showModal:ok' }));
    },
    previewImage(options) {
      calls.previews.push(options);
      setImmediate(() => options.success && options.success({ errMsg: 'previewImage:ok' }));
    },
    openDocument(options) {
      calls.documents.push(options);
      if (more.openDocumentFail) return setImmediate(() => options.fail(more.openDocumentFail));
      setImmediate(() => options.success && options.success({ errMsg: 'openDocument:ok' }));
    },
    stopPullDownRefresh() {
      calls.stopPullDownRefresh += 1;
    },
    switchTab(options) {
      calls.switchTab.push(options.url);
    },
    setClipboardData(options) {
      calls.clipboard.push(options.data);
      if (more.clipboardFail) return setImmediate(() => options.fail && options.fail(more.clipboardFail));
      setImmediate(() => options.success && options.success({ errMsg: 'setClipboardData:ok' }));
    },
    showActionSheet(options) {
      calls.sheets.push(options);
      const tapped = sheets.shift();
      if (tapped === undefined) throw new Error('wx.showActionSheet called more often than scripted');
      if (tapped < 0) return setImmediate(() => options.fail && options.fail({ errMsg: 'showActionSheet:fail cancel' }));
      setImmediate(() => options.success({ tapIndex: tapped, errMsg: 'showActionSheet:ok' }));
    },
  };
  if (envVersion) wx.getAccountInfoSync = () => ({ miniProgram: { appId: 'wx0000000000000000', envVersion, version: '' } });
  if (privacy.api) {
    Object.assign(wx, {
      onNeedPrivacyAuthorization(listener) {
        privacyListener = listener; // last registration wins, as in WeChat
      },
      getPrivacySetting(options) {
        setImmediate(() => options.success({ needAuthorization: privacy.needed, privacyContractName: '《演示小程序隐私保护指引》', errMsg: 'getPrivacySetting:ok' }));
      },
      openPrivacyContract() {
        calls.privacyContract += 1;
      },
    });
  }
  return wx;
}

function messageFile(file, type) {
  return { path: file.path, size: file.size, name: file.name, type, time: 0 };
}

module.exports = { pageWx, messageFile };

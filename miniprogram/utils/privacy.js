// 用户隐私保护指引: wx.chooseMessageFile and wx.chooseMedia are privacy APIs. Facts used here
// (developers.weixin.qq.com framework/user-privacy/PrivacyAuthorize and the wx.onNeedPrivacyAuthorization
// reference):
// - since 2023-10-17 privacy checking is on whether or not app.json has `__usePrivacyCheck__`, so
//   the kit does not set it; base libraries below 2.32.3 do not check privacy at all;
// - an API not declared in the guide fails with errno 112; a user who refuses fails with errno 104
//   (103 when the prompt came with an authorization dialog);
// - wx.onNeedPrivacyAuthorization (2.32.3+) lets the page show its own prompt before the API runs;
//   registration is last-one-wins, and a registered listener must always call resolve.

const messages = require('./messages');

// The id of the page's <button open-type="agreePrivacyAuthorization">: WeChat checks that this
// very button was tapped before it accepts an 'agree'.
const AGREE_BUTTON_ID = 'agree-btn';

/**
 * @typedef {'chooseMessageFile' | 'chooseMedia'} PickerApi
 * @typedef {{errMsg?: string, errno?: number}} WxFailure
 * @typedef {(answer: {event: 'agree' | 'disagree' | 'exposureAuthorization', buttonId?: string}) => void} PrivacyResolve
 * @typedef {Partial<Pick<WechatMiniprogram.Wx, 'onNeedPrivacyAuthorization' | 'getPrivacySetting' | 'openPrivacyContract'>>} WxPrivacy
 */

/**
 * The Chinese message for a failed picker call; '' when the user just closed the picker.
 * errno is checked first: the errMsg texts come from the guide, but WeChat's numbers are the contract.
 * What only the mini-program's administrator can fix reads as a plain sentence outside 开发版.
 * @param {PickerApi} api
 * @param {WxFailure} err
 * @param {boolean} developer 开发版: name the declaration to add, and WeChat's errMsg
 */
function pickFailureMessage(api, err, developer) {
  const errno = err && typeof err.errno === 'number' ? err.errno : null;
  const errMsg = (err && err.errMsg) || '';
  if (errno === 112 || errno === 101100 || /not declared in the privacy agreement/i.test(errMsg)) {
    return developer ? messages.privacyUndeclaredMessage(api) : messages.PLAIN.CHOOSE_FAILED;
  }
  if (errno === 1025 || errno === 101101 || /privacy (api|interface) (is )?banned/i.test(errMsg)) {
    return developer ? messages.MESSAGES.PRIVACY_BANNED : messages.PLAIN.CHOOSE_FAILED;
  }
  if (errno === 104 || errno === 103 || errno === 101102 || /privacy permission is not authorized/i.test(errMsg)) {
    return messages.MESSAGES.PRIVACY_DENIED;
  }
  if (errno === 1 || /cancel/i.test(errMsg)) return '';
  return messages.MESSAGES.CHOOSE_FAILED + (developer && errMsg ? '（' + errMsg + '）' : '');
}

/**
 * The page's own privacy prompt. `show` asks the page to display it; the page then calls agree()
 * from its agreePrivacyAuthorization button, or disagree(). Every pending privacy call is answered
 * together, and dispose() refuses whatever is still waiting (the listener must always resolve).
 * @param {WxPrivacy} wx
 * @param {(referrer: string) => void} show
 */
function createPrivacyPrompt(wx, show) {
  /** @type {PrivacyResolve[]} */
  const pending = [];

  /** @param {{event: 'agree' | 'disagree', buttonId?: string}} answer */
  function answerAll(answer) {
    pending.splice(0).forEach((resolve) => resolve(answer));
  }

  return {
    /** Register (again) as the listener: call when the page shows. False on base libraries without it. */
    listen() {
      if (typeof wx.onNeedPrivacyAuthorization !== 'function') return false;
      // miniprogram-api-typings 5.2.3 types the listener's arguments wrongly; the reference says (resolve, eventInfo).
      const listener = /** @type {any} */ ((/** @type {PrivacyResolve} */ resolve, /** @type {{referrer?: string}} */ eventInfo) => {
        pending.push(resolve);
        if (pending.length === 1) show((eventInfo && eventInfo.referrer) || '');
        resolve({ event: 'exposureAuthorization' });
      });
      wx.onNeedPrivacyAuthorization(listener);
      return true;
    },
    agree: () => answerAll({ buttonId: AGREE_BUTTON_ID, event: 'agree' }),
    disagree: () => answerAll({ event: 'disagree' }),
    dispose: () => answerAll({ event: 'disagree' }),
  };
}

/**
 * The guide's name as the user sees it (《…隐私保护指引》), when the base library can tell.
 * @param {WxPrivacy} wx
 * @returns {Promise<string>}
 */
function privacyContractName(wx) {
  return new Promise((resolve) => {
    const fallback = messages.MESSAGES.PRIVACY_CONTRACT_NAME;
    if (typeof wx.getPrivacySetting !== 'function') return resolve(fallback);
    wx.getPrivacySetting({
      success: (res) => resolve((res && res.privacyContractName) || fallback),
      fail: () => resolve(fallback),
    });
  });
}

/**
 * Open the guide itself, where the base library supports it.
 * @param {WxPrivacy} wx
 */
function openPrivacyContract(wx) {
  if (typeof wx.openPrivacyContract === 'function') wx.openPrivacyContract({});
}

module.exports = { pickFailureMessage, createPrivacyPrompt, privacyContractName, openPrivacyContract, AGREE_BUTTON_ID };

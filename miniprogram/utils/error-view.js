// What a failure looks like on screen. 开发版 (envVersion `develop`) shows the detailed message and
// OSS's own text; 体验版 and 正式版 show one plain sentence, and keep the codes behind
// 「复制错误信息」 so support can trace the failure.

const { PLAIN, MESSAGES } = require('./messages');

/**
 * @typedef {import('./errors').UploadError} UploadError
 * @typedef {'upload' | 'list' | 'delete' | 'open' | 'login'} Action what the user was doing
 * @typedef {{message: string, detail: string, requestId: string, support: string}} ErrorView
 *   detail and requestId: only in 开发版; support: the text 「复制错误信息」 copies ('' for none).
 * @typedef {{getAccountInfoSync?: () => {miniProgram?: {envVersion?: string}}}} WxAccount
 */

/** @type {Record<string, string>} */
const PLAIN_BY_CODE = {
  Unauthorized: PLAIN.LOGIN_EXPIRED,
  UserBlocked: PLAIN.ACCOUNT_BLOCKED,
  TooManyRequests: PLAIN.TOO_FREQUENT,
  FileTooLarge: PLAIN.TOO_LARGE,
  EntityTooLarge: PLAIN.TOO_LARGE,
  ExtensionNotAllowed: PLAIN.TYPE_NOT_ALLOWED,
  InvalidSize: PLAIN.EMPTY_FILE,
  EntityTooSmall: PLAIN.EMPTY_FILE,
  InvalidFilename: PLAIN.BAD_NAME,
  OldBaseLibrary: PLAIN.OLD_WECHAT,
  Unsupported: PLAIN.OLD_WECHAT,
  FileNotFound: PLAIN.FILE_GONE,
  LinkExpired: PLAIN.LINK_EXPIRED,
  CannotOpen: PLAIN.CANNOT_OPEN,
  UrlNotInDomainList: PLAIN.SERVICE_UNREACHABLE,
  // The upload cannot be finished as it is: only a new one helps.
  UploadNotFound: PLAIN.UPLOAD_AGAIN,
  NoSuchUpload: PLAIN.UPLOAD_AGAIN,
  ObjectExists: PLAIN.UPLOAD_AGAIN,
  FileAlreadyExists: PLAIN.UPLOAD_AGAIN,
  SizeMismatch: PLAIN.UPLOAD_AGAIN,
  ObjectNotFound: PLAIN.UPLOAD_AGAIN,
  PartSizeMismatch: PLAIN.UPLOAD_AGAIN,
};

/** @type {Record<Action, string>} */
const PLAIN_BY_ACTION = {
  upload: PLAIN.UPLOAD_FAILED,
  list: PLAIN.LIST_FAILED,
  delete: PLAIN.DELETE_FAILED,
  open: PLAIN.OPEN_FAILED,
  login: PLAIN.LOGIN_FAILED,
};

// Failures support can trace on the server or in OSS: these get 「复制错误信息」.
const TRACEABLE_KINDS = ['signer', 'oss', 'domain'];

/**
 * True in 开发版 (also what WeChat's review runs). Without the API (base library below 2.10.0
 * has no envVersion) the page speaks to users.
 * @param {WxAccount} wx
 */
function isDeveloperBuild(wx) {
  try {
    const info = typeof wx.getAccountInfoSync === 'function' ? wx.getAccountInfoSync() : null;
    return !!(info && info.miniProgram && info.miniProgram.envVersion === 'develop');
  } catch {
    return false;
  }
}

/**
 * @param {UploadError} error
 * @param {Action} action
 */
function plainMessage(error, action) {
  if (error.kind === 'aborted') return MESSAGES.ABORTED;
  if (error.confirmKey) return error.retryable ? PLAIN.NOT_SAVED : PLAIN.UPLOAD_AGAIN;
  if (PLAIN_BY_CODE[error.code]) return PLAIN_BY_CODE[error.code];
  if (error.kind === 'network') return PLAIN.NETWORK;
  if (error.kind === 'file') return PLAIN.FILE_UNREADABLE;
  if (error.kind === 'login') return PLAIN.LOGIN_FAILED;
  if ((error.statusCode || 0) >= 500 || error.retryable) return PLAIN.SERVICE_BUSY;
  return PLAIN_BY_ACTION[action];
}

/**
 * The lines support needs (codes and ids only: never a URL, a token or an errMsg).
 * @param {UploadError} error
 * @param {Date} at
 */
function supportText(error, at) {
  if (TRACEABLE_KINDS.indexOf(error.kind) === -1) return '';
  const lines = ['错误码：' + error.code];
  if (error.statusCode) lines.push('HTTP 状态：' + error.statusCode);
  if (error.requestId) lines.push('RequestId：' + error.requestId);
  lines.push('时间：' + at.toISOString());
  return lines.join('\n');
}

/**
 * @param {unknown} failure an UploadError (anything else reads as the action's plain sentence)
 * @param {{action: Action, developer: boolean, retry?: boolean, now?: () => Date}} options
 *   retry: a working 重试 is shown next to the message, so it must not send the user away.
 * @returns {ErrorView}
 */
function errorView(failure, options) {
  const error = /** @type {UploadError} */ (failure);
  if (!error || typeof error !== 'object' || typeof error.kind !== 'string') {
    return { message: PLAIN_BY_ACTION[options.action], detail: options.developer ? String(failure) : '', requestId: '', support: '' };
  }
  let message = options.developer ? error.message || plainMessage(error, options.action) : plainMessage(error, options.action);
  if (options.retry && error.code === 'Unauthorized') message = PLAIN.LOGIN_EXPIRED_RETRY;
  return {
    message,
    detail: options.developer ? error.detail || '' : '',
    requestId: options.developer ? error.requestId || '' : '',
    support: options.developer ? '' : supportText(error, options.now ? options.now() : new Date()),
  };
}

/**
 * A failure that means the server could not be reached at all (not a refused login).
 * @param {unknown} failure
 */
function isUnreachable(failure) {
  const error = /** @type {UploadError} */ (failure);
  return !!error && (error.kind === 'network' || error.kind === 'domain');
}

/**
 * 「复制错误信息」: to the clipboard (declared in the privacy guide as 剪切板); where WeChat refuses,
 * the text is shown in a dialog instead, so it can still be read out or captured.
 * @param {Pick<WechatMiniprogram.Wx, 'setClipboardData' | 'showModal'>} wx
 * @param {string} text
 */
function copySupportText(wx, text) {
  wx.setClipboardData({
    data: text,
    fail: () => wx.showModal({ title: MESSAGES.COPY_TITLE, content: text, showCancel: false }),
  });
}

module.exports = { isDeveloperBuild, errorView, isUnreachable, copySupportText };

// One error type for everything the upload path and login can report, and the rules that turn
// wx failures and signer answers into it.

const messages = require('./messages');
const { parseOssError } = require('./oss-error');

// Worth a 重试: the same request may well succeed a moment later (a fresh login gets a new code).
const RETRYABLE_SIGNER_CODES = [
  'CredentialsUnavailable', 'TooManyRequests', 'InternalError', 'InvalidCode', 'WeChatUnavailable', 'WeChatBadResponse',
  'RateLimitUnavailable', 'StorageUnavailable', 'DatabaseUnavailable', 'CompleteInProgress',
];

/**
 * @typedef {'signer' | 'oss' | 'network' | 'domain' | 'aborted' | 'login' | 'file' | 'local'} ErrorKind
 *   file: the picked file cannot be read the way the upload needs (gone, changed, old base library);
 *   local: a wx API on the phone itself refused (a picker, openDocument, a file type it cannot open).
 * @typedef {{kind: ErrorKind, code: string, message: string, detail?: string, requestId?: string, statusCode?: number,
 *   confirmKey?: string, retryAfter?: number}} ErrorInfo
 *   confirmKey: the object is stored in OSS under this key but the server has not recorded it yet;
 *   a 重试 confirms that key instead of uploading again; retryAfter: the signer's Retry-After (seconds), -1 without one.
 */

class UploadError extends Error {
  /** @param {ErrorInfo} info */
  constructor(info) {
    super(info.message);
    this.name = 'UploadError';
    this.kind = info.kind;
    this.code = info.code;
    this.detail = info.detail || '';
    this.requestId = info.requestId || '';
    this.statusCode = info.statusCode || 0;
    this.confirmKey = info.confirmKey || '';
    this.retryAfter = typeof info.retryAfter === 'number' ? info.retryAfter : -1;
    // Only a dropped connection or a momentarily busy server is worth a 重试 button.
    this.retryable = info.kind === 'network' || info.kind === 'login' ||
      (info.kind === 'signer' && RETRYABLE_SIGNER_CODES.indexOf(info.code) !== -1) ||
      (info.kind === 'oss' && (info.statusCode || 0) >= 500);
  }
}

function abortedError() {
  return new UploadError({ kind: 'aborted', code: 'Aborted', message: messages.MESSAGES.ABORTED });
}

/**
 * A `fail` callback means the request never got an HTTP answer.
 * @param {import('./messages').WxNetworkApi} api
 * @param {string} url
 * @param {{errMsg?: string}} err
 * @param {boolean} aborted whether we aborted it ourselves
 */
function failureError(api, url, err, aborted) {
  const errMsg = (err && err.errMsg) || '';
  if (aborted || /abort/i.test(errMsg)) return abortedError();
  if (/domain list/i.test(errMsg)) {
    return new UploadError({ kind: 'domain', code: 'UrlNotInDomainList', message: messages.domainMessage(api, url), detail: errMsg });
  }
  return new UploadError({ kind: 'network', code: 'NetworkError', message: messages.networkMessage(api, errMsg), detail: errMsg });
}

/**
 * @param {Record<string, unknown> | undefined} header
 * @param {string} name lower-case header name
 */
function headerValue(header, name) {
  const found = Object.keys(header || {}).find((key) => key.toLowerCase() === name);
  return found ? String(/** @type {Record<string, unknown>} */ (header)[found]) : '';
}

/**
 * An OSS answer other than success: its XML <Error> when there is one, else the bare status.
 * @param {{statusCode: number, data: any}} res
 */
function ossError(res) {
  const parsed = parseOssError(res.data);
  if (!parsed) {
    return new UploadError({ kind: 'oss', code: 'HttpStatus' + res.statusCode, message: messages.ossStatusMessage(res.statusCode), statusCode: res.statusCode });
  }
  return new UploadError({
    kind: 'oss',
    code: parsed.code,
    message: messages.ossMessage(parsed),
    detail: parsed.message,
    requestId: parsed.requestId,
    statusCode: res.statusCode,
  });
}

/**
 * The signer's JSON error `{"error": {"code", "message"}}` (or anything else it answered).
 * @param {{statusCode: number, data: any, header?: Record<string, unknown>}} res
 */
function signerError(res) {
  const error = res.data && typeof res.data === 'object' ? res.data.error : null;
  if (!error || typeof error.code !== 'string') {
    return new UploadError({
      kind: 'signer',
      code: 'BadSignerResponse',
      message: res.statusCode >= 400 ? messages.signerMessage('', res.statusCode) : messages.MESSAGES.BAD_SIGNER_RESPONSE,
      statusCode: res.statusCode,
    });
  }
  const retryAfter = headerValue(res.header, 'retry-after');
  return new UploadError({
    kind: 'signer',
    code: error.code,
    message: messages.signerMessage(error.code, res.statusCode, retryAfter),
    detail: typeof error.message === 'string' ? error.message : '',
    statusCode: res.statusCode,
    retryAfter: /^\d{1,6}$/.test(retryAfter) ? Number(retryAfter) : -1,
  });
}

module.exports = { UploadError, abortedError, failureError, ossError, signerError, headerValue };

// Direct upload to OSS: ask the signer for a form, post the file with wx.uploadFile, report.
// Everything the page needs comes back as Promises; `wx` is passed in so Node tests can run it.

const messages = require('./messages');
const { UploadError, abortedError, failureError, ossError, signerError } = require('./errors');

const DEFAULT_CONCURRENCY = 3;
// These mean "the form went stale"; one fresh signature fixes them.
const STALE_FORM_CODES = ['RequestTimeTooSkewed', 'SecurityTokenExpired'];

/**
 * @typedef {{path: string, name: string, size: number}} PickedFile
 * @typedef {{host: string, key: string, expire: string, maxSize: number, formData: Record<string, string>}} Signature
 * @typedef {{progress: number, totalBytesSent: number, totalBytesExpectedToSend: number}} Progress
 * @typedef {{key: string, host: string, statusCode: number, retried: boolean}} UploadResult
 * @typedef {import('./errors').ErrorKind} ErrorKind
 * @typedef {import('./errors').ErrorInfo} ErrorInfo
 * @typedef {{aborted: boolean, task: {abort: () => void} | null}} Control
 * @typedef {(options: {refresh: boolean}) => Promise<string | null | undefined>} TokenGetter
 * @typedef {Pick<WechatMiniprogram.Wx, 'request' | 'uploadFile'>} WxNetwork
 */

/**
 * @param {unknown} data
 * @returns {data is Signature}
 */
function isSignature(data) {
  const sig = /** @type {any} */ (data);
  return !!sig && typeof sig === 'object' && typeof sig.host === 'string' && /^https?:\/\//.test(sig.host) &&
    typeof sig.key === 'string' && !!sig.formData && typeof sig.formData === 'object';
}

/** @param {UploadError} error */
function formWentStale(error) {
  return error.kind === 'oss' &&
    (STALE_FORM_CODES.indexOf(error.code) !== -1 || messages.isPolicyExpired({ code: error.code, message: error.detail }));
}

/**
 * @param {{wx: WxNetwork, baseUrl: string, getToken?: TokenGetter | null, concurrency?: number}} options
 */
function createUploader(options) {
  const wx = options.wx;
  const baseUrl = String(options.baseUrl || '').replace(/\/+$/, '');
  const getToken = options.getToken || null;
  const limit = Math.max(1, options.concurrency || DEFAULT_CONCURRENCY);
  /** @type {Array<{control: Control, start: () => void, reject: (error: UploadError) => void}>} */
  const waiting = [];
  let active = 0;
  let nextId = 1;

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
   * @param {string} url
   * @param {Record<string, string>} header
   * @param {Control} control
   * @returns {Promise<{statusCode: number, data: any, header: Record<string, unknown>}>}
   */
  function getJson(url, header, control) {
    return new Promise((resolve, reject) => {
      if (control.aborted) return reject(abortedError());
      control.task = wx.request({
        url,
        method: 'GET',
        header,
        dataType: 'json',
        success: (res) => resolve(res),
        fail: (err) => reject(failureError('request', url, err, control.aborted)),
      });
    });
  }

  /**
   * GET /generate_signature; on 401 log in again once and retry.
   * @param {PickedFile} file
   * @param {Control} control
   * @returns {Promise<Signature>}
   */
  async function requestSignature(file, control) {
    const url = baseUrl + '/generate_signature?filename=' + encodeURIComponent(file.name) + '&size=' + encodeURIComponent(String(file.size));
    let res = await getJson(url, await authHeader(false), control);
    if (res.statusCode === 401 && getToken) {
      res = await getJson(url, await authHeader(true), control);
    }
    if (control.aborted) throw abortedError();
    if (res.statusCode !== 200) throw signerError(res);
    if (!isSignature(res.data)) throw signerError(res);
    const sig = res.data;
    if (typeof sig.maxSize === 'number' && file.size > sig.maxSize) {
      throw new UploadError({ kind: 'signer', code: 'FileTooLarge', message: messages.signerMessage('FileTooLarge', 413) });
    }
    return sig;
  }

  /**
   * One multipart POST to OSS with the form exactly as signed.
   * @param {PickedFile} file
   * @param {Signature} sig
   * @param {Control} control
   * @param {((progress: Progress) => void) | undefined} onProgress
   * @returns {Promise<number>} the HTTP status
   */
  function postToOss(file, sig, control, onProgress) {
    return new Promise((resolve, reject) => {
      if (control.aborted) return reject(abortedError());
      const task = wx.uploadFile({
        url: sig.host,
        filePath: file.path,
        name: 'file',
        formData: sig.formData,
        // `success` fires for every HTTP status, 403 included: the status decides.
        success: (res) => {
          if (res.statusCode === 200 || res.statusCode === 204) resolve(res.statusCode);
          else reject(ossError(res));
        },
        fail: (err) => reject(failureError('uploadFile', sig.host, err, control.aborted)),
      });
      control.task = task;
      if (onProgress && task && typeof task.onProgressUpdate === 'function') {
        task.onProgressUpdate((p) => {
          if (!control.aborted) onProgress({ progress: p.progress, totalBytesSent: p.totalBytesSent, totalBytesExpectedToSend: p.totalBytesExpectedToSend });
        });
      }
    });
  }

  /**
   * Sign, upload, and once re-sign and re-upload when OSS calls the form expired or skewed.
   * @param {PickedFile} file
   * @param {{onProgress?: (progress: Progress) => void, control?: Control}} [options]
   * @returns {Promise<UploadResult>}
   */
  async function uploadFileToOSS(file, options) {
    const opts = options || {};
    const control = opts.control || { aborted: false, task: null };
    let sig = await requestSignature(file, control);
    let retried = false;
    let statusCode;
    try {
      statusCode = await postToOss(file, sig, control, opts.onProgress);
    } catch (err) {
      if (!(err instanceof UploadError) || !formWentStale(err)) throw err;
      retried = true;
      sig = await requestSignature(file, control);
      if (opts.onProgress) opts.onProgress({ progress: 0, totalBytesSent: 0, totalBytesExpectedToSend: file.size });
      statusCode = await postToOss(file, sig, control, opts.onProgress);
    }
    return { key: sig.key, host: sig.host, statusCode, retried };
  }

  function pump() {
    while (active < limit && waiting.length > 0) {
      const next = /** @type {typeof waiting[number]} */ (waiting.shift());
      active += 1;
      next.start();
    }
  }

  /**
   * Queue a file: at most `concurrency` uploads run at once, the rest wait their turn.
   * @param {PickedFile} file
   * @param {{onStart?: () => void, onProgress?: (progress: Progress) => void}} [callbacks]
   */
  function enqueue(file, callbacks) {
    const cb = callbacks || {};
    /** @type {Control} */
    const control = { aborted: false, task: null };
    /** @type {typeof waiting[number] | null} */
    let entry = null;
    /** @type {Promise<UploadResult>} */
    const promise = new Promise((resolve, reject) => {
      entry = {
        control,
        reject,
        start() {
          const done = () => {
            active -= 1;
            pump();
          };
          if (cb.onStart) cb.onStart();
          uploadFileToOSS(file, { control, onProgress: cb.onProgress }).then(
            (result) => { done(); resolve(result); },
            (error) => { done(); reject(error); }
          );
        },
      };
      waiting.push(entry);
    });
    pump();
    return {
      id: nextId++,
      promise,
      abort() {
        if (control.aborted) return;
        control.aborted = true;
        const index = entry ? waiting.indexOf(entry) : -1;
        if (index !== -1) {
          waiting.splice(index, 1);
          /** @type {NonNullable<typeof entry>} */ (entry).reject(abortedError());
        } else if (control.task) {
          control.task.abort();
        }
      },
    };
  }

  return {
    uploadFileToOSS,
    enqueue,
    /** How many uploads run and wait right now. */
    stats: () => ({ active, queued: waiting.length }),
  };
}

module.exports = { createUploader, UploadError };

// Direct upload to OSS: ask the signer for a form, post the file with wx.uploadFile, make sure the
// server recorded it, report. Everything the page needs comes back as Promises; `wx` is passed in
// so Node tests can run it.

const messages = require('./messages');
const { UploadError, abortedError, failureError, ossError, signerError } = require('./errors');
const { createApiClient, newControl } = require('./api');
const { createFileApi, isRecord } = require('./files');

const DEFAULT_CONCURRENCY = 3;
// These mean "the form went stale"; one fresh signature fixes them.
const STALE_FORM_CODES = ['RequestTimeTooSkewed', 'SecurityTokenExpired'];

/**
 * @typedef {{path: string, name: string, size: number}} PickedFile
 * @typedef {{host: string, key: string, expire: string, maxSize: number, formData: Record<string, string>}} Signature
 * @typedef {{progress: number, totalBytesSent: number, totalBytesExpectedToSend: number}} Progress
 * @typedef {import('./files').FileRecord} FileRecord
 * @typedef {{key: string, host: string, statusCode: number, retried: boolean, record: FileRecord | null, confirmed: boolean}} UploadResult
 *   host: where the form went ('' for a large file in parts and for a confirm-only 重试);
 *   retried: the form was signed and posted a second time (parts are retried one by one instead);
 *   record: what the server recorded (null only for a signer that keeps no records; for a large
 *   file, the server's answer to complete);
 *   confirmed: the record came from POST /api/files/confirm rather than from OSS's callback.
 * @typedef {{statusCode: number, data: string}} OssAnswer
 * @typedef {{onStart?: () => void, onProgress?: (progress: Progress) => void}} JobCallbacks
 * @typedef {{id: number, promise: Promise<UploadResult>, abort: () => void}} UploadJob
 * @typedef {import('./errors').ErrorKind} ErrorKind
 * @typedef {import('./errors').ErrorInfo} ErrorInfo
 * @typedef {import('./api').Control} Control
 * @typedef {import('./api').TokenGetter} TokenGetter
 * @typedef {Pick<WechatMiniprogram.Wx, 'request' | 'uploadFile'>} WxNetwork
 */

/**
 * The record in OSS's answer when the upload callback ran (200 with the callback's JSON).
 * @param {OssAnswer} answer
 * @param {string} key
 * @returns {FileRecord | null}
 */
function recordIn(answer, key) {
  if (answer.statusCode !== 200 || typeof answer.data !== 'string' || !answer.data.trim()) return null;
  try {
    const parsed = JSON.parse(answer.data);
    return isRecord(parsed) && parsed.key === key ? parsed : null;
  } catch {
    return null;
  }
}

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
  const api = createApiClient(options);
  const files = createFileApi(options);
  const limit = Math.max(1, options.concurrency || DEFAULT_CONCURRENCY);
  /** @type {Array<{control: Control, start: () => void, reject: (error: UploadError) => void}>} */
  const waiting = [];
  let active = 0;
  let nextId = 1;

  /**
   * GET /generate_signature (a 401 logs in again once).
   * @param {PickedFile} file
   * @param {Control} control
   * @returns {Promise<Signature>}
   */
  async function requestSignature(file, control) {
    const path = '/generate_signature?filename=' + encodeURIComponent(file.name) + '&size=' + encodeURIComponent(String(file.size));
    const res = await api.call('GET', path, { control });
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
   * @returns {Promise<OssAnswer>} a stored object's answer (200, 203 or 204)
   */
  function postToOss(file, sig, control, onProgress) {
    return new Promise((resolve, reject) => {
      if (control.aborted) return reject(abortedError());
      const task = wx.uploadFile({
        url: sig.host,
        filePath: file.path,
        name: 'file',
        formData: sig.formData,
        // `success` fires for every HTTP status, 403 included: the status decides. 203 is OSS's
        // CallbackFailed: the object is stored, only the callback to the server failed.
        success: (res) => {
          if (res.statusCode === 200 || res.statusCode === 203 || res.statusCode === 204) resolve({ statusCode: res.statusCode, data: res.data });
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
   * POST /api/files/confirm for a stored object. A signer without that route (404 NotFound) keeps
   * no records: the upload stands without one. Any other failure names the key, for a 重试 that
   * confirms again instead of uploading again.
   * @param {string} key
   * @param {Control} control
   * @returns {Promise<FileRecord | null>}
   */
  async function confirmStored(key, control) {
    try {
      return await files.confirm(key, { control });
    } catch (err) {
      if (!(err instanceof UploadError) || err.kind === 'aborted') throw err;
      if (err.kind === 'signer' && err.statusCode === 404 && err.code === 'NotFound') return null;
      throw new UploadError({
        kind: err.kind,
        code: err.code,
        message: messages.confirmFailedMessage(err.message),
        detail: err.detail,
        statusCode: err.statusCode,
        confirmKey: key,
      });
    }
  }

  /**
   * Sign, upload, and once re-sign and re-upload when OSS calls the form expired or skewed; then
   * make sure the server holds the record.
   * @param {PickedFile} file
   * @param {{onProgress?: (progress: Progress) => void, control?: Control}} [options]
   * @returns {Promise<UploadResult>}
   */
  async function uploadFileToOSS(file, options) {
    const opts = options || {};
    const control = opts.control || newControl();
    let sig = await requestSignature(file, control);
    let retried = false;
    /** @type {OssAnswer} */
    let answer;
    try {
      answer = await postToOss(file, sig, control, opts.onProgress);
    } catch (err) {
      if (!(err instanceof UploadError) || !formWentStale(err)) throw err;
      retried = true;
      sig = await requestSignature(file, control);
      if (opts.onProgress) opts.onProgress({ progress: 0, totalBytesSent: 0, totalBytesExpectedToSend: file.size });
      answer = await postToOss(file, sig, control, opts.onProgress);
    }
    const recorded = recordIn(answer, sig.key);
    const record = recorded || (await confirmStored(sig.key, control));
    return { key: sig.key, host: sig.host, statusCode: answer.statusCode, retried, record, confirmed: !recorded };
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
   * @param {JobCallbacks} [callbacks]
   * @returns {UploadJob}
   */
  function enqueue(file, callbacks) {
    const cb = callbacks || {};
    const control = newControl();
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

  /**
   * 重试 after a failed confirm: ask the server to record `key` again (nothing is uploaded).
   * @param {string} key
   * @returns {UploadJob}
   */
  function confirm(key) {
    const control = newControl();
    return {
      id: nextId++,
      promise: confirmStored(key, control).then((record) => ({ key, host: '', statusCode: 200, retried: false, record, confirmed: true })),
      abort() {
        if (control.aborted) return;
        control.aborted = true;
        if (control.task) control.task.abort();
      },
    };
  }

  return {
    uploadFileToOSS,
    enqueue,
    confirm,
    /** How many uploads run and wait right now. */
    stats: () => ({ active, queued: waiting.length }),
  };
}

module.exports = { createUploader };

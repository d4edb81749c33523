// Large files in parts, straight to OSS: the server starts the upload and presigns one PUT URL per
// part; the phone reads one slice per part in flight and PUTs it with wx.request; the server
// completes. Pausing, a dropped network or an app restart lose at most the parts in flight: what OSS
// already holds is asked from the server (GET /api/multipart/<id>) and only the rest is sent.
//
// WeChat's limits behind the numbers here (see also part-reader.js):
// - at most 10 wx.request/uploadFile/downloadFile calls run at once (excess calls queue): one large
//   file at a time with 3 parts in flight, plus a presign call, leaves room for the one-POST uploads
//   (3) and their signatures;
// - a request times out after 60 s by default (app.json networkTimeout, or `timeout` per call from
//   base library 2.10.0); the strict reading is that 60 s is also the most a call may ask for. The
//   server's part size (5 MiB by default) with 3 parts sharing the uplink needs about 2 Mbit/s to
//   fit; a part that times out narrows this upload to fewer parts at once, down to 1 (5 MiB in 60 s
//   needs about 0.7 Mbit/s);
// - wx.request has no upload progress: progress moves by whole finished parts.

const messages = require('./messages');
const { UploadError, abortedError, failureError, headerValue, ossError } = require('./errors');
const { newControl } = require('./api');
const { createMultipartApi } = require('./multipart-api');
const { createResumeStore } = require('./resume-store');
const { canReadSlices, oldBaseLibraryError, readSlice, fingerprint } = require('./part-reader');

const DEFAULT_CONCURRENCY = 3;
const MAX_CONCURRENCY = 5;
// A failing part (or signer call) is tried 1 + retries times, the waits doubling from retryDelayMs.
const DEFAULT_RETRIES = 3;
const DEFAULT_RETRY_DELAY_MS = 1000;
const MAX_RETRY_DELAY_MS = 30000;
const PART_TIMEOUT_MS = 60000;
// The server presigns at most 100 parts per call.
const URLS_PER_BATCH = 100;
// A URL this close to its expiry is renewed before use rather than sent to fail.
const URL_MARGIN_MS = 5000;
// A part whose URL OSS calls expired gets a fresh URL this often before it counts as failing.
const MAX_URL_REFRESHES = 2;
// 403s that mean "this URL went stale", not "this URL is wrong": a fresh URL fixes them.
const STALE_URL_CODES = ['SecurityTokenExpired', 'RequestTimeTooSkewed'];
// Answers that end an upload for good (unknown or finished on the server, aborted in OSS, its key
// taken meanwhile): its saved state is dropped.
const GONE_CODES = ['UploadNotFound', 'NoSuchUpload', 'ObjectExists'];
// 409 CompleteInProgress: another request is completing this upload; wait its Retry-After (at most
// this long, 1 s without one) and ask again, this many times.
const MAX_COMPLETE_WAITS = 4;
const MAX_COMPLETE_WAIT_MS = 10000;

/**
 * @typedef {import('./uploader').PickedFile} PickedFile
 * @typedef {import('./uploader').Progress} Progress
 * @typedef {import('./uploader').UploadResult} UploadResult
 * @typedef {import('./api').TokenGetter} TokenGetter
 * @typedef {import('./resume-store').SavedUpload} SavedUpload
 * @typedef {import('./resume-store').WxStorage} WxStorage
 * @typedef {import('./multipart-api').Upload} Upload
 * @typedef {import('./multipart-api').HeldPart} HeldPart
 * @typedef {Pick<WechatMiniprogram.Wx, 'request' | 'getFileSystemManager'> & Partial<WxStorage> &
 *   {getAppBaseInfo?: () => {SDKVersion: string}, getSystemInfoSync?: () => {SDKVersion: string}}} WxMultipart
 * @typedef {{abort: () => void}} Task
 * @typedef {import('./api').Control & {paused: boolean, parts: Set<Task>, wakers: Set<() => void>}} Control
 *   task: the signer call in flight (one at a time per upload); parts: the part PUTs in flight.
 * @typedef {{onStart?: () => void, onProgress?: (progress: Progress) => void, onPause?: () => void,
 *   resume?: SavedUpload | null}} EnqueueOptions
 *   onStart: each time the upload starts or continues; onPause: once it has stopped for a pause;
 *   resume: an entry from findResumable(file), to continue that upload instead of starting anew.
 * @typedef {'queued' | 'running' | 'paused' | 'settled'} JobState
 * @typedef {{id: number, file: PickedFile, opts: EnqueueOptions, control: Control, state: JobState,
 *   upload: Upload | null, resumeFrom: SavedUpload | null, resumeAsked: boolean, bytesDone: number,
 *   resolve: (result: UploadResult) => void, reject: (error: UploadError) => void}} Job
 * @typedef {{url: string, headers: Record<string, string>, size: number | null, expiresAt: number}} Target
 */

/** Thrown inside a run that stopped for a pause; never leaves this module. */
class Paused extends Error {}

/** @returns {Control} */
function newJobControl() {
  return Object.assign(newControl(), { paused: false, parts: new Set(), wakers: new Set() });
}

/**
 * An upload's result from the record complete answered.
 * @param {import('./files').FileRecord} record
 * @returns {UploadResult}
 */
function resultOf(record) {
  return { key: record.key, host: '', statusCode: 200, retried: false, record, confirmed: false };
}

/** @param {Control} control */
function checkpoint(control) {
  if (control.aborted) throw abortedError();
  if (control.paused) throw new Paused('paused');
}

/**
 * @param {Control} control
 * @param {boolean} everything also the signer call (abort), not only the part PUTs (pause)
 */
function interrupt(control, everything) {
  const tasks = Array.from(control.parts).concat(everything && control.task ? [control.task] : []);
  tasks.forEach((task) => task.abort());
  Array.from(control.wakers).forEach((wake) => wake());
}

/**
 * Wait, unless a pause or an abort comes first.
 * @param {number} ms
 * @param {Control} control
 * @returns {Promise<void>}
 */
function sleep(ms, control) {
  return new Promise((resolve) => {
    const wake = () => {
      clearTimeout(timer);
      control.wakers.delete(wake);
      resolve();
    };
    const timer = setTimeout(wake, ms);
    control.wakers.add(wake);
  });
}

/**
 * @param {Upload} upload
 * @param {number} size
 * @param {number} partNumber
 */
function partLength(upload, size, partNumber) {
  return partNumber < upload.partCount ? upload.partSize : size - (upload.partCount - 1) * upload.partSize;
}

/**
 * Part numbers OSS does not hold at their exact length (a wrong-sized part is sent again).
 * @param {Upload} upload
 * @param {number} size
 * @param {HeldPart[]} held
 */
function missingParts(upload, size, held) {
  /** @type {Record<number, number>} */
  const sizes = {};
  held.forEach((part) => {
    sizes[part.partNumber] = part.size;
  });
  const todo = [];
  for (let n = 1; n <= upload.partCount; n += 1) {
    if (sizes[n] !== partLength(upload, size, n)) todo.push(n);
  }
  return todo;
}

/**
 * A 403 a fresh URL would fix: expired by OSS's word, or refused after the time it was valid for.
 * @param {UploadError} error
 * @param {Target} target
 * @param {number} at
 */
function urlWentStale(error, target, at) {
  if (error.statusCode !== 403) return false;
  if (error.code === 'AccessDenied' && /expired/i.test(error.detail)) return true;
  if (STALE_URL_CODES.indexOf(error.code) !== -1) return true;
  return error.code === 'SignatureDoesNotMatch' && at >= target.expiresAt;
}

/**
 * An OSS answer to a part PUT as an UploadError with the part's own wording.
 * @param {{statusCode: number, data: any}} res
 */
function partError(res) {
  const error = ossError(res);
  if (error.code === 'SignatureDoesNotMatch') error.message = messages.MESSAGES.PART_SIGNATURE_MISMATCH;
  return error;
}

/**
 * @param {{wx: WxMultipart, baseUrl: string, getToken?: TokenGetter | null, concurrency?: number,
 *   retries?: number, retryDelayMs?: number, partTimeoutMs?: number, storage?: WxStorage, now?: () => number}} options
 *   concurrency: parts in flight per upload; storage: where resumable uploads are remembered (wx).
 */
function createMultipartUploader(options) {
  const wx = options.wx;
  const now = options.now || Date.now;
  const api = createMultipartApi({ wx, baseUrl: options.baseUrl, getToken: options.getToken });
  const store = createResumeStore({ storage: options.storage || /** @type {WxStorage} */ (wx), now });
  const concurrency = Math.min(MAX_CONCURRENCY, Math.max(1, options.concurrency || DEFAULT_CONCURRENCY));
  const retries = typeof options.retries === 'number' ? Math.max(0, options.retries) : DEFAULT_RETRIES;
  const retryDelayMs = typeof options.retryDelayMs === 'number' ? options.retryDelayMs : DEFAULT_RETRY_DELAY_MS;
  const partTimeoutMs = options.partTimeoutMs || PART_TIMEOUT_MS;
  /** @type {Job[]} waiting their turn: one large file runs at a time */
  const queue = [];
  /** @type {Set<Job>} every job not yet settled */
  const live = new Set();
  /** @type {Job | null} */
  let running = null;
  let nextId = 1;

  const reader = () => wx.getFileSystemManager();

  /** uploadIds that a live job owns: never offered for resume, never discarded. */
  function ownedIds() {
    const ids = new Set();
    live.forEach((job) => {
      if (job.upload) ids.add(job.upload.uploadId);
      if (job.resumeFrom) ids.add(job.resumeFrom.uploadId);
    });
    return ids;
  }

  /**
   * Abort an upload in OSS and forget it; best effort (the lifecycle rule is the safety net).
   * @param {string} uploadId
   */
  function discard(uploadId) {
    store.remove(uploadId);
    api.remove(uploadId, newControl()).catch(() => {});
  }

  /**
   * Run `fn`, again after a wait when it fails in a way worth retrying, at most 1 + retries times.
   * @template T
   * @param {Control} control
   * @param {() => Promise<T>} fn
   * @returns {Promise<T>}
   */
  async function withRetries(control, fn) {
    for (let attempt = 1; ; attempt += 1) {
      checkpoint(control);
      try {
        return await fn();
      } catch (err) {
        checkpoint(control); // a pause or abort explains the error it caused
        // CompleteInProgress is waited out as the server says (completeUpload), not on this backoff.
        if (!(err instanceof UploadError) || !err.retryable || err.code === 'CompleteInProgress' || attempt > retries) throw err;
        await sleep(Math.min(MAX_RETRY_DELAY_MS, retryDelayMs * Math.pow(2, attempt - 1)), control);
      }
    }
  }

  /**
   * @param {Target} target
   * @param {ArrayBuffer} data
   * @param {Control} control
   * @returns {Promise<{statusCode: number, data: any, header: Record<string, unknown>}>}
   */
  function putPart(target, data, control) {
    return new Promise((resolve, reject) => {
      const task = wx.request({
        url: target.url,
        method: 'PUT',
        data,
        // Exactly the signed headers: Content-Type is signed in V4, and wx.request would otherwise
        // send application/json. Never the bearer token: it is for the signer, not for OSS.
        header: target.headers,
        // OSS answers nothing or an XML <Error>: keep it text, never JSON.parse it.
        dataType: 'text',
        responseType: 'text',
        timeout: partTimeoutMs,
        success: (res) => {
          control.parts.delete(task);
          resolve({ statusCode: res.statusCode, data: res.data, header: res.header || {} });
        },
        fail: (err) => {
          control.parts.delete(task);
          reject(failureError('part', target.url, err, control.aborted || control.paused));
        },
      });
      control.parts.add(task);
    });
  }

  /** @param {Job} job */
  function report(job) {
    if (!job.opts.onProgress) return;
    const total = job.file.size || 1;
    job.opts.onProgress({ progress: Math.floor((job.bytesDone * 100) / total), totalBytesSent: job.bytesDone, totalBytesExpectedToSend: total });
  }

  /**
   * Send the listed parts, `concurrency` at a time, each read just before it goes.
   * @param {Job} job
   * @param {number[]} todo
   */
  async function sendParts(job, todo) {
    const control = job.control;
    const upload = /** @type {Upload} */ (job.upload);
    const pending = todo.slice();
    const needed = new Set(todo);
    /** @type {Map<number, Target>} */
    const urls = new Map();
    /** @type {Promise<void> | null} */
    let batch = null;
    let limit = concurrency;
    /** @type {unknown} */
    let failure = null;

    /** @param {Target | undefined} target */
    const fresh = (target) => !!target && target.expiresAt - URL_MARGIN_MS > now();

    /**
     * One presign call for this part and the next ones still without a fresh URL.
     * @param {number} first
     */
    function fetchBatch(first) {
      const others = Array.from(needed).filter((n) => n !== first && !fresh(urls.get(n))).sort((a, b) => a - b);
      const numbers = [first].concat(others).slice(0, URLS_PER_BATCH);
      return api.presign(upload.uploadId, numbers, control, now).then((answer) => {
        answer.parts.forEach((part) => urls.set(part.partNumber, { url: part.url, headers: part.headers, size: part.size, expiresAt: answer.expiresAt }));
      });
    }

    /**
     * @param {number} n
     * @returns {Promise<Target>}
     */
    async function urlFor(n) {
      for (let round = 0; ; round += 1) {
        const have = urls.get(n);
        // Just fetched counts as fresh, or a server that signs for less than the margin would loop.
        if (have && (round > 0 || fresh(have))) return have;
        if (round >= 2) {
          throw new UploadError({ kind: 'signer', code: 'BadSignerResponse', message: messages.MESSAGES.BAD_SIGNER_RESPONSE, statusCode: 200 });
        }
        if (!batch) {
          batch = fetchBatch(n).finally(() => {
            batch = null;
          });
        }
        await batch;
      }
    }

    /** @param {number} n */
    async function sendPart(n) {
      checkpoint(control);
      const length = partLength(upload, job.file.size, n);
      // The one buffer this part needs, kept across its retries and dropped once OSS has it.
      const data = await readSlice(reader(), job.file.path, (n - 1) * upload.partSize, length);
      let refreshes = 0;
      await withRetries(control, async () => {
        for (;;) {
          const target = await urlFor(n);
          // The URL accepts exactly `size` bytes (signed): never send a different count.
          if (target.size !== null && target.size !== data.byteLength) {
            throw new UploadError({ kind: 'file', code: 'PartSizeMismatch', message: messages.MESSAGES.PART_SIZE_MISMATCH });
          }
          let res;
          try {
            res = await putPart(target, data, control);
          } catch (err) {
            if (err instanceof UploadError && err.kind === 'network' && /timeout|超时/i.test(err.detail)) limit = Math.max(1, limit - 1);
            throw err;
          }
          // A 200 without an ETag did not come from OSS (a Wi-Fi login page, a proxy).
          if (res.statusCode === 200 && headerValue(res.header, 'etag')) return;
          if (res.statusCode === 200) {
            throw new UploadError({ kind: 'network', code: 'BadPartResponse', message: messages.MESSAGES.BAD_PART_RESPONSE });
          }
          const error = partError(res);
          if (!urlWentStale(error, target, now()) || refreshes >= MAX_URL_REFRESHES) throw error;
          refreshes += 1;
          urls.delete(n);
        }
      });
      needed.delete(n);
      job.bytesDone += length;
      report(job);
    }

    /** @param {number} slot */
    async function worker(slot) {
      while (failure === null && slot < limit) {
        const n = pending.shift();
        if (n === undefined) return;
        try {
          await sendPart(n);
        } catch (err) {
          // The other parts in flight finish (OSS keeps them for a resume); no new ones start.
          if (failure === null) failure = err;
          return;
        }
      }
    }

    const workers = [];
    for (let slot = 0; slot < concurrency; slot += 1) workers.push(worker(slot));
    await Promise.all(workers);
    if (failure !== null) throw failure;
  }

  /**
   * Point the job at an upload in OSS: the one it continues, if the server still has it with the
   * same cut, else a new one (saved for a later resume).
   * @param {Job} job
   * @returns {Promise<HeldPart[]>} the parts OSS already holds
   */
  async function attachUpload(job) {
    const control = job.control;
    if (!job.upload && job.resumeFrom && job.resumeFrom.size === job.file.size) {
      const saved = job.resumeFrom;
      job.upload = { uploadId: saved.uploadId, key: saved.key, partSize: saved.partSize, partCount: saved.partCount };
    }
    if (job.upload) {
      const upload = job.upload;
      let held = null;
      try {
        held = await withRetries(control, () => api.status(upload.uploadId, control));
      } catch (err) {
        // Unknown or finished on the server: start over.
        if (!(err instanceof UploadError) || err.code !== 'UploadNotFound') throw err;
      }
      if (held && held.partSize === upload.partSize && held.partCount === upload.partCount) return held.parts;
      if (held) discard(upload.uploadId);
      else store.remove(upload.uploadId);
      job.upload = null;
    }
    const print = await fingerprint(reader(), job.file);
    // Older uploads of this same content are replaced by the new one.
    const owned = ownedIds();
    store.list().filter((e) => e.fingerprint === print && !owned.has(e.uploadId)).forEach((e) => discard(e.uploadId));
    checkpoint(control);
    const upload = await withRetries(control, () => api.create(job.file, control));
    job.upload = upload;
    store.save({
      uploadId: upload.uploadId, key: upload.key, name: job.file.name, size: job.file.size,
      partSize: upload.partSize, partCount: upload.partCount, fingerprint: print, createdAt: now(),
    });
    return [];
  }

  /**
   * @param {Job} job
   * @returns {Promise<UploadResult>} like a one-POST upload's: the record is the server's answer to
   *   complete (which records the object itself, so nothing is confirmed afterwards)
   */
  async function runJob(job) {
    const control = job.control;
    let held = await attachUpload(job);
    const upload = /** @type {Upload} */ (job.upload);
    for (let pass = 1; ; pass += 1) {
      const todo = missingParts(upload, job.file.size, held);
      job.bytesDone = job.file.size - todo.reduce((sum, n) => sum + partLength(upload, job.file.size, n), 0);
      report(job);
      await sendParts(job, todo);
      checkpoint(control);
      try {
        const record = await completeUpload(upload.uploadId, control);
        store.remove(upload.uploadId);
        return resultOf(record);
      } catch (err) {
        // OSS lacks a part or holds one at the wrong length (lost or cut on the way): once more.
        if (pass > 1 || !(err instanceof UploadError) || (err.code !== 'IncompleteUpload' && err.code !== 'SizeMismatch')) throw err;
        held = (await withRetries(control, () => api.status(upload.uploadId, control))).parts;
      }
    }
  }

  /**
   * POST .../complete; while another request is completing the same upload (409
   * CompleteInProgress), wait as the server asks and call again, a few times.
   * @param {string} uploadId
   * @param {Control} control
   */
  async function completeUpload(uploadId, control) {
    for (let waits = 0; ; waits += 1) {
      try {
        return await withRetries(control, () => api.complete(uploadId, control));
      } catch (err) {
        if (!(err instanceof UploadError) || err.code !== 'CompleteInProgress' || waits >= MAX_COMPLETE_WAITS) throw err;
        await sleep(err.retryAfter >= 0 ? Math.min(MAX_COMPLETE_WAIT_MS, err.retryAfter * 1000) : 1000, control);
        checkpoint(control);
      }
    }
  }

  /**
   * 取消: abort the upload on the server. A cancel that lost against a completion (409
   * UploadCompleting) is no cancel: the file is saved, and complete answers its record.
   * @param {string} uploadId
   * @returns {Promise<import('./files').FileRecord | null>} the record when the file was saved
   */
  async function cancelOnServer(uploadId) {
    try {
      await api.remove(uploadId, newControl());
      return null;
    } catch (err) {
      if (!(err instanceof UploadError) || err.code !== 'UploadCompleting') return null; // best effort: the lifecycle rule cleans up
      return completeUpload(uploadId, newJobControl());
    }
  }

  /** @param {Job} job */
  function settleAborted(job) {
    job.state = 'settled';
    live.delete(job);
    const saved = job.upload || job.resumeFrom;
    if (!saved) return job.reject(abortedError());
    store.remove(saved.uploadId);
    cancelOnServer(saved.uploadId).then(
      (record) => (record ? job.resolve(resultOf(record)) : job.reject(abortedError())),
      (err) => job.reject(err instanceof UploadError ? err : abortedError())
    );
  }

  function pump() {
    if (running || queue.length === 0) return;
    const job = /** @type {Job} */ (queue.shift());
    running = job;
    job.state = 'running';
    if (job.opts.onStart) job.opts.onStart();
    runJob(job).then(
      (result) => {
        running = null;
        job.state = 'settled';
        live.delete(job);
        job.resolve(result);
        pump();
      },
      (err) => {
        running = null;
        if (job.control.aborted) {
          settleAborted(job);
        } else if (err instanceof Paused) {
          job.state = 'paused';
          if (job.resumeAsked) {
            job.resumeAsked = false;
            job.control.paused = false;
            job.state = 'queued';
            queue.unshift(job);
          } else if (job.opts.onPause) {
            job.opts.onPause();
          }
        } else {
          job.state = 'settled';
          live.delete(job);
          // These uploads can never be completed: a later 继续上传 would only fail again.
          const gone = err instanceof UploadError && GONE_CODES.indexOf(err.code) !== -1;
          if (gone && job.upload) store.remove(job.upload.uploadId);
          job.reject(err instanceof UploadError ? err : new UploadError({ kind: 'network', code: 'UnexpectedError', message: messages.MESSAGES.UPLOAD_FAILED, detail: String(err) }));
        }
        pump();
      }
    );
  }

  /**
   * Queue a large file. The job is settled by completion (the record), 取消 or a failure; a pause
   * leaves it pending until resume() or abort().
   * @param {PickedFile} file
   * @param {EnqueueOptions} [options]
   */
  function enqueue(file, options) {
    const opts = options || {};
    /** @type {Job} */
    const job = {
      id: nextId++, file, opts, state: 'queued', upload: null, resumeFrom: opts.resume || null, resumeAsked: false, bytesDone: 0,
      control: newJobControl(),
      resolve: () => {},
      reject: () => {},
    };
    /** @type {Promise<UploadResult>} */
    const promise = new Promise((resolve, reject) => {
      job.resolve = resolve;
      job.reject = reject;
    });
    if (!canReadSlices(wx)) {
      job.state = 'settled';
      job.reject(oldBaseLibraryError());
    } else {
      live.add(job);
      queue.push(job);
      pump();
    }
    const control = job.control;
    return {
      id: job.id,
      promise,
      /** 取消: stop everything and abort the upload in OSS. */
      abort() {
        if (job.state === 'settled' || control.aborted) return;
        control.aborted = true;
        interrupt(control, true);
        if (job.state !== 'running') {
          const index = queue.indexOf(job);
          if (index !== -1) queue.splice(index, 1);
          settleAborted(job);
        }
      },
      /** 暂停: parts in flight stop now (each loses at most its own bytes); OSS keeps the rest. */
      pause() {
        if (job.state === 'settled' || control.aborted) return;
        job.resumeAsked = false;
        if (control.paused) return;
        control.paused = true;
        if (job.state === 'queued') {
          queue.splice(queue.indexOf(job), 1);
          job.state = 'paused';
          if (opts.onPause) opts.onPause();
          return;
        }
        interrupt(control, false);
      },
      /** 继续: next in line; it asks the server what OSS holds and sends the rest. */
      resume() {
        if (job.state === 'paused') {
          control.paused = false;
          job.state = 'queued';
          queue.unshift(job);
          pump();
        } else if (job.state === 'running' && control.paused) {
          job.resumeAsked = true; // still stopping: it starts again as soon as it has stopped
        }
      },
    };
  }

  /**
   * A saved upload of this same file (size and content sample; the name only breaks ties, as a
   * temporary path's name changes between picks), or null.
   * @param {PickedFile} file
   * @returns {Promise<SavedUpload | null>}
   */
  async function findResumable(file) {
    const owned = ownedIds();
    const candidates = store.list().filter((e) => e.size === file.size && !owned.has(e.uploadId));
    if (candidates.length === 0 || !canReadSlices(wx)) return null;
    let print;
    try {
      print = await fingerprint(reader(), file);
    } catch {
      return null;
    }
    const same = candidates.filter((e) => e.fingerprint === print);
    return same.find((e) => e.name === file.name) || same[0] || null;
  }

  /**
   * How many bytes of a saved upload OSS holds (parts at their exact length), or null when the
   * server cannot say.
   * @param {SavedUpload} saved
   * @returns {Promise<number | null>}
   */
  async function heldBytes(saved) {
    try {
      const held = await api.status(saved.uploadId, newControl());
      const upload = { uploadId: saved.uploadId, key: saved.key, partSize: held.partSize, partCount: held.partCount };
      const missing = missingParts(upload, saved.size, held.parts);
      return saved.size - missing.reduce((sum, n) => sum + partLength(upload, saved.size, n), 0);
    } catch {
      return null;
    }
  }

  return {
    enqueue,
    findResumable,
    heldBytes,
    /** How many large uploads run and wait (paused ones wait for resume()). */
    stats: () => ({ active: running ? 1 : 0, queued: queue.length, paused: Array.from(live).filter((job) => job.state === 'paused').length }),
  };
}

module.exports = { createMultipartUploader };

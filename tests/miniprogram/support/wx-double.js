// A `wx` that does real HTTP the way WeChat documents it, for running the mini-program's own code
// in Node: wx.request parses JSON by dataType, wx.uploadFile posts multipart with the formData
// fields first and the file part (under `name`) last, calls `success` for every HTTP status with
// `{statusCode, data: string}`, `fail` only when no answer came, and returns an UploadTask;
// wx.request also PUTs ArrayBuffers (a large file's parts) and can lose the network on cue;
// wx.downloadFile saves any answer to a temporary file and reports its statusCode; createWxFiles
// reads slices of real files as FileSystemManager.readFile does.

const fs = require('node:fs');
const os = require('node:os');
const http = require('node:http');
const path = require('node:path');
const crypto = require('node:crypto');

const CHUNK = 16 * 1024;
// Buffers handed out by a readFile double -> the stats that count them, until a PUT of them succeeds.
const readBuffers = new WeakMap();

function later(fn, ...args) {
  if (typeof fn === 'function') setImmediate(fn, ...args);
}

/**
 * What wx.request and wx.downloadFile share: settle once (then `onSettle(failed, value)` for the
 * caller's bookkeeping, then `complete`), `failNow(err)` failing the call and dropping its socket,
 * a task whose abort() fails the call with `<api>:fail abort`, and timeouts and socket errors
 * turned into `fail`.
 */
function networkCall(api, { fail, complete, onSettle }, taskMethods = {}) {
  const call = { settled: false, req: null };
  call.finish = (cb, value) => {
    if (call.settled) return;
    call.settled = true;
    if (onSettle) onSettle(cb === fail, value);
    later(cb, value);
    later(complete, value);
  };
  call.failNow = (err) => {
    call.finish(fail, err);
    if (call.req) call.req.destroy();
  };
  call.task = {
    abort() {
      if (call.settled) return;
      call.failNow({ errMsg: `${api}:fail abort` });
    },
    onHeadersReceived() {},
    offHeadersReceived() {},
    ...taskMethods,
  };
  call.watch = (req) => {
    call.req = req;
    req.on('timeout', () => {
      call.finish(fail, { errMsg: `${api}:fail timeout` });
      req.destroy();
    });
    req.on('error', (e) => call.finish(fail, { errMsg: `${api}:fail ${e.code || e.message}` }));
    return req;
  };
  return call;
}

function hostOf(url) {
  try {
    return new URL(url).host;
  } catch {
    return null;
  }
}

/**
 * @param {object} [options]
 * @param {string[]} [options.allowedHosts] like the 合法域名 lists: other hosts fail `url not in domain list`
 * @param {number} [options.chunkDelayMs] pause between upload body chunks (makes uploads observable)
 * @param {number} [options.timeoutMs] default network timeout (WeChat: 60 s)
 * @param {string} [options.downloadDir] where wx.downloadFile puts its temporary files
 * @param {number} [options.dropAfterPuts] the network goes away once this many PUTs got a 200: the
 *   requests in flight fail and so does every later one, until `restore()`
 */
function createWxNetwork(options = {}) {
  const allowed = options.allowedHosts || null;
  const chunkDelayMs = options.chunkDelayMs || 0;
  const defaultTimeout = options.timeoutMs || 60000;
  const stats = {
    uploadsInFlight: 0, maxUploadsInFlight: 0, uploads: 0, requests: 0, requestUrls: [], requestHeaders: [], requestMethods: [],
    downloads: 0, downloadUrls: [],
    // wx.request: every call's options (no body), the PUTs in flight, failures with their time.
    requestLog: [], requestsInFlight: 0, maxRequestsInFlight: 0, putsInFlight: 0, maxPutsInFlight: 0, putsOk: 0, failures: [],
  };
  let dropped = false;
  const inFlight = new Set(); // failNow functions of the requests in flight

  /** The network goes away: requests in flight fail, later ones fail at once. */
  function drop() {
    dropped = true;
    Array.from(inFlight).forEach((failNow) => failNow({ errMsg: 'request:fail net::ERR_INTERNET_DISCONNECTED' }));
  }

  /** Like the 合法域名 lists: the `fail` argument for a host not on them, else null. */
  function domainError(api, url) {
    if (!allowed || allowed.includes(hostOf(url))) return null;
    return { errMsg: `${api}:fail url not in domain list` };
  }

  function request(opts) {
    const { url, method = 'GET', data, header = {}, dataType = 'json', responseType = 'text', timeout = defaultTimeout, success, fail, complete } = opts;
    stats.requests += 1;
    stats.requestUrls.push(url);
    stats.requestHeaders.push({ ...header });
    stats.requestMethods.push(method);
    const isBuffer = data instanceof ArrayBuffer;
    const logEntry = {
      method, url, header: { ...header }, dataType, responseType, timeout, bodyBytes: isBuffer ? data.byteLength : null,
      startedAt: Date.now(), putsInFlightAtStart: method === 'PUT' ? stats.putsInFlight + 1 : null, statusCode: null,
    };
    stats.requestLog.push(logEntry);
    const call = networkCall('request', {
      fail,
      complete,
      onSettle(failed, value) {
        inFlight.delete(call.failNow);
        stats.requestsInFlight -= 1;
        if (method === 'PUT') stats.putsInFlight -= 1;
        if (failed) stats.failures.push({ at: Date.now(), method, errMsg: value.errMsg });
      },
    });
    stats.requestsInFlight += 1;
    stats.maxRequestsInFlight = Math.max(stats.maxRequestsInFlight, stats.requestsInFlight);
    if (method === 'PUT') {
      stats.putsInFlight += 1;
      stats.maxPutsInFlight = Math.max(stats.maxPutsInFlight, stats.putsInFlight);
    }
    inFlight.add(call.failNow);
    const refused = domainError('request', url) || (dropped ? { errMsg: 'request:fail net::ERR_INTERNET_DISCONNECTED' } : null);
    if (refused) {
      setImmediate(() => call.failNow(refused));
      return call.task;
    }
    let body = null;
    const headers = { ...header };
    if (isBuffer) {
      body = Buffer.from(data); // the bytes as they are, whatever Content-Type says
    } else if (data !== undefined && method !== 'GET') {
      body = typeof data === 'string' ? data : JSON.stringify(data);
    }
    if (body !== null && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['Content-Type'] = 'application/json';
    const req = call.watch(http.request(url, { method, headers, timeout }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const raw = Buffer.concat(chunks);
        let parsed = responseType === 'arraybuffer' ? raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length) : raw.toString('utf8');
        if (dataType === 'json' && responseType !== 'arraybuffer') {
          try {
            parsed = JSON.parse(parsed);
          } catch {
            // WeChat leaves unparsable bodies as the string
          }
        }
        logEntry.statusCode = res.statusCode;
        if (method === 'PUT' && res.statusCode === 200) {
          if (isBuffer && readBuffers.has(data)) readBuffers.get(data).release(data);
          stats.putsOk += 1;
        }
        call.finish(success, { data: parsed, statusCode: res.statusCode, header: res.headers, cookies: [], errMsg: 'request:ok' });
        if (method === 'PUT' && res.statusCode === 200 && options.dropAfterPuts && stats.putsOk >= options.dropAfterPuts && !dropped) drop();
      });
      res.on('error', (e) => call.finish(fail, { errMsg: `request:fail ${e.message}` }));
    }));
    req.end(body);
    return call.task;
  }

  function uploadFile(opts) {
    const { url, filePath, name, header = {}, formData = {}, timeout = defaultTimeout, success, fail, complete } = opts;
    const progressListeners = [];
    const headerListeners = [];
    let settled = false;
    let req = null;
    let counted = false;
    const release = () => {
      if (counted) {
        counted = false;
        stats.uploadsInFlight -= 1;
      }
    };
    const finish = (cb, value) => {
      if (settled) return;
      settled = true;
      release();
      later(cb, value);
      later(complete, value);
    };
    const task = {
      abort() {
        if (settled) return;
        finish(fail, { errMsg: 'uploadFile:fail abort' });
        if (req) req.destroy();
      },
      onProgressUpdate(fn) {
        progressListeners.push(fn);
      },
      offProgressUpdate(fn) {
        const i = progressListeners.indexOf(fn);
        if (i !== -1) progressListeners.splice(i, 1);
      },
      onHeadersReceived(fn) {
        headerListeners.push(fn);
      },
      offHeadersReceived(fn) {
        const i = headerListeners.indexOf(fn);
        if (i !== -1) headerListeners.splice(i, 1);
      },
    };
    if (typeof url !== 'string' || typeof filePath !== 'string' || typeof name !== 'string') {
      finish(fail, { errMsg: 'uploadFile:fail parameter error: url, filePath and name are required' });
      return task;
    }
    const refused = domainError('uploadFile', url);
    if (refused) {
      finish(fail, refused);
      return task;
    }
    let content;
    try {
      content = fs.readFileSync(filePath);
    } catch {
      finish(fail, { errMsg: `uploadFile:fail file not found: ${filePath}` });
      return task;
    }
    stats.uploads += 1;
    stats.uploadsInFlight += 1;
    counted = true;
    stats.maxUploadsInFlight = Math.max(stats.maxUploadsInFlight, stats.uploadsInFlight);

    const boundary = '----WxUploadBoundary' + crypto.randomBytes(8).toString('hex');
    const parts = [];
    for (const [field, value] of Object.entries(formData)) {
      parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${field}"\r\n\r\n${value}\r\n`));
    }
    parts.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${path.basename(filePath)}"\r\n` +
          'Content-Type: application/octet-stream\r\n\r\n'
      )
    );
    parts.push(content, Buffer.from(`\r\n--${boundary}--\r\n`));
    const body = Buffer.concat(parts);
    const total = body.length;

    req = http.request(url, {
      method: 'POST',
      timeout,
      headers: { ...header, 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': total },
    });
    req.on('response', (res) => {
      headerListeners.forEach((fn) => fn({ header: res.headers }));
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => finish(success, { data: Buffer.concat(chunks).toString('utf8'), statusCode: res.statusCode, errMsg: 'uploadFile:ok' }));
    });
    req.on('timeout', () => {
      finish(fail, { errMsg: 'uploadFile:fail timeout' });
      req.destroy();
    });
    req.on('error', (e) => finish(fail, { errMsg: `uploadFile:fail ${e.code || e.message}` }));

    let sent = 0;
    let lastPercent = -1;
    const writeNext = () => {
      if (settled || req.destroyed) return;
      if (sent >= total) {
        req.end();
        return;
      }
      const slice = body.subarray(sent, Math.min(total, sent + CHUNK));
      req.write(slice, () => {
        sent += slice.length;
        const percent = Math.floor((sent * 100) / total);
        if (!settled && percent !== lastPercent) {
          lastPercent = percent;
          const event = { progress: percent, totalBytesSent: sent, totalBytesExpectedToSend: total };
          progressListeners.slice().forEach((fn) => fn(event));
        }
        if (chunkDelayMs) setTimeout(writeNext, chunkDelayMs);
        else setImmediate(writeNext);
      });
    };
    writeNext();
    return task;
  }

  let downloadDir = options.downloadDir || null;
  function tempDownloadPath() {
    if (!downloadDir) {
      // Without a folder from the test, one of our own, gone when the process exits.
      downloadDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wx-download-'));
      const dir = downloadDir;
      process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    }
    return path.join(downloadDir, 'tmp_' + crypto.randomBytes(6).toString('hex'));
  }

  /** wx.downloadFile: `success` for any HTTP status with {tempFilePath, statusCode}, as WeChat does. */
  function downloadFile(opts) {
    const { url, header = {}, timeout = defaultTimeout, success, fail, complete } = opts;
    stats.downloads += 1;
    stats.downloadUrls.push(url);
    const { task, finish, watch } = networkCall('downloadFile', { fail, complete }, { onProgressUpdate() {}, offProgressUpdate() {} });
    const refused = domainError('downloadFile', url);
    if (refused) {
      finish(fail, refused);
      return task;
    }
    watch(http.get(url, { headers: header, timeout }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const tempFilePath = tempDownloadPath();
        fs.writeFileSync(tempFilePath, Buffer.concat(chunks));
        finish(success, { tempFilePath, filePath: '', statusCode: res.statusCode, errMsg: 'downloadFile:ok' });
      });
    }));
    return task;
  }

  return { request, uploadFile, downloadFile, stats, drop, restore: () => void (dropped = false) };
}

/**
 * FileSystemManager.readFile over real files, as documented: `position` in [0, fileLength - 1],
 * `length` in [1, fileLength], an ArrayBuffer without `encoding`; before base library 2.10.0 both
 * fields are ignored and the whole file is read, as an old client would. Every read is logged, and
 * the bytes handed out are counted until a PUT of that buffer gets a 200 (`maxHeldBytes`).
 * @param {{sdkVersion?: string}} [options]
 */
function createWxFiles(options = {}) {
  const sdkVersion = options.sdkVersion || '3.4.0';
  const sliced = !/^(0|1)\.|^2\.[0-9]\./.test(sdkVersion);
  const stats = { reads: [], heldBytes: 0, maxHeldBytes: 0 };
  const held = new Map();
  const tracker = {
    release(buffer) {
      if (!held.has(buffer)) return;
      stats.heldBytes -= held.get(buffer);
      held.delete(buffer);
    },
  };

  function readFile(opts) {
    const { filePath, encoding, success, fail, complete } = opts;
    const failWith = (errMsg) => {
      later(fail, { errMsg });
      later(complete, { errMsg });
    };
    let fd;
    try {
      fd = fs.openSync(filePath, 'r');
    } catch {
      return failWith(`readFile:fail no such file or directory, open ${filePath}`);
    }
    try {
      const fileLength = fs.fstatSync(fd).size;
      const position = sliced && opts.position !== undefined ? opts.position : 0;
      const length = sliced && opts.length !== undefined ? opts.length : fileLength - position;
      stats.reads.push({ position: sliced ? opts.position : undefined, length: sliced ? opts.length : undefined, bytes: length });
      if (!Number.isInteger(position) || position < 0 || position > fileLength - 1) return failWith('readFile:fail the value of "position" is out of range');
      if (!Number.isInteger(length) || length < 1 || length > fileLength || position + length > fileLength) {
        return failWith('readFile:fail the value of "length" is out of range');
      }
      const buffer = new ArrayBuffer(length);
      fs.readSync(fd, Buffer.from(buffer), 0, length, position);
      const data = encoding ? Buffer.from(buffer).toString(encoding) : buffer;
      if (!encoding) {
        held.set(buffer, length);
        readBuffers.set(buffer, tracker);
        stats.heldBytes += length;
        stats.maxHeldBytes = Math.max(stats.maxHeldBytes, stats.heldBytes);
      }
      later(success, { data, errMsg: 'readFile:ok' });
      later(complete, { errMsg: 'readFile:ok' });
    } finally {
      fs.closeSync(fd);
    }
  }

  return {
    stats,
    getFileSystemManager: () => ({ readFile }),
    getAppBaseInfo: () => ({ SDKVersion: sdkVersion }),
  };
}

/**
 * wx.login handing out scripted codes: each call takes the next entry; a string is the code, an
 * object is the `fail` argument (like `{errMsg: 'login:fail ...'}`). Calls are counted.
 * @param {Array<string | {errMsg: string}> | (() => string | {errMsg: string})} script
 */
function createWxLogin(script) {
  const calls = { count: 0 };
  function login(opts) {
    calls.count += 1;
    const next = typeof script === 'function' ? script() : script.shift();
    if (next === undefined) throw new Error('wx.login called more often than scripted');
    if (typeof next === 'string') later(opts.success, { code: next, errMsg: 'login:ok' });
    else later(opts.fail, next);
    later(opts.complete, {});
  }
  return { login, calls };
}

/** wx storage in memory: values round-trip through JSON as WeChat stores them. */
function createWxStorage(initial = {}) {
  const items = new Map(Object.entries(initial).map(([k, v]) => [k, JSON.stringify(v)]));
  return {
    items,
    getStorageSync: (key) => (items.has(key) ? JSON.parse(items.get(key)) : ''),
    setStorageSync: (key, value) => void items.set(key, JSON.stringify(value)),
    removeStorageSync: (key) => void items.delete(key),
    read: (key) => (items.has(key) ? JSON.parse(items.get(key)) : undefined),
  };
}

module.exports = { createWxNetwork, createWxFiles, createWxLogin, createWxStorage };

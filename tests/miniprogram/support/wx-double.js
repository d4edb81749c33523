// A `wx` that does real HTTP the way WeChat documents it, for running the mini-program's own code
// in Node: wx.request parses JSON by dataType, wx.uploadFile posts multipart with the formData
// fields first and the file part (under `name`) last, calls `success` for every HTTP status with
// `{statusCode, data: string}`, `fail` only when no answer came, and returns an UploadTask;
// wx.downloadFile saves any answer to a temporary file and reports its statusCode.

const fs = require('node:fs');
const os = require('node:os');
const http = require('node:http');
const path = require('node:path');
const crypto = require('node:crypto');

const CHUNK = 16 * 1024;

function later(fn, ...args) {
  if (typeof fn === 'function') setImmediate(fn, ...args);
}

/**
 * What wx.request and wx.downloadFile share: settle once (then `complete`), a task whose abort()
 * fails the call with `<api>:fail abort`, and timeouts and socket errors turned into `fail`.
 */
function networkCall(api, { fail, complete }, taskMethods = {}) {
  const call = { settled: false, req: null };
  call.finish = (cb, value) => {
    if (call.settled) return;
    call.settled = true;
    later(cb, value);
    later(complete, value);
  };
  call.task = {
    abort() {
      if (call.settled) return;
      call.finish(fail, { errMsg: `${api}:fail abort` });
      if (call.req) call.req.destroy();
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
 */
function createWxNetwork(options = {}) {
  const allowed = options.allowedHosts || null;
  const chunkDelayMs = options.chunkDelayMs || 0;
  const defaultTimeout = options.timeoutMs || 60000;
  const stats = { uploadsInFlight: 0, maxUploadsInFlight: 0, uploads: 0, requests: 0, requestUrls: [], requestHeaders: [], requestMethods: [], downloads: 0, downloadUrls: [] };

  function domainRejected(api, url, fail, complete) {
    if (!allowed || allowed.includes(hostOf(url))) return false;
    const err = { errMsg: `${api}:fail url not in domain list` };
    later(fail, err);
    later(complete, err);
    return true;
  }

  function request(opts) {
    const { url, method = 'GET', data, header = {}, dataType = 'json', timeout = defaultTimeout, success, fail, complete } = opts;
    stats.requests += 1;
    stats.requestUrls.push(url);
    stats.requestHeaders.push({ ...header });
    stats.requestMethods.push(method);
    const { task, finish, watch } = networkCall('request', { fail, complete });
    if (domainRejected('request', url, fail, complete)) return task;
    let body = null;
    const headers = { ...header };
    if (data !== undefined && method !== 'GET') {
      body = typeof data === 'string' ? data : JSON.stringify(data);
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['Content-Type'] = 'application/json';
    }
    const req = watch(http.request(url, { method, headers, timeout }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        let text = Buffer.concat(chunks).toString('utf8');
        let parsed = text;
        if (dataType === 'json') {
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = text; // WeChat leaves unparsable bodies as the string
          }
        }
        finish(success, { data: parsed, statusCode: res.statusCode, header: res.headers, cookies: [], errMsg: 'request:ok' });
      });
      res.on('error', (e) => finish(fail, { errMsg: `request:fail ${e.message}` }));
    }));
    req.end(body);
    return task;
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
    if (domainRejected('uploadFile', url, fail, complete)) {
      settled = true;
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
    if (domainRejected('downloadFile', url, fail, complete)) return task;
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

  return { request, uploadFile, downloadFile, stats };
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

module.exports = { createWxNetwork, createWxLogin, createWxStorage };

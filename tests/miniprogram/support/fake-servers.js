// A scripted signer and a tiny fake OSS on 127.0.0.1, for unit-testing the mini-program's modules
// and pages without the Python processes. Each route records what it received.

const http = require('node:http');
const crypto = require('node:crypto');
const { makeTempDir } = require('./files');

/** Split a multipart body into its parts, in order. */
function parseMultipart(body, contentType) {
  const match = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType || '');
  if (!match) return null;
  const delimiter = Buffer.from(`--${match[1] || match[2]}`);
  const parts = [];
  let start = body.indexOf(delimiter);
  while (start !== -1) {
    const afterDelimiter = start + delimiter.length;
    if (body.subarray(afterDelimiter, afterDelimiter + 2).toString() === '--') break;
    const next = body.indexOf(delimiter, afterDelimiter);
    if (next === -1) return null;
    const chunk = body.subarray(afterDelimiter + 2, next - 2); // drop CRLF after delimiter and before next
    const headerEnd = chunk.indexOf('\r\n\r\n');
    const headers = chunk.subarray(0, headerEnd).toString('utf8');
    const name = /name="([^"]*)"/.exec(headers)[1];
    const filename = /filename="([^"]*)"/.exec(headers);
    parts.push({ name, filename: filename ? filename[1] : null, data: chunk.subarray(headerEnd + 4) });
    start = next;
  }
  return parts;
}

function ossErrorXml(code, message, requestId) {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error>\n' +
    `  <Code>${code}</Code>\n  <Message>${message}</Message>\n  <RequestId>${requestId}</RequestId>\n` +
    '  <HostId>fake-oss.local</HostId>\n  <EC>0002-00000000</EC>\n</Error>\n'
  );
}

/** OSS's answer when the object is stored but the upload callback failed (HTTP 203). */
function callbackFailedXml(message = 'Error status : 502.') {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error>\n  <Code>CallbackFailed</Code>\n' +
    `  <Message>${message}</Message>\n  <RequestId>REQ-CALLBACK</RequestId>\n` +
    '  <HostId>fake-oss.local</HostId>\n  <EC>0007-00000203</EC>\n</Error>\n'
  );
}

const json = (status, body, headers) => ({ status, json: body, headers });
const apiError = (status, code, message = code) => json(status, { error: { code, message } });

/** The Content-Type the fake OSS stores for a file name (images by extension, else bytes). */
function contentTypeOf(name) {
  return /\.(png|jpe?g|gif|webp)$/i.test(name) ? 'image/' + name.split('.').pop().toLowerCase().replace('jpg', 'jpeg') : 'application/octet-stream';
}

/**
 * The server's /api/multipart routes and an in-memory multipart OSS behind presigned part URLs, as
 * design.md and OSS describe them: parts PUT to `/mp-oss/<key>?partNumber=&uploadId=&...` with a
 * signature over (uploadId, partNumber, expiry) and the signed Content-Type; ETag = quoted MD5 of
 * the part (upper hex); a part PUT again replaces it; ListParts-like status; complete checks that
 * every part is there, every part but the last is exactly partSize and the sizes add up, then
 * assembles the object into the fake OSS (`state.objects`) and answers its record, as the server
 * does. Each presigned part carries `size`, the exact byte count its URL accepts (the server signs
 * Content-Length); a PUT of another length is refused like OSS refuses a signature mismatch
 * (`sendSize = false` plays an older server without `size`). Hooks let a test answer instead
 * (`onCreate`, `onPresign`, `onComplete`, `onDelete`, `onPart`; return null to go on as usual) and
 * `auth(headers)` decide what a 401 is.
 */
function createMultipartFake(state) {
  const secret = crypto.randomBytes(16).toString('hex');
  let counter = 0;
  const mp = {
    partSize: 128 * 1024,
    urlTtlMs: 15 * 60 * 1000,
    putDelayMs: 0,
    uploads: new Map(),
    auth: () => true,
    onCreate: null,
    onPresign: null,
    onComplete: null,
    onDelete: null,
    onPart: null,
    sendSize: true,
    putsInFlight: 0,
    maxPutsInFlight: 0,
  };
  const received = { creates: [], presigns: [], statuses: [], completes: [], deletes: [], puts: [] };
  const sign = (uploadId, partNumber, expiresAt, size) => crypto.createHmac('sha256', secret).update(`${uploadId}:${partNumber}:${expiresAt}:${size}`).digest('hex');
  const partSizeOf = (up, n) => (n < up.partCount ? up.partSize : up.size - (up.partCount - 1) * up.partSize);
  const upload = (id) => mp.uploads.get(id) || null;
  const notFound = () => apiError(404, 'UploadNotFound', 'upload not found');

  /** Signer routes: an answer `{status, json}`, or null when the path is not one of them. */
  function signer(method, pathname, body, headers) {
    const match = /^\/api\/multipart(?:\/([^/]+)(\/parts|\/complete)?)?$/.exec(pathname);
    if (!match) return null;
    const id = match[1] ? decodeURIComponent(match[1]) : null;
    const sub = match[2] || '';
    if (!mp.auth(headers)) return apiError(401, 'Unauthorized', '请先登录');
    if (!id && method === 'POST') {
      received.creates.push({ body, headers });
      const hooked = mp.onCreate && mp.onCreate(body, received.creates.length);
      if (hooked) return hooked;
      if (!body || typeof body.filename !== 'string' || !Number.isInteger(body.size) || body.size < 1) return apiError(400, 'InvalidSize', 'bad size');
      counter += 1;
      const uploadId = `0004B9895DBBB6EC98E${counter}`;
      const key = `uploads/fake/mp-${counter}-${body.filename}`;
      const partCount = Math.ceil(body.size / mp.partSize);
      mp.uploads.set(uploadId, { uploadId, key, name: body.filename, size: body.size, partSize: mp.partSize, partCount, parts: new Map() });
      return { status: 200, json: { uploadId, key, partSize: mp.partSize, partCount, expire: new Date(Date.now() + mp.urlTtlMs).toISOString() } };
    }
    const up = id ? upload(id) : null;
    if (sub === '/parts' && method === 'POST') {
      received.presigns.push({ id, body, headers });
      const hooked = mp.onPresign && mp.onPresign(body, received.presigns.length);
      if (hooked) return hooked;
      if (!up) return notFound();
      const numbers = body && body.partNumbers;
      if (!Array.isArray(numbers) || numbers.length < 1 || numbers.length > 100 || !numbers.every((n) => Number.isInteger(n) && n >= 1 && n <= up.partCount)) {
        return apiError(400, 'InvalidPartNumbers', 'bad part numbers');
      }
      const expiresAt = Date.now() + mp.urlTtlMs;
      const parts = numbers.map((n) => {
        const size = mp.sendSize ? partSizeOf(up, n) : '';
        const url = `${state.base}/mp-oss/${encodeURIComponent(up.key)}?partNumber=${n}&uploadId=${id}&expires=${expiresAt}&size=${size}&signature=${sign(id, n, expiresAt, size)}`;
        return { partNumber: n, url, headers: { 'Content-Type': 'application/octet-stream' }, ...(mp.sendSize ? { size } : {}) };
      });
      return { status: 200, json: { parts, expire: new Date(expiresAt).toISOString() } };
    }
    if (sub === '/complete' && method === 'POST') {
      received.completes.push({ id, headers });
      const hooked = mp.onComplete && mp.onComplete(id, received.completes.length);
      if (hooked) return hooked;
      if (!up) return notFound();
      for (let n = 1; n <= up.partCount; n += 1) {
        if (!up.parts.has(n)) return apiError(409, 'IncompleteUpload', `part ${n} missing`);
      }
      let total = 0;
      for (const [n, part] of up.parts) {
        const expected = n < up.partCount ? up.partSize : up.size - (up.partCount - 1) * up.partSize;
        if (n > up.partCount || part.bytes.length !== expected) return apiError(409, 'SizeMismatch', `part ${n} has ${part.bytes.length} bytes`);
        if (part.etag !== `"${crypto.createHash('md5').update(part.bytes).digest('hex').toUpperCase()}"`) return apiError(409, 'SizeMismatch', 'etag');
        total += part.bytes.length;
      }
      if (total !== up.size) return apiError(409, 'SizeMismatch', 'sizes do not add up');
      const ordered = [...up.parts.keys()].sort((a, b) => a - b).map((n) => up.parts.get(n).bytes);
      state.objects.set(up.key, { name: up.name, size: up.size, contentType: contentTypeOf(up.name), bytes: Buffer.concat(ordered) });
      mp.uploads.delete(id);
      return { status: 200, json: state.record(up.key) };
    }
    if (!sub && method === 'GET') {
      received.statuses.push({ id, headers });
      if (!up) return notFound();
      const parts = [...up.parts.keys()].sort((a, b) => a - b).map((n) => ({ partNumber: n, size: up.parts.get(n).bytes.length, etag: up.parts.get(n).etag }));
      return { status: 200, json: { uploadId: id, key: up.key, partSize: up.partSize, partCount: up.partCount, parts } };
    }
    if (!sub && method === 'DELETE') {
      received.deletes.push({ id, headers });
      const hooked = mp.onDelete && mp.onDelete(id, received.deletes.length);
      if (hooked) return hooked;
      if (!up) return notFound();
      mp.uploads.delete(id);
      return { status: 204 };
    }
    return apiError(405, 'MethodNotAllowed', 'no');
  }

  /** UploadPart through a presigned URL: `{status, body?, headers?, hold?}`. */
  function uploadPart(url, headers, bytes) {
    const id = url.searchParams.get('uploadId');
    const n = Number(url.searchParams.get('partNumber'));
    const expiresAt = Number(url.searchParams.get('expires'));
    const entry = { partNumber: n, uploadId: id, bytes: bytes.length, headers, at: Date.now() };
    received.puts.push(entry);
    const attempt = received.puts.filter((p) => p.uploadId === id && p.partNumber === n).length;
    const hooked = mp.onPart && mp.onPart({ partNumber: n, uploadId: id, attempt, bytes });
    if (hooked) return hooked;
    const size = url.searchParams.get('size');
    const signed = url.searchParams.get('signature') === sign(id, n, expiresAt, size);
    if (!signed || headers['content-type'] !== 'application/octet-stream' || (size !== '' && Number(size) !== bytes.length)) {
      return { status: 403, body: ossErrorXml('SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.', 'REQ-SIG') };
    }
    if (Date.now() > expiresAt) return { status: 403, body: ossErrorXml('AccessDenied', 'Request has expired.', 'REQ-EXP') };
    const up = upload(id);
    if (!up) return { status: 404, body: ossErrorXml('NoSuchUpload', 'The specified upload does not exist.', 'REQ-404') };
    const etag = `"${crypto.createHash('md5').update(bytes).digest('hex').toUpperCase()}"`;
    up.parts.set(n, { bytes, etag });
    entry.stored = true;
    return { status: 200, headers: { ETag: etag } };
  }

  return { mp, received, signer, uploadPart };
}

/**
 * One server, every role the mini-program talks to:
 * - signer: GET /api/config, POST /api/login, GET /generate_signature, POST /api/files/confirm,
 *   GET /api/files, DELETE /api/files/<id>, GET /api/usage, and /api/multipart... (createMultipartFake);
 * - OSS: POST /oss (PostObject), GET /obj/<key>?... (a "presigned" read) and PUT /mp-oss/<key>?...
 *   (a part).
 * Every route has a replaceable handler. By default it behaves like the real signer in local mode
 * with callbacks off: /api/config says loginRequired false, /api/login answers 404 LoginDisabled,
 * the signer signs anything, OSS stores everything and answers 200 with an empty body, confirm
 * records what OSS holds, and the list pages through the records newest first.
 */
async function startFakeServers() {
  const received = { configs: [], logins: [], signatures: [], uploads: [], confirms: [], lists: [], deletes: [], downloads: [], usages: [] };
  let counter = 0;
  let nextRecordId = 1;
  const state = {
    received,
    base: '',
    ossHost: '',
    /** key -> {name, size, contentType, bytes}: what OSS holds */
    objects: new Map(),
    /** the records table, oldest first */
    records: [],
    /** every read URL carries this signature; reads with another one are refused as expired */
    urlGeneration: 1,
    urlExpiresSeconds: 600,
    config: () => json(200, { loginRequired: false, maxSize: 10 * 1024 * 1024, allowedExtensions: ['jpg', 'png', 'pdf', 'txt'], callback: false, multipartThreshold: null }),
    signer: (query) => {
      const key = `uploads/fake/${++counter}-${query.get('filename')}`;
      return json(200, {
        host: state.ossHost,
        key,
        expire: '2099-01-01T00:00:00.000Z',
        maxSize: 10 * 1024 * 1024,
        formData: { key, policy: `policy-${counter}`, success_action_status: '200', 'x-oss-signature': `sig-${counter}` },
      });
    },
    oss: () => ({ status: 200, body: '' }),
    login: () => apiError(404, 'LoginDisabled', '服务端未开启登录 (本地模式), 无需登录即可上传'),
    confirm: (body) => {
      const key = body && body.key;
      if (typeof key !== 'string' || !key) return apiError(400, 'InvalidKey');
      if (!state.objects.has(key)) return apiError(404, 'ObjectNotFound', '对象不存在');
      return json(200, state.record(key));
    },
    list: (query) => {
      const limit = Number(query.get('limit') || 20);
      if (!Number.isInteger(limit) || limit < 1 || limit > 100) return apiError(400, 'InvalidLimit');
      const cursor = query.get('cursor');
      if (cursor !== null && !/^\d+$/.test(cursor)) return apiError(400, 'InvalidCursor');
      const newest = state.records.slice().reverse().filter((r) => cursor === null || r.id < Number(cursor));
      const page = newest.slice(0, limit);
      const more = newest.length > limit;
      return json(200, { files: page.map(state.listed), nextCursor: more ? String(page[page.length - 1].id) : null }, { 'Cache-Control': 'no-store' });
    },
    /** GET /api/usage: what the records add up to; no quota (0) unless a test sets `quota`. */
    quota: { bytes: 0, files: 0 },
    usage: () => json(200, {
      usedBytes: state.records.reduce((sum, r) => sum + r.size, 0),
      fileCount: state.records.length,
      reservedBytes: 0,
      quotaBytes: state.quota.bytes,
      quotaFiles: state.quota.files,
    }),
    remove: (id) => {
      if (!/^\d+$/.test(id)) return apiError(400, 'InvalidId');
      const index = state.records.findIndex((r) => r.id === Number(id));
      if (index === -1) return apiError(404, 'FileNotFound', '文件不存在');
      const [gone] = state.records.splice(index, 1);
      state.objects.delete(gone.key);
      return { status: 204 };
    },
    /** The record for a stored key (idempotent, like the server's callback and confirm). */
    record(key) {
      const existing = state.records.find((r) => r.key === key);
      if (existing) return existing;
      const object = state.objects.get(key) || { name: key.split('/').pop(), size: 0, contentType: 'application/octet-stream' };
      const record = { id: nextRecordId++, key, name: object.name, size: object.size, contentType: object.contentType, createdAt: '2026-12-01T10:00:00Z' };
      state.records.push(record);
      return record;
    },
    /** Add a record (and its object) directly, as if uploaded earlier. */
    addFile({ name, contentType = 'application/octet-stream', bytes = Buffer.from(name), createdAt = '2026-12-01T10:00:00Z' }) {
      const key = `uploads/fake/seed-${nextRecordId}-${name}`;
      state.objects.set(key, { name, size: bytes.length, contentType, bytes });
      const record = state.record(key);
      record.createdAt = createdAt;
      return record;
    },
    /** A record as GET /api/files lists it: presigned-looking URLs on this server. */
    listed(record) {
      const query = `x-oss-date=20261201T100000Z&x-oss-expires=${state.urlExpiresSeconds}&x-oss-signature=gen${state.urlGeneration}`;
      const url = `${state.base}/obj/${encodeURIComponent(record.key)}?${query}`;
      const item = { ...record, url };
      if (/^image\//.test(record.contentType)) item.thumbnailUrl = `${url}&x-oss-process=image%2Fresize%2Cw_200`;
      return item;
    },
  };
  const multipart = createMultipartFake(state);
  state.multipart = multipart.mp;
  received.multipart = multipart.received;

  function answerJson(res, answer) {
    res.writeHead(answer.status, answer.json === undefined ? { ...(answer.headers || {}) } : { 'Content-Type': 'application/json', ...(answer.headers || {}) });
    if (answer.json === undefined) res.end();
    else res.end(typeof answer.json === 'string' ? answer.json : JSON.stringify(answer.json));
  }

  function parseBody(chunks) {
    const text = Buffer.concat(chunks).toString('utf8');
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }

  const server = http.createServer((req, res) => {
    const chunks = [];
    if (req.method === 'PUT') {
      multipart.mp.putsInFlight += 1;
      multipart.mp.maxPutsInFlight = Math.max(multipart.mp.maxPutsInFlight, multipart.mp.putsInFlight);
      res.on('close', () => (multipart.mp.putsInFlight -= 1));
    }
    req.on('data', (c) => chunks.push(c));
    req.on('error', () => {});
    req.on('end', () => {
      const url = new URL(req.url, 'http://x');
      // A handler may answer later (a Promise), to hold a request in flight.
      // `{drop: true}` closes the connection without an answer (a network failure).
      const reply = (answer) => Promise.resolve(answer).then((a) => (a.drop ? req.socket.destroy() : answerJson(res, a)));
      if (req.method === 'GET' && url.pathname === '/api/config') {
        received.configs.push({ headers: req.headers });
        return reply(state.config(req.headers, received.configs.length));
      }
      if (req.method === 'POST' && url.pathname === '/api/login') {
        const body = parseBody(chunks);
        received.logins.push({ body, headers: req.headers });
        return reply(state.login(body, received.logins.length));
      }
      if (req.method === 'GET' && url.pathname === '/generate_signature') {
        received.signatures.push({ query: url.searchParams, headers: req.headers });
        const answer = state.signer(url.searchParams, req.headers, received.signatures.length);
        if (answer.status === 200 && answer.json && typeof answer.json === 'object' && answer.json.key) {
          // Remember the original name and size for the record OSS's upload will make.
          state.pending = state.pending || new Map();
          state.pending.set(answer.json.key, { name: url.searchParams.get('filename'), size: Number(url.searchParams.get('size')) });
        }
        return reply(answer);
      }
      if (req.method === 'POST' && url.pathname === '/api/files/confirm') {
        const body = parseBody(chunks);
        received.confirms.push({ body, headers: req.headers });
        return reply(state.confirm(body, req.headers, received.confirms.length));
      }
      if (req.method === 'GET' && url.pathname === '/api/files') {
        received.lists.push({ query: url.searchParams, headers: req.headers });
        return reply(state.list(url.searchParams, req.headers, received.lists.length));
      }
      if (req.method === 'GET' && url.pathname === '/api/usage') {
        received.usages.push({ headers: req.headers });
        return reply(state.usage(req.headers, received.usages.length));
      }
      const deleting = /^\/api\/files\/([^/]+)$/.exec(url.pathname);
      if (req.method === 'DELETE' && deleting) {
        received.deletes.push({ id: decodeURIComponent(deleting[1]), headers: req.headers });
        return reply(state.remove(decodeURIComponent(deleting[1]), req.headers, received.deletes.length));
      }
      if (url.pathname.startsWith('/api/multipart')) {
        const answer = multipart.signer(req.method, url.pathname, parseBody(chunks), req.headers);
        if (answer) return reply(answer);
      }
      if (req.method === 'PUT' && url.pathname.startsWith('/mp-oss/')) {
        const answer = multipart.uploadPart(url, req.headers, Buffer.concat(chunks));
        if (answer.hold) return; // never answer: the client times out or aborts
        setTimeout(() => {
          res.writeHead(answer.status, { ...(answer.body ? { 'Content-Type': 'application/xml' } : {}), ...(answer.headers || {}) });
          res.end(answer.body || '');
        }, multipart.mp.putDelayMs);
        return;
      }
      if (req.method === 'POST' && url.pathname === '/oss') {
        const parts = parseMultipart(Buffer.concat(chunks), req.headers['content-type']);
        const upload = { parts, headers: req.headers };
        received.uploads.push(upload);
        const answer = state.oss(upload, received.uploads.length);
        if (answer.hold) return; // never answer: lets a test abort mid-flight
        if ([200, 203, 204].includes(answer.status) && parts) {
          const key = (parts.find((p) => p.name === 'key') || { data: Buffer.from('') }).data.toString();
          const file = parts[parts.length - 1];
          const meta = (state.pending && state.pending.get(key)) || { name: key.split('/').pop(), size: file.data.length };
          state.objects.set(key, { name: meta.name, size: file.data.length, contentType: contentTypeOf(meta.name), bytes: file.data });
          if (answer.callback) answer.json = state.record(key); // the upload callback ran: OSS relays its JSON
        }
        if (answer.json !== undefined) return answerJson(res, answer);
        res.writeHead(answer.status, answer.body ? { 'Content-Type': 'application/xml' } : {});
        res.end(answer.body || '');
        return;
      }
      if (req.method === 'GET' && url.pathname.startsWith('/obj/')) {
        const key = decodeURIComponent(url.pathname.slice('/obj/'.length));
        received.downloads.push({ key, query: url.searchParams });
        if (url.searchParams.get('x-oss-signature') !== `gen${state.urlGeneration}`) {
          res.writeHead(403, { 'Content-Type': 'application/xml' });
          res.end(ossErrorXml('AccessDenied', 'Request has expired.', 'REQ-EXPIRED'));
          return;
        }
        const object = state.objects.get(key);
        if (!object) {
          res.writeHead(404, { 'Content-Type': 'application/xml' });
          res.end(ossErrorXml('NoSuchKey', 'The specified key does not exist.', 'REQ-404'));
          return;
        }
        res.writeHead(200, { 'Content-Type': object.contentType });
        res.end(object.bytes);
        return;
      }
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'NotFound', message: '没有这个接口' } }));
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  state.base = `http://127.0.0.1:${port}`;
  state.ossHost = `http://127.0.0.1:${port}/oss`;
  state.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(resolve);
    });
  return state;
}

/**
 * Fresh fake servers and a temporary folder for every test of a file. `assign` receives them
 * (`{fake, tmp}`) before each test; with `config` (miniprogram/config.js), the pages are pointed at
 * the fake signer.
 * @param {typeof import('node:test')} test
 * @param {(env: {fake: object, tmp: {dir: string, remove: () => void}}) => void} assign
 * @param {{config?: {signerBaseUrl: string}}} [options]
 */
function freshServersEachTest(test, assign, options = {}) {
  let env = null;
  test.beforeEach(async () => {
    env = { fake: await startFakeServers(), tmp: makeTempDir() };
    if (options.config) options.config.signerBaseUrl = env.fake.base;
    assign(env);
  });
  test.afterEach(async () => {
    await env.fake.close(); // also fine when the test closed it itself
    env.tmp.remove();
  });
}

/** /api/config of a signer that wants a login. */
const loginRequired = () => json(200, { loginRequired: true, maxSize: 10 * 1024 * 1024, allowedExtensions: [], callback: false, multipartThreshold: null });

module.exports = { startFakeServers, freshServersEachTest, parseMultipart, ossErrorXml, callbackFailedXml, apiError, loginRequired };

// A scripted signer and a tiny fake OSS on 127.0.0.1, for unit-testing the mini-program's modules
// and pages without the Python processes. Each route records what it received.

const http = require('node:http');
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

/**
 * One server, every role the mini-program talks to:
 * - signer: GET /api/config, POST /api/login, GET /generate_signature, POST /api/files/confirm,
 *   GET /api/files, DELETE /api/files/<id>;
 * - OSS: POST /oss (PostObject) and GET /obj/<key>?... (a "presigned" read).
 * Every route has a replaceable handler. By default it behaves like the real signer in local mode
 * with callbacks off: /api/config says loginRequired false, /api/login answers 404 LoginDisabled,
 * the signer signs anything, OSS stores everything and answers 200 with an empty body, confirm
 * records what OSS holds, and the list pages through the records newest first.
 */
async function startFakeServers() {
  const received = { configs: [], logins: [], signatures: [], uploads: [], confirms: [], lists: [], deletes: [], downloads: [] };
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
      const deleting = /^\/api\/files\/([^/]+)$/.exec(url.pathname);
      if (req.method === 'DELETE' && deleting) {
        received.deletes.push({ id: decodeURIComponent(deleting[1]), headers: req.headers });
        return reply(state.remove(decodeURIComponent(deleting[1]), req.headers, received.deletes.length));
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
          const contentType = /\.(png|jpe?g|gif|webp)$/i.test(meta.name) ? 'image/' + meta.name.split('.').pop().toLowerCase().replace('jpg', 'jpeg') : 'application/octet-stream';
          state.objects.set(key, { name: meta.name, size: file.data.length, contentType, bytes: file.data });
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

// A scripted signer and a tiny fake OSS on 127.0.0.1, for unit-testing the upload module without
// the Python processes. Each records what it received.

const http = require('node:http');
const crypto = require('node:crypto');

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

function jsonError(status, code, message) {
  return { status, json: { error: { code, message } } };
}

/**
 * The server's /api/multipart routes and an in-memory multipart OSS behind presigned part URLs, as
 * design.md and OSS describe them: parts PUT to `/mp-oss/<key>?partNumber=&uploadId=&...` with a
 * signature over (uploadId, partNumber, expiry) and the signed Content-Type; ETag = quoted MD5 of
 * the part (upper hex); a part PUT again replaces it; ListParts-like status; complete checks that
 * every part is there, every part but the last is exactly partSize and the sizes add up, then
 * assembles the object. Hooks let a test answer instead (`onCreate`, `onPresign`, `onComplete`,
 * `onPart`; return null to go on as usual) and `auth(headers)` decide what a 401 is.
 */
function createMultipartFake(state) {
  const secret = crypto.randomBytes(16).toString('hex');
  let counter = 0;
  const mp = {
    partSize: 128 * 1024,
    urlTtlMs: 15 * 60 * 1000,
    putDelayMs: 0,
    uploads: new Map(),
    objects: new Map(),
    auth: () => true,
    onCreate: null,
    onPresign: null,
    onComplete: null,
    onPart: null,
    putsInFlight: 0,
    maxPutsInFlight: 0,
  };
  const received = { creates: [], presigns: [], statuses: [], completes: [], deletes: [], puts: [] };
  const sign = (uploadId, partNumber, expiresAt) => crypto.createHmac('sha256', secret).update(`${uploadId}:${partNumber}:${expiresAt}`).digest('hex');
  const upload = (id) => mp.uploads.get(id) || null;
  const notFound = () => jsonError(404, 'UploadNotFound', 'upload not found');

  /** Signer routes: an answer `{status, json}`, or null when the path is not one of them. */
  function signer(method, pathname, body, headers) {
    const match = /^\/api\/multipart(?:\/([^/]+)(\/parts|\/complete)?)?$/.exec(pathname);
    if (!match) return null;
    const id = match[1] ? decodeURIComponent(match[1]) : null;
    const sub = match[2] || '';
    if (!mp.auth(headers)) return jsonError(401, 'Unauthorized', '请先登录');
    if (!id && method === 'POST') {
      received.creates.push({ body, headers });
      const hooked = mp.onCreate && mp.onCreate(body, received.creates.length);
      if (hooked) return hooked;
      if (!body || typeof body.filename !== 'string' || !Number.isInteger(body.size) || body.size < 1) return jsonError(400, 'InvalidSize', 'bad size');
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
        return jsonError(400, 'InvalidPartNumbers', 'bad part numbers');
      }
      const expiresAt = Date.now() + mp.urlTtlMs;
      const parts = numbers.map((n) => ({
        partNumber: n,
        url: `${state.base}/mp-oss/${encodeURIComponent(up.key)}?partNumber=${n}&uploadId=${id}&expires=${expiresAt}&signature=${sign(id, n, expiresAt)}`,
        headers: { 'Content-Type': 'application/octet-stream' },
      }));
      return { status: 200, json: { parts, expire: new Date(expiresAt).toISOString() } };
    }
    if (sub === '/complete' && method === 'POST') {
      received.completes.push({ id, headers });
      const hooked = mp.onComplete && mp.onComplete(id, received.completes.length);
      if (hooked) return hooked;
      if (!up) return notFound();
      for (let n = 1; n <= up.partCount; n += 1) {
        if (!up.parts.has(n)) return jsonError(409, 'IncompleteUpload', `part ${n} missing`);
      }
      let total = 0;
      for (const [n, part] of up.parts) {
        const expected = n < up.partCount ? up.partSize : up.size - (up.partCount - 1) * up.partSize;
        if (n > up.partCount || part.bytes.length !== expected) return jsonError(409, 'SizeMismatch', `part ${n} has ${part.bytes.length} bytes`);
        if (part.etag !== `"${crypto.createHash('md5').update(part.bytes).digest('hex').toUpperCase()}"`) return jsonError(409, 'SizeMismatch', 'etag');
        total += part.bytes.length;
      }
      if (total !== up.size) return jsonError(409, 'SizeMismatch', 'sizes do not add up');
      const ordered = [...up.parts.keys()].sort((a, b) => a - b).map((n) => up.parts.get(n).bytes);
      mp.objects.set(up.key, Buffer.concat(ordered));
      mp.uploads.delete(id);
      return { status: 200, json: { id: counter * 100 + received.completes.length, key: up.key, name: up.name, size: up.size, contentType: 'application/octet-stream', createdAt: '2026-12-01T10:00:00Z' } };
    }
    if (!sub && method === 'GET') {
      received.statuses.push({ id, headers });
      if (!up) return notFound();
      const parts = [...up.parts.keys()].sort((a, b) => a - b).map((n) => ({ partNumber: n, size: up.parts.get(n).bytes.length, etag: up.parts.get(n).etag }));
      return { status: 200, json: { uploadId: id, key: up.key, partSize: up.partSize, partCount: up.partCount, parts } };
    }
    if (!sub && method === 'DELETE') {
      received.deletes.push({ id, headers });
      if (!up) return notFound();
      mp.uploads.delete(id);
      return { status: 204, json: '' };
    }
    return jsonError(405, 'MethodNotAllowed', 'no');
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
    if (url.searchParams.get('signature') !== sign(id, n, expiresAt) || headers['content-type'] !== 'application/octet-stream') {
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
 * One server, three roles: POST /api/login, GET /generate_signature (signer) and POST /oss (OSS
 * PostObject). `login`, `signer` and `oss` are replaceable handlers; by default login is off
 * (404 LoginDisabled, as the real signer in local mode), the signer signs anything and OSS stores
 * everything.
 */
async function startFakeServers() {
  const received = { logins: [], signatures: [], uploads: [] };
  let counter = 0;
  const state = {
    received,
    base: '',
    ossHost: '',
    signer: (query) => ({
      status: 200,
      json: {
        host: state.ossHost,
        key: `uploads/fake/${++counter}-${query.get('filename')}`,
        expire: '2099-01-01T00:00:00.000Z',
        maxSize: 10 * 1024 * 1024,
        formData: { key: `uploads/fake/${counter}-${query.get('filename')}`, policy: `policy-${counter}`, success_action_status: '200', 'x-oss-signature': `sig-${counter}` },
      },
    }),
    oss: () => ({ status: 200, body: '' }),
    login: () => ({ status: 404, json: { error: { code: 'LoginDisabled', message: '服务端未开启登录 (本地模式), 无需登录即可上传' } } }),
  };
  const multipart = createMultipartFake(state);
  state.multipart = multipart.mp;
  received.multipart = multipart.received;
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
      if (req.method === 'POST' && url.pathname === '/api/login') {
        const text = Buffer.concat(chunks).toString('utf8');
        let body = null;
        try {
          body = JSON.parse(text);
        } catch {
          body = text;
        }
        received.logins.push({ body, headers: req.headers });
        // A handler may answer later (a Promise), to hold logins in flight.
        Promise.resolve(state.login(body, received.logins.length)).then((answer) => {
          res.writeHead(answer.status, { 'Content-Type': 'application/json', ...(answer.headers || {}) });
          res.end(typeof answer.json === 'string' ? answer.json : JSON.stringify(answer.json));
        });
        return;
      }
      if (req.method === 'GET' && url.pathname === '/generate_signature') {
        received.signatures.push({ query: url.searchParams, headers: req.headers });
        const answer = state.signer(url.searchParams, req.headers, received.signatures.length);
        res.writeHead(answer.status, { 'Content-Type': 'application/json' });
        res.end(typeof answer.json === 'string' ? answer.json : JSON.stringify(answer.json));
        return;
      }
      if (url.pathname.startsWith('/api/multipart')) {
        const text = Buffer.concat(chunks).toString('utf8');
        let body = null;
        try {
          body = text ? JSON.parse(text) : null;
        } catch {
          body = text;
        }
        const answer = multipart.signer(req.method, url.pathname, body, req.headers);
        res.writeHead(answer.status, answer.status === 204 ? {} : { 'Content-Type': 'application/json' });
        res.end(answer.status === 204 ? '' : JSON.stringify(answer.json));
        return;
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
        res.writeHead(answer.status, answer.body ? { 'Content-Type': 'application/xml' } : {});
        res.end(answer.body || '');
        return;
      }
      res.writeHead(404);
      res.end();
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

module.exports = { startFakeServers, parseMultipart, ossErrorXml };

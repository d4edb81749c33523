// A scripted signer and a tiny fake OSS on 127.0.0.1, for unit-testing the upload module without
// the Python processes. Each records what it received.

const http = require('node:http');

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
  const server = http.createServer((req, res) => {
    const chunks = [];
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
